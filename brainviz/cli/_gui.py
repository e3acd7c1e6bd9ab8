"""``brainviz`` and ``brainviz FILE...``: open the window, or render when there is no display.

Without a display (no ``DISPLAY`` / ``WAYLAND_DISPLAY`` that answers, and
``QT_QPA_PLATFORM`` not set to ``offscreen``) Qt would abort, so instead this
says so in one line that names the PNG it is about to write (in the current
folder, or a new temporary folder when that is read-only), draws the session
the window would have shown (the same :func:`brainviz.session.make_demo_session`
and binding as ``brainviz render --demo``) with the export code, and prints
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


def _render_session(session, path, size=(800, 600), montage=False):
    """Draw ``session`` offscreen and save it with the export code, as ``brainviz render``."""
    from mayavi import mlab
    from vtkmodules.vtkCommonCore import vtkLogger

    from ..scene.binding import draw_session
    from ..scene.export import save_montage
    from ..scene.figures import save_figure

    # VTK logs a warning when it falls back from X to EGL: the line printed above already
    # says there is no display (as in `brainviz render`)
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    mlab.options.offscreen = True
    figure, binding = draw_session(session, size=(600, 600) if montage else size, view="left")
    try:
        if montage:
            from ..scene._montage import DEFAULT_MONTAGE_WIDTH
            from ._render import MONTAGE_VIEWS

            return Path(save_montage(path, figure, views=MONTAGE_VIEWS,
                                     size=(DEFAULT_MONTAGE_WIDTH, None), colorbar="auto"))
        return Path(save_figure(path, figure, size=size))
    finally:
        binding.close()
        mlab.close(figure)


def _render_files(files, path):
    """Render the scene the window would show for ``files`` to ``path``."""
    from ..model import Session
    from ..session import open_paths, place_new_layers

    session = Session()
    place_new_layers(session, open_paths(files))
    return _render_session(session, path)


def render_headless(files=(), reason="no display"):
    """Say there is no display, render the figure to a PNG, print where; return 0."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("ETS_TOOLKIT", "null")
    path = _output_path(DEMO_PNG if not files else "brainviz-figure.png")
    # Say where the PNG goes before writing it: it lands in the current folder.
    replacing = " (replacing the file there)" if path.exists() else ""
    print(f"brainviz: {reason}: cannot open the window; rendering the "
          f"{'files' if files else 'demo'} figure to {path}{replacing} instead "
          "(`brainviz render ... -o FILE` writes a figure where you choose).",
          flush=True)
    if files:
        out = _render_files(files, path)
    else:
        from ..session import make_demo_session

        # the window's demo, as `brainviz render --demo --demo-connectome` draws it
        out = _render_session(make_demo_session(), path, montage=True)
    print(f"brainviz: wrote {out}")
    return 0


def run_window(files):
    """Open the main window on ``files`` (the built-in demo when empty); return the exit status."""
    files = [str(f) for f in files]
    missing = [f for f in files if not Path(f).exists()]
    if missing:
        print(f"brainviz: error: file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    # the `brainviz` process loads TVTK's classes from kept bytecode (about a second of
    # compiling before the first frame otherwise), as `brainviz render` does
    from ..scene._tvtk_bytecode import keep_tvtk_bytecode

    keep_tvtk_bytecode()
    ok, reason = has_display()
    if not ok:
        try:
            return render_headless(files, reason)
        except Exception as exc:  # the one-line promise holds even if rendering fails
            print(f"brainviz: error: could not render the figure: {exc}", file=sys.stderr)
            return 1
    from ..gui.launch import main

    return main(files)
