"""AnatomyVisual: slices in world mm through a cursor, grey window, options, checked in pixels."""
import nibabel as nib
import numpy as np
import pytest

from brainviz.exceptions import DimensionError

pytestmark = pytest.mark.render


def _anatomy(img, figure, **kw):
    from brainviz.scene.volume import AnatomyVisual

    return AnatomyVisual(img, figure=figure, **kw)


def test_slices_show_grey_anatomy_and_transparent_background(figure, blob_img, px):
    a = _anatomy(blob_img, figure, cursor=(0, 0, 0), vmin=0, vmax=200)
    px.look_along(figure, "x")
    img = px.shot(figure)
    centre = img[px.to_pixel(figure, (0, 0, 0))]
    assert px.is_grey(centre[None])[0], centre
    assert 100 < centre.mean() < 160  # value 100 on a 0..200 window
    # the corner of the slice holds zeros (background): drawn transparent -> white
    corner = px.to_pixel(figure, (0, 33, 39))
    assert px.is_white(img[corner][None])[0]
    a.transparent_background = False
    img = px.shot(figure)
    assert img[corner].max() < 40  # background now drawn black


def test_default_window_is_robust_over_the_tissue(figure, blob_img):
    a = _anatomy(blob_img, figure)
    tissue = blob_img.get_fdata()[blob_img.get_fdata() > 0]
    assert a.vmin == pytest.approx(np.percentile(tissue, 2), rel=1e-3)
    assert a.vmax == pytest.approx(np.percentile(tissue, 98), rel=1e-3)
    # values between background and the window are drawn as the darkest grey, not dropped
    start, stop = a._lut_range()
    assert 0 < start < a.vmin and stop == a.vmax


def test_cursor_moves_all_three_slices(figure, px):
    # a ramp along x: the x slice's grey level tells where the slice is
    data = np.tile(np.arange(20, dtype=np.float32)[:, None, None], (1, 8, 9)) + 1
    img = nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    a = _anatomy(img, figure, cursor=(10, 4, 6), vmin=1, vmax=20)
    assert [plane.position for plane in a.slices] == [10, 4, 6]
    px.look_along(figure, "x")
    mid = px.to_pixel(figure, (10, 7, 4))
    before = int(px.shot(figure)[mid].mean())
    a.cursor = (30, 8, 10)
    assert [plane.position for plane in a.slices] == [30, 8, 10]
    after = int(px.shot(figure)[mid].mean())
    assert after > before + 60  # value 6 -> 16 on a 1..20 grey window


def test_window_changes_grey_level_in_place(figure, blob_img, px):
    a = _anatomy(blob_img, figure)
    lut, src = a.lut, a.source
    px.look_along(figure, "z")
    centre = px.to_pixel(figure, (0, 0, 0))
    before = int(px.shot(figure)[centre].mean())
    a.vmax = 400
    after = int(px.shot(figure)[centre].mean())
    assert after < before - 50
    assert a.lut is lut and a.source is src  # restyled, not rebuilt


def test_placed_in_world_mm_from_affine(figure, img_3d):
    a = _anatomy(img_3d, figure)
    data = img_3d.get_fdata()
    # voxel (1, 2, 3) of the fixture is at world (-7 + 2, -12 + 6, -18 + 12)
    assert a.value_at((-5.0, -6.0, -6.0)) == pytest.approx(data[1, 2, 3])
    assert np.isnan(a.value_at((500.0, 0, 0)))
    assert a.bounds == pytest.approx((-7, 5, -12, 9, -18, 14))
    np.testing.assert_allclose(a.source.origin, (-7, -12, -18))
    np.testing.assert_allclose(a.source.spacing, (2, 3, 4))


def test_las_image_is_flipped_into_place(figure, img_3d):
    data = img_3d.get_fdata()
    las = img_3d.affine.copy()
    las[0, 0] = -2.0
    las[0, 3] = 5.0  # same voxel centres, stored right-to-left
    a = _anatomy(nib.Nifti1Image(data[::-1].copy(), las), figure)
    assert a.value_at((-5.0, -6.0, -6.0)) == pytest.approx(data[1, 2, 3])
    assert a.bounds == pytest.approx((-7, 5, -12, 9, -18, 14))


def test_isosurface_and_volume_rendering_options(offscreen_mlab, blob_img, px):
    fig = offscreen_mlab.figure(size=(120, 120), bgcolor=(1, 1, 1))
    a = _anatomy(blob_img, fig, show_slices=False)
    px.look_along(fig, "z")
    assert px.is_white(px.shot(fig)).all()  # nothing drawn
    a.isosurface_opacity = 1.0
    a.show_isosurface = True
    a.isosurface_color = (1.0, 0.0, 0.0)
    img = px.shot(fig)
    red = (img[..., 0] > 100) & (img[..., 2] < 60)
    assert red.sum() > 500
    a.show_isosurface = False
    a.show_volume = True  # tiny window: software volume rendering is slow
    img = px.shot(fig)
    assert (~px.is_white(img)).sum() > 500
    assert a.isosurface_module is not None and not a.isosurface_module.visible


def test_translucent_slices_blend_with_the_background(figure, blob_img, px):
    a = _anatomy(blob_img, figure, vmax=100, transparent_background=False)
    px.look_along(figure, "x")
    centre = px.to_pixel(figure, (0, 0, -30))  # inside the head but darker than white
    opaque = int(px.shot(figure)[centre].mean())
    a.opacity = 0.3
    faded = int(px.shot(figure)[centre].mean())
    assert faded > opaque + 40  # 70 % of the white background shows through


def test_new_frame_redraws_in_place(figure, img_4d, px):
    from brainviz.exceptions import ShapeMismatchError
    from nilearn.image import index_img

    a = _anatomy(index_img(img_4d, 0), figure, vmin=-2, vmax=2, transparent_background=False)
    source, lut = a.source, a.lut
    point = (-5.0, -6.0, -6.0)  # voxel (1, 2, 3)
    a.img = index_img(img_4d, 3)
    assert a.value_at(point) == pytest.approx(img_4d.get_fdata()[1, 2, 3, 3])
    assert a.source is source and a.lut is lut
    np.testing.assert_allclose(a.source.scalar_data, img_4d.get_fdata()[..., 3])
    with pytest.raises(ShapeMismatchError, match="must be on the grid"):
        a.img = nib.Nifti1Image(np.zeros((3, 3, 3), np.float32), np.eye(4))


def test_a_series_window_is_its_frames_without_reading_others(figure, tmp_path, monkeypatch):
    """A 4D series without a dominating background (a native-space run: noise around the
    head) gets the 2-98 percentile window of the frame drawn; the other frames are not read
    (a compressed run's whole file was, before it was drawn) and the window stays when
    another frame is shown."""
    from brainviz.data import volumes
    from brainviz.scene.volume import SeriesVisual

    rng = np.random.default_rng(3)
    data = 1000 + 50 * rng.standard_normal((9, 10, 11, 6)).astype(np.float32)
    data[..., 1:] *= np.arange(2, 7, dtype=np.float32)  # later frames brighter
    path = tmp_path / "run.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), path)
    every_frame, frames = [], []
    real = volumes.Volume.get_frame
    monkeypatch.setattr(volumes, "compute_robust_range",
                        lambda *a, **k: every_frame.append(1) or (_ for _ in ()).throw(
                            AssertionError("every frame's range computed")))
    monkeypatch.setattr(volumes.Volume, "get_frame",
                        lambda self, t=0, *a, **k: frames.append(t) or real(self, t, *a, **k))
    a = SeriesVisual(str(path), figure=figure, frame=2)
    lo, hi = np.percentile(data[..., 2], (2, 98))
    assert (a.vmin, a.vmax) == (pytest.approx(lo, rel=1e-6), pytest.approx(hi, rel=1e-6))
    assert every_frame == [] and set(frames) == {2}
    a.frame = 4
    assert (a.vmin, a.vmax) == (pytest.approx(lo, rel=1e-6), pytest.approx(hi, rel=1e-6))
    assert a.value_at((3.0, 6.0, 9.0)) == pytest.approx(data[1, 2, 3, 4])  # frame 4 drawn


def test_4d_image_is_refused(figure, img_4d):
    with pytest.raises(DimensionError, match="'img' parameter expected a 3D image.*4D"):
        _anatomy(img_4d, figure)


def test_hidden_visual_draws_nothing(figure, blob_img, px):
    a = _anatomy(blob_img, figure)
    px.look_along(figure, "x")
    a.visible = False
    assert px.is_white(px.shot(figure)).all()
    a.visible = True
    assert not px.is_white(px.shot(figure)).all()


def test_figure_helpers_batch_rendering_and_registry(figure, blob_img):
    from tvtk.api import tvtk

    from brainviz.scene._figure import disable_render, figure_visuals, get_figure
    from brainviz.scene.volume import AnatomyVisual

    renders = []
    window = tvtk.to_vtk(figure.scene.render_window)
    window.AddObserver("StartEvent", lambda o, e: renders.append(1))
    with disable_render(figure):
        with disable_render(figure):  # nested: only the outermost block renders
            a = AnatomyVisual(blob_img, figure=figure)
            a.cursor = (3, 3, 3)
            a.vmax = 90
        assert renders == []
    assert len(renders) == 1
    assert not figure.scene.disable_render
    assert figure_visuals(figure) == [a] and figure_visuals(figure, AnatomyVisual) == [a]
    assert get_figure(figure) is figure
    a.remove()
    assert figure_visuals(figure) == []


def test_template_background_noise_is_cleared_for_display():
    """nilearn's MNI template holds faint noise and float32 denormals around the brain;
    drawn as is, they show as a black speckled frame around the slices. The slices
    draw a copy where everything outside the head is below the transparency cutoff."""
    from scipy import ndimage

    from brainviz.data import load_brain_mask, load_template
    from brainviz.scene.volume import _background_level, clear_outside_head

    data = np.asarray(load_template().get_data(), dtype=np.float32)
    brain = load_brain_mask().get_data() > 0
    finite = data[np.isfinite(data)]
    background = _background_level(finite)
    assert background < 1e-5  # the denormals count as background
    denormal = (data > 0) & (data < 1e-30)
    assert denormal.sum() > 1000  # the denormal background is really there
    cutoff = 0.05
    shown = clear_outside_head(data, cutoff, background) > cutoff
    far = ~ndimage.binary_dilation(brain, iterations=3)
    assert not (shown & far).any()
    # inside the brain nothing is cut away: dark ventricles and CSF stay drawn
    assert shown[brain].mean() > 0.99


def test_cleared_copy_reaches_vtk_without_another_copy():
    """The cleared copy is Fortran-ordered, so Mayavi's ravel(transpose(data)) for VTK is a
    view of it, not a second whole copy of the volume."""
    from brainviz.scene.volume import clear_outside_head

    data = np.zeros((7, 8, 9), np.float32)
    data[2:5, 2:6, 2:7] = 1.0
    data[0, 0, 0] = 0.2  # a speck outside the head
    out = clear_outside_head(data, 0.1, 0.0, cache=False)
    assert out.flags.f_contiguous and out[0, 0, 0] < 0.1 and out[3, 3, 3] == 1.0
    assert np.shares_memory(np.ravel(np.transpose(out)), out)


def test_head_mask_is_kept_on_disk_and_matches_the_computed_one(tmp_path, monkeypatch):
    """The slices' head mask is stored by a hash of the voxels: the next start reads it
    (no scipy.ndimage import, which a new process would pay for); other data or another
    cutoff give another mask; only the most recently used masks are kept."""
    import subprocess
    import sys

    from brainviz.scene import volume

    monkeypatch.setenv("BRAINVIZ_DATA_DIR", str(tmp_path / "data"))
    rng = np.random.default_rng(0)
    data = rng.normal(0.0, 0.01, (40, 40, 40)).astype(np.float32)
    data[8:32, 8:32, 8:32] = 1.0
    data[18:22, 18:22, 18:22] = 0.0  # a dark "ventricle": a hole, filled
    data[2, 2, 2] = 1.0  # a speck outside the head
    computed = volume.clear_outside_head(data, 0.5, 0.0, cache=False)
    first = volume.clear_outside_head(data, 0.5, 0.0)
    files = list((tmp_path / "data" / "head_masks_v2").glob("*.npz"))
    assert len(files) == 1
    np.testing.assert_array_equal(first, computed)
    assert computed[2, 2, 2] < 0.5 and computed[20, 20, 20] == 0.0  # speck cleared, hole kept
    np.save(tmp_path / "data.npy", data)
    code = ("import sys, numpy as np\n"
            "from brainviz.scene.volume import clear_outside_head\n"
            f"out = clear_outside_head(np.load({str(tmp_path / 'data.npy')!r}), 0.5, 0.0)\n"
            f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
            "print('scipy.ndimage' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), computed)
    # a changed voxel or another cutoff is another mask
    other = data.copy()
    other[30, 30, 30] = 0.9
    volume.clear_outside_head(other, 0.5, 0.0)
    volume.clear_outside_head(data, 0.6, 0.0)
    assert len(list((tmp_path / "data" / "head_masks_v2").glob("*.npz"))) == 3
    from brainviz.data import _masks

    monkeypatch.setattr(_masks, "_HEAD_MASKS_KEPT", 2)
    volume.clear_outside_head(data, 0.7, 0.0)
    assert len(list((tmp_path / "data" / "head_masks_v2").glob("*.npz"))) == 2


def test_slices_between_voxel_planes_have_no_black_rim_at_the_head_edge(figure, blob_img):
    """A slice between two voxel planes is resampled linearly: samples between an edge voxel
    of the head and a cleared one must go from tissue to transparent, not through the band
    below the grey window that draws black (a stair-stepped black line around the head)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    a = _anatomy(blob_img, figure, cursor=(0.8, -1.9, 2.6))  # off the 3 mm voxel planes
    figure.scene.render()
    cutoff, (window_low, _) = a._lut_range()[0], a._window()
    assert window_low > cutoff  # the band [cutoff, window_low) exists: it draws black
    for plane in a.slices:
        reslice = plane.resliced()
        values = vtk_to_numpy(reslice.GetPointData().GetScalars())
        tissue = values > cutoff
        assert tissue.sum() > 50  # the slice cuts the head
        # the head holds no value below 50: only a resampled edge could fall between the
        # cutoff and 50 (tissue between 50 and the window's low end draws black, rightly)
        black = (values >= cutoff) & (values < min(window_low, 50.0))
        assert black.sum() == 0, f"{black.sum()} samples of the head's edge draw black"


def test_the_heads_edge_has_no_fringe_of_the_background_colour(offscreen_mlab, blob_img, px):
    """Opaque slices are cut-outs: texture filtering between the head's edge texels and the
    cleared voxels around them draws nothing or the tissue's colour, never a line of the
    colour the cleared voxels are mapped to. Seen against something behind the slice (a
    black wall), the old slices drew a stair-stepped line of the figure's background colour
    (here red) around the head."""
    from mayavi import mlab

    fig = offscreen_mlab.figure(size=(300, 300), bgcolor=(1, 0, 0))
    a = _anatomy(blob_img, fig, cursor=(0.0, 0.0, 0.0), vmin=0, vmax=200)
    for plane in a.slices[:2]:
        plane.visible = False  # the axial slice alone, seen face-on from above
    # a black wall below the slice, wider than the view: every pixel is the wall or the head
    x = np.array([[-200.0, -200.0], [200.0, 200.0]])
    y = np.array([[-200.0, 200.0], [-200.0, 200.0]])
    mlab.mesh(x, y, np.full_like(x, -30.0), color=(0, 0, 0), figure=fig)
    px.look_along(fig, "z")
    fig.scene.camera.parallel_scale = 40.0  # the head fills the view, the wall around it
    pixels = px.shot(fig).astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    head = (np.abs(r - g) < 12) & (np.abs(g - b) < 12) & (r > 20)  # grey: the slice
    assert head.sum() > 2000 and (r < 20).sum() > 2000  # the head, and the wall around it
    reddish = (r - np.maximum(g, b)) > 40
    assert reddish.sum() == 0, f"{reddish.sum()} pixels of the background colour at the edge"
