"""One helper writes files whole or not at all (results' figures, cache sidecars)."""
import pytest

from brainviz._files import is_temp_name, write_atomic


def test_write_atomic_writes_whole_files_and_leaves_nothing_when_writing_fails(tmp_path):
    target = tmp_path / "scores.png"
    assert write_atomic(target, lambda tmp: tmp.write_bytes(b"first")) == target
    assert target.read_bytes() == b"first"

    def half_then_fail(tmp):
        assert is_temp_name(tmp.name, "scores") and tmp.suffix == ".png"
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"first"  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["scores.png"]  # no temporary left


def test_a_display_figure_and_a_cache_sidecar_are_written_through_it(tmp_path, monkeypatch):
    import brainviz._files as files
    from brainviz.backend import cache

    calls = []
    real = files.write_atomic
    monkeypatch.setattr(files, "write_atomic", lambda p, w: calls.append(p.name) or real(p, w))
    monkeypatch.setattr(cache, "write_atomic", files.write_atomic)
    item = tmp_path / "entry"
    item.mkdir()
    cache._touch_sidecar(item, "decoding: fit", {"C": 1.0}, "demo")
    assert calls == [cache._SIDECAR]
    assert '"decoding: fit"' in (item / cache._SIDECAR).read_text()
