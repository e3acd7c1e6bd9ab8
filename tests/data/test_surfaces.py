"""Surfaces: tiny GIfTI and FreeSurfer files written with nibabel and read back."""
import gzip

import nibabel as nib
import numpy as np
import pytest
from nibabel.freesurfer import write_geometry, write_morph_data

from brainviz.data.surfaces import Surface, load_surface, load_surface_data
from brainviz.exceptions import (
    DataValueError,
    DimensionError,
    EmptyFileError,
    ImageNotFoundError,
    NotAFileError,
    ShapeMismatchError,
    UnsupportedFormatError,
)

# a tetrahedron, left of the midline
VERTICES = np.array(
    [[-10.0, 0.0, 0.0], [-20.0, 0.0, 0.0], [-10.0, 10.0, 0.0], [-10.0, 0.0, 10.0]],
    dtype=np.float32,
)
FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], dtype=np.int32)


def gifti_mesh(vertices=VERTICES, faces=FACES):
    return nib.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(vertices, intent="NIFTI_INTENT_POINTSET", datatype="float32"),
        nib.gifti.GiftiDataArray(faces, intent="NIFTI_INTENT_TRIANGLE", datatype="int32"),
    ])


def gifti_data(*columns):
    return nib.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(np.asarray(c, dtype=np.float32), intent="NIFTI_INTENT_SHAPE",
                                 datatype="float32")
        for c in columns
    ])


def test_gifti_mesh_round_trip(tmp_path):
    path = tmp_path / "lh.pial.gii"
    nib.save(gifti_mesh(), path)
    surf = load_surface(path)
    np.testing.assert_allclose(surf.vertices, VERTICES)
    np.testing.assert_array_equal(surf.faces, FACES)
    assert surf.name == "lh.pial"
    assert surf.n_vertices == 4 and surf.n_faces == 4
    assert surf.bounds == (-20.0, -10.0, 0.0, 10.0, 0.0, 10.0)
    assert surf.data == {}


def test_gzipped_gifti_mesh(tmp_path):
    path = tmp_path / "mesh.gii.gz"
    path.write_bytes(gzip.compress(gifti_mesh().to_bytes()))
    surf = load_surface(path, name="mesh")
    np.testing.assert_allclose(surf.vertices, VERTICES)
    assert surf.name == "mesh"


def test_freesurfer_geometry_with_and_without_cras(tmp_path):
    plain = tmp_path / "lh.white"
    write_geometry(str(plain), VERTICES.astype(float), FACES)
    surf = load_surface(plain)
    np.testing.assert_allclose(surf.vertices, VERTICES)
    np.testing.assert_array_equal(surf.faces, FACES)
    assert surf.name == "lh.white"

    # with a volume-geometry block: surface RAS + cras = scanner RAS
    volume_info = {
        "head": np.array([2, 0, 20], dtype=np.int32), "valid": "1  # volume info valid",
        "filename": "orig.mgz", "volume": np.array([256, 256, 256]),
        "voxelsize": np.array([1.0, 1.0, 1.0]), "xras": np.array([-1.0, 0.0, 0.0]),
        "yras": np.array([0.0, 0.0, -1.0]), "zras": np.array([0.0, 1.0, 0.0]),
        "cras": np.array([3.0, -4.0, 5.0]),
    }
    shifted = tmp_path / "rh.pial"
    write_geometry(str(shifted), VERTICES.astype(float), FACES, volume_info=volume_info)
    np.testing.assert_allclose(load_surface(shifted).vertices, VERTICES + [3.0, -4.0, 5.0])


def test_surface_data_gifti_one_and_many_arrays(tmp_path):
    one = tmp_path / "sulc.shape.gii"
    nib.save(gifti_data([1, 2, 3, 4]), one)
    np.testing.assert_allclose(load_surface_data(one), [1, 2, 3, 4])
    many = tmp_path / "maps.func.gii"
    nib.save(gifti_data([1, 2, 3, 4], [5, 6, 7, 8]), many)
    values = load_surface_data(many)
    assert values.shape == (4, 2)
    np.testing.assert_allclose(values[:, 1], [5, 6, 7, 8])


def test_surface_data_freesurfer_morph(tmp_path):
    for name in ("lh.sulc", "lh.curv", "rh.thickness"):
        path = tmp_path / name
        write_morph_data(str(path), np.array([0.5, -1.0, 2.0, 3.5], dtype=np.float32))
        np.testing.assert_allclose(load_surface_data(path, n_vertices=4), [0.5, -1.0, 2.0, 3.5])


@pytest.mark.parametrize("ext", [".mgh", ".mgz"])
def test_surface_data_mgh(tmp_path, ext):
    values = np.arange(4, dtype=np.float32).reshape(4, 1, 1)
    path = tmp_path / f"lh.thickness{ext}"
    nib.save(nib.MGHImage(values, np.eye(4)), path)
    np.testing.assert_allclose(load_surface_data(path), [0, 1, 2, 3])
    frames = np.arange(8, dtype=np.float32).reshape(4, 1, 1, 2)
    nib.save(nib.MGHImage(frames, np.eye(4)), path)
    assert load_surface_data(path).shape == (4, 2)


def test_mgh_volume_is_not_surface_data(tmp_path):
    path = tmp_path / "brain.mgz"
    nib.save(nib.MGHImage(np.zeros((4, 5, 6), dtype=np.float32), np.eye(4)), path)
    with pytest.raises(UnsupportedFormatError, match=r"brain\.mgz.*\(n_vertices, 1, 1\)"):
        load_surface_data(path)


def test_add_data_checks_length_and_names_file(tmp_path):
    surf = Surface(VERTICES, FACES, name="tet")
    surf.add_data("depth", [1, 2, 3, 4])
    assert surf.data["depth"].shape == (4,)
    path = tmp_path / "lh.sulc"
    write_morph_data(str(path), np.zeros(5, dtype=np.float32))
    with pytest.raises(ShapeMismatchError, match=r"lh\.sulc.*5 values.*4 vertices"):
        surf.add_data("sulc", path)
    with pytest.raises(ShapeMismatchError, match=r"lh\.sulc.*5 values.*mesh has 4 vertices"):
        load_surface_data(path, n_vertices=4)
    with pytest.raises(ShapeMismatchError, match="'bad' has 3 values"):
        Surface(VERTICES, FACES, data={"bad": [1, 2, 3]})


def test_surface_validation():
    with pytest.raises(DataValueError, match=r"index vertices 0\.\.4.*4 vertices"):
        Surface(VERTICES, [[0, 1, 4]])
    with pytest.raises(DataValueError, match=r"index vertices -1"):
        Surface(VERTICES, [[0, 1, -1]])
    bad = VERTICES.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DataValueError, match="1 vertices with non-finite"):
        Surface(bad, FACES, name="nan mesh")
    with pytest.raises(DimensionError, match=r"\(n, 3\).*\(4, 2\)"):
        Surface(VERTICES[:, :2], FACES)
    with pytest.raises(DimensionError, match=r"faces.*\(m, 3\)"):
        Surface(VERTICES, FACES[:, :2])


def test_missing_directory_empty(tmp_path):
    with pytest.raises(ImageNotFoundError, match=r"No such file.*nothere\.gii.*surface mesh"):
        load_surface(tmp_path / "nothere.gii")
    with pytest.raises(NotAFileError, match="is a directory"):
        load_surface(tmp_path)
    empty = tmp_path / "empty.gii"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"empty\.gii.*empty \(0 bytes\)"):
        load_surface(empty)
    with pytest.raises(EmptyFileError, match=r"empty\.gii.*per-vertex"):
        load_surface_data(empty)


def test_wrong_formats(tmp_path):
    junk = tmp_path / "junk.gii"
    junk.write_bytes(b"this is not xml at all")
    with pytest.raises(UnsupportedFormatError, match=r"junk\.gii.*GIfTI"):
        load_surface(junk)
    random_fs = tmp_path / "lh.pial"
    random_fs.write_bytes(np.random.default_rng(0).bytes(64))
    with pytest.raises(UnsupportedFormatError, match=r"lh\.pial.*neither GIfTI"):
        load_surface(random_fs)
    with pytest.raises(UnsupportedFormatError, match=r"lh\.pial.*not GIfTI"):
        load_surface_data(random_fs)
    # data given where a mesh is expected, and the reverse
    data = tmp_path / "data.shape.gii"
    nib.save(gifti_data([1, 2, 3, 4]), data)
    with pytest.raises(UnsupportedFormatError, match=r"no POINTSET.*load_surface_data"):
        load_surface(data)
    mesh = tmp_path / "mesh.gii"
    nib.save(gifti_mesh(), mesh)
    with pytest.raises(UnsupportedFormatError, match=r"holds a mesh.*load_surface"):
        load_surface_data(mesh)
    sulc = tmp_path / "lh.sulc"
    write_morph_data(str(sulc), np.zeros(4, dtype=np.float32))
    with pytest.raises(UnsupportedFormatError, match="not a mesh"):
        load_surface(sulc)
