"""The cache under faults and tampering: full or read-only disks, killed writes,
planted pickles, symbolic links, bad entry names."""
import errno
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings

import pytest

from brainviz.backend import DecodingJob, cache
from brainviz.backend import decoding as dec
from brainviz.cli import main
from brainviz.exceptions import CacheError, CacheWarning


def _run(data, memory, **params):
    job = DecodingJob(memory=memory, n_jobs=1, backend="sequential", classes=["face", "house"],
                      **params)
    return job.run(data["img"], data["labels"], runs=data["runs"], mask=data["mask"])


def _cache_warnings(record):
    return [w for w in record if issubclass(w.category, CacheWarning)]


@pytest.fixture
def fits(monkeypatch):
    calls = []
    real = dec._fit_fold

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(dec, "_fit_fold", counted)
    return calls


# --- full, read-only and failing disks ------------------------------------------------------
def test_cache_disk_filling_during_a_job_runs_it_uncached_with_one_warning(
        decoding_data, tmp_path, tmpfs, monkeypatch):
    where = tmpfs("cache", size="256k")
    if where is not None:  # leave room for the first entries only
        (where / "filler").write_bytes(b"0" * (256 * 1024 - 40 * 1024))
    else:  # no tmpfs here: every entry after the first fails as on a full disk
        where = tmp_path / "cache"
        real_dump = cache._dump_output
        count = {"n": 0}

        def filling_dump(value, f, *a, **k):
            count["n"] += 1
            if count["n"] > 1:
                f.write(b"partial")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_dump(value, f, *a, **k)

        monkeypatch.setattr(cache, "_dump_output", filling_dump)
    ref = _run(decoding_data, False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = _run(decoding_data, where)
    assert res == ref
    found = _cache_warnings(record)
    assert len(found) == 1, [str(w.message) for w in found]
    assert "rest of this job runs uncached" in str(found[0].message)
    # nothing half-written is left where the browser and the next job look
    assert cache.find_orphans(where) == []
    for entry in cache.list_cache_entries(where):
        meta = json.loads((entry.path / "metadata.json").read_text())
        assert len(meta["brainviz"]["signature"]) == 64


def test_temporary_files_of_killed_writes_are_counted_then_cleaned_on_next_use(
        decoding_data, tmp_path, capsys):
    folder = tmp_path / "c"
    flag = tmp_path / "writing"
    proc = multiprocessing.get_context("fork").Process(
        target=_slow_writer_child, args=(decoding_data, folder, str(flag)))
    proc.start()
    deadline = time.time() + 60
    while not flag.exists() and time.time() < deadline and proc.is_alive():
        time.sleep(0.05)
    assert flag.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    orphans = cache.find_orphans(folder)
    assert len(orphans) == 1 and ".output.pkl.bvtmp_" in orphans[0].name
    assert main(["cache", "list", "--cache-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "1 temporary file(s) left by interrupted or failed writes" in out
    _run(decoding_data, folder)  # the next use of the cache removes it
    assert cache.find_orphans(folder) == [] and not orphans[0].exists()
    main(["cache", "list", "--cache-dir", str(folder)])
    assert "temporary file" not in capsys.readouterr().out


def _slow_writer_child(data, folder, flag):
    real_dump = cache._dump_output

    def slow_dump(value, f, *args, **kwargs):
        real_dump(value, f, *args, **kwargs)
        open(flag, "w").close()
        time.sleep(60)

    cache._dump_output = slow_dump
    _run(data, folder)


def _read_only(where, monkeypatch):
    """Make ``where`` refuse deletions: a read-only remount, or failing unlink/rmdir."""
    if where is not None and subprocess.run(["mount", "-o", "remount,ro", str(where)],
                                            capture_output=True).returncode == 0:
        return
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def refuse(real):
        def call(path, *a, **k):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return call

    monkeypatch.setattr(os, "unlink", refuse(real_unlink))
    monkeypatch.setattr(os, "rmdir", refuse(real_rmdir))


def test_clear_and_remove_on_a_read_only_cache_report_the_failure(
        decoding_data, tmp_path, tmpfs, monkeypatch, capsys):
    where = tmpfs("ro-cache", size="8M")
    folder = where if where is not None else tmp_path / "c"
    _run(decoding_data, folder)
    entries = cache.list_cache_entries(folder)
    assert len(entries) == 3
    _read_only(where, monkeypatch)
    capsys.readouterr()
    assert main(["cache", "clear", "--remove", entries[0].id, "--cache-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Could not remove" in err and "Read-only file system" in err and err.count("\n") == 1
    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Could not clear the cache" in err and "Read-only file system" in err
    monkeypatch.undo()
    assert len(cache.list_cache_entries(folder)) == 3  # and indeed nothing went


def test_empty_or_unknown_entry_name_is_an_error_and_removes_nothing(decoding_data, tmp_path,
                                                                      capsys):
    folder = tmp_path / "c"
    _run(decoding_data, folder)
    capsys.readouterr()
    assert main(["cache", "clear", "--remove", "", "--cache-dir", str(folder)]) == 1
    assert "cache entry id is empty" in capsys.readouterr().err
    assert main(["cache", "clear", "--remove", "../../etc", "--cache-dir", str(folder)]) == 1
    assert "No cache entry '../../etc'" in capsys.readouterr().err
    assert len(cache.list_cache_entries(folder)) == 3


# --- trust -------------------------------------------------------------------------------
class _Planted:
    """Unpickling this writes a marker file: code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("read", ["whole", "streamed"])
def test_a_planted_pickle_is_never_loaded(decoding_data, tmp_path, fits, read, monkeypatch):
    if read == "streamed":  # outputs larger than _READ_WHOLE are checked from the file
        monkeypatch.setattr(cache, "_READ_WHOLE", 0)
    folder = tmp_path / "c"
    ref = _run(decoding_data, folder)
    marker = tmp_path / "code-ran"
    fit = next(e for e in cache.list_cache_entries(folder) if e.kind == "decoding: fit")
    (fit.path / "output.pkl").write_bytes(pickle.dumps(_Planted(str(marker))))
    with pytest.warns(CacheWarning, match=r"ignored and computed again: its signature does not "
                                          r"match its content"):
        again = _run(decoding_data, folder)
    assert not marker.exists() and again == ref and len(fits) == 8
    assert _run(decoding_data, folder) == ref and len(fits) == 8  # signed again: loaded


def test_an_unsigned_entry_is_a_miss_with_a_warning(decoding_data, tmp_path, fits):
    folder = tmp_path / "c"
    ref = _run(decoding_data, folder)
    marker = tmp_path / "code-ran"
    fit = next(e for e in cache.list_cache_entries(folder) if e.kind == "decoding: fit")
    meta = json.loads((fit.path / "metadata.json").read_text())
    del meta["brainviz"]["signature"]  # as if written by someone else
    (fit.path / "metadata.json").write_text(json.dumps(meta))
    (fit.path / "output.pkl").write_bytes(pickle.dumps(_Planted(str(marker))))
    with pytest.warns(CacheWarning, match=r"not signed by brainviz for this user"):
        again = _run(decoding_data, folder)
    assert not marker.exists() and again == ref and len(fits) == 8
    again = _run(decoding_data, folder)  # signed now: a hit
    assert len(fits) == 8


def test_a_key_other_users_can_read_is_refused(decoding_data, tmp_path):
    _run(decoding_data, tmp_path / "c")
    key = cache._key_path()
    assert key.stat().st_mode & 0o777 == 0o600 and tmp_path / "c" not in key.parents
    key.chmod(0o644)
    cache._KEYS.clear()
    try:
        with pytest.warns(CacheWarning, match=r"can be read or written by other users"):
            memory = cache.check_memory(tmp_path / "c")
        assert memory.location is None
    finally:
        key.chmod(0o600)
        cache._KEYS.clear()


def test_removal_and_eviction_never_follow_a_linked_cache_folder(decoding_data, tmp_path):
    target = tmp_path / "elsewhere"
    folder = tmp_path / "c"
    _run(decoding_data, target)  # <target>/joblib holds entries
    entries = cache.list_cache_entries(target)
    folder.mkdir()
    os.symlink(target / "joblib", folder / "joblib")
    with pytest.raises(CacheError, match=r"is a symbolic link"):
        cache.remove_cache_entry(entries[0].id, folder)
    with pytest.raises(CacheError, match=r"is a symbolic link"):
        cache.enforce_cache_limit(folder, max_bytes=1)
    with pytest.warns(CacheWarning, match=r"is a symbolic link; brainviz never follows links"):
        assert cache.check_memory(folder).location is None
    assert cache.clear_cache(folder) == 0  # the link goes, not what it points to
    assert not (folder / "joblib").exists() and len(cache.list_cache_entries(target)) == 3


def test_a_linked_folder_deeper_in_the_cache_is_not_followed(decoding_data, tmp_path):
    folder = tmp_path / "c"
    _run(decoding_data, folder)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    fit = next(e for e in cache.list_cache_entries(folder) if e.kind == "decoding: fit")
    func_dir = fit.path.parent
    os.replace(func_dir, tmp_path / "moved")
    os.symlink(outside, func_dir)
    assert cache.clear_cache(folder) > 0
    assert (outside / "precious.txt").read_text() == "keep me"


def test_sidecar_and_metadata_are_plain_json_never_trusted_for_code(decoding_data, tmp_path):
    folder = tmp_path / "c"
    _run(decoding_data, folder)
    fit = next(e for e in cache.list_cache_entries(folder) if e.kind == "decoding: fit")
    meta = json.loads((fit.path / "metadata.json").read_text())
    meta["brainviz"].update(kind=["not", "text"], last_use="soon", params="none")
    (fit.path / "metadata.json").write_text(json.dumps(meta))
    listed = {e.id: e for e in cache.list_cache_entries(folder)}[fit.id]
    assert listed.kind == "['not', 'text']" and isinstance(listed.last_use, float)
    assert listed.params == {}  # not a dict: no parameters


@pytest.mark.skipif(sys.platform != "linux", reason="pid checks")
def test_temporary_names_of_live_processes_are_left_alone(tmp_path):
    from brainviz._files import is_stale, temp_name

    mine = tmp_path / temp_name("output.pkl")
    mine.write_bytes(b"x")
    assert not is_stale(mine)  # this process is alive
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    dead = tmp_path / mine.name.replace(f"_{os.getpid()}_", f"_{done.stdout.strip()}_")
    dead.write_bytes(b"x")
    assert is_stale(dead)
