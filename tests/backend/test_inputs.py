"""Labels and runs files as fMRI studies store them; images as jobs open them."""
import os

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


def test_a_file_read_before_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    """Each job's start read every input's header (and inflated a small multi-member
    .nii.gz whole to check its length); the next job on the same files (a 21st subject
    added) read all of them again. A file unchanged since (path, device, inode, size,
    modification time) is now taken from the last read, as a new image of its own; a
    file rewritten, or replaced, is read again."""
    import gzip
    import os

    import nibabel as nib

    from brainviz.backend import _inputs
    from brainviz.data import _volume_io

    reads = []
    read = _inputs._read_image
    monkeypatch.setattr(_inputs, "_read_image",
                        lambda path, what: reads.append(os.path.basename(path)) or read(path, what))
    inflated = []
    check = _volume_io.check_data_size
    monkeypatch.setattr(_volume_io, "check_data_size",
                        lambda img, label: inflated.append(label) or check(img, label))
    data = np.arange(2 * 3 * 4 * 5, dtype=np.int16).reshape(2, 3, 4, 5)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    plain = tmp_path / "plain.nii"
    nib.save(nib.Nifti1Image(data, affine), plain)
    multi = tmp_path / "multi.nii.gz"  # two gzip members: its trailer disagrees
    raw = plain.read_bytes()
    multi.write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    for path in (plain, multi):
        first, second = _inputs.as_image(path), _inputs.as_image(str(path))
        assert first is not second and first.dataobj is second.dataobj
        assert first.header.binaryblock == second.header.binaryblock
        np.testing.assert_array_equal(second.affine, affine)
        np.testing.assert_array_equal(np.asanyarray(second.dataobj), data)
        assert second.get_filename() == str(path)
        second.get_fdata()  # data nibabel keeps in that image, not in the one kept
        assert _inputs.as_image(path)._fdata_cache is None
    assert reads == ["plain.nii", "multi.nii.gz"]
    assert inflated == [str(plain), str(multi)]
    # rewritten (new size and time), replaced by another file (new inode): read again
    nib.save(nib.Nifti1Image(data[..., :3], affine), plain)
    assert _inputs.as_image(plain).shape == (2, 3, 4, 3)
    other = tmp_path / "other.nii"
    nib.save(nib.Nifti1Image(data[..., :2], affine), other)
    os.replace(other, plain)
    assert _inputs.as_image(plain).shape == (2, 3, 4, 2)
    assert reads == ["plain.nii", "multi.nii.gz", "plain.nii", "plain.nii"]
    plain.unlink()
    with pytest.raises(Exception, match="plain.nii does not exist"):
        _inputs.as_image(plain)


def test_a_gzipped_nifti1_loads_as_nib_load_loads_it(tmp_path, monkeypatch):
    """A .nii.gz: the image nib.load gives (header, affine, data, file name, pickling),
    its header read through Python's gzip (nib.load reads it twice through indexed_gzip,
    which inflates its first 16 MiB each time: 11 ms a file); a NIfTI-2 .nii.gz, or a file
    named so that is not gzip, still goes through nib.load."""
    import gzip
    import pickle

    import nibabel as nib
    import nibabel.openers

    from brainviz.backend import _inputs

    data = np.arange(4 * 5 * 6 * 7, dtype=np.int16).reshape(4, 5, 6, 7)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-10.0, 20.0, -30.0]
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(np.diag([3.0, 3.0, 3.0, 1.0]), code=1)  # differs from the sform
    img.header.set_sform(affine, code=4)
    path = tmp_path / "run.nii.gz"
    nib.save(img, path)
    opened = []
    real = nibabel.openers.Opener.__init__

    def spy(self, fileish, *a, **k):
        opened.append(fileish)
        real(self, fileish, *a, **k)

    monkeypatch.setattr(nibabel.openers.Opener, "__init__", spy)
    ours = _inputs.as_image(path)
    assert opened == []  # the header came through Python's gzip
    monkeypatch.undo()
    theirs = nib.load(path)
    assert type(ours) is nib.Nifti1Image
    assert ours.header.binaryblock == theirs.header.binaryblock
    np.testing.assert_array_equal(ours.affine, theirs.affine)
    assert ours.get_filename() == theirs.get_filename() == str(path)
    np.testing.assert_array_equal(np.asanyarray(ours.dataobj), data)
    again = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(np.asanyarray(again.dataobj[..., 3]), data[..., 3])
    two = tmp_path / "two.nii.gz"
    nib.save(nib.Nifti2Image(data, affine), two)
    not_gzip = tmp_path / "plain.nii.gz"
    not_gzip.write_bytes(gzip.decompress(path.read_bytes()))
    assert _inputs._gzipped_nifti1_image(two) is None
    assert _inputs._gzipped_nifti1_image(not_gzip) is None
    assert type(_inputs.as_image(two)) is nib.Nifti2Image


def test_a_truncated_image_is_named_before_any_work_or_when_its_data_are_read(
        resting_data, decoding_data, tmp_path, monkeypatch):
    """A subject's file cut short: each job says which file, in brainviz's one line, not
    nibabel's or zlib's message without its name. Before any work where the file's size
    or gzip trailer tells (nothing cached); when its data are read for a .nii.gz too big
    to read through at the start (here: every .nii.gz, the limit set to 0)."""
    import nibabel as nib

    from brainviz.backend import ConnectivityJob, DecodingJob, RegionJob
    from brainviz.data import _volume_io
    from brainviz.exceptions import TruncatedFileError

    r, d = resting_data, decoding_data
    paths = []
    for s, img in enumerate(r["imgs"][:2]):
        paths.append(tmp_path / f"sub-{s}.nii.gz")
        nib.save(img, paths[-1])
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(paths[0].read_bytes()[: paths[0].stat().st_size // 2])
    cut_nii = tmp_path / "cut.nii"
    nib.save(r["imgs"][0], cut_nii)
    os.truncate(cut_nii, cut_nii.stat().st_size - 1000)
    dec = tmp_path / "dec.nii.gz"
    nib.save(d["img"], dec)
    dec_cut = tmp_path / "dec_cut.nii.gz"
    dec_cut.write_bytes(dec.read_bytes()[: dec.stat().st_size // 2])
    atlas = nib.Nifti1Image((np.indices(r["imgs"][0].shape[:3])[0] // 3 + 1).astype(np.int16),
                            r["affine"])
    regions = dict(n_components=2, smoothing_fwhm=None)

    def runs(cache):
        return [
            (cut, lambda bad: ConnectivityJob(memory=cache).run([bad, paths[1]], atlas=atlas)),
            (cut, lambda bad: ConnectivityJob(memory=cache).run(
                [bad, paths[1]], coords=[(0, 0, 0), (8, 8, 8)])),
            (cut, lambda bad: RegionJob(memory=cache, **regions).run([bad, paths[1]])),
            (dec_cut, lambda bad: DecodingJob(memory=cache, estimator="ridge").run(
                bad, d["labels"], runs=d["runs"], mask=d["mask"])),
        ]

    cache = tmp_path / "cache"
    for bad, run in runs(cache) + [(cut_nii, runs(cache)[0][1])]:
        with pytest.raises(TruncatedFileError, match=f"'{bad}' is truncated"):
            run(bad)
    assert not cache.exists() or not any(p.name == "output.pkl" for p in cache.rglob("*"))
    monkeypatch.setattr(_volume_io, "_VERIFY_MAX_BYTES", 0)
    for bad, run in runs(False):
        with pytest.raises(TruncatedFileError, match=f"'({bad}|one of .*{bad}.*)' is "
                                                     "truncated or corrupt"):
            run(bad)
