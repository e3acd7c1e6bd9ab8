"""brainviz.data.volumes: formats, geometry rule, lazy frames, values, kind, summary."""
import nibabel as nib
import numpy as np
import pytest

from brainviz.data import volumes
from brainviz.data.volumes import ValueRange, Volume, load_volume
from brainviz.exceptions import ParameterError


def _affine():
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-7.0, -12.0, -18.0]
    return affine


def test_load_3d_file_reads_header_geometry(tmp_path, img_3d):
    path = tmp_path / "sub-01_T1w.nii.gz"
    nib.save(img_3d, path)
    vol = load_volume(path)
    assert isinstance(vol, Volume)
    assert vol.path == path and vol.name == "sub-01_T1w"
    assert vol.shape == (7, 8, 9) and vol.ndim == 3 and vol.n_frames == 1
    np.testing.assert_allclose(vol.affine, _affine())
    np.testing.assert_allclose(vol.voxel_size, [2, 3, 4])
    assert vol.orientation == ("R", "A", "S")
    assert vol.affine_source == "sform"
    assert not vol.is_oblique
    assert vol.dtype == np.float32
    assert vol.tr is None
    assert not vol.img.in_memory
    np.testing.assert_array_equal(vol.get_frame(0), img_3d.get_fdata().astype(np.float32))
    np.testing.assert_array_equal(vol.get_data(), vol.get_frame(0))


def test_load_in_memory_image_and_volume_passthrough(img_3d):
    vol = load_volume(img_3d, name="demo")
    assert vol.path is None and vol.name == "demo" and vol.img is img_3d
    assert load_volume(vol) is vol
    frame = vol.get_frame()
    frame[:] = 0  # must not write into the image's own array
    assert np.any(np.asanyarray(img_3d.dataobj) != 0)


def test_load_rejects_other_types():
    with pytest.raises(ParameterError, match="expects a file path, a nibabel image or a Volume; got int"):
        load_volume(3)


def test_4d_frames_tr_and_units(tmp_path, img_4d):
    path = tmp_path / "bold.nii"
    nib.save(img_4d, path)
    vol = load_volume(path)
    assert vol.shape == (7, 8, 9, 5) and vol.ndim == 4 and vol.n_frames == 5
    assert vol.tr == pytest.approx(2.0)
    assert vol.units == ("mm", "sec")
    data = img_4d.get_fdata()
    for i in (0, 3, -1):
        frame = vol.get_frame(i)
        assert frame.dtype == np.float32 and frame.shape == (7, 8, 9)
        np.testing.assert_array_equal(frame, data[..., i].astype(np.float32))
    with pytest.raises(ParameterError, match=r"Frame 5 is out of range for '.*bold.nii'.*5 frame"):
        vol.get_frame(5)


def test_tr_in_milliseconds_is_converted(tmp_path, img_4d):
    img_4d.header.set_xyzt_units("mm", "msec")
    img_4d.header["pixdim"][4] = 1500.0
    nib.save(img_4d, tmp_path / "ms.nii")
    assert load_volume(tmp_path / "ms.nii").tr == pytest.approx(1.5)


def test_trailing_singleton_frame_is_3d(tmp_path, rng):
    data = rng.standard_normal((7, 8, 9, 1)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, _affine()), tmp_path / "one.nii")
    vol = load_volume(tmp_path / "one.nii")
    assert vol.shape == (7, 8, 9) and vol.ndim == 3 and vol.img.shape == (7, 8, 9)
    assert not vol.img.in_memory
    np.testing.assert_array_equal(vol.get_data(), data[..., 0])
    np.testing.assert_allclose(vol.affine, _affine())
    assert vol.affine_source == "sform"


def test_sform_preferred_then_qform_then_default(tmp_path, rng):
    data = rng.standard_normal((7, 8, 9)).astype(np.float32)
    sform = _affine()
    qform = np.diag([-2.0, 3.0, 4.0, 1.0])
    qform[:3, 3] = [10.0, 0.0, 0.0]

    img = nib.Nifti1Image(data, None)
    img.header.set_sform(sform, code=1)
    img.header.set_qform(qform, code=1)
    nib.save(img, tmp_path / "both.nii")
    vol = load_volume(tmp_path / "both.nii")
    assert vol.affine_source == "sform"
    np.testing.assert_allclose(vol.affine, sform)

    img = nib.Nifti1Image(data, None)
    img.header.set_sform(sform, code=0)
    img.header.set_qform(qform, code=1)
    nib.save(img, tmp_path / "qform.nii")
    vol = load_volume(tmp_path / "qform.nii")
    assert vol.affine_source == "qform"
    np.testing.assert_allclose(vol.affine, qform, atol=1e-5)
    assert vol.orientation == ("L", "A", "S")

    img = nib.Nifti1Image(data, None)
    img.header.set_sform(sform, code=0)
    img.header.set_qform(qform, code=0)
    nib.save(img, tmp_path / "none.nii")
    vol = load_volume(tmp_path / "none.nii")
    assert vol.affine_source == "none"
    np.testing.assert_allclose(vol.affine, img.header.get_base_affine())


def test_mgz_round_trip_3d_and_4d(tmp_path, rng):
    data = rng.standard_normal((7, 8, 9)).astype(np.float32)
    affine = np.array([[-1.0, 0, 0, 3], [0, 0, 1, -4], [0, -1, 0, 5], [0, 0, 0, 1]])
    nib.save(nib.MGHImage(data, affine), tmp_path / "brain.mgz")
    vol = load_volume(tmp_path / "brain.mgz")
    assert vol.format == "MGH" and vol.name == "brain" and vol.affine_source == "header"
    np.testing.assert_allclose(vol.affine, affine, atol=1e-5)
    assert vol.orientation == ("L", "I", "A")
    np.testing.assert_array_equal(vol.get_data(), data)

    series = rng.standard_normal((7, 8, 9, 3)).astype(np.float32)
    img = nib.MGHImage(series, affine)
    img.header["tr"] = 2500.0  # MGH stores TR in ms
    nib.save(img, tmp_path / "series.mgh")
    vol = load_volume(tmp_path / "series.mgh")
    assert vol.n_frames == 3 and vol.tr == pytest.approx(2.5)
    np.testing.assert_array_equal(vol.get_frame(2), series[..., 2])
    nifti = vol.to_image()
    assert isinstance(nifti, nib.Nifti1Image) and not nifti.in_memory
    np.testing.assert_allclose(nifti.affine, vol.affine)


@pytest.mark.parametrize("suffix", [".hdr", ".img"])
def test_analyze_round_trip(tmp_path, rng, suffix):
    data = rng.integers(0, 500, (7, 8, 9)).astype(np.int16)
    img = nib.AnalyzeImage(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    nib.save(img, tmp_path / "old.img")
    vol = load_volume(tmp_path / f"old{suffix}")
    assert vol.format == "Analyze" and vol.affine_source == "none" and vol.name == "old"
    assert vol.dtype == np.int16
    np.testing.assert_array_equal(vol.get_data(), data.astype(np.float32))
    np.testing.assert_allclose(vol.voxel_size, [2, 2, 2])


def test_nifti2_and_nifti_pair(tmp_path, img_3d):
    nib.save(nib.Nifti2Image(img_3d.get_fdata(), img_3d.affine), tmp_path / "two.nii")
    vol = load_volume(tmp_path / "two.nii")
    assert vol.format == "NIfTI-2"
    np.testing.assert_allclose(vol.affine, _affine())
    nib.save(nib.Nifti1Pair(img_3d.get_fdata(), img_3d.affine), tmp_path / "pair.img")
    vol = load_volume(tmp_path / "pair.hdr")
    assert vol.format == "NIfTI-1" and vol.affine_source == "sform"
    np.testing.assert_allclose(vol.get_data(), img_3d.get_fdata())


def test_scaling_slope_and_intercept_applied(tmp_path, rng):
    raw = rng.integers(-100, 100, (7, 8, 9, 2)).astype(np.int16)
    img = nib.Nifti1Image(raw, _affine())
    img.header.set_data_dtype(np.int16)
    img.header.set_slope_inter(0.5, 10.0)
    nib.save(img, tmp_path / "scaled.nii")
    vol = load_volume(tmp_path / "scaled.nii")
    assert vol.dtype == np.int16
    expected = raw * 0.5 + 10.0
    np.testing.assert_allclose(vol.get_frame(1), expected[..., 1])
    rng_ = vol.robust_range((0, 100))
    assert rng_.min == pytest.approx(expected.min()) and rng_.max == pytest.approx(expected.max())
    assert "slope 0.5, intercept 10" in vol.summary()


def test_get_frame_reads_one_frame_only(tmp_path, img_4d, monkeypatch):
    nib.save(img_4d, tmp_path / "bold.nii.gz")
    vol = load_volume(tmp_path / "bold.nii.gz")

    def no_full_read(self, *args, **kwargs):
        raise AssertionError("the whole array was read")

    monkeypatch.setattr(nib.arrayproxy.ArrayProxy, "__array__", no_full_read)
    frame = vol.get_frame(4)
    np.testing.assert_array_equal(frame, img_4d.get_fdata()[..., 4].astype(np.float32))
    assert not vol.img.in_memory
    vol.robust_range()  # streams blocks of frames, never the whole array
    assert not vol.img.in_memory


def test_robust_range_exact_nan_aware_and_cached(tmp_path, rng, monkeypatch):
    data = rng.standard_normal((7, 8, 9, 6)).astype(np.float32) * 3 + 1
    data[0] = np.nan
    data[1, 1, 1, 1] = np.inf
    nib.save(nib.Nifti1Image(data, _affine()), tmp_path / "nan.nii")
    # tiny blocks: exercise the streaming (two reads) path
    monkeypatch.setattr(volumes, "_CHUNK_BYTES", 7 * 8 * 9 * 4)
    vol = load_volume(tmp_path / "nan.nii")
    result = vol.robust_range()
    finite = np.where(np.isfinite(data), data, np.nan)
    assert isinstance(result, ValueRange)
    assert result.min == pytest.approx(np.nanmin(finite), rel=1e-6)
    assert result.max == pytest.approx(np.nanmax(finite), rel=1e-6)
    np.testing.assert_allclose([result.low, result.high], np.nanpercentile(finite, [2, 98]), rtol=1e-6)
    np.testing.assert_allclose(vol.robust_range((10, 90))[2:], np.nanpercentile(finite, [10, 90]),
                               rtol=1e-6)

    calls = []
    monkeypatch.setattr(volumes, "compute_robust_range",
                        lambda *a: calls.append(a) or (0, 0, [0, 0], 1))
    assert vol.robust_range() is result and calls == []
    with pytest.raises(ParameterError, match=r"0 <= low <= high <= 100; got \(98, 2\)"):
        vol.robust_range((98, 2))


def test_kind_heuristics(rng):
    grid = np.zeros((7, 8, 9), dtype=np.float32)
    grid[2:5, 2:6, 2:7] = 1
    assert load_volume(nib.Nifti1Image(grid, _affine())).kind == "mask"

    labels = np.zeros((7, 8, 9), dtype=np.int16)
    labels[:3], labels[3:5], labels[5:] = 1, 2, 7
    assert load_volume(nib.Nifti1Image(labels, _affine())).kind == "label image"

    stat = rng.standard_normal((7, 8, 9)).astype(np.float32)
    assert load_volume(nib.Nifti1Image(stat, _affine())).kind == "statistical map"
    positive = np.abs(stat) + 5
    assert load_volume(nib.Nifti1Image(positive, _affine())).kind == "anatomy"
    assert load_volume(nib.Nifti1Image(positive, _affine()), name="zstat1").kind == "statistical map"
    noisy_ints = rng.integers(0, 255, (7, 8, 9)).astype(np.uint8)
    assert load_volume(nib.Nifti1Image(noisy_ints, _affine())).kind == "anatomy"
    series = rng.standard_normal((7, 8, 9, 3)).astype(np.float32)
    assert load_volume(nib.Nifti1Image(series, _affine())).kind == "4D series"


def test_values_at_world_positions(img_3d):
    vol = load_volume(img_3d)
    data = img_3d.get_fdata()
    ijk = np.array([[0, 0, 0], [6, 7, 8], [3, 4, 5]])
    xyz = nib.affines.apply_affine(vol.affine, ijk)
    np.testing.assert_allclose(vol.values_at(xyz), data[tuple(ijk.T)], rtol=1e-6)
    # half way between two voxels along x: the mean (trilinear)
    mid = nib.affines.apply_affine(vol.affine, [3.5, 4, 5])
    assert vol.values_at(mid)[0] == pytest.approx(data[3:5, 4, 5].mean(), rel=1e-5)
    assert vol.values_at(mid, order=0)[0] in data[3:5, 4, 5]
    outside = nib.affines.apply_affine(vol.affine, [[-1, 0, 0], [0, 0, 9]])
    assert np.isnan(vol.values_at(outside)).all()
    with pytest.raises(ParameterError, match=r"\(n, 3\) array"):
        vol.values_at(np.zeros((2, 2)))


def test_values_at_frame_of_4d(img_4d):
    vol = load_volume(img_4d)
    xyz = nib.affines.apply_affine(vol.affine, [[1, 2, 3]])
    assert vol.values_at(xyz, frame=3)[0] == pytest.approx(img_4d.get_fdata()[1, 2, 3, 3], rel=1e-6)


def test_summary_lists_everything(tmp_path, img_4d):
    nib.save(img_4d, tmp_path / "run-1_bold.nii.gz")
    text = load_volume(tmp_path / "run-1_bold.nii.gz").summary()
    for part in ("run-1_bold.nii.gz", "7 x 8 x 9 x 5 (4D, 5 frames)", "2 x 3 x 4 mm", "RAS",
                 "float32", "value range", "kind:          4D series", "affine source: sform",
                 "TR:            2 s", "NIfTI-1"):
        assert part in text, part


def test_as_ras_of_ras_is_identity(img_3d):
    vol = load_volume(img_3d)
    assert vol.as_ras() is vol
    assert isinstance(vol.to_image(), nib.Nifti1Image) and vol.to_image() is img_3d


def test_to_image_of_a_gzip_file_can_be_copied_and_pickled(tmp_path):
    """nilearn deep-copies and joblib hashes images: the .nii.gz streaming handle must not leak."""
    import copy
    import pickle

    import nibabel as nib
    import numpy as np

    from brainviz.data import load_volume

    data = np.arange(4 * 5 * 6 * 3, dtype=np.float32).reshape(4, 5, 6, 3)
    path = tmp_path / "series.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), path)
    vol = load_volume(path)
    vol.get_frame(1)
    img = vol.to_image()
    assert not img.in_memory
    np.testing.assert_array_equal(np.asarray(copy.deepcopy(img).dataobj), data)
    np.testing.assert_array_equal(np.asarray(pickle.loads(pickle.dumps(img)).dataobj), data)
    np.testing.assert_array_equal(img.affine, vol.affine)


def test_to_image_of_a_gzip_file_is_the_file_for_a_job(tmp_path, monkeypatch):
    """A .nii.gz opened in the window is handed to a job as ``to_image()``: that image lost
    its file (a new proxy without the streaming handle), so every job start hashed every
    voxel for its cache key (0.9 s for 60 volumes on a 2 mm grid, cached or not) and the
    cache browser listed "<array ...>". It is the file's image: keyed by the file, named
    by it, with the same data."""
    import nibabel as nib
    import numpy as np

    from brainviz.backend import ConnectivityJob, _inputs, list_cache_entries
    from brainviz.data import load_volume

    rng = np.random.default_rng(0)
    data = (100 + rng.standard_normal((6, 7, 5, 30))).astype(np.float32)
    labels = np.zeros((6, 7, 5), np.int16)
    labels[:3], labels[3:] = 1, 2
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    path = tmp_path / "run.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "atlas.nii")
    vol = load_volume(path)
    vol.get_frame(0)  # streaming handle open, as the window's views leave it
    img = vol.to_image()
    assert img.get_filename() == str(path)
    assert _inputs.image_fingerprint(img)[:2] == ("file", str(path))
    np.testing.assert_array_equal(np.asanyarray(img.dataobj), data)
    hashed = []
    real = _inputs.image_fingerprint

    def watched(image):
        key = real(image)
        hashed.append(key[0])
        return key

    monkeypatch.setattr(_inputs, "image_fingerprint", watched)
    res = ConnectivityJob(memory=tmp_path / "cache").run([img], atlas=str(tmp_path / "atlas.nii"))
    assert "array" not in hashed and res.inputs == [str(path)]
    assert any(str(path) in e.inputs for e in list_cache_entries(tmp_path / "cache"))


def test_nii_gz_frames_out_of_order_through_indexed_gzip(tmp_path, rng):
    """A compressed series is read through indexed_gzip (seeks without decompressing
    from the start again: benchmarks/bench_gz_frames.py) and frames read in any order
    are the file's frames."""
    import indexed_gzip

    data = rng.normal(size=(6, 7, 5, 30)).astype(np.float32)
    path = tmp_path / "series.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    vol = load_volume(path)
    for i in (29, 3, 17, 0, 28):
        np.testing.assert_array_equal(vol.get_frame(i), data[..., i])
    opener = vol.img.dataobj._opener  # kept open by brainviz (keep_file_open=True)
    assert isinstance(opener.fobj, indexed_gzip.IndexedGzipFile), type(opener.fobj)


def test_a_series_read_into_memory_once_then_its_time_courses_come_from_there(
        tmp_path, img_4d, monkeypatch):
    """series_ready says whether a time course needs the whole series read first;
    load_series reads it (the window, on a thread); then time courses and frames are
    answered from memory, and a series too big for the cache never needs the read."""
    path = tmp_path / "run.nii.gz"
    nib.save(img_4d, path)
    vol = load_volume(path)
    assert not vol.series_ready()
    vol.load_series()
    assert vol.series_ready()
    monkeypatch.setattr(Volume, "_read", lambda *a: pytest.fail("read the file again"))
    ijk = (3, 4, 5)
    xyz = img_4d.affine[:3, :3] @ np.asarray(ijk, float) + img_4d.affine[:3, 3]
    np.testing.assert_allclose(vol.timecourse_at(xyz), img_4d.get_fdata()[ijk], rtol=1e-6)
    np.testing.assert_array_equal(vol.get_frame(2), img_4d.get_fdata()[..., 2])
    monkeypatch.undo()
    big = load_volume(path)
    monkeypatch.setattr(Volume, "SERIES_CACHE_BYTES", 10)
    assert big.series_ready()  # read one voxel's series at a time instead
    assert load_volume(img_4d.slicer[..., 0]).series_ready()  # 3D
