"""SurfaceVisual: fsaverage5 shaded by sulcal depth, a volume map projected, restyled in place."""
import nibabel as nib
import numpy as np
import pytest

from brainviz.exceptions import DimensionError, EmptyOverlayWarning, ParameterError

pytestmark = pytest.mark.render

CENTRE = (-40.0, -20.0, 50.0)  # left motor cortex, on the pial surface's reach


@pytest.fixture
def motor_blob():
    """A 4 mm MNI-grid map: value 5 within 15 mm of CENTRE, 0 elsewhere."""
    shape = (46, 55, 46)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-90, -126, -72)
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = nib.affines.apply_affine(affine, ijk)
    data = (np.linalg.norm(xyz - CENTRE, axis=1) < 15).astype(np.float32) * 5
    return nib.Nifti1Image(data.reshape(shape), affine)


def _hot(img):
    return (img[..., 0].astype(int) - img[..., 2] > 80) & (img[..., 0] > 150)


def test_surface_is_shaded_by_sulcal_depth(figure, px):
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    s = SurfaceVisual(hemi="left", mesh="inflated", figure=figure)
    set_view(figure, "left")
    img = px.shot(figure)
    drawn = ~px.is_white(img)
    assert drawn.sum() > 0.2 * drawn.size
    grey = img[drawn].astype(int)
    assert np.ptp(grey, axis=1).max() <= 3  # grey only: no map
    levels = grey[:, 0]
    assert np.percentile(levels, 90) - np.percentile(levels, 10) > 40  # gyri light, sulci dark
    colors = s.vertex_colors("left")
    sulc = s._meshes["left"]["sulc"]
    deep, crown = sulc > np.percentile(sulc, 80), sulc < np.percentile(sulc, 20)
    assert colors[deep, 0].mean() < colors[crown, 0].mean() - 40


def test_projected_map_thresholded_in_place(figure, motor_blob, px):
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    s = SurfaceVisual(motor_blob, hemi="left", mesh="pial", threshold=2, figure=figure)
    set_view(figure, "left")
    assert s.value_at(CENTRE, max_distance=20) == pytest.approx(5, abs=1)
    assert np.isnan(s.value_at((0, 0, 300)))
    sources = list(s.sources)
    assert _hot(px.shot(figure)).sum() > 30
    with pytest.warns(EmptyOverlayWarning, match="threshold=6 hides all"):
        s.threshold = 6
    assert _hot(px.shot(figure)).sum() == 0
    s.threshold = 2
    s.opacity = 0.0  # the map fully transparent over the cortex
    assert _hot(px.shot(figure)).sum() == 0
    assert s.sources == sources  # restyled, never rebuilt


def test_hemisphere_and_mesh_switch_in_place(figure, px):
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    s = SurfaceVisual(hemi="both", mesh="pial", figure=figure)
    set_view(figure, "superior", bounds=(-100, 100, -110, 80, -60, 90))
    both = (~px.is_white(px.shot(figure))).sum()
    sources = list(s.sources)
    s.hemi = "left"
    left = (~px.is_white(px.shot(figure))).sum()
    assert 0.3 * both < left < 0.7 * both
    assert s.bounds[1] < 10
    pial_xmin = s.bounds[0]
    s.mesh = "inflated"
    assert s.bounds[0] != pytest.approx(pial_xmin, abs=1)
    pts = s.sources[0].data.points.to_array()
    np.testing.assert_allclose(pts, s._meshes["left"]["inflated"].vertices, atol=1e-4)
    assert s.sources == sources


def test_inflated_hemispheres_do_not_overlap():
    from brainviz.data import load_fsaverage5

    fs = load_fsaverage5()
    left, right = fs["left"]["inflated"].vertices, fs["right"]["inflated"].vertices
    assert left[:, 0].max() < right[:, 0].min()


def test_both_hemispheres_bounds(figure):
    from brainviz.scene.surface import SurfaceVisual

    s = SurfaceVisual(hemi="both", mesh="pial", figure=figure)
    xmin, xmax = s.bounds[:2]
    assert xmin < -60 and xmax > 60


def test_bad_surface_input(figure, img_4d):
    from brainviz.scene.surface import SurfaceVisual

    with pytest.raises(DimensionError, match="'stat_map' parameter expected a 3D image"):
        SurfaceVisual(img_4d, figure=figure)
    with pytest.raises(ParameterError, match="'hemi' parameter must be one of"):
        SurfaceVisual(hemi="middle", figure=figure)
