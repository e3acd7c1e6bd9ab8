"""The cache: call counting, browser, size cap, read-only / full disk, killed writes."""
import json
import multiprocessing
import os
import signal
import time
import warnings

import numpy as np
import pytest
from joblib import Memory

from brainviz.backend import DecodingJob, cache
from brainviz.backend import decoding as dec
from brainviz.exceptions import CacheWarning


@pytest.fixture
def counters(monkeypatch):
    """Count the real work done inside the cached steps (joblib accumulator trick)."""
    counts = {"mask": 0, "fit": 0}
    real_mask, real_fit = dec._mask_image, dec._fit_fold

    def mask_image(*a, **k):
        counts["mask"] += 1
        return real_mask(*a, **k)

    def fit_fold(*a, **k):
        counts["fit"] += 1
        return real_fit(*a, **k)

    monkeypatch.setattr(dec, "_mask_image", mask_image)
    monkeypatch.setattr(dec, "_fit_fold", fit_fold)
    return counts


def _run(data, memory, **params):
    job = DecodingJob(memory=memory, n_jobs=1, backend="sequential", **params)
    return job.run(data["img"], data["labels"], runs=data["runs"], mask=data["mask"])


def test_check_memory_variants(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINVIZ_CACHE_DIR", str(tmp_path / "env"))
    assert cache.check_memory(None).location == str(tmp_path / "env")
    assert cache.check_memory(tmp_path / "arg").location == str(tmp_path / "arg")
    assert cache.check_memory(False).location is None
    mem = Memory(str(tmp_path / "m"))
    assert cache.check_memory(mem) is mem
    with pytest.raises(ValueError, match="'memory' parameter must be None, a folder path"):
        cache.check_memory(3)


def test_identical_rerun_computes_nothing_and_new_estimator_reuses_masking(
        decoding_data, tmp_path, counters):
    first = _run(decoding_data, tmp_path, classes=["face", "house"])
    assert counters == {"mask": 1, "fit": 4}
    again = _run(decoding_data, tmp_path, classes=["face", "house"])
    assert counters == {"mask": 1, "fit": 4}  # nothing recomputed
    assert again == first
    _run(decoding_data, tmp_path, classes=["face", "house"], estimator="ridge")
    assert counters == {"mask": 1, "fit": 8}  # masking reused, only fitting ran
    _run(decoding_data, tmp_path, classes=["face", "house"], C=0.01, standardize=False)
    assert counters == {"mask": 1, "fit": 12}  # new cleaning, masking still reused


def test_cache_browser_lists_removes_clears(decoding_data, tmp_path):
    _run(decoding_data, tmp_path, classes=["face", "house"])
    entries = cache.list_cache_entries(tmp_path)
    kinds = sorted(e.kind for e in entries)
    assert kinds == ["decoding: cleaning", "decoding: fit", "decoding: masking"]
    fit = next(e for e in entries if e.kind == "decoding: fit")
    assert fit.params["estimator"] == "svc" and "<array 7x8x9x48>" in fit.inputs
    assert fit.size > 0 and fit.duration is not None and fit.last_use <= time.time()
    total = cache.cache_size(tmp_path)
    assert total >= sum(e.size for e in entries)
    cache.remove_cache_entry(fit.id, tmp_path)
    assert len(cache.list_cache_entries(tmp_path)) == 2
    with pytest.raises(ValueError, match="No cache entry"):
        cache.remove_cache_entry(fit.id, tmp_path)
    assert cache.clear_cache(tmp_path) > 0
    assert cache.list_cache_entries(tmp_path) == [] and cache.cache_size(tmp_path) == 0


def test_size_cap_evicts_least_recently_used(decoding_data, tmp_path, monkeypatch):
    _run(decoding_data, tmp_path, classes=["face", "house"])
    entries = {e.kind: e for e in cache.list_cache_entries(tmp_path)}
    # make the masking entry the least recently used
    meta = entries["decoding: masking"].path / "metadata.json"
    os.utime(meta, (1.0, 1.0))  # the metadata's time is the entry's last use
    total = sum(e.size for e in cache.list_cache_entries(tmp_path))
    evicted = cache.enforce_cache_limit(tmp_path, max_bytes=total - 1)
    assert [e.kind for e in evicted] == ["decoding: masking"]
    # through the environment, applied after each cached call
    monkeypatch.setenv("BRAINVIZ_CACHE_MAX_BYTES", "1")
    _run(decoding_data, tmp_path, classes=["face", "house"], C=0.5)
    assert [e.kind for e in cache.list_cache_entries(tmp_path)] == ["decoding: fit"]


def _doubled(x):
    return 2 * x


def test_a_cache_hit_sets_the_last_use_without_rewriting_the_metadata(tmp_path):
    memory = cache.check_memory(tmp_path)
    cache.cached_call(memory, _doubled, np.arange(3), kind="test: doubled", inputs="three")
    (entry,) = cache.list_cache_entries(tmp_path)
    # two files per entry: the output and the metadata (signature and browser fields in it)
    assert sorted(p.name for p in entry.path.iterdir()) == ["metadata.json", "output.pkl"]
    meta = entry.path / "metadata.json"
    assert json.loads(meta.read_text())["brainviz"]["kind"] == "test: doubled"
    os.utime(meta, (1000.0, 1000.0))
    text, inode = meta.read_bytes(), os.stat(meta).st_ino
    before = time.time() - 1
    out = cache.cached_call(memory, _doubled, np.arange(3), kind="test: doubled",
                            inputs="three")
    assert out.tolist() == [0, 2, 4]
    (entry,) = cache.list_cache_entries(tmp_path)
    assert entry.last_use >= before  # the hit counts as a use (least-recently-used order)
    # the same file, not rewritten (a rewrite renames a new file in: a new inode)
    assert meta.read_bytes() == text and os.stat(meta).st_ino == inode
    assert entry.kind == "test: doubled" and entry.inputs == "three"


def test_outputs_are_python_pickles_and_joblib_pickles_still_load(tmp_path):
    """An entry's output is Python's pickle (protocol 5) after brainviz's magic, its
    signature taken from the bytes as written; outputs in joblib's format (entries of
    older versions, a compressed joblib.Memory given by the caller) still load."""
    import hashlib
    import pickle

    from joblib import numpy_pickle

    memory = cache.check_memory(tmp_path / "c")
    x = np.arange(12.0).reshape(3, 4)[:, ::2]  # not contiguous
    out = cache.cached_call(memory, _doubled, x, kind="test: doubled")
    (entry,) = cache.list_cache_entries(tmp_path / "c")
    data = (entry.path / "output.pkl").read_bytes()
    assert data.startswith(cache._MAGIC)
    np.testing.assert_array_equal(pickle.loads(data[len(cache._MAGIC):]), out)
    meta = json.loads((entry.path / "metadata.json").read_text())
    root = cache._root_of(memory)
    assert meta["brainviz"]["signature"] == cache._signature(
        cache._entry_id(root, entry.path), hashlib.sha256(data).hexdigest())
    # joblib's format, signed as brainviz signs: a hit, not a warning or a recompute
    with open(entry.path / "output.pkl", "wb") as f:
        numpy_pickle.dump(2 * x, f)
    digest = hashlib.sha256((entry.path / "output.pkl").read_bytes()).hexdigest()
    meta["brainviz"]["signature"] = cache._signature(cache._entry_id(root, entry.path),
                                                     digest)
    (entry.path / "metadata.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.cached_call(memory, _doubled, x, kind="test: doubled")
    np.testing.assert_array_equal(again, 2 * x)
    assert (entry.path / "output.pkl").read_bytes()[:1] == b"\x80"  # not rewritten
    # a compressed Memory keeps joblib's (compressed) format, and its entries load
    zipped = cache.check_memory(Memory(str(tmp_path / "z"), compress=3, verbose=0))
    first = cache.cached_call(zipped, _doubled, x, kind="test: doubled")
    (entry,) = cache.list_cache_entries(tmp_path / "z")
    assert not (entry.path / "output.pkl").read_bytes().startswith(cache._MAGIC)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = cache.cached_call(zipped, _doubled, x, kind="test: doubled")
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, 2 * x)


def test_entries_of_the_older_three_file_format_still_load_and_list(tmp_path):
    """Entries written before the signature and the browser fields moved into the
    metadata (brainviz.sig and brainviz.json beside it) are still hits, listed with their
    fields; a hit sets their brainviz.json's time, or writes it whole when it is gone."""
    memory = cache.check_memory(tmp_path)
    cache.cached_call(memory, _doubled, np.arange(3), kind="test: doubled", inputs="three")
    (entry,) = cache.list_cache_entries(tmp_path)
    meta_path = entry.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    ours = meta.pop("brainviz")
    meta_path.write_text(json.dumps(meta))  # as an older version wrote it
    (entry.path / "brainviz.sig").write_text(ours["signature"])
    side = entry.path / "brainviz.json"
    side.write_text(json.dumps({"kind": "older: doubled", "params": {}, "inputs": "3",
                                "last_use": 5.0}))
    os.utime(side, (1000.0, 1000.0))
    (entry,) = cache.list_cache_entries(tmp_path)
    assert entry.signed and entry.kind == "older: doubled" and entry.last_use == 1000.0
    output = entry.path / "output.pkl"
    inode = os.stat(output).st_ino  # a recomputed entry renames a new output in
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not signed" warning: a plain hit
        out = cache.cached_call(memory, _doubled, np.arange(3), kind="older: doubled")
    assert out.tolist() == [0, 2, 4] and os.stat(output).st_ino == inode
    before = time.time() - 1
    (entry,) = cache.list_cache_entries(tmp_path)
    assert entry.last_use >= before and meta_path.read_text() == json.dumps(meta)
    side.unlink()  # a hit on an older entry without its brainviz.json writes it whole
    cache.cached_call(memory, _doubled, np.arange(3), kind="older: doubled")
    (entry,) = cache.list_cache_entries(tmp_path)
    assert os.stat(output).st_ino == inode
    assert entry.kind == "older: doubled" and entry.last_use >= before


def test_read_only_cache_folder_runs_uncached_with_warning(decoding_data, tmp_path, counters):
    if os.geteuid() == 0:  # root ignores permissions: /proc refuses new folders
        folder = "/proc/brainviz-cache"
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    with pytest.warns(CacheWarning, match="cannot be written.*running uncached"):
        res = _run(decoding_data, folder, classes=["face", "house"])
    assert res.mean_score_ >= 0.9 and counters["mask"] == 1


def test_full_disk_runs_uncached_with_warning(decoding_data, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_dump_output", no_space)
    with pytest.warns(CacheWarning, match="Could not store a cache entry"):
        res = _run(decoding_data, tmp_path, classes=["face", "house"])
    assert res.mean_score_ >= 0.9
    assert cache.list_cache_entries(tmp_path) == []


def _slow_writer_child(data, folder, flag):
    """Run a job whose cache writes hang half-way (so the parent can kill it)."""
    real_dump = cache._dump_output

    def slow_dump(value, f, *args, **kwargs):
        real_dump(value, f, *args, **kwargs)
        f.flush()
        f.truncate(max(f.tell() // 2, 1))  # leave a half-written pickle
        open(flag, "w").close()
        time.sleep(60)

    cache._dump_output = slow_dump
    _run(data, folder, classes=["face", "house"])


def test_killed_mid_write_then_rerun_recomputes_cleanly(decoding_data, tmp_path, counters):
    flag = tmp_path / "writing"
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_slow_writer_child, args=(decoding_data, tmp_path / "c", str(flag)))
    proc.start()
    deadline = time.time() + 60
    while not flag.exists() and time.time() < deadline and proc.is_alive():
        time.sleep(0.05)
    assert flag.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert cache.list_cache_entries(tmp_path / "c") == []  # nothing half-written is listed
    res = _run(decoding_data, tmp_path / "c", classes=["face", "house"])
    ref = _run(decoding_data, False, classes=["face", "house"])
    assert res == ref and counters["mask"] == 2  # recomputed (once here, once uncached)


def test_entry_without_metadata_or_with_corrupt_pickle_is_recomputed(
        decoding_data, tmp_path, counters):
    ref = _run(decoding_data, tmp_path, classes=["face", "house"])
    entries = {e.kind: e for e in cache.list_cache_entries(tmp_path)}
    (entries["decoding: fit"].path / "metadata.json").unlink()  # killed between writes
    (entries["decoding: cleaning"].path / "output.pkl").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib reports the unreadable pickle
        again = _run(decoding_data, tmp_path, classes=["face", "house"])
    assert again == ref
    assert counters == {"mask": 1, "fit": 8}  # fit recomputed, masking entry intact
    np.testing.assert_array_equal(again.scores_, ref.scores_)


def test_a_process_searches_a_cache_for_orphans_once_a_minute(tmp_path, monkeypatch):
    """The search opens every entry's folder; a process running many jobs does it at the
    first and then at most every UPKEEP_EVERY seconds, and still removes what a killed
    write left."""
    searched = []
    real = cache._clean_orphans_in
    monkeypatch.setattr(cache, "_clean_orphans_in",
                        lambda root: searched.append(root) or real(root))
    memory = cache.check_memory(tmp_path / "c")
    root = cache._root_of(memory)
    assert len(searched) == 1
    orphan = root / "brainviz" / "f" / ("0" * 32)
    orphan.mkdir(parents=True)
    left = orphan / ".output.pkl.bvtmp_otherhost_999999_0123abcd"  # a gone process's write
    left.write_bytes(b"half")
    os.utime(left, (0, 0))  # stale by its age, whatever the host
    cache.check_memory(tmp_path / "c")
    assert len(searched) == 1 and left.exists()  # not searched again so soon
    assert cache.check_memory(tmp_path / "other").location is not None
    assert len(searched) == 2  # another cache folder: its own first search
    cache._LAST_UPKEEP[os.fspath(root)] -= cache.UPKEEP_EVERY  # a minute later
    cache.check_memory(tmp_path / "c")
    assert len(searched) == 3 and not left.exists()
