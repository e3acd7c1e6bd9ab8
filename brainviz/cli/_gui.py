"""``brainviz`` and ``brainviz FILE...``: open the window, or render when there is no display.

Without a display (no ``DISPLAY`` / ``WAYLAND_DISPLAY`` that answers, and
``QT_QPA_PLATFORM`` not set to ``offscreen``) Qt would abort, so instead this
says so in one line, renders the figure the window would have shown with the
export code (the same function as ``brainviz render --demo``) and prints
where the PNG is. Heavy imports happen inside the functions.
"""
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["run_window", "has_display", "render_headless"]

DEMO_PNG = "brainviz-demo.png"


def _x_display_answers(display):
    """True if an X server answers on ``display`` (checked with Xlib through ctypes)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("X11")
    if not name:
        return True  # cannot check: let Qt try
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return True
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = xlib.XOpenDisplay(display.encode())
    if not handle:
        return False
    xlib.XCloseDisplay(handle)
    return True


def has_display(environ=None):
    """Return ``(ok, reason)``: can a Qt window be opened here?"""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in ("offscreen", "minimal", "vnc"):
        return True, f"Qt platform {platform}"
    if env.get("WAYLAND_DISPLAY"):
        return True, "Wayland"
    display = env.get("DISPLAY")
    if not display:
        return False, "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    if environ is None and not _x_display_answers(display):
        return False, f"no X server answers on DISPLAY={display}"
    return True, f"X display {display}"


def _output_path(name=DEMO_PNG):
    cwd = Path.cwd()
    if os.access(cwd, os.W_OK):
        return cwd / name
    return Path(tempfile.mkdtemp(prefix="brainviz-")) / name


def _render_demo(path):
    """Render the built-in demo with the function behind ``brainviz render --demo``.

    Falls back to drawing the window's demo session offscreen when the render
    command does not offer that function.
    """
    import argparse
    import contextlib
    import io

    try:
        from . import _render  # the render command module
    except ImportError:
        _render = None
    if _render is not None:
        parser = argparse.ArgumentParser(prog="brainviz")
        _render.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["render", "--demo", "--demo-connectome", "-o", str(path)])
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            status = args.func(args)
        if status in (0, None) and Path(path).is_file():
            return Path(path)
        print(f"brainviz: `brainviz render --demo` failed ({quiet.getvalue().strip()[-200:]}); "
              "drawing the window's demo scene instead", file=sys.stderr)
    from ..gui.session import make_demo_session

    return _render_session(make_demo_session(), path)


def _render_files(files, path):
    """Render the scene the window would show for ``files`` to ``path``."""
    from ..gui.session import open_path
    from ..model import Session

    session = Session()
    for file in files:
        for layer in open_path(file):
            session.add_layer(layer)
    return _render_session(session, path)


def _render_session(session, path, size=(800, 600)):
    """Draw ``session`` offscreen with the window's scene code and save it with the export code."""
    from mayavi import mlab

    from .. import mlab as bv
    from ..gui._display import SceneSync

    mlab.options.offscreen = True
    fig = bv.figure(size=size)
    sync = SceneSync(session, fig)
    try:
        try:
            bv.view("left", figure=fig)
        except Exception:  # a view is a nicety; the figure is what matters
            pass
        try:
            from ..scene.export import savefig
        except ImportError:
            savefig = None
        if savefig is not None:
            out = savefig(path, figure=fig)
        else:
            mlab.savefig(str(path), figure=fig)
            out = path
    finally:
        sync.close()
    return Path(out or path)


def render_headless(files=(), reason="no display"):
    """Say there is no display, render the figure to a PNG, print where; return 0."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("ETS_TOOLKIT", "null")
    print(f"brainviz: {reason}: cannot open the window; rendering the "
          f"{'files' if files else 'demo'} figure to a PNG instead (see `brainviz render --help`).",
          flush=True)
    path = _output_path(DEMO_PNG if not files else "brainviz-figure.png")
    if files:
        out = _render_files(files, path)
    else:
        out = _render_demo(path)
    print(f"brainviz: wrote {out}")
    return 0


def run_window(files):
    """Open the main window on ``files`` (the built-in demo when empty); return the exit status."""
    files = [str(f) for f in files]
    missing = [f for f in files if not Path(f).exists()]
    if missing:
        print(f"brainviz: error: file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    ok, reason = has_display()
    if not ok:
        try:
            return render_headless(files, reason)
        except Exception as exc:  # the one-line promise holds even if rendering fails
            print(f"brainviz: error: could not render the figure: {exc}", file=sys.stderr)
            return 1
    from ..gui.launch import main

    return main(files)
