"""``brainviz --install-desktop``: a valid desktop entry and the icon in the user's XDG folders."""
import os
import shutil
import subprocess
import sys

import pytest

from brainviz import _resources
from brainviz.cli import _desktop, main


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return home


def _validate(path):
    """Run Debian's desktop-file-validate (installed by .ci/system-deps) on ``path``."""
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("desktop-file-validate is missing: .ci/system-deps installs desktop-file-utils")
        pytest.skip("desktop-file-validate not installed (Debian: desktop-file-utils)")
    out = subprocess.run([tool, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


def _entry(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG desktops only")
def test_install_and_uninstall_desktop_entry(fake_home, capsys):
    share = fake_home / ".local" / "share"
    entry = share / "applications" / "brainviz.desktop"
    icon = share / "icons" / "hicolor" / "256x256" / "apps" / "brainviz.png"
    assert main(["--install-desktop"]) == 0
    out = capsys.readouterr().out
    assert str(entry) in out and str(icon) in out
    _validate(entry)
    keys = _entry(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "brainviz"
    assert keys["Icon"] == "brainviz" and "Science" in keys["Categories"].split(";")
    # started with the Python that installed it, so it works from a virtual environment
    assert keys["Exec"] == f"{sys.executable} -m brainviz %F"
    assert keys["TryExec"] == sys.executable
    assert icon.read_bytes() == open(_resources.icon_path(), "rb").read()
    assert not [p for p in entry.parent.iterdir() if p.name.endswith(".tmp")]

    assert main(["--uninstall-desktop"]) == 0
    assert not entry.exists() and not icon.exists()
    assert "removed" in capsys.readouterr().out
    assert main(["--uninstall-desktop"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG desktops only")
def test_xdg_data_home_and_odd_python_paths_are_honoured(tmp_path, fake_home, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg data"))
    python = str(tmp_path / "my envs" / "$x" / "python")
    entry, icon = _desktop.install_desktop(python=python)
    assert entry == tmp_path / "xdg data" / "applications" / "brainviz.desktop"
    assert icon.is_file()
    _validate(entry)
    keys = _entry(entry)
    # quoted as the Desktop Entry specification says: spaces need quotes, $ a backslash, and
    # the backslash itself is doubled by the general escape rule for string values
    assert keys["Exec"] == '"' + python.replace("$", "\\\\$") + '" -m brainviz %F'


def test_not_on_macos_or_windows(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_desktop.sys, "platform", "darwin")
    assert main(["--install-desktop"]) == 1
    err = capsys.readouterr().err
    assert "freedesktop.org menu entry" in err and "darwin" in err
    assert _desktop.desktop_files(tmp_path)[0] == tmp_path / "applications" / "brainviz.desktop"


def test_shipped_entry_is_valid():
    from importlib import resources

    with resources.as_file(_resources.resource_path("brainviz.desktop")) as path:
        _validate(path)
