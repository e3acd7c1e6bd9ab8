"""Figures that need no editing (brainviz.scene.figures), read back from the files written:
autocrop, colour bar, L/R, no edge-on needles, legends off the brains, readable text on
transparent output, vector text, movies."""
import numpy as np
import pytest

from brainviz import model

pytestmark = pytest.mark.render

_AFFINE = np.diag([6.0, 6.0, 6.0, 1.0])
_AFFINE[:3, 3] = (-72.0, -102.0, -60.0)
_SHAPE = (25, 31, 25)


def _xyz():
    ijk = np.indices(_SHAPE).reshape(3, -1).T
    return (ijk @ _AFFINE[:3, :3].T + _AFFINE[:3, 3]).reshape(*_SHAPE, 3)


def _volume(data, name):
    import nibabel as nib

    from brainviz.data import load_volume

    return load_volume(nib.Nifti1Image(data.astype(np.float32), _AFFINE), name=name)


def _head():
    xyz = _xyz()
    r = np.sqrt(((xyz - (0, -15, 10)) ** 2 / (65.0 ** 2, 85.0 ** 2, 60.0 ** 2)).sum(-1))
    return np.where(r < 1, 40 + 60 * (1 - r), 0)


def _left_blob():
    """A positive blob in the subject's left hemisphere (x = -35) only."""
    xyz = _xyz()
    return 6 * np.exp(-((xyz - (-35, -10, 30)) ** 2).sum(-1) / 200)


def _session(stat=True, **stat_traits):
    session = model.Session()
    session.add_layer(model.AnatomyLayer(name="head").set_volume(_volume(_head(), "head")))
    if stat:
        layer = model.StatMapLayer(name="zmap", **stat_traits).set_volume(
            _volume(_left_blob(), "zmap"))
        session.add_layer(layer)
    return session


@pytest.fixture
def drawn(offscreen_mlab):
    """draw(session, size) -> (figure, binding); every figure closed afterwards."""
    from brainviz.scene.binding import draw_session

    made = []

    def draw(session, size=(240, 200), view="left"):
        fig, binding = draw_session(session, size=size, view=view)
        made.append(fig)
        return fig, binding

    yield draw
    for fig in made:
        offscreen_mlab.close(fig)


def _read(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA") else "RGB"))


def _drawn_mask(pixels, background=(255, 255, 255)):
    if pixels.shape[2] == 4:
        return pixels[..., 3] > 8
    return np.abs(pixels[..., :3].astype(int) - np.asarray(background)).max(axis=2) > 12


def test_single_view_fills_its_frame_and_has_its_colour_bar(drawn, tmp_path):
    from brainviz.scene.figures import compose_figure, figure_pixels, save_figure

    fig, _ = drawn(_session(threshold=2.0))
    out = save_figure(tmp_path / "one.png", fig, views=["left"], size=(240, 200))
    pixels = _read(out)
    assert pixels.shape == (200, 240, 3)
    _, layout = compose_figure(fig, ["left"], size=(240, 200))
    x0, y0, x1, y1 = layout["panels"][0]
    content = _drawn_mask(pixels[y0:y1, x0:x1])
    rows, cols = np.nonzero(content.any(axis=1))[0], np.nonzero(content.any(axis=0))[0]
    fill = max((rows[-1] - rows[0] + 1) / (y1 - y0), (cols[-1] - cols[0] + 1) / (x1 - x0))
    assert fill >= 0.8, fill
    # ... and no more than the margin asks (0.05 each side: 0.9)
    assert fill <= 0.95
    # the colour bar: below the panel, with the map's hot end drawn
    bx0, by0, bx1, by1 = layout["colorbar"]
    assert by0 >= y1
    bar = pixels[by0:by1, bx0:bx1].astype(int)
    assert ((bar[..., 0] > 200) & (bar[..., 1] > 200) & (bar[..., 2] < 80)).any()  # yellow top
    # a larger margin, a smaller brain
    wide = figure_pixels(compose_figure(fig, ["left"], size=(240, 200), margin=0.2)[0])
    content = _drawn_mask(wide[y0:y1, x0:x1])
    assert content.sum() < 0.8 * _drawn_mask(pixels[y0:y1, x0:x1]).sum()


@pytest.mark.parametrize("view, left_side", [("superior", "left"), ("anterior", "right"),
                                             ("posterior", "left")])
def test_lr_labels_on_the_subjects_sides(drawn, tmp_path, view, left_side):
    """The blob is in the subject's left hemisphere: the "L" label is on its side."""
    from brainviz.scene.figures import compose_figure, figure_pixels

    session = _session(threshold=2.0, show_isosurface=True)
    fig, _ = drawn(session, view=view)
    compose, layout = compose_figure(fig, [view], size=(240, 200))
    pixels = figure_pixels(compose)
    boxes = layout["lr"][0]
    assert set(boxes) == {"L", "R"}
    (lx0, _, lx1, _), (rx0, _, rx1, _) = boxes["L"], boxes["R"]
    assert (lx1 <= rx0) == (left_side == "left")
    x0, y0, x1, y1 = layout["panels"][0]
    panel = pixels[y0:y1, x0:x1].astype(int)
    hot = (panel[..., 0] > 180) & (panel[..., 2] < 90)
    blob_x = x0 + np.nonzero(hot)[1].mean()
    centre = (x0 + x1) / 2
    assert (blob_x < centre) == (left_side == "left")
    assert abs((lx0 + lx1) / 2 - blob_x) < abs((rx0 + rx1) / 2 - blob_x)


def test_lateral_view_has_no_lr_but_the_slice_coordinate(drawn):
    from brainviz.scene.figures import compose_figure

    session = _session(threshold=2.0)
    session.move_cursor((-35.0, -10.0, 30.0))
    fig, _ = drawn(session)
    _, layout = compose_figure(fig, ["left", "posterior"], size=(360, None))
    assert layout["lr"][0] is None and layout["slice_labels"][0] == "x = -35"
    assert layout["slice_labels"][1] == "y = -10"


@pytest.mark.parametrize("view", ["left", "posterior"])
def test_no_edge_on_needles_outside_the_brain(drawn, view):
    """Slices seen edge-on are hidden: every pixel drawn lies on the face-on slice."""
    from brainviz.scene.export import render_image
    from brainviz.scene.figures import compose_figure, figure_pixels

    session = _session(stat=False)
    # near the side and the back: the face-on slice is small, the edge-on planes are not (the
    # left side: a left view shows the slice of the hemisphere facing it)
    session.move_cursor((-50.0, -85.0, 25.0))
    fig, binding = drawn(session, view=view)
    compose, layout = compose_figure(fig, [view], size=(240, 200), colorbar=None)
    pixels = figure_pixels(compose)
    x0, y0, x1, y1 = layout["panels"][0]
    drawn_px = _drawn_mask(pixels[y0:y1, x0:x1])
    # the face-on slice alone, with the panel's camera
    visual = binding.visuals[session.layers[0]]
    axis = {"left": 0, "posterior": 1}[view]
    camera = fig.scene.camera
    saved = {k: getattr(camera, k) for k in ("position", "focal_point", "view_up", "view_angle")}
    for key, value in layout["cameras"][0].items():
        setattr(camera, key, value)
    fig.scene.renderer.reset_camera_clipping_range()
    actors = [plane.actor for plane in visual.slices]
    for k, actor in enumerate(actors):
        actor.SetVisibility(k == axis)
    alone = _drawn_mask(render_image(fig, (x1 - x0, y1 - y0)))
    for actor in actors:
        actor.SetVisibility(True)
    bare = _drawn_mask(render_image(fig, (x1 - x0, y1 - y0)))  # every slice: needles
    for key, value in saved.items():
        setattr(camera, key, value)
    from scipy import ndimage

    inside = ndimage.binary_dilation(alone, iterations=2)
    assert (bare & ~inside).sum() > 20, "the control render shows no needle to hide"
    assert (drawn_px & ~inside).sum() == 0


def test_region_legend_once_and_never_over_a_brain(drawn, tmp_path):
    import xml.etree.ElementTree as ET

    from brainviz.scene.figures import compose_figure, figure_pixels, save_figure

    labels = np.zeros(_SHAPE)
    labels[4:10, 8:16, 10:16] = 1
    labels[15:21, 8:16, 10:16] = 2
    session = _session(stat=False)
    layer = model.LabelLayer(name="atlas").set_volume(_volume(labels, "atlas"))
    layer.names = {1: "left box", 2: "right box"}
    session.add_layer(layer)
    fig, _ = drawn(session)
    compose, layout = compose_figure(fig, ["left", "superior", "posterior"], size=(420, None))
    pixels = figure_pixels(compose)
    lx0, ly0, lx1, ly1 = layout["legend"]
    for px0, py0, px1, py1 in layout["panels"]:
        assert ly0 >= py1 or ly1 <= py0 or lx0 >= px1 or lx1 <= px0  # no overlap
    brains = np.zeros(pixels.shape[:2], bool)
    for px0, py0, px1, py1 in layout["panels"]:
        brains[py0:py1, px0:px1] = _drawn_mask(pixels[py0:py1, px0:px1])
    assert brains.sum() > 500 and not brains[ly0:ly1, lx0:lx1].any()
    # the VTK legend is not drawn into the panels: the legend's text appears once
    out = save_figure(tmp_path / "regions.svg", fig, views=["left", "superior", "posterior"],
                      size=(420, None))
    texts = ["".join(el.itertext()).strip() for el in ET.parse(out).getroot().iter()
             if el.tag.endswith("}text")]
    assert texts.count("left box") == 1 and texts.count("right box") == 1


def _luminance(rgb):
    c = np.asarray(rgb, dtype=float) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * c[..., 0] + 0.7152 * c[..., 1] + 0.0722 * c[..., 2]


def test_text_reads_on_a_dark_background_when_transparent(drawn, tmp_path):
    """A transparent figure put on black: its title keeps a WCAG contrast >= 4.5 there (and
    on white); opaque text alone would vanish on black."""
    from brainviz.scene.figures import compose_figure, figure_pixels

    fig, _ = drawn(_session(threshold=2.0))
    compose, layout = compose_figure(fig, ["left"], size=(240, 220), transparent=True,
                                     title="Motor")
    rgba = figure_pixels(compose, transparent=True).astype(float)
    x0, y0, x1, y1 = layout["title"]
    box = rgba[y0:y1, x0:x1]
    for background in (0.0, 255.0):
        alpha = box[..., 3:] / 255
        over = box[..., :3] * alpha + background * (1 - alpha)
        lum = _luminance(over)
        bg = _luminance(np.full(3, background))
        text = lum[alpha[..., 0] > 0.5]
        assert text.size > 10
        ratio = (max(text.max(), bg) + 0.05) / (min(text.min(), bg) + 0.05)
        assert ratio >= 4.5, (background, ratio)
    # a dark figure has white text on black
    compose, layout = compose_figure(fig, ["left"], size=(240, 220), dark=True, title="Motor")
    pixels = figure_pixels(compose)
    x0, y0, x1, y1 = layout["title"]
    assert pixels[y0, x0].tolist() == [0, 0, 0] and pixels[y0:y1, x0:x1].max() > 240


def test_unthresholded_map_has_no_transparent_holes(drawn):
    """A smooth map crossing zero, threshold 0: its whole slice is coloured."""
    from brainviz.scene.export import render_image
    from brainviz.scene.views import set_view

    xyz = _xyz()
    # crosses zero everywhere, but is exactly zero nowhere on the grid
    wave = np.sin(xyz[..., 0] / 9.0 + 0.3) * np.cos(xyz[..., 1] / 11.0 + 0.2) * 3.0
    session = model.Session()
    layer = model.StatMapLayer(name="wave", threshold=0.0).set_volume(_volume(wave, "wave"))
    session.add_layer(layer)
    session.move_cursor((0.0, -15.0, 10.0))
    fig, binding = drawn(session, view="superior")
    set_view(fig, "superior")
    visual = binding.visuals[layer]
    for ipw in visual.slices[:2]:
        ipw.visible = False  # the axial slice alone, seen face-on
    pixels = render_image(fig, (200, 200))
    ys, xs = np.nonzero(_drawn_mask(pixels))
    core = pixels[ys.min() + 15:ys.max() - 15, xs.min() + 15:xs.max() - 15]
    white = (core >= 250).all(axis=2)
    assert core.size and white.sum() == 0, white.sum()


def test_isosurfaces_are_coloured_by_value(drawn):
    from brainviz.scene.export import render_image

    session = _session(threshold=2.0, show_isosurface=True, show_slices=False)
    session.layers[0].visible = False
    fig, binding = drawn(session, view="left")
    visual = binding.visuals[session.layers[1]]
    pixels = render_image(fig, (200, 200)).astype(int)
    blob = (pixels[..., 0] > 120) & (pixels[..., 2] < 110)
    assert blob.sum() > 100
    # more than one colour of the map: the strongest values (yellow) and the threshold's (red)
    green = pixels[..., 1][blob]
    assert np.ptp(green) > 80
    values = visual.surface_values(np.array([[-35.0, -10.0, 30.0]]), np.array([[1.0, 0, 0]]), 1)
    assert values[0] == pytest.approx(6.0, rel=0.1)


def test_movies_have_the_frames_and_size_asked(drawn, tmp_path):
    import imageio.v3 as iio

    from brainviz.scene.movies import save_movie

    session = _session(threshold=2.0, show_isosurface=True)
    fig, _ = drawn(session, size=(160, 120))
    out = save_movie(tmp_path / "turn.mp4", fig, kind="rotate", n_frames=6, fps=6,
                     size=(160, 120))
    import imageio.v2 as imageio

    reader = imageio.get_reader(str(out), format="FFMPEG")
    frames = np.stack([frame for frame in reader])
    reader.close()
    assert frames.shape[:3] == (6, 120, 160)
    assert np.abs(frames[0].astype(int) - frames[3].astype(int)).mean() > 2  # it turns
    # the frames of a 4D map
    four = np.stack([_left_blob() * s for s in (0.5, 1.0, 1.5)], axis=-1)
    session.layers[1].set_volume(_volume(four, "zmap4d"))
    gif = save_movie(tmp_path / "frames.gif", fig, kind="frames", fps=3, size=(160, 120))
    frames = iio.imread(gif, index=None)
    assert frames.shape[:3] == (3, 120, 160)
    assert session.layers[1].frame == 0  # put back


def test_empty_figure_warns_what_to_add(drawn, tmp_path):
    import brainviz.mlab as bv
    from brainviz.exceptions import EmptyOverlayWarning
    from brainviz.session import describe_empty

    session = _session(threshold=2.0, show_slices=False)
    session.layers[0].show_slices = False
    session.add_layer(model.GlassBrainLayer().set_volume(None))
    notes = describe_empty(session)
    assert any("--isosurface" in n for n in notes)
    assert any("only an empty glass brain" in n for n in notes)
    fig, _ = drawn(session)
    with pytest.warns(EmptyOverlayWarning, match="isosurface"):
        bv.savefig(tmp_path / "empty.png", figure=fig, size=(120, 100))


def test_a_graph_in_front_of_the_facing_map_slice_keeps_only_its_nodes_near_the_slice(drawn):
    """The demo's "Posterior" panel: a connectome lying between the camera and the slice
    with the map hides it. In that panel (only) its nodes more than GRAPH_SLAB_MM in front
    of the slice are left out with their edges; the others are drawn as they are, and
    everything is put back afterwards."""
    from brainviz.scene import figures

    session = _session(threshold=2.0)
    session.move_cursor((35.0, -10.0, 30.0))  # the sagittal slice in the right hemisphere
    # the left view shows the slice at x = -35: these nodes lie 15, 5, -5, 10 and 35 mm in
    # front of it (the last one beyond the slab)
    coords = np.array([[-50.0, -40, 20], [-40, 10, 30], [-30, -60, 0], [-45, 0, 50],
                       [-70, -20, 10]])
    matrix = np.ones((5, 5)) - np.eye(5)
    session.add_layer(model.ConnectomeLayer(name="graph", threshold=0.5).set_graph(matrix, coords))
    fig, binding = drawn(session)
    graph = [v for layer, v in binding.visuals.items() if isinstance(layer, model.ConnectomeLayer)][0]
    sizes = graph._node_size.to_array().copy()
    assert (sizes > 0).all() and graph._edge_pd.lines.number_of_cells == 10
    seen = {}
    real = figures.render_image

    def spy(*args, **kwargs):
        seen[len(seen)] = (graph._node_size.to_array().copy(),
                           graph._edge_pd.lines.number_of_cells,
                           graph.node_actor.property.opacity)
        return real(*args, **kwargs)

    figures.render_image = spy
    try:
        _, layout = figures.compose_figure(fig, ["left", "right"], size=(400, None))
    finally:
        figures.render_image = real
    left, right = [seen[k] for k in sorted(seen)][-2:]  # the two panels, after the probes
    assert left[0].tolist() == [*sizes[:4], 0.0]  # the node 35 mm in front is left out
    assert left[1] == 6  # the edges among the four others
    assert left[2] == 1.0  # drawn as they are
    assert (right[0] == sizes).all() and right[1] == 10  # right: the graph is behind the slice
    assert (graph._node_size.to_array() == sizes).all()  # all put back
    assert graph._edge_pd.lines.number_of_cells == 10


def test_a_lateral_view_from_the_other_hemisphere_shows_its_own_hemispheres_slice(drawn):
    """The demo's "Left" panel looked through the whole left hemisphere at the slice at the
    peak (x = 39): a lateral view from the other side of the midline shows the mirrored
    sagittal slice, in the hemisphere facing the camera, and says so; the cursor and the
    slices stay where they were."""
    from brainviz.scene import figures

    session = _session(threshold=2.0)  # the blob in the left hemisphere (x = -35)
    session.move_cursor((35.0, -10.0, 30.0))  # the sagittal slice in the right hemisphere
    fig, binding = drawn(session)
    widgets = [group[0] for visual in figures._slice_visuals(binding)
               for group in (visual.slices, getattr(visual, "back_slices", []) or []) if group]
    before = [w.position for w in widgets]
    composed, layout = figures.compose_figure(fig, ["left", "right"], size=(400, None))
    assert layout["slice_labels"] == ["x = -35", "x = 35"]
    assert tuple(session.cursor) == (35.0, -10.0, 30.0)
    assert [w.position for w in widgets] == before
    # the left panel is the one drawn with the cursor at x = -35 (the slice through the blob)
    x0, y0, x1, y1 = layout["panels"][0]
    mirrored = figures.figure_pixels(composed)[y0:y1, x0:x1]
    session.move_cursor((-35.0, -10.0, 30.0))
    composed, layout = figures.compose_figure(fig, ["left", "right"], size=(400, None))
    assert layout["slice_labels"] == ["x = -35", "x = 35"]
    np.testing.assert_array_equal(figures.figure_pixels(composed)[y0:y1, x0:x1], mirrored)
    # near the midline the slice stays where the cursor is
    session.move_cursor((1.0, -10.0, 30.0))
    _, layout = figures.compose_figure(fig, ["left", "right"], size=(400, None))
    assert layout["slice_labels"] == ["x = 1", "x = 1"]


def test_a_wrapped_legend_fills_its_rows_evenly():
    """A legend too wide for one row takes as few rows as greedy filling would, filled
    evenly: the demo's six networks at 1200 px no longer leave 'sensorimotor' alone on a
    second row. Every item stays inside the width; a legend that fits stays one row."""
    from brainviz.scene.figures import _legend_layout, _legend_rows, _text_width

    names = ["cerebellum", "cingulo-opercular", "default", "fronto-parietal", "occipital",
             "sensorimotor"]
    legends = [("demo connectome: networks", [(n, (0.5, 0.5, 0.5)) for n in names])]
    fs, pad = 18, 10
    greedy_rows, greedy = _legend_rows(legends, 1200, fs, pad)
    assert greedy_rows == 2 and [t for r, _, t, _ in greedy if r == 1] == ["sensorimotor"]
    rows, items = _legend_layout(legends, 1200, fs, pad)
    assert rows == 2
    per_row = [[t for r, _, t, _ in items if r == k] for k in range(rows)]
    assert sorted(t for row in per_row for t in row) == sorted(names + [legends[0][0] + ":"])
    assert min(len(row) for row in per_row) >= 3
    ends = [x + 1.1 * fs + 0.4 * fs + _text_width(t, fs) for _, x, t, rgb in items if rgb]
    assert max(ends) <= 1200 - pad
    # each row centred in the width, as the colour bar is (the rows sat at the left edge)
    for k in range(rows):
        row = [(x, t, rgb) for r, x, t, rgb in items if r == k]
        left = min(x for x, _, _ in row)
        right = max(x + (1.15 * _text_width(t, fs) if rgb is None
                         else 1.1 * fs + 0.4 * fs + _text_width(t, fs)) for x, t, rgb in row)
        assert abs(left - (1200 - right)) <= 1.0, (k, left, right)
    assert _legend_layout(legends, 2000, fs, pad)[0] == 1
    assert _legend_layout(legends, 600, fs, pad)[0] == _legend_rows(legends, 600, fs, pad)[0]
    assert _legend_layout([], 1200, fs, pad) == (0, [])
