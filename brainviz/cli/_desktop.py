"""``brainviz --install-desktop`` / ``--uninstall-desktop``: the application in the desktop's menu.

Writes the shipped desktop entry (``resources/brainviz.desktop``) and icon
into the user's XDG folders, as the freedesktop.org specifications say:

- ``$XDG_DATA_HOME/applications/brainviz.desktop`` (``~/.local/share`` when
  ``XDG_DATA_HOME`` is not set),
- ``$XDG_DATA_HOME/icons/hicolor/256x256/apps/brainviz.png``.

The entry starts brainviz with the Python that ran this command
(``Exec=/path/to/python -m brainviz %F``), so it works from a virtual
environment whose ``bin`` folder is not on the desktop's PATH; ``TryExec``
hides it if that Python goes away. Each file is written to a temporary name
and renamed, so an interrupted install leaves no half-written entry.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["install_desktop", "uninstall_desktop", "desktop_files"]

DESKTOP_NAME = "brainviz.desktop"
ICON_SIZE = "256x256"


def _data_home():
    """The XDG data home (``$XDG_DATA_HOME`` or ``~/.local/share``), through platformdirs."""
    import platformdirs

    return Path(platformdirs.user_data_dir())


def desktop_files(data_home=None):
    """Return ``(entry, icon)``: where the desktop entry and the icon go.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The XDG data folder; ``None`` is ``$XDG_DATA_HOME`` or ``~/.local/share``.
    """
    base = Path(data_home) if data_home is not None else _data_home()
    return (base / "applications" / DESKTOP_NAME,
            base / "icons" / "hicolor" / ICON_SIZE / "apps" / "brainviz.png")


def _check_xdg_system():
    from ..exceptions import BrainvizError

    if sys.platform in ("win32", "cygwin", "darwin"):
        raise BrainvizError(
            "--install-desktop writes a freedesktop.org menu entry (Linux and other XDG "
            f"desktops); this system is {sys.platform}, whose menus do not read one."
        )


def _quote(arg):
    """Quote one Exec argument as the Desktop Entry specification says."""
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def _entry_text(python):
    from .._resources import resource_path

    def string(value):  # the general rule for string values: a backslash is written twice
        return value.replace("\\", "\\\\")

    lines = []
    for line in resource_path(DESKTOP_NAME).read_text().splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + string(f"{_quote(python)} -m brainviz %F")
            lines.append("TryExec=" + string(python))
        lines.append(line)
    return "\n".join(lines) + "\n"


def _write_atomically(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _refresh_menu(applications):
    # Only the MIME cache needs a tool; menus pick up new entries by themselves.
    tool = shutil.which("update-desktop-database")
    if tool:
        subprocess.run([tool, "-q", str(applications)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def install_desktop(data_home=None, python=None):
    """Write the desktop entry and the icon; return their paths.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The XDG data folder; ``None`` is ``$XDG_DATA_HOME`` or ``~/.local/share``.
    python : str, default=None
        The Python the entry starts brainviz with; ``None`` is this one
        (:data:`sys.executable`).

    Raises
    ------
    BrainvizError
        On macOS and Windows, whose menus read no desktop entries.
    """
    from .._resources import resource_path

    _check_xdg_system()
    entry, icon = desktop_files(data_home)
    python = str(Path(python or sys.executable).absolute())
    _write_atomically(icon, resource_path("brainviz.png").read_bytes())
    _write_atomically(entry, _entry_text(python).encode())
    _refresh_menu(entry.parent)
    return entry, icon


def uninstall_desktop(data_home=None):
    """Remove the desktop entry and the icon; return the paths that were removed."""
    _check_xdg_system()
    removed = []
    for path in desktop_files(data_home):
        if path.is_file():
            path.unlink()
            removed.append(path)
    if removed:
        _refresh_menu(desktop_files(data_home)[0].parent)
    return removed


def run_install(args):
    from ..exceptions import BrainvizError

    try:
        entry, icon = install_desktop()
    except OSError as exc:
        raise BrainvizError(f"could not write {exc.filename or 'the desktop entry'}: "
                            f"{exc.strerror or exc}") from exc
    print(f"brainviz: wrote the desktop entry {entry}")
    print(f"brainviz: wrote the icon {icon}")
    print("brainviz: it appears in the desktop's application menu (Science) once the menu "
          "reloads; `brainviz --uninstall-desktop` removes both.")
    return 0


def run_uninstall(args):
    removed = uninstall_desktop()
    for path in removed:
        print(f"brainviz: removed {path}")
    if not removed:
        entry, icon = desktop_files()
        print(f"brainviz: nothing to remove (no {entry} or {icon})")
    return 0
