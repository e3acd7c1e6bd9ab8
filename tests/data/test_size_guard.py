"""The size guard: whole reads refused from the header, summaries in bounded memory."""
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from brainviz import _config
from brainviz.data import volumes
from brainviz.data._volume_stats import guess_kind
from brainviz.data.volumes import load_volume
from brainviz.exceptions import MemoryLimitError, ParameterError


def _sparse_nifti(path, shape, dtype=np.uint8):
    """A consistent NIfTI file of ``shape`` whose data are holes in the file (no disk used)."""
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape(shape)
    header.set_sform(np.diag([1.0, 1.0, 1.0, 1.0]), code=2)
    img = nib.Nifti1Image(np.zeros((1, 1, 1), dtype), np.eye(4), header)
    img.header.set_data_shape(shape)
    offset = 352
    with open(path, "wb") as f:
        f.write(img.header.binaryblock)
        f.write(b"\0" * (offset - len(img.header.binaryblock)))
        try:
            f.truncate(offset + int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize)
        except OSError as exc:
            pytest.skip(f"this file system cannot hold a sparse file: {exc}")
    return path


def test_huge_consistent_image_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "2G")
    path = _sparse_nifti(tmp_path / "huge.nii", (32767, 32767, 10))
    vol = load_volume(path)  # the header alone: cheap
    assert vol.shape == (32767, 32767, 10)
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError,
                           match=r"'.*huge\.nii' is too big: reading one 32767x32767x10 frame as "
                                 r"float32 needs 50\.0 GB of memory, more than the 2\.0 GB "
                                 r"brainviz allows \(BRAINVIZ_MAX_MEMORY.*crop or downsample"):
            vol.get_frame(0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # refused from the header: nothing was allocated


def test_memory_limit_setting(monkeypatch):
    assert _config.get_max_memory("512M") == 512 * 2**20
    assert _config.get_max_memory(1000) == 1000
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "25%")
    assert _config.get_max_memory() == int(_config.available_memory() * 0.25)
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "lots")
    with pytest.raises(ParameterError, match=r"BRAINVIZ_MAX_MEMORY\) must be a number of bytes.*"
                                             r"got 'lots'"):
        _config.get_max_memory()


@pytest.mark.parametrize("chunk", [64 * 1024, 1024 * 1024])  # rows of a plane; slabs of planes
def test_summary_streams_blocks_and_agrees_with_the_whole_array(tmp_path, monkeypatch, chunk):
    rng = np.random.default_rng(3)
    shape = (256, 256, 48)
    labels = np.zeros(shape, np.uint8)
    labels[20:120, 30:200, 5:30] = 3
    labels[120:230, 30:200, 5:30] = 7
    labels[40:90, 10:250, 31:47] = 12
    noise = rng.random(shape) < 0.001
    labels[noise] = rng.integers(1, 20, int(noise.sum()))
    path = tmp_path / "labels.nii"
    nib.save(nib.Nifti1Image(labels, np.eye(4)), path)
    monkeypatch.setattr(volumes, "_CHUNK_BYTES", chunk)
    whole = labels.astype(np.float32)
    expected_kind = guess_kind(whole, "labels.nii")
    expected_range = np.percentile(whole, [2, 98])
    del whole
    vol = load_volume(path)
    tracemalloc.start()
    try:
        kind = vol.kind
        rng_ = vol.robust_range()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kind == expected_kind == "label image"
    assert (rng_.min, rng_.max) == (0.0, float(labels.max()))
    np.testing.assert_allclose([rng_.low, rng_.high], expected_range)
    # the whole volume as float32 is 12 MB; a few blocks stay well under it
    assert peak < 10 * max(chunk, 2**20) and peak < 12 * 2**20


def test_render_refuses_a_too_big_map_in_one_line_and_writes_nothing(tmp_path, monkeypatch,
                                                                     capsys):
    from brainviz.cli import main

    path = tmp_path / "zstat.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((64, 64, 64), np.float32), np.eye(4)), path)
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "100K")
    out = tmp_path / "fig.png"
    status = main(["render", "--stat", str(path), "--no-anatomy", "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "is too big" in err and "zstat.nii.gz" in err
    assert list(tmp_path.iterdir()) == [path]


def test_small_and_streamed_robust_ranges_are_the_same_exact_values(monkeypatch):
    from brainviz.data import _volume_stats

    rng = np.random.default_rng(1)
    for trial in range(40):
        data = (rng.standard_normal(int(rng.integers(1, 4000))) * 10.0 ** rng.integers(-3, 4))
        data = data.astype(np.float32)
        data[rng.random(data.size) < 0.1] = np.nan
        if trial % 5 == 0:
            data = np.round(data)

        def chunks():
            return iter(np.array_split(data, 3))

        sorted_path = _volume_stats.compute_robust_range(chunks, (2, 98, 50))
        monkeypatch.setattr(_volume_stats, "SMALL_VALUES", 0)  # force the histograms
        streamed = _volume_stats.compute_robust_range(chunks, (2, 98, 50))
        monkeypatch.undo()
        assert sorted_path[0] == streamed[0] and sorted_path[1] == streamed[1]
        assert sorted_path[2] == streamed[2] and sorted_path[3] == streamed[3]


def test_a_job_refuses_an_image_too_big_for_memory_before_reading_it(tmp_path, monkeypatch):
    from brainviz.backend import DecodingJob
    from brainviz.backend import decoding as dec

    calls = []
    monkeypatch.setattr(dec, "_mask_image", lambda *a, **k: calls.append(1))
    path = tmp_path / "bold.nii"
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 16, 20), np.int16), np.eye(4)), path)
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "500K")  # the image is 320 KB as float32
    with pytest.raises(MemoryLimitError, match=r"bold\.nii' is too big: running DecodingJob on "
                                               r"it needs 640\.0 KB of memory"):
        DecodingJob(memory=False, cv="kfold").run(str(path), ["a", "b"] * 10)
    assert calls == []


def test_connectivity_from_images_refuses_an_image_too_big_before_extracting(tmp_path,
                                                                            monkeypatch):
    from brainviz.backend import ConnectivityJob
    from brainviz.backend import connectivity as con

    calls = []
    monkeypatch.setattr(con, "_subject_task", lambda *a, **k: calls.append(1))
    path = tmp_path / "rest.nii"
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 16, 20), np.int16), np.eye(4)), path)
    monkeypatch.setenv("BRAINVIZ_MAX_MEMORY", "500K")  # the image is 320 KB as float32
    with pytest.raises(MemoryLimitError, match=r"rest\.nii' is too big: running ConnectivityJob "
                                               r"on it needs 640\.0 KB of memory"):
        ConnectivityJob(memory=False).run(str(path), coords=[[0, 0, 0], [10, 10, 10]])
    assert calls == []
