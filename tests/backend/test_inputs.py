"""Labels and runs files as fMRI studies store them."""
import numpy as np
import pytest

from brainviz.backend import read_labels, read_runs
from brainviz.exceptions import ParameterError


def test_haxby_style_lines(tmp_path):
    path = tmp_path / "attributes_literal.txt"
    path.write_text("rest 0\nface 0\nhouse 1\n")
    labels, runs = read_labels(path)
    assert labels.tolist() == ["rest", "face", "house"] and runs.tolist() == [0, 0, 1]


def test_tsv_and_csv_with_headers(tmp_path):
    tsv = tmp_path / "events.tsv"
    tsv.write_text("onset\ttrial_type\tchunks\n0\tface\t1\n2.5\thouse\t2\n")
    labels, runs = read_labels(tsv)
    assert labels.tolist() == ["face", "house"] and runs.tolist() == [1, 2]
    csv = tmp_path / "labels.csv"
    csv.write_text("labels,session\ncat,a\nshoe,b\ncat,a\n")
    labels, runs = read_labels(csv)
    assert labels.tolist() == ["cat", "shoe", "cat"] and runs.tolist() == [0, 1, 0]
    labels, runs = read_labels(tsv, label_column="onset", run_column="trial_type")
    assert labels.tolist() == ["0", "2.5"] and runs.tolist() == [0, 1]
    with pytest.raises(ParameterError, match=r"label column 'kind' is not in .*columns are"):
        read_labels(tsv, label_column="kind")


def test_labels_without_runs_and_runs_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("face\nhouse\n")
    labels, runs = read_labels(path)
    assert labels.tolist() == ["face", "house"] and runs is None
    runs_file = tmp_path / "runs.txt"
    runs_file.write_text("run\n0\n0\n1\n")
    np.testing.assert_array_equal(read_runs(runs_file), [0, 0, 1])
    with pytest.raises(FileNotFoundError, match="labels file .*nope.txt does not exist"):
        read_labels(tmp_path / "nope.txt")


def test_volume_and_path_inputs_decode_alike(decoding_data, tmp_path):
    import nibabel as nib

    from brainviz.backend import DecodingJob
    from brainviz.data import load_volume

    path = tmp_path / "bold.nii.gz"
    nib.save(decoding_data["img"], path)
    job = DecodingJob(classes=["face", "house"], memory=False)
    a = job.run(load_volume(path), decoding_data["labels"], runs=decoding_data["runs"])
    b = job.run(str(path), decoding_data["labels"], runs=decoding_data["runs"])
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert a.mean_score_ >= 0.9


def test_a_nifti1_file_loads_as_nib_load_loads_it(tmp_path):
    """A job opens a NIfTI-1 .nii directly as a Nifti1Image (its header read once): the
    same image nib.load gives, whatever the header's byte order; any other file (NIfTI-2,
    compressed, Analyze named .nii) goes through nib.load's search of the formats."""
    import nibabel as nib

    from brainviz.backend import _inputs

    data = np.arange(2 * 3 * 4 * 5, dtype=np.int16).reshape(2, 3, 4, 5)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    little = tmp_path / "little.nii"
    nib.save(nib.Nifti1Image(data, affine), little)
    big = tmp_path / "big.nii"
    header = nib.Nifti1Header(endianness=">")
    header.set_data_dtype(">i2")
    nib.save(nib.Nifti1Image(data.astype(">i2"), affine, header), big)
    assert open(big, "rb").read(4) == b"\x00\x00\x01\x5c"
    for path in (little, big):
        assert _inputs._is_nifti1_file(path)
        ours, theirs = _inputs.as_image(path), nib.load(path)
        assert type(ours) is type(theirs) is nib.Nifti1Image
        assert ours.header.binaryblock == theirs.header.binaryblock
        np.testing.assert_array_equal(ours.affine, theirs.affine)
        np.testing.assert_array_equal(np.asanyarray(ours.dataobj), data)
        assert ours.get_filename() == str(path)
    nifti2 = tmp_path / "two.nii"
    nib.save(nib.Nifti2Image(data, affine), nifti2)
    gz = tmp_path / "one.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), gz)
    nib.save(nib.AnalyzeImage(data, affine), tmp_path / "an.img")
    analyze = tmp_path / "an.nii"
    analyze.write_bytes((tmp_path / "an.hdr").read_bytes())
    short = tmp_path / "short.nii"
    short.write_bytes(little.read_bytes()[:200])
    for path in (nifti2, gz, analyze, short):
        assert not _inputs._is_nifti1_file(path)
    assert type(_inputs.as_image(nifti2)) is nib.Nifti2Image
    assert type(_inputs.as_image(gz)) is nib.Nifti1Image
