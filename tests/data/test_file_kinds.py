"""Files nibabel opens that are not volumes, AFNI and PAR/REC, odd headers, and the corpus walk.

Each file kind nibabel can read either opens as a volume whose summary agrees
with nibabel, or gives one line saying what the file is and what to do.
"""
import shutil
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainviz.cli import main
from brainviz.data.volumes import load_volume
from brainviz.exceptions import (
    BrainvizError,
    DimensionError,
    ImageNotFoundError,
    UnsupportedFormatError,
)

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"


def _nib_file(name):
    path = NIB_DATA / name
    if not path.is_file():
        pytest.skip(f"nibabel's test file {name} is not installed")
    return path


def test_gifti_is_named_a_surface(tmp_path, capsys):
    from nibabel.gifti import GiftiDataArray, GiftiImage

    gii = GiftiImage(darrays=[
        GiftiDataArray(np.zeros((4, 3), np.float32), intent="NIFTI_INTENT_POINTSET"),
        GiftiDataArray(np.array([[0, 1, 2], [1, 2, 3]], np.int32), intent="NIFTI_INTENT_TRIANGLE"),
    ])
    path = tmp_path / "lh.pial.gii"
    nib.save(gii, path)
    with pytest.raises(UnsupportedFormatError,
                       match=r"Cannot open '.*lh\.pial\.gii' as a volume: it is a GIfTI surface; "
                             r"open it as a surface"):
        load_volume(path)
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a GIfTI surface; open it as a surface" in err


def test_cifti_is_named_cifti():
    path = _nib_file("row_major.dconn.nii")
    with pytest.raises(UnsupportedFormatError, match=r"it is a CIFTI-2 file \(data on grayordinates"):
        load_volume(path)


def test_cifti_content_under_a_plain_name_is_still_refused(tmp_path):
    path = tmp_path / "data.nii"
    shutil.copy(_nib_file("row_major.dconn.nii"), path)
    with pytest.raises(BrainvizError) as info:
        load_volume(path).summary()
    assert "\n" not in str(info.value)


def test_afni_volume_with_a_trailing_singleton_agrees_with_nibabel():
    path = _nib_file("scaled+tlrc.HEAD")
    ref = nib.load(str(path))
    vol = load_volume(path)
    assert vol.shape == ref.shape[:3] and vol.format == "AFNI (HEAD/BRIK)"
    np.testing.assert_allclose(vol.affine, ref.affine)
    data = ref.get_fdata()
    rng = vol.robust_range()
    assert rng.min == pytest.approx(np.nanmin(data), rel=1e-6)
    assert rng.max == pytest.approx(np.nanmax(data), rel=1e-6)
    np.testing.assert_allclose(vol.get_data(), data[..., 0].astype(np.float32), rtol=1e-6)
    assert "AFNI" in vol.summary()


def test_afni_4d_opens_from_its_brik_too():
    vol = load_volume(_nib_file("example4d+orig.BRIK.gz"))
    assert vol.shape == (33, 41, 25, 3) and vol.tr == pytest.approx(3.0)


def test_par_without_rec_names_the_missing_rec(tmp_path):
    path = tmp_path / "T1.PAR"
    shutil.copy(_nib_file("T1.PAR"), path)
    with pytest.raises(ImageNotFoundError,
                       match=r"its companion file 'T1\.REC' is missing\. Expected a Philips "
                             r"PAR/REC pair"):
        load_volume(path)


def test_par_rec_pair_agrees_with_nibabel():
    path = _nib_file("phantom_varscale.PAR")
    ref = nib.load(str(path))
    vol = load_volume(path)
    assert vol.shape == ref.shape and vol.format == "Philips PAR/REC"
    np.testing.assert_allclose(vol.get_frame(1), ref.get_fdata()[..., 1].astype(np.float32),
                               rtol=1e-6)


def test_nifti2_dimensions_overflowing_int64_one_line(tmp_path):
    path = tmp_path / "n2.nii"
    nib.save(nib.Nifti2Image(np.zeros((7, 8, 9), np.float32), np.eye(4)), path)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<8q", raw, 16, 3, 2**62, 2**62, 9, 1, 1, 1, 1)
    path.write_bytes(bytes(raw))
    with pytest.raises(DimensionError, match=r"announce \d+ voxels, more than any file can hold"):
        load_volume(path)


def test_undefined_xyzt_units_read_as_unknown(tmp_path):
    path = tmp_path / "units.nii"
    nib.save(nib.Nifti1Image(np.arange(7 * 8 * 9, dtype=np.float32).reshape(7, 8, 9),
                             np.eye(4)), path)
    raw = bytearray(path.read_bytes())
    raw[123] = 0xFF  # xyzt_units: codes the NIfTI standard does not define
    path.write_bytes(bytes(raw))
    with pytest.raises(KeyError):  # what nibabel itself does with it
        nib.load(str(path)).header.get_xyzt_units()
    vol = load_volume(path)
    assert vol.units == ("unknown", "unknown") and "value range:   min 0, max 503" in vol.summary()


def _corpus():
    if not NIB_DATA.is_dir():
        return []
    return sorted(p for p in NIB_DATA.iterdir() if p.is_file())


@pytest.mark.skipif(not _corpus(), reason="nibabel's test data is not installed")
def test_every_file_of_nibabels_test_data_gives_a_summary_that_agrees_or_one_clean_line():
    summaries = errors = 0
    for path in _corpus():
        try:
            vol = load_volume(path)
            text = vol.summary()
        except BrainvizError as exc:
            assert "\n" not in str(exc) and str(path.name) in str(exc), (path.name, str(exc))
            errors += 1
            continue
        # agrees with nibabel: shape, affine, data type and value range
        ref = nib.load(str(path))
        shape = list(ref.shape)
        while len(shape) > 3 and shape[-1] == 1:
            shape.pop()
        assert vol.shape == tuple(shape), path.name
        np.testing.assert_allclose(vol.affine, ref.affine, err_msg=path.name)
        assert vol.dtype == np.dtype(ref.get_data_dtype()), path.name
        data = np.asarray(ref.get_fdata(), dtype=np.float32)
        finite = data[np.isfinite(data)]
        rng = vol.robust_range()
        assert rng.min == finite.min() and rng.max == finite.max(), path.name
        assert f"shape:         {' x '.join(map(str, vol.shape))}" in text
        summaries += 1
    assert summaries >= 15 and errors >= 40
