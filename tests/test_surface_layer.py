"""The surface layer (any mesh + per-vertex values) from brainviz.mlab and brainviz render:
a small GIfTI mesh made here, and nilearn's fsaverage5 GIfTI files."""
import nibabel as nib
import numpy as np
import pytest

pytestmark = pytest.mark.render


def _write_gifti(path, *arrays):
    img = nib.gifti.GiftiImage()
    for data, intent in arrays:
        img.add_gifti_data_array(nib.gifti.GiftiDataArray(data, intent=intent))
    nib.save(img, path)
    return path


@pytest.fixture
def octahedron_files(tmp_path):
    """An octahedron (6 vertices, 40 mm) as a GIfTI mesh, and a GIfTI func file of values:
    +5 at x = +40 mm, -5 at x = -40 mm."""
    v = 40.0 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    f = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5],
                  [0, 3, 5]])
    mesh = _write_gifti(tmp_path / "octa.surf.gii", (v.astype(np.float32), "NIFTI_INTENT_POINTSET"),
                        (f.astype(np.int32), "NIFTI_INTENT_TRIANGLE"))
    values = _write_gifti(tmp_path / "octa.func.gii",
                          (np.array([5, -5, 0, 0, 0, 0], np.float32), "NIFTI_INTENT_NONE"))
    return mesh, values


@pytest.fixture
def fsaverage5_files():
    from nilearn.datasets import fetch_surf_fsaverage

    files = fetch_surf_fsaverage("fsaverage5")  # shipped with nilearn: no download
    return files["pial_left"], files["thick_left"]


@pytest.fixture
def offscreen():
    from mayavi import mlab

    old = mlab.options.offscreen
    mlab.options.offscreen = True
    yield mlab
    mlab.close(all=True)
    mlab.options.offscreen = old


def _hot_and_cold(pixels):
    p = pixels.astype(int)
    hot = (p[..., 0] - p[..., 2] > 80) & (p[..., 0] > 150)
    cold = (p[..., 2] - p[..., 0] > 60) & (p[..., 2] > 100)
    return hot, cold


def test_open_path_gives_a_surface_layer_and_data_files_are_named(octahedron_files):
    from brainviz import model
    from brainviz.exceptions import ParameterError
    from brainviz.session import attach_surface_values, open_path, surface_file_kind

    mesh, values = octahedron_files
    assert (surface_file_kind(mesh), surface_file_kind(values)) == ("mesh", "values")
    (layer,) = open_path(mesh)
    assert isinstance(layer, model.SurfaceLayer) and layer.data[0].n_vertices == 6
    assert layer.data[0].values is None
    with pytest.raises(ParameterError, match="octa.func.gii holds values for the vertices of a "
                                             "surface: open its mesh first"):
        open_path(values)
    attach_surface_values(layer, values)
    np.testing.assert_array_equal(layer.data[0].values, [5, -5, 0, 0, 0, 0])
    assert layer.values_path == str(values) and layer.threshold_high == 5


def test_small_mesh_from_mlab_and_render_same_pixels(octahedron_files, tmp_path, offscreen):
    import brainviz.mlab as bv
    from brainviz.cli import main
    from PIL import Image

    mesh, values = octahedron_files
    fig = bv.figure(size=(160, 140))
    # cyan_black_yellow: no white ends (the default cold_hot is white at the +-5 peaks)
    s = bv.surface(values, surf_mesh=mesh, threshold=1, cmap="cyan_black_yellow", figure=fig)
    bv.view("superior", figure=fig)
    bv.savefig(tmp_path / "mlab.png", figure=fig)
    assert main(["render", "--surface", str(mesh), "--surface-data", str(values), "--threshold", "1",
                 "--cmap", "cyan_black_yellow", "--views", "superior", "--size", "160x140",
                 "-o", str(tmp_path / "cli.png")]) == 0
    a = np.asarray(Image.open(tmp_path / "mlab.png").convert("RGB"))
    b = np.asarray(Image.open(tmp_path / "cli.png").convert("RGB"))
    np.testing.assert_array_equal(a, b)
    hot, cold = _hot_and_cold(a)
    assert hot.sum() > 20 and cold.sum() > 20
    # superior view: +x (the +5 vertex) on the image right
    assert np.nonzero(hot)[1].mean() > np.nonzero(cold)[1].mean()
    s.threshold = 6  # hides every value: only the grey mesh remains
    hot, cold = _hot_and_cold(bv.savefig(tmp_path / "t.png", figure=fig) and
                              np.asarray(Image.open(tmp_path / "t.png").convert("RGB")))
    assert hot.sum() == 0 and cold.sum() == 0


def test_fsaverage5_gifti_files_from_render_and_mlab(fsaverage5_files, tmp_path, offscreen):
    import brainviz.mlab as bv
    from brainviz.cli import main
    from PIL import Image

    pial, thickness = fsaverage5_files
    out = tmp_path / "thick.png"
    assert main(["render", "--surface", str(pial), "--surface-data", str(thickness),
                 "--cmap", "viridis", "--set", "1.symmetric=false", "--views", "left",
                 "--size", "200x160", "-o", str(out)]) == 0
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    coloured = np.ptp(pixels, axis=2) > 60
    assert coloured.mean() > 0.15  # the left hemisphere's lateral face, in colour
    fig = bv.figure(size=(200, 160))
    layer = bv.surface(thickness, surf_mesh=pial, cmap="viridis", symmetric=False, figure=fig)
    assert layer.data[0].n_vertices == 10242 and layer.mesh_names == ["mesh"]
    bv.view("left", figure=fig)
    mlab_png = bv.savefig(tmp_path / "mlab.png", figure=fig)
    np.testing.assert_array_equal(np.asarray(Image.open(mlab_png).convert("RGB")), pixels)
