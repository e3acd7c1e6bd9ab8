"""savefig / save_montage: sizes, DPI, transparency, formats, atomic writes, bad input.

Every test reads the written file back. The scenes are plain Mayavi actors
(spheres and a tube) so that these tests depend on nothing but export itself.
"""
import base64
import os
import re

import numpy as np
import pytest

pytestmark = pytest.mark.render


@pytest.fixture(scope="module")
def mlab():
    from mayavi import mlab

    mlab.options.offscreen = True
    return mlab


@pytest.fixture
def fig(mlab):
    """Two spheres and a tube in the MNI box, seen from the left, 160 x 120 window."""
    f = mlab.figure(size=(160, 120), bgcolor=(1, 1, 1))
    mlab.points3d([-40, 40], [0, 10], [0, 20], [1.0, 1.0], scale_factor=60, color=(0.2, 0.5, 0.9),
                  resolution=24, figure=f)
    mlab.plot3d([-70, 70], [-60, 60], [-30, 40], tube_radius=4, color=(0.9, 0.3, 0.1), figure=f)
    from brainviz.scene.views import set_view

    set_view(f, "anterior")
    yield f
    mlab.close(f)


@pytest.fixture
def sphere_fig(mlab):
    """One sphere at the origin: every view shows the same disc."""
    f = mlab.figure(size=(100, 100), bgcolor=(1, 1, 1))
    mlab.points3d([0], [0], [0], [1.0], scale_factor=120, color=(0.3, 0.6, 0.3), resolution=32, figure=f)
    yield f
    mlab.close(f)


def _read(path):
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return np.asarray(im), im.info, im.size


def _camera(f):
    cam = f.scene.camera
    return (tuple(cam.position), tuple(cam.focal_point), tuple(cam.view_up), cam.view_angle,
            cam.parallel_scale, tuple(f.scene.render_window.size))


# --------------------------------------------------------------------------- sizes and DPI
def test_width_mm_and_dpi_give_pixels_and_png_dpi(fig, tmp_path):
    from brainviz.scene.export import savefig

    out = savefig(tmp_path / "fig.png", fig, width_mm=180, height_mm=30, dpi=300)
    pixels, info, size = _read(out)
    assert size == (2126, 354)  # 180 / 25.4 * 300 = 2125.98
    assert pixels.shape == (354, 2126, 3)
    assert info["dpi"] == pytest.approx((300, 300), abs=0.05)


def test_height_follows_window_aspect_and_tiff_dpi(fig, tmp_path):
    from brainviz.scene.export import savefig

    out = savefig(tmp_path / "fig.tiff", fig, width_mm=40, dpi=200)
    pixels, info, size = _read(out)
    width = round(40 / 25.4 * 200)
    assert size == (width, round(width * 120 / 160))
    assert tuple(float(v) for v in info["dpi"]) == pytest.approx((200, 200))
    assert pixels.std() > 10  # something drawn


def test_large_export_leaves_window_unchanged(fig, tmp_path, mlab):
    from brainviz.scene.export import render_image, savefig

    before_cam = _camera(fig)
    before_pixels = render_image(fig)
    out = savefig(tmp_path / "big.png", fig, size=(2000, 2000))
    pixels, _, size = _read(out)
    assert size == (2000, 2000)
    # The scene is drawn (blue sphere and orange tube), not a black or empty frame.
    assert (pixels[..., 2] > 200).mean() > 0.01 and (pixels.min(axis=2) < 100).mean() > 0.01
    assert _camera(fig) == before_cam
    np.testing.assert_array_equal(render_image(fig), before_pixels)


def test_same_framing_at_any_size(fig):
    from PIL import Image

    from brainviz.scene.export import render_image

    small = render_image(fig, (160, 120), multisamples=0).astype(float)
    big = render_image(fig, (640, 480), multisamples=0)
    down = np.asarray(Image.fromarray(big).resize((160, 120), Image.BILINEAR)).astype(float)
    # Same view angle: the downscaled big image matches the small one.
    assert np.corrcoef(small.ravel(), down.ravel())[0, 1] > 0.97


def test_magnification_multiplies_window_size(fig, tmp_path):
    from brainviz.scene.export import savefig

    _, _, size = _read(savefig(tmp_path / "m.png", fig, magnification=2))
    assert size == (320, 240)


def test_deterministic(fig, tmp_path):
    from brainviz.scene.export import savefig

    a = _read(savefig(tmp_path / "a.png", fig, size=(150, 100), transparent=True))[0]
    b = _read(savefig(tmp_path / "b.png", fig, size=(150, 100), transparent=True))[0]
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- transparency
def test_transparent_background_is_real_alpha_without_halo(fig, tmp_path, mlab):
    from brainviz.scene.export import render_image, savefig

    out = savefig(tmp_path / "t.png", fig, size=(240, 180), transparent=True)
    rgba, _, _ = _read(out)
    assert rgba.shape == (180, 240, 4)
    alpha = rgba[..., 3].astype(float)
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0 and alpha[0, -1] == 0
    assert alpha[90, 120] == 255  # the middle of the scene is opaque
    edge = (alpha > 0) & (alpha < 255)
    assert edge.sum() > 50  # anti-aliased edges get partial alpha

    # Over white, the transparent image must give back the plain render on white;
    # a dark halo would make the edge pixels darker.
    on_white = render_image(fig, (240, 180)).astype(float)
    a = alpha[..., None] / 255
    composite = rgba[..., :3] * a + 255 * (1 - a)
    diff = composite - on_white
    assert np.abs(diff[edge]).mean() < 6
    assert diff[edge].mean() > -4  # not darker on average
    # Over black, likewise (the same scene with a black background).
    fig.scene.background = (0, 0, 0)
    on_black = render_image(fig, (240, 180)).astype(float)
    fig.scene.background = (1, 1, 1)
    assert np.abs(rgba[..., :3] * a - on_black)[edge].mean() < 6


def test_transparent_edges_keep_the_object_colour(mlab, tmp_path):
    from brainviz.scene.export import savefig

    # An unlit (flat-coloured) disc: its edge pixels must have its colour, with
    # partial alpha, not a colour darkened towards the black background.
    f = mlab.figure(size=(100, 100), bgcolor=(1, 1, 1))
    glyphs = mlab.points3d([0], [0], [0], [1.0], scale_factor=80, color=(0.2, 0.8, 0.4),
                           resolution=32, figure=f)
    glyphs.actor.property.lighting = False
    f.scene.reset_zoom()
    rgba, _, _ = _read(savefig(tmp_path / "flat.png", f, size=(120, 120), transparent=True))
    mlab.close(f)
    alpha = rgba[..., 3]
    edge = (alpha > 25) & (alpha < 230)
    interior = alpha == 255
    assert edge.sum() > 20 and interior.sum() > 1000
    colour = np.median(rgba[..., :3][interior], axis=0)
    np.testing.assert_allclose(colour, [51, 204, 102], atol=2)
    np.testing.assert_allclose(rgba[..., :3][edge].mean(axis=0), colour, atol=8)


def test_transparent_tiff_and_jpeg_refused(fig, tmp_path):
    from brainviz.exceptions import ExportError
    from brainviz.scene.export import savefig

    rgba, _, _ = _read(savefig(tmp_path / "t.tif", fig, size=(60, 40), transparent=True))
    assert rgba.shape == (40, 60, 4) and rgba[0, 0, 3] == 0
    with pytest.raises(ExportError, match="JPEG has no alpha"):
        savefig(tmp_path / "t.jpg", fig, size=(60, 40), transparent=True)
    assert not (tmp_path / "t.jpg").exists()


# --------------------------------------------------------------------------- formats
def test_jpeg(fig, tmp_path):
    from brainviz.scene.export import savefig

    pixels, info, size = _read(savefig(tmp_path / "f.JPG", fig, size=(90, 60), dpi=150))
    assert size == (90, 60) and pixels.shape[2] == 3
    assert info["dpi"] == pytest.approx((150, 150))


@pytest.mark.parametrize("ext, magic", [(".pdf", b"%PDF"), (".eps", b"%!PS"), (".svg", b"<?xml")])
def test_vector_formats_through_gl2ps(fig, tmp_path, ext, magic):
    from brainviz.scene.export import savefig

    before = _camera(fig)
    out = savefig(tmp_path / f"v{ext}", fig, size=(200, 150), dpi=100)
    data = out.read_bytes()
    assert data.startswith(magic) and len(data) > 1000
    assert _camera(fig) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"v{ext}"]  # no temporary left
    if ext == ".svg":
        text = data.decode()
        assert 'width="50.800mm"' in text  # 200 px at 100 DPI
        # The 3D scene is embedded as a raster of the requested size.
        png = base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text).group(1))
        import io

        from PIL import Image

        im = Image.open(io.BytesIO(png))
        assert im.size == (200, 150)
        assert np.asarray(im.convert("RGB")).std() > 10


# --------------------------------------------------------------------------- bad input
def test_unknown_extension(fig, tmp_path):
    from brainviz.exceptions import ExportError
    from brainviz.scene.export import savefig

    with pytest.raises(ExportError, match=r"unknown image extension '\.bmp'.*\.png.*\.tiff.*\.pdf"):
        savefig(tmp_path / "f.bmp", fig)
    with pytest.raises(ExportError, match="unknown image extension"):
        savefig(tmp_path / "noext", fig)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output(fig, tmp_path):
    from brainviz.exceptions import ExportError
    from brainviz.scene.export import savefig

    missing = tmp_path / "no" / "such" / "f.png"
    with pytest.raises(ExportError, match=re.escape(str(missing))):
        savefig(missing, fig)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="does not exist"):
        savefig(blocker / "f.png", fig)
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        savefig(tmp_path / "dir.png", fig)


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=(0, 100)), "at least 1 x 1"),
    (dict(size=(20000, 100)), "beyond the limit of 10000"),
    (dict(width_mm=2000, dpi=300), "beyond the limit"),
    (dict(width_mm=0), "width_mm must be a positive number"),
    (dict(width_mm=10, dpi=-3), "dpi must be a positive number"),
    (dict(size=(10, 10), width_mm=10), "not both"),
    (dict(size="big"), "size must be"),
    (dict(magnification=0), "magnification"),
])
def test_bad_sizes(fig, tmp_path, kwargs, match):
    from brainviz.exceptions import ParameterError
    from brainviz.scene.export import savefig

    with pytest.raises(ParameterError, match=match):
        savefig(tmp_path / "f.png", fig, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_leaves_no_partial_file(fig, tmp_path, monkeypatch):
    from PIL import Image

    from brainviz.exceptions import ExportError
    from brainviz.scene.export import savefig

    target = tmp_path / "f.png"
    target.write_bytes(b"old figure")

    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ExportError, match="disk full"):
        savefig(target, fig, size=(50, 40))
    # The old file is untouched and no temporary file is left.
    assert target.read_bytes() == b"old figure"
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_written_file_has_normal_permissions(fig, tmp_path):
    from brainviz.scene.export import savefig

    umask = os.umask(0)
    os.umask(umask)
    out = savefig(tmp_path / "p.png", fig, size=(30, 20))
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


# --------------------------------------------------------------------------- montage
def _brain_mask(rgba, layout):
    """Pixels drawn by the scene: alpha > 0 outside the text and colour-bar boxes."""
    mask = rgba[..., 3] > 0
    for box in [layout["title"], layout["colorbar"], *layout["labels"]]:
        if box is not None:
            x0, y0, x1, y1 = box
            mask[y0:y1, x0:x1] = False
    return mask


def test_montage_colorbar_never_overlaps_a_brain(fig, tmp_path):
    from brainviz.scene._montage import render_montage

    views = ("left", "right", "superior", "anterior")
    rgba, layout = render_montage(
        fig, views, width_mm=60, dpi=100, transparent=True, title="A title",
        colorbar=dict(cmap="cold_hot", vmin=-5, vmax=5, threshold=2, title="z"),
    )
    assert rgba.shape[1] == round(60 / 25.4 * 100)
    assert len(layout["panels"]) == 4 and layout["colorbar"] is not None
    brain = _brain_mask(rgba, layout)
    assert brain.sum() > 500
    x0, y0, x1, y1 = layout["colorbar"]
    ys, xs = np.nonzero(brain)
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    assert not inside.any()
    # The colour bar strip sits below every panel and holds the colour bar.
    assert all(p[3] <= y0 for p in layout["panels"])
    bar = rgba[y0:y1, x0:x1]  # the bar's slot: the bar, its ticks and title
    assert (bar[..., 3] == 255).mean() > 0.1
    assert ((bar[..., 0] > 200) & (bar[..., 2] < 80)).any()  # the hot end is drawn
    # Every brain pixel lies inside its panel.
    in_panel = np.zeros_like(brain)
    for px0, py0, px1, py1 in layout["panels"]:
        in_panel[py0:py1, px0:px1] = True
    assert not (brain & ~in_panel).any()


def test_montage_same_zoom_in_every_panel(sphere_fig):
    from brainviz.scene._montage import render_montage

    views = ("left", "right", "superior", "anterior")
    rgba, layout = render_montage(sphere_fig, views, size=(400, 420), transparent=True,
                                  panel_labels=False)
    extents = []
    for x0, y0, x1, y1 in layout["panels"]:
        alpha = rgba[y0:y1, x0:x1, 3] > 127
        ys, xs = np.nonzero(alpha)
        extents.append((xs.max() - xs.min(), ys.max() - ys.min()))
        # The whole sphere fits in the panel (nothing cropped at the edges).
        assert not alpha[0].any() and not alpha[-1].any() and not alpha[:, 0].any()
    widths = [e[0] for e in extents]
    assert max(widths) - min(widths) <= 2
    assert rgba.shape[:2] == (420, 400)


def test_save_montage_writes_file_and_restores_camera(fig, tmp_path):
    from brainviz.scene.export import save_montage

    before = _camera(fig)
    out = save_montage(tmp_path / "m.png", fig, views="left,medial-left", width_mm=50, dpi=120)
    pixels, info, size = _read(out)
    assert size[0] == round(50 / 25.4 * 120)
    assert info["dpi"] == pytest.approx((120, 120), abs=0.05)
    assert pixels.shape[2] == 3 and pixels.std() > 10
    assert _camera(fig) == before


def test_montage_bad_input(fig, tmp_path):
    from brainviz.exceptions import ExportError, ParameterError
    from brainviz.scene.export import save_montage

    with pytest.raises(ParameterError, match="Unknown view 'sideways'.*left"):
        save_montage(tmp_path / "m.png", fig, views=("left", "sideways"), size=(100, 100))
    with pytest.raises(ExportError, match="unknown image extension"):
        save_montage(tmp_path / "m.bmp", fig, size=(100, 100))
    with pytest.raises(ParameterError, match="colorbar"):
        save_montage(tmp_path / "m.png", fig, size=(100, 100), colorbar=object())
    assert list(tmp_path.iterdir()) == []


def test_colorbar_spec_from_visuals_and_dicts(mlab, img_3d):
    from brainviz.exceptions import ParameterError
    from brainviz.scene._montage import colorbar_spec
    from brainviz.scene.connectome import ConnectomeVisual
    from brainviz.scene.statmap import StatMapVisual

    f = mlab.figure(size=(60, 60))
    stat = StatMapVisual(img_3d, threshold=1.0, figure=f)
    spec = colorbar_spec(stat)
    peak = float(np.abs(img_3d.get_fdata()).max())
    assert spec["vmin"] == pytest.approx(-peak, rel=1e-5) and spec["vmax"] == pytest.approx(peak, rel=1e-5)
    assert spec["threshold"] == 1.0 and spec["two_sided"] and spec["title"] == stat.colorbar_title
    assert spec["lut"].shape == (256, 3) and spec["lut"][-1, 0] > 200  # cold_hot: hot top end
    m = np.array([[0, 0.5, -0.8], [0.5, 0, 0.1], [-0.8, 0.1, 0]])
    graph = ConnectomeVisual(m, [(-40, 0, 0), (40, 0, 0), (0, 50, 10)], threshold=0.3, figure=f)
    spec = colorbar_spec(graph, title="weight")
    assert spec["vmax"] == pytest.approx(0.8) and spec["vmin"] == pytest.approx(-0.8)
    assert spec["threshold"] == pytest.approx(0.3) and spec["title"] == "weight"
    mlab.close(f)
    spec = colorbar_spec(dict(cmap="viridis", vmin=0, vmax=2, threshold=1, two_sided=False))
    assert not spec["two_sided"] and spec["lut"].shape == (256, 3)
    with pytest.raises(ParameterError, match="vmin < vmax"):
        colorbar_spec(dict(cmap="viridis", vmin=2, vmax=2))
    with pytest.raises(ParameterError, match="needs 'vmin' and 'vmax'"):
        colorbar_spec(dict(cmap="viridis"))


@pytest.mark.parametrize("transparent", [False, True])
def test_tiled_render_matches_one_piece_render(fig, monkeypatch, transparent):
    import brainviz.scene.export as export

    direct = export.render_image(fig, (603, 451), transparent=transparent).astype(float)
    before = _camera(fig)
    monkeypatch.setattr(export, "TILE_SIZE", 250)  # 3 x 3 tiles of 201 x 151
    tiled = export.render_image(fig, (603, 451), transparent=transparent).astype(float)
    assert tiled.shape == direct.shape
    # Only anti-aliased edges may differ (the mosaic is 2 rows taller, cropped):
    # no seam, no shift.
    differs = np.abs(tiled - direct).max(axis=2) > 40
    assert differs.mean() < 0.01
    assert np.abs(tiled - direct).mean() < 1.5
    assert _camera(fig) == before


def test_colorbar_tick_labels_never_overlap():
    """A threshold close to the range's ends (a connectome at 98%) must not print
    '-0.676-0.531': labels that would touch are left out, the end labels kept."""
    from brainviz.scene.colors import get_lut
    from brainviz.scene.figures import _colorbar_ticks, _fmt, _text_width

    spec = {"title": "r", "lut": get_lut("cold_hot")[:, :3], "vmin": -0.676, "vmax": 0.676,
            "threshold": 0.531, "two_sided": True}
    fs, width = 14.0, 450
    ticks = _colorbar_ticks(spec, width, fs)
    labels = [_fmt(t) for t in ticks]
    assert "-0.676" in labels and "0.676" in labels and "0" in labels
    boxes = []
    for t in ticks:
        x = (t - spec["vmin"]) / (spec["vmax"] - spec["vmin"]) * width
        w = _text_width(_fmt(t), fs)
        left = x if t == spec["vmin"] else (x - w if t == spec["vmax"] else x - w / 2)
        boxes.append((left, left + w))
    for (l1, r1), (l2, r2) in zip(boxes, boxes[1:]):
        assert r1 < l2, f"overlapping tick labels: {labels}"
    # room enough: the thresholds are marked too
    assert len(_colorbar_ticks(spec, 3000, fs)) == 5


def test_vector_montage_has_vector_ticks_and_raster_panels(fig, tmp_path):
    """An SVG/PDF montage: panels embedded as images at the DPI, the colour bar's ticks and
    the labels as text."""
    import re
    import xml.etree.ElementTree as ET

    from brainviz.scene.export import save_montage

    bar = dict(cmap="cold_hot", vmin=-5, vmax=5, threshold=2, title="z score")
    out = save_montage(tmp_path / "m.svg", fig, views=("left", "superior"), width_mm=80, dpi=150,
                       colorbar=bar, title="Vector montage")
    root = ET.parse(out).getroot()
    texts = {"".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("}text")}
    assert {"-5", "-2", "0", "2", "5", "z score", "Vector montage", "Left"} <= texts
    images = [el for el in root.iter() if el.tag.endswith("}image")]
    assert len(images) >= 2  # one per panel (the colour bar's strip may be one more)
    width = float(re.match(r"[0-9.]+", root.get("width")).group(0))
    assert width == pytest.approx(80 / 25.4 * 72, rel=0.01)  # 80 mm, in points
    pdf = save_montage(tmp_path / "m.pdf", fig, views=("left", "superior"), width_mm=80, dpi=150,
                       colorbar=bar)
    assert pdf.read_bytes()[:5] == b"%PDF-"
