"""Folders from platformdirs: Linux under a fake HOME, macOS and Windows through platformdirs' classes.

An explicit argument beats the ``BRAINVIZ_*`` variable, which beats the
platform's folder; an old ``~/.cache/brainviz``-style folder is still used
(with a note) where the platform's folder is elsewhere and does not exist yet.
"""
import logging
import sys

import platformdirs
import pytest

from brainviz import _config

_VARIABLES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "BRAINVIZ_CACHE_DIR",
              "BRAINVIZ_DATA_DIR", "BRAINVIZ_CONFIG_DIR", "BRAINVIZ_RESULTS_DIR")


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_config, "_NOTED", set())
    return home


def _folders():
    return {"cache": _config.get_cache_dir(), "config": _config.get_config_dir(),
            "results": _config.get_results_dir(), "data": _config.get_data_dir()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders: Linux only")
def test_linux_folders_under_a_fake_home(fake_home, monkeypatch, tmp_path):
    assert _folders() == {
        "cache": fake_home / ".cache" / "brainviz",
        "config": fake_home / ".config" / "brainviz",
        "results": fake_home / ".local" / "share" / "brainviz" / "results",
        "data": fake_home / ".cache" / "brainviz" / "demo_data",
    }
    # the XDG variables move them ...
    for name, sub in [("XDG_CACHE_HOME", "c"), ("XDG_CONFIG_HOME", "k"), ("XDG_DATA_HOME", "d")]:
        monkeypatch.setenv(name, str(tmp_path / sub))
    assert _folders() == {
        "cache": tmp_path / "c" / "brainviz",
        "config": tmp_path / "k" / "brainviz",
        "results": tmp_path / "d" / "brainviz" / "results",
        "data": tmp_path / "c" / "brainviz" / "demo_data",
    }
    # ... the BRAINVIZ_* variables beat them, and an argument beats those
    for name in ("CACHE", "DATA", "CONFIG", "RESULTS"):
        monkeypatch.setenv(f"BRAINVIZ_{name}_DIR", str(tmp_path / f"env-{name.lower()}"))
    assert _folders() == {"cache": tmp_path / "env-cache", "config": tmp_path / "env-config",
                          "results": tmp_path / "env-results", "data": tmp_path / "env-data"}
    assert _config.get_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert _config.get_config_dir(tmp_path / "arg") == tmp_path / "arg"
    assert _config.get_results_dir("~/r") == fake_home / "r"
    assert _config.get_data_dir(tmp_path / "arg") == tmp_path / "arg"


def _as(monkeypatch, dirs_class, **kwargs):
    monkeypatch.setattr(_config, "_platform_dirs",
                        lambda: dirs_class(appname="brainviz", appauthor=False, **kwargs))


def test_macos_folders_and_the_old_place_with_a_note(fake_home, monkeypatch, caplog):
    from platformdirs.macos import MacOS

    _as(monkeypatch, MacOS)
    mac = MacOS(appname="brainviz", appauthor=False)
    caplog.set_level(logging.WARNING, logger="brainviz")
    assert _config.get_cache_dir() == fake_home / "Library" / "Caches" / "brainviz"
    assert _config.get_cache_dir() == mac.user_cache_path
    assert _config.get_config_dir() == mac.user_config_path
    assert _config.get_results_dir() == mac.user_data_path / "results"
    assert str(_config.get_results_dir()).startswith(str(fake_home / "Library"))
    assert caplog.records == []

    # Folders an earlier brainviz made at the Linux places are still used, with one note each.
    old_cache = fake_home / ".cache" / "brainviz"
    old_config = fake_home / ".config" / "brainviz"
    old_cache.mkdir(parents=True)
    old_config.mkdir(parents=True)
    assert _config.get_cache_dir() == old_cache
    assert _config.get_cache_dir() == old_cache
    assert _config.get_config_dir() == old_config
    assert _config.get_results_dir() == mac.user_data_path / "results"  # no old data folder
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 2, notes
    assert str(old_cache) in notes[0] and str(mac.user_cache_path) in notes[0]
    assert "cache folder" in notes[0] and "config folder" in notes[1]

    # Once the platform's folder exists, it wins.
    mac.user_cache_path.mkdir(parents=True)
    assert _config.get_cache_dir() == mac.user_cache_path
    # and the environment variable beats an old folder too
    monkeypatch.setenv("BRAINVIZ_CONFIG_DIR", str(fake_home / "elsewhere"))
    assert _config.get_config_dir() == fake_home / "elsewhere"


def test_windows_folders(fake_home, monkeypatch, caplog):
    import platformdirs.windows as windows

    local = str(fake_home / "AppData" / "Local")
    roaming = str(fake_home / "AppData" / "Roaming")
    folders = {"CSIDL_LOCAL_APPDATA": local, "CSIDL_APPDATA": roaming}
    # platformdirs asks the Windows shell for these; here they are given directly.
    monkeypatch.setattr(windows, "get_win_folder", folders.__getitem__)
    _as(monkeypatch, windows.Windows)
    win = windows.Windows(appname="brainviz", appauthor=False)
    caplog.set_level(logging.WARNING, logger="brainviz")
    assert str(_config.get_cache_dir()).startswith(local)
    assert _config.get_cache_dir() == win.user_cache_path
    assert _config.get_cache_dir().parts[-2:] == ("brainviz", "Cache")
    assert _config.get_config_dir() == win.user_config_path
    assert _config.get_results_dir() == win.user_data_path / "results"
    assert _config.get_data_dir() == win.user_cache_path / "demo_data"
    # an old Linux-style cache is still found there too
    (fake_home / ".cache" / "brainviz").mkdir(parents=True)
    assert _config.get_cache_dir() == fake_home / ".cache" / "brainviz"
    assert len(caplog.records) == 1


def test_platform_dirs_is_platformdirs_for_brainviz():
    dirs = _config._platform_dirs()
    assert isinstance(dirs, platformdirs.PlatformDirs)
    assert dirs.appname == "brainviz" and dirs.appauthor is False
