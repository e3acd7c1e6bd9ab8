"""Start-up of the window: create, show, wire drag and drop and errors, run the loop.

Kept apart from :mod:`brainviz.gui.app` (the window itself) so that the
window class stays readable; :func:`create_window` is what tests and the
``brainviz`` command use.
"""
import atexit
import os
import weakref

from .app import MainWindow

__all__ = ["create_window", "main"]


def _install_drop(window):
    """Accept files dropped on the window: they go through :meth:`MainWindow.open_files`."""
    from pyface.qt import QtCore

    class _DropFilter(QtCore.QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt naming)
            etype = event.type()
            if etype in (QtCore.QEvent.DragEnter, QtCore.QEvent.DragMove):
                if event.mimeData().hasUrls():
                    event.acceptProposedAction()
                    return True
            elif etype == QtCore.QEvent.Drop and event.mimeData().hasUrls():
                paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
                event.acceptProposedAction()
                window.open_files(paths)
                return True
            return False

    control = window.ui.control
    control.setAcceptDrops(True)
    window._drop_filter = _DropFilter(control)
    control.installEventFilter(window._drop_filter)


def _route_uncaught_exceptions(window):
    """Send exceptions escaping Qt slots and timers to the window's error handler.

    PyQt aborts the process on an exception nobody catches in a slot; the
    window reports it and keeps running instead.
    """
    import sys
    import traceback

    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        window.report_error(exc, "Unexpected error", "".join(traceback.format_exception(exc_type, exc, tb)))

    sys.excepthook = hook


def create_window(files=(), demo=None, show_errors=True, scene_size=(600, 500),
                  window_size=None):
    """Make and show the main window; return it (the event loop is the caller's).

    Parameters
    ----------
    files : list of paths
        Opened as layers. When empty (and ``demo`` is not False) the built-in demo is loaded.
    demo : bool, Session or Future, default=None
        Load the built-in demo (default: when no files are given); a Session (or a
        future of one) is used as the demo.
    show_errors : bool, default=True
        Show message boxes for errors (tests may read ``window.errors`` instead).
    window_size : (int, int), default=None
        Pixels; None fits the screen (at most 1600 x 1000).
    """
    from pyface.api import GUI

    GUI()  # makes the QApplication if needed
    window = MainWindow(show_errors=show_errors, scene_size=scene_size, window_size=window_size)
    window.errors.install()
    _route_uncaught_exceptions(window)
    if demo is True or (demo is None and not files):
        window.load_demo()
    elif demo:  # a Session, or a future of one
        window.load_demo(demo)
    window.build_ui()
    from .app import _freeze_startup_objects

    _freeze_startup_objects()  # the window's objects: out of every full collection
    window.ui.control.show()
    GUI.invoke_later(window.ui.settle)  # docks and views framed at the window's real size
    _install_drop(window)
    if files:
        window.open_files(files)
    # A script or IPython session may end with the window still open: close it before
    # PyQt's own exit clean-up, which otherwise deletes the TraitsUI panels' widgets
    # in an arbitrary order and can crash the interpreter on the way out.
    atexit.register(_close_at_exit, weakref.ref(window))
    return window


def _close_at_exit(ref):
    window = ref()
    if window is not None and window.ui is not None:
        window.ui.dispose()


def _notify_first_frame(window, path):
    """Write ``x y w h`` of the viewer (screen pixels) to ``path`` at the 3D scene's first frame.

    Used by launch tests and benchmarks (``BRAINVIZ_READY_FILE``): the file appears
    when the first frame with the demo's visuals has been drawn (the render window's
    ``EndEvent``, after the buffers are swapped), the same signal the benchmark's
    minimal window uses.
    """
    render_window = window.figure.scene.render_window
    state = {}

    def write():
        control = window.viewer.widget  # the viewer: the 3D scene and the 2D views
        origin = control.mapToGlobal(control.rect().topLeft())
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{origin.x()} {origin.y()} {control.width()} {control.height()}")
        os.replace(tmp, path)

    def on_end(obj, event):
        if "done" not in state and window.binding is not None and window.binding.visuals:
            state["done"] = True
            render_window.remove_observer(state["id"])
            write()

    state["id"] = render_window.add_observer("EndEvent", on_end)


def main(files=(), demo=None):
    """Open the window and run the event loop; return the exit status."""
    from pyface.api import GUI

    os.environ.setdefault("ETS_TOOLKIT", "qt")
    gui = GUI()
    window = create_window(files, demo=demo)
    ready = os.environ.get("BRAINVIZ_READY_FILE")
    if ready:
        _notify_first_frame(window, ready)
    gui.start_event_loop()
    return 0
