"""StatMapVisual: two-sided threshold, diverging colours, NaN, other grids, colour bar."""
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainviz.exceptions import DimensionError, EmptyOverlayWarning

pytestmark = pytest.mark.render


def _stat(shape=(17, 19, 21), size=3.0, pos_centre=(6.0, 0, 0), neg_centre=(-12.0, 0, 0), peak=6.0):
    """A map on its own grid: a positive blob (peak 6) and a negative one (-6), radius ~7 mm."""
    affine = np.diag([size, size, size, 1.0])
    affine[:3, 3] = -size * (np.asarray(shape) - 1) / 2
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = nib.affines.apply_affine(affine, ijk).reshape(shape + (3,))
    data = np.zeros(shape, np.float32)
    for centre, sign in ((pos_centre, 1), (neg_centre, -1)):
        d = np.linalg.norm(xyz - np.asarray(centre), axis=-1)
        data += sign * peak * np.clip(1 - d / 9.0, 0, None)
    return nib.Nifti1Image(data, affine)


def _colour(img, rowcol):
    return img[rowcol].astype(int)


def _is_hot(rgb):
    return rgb[0] > 150 and rgb[2] < 80


def _is_cold(rgb):
    return rgb[2] > 150 and rgb[0] < 80


@pytest.fixture
def scene(figure, blob_img, px):
    from brainviz.scene.volume import AnatomyVisual

    anat = AnatomyVisual(blob_img, figure=figure, cursor=(0, 0, 0), vmax=200)
    px.look_along(figure, "z")
    return anat


def test_two_sided_threshold_colours_and_restyle_in_place(figure, scene, px):
    from brainviz.scene.statmap import StatMapVisual

    # cyan_black_yellow has no white ends (nilearn's cold_hot, the default, is white at
    # its peaks), so the sign of every blob shows in its colour
    m = StatMapVisual(_stat(), threshold=2.0, cmap="cyan_black_yellow", figure=figure,
                      over_anatomy=True)
    assert (m.vmin, m.vmax) == pytest.approx((-6.0, 6.0), abs=0.1)  # symmetric by default
    pos, neg = px.to_pixel(figure, (6, 0, 0)), px.to_pixel(figure, (-12, 0, 0))
    far = px.to_pixel(figure, (0, 20, 0))  # anatomy, no map value
    img = px.shot(figure)
    assert _is_hot(_colour(img, pos)), _colour(img, pos)
    assert _is_cold(_colour(img, neg)), _colour(img, neg)
    assert px.is_grey(img[far][None])[0]
    lut, source = m.lut, m.source
    m.threshold = 5.9  # only the very peaks survive; 3 mm off-peak is now hidden
    img = px.shot(figure)
    off_peak = px.to_pixel(figure, (6, 4, 0))
    assert px.is_grey(img[off_peak][None])[0]
    m.two_sided = False
    m.threshold = 2.0
    img = px.shot(figure)
    assert _is_hot(_colour(img, pos)) and px.is_grey(img[neg][None])[0]
    assert m.lut is lut and m.source is source


def test_opaque_map_slices_are_cut_outs_and_translucent_ones_blend(figure, scene, px):
    """A fully opaque map in an interactive scene draws its slices in the opaque pass
    (cut-outs, hidden colours transparent black): the scene then has no translucent geometry
    and skips VTK's order-independent transparency pass. At opacity 0.5, in exports and in
    a figure made only to be exported, they blend."""
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(_stat(), threshold=2.0, cmap="cyan_black_yellow", figure=figure,
                      over_anatomy=True)
    renderer = figure.scene.renderer._vtk_obj
    props = [renderer.GetViewProps().GetItemAsObject(i)
             for i in range(renderer.GetViewProps().GetNumberOfItems())]

    def translucent():
        return any(p.GetVisibility() and p.HasTranslucentPolygonalGeometry() for p in props)

    planes = m.slices + m.back_slices
    pos, far = px.to_pixel(figure, (6, 0, 0)), px.to_pixel(figure, (0, 20, 0))
    # a figure made to be exported keeps blended slices; the window's scene asks for them
    assert not any(p.cutout for p in planes) and translucent()
    from brainviz.scene.statmap import interactive_cutouts

    interactive_cutouts(figure)
    assert all(p.cutout for p in planes) and not translucent()
    hidden = m.lut._vtk_obj.GetTable()
    rgba = np.array([hidden.GetTuple4(i) for i in range(hidden.GetNumberOfTuples())])
    assert (rgba[rgba[:, 3] == 0, :3] == 0).all()  # cut-outs divide colours by alpha
    img = px.shot(figure)
    opaque_hot = _colour(img, pos)
    assert _is_hot(opaque_hot) and px.is_grey(img[far][None])[0]
    m.opacity = 0.5
    assert not any(p.cutout for p in planes) and translucent()
    img = px.shot(figure)
    half = _colour(img, pos)
    assert half[0] < opaque_hot[0] - 30 and px.is_grey(img[far][None])[0]  # anatomy shows
    m.opacity = 1.0
    assert all(p.cutout for p in planes) and not translucent()
    np.testing.assert_allclose(_colour(px.shot(figure), pos), opaque_hot, atol=2)
    # an export blends them (multisampling smooths no cut-out's edge), then puts them back
    from brainviz.scene import _render
    from brainviz.scene.export import render_image

    seen = []
    grab = _render._grab

    def spy(*args, **kwargs):
        seen.append([p.cutout for p in planes])
        return grab(*args, **kwargs)

    _render._grab = spy
    try:
        render_image(figure, (80, 60))
    finally:
        _render._grab = grab
    assert seen and not any(any(s) for s in seen)
    assert all(p.cutout for p in planes) and not translucent()


def test_threshold_hiding_everything_warns_and_draws_nothing(figure, scene, px):
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(_stat(), threshold=2.0, figure=figure)
    with pytest.warns(EmptyOverlayWarning, match=r"threshold=10 hides all of .*max \|value\| is 6"):
        m.threshold = 10
    img = px.shot(figure)
    hot = (img[..., 0].astype(int) - img[..., 2] > 80)
    cold = (img[..., 2].astype(int) - img[..., 0] > 80)
    assert not hot.any() and not cold.any()


def test_nan_is_transparent(figure, scene, px):
    from brainviz.scene.statmap import StatMapVisual

    stat = _stat()
    data = stat.get_fdata().astype(np.float32)
    data[data > 0] = np.nan  # the positive blob becomes NaN
    m = StatMapVisual(nib.Nifti1Image(data, stat.affine), threshold=0, cmap="cyan_black_yellow",
                      figure=figure)
    img = px.shot(figure)
    assert px.is_grey(img[px.to_pixel(figure, (6, 0, 0))][None])[0]  # anatomy shows through
    assert _is_cold(_colour(img, px.to_pixel(figure, (-12, 0, 0))))
    assert np.isnan(m.value_at((6, 0, 0)))


def test_map_on_another_grid_is_placed_exactly(figure, scene, px):
    from brainviz.scene.statmap import StatMapVisual

    # 2 mm grid shifted by half a voxel, stored LAS: the blobs must still be at +6 and -12 mm
    stat = _stat(shape=(25, 27, 31), size=2.0)
    aff = stat.affine.copy()
    aff[:3, 3] += 1.0
    data = stat.get_fdata()
    ijk = np.indices(data.shape).reshape(3, -1).T
    xyz = nib.affines.apply_affine(aff, ijk)
    d_pos = np.linalg.norm(xyz - (6, 0, 0), axis=1)
    d_neg = np.linalg.norm(xyz - (-12, 0, 0), axis=1)
    values = (6 * np.clip(1 - d_pos / 9, 0, None) - 6 * np.clip(1 - d_neg / 9, 0, None))
    values = values.reshape(data.shape).astype(np.float32)
    las = aff.copy()
    las[0, 0] = -2.0
    las[0, 3] = aff[0, 3] + 2.0 * (data.shape[0] - 1)
    m = StatMapVisual(nib.Nifti1Image(values[::-1].copy(), las), threshold=3.0,
                      cmap="cyan_black_yellow", figure=figure)
    assert m.value_at((6, 0, 0)) > 4.5 and m.value_at((-12, 0, 0)) < -4.5
    img = px.shot(figure)
    assert _is_hot(_colour(img, px.to_pixel(figure, (6, 0, 0))))
    assert _is_cold(_colour(img, px.to_pixel(figure, (-12, 0, 0))))
    assert px.is_grey(img[px.to_pixel(figure, (-3, 0, 0))][None])[0]  # between the blobs


def test_isosurfaces_follow_the_threshold(offscreen_mlab, px):
    from brainviz.scene.statmap import StatMapVisual

    fig = offscreen_mlab.figure(size=(150, 150), bgcolor=(1, 1, 1))
    # isosurfaces are coloured by value: a map without white ends shows the sign as hue
    m = StatMapVisual(_stat(), threshold=2.0, figure=fig, show_slices=False, show_isosurface=True,
                      cmap="cyan_black_yellow")
    px.look_along(fig, "z", distance=200)
    img = px.shot(fig)
    hot = (img[..., 0].astype(int) - img[..., 2] > 80).sum()
    cold = (img[..., 2].astype(int) - img[..., 0] > 80).sum()
    assert hot > 100 and cold > 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyOverlayWarning)
        m.threshold = 8
    img = px.shot(fig)
    assert px.is_white(img).all()


def test_isosurface_colours_need_no_scipy_ndimage(offscreen_mlab, monkeypatch):
    """The isosurfaces sample their map with numpy (brainviz render does not import
    scipy.ndimage for them), and the values are scipy's."""
    from scipy import ndimage

    from brainviz.scene.statmap import StatMapVisual, trilinear

    def refuse(*args, **kwargs):
        raise AssertionError("scipy.ndimage.map_coordinates called")

    rng = np.random.default_rng(0)
    data = rng.normal(size=(7, 8, 9)).astype(np.float32)
    ijk = rng.uniform(-2, 11, size=(3, 5000))  # inside and outside the grid
    expected = ndimage.map_coordinates(data, ijk, order=1, mode="nearest")
    monkeypatch.setattr(ndimage, "map_coordinates", refuse)
    values = trilinear(data, ijk)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, expected)
    fig = offscreen_mlab.figure(size=(80, 80), bgcolor=(1, 1, 1))
    m = StatMapVisual(_stat(), threshold=2.0, figure=fig, show_slices=False, show_isosurface=True)
    surface = m.surface_values(np.array([[6.0, 0, 0], [-12.0, 0, 0]]), np.array([[1.0, 0, 0]] * 2),
                               1)
    assert surface[0] == pytest.approx(6.0, rel=0.05) and surface[1] < 6.0


def test_colorbar_with_title_and_threshold_marked(figure, px):
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(_stat(), threshold=2.0, figure=figure, show_colorbar=True,
                      colorbar_title="t value")
    bar = m.scalar_bar
    assert bar.visibility and bar.title == "t value"
    lut = bar.lookup_table
    assert lut.number_of_annotated_values == 2
    assert {lut.get_annotation(i) for i in range(2)} == {"2", "-2"}
    table = lut.table.to_array()
    grey = np.all(table[:, :3] == 200, axis=1)
    assert grey.sum() == pytest.approx(len(table) * 4 / 12, rel=0.05)  # |v| < 2 of [-6, 6]
    img = px.shot(figure)
    right = img[:, 255:]
    assert (right[..., 0].astype(int) - right[..., 2] > 80).sum() > 50  # hot end of the bar drawn
    m.threshold = 3
    assert {lut.get_annotation(i) for i in range(2)} == {"3", "-3"}
    m.show_colorbar = False
    assert not bar.visibility


def test_bad_colormap_is_refused_on_assignment(figure):
    from brainviz.exceptions import ParameterError
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(_stat(), threshold=2.0, figure=figure, cmap="RdBu_r")
    with pytest.raises(ParameterError,
                       match="'cmap' parameter: colour map 'hotcold' is not a known colour map"):
        m.cmap = "hotcold"
    assert m.cmap == "RdBu_r"


def test_4d_map_shows_one_frame_at_a_time(figure, img_4d):
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(img_4d, figure=figure)
    data = img_4d.get_fdata()
    centre = tuple(np.asarray(img_4d.affine[:3, :3] @ (np.array(data.shape[:3]) // 2)
                              + img_4d.affine[:3, 3]))
    ijk = tuple(np.array(data.shape[:3]) // 2)
    assert m.value_at(centre) == pytest.approx(data[ijk + (0,)], rel=1e-5)
    m.frame = data.shape[3] - 1
    assert m.value_at(centre) == pytest.approx(data[ijk + (data.shape[3] - 1,)], rel=1e-5)
    m.frame = 10_000  # clipped to the last frame
    assert m.value_at(centre) == pytest.approx(data[ijk + (data.shape[3] - 1,)], rel=1e-5)


def test_a_4d_maps_colour_range_holds_for_every_frame(figure):
    """The automatic range spans all frames, in the 3D scene and in the 2D views (with the
    first frame's, a stronger later frame saturated and the colour bar misread it)."""
    from brainviz import model
    from brainviz.scene.binding import bind
    from brainviz.scene.slices2d import SLICE_VISUALS
    from brainviz.scene.statmap import StatMapVisual

    one = _stat()
    data = np.stack([one.get_fdata(), 3.0 * one.get_fdata()], axis=-1).astype(np.float32)
    img = nib.Nifti1Image(data, one.affine)
    m = StatMapVisual(img, figure=figure)
    assert (m.vmin, m.vmax) == pytest.approx((-18.0, 18.0), abs=0.3)  # 3 x 6, not 6
    m.frame = 1
    assert (m.vmin, m.vmax) == pytest.approx((-18.0, 18.0), abs=0.3)  # the same for frame 1
    session = model.Session()
    from brainviz.data import load_volume

    layer = model.StatMapLayer(name="4d").set_volume(load_volume(img, name="4d"))
    session.add_layer(layer)
    plane = bind(session, figure, registry=SLICE_VISUALS, axis=2).visual_for(layer)
    assert (plane.vmin, plane.vmax) == pytest.approx((-18.0, 18.0), abs=0.3)


def test_a_4d_maps_range_is_read_once_per_volume_and_skips_non_finite_values(monkeypatch):
    """Every frame is read once per volume, whichever frame's grid is alive (each 2D view
    read them all again when the layer was opened at another frame); nan and inf count
    for nothing."""
    import gc

    from brainviz.data import load_volume
    from brainviz.data.volumes import Volume
    from brainviz.scene._base import VolumeGrid

    one = _stat().get_fdata().astype(np.float32)
    frames = np.stack([one, 3.0 * one, one], axis=-1)
    frames[1, 1, 1, 0] = np.nan
    frames[2, 2, 2, 2] = np.inf
    frames[3, 3, 3, 2] = -np.inf
    volume = load_volume(nib.Nifti1Image(frames, _stat().affine), name="three")
    reads = []
    real = Volume.get_frame
    monkeypatch.setattr(Volume, "get_frame", lambda self, k=0: reads.append(k) or real(self, k))
    low, high, top = VolumeGrid.map_range(volume)
    finite = frames[np.isfinite(frames)]
    assert (low, high, top) == (finite.min(), finite.max(), np.abs(finite).max())
    assert sorted(reads) == [0, 1, 2]
    gc.collect()  # no frame-0 grid is alive now; a view opens frame 2
    grid = VolumeGrid.shared(volume, 2)
    assert VolumeGrid.map_range(volume) == (low, high, top)
    assert sorted(reads) == [0, 1, 2, 2]  # only frame 2's grid read it again
    del grid
    empty = load_volume(nib.Nifti1Image(np.full((3, 3, 3, 2), np.nan, np.float32),
                                        np.eye(4)), name="empty")
    assert VolumeGrid.map_range(empty) is None


def test_remove_takes_everything_away(figure, scene, px):
    from brainviz.scene._figure import figure_visuals
    from brainviz.scene.statmap import StatMapVisual

    m = StatMapVisual(_stat(), threshold=2.0, figure=figure, show_isosurface=True,
                      show_colorbar=True)
    img = px.shot(figure)
    assert ((img[..., 0].astype(int) - img[..., 2]) > 80).any()
    m.remove()
    img = px.shot(figure)
    assert not ((img[..., 0].astype(int) - img[..., 2]) > 80).any()
    assert not ((img[..., 2].astype(int) - img[..., 0]) > 80).any()
    assert figure_visuals(figure) == [scene]


def test_cold_hot_isosurfaces_are_coloured_at_their_peaks(offscreen_mlab, px):
    """cold_hot ends in white: isosurfaces (and their colour bar) end in yellow and cyan
    instead, so a peak reads as a colour, not as a highlight."""
    from brainviz.scene.colors import get_lut
    from brainviz.scene.statmap import StatMapVisual

    fig = offscreen_mlab.figure(size=(160, 160), bgcolor=(0, 0, 0))
    m = StatMapVisual(_stat(peak=9.0), threshold=2.0, figure=fig, show_slices=False,
                      show_isosurface=True, cmap="cold_hot", vmax=9.0)
    top, bottom = m.colorbar_lut(256)[-1, :3].astype(int), m.colorbar_lut(256)[0, :3].astype(int)
    assert top[0] > 200 and top[1] > 200 and top[2] < 60  # yellow, not white
    assert bottom[2] > 200 and bottom[1] > 200 and bottom[0] < 60  # cyan, not white
    # the slices' own table is nilearn's cold_hot when no isosurface is drawn
    m.show_isosurface = False
    assert (m.colorbar_lut(256)[-1, :3] == get_lut("cold_hot", 256)[-1, :3]).all()
    m.show_isosurface = True
    px.look_along(fig, "z", distance=200)
    img = px.shot(fig).astype(int)
    drawn = img.max(axis=2) > 40
    near_white = drawn & (img.min(axis=2) > 200)
    assert drawn.sum() > 200
    assert near_white.sum() < 0.02 * drawn.sum()
