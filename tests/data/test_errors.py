"""Every bad input to load_volume / check_mask / require_*d gets a message naming the file and what was expected."""
import gzip
import os
import struct

import nibabel as nib
import numpy as np
import pytest

from brainviz.data import _volume_io, volumes
from brainviz.data.volumes import check_mask, load_volume, require_3d, require_4d
from brainviz.exceptions import (
    AffineError,
    BrainvizError,
    DataValueError,
    DimensionError,
    EmptyFileError,
    ImageNotFoundError,
    NotAFileError,
    ShapeMismatchError,
    TruncatedFileError,
    UnsupportedDataError,
    UnsupportedFormatError,
)

EXPECTED = r"Expected a NIfTI-1/2 \(\.nii, \.nii\.gz\), Analyze \(\.hdr/\.img\) or MGH"


def _affine():
    return np.diag([2.0, 3.0, 4.0, 1.0])


def _save(tmp_path, name, data, affine=None):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, _affine() if affine is None else affine), path)
    return path


def test_missing_path(tmp_path):
    path = tmp_path / "missing.nii.gz"
    with pytest.raises(ImageNotFoundError, match=rf"Cannot open '.*missing\.nii\.gz': no such file\. {EXPECTED}"):
        load_volume(path)
    assert issubclass(ImageNotFoundError, FileNotFoundError)


def test_directory(tmp_path):
    with pytest.raises(NotAFileError, match=rf"Cannot open '{tmp_path}': it is a directory\. {EXPECTED}"):
        load_volume(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.nii.gz"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"Cannot open '.*empty\.nii\.gz': the file is empty \(0 bytes\)"):
        load_volume(path)


def test_random_bytes_named_nii_gz(tmp_path):
    path = tmp_path / "noise.nii.gz"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(UnsupportedFormatError,
                       match=r"Cannot read '.*noise\.nii\.gz': it is not a NIfTI-1/2 .* that nibabel can read \(.*not a gzip file\)"):
        load_volume(path)


def test_gzipped_random_bytes(tmp_path):
    path = tmp_path / "noise2.nii.gz"
    path.write_bytes(gzip.compress(np.random.default_rng(0).bytes(4000)))
    with pytest.raises(UnsupportedFormatError, match=r"'.*noise2\.nii\.gz': it is not a NIfTI-1/2"):
        load_volume(path)


def test_analyze_header_without_image(tmp_path):
    nib.save(nib.AnalyzeImage(np.zeros((7, 8, 9), np.int16), _affine()), tmp_path / "pair.img")
    (tmp_path / "pair.img").unlink()
    with pytest.raises(ImageNotFoundError, match=r"'.*pair\.hdr': its companion file 'pair\.img' is missing"):
        load_volume(tmp_path / "pair.hdr")


@pytest.fixture
def big_gz(tmp_path):
    data = np.random.default_rng(0).standard_normal((20, 20, 20, 6)).astype(np.float32)
    return _save(tmp_path, "bold.nii.gz", data)


def _truncate(path, fraction):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * fraction)])


def test_truncated_nii_gz_detected_at_load(big_gz):
    _truncate(big_gz, 0.6)
    with pytest.raises(TruncatedFileError,
                       match=r"'.*bold\.nii\.gz' is truncated: its header announces 192352 bytes .* holds only \d+"):
        load_volume(big_gz)


def test_truncated_big_nii_gz_detected_at_first_read(big_gz, monkeypatch):
    # Files too big to verify at load time are checked when their data are read.
    monkeypatch.setattr(_volume_io, "_VERIFY_MAX_BYTES", 0)
    _truncate(big_gz, 0.6)
    vol = load_volume(big_gz)
    vol.get_frame(0)  # the first frame is intact
    with pytest.raises(TruncatedFileError, match=r"'.*bold\.nii\.gz' is truncated or corrupt: reading its image data failed"):
        vol.robust_range()


@pytest.mark.parametrize("verify_max", [32 * 2**20, 0])
def test_multi_member_gzip_is_not_mistaken_for_truncated(tmp_path, big_gz, monkeypatch, verify_max):
    """Concatenated gzip members (bgzip, some tools) are valid: the trailer alone is not trusted."""
    monkeypatch.setattr(_volume_io, "_VERIFY_MAX_BYTES", verify_max)
    raw = gzip.decompress(big_gz.read_bytes())
    path = tmp_path / "members.nii.gz"
    path.write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:50000]) + gzip.compress(raw[50000:]))
    vol = load_volume(path)
    np.testing.assert_array_equal(vol.get_frame(5), nib.load(big_gz).dataobj[..., 5])
    assert np.isfinite(vol.robust_range().high)


def test_truncated_nii_gz_inside_the_header(big_gz):
    import zlib

    raw = big_gz.read_bytes()
    # the longest prefix that decompresses to less than the 348-byte NIfTI header
    keep = max(n for n in range(20, 400, 5)
               if len(zlib.decompressobj(wbits=31).decompress(raw[:n])) < 348)
    big_gz.write_bytes(raw[:keep])
    with pytest.raises(TruncatedFileError, match=r"'.*bold\.nii\.gz': the compressed file is truncated .* before its header is complete"):
        load_volume(big_gz)


def test_truncated_uncompressed_nii(tmp_path):
    path = _save(tmp_path, "short.nii", np.ones((7, 8, 9), np.float32))
    _truncate(path, 0.5)
    with pytest.raises(TruncatedFileError,
                       match=r"'.*short\.nii' is truncated: its header announces 2368 bytes .* holds only 1184"):
        load_volume(path)


@pytest.mark.parametrize("size", [0, -4])
def test_zero_or_negative_dimension(tmp_path, size):
    path = _save(tmp_path, "dims.nii", np.ones((7, 8, 9), np.float32))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<h", raw, 42, size)  # dim[1]
    path.write_bytes(bytes(raw))
    with pytest.raises(DimensionError,
                       match=rf"'.*dims\.nii' has an invalid header: it announces dimensions \({size}, 8, 9\); expected positive sizes"):
        load_volume(path)


def test_five_dimensions(tmp_path):
    path = _save(tmp_path, "vec.nii", np.ones((7, 8, 9, 2, 3), np.float32))
    with pytest.raises(DimensionError,
                       match=r"'.*vec\.nii' is a 5D image of shape \(7, 8, 9, 2, 3\): .*not supported; expected a 3D volume or a 4D series"):
        load_volume(path)
    # trailing singleton dimensions are not counted
    assert load_volume(_save(tmp_path, "ok.nii", np.ones((7, 8, 9, 2, 1), np.float32))).shape == (7, 8, 9, 2)


def test_complex_data(tmp_path):
    path = _save(tmp_path, "cplx.nii", np.ones((7, 8, 9), np.complex64))
    with pytest.raises(UnsupportedDataError, match=r"'.*cplx\.nii' holds complex data \(complex64\): complex images are not supported"):
        load_volume(path)


def test_rgb_data(tmp_path):
    rgb = np.zeros((7, 8, 9), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    path = _save(tmp_path, "rgb.nii", rgb)
    with pytest.raises(UnsupportedDataError, match=r"'.*rgb\.nii' holds RGB colour data .*: RGB images are not supported; expected one scalar value per voxel"):
        load_volume(path)


def test_singular_affine(tmp_path):
    affine = _affine()
    affine[:, 1] = 0
    img = nib.Nifti1Image(np.ones((7, 8, 9), np.float32), None)
    img.header.set_sform(affine, code=1)
    nib.save(img, tmp_path / "flat.nii")
    with pytest.raises(AffineError, match=r"'.*flat\.nii' has a singular voxel-to-world affine \(determinant 0\); expected an invertible matrix"):
        load_volume(tmp_path / "flat.nii")


def test_non_finite_affine(tmp_path):
    affine = _affine()
    affine[0, 3] = np.nan
    img = nib.Nifti1Image(np.ones((7, 8, 9), np.float32), None)
    img.header.set_sform(affine, code=1)
    nib.save(img, tmp_path / "nan_affine.nii")
    with pytest.raises(AffineError, match=r"'.*nan_affine\.nii' has a non-finite voxel-to-world affine .*expected a finite, invertible 4x4 matrix"):
        load_volume(tmp_path / "nan_affine.nii")


def test_all_nan_data_raises_when_values_are_needed(tmp_path):
    path = _save(tmp_path, "nan.nii.gz", np.full((7, 8, 9), np.nan, np.float32))
    vol = load_volume(path)  # opening stays cheap: values are not read yet
    message = r"'.*nan\.nii\.gz' holds no finite value \(all voxels are NaN or infinite\); expected an image with at least one finite value"
    for call in (vol.robust_range, vol.get_data, vol.summary):
        with pytest.raises(DataValueError, match=message):
            call()
    series = _save(tmp_path, "nan4d.nii", np.full((7, 8, 9, 3), np.nan, np.float32))
    with pytest.raises(DataValueError, match=r"'.*nan4d\.nii' holds no finite value"):
        load_volume(series).robust_range()


def test_4d_where_3d_required_and_reverse(tmp_path, img_3d, img_4d):
    nib.save(img_4d, tmp_path / "bold.nii")
    nib.save(img_3d, tmp_path / "anat.nii")
    with pytest.raises(DimensionError,
                       match=r"the anatomy: '.*bold\.nii' is a 4D image of shape 7x8x9x5 \(5 frames\); expected a 3D image"):
        require_3d(tmp_path / "bold.nii", "the anatomy")
    with pytest.raises(DimensionError, match=r"get_data\(\): '.*bold\.nii' is a 4D image .*; expected a 3D image"):
        load_volume(tmp_path / "bold.nii").get_data()
    with pytest.raises(DimensionError,
                       match=r"the functional series: '.*anat\.nii' is a 3D image of shape 7x8x9; expected a 4D image"):
        require_4d(tmp_path / "anat.nii", "the functional series")
    assert require_3d(tmp_path / "anat.nii", "x").ndim == 3
    assert require_4d(tmp_path / "bold.nii", "x").n_frames == 5


def test_mask_shape_or_affine_mismatch(tmp_path, img_4d):
    nib.save(img_4d, tmp_path / "bold.nii")
    good = _save(tmp_path, "mask.nii", np.ones((7, 8, 9), np.uint8), img_4d.affine)
    assert check_mask(good, tmp_path / "bold.nii").shape == (7, 8, 9)
    small = _save(tmp_path, "small_mask.nii", np.ones((7, 8, 8), np.uint8), img_4d.affine)
    with pytest.raises(ShapeMismatchError,
                       match=r"The mask '.*small_mask\.nii' does not match the data '.*bold\.nii' \(shape differs\): mask shape \(7, 8, 8\), data shape \(7, 8, 9\).*Expected the same voxel grid"):
        check_mask(small, tmp_path / "bold.nii")
    shifted_affine = img_4d.affine.copy()
    shifted_affine[0, 3] += 2
    shifted = _save(tmp_path, "shifted_mask.nii", np.ones((7, 8, 9), np.uint8), shifted_affine)
    with pytest.raises(ShapeMismatchError, match=r"'.*shifted_mask\.nii' does not match the data 'func' \(affine differs\)"):
        check_mask(shifted, tmp_path / "bold.nii", data_name="func")
    with pytest.raises(DimensionError, match=r"mask '.*bold\.nii': .* expected a 3D image"):
        check_mask(tmp_path / "bold.nii", tmp_path / "bold.nii")


def test_errors_are_brainviz_and_builtin_errors():
    for cls, builtin in [(UnsupportedFormatError, ValueError), (TruncatedFileError, EOFError),
                         (NotAFileError, IsADirectoryError), (DimensionError, ValueError),
                         (UnsupportedDataError, TypeError), (AffineError, ValueError)]:
        assert issubclass(cls, BrainvizError) and issubclass(cls, builtin)


def test_nothing_written_on_failure(tmp_path, monkeypatch):
    """Failed loads leave the folder and the (isolated) home untouched."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.nii").write_bytes(b"")
    (bad / "noise.nii.gz").write_bytes(b"\x00" * 100)
    path = _save(bad, "short.nii", np.ones((7, 8, 9), np.float32))
    _truncate(path, 0.5)
    before = {p: p.stat().st_mtime_ns for p in bad.iterdir()}
    home = os.environ["HOME"]
    home_before = sorted(os.listdir(home))
    for name in ("missing.nii", "empty.nii", "noise.nii.gz", "short.nii"):
        with pytest.raises(BrainvizError):
            load_volume(bad / name)
    with pytest.raises(BrainvizError):
        load_volume(bad)
    assert {p: p.stat().st_mtime_ns for p in bad.iterdir()} == before
    assert sorted(os.listdir(home)) == home_before


def test_volumes_module_exports():
    assert set(volumes.__all__) >= {"Volume", "ValueRange", "load_volume", "check_mask",
                                    "require_3d", "require_4d"}
