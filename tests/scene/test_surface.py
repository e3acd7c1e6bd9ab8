"""SurfaceVisual: any mesh with per-vertex values; fsaverage5 shaded by sulcal depth, a volume
map projected onto it (in brainviz.data, before drawing), restyled in place."""
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
    from brainviz.data import fsaverage5_surfaces
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    parts = fsaverage5_surfaces("left")
    s = SurfaceVisual(parts, mesh="inflated", figure=figure)
    set_view(figure, "left")
    img = px.shot(figure)
    drawn = ~px.is_white(img)
    assert drawn.sum() > 0.2 * drawn.size
    grey = img[drawn].astype(int)
    assert np.ptp(grey, axis=1).max() <= 3  # grey only: no map
    levels = grey[:, 0]
    assert np.percentile(levels, 90) - np.percentile(levels, 10) > 40  # gyri light, sulci dark
    colors = s.vertex_colors(0)
    sulc = parts[0].data["sulc"]
    deep, crown = sulc > np.percentile(sulc, 80), sulc < np.percentile(sulc, 20)
    assert colors[deep, 0].mean() < colors[crown, 0].mean() - 40


def test_projected_map_thresholded_in_place(figure, motor_blob, px):
    from brainviz.data import fsaverage5_surfaces, project_to_surface
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    parts = project_to_surface(motor_blob, fsaverage5_surfaces("left"))
    s = SurfaceVisual(parts, mesh="pial", threshold=2, figure=figure)
    set_view(figure, "left")
    assert s.value_at(CENTRE, max_distance=20) == pytest.approx(5, abs=1)
    assert np.isnan(s.value_at((0, 0, 300)))
    sources = list(s.sources)
    assert _hot(px.shot(figure)).sum() > 30
    with pytest.warns(EmptyOverlayWarning, match="threshold=6.0 hides all"):
        s.threshold = 6
    assert _hot(px.shot(figure)).sum() == 0
    s.threshold = "50%"  # a percentile of the non-zero |values|: the blob again
    assert _hot(px.shot(figure)).sum() > 30
    s.threshold = 2
    s.opacity = 0.0  # the map fully transparent over the cortex
    assert _hot(px.shot(figure)).sum() == 0
    assert s.sources == sources  # restyled, never rebuilt


def test_mesh_switch_in_place(figure, px):
    from brainviz.data import fsaverage5_surfaces
    from brainviz.scene.surface import SurfaceVisual

    parts = fsaverage5_surfaces("left")
    s = SurfaceVisual(parts, mesh="pial", figure=figure)
    sources = list(s.sources)
    assert s.bounds[1] < 10
    pial_xmin = s.bounds[0]
    s.mesh = "inflated"
    assert s.bounds[0] != pytest.approx(pial_xmin, abs=1)
    pts = s.sources[0].data.points.to_array()
    np.testing.assert_allclose(pts, parts[0].geometries["inflated"], atol=1e-4)
    assert s.sources == sources
    with pytest.raises(ParameterError, match="mesh='white' is not a geometry"):
        s.mesh = "white"


def test_any_mesh_with_per_vertex_values(figure, px):
    """A small mesh made here (an octahedron), values per vertex: no fsaverage involved."""
    from brainviz.data import Surface
    from brainviz.scene.surface import SurfaceVisual
    from brainviz.scene.views import set_view

    v = 40.0 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    f = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4],
                  [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    mesh = Surface(v, f, data={"values": [5.0, -5.0, 0, 0, 0, 0]}, name="octahedron")
    # cyan_black_yellow: no white ends (the default cold_hot is white at the +-5 peaks)
    s = SurfaceVisual(mesh, figure=figure, threshold=1, cmap="cyan_black_yellow")
    set_view(figure, "superior")
    img = px.shot(figure)
    right, left = px.to_pixel(figure, (36, 0, 4)), px.to_pixel(figure, (-36, 0, 4))
    r, b = img[right][0].astype(int), img[right][2].astype(int)
    assert r - b > 60  # hot near the +5 vertex (x > 0: the image right seen from above)
    r, b = img[left][0].astype(int), img[left][2].astype(int)
    assert b - r > 60  # cold near the -5 vertex
    assert s.value_at((40, 0, 0)) == 5.0 and s.bounds == (-40, 40, -40, 40, -40, 40)


def test_inflated_hemispheres_do_not_overlap():
    from brainviz.data import load_fsaverage5

    fs = load_fsaverage5()
    left, right = fs["left"]["inflated"].vertices, fs["right"]["inflated"].vertices
    assert left[:, 0].max() < right[:, 0].min()


def test_both_hemispheres_bounds(figure):
    from brainviz.data import fsaverage5_surfaces
    from brainviz.scene.surface import SurfaceVisual

    s = SurfaceVisual(fsaverage5_surfaces(), mesh="pial", figure=figure)
    xmin, xmax = s.bounds[:2]
    assert xmin < -60 and xmax > 60


def test_bad_surface_input(figure, img_4d):
    from brainviz.data import fsaverage5_surfaces, project_to_surface
    from brainviz.scene.surface import SurfaceVisual

    with pytest.raises(DimensionError, match="img: .* is a 4D image"):
        project_to_surface(img_4d)
    with pytest.raises(ParameterError, match="'hemi' parameter must be 'both', 'left' or 'right'"):
        fsaverage5_surfaces("middle")
    with pytest.raises(ParameterError, match="'surfaces' parameter expected a brainviz.data.Surface"):
        SurfaceVisual(img_4d, figure=figure)
