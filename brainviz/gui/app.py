"""The brainviz main window.

Layout: the layers panel on the left; the interactive Mayavi scene in the
middle with the view buttons above it and the click readout below; jobs,
cache and the Python shell in tabs on the right. Menus open files and
sessions, export figures and load the demo datasets.

Threading: jobs run on the backend runner's thread; :class:`~.workers.JobBridge`
hands their events to this thread, where results become layers. Errors from
anywhere go to :meth:`MainWindow.report_error` (one message box each); the
window keeps working.
"""
import logging
import os
from pathlib import Path

from traits.api import (
    Any, Button, HasTraits, Instance, List, Str, observe,
)
from traitsui.api import (
    Action, Group, Handler, HSplit, Item, Menu, MenuBar, Separator, Tabbed, TextEditor, VGroup,
    View,
)

from ..model import JobState, Session
from .dialogs import ErrorReporter, ExportOptions
from .jobs import JobsPanel
from .panels import CachePanel, LayersPanel
from .session import (
    SessionFileError, add_recent_file, layers_from_result, make_demo_session, open_path,
    read_session, save_session,
)
from .shell import ShellPanel, shell_namespace

__all__ = ["MainWindow", "main", "create_window"]

log = logging.getLogger("brainviz.gui")

_VIEWS = ("left", "right", "anterior", "posterior", "superior", "inferior")


def _scene_model():
    # the offscreen patch must be in place before the first scene widget exists
    from . import _vtk_offscreen

    _vtk_offscreen.install()
    from mayavi.core.ui.api import MlabSceneModel

    return MlabSceneModel


class MainHandler(Handler):
    """Menu actions and window close."""

    def _win(self, info):
        return info.object

    def do_open(self, info):
        self._win(info).open_files_dialog()

    def do_open_session(self, info):
        from .dialogs import ask_open_session

        path = ask_open_session(info.ui.control)
        if path:
            self._win(info).open_session(path)

    def do_save_session(self, info):
        from .dialogs import ask_save_file

        path = ask_save_file(info.ui.control, "Save session", default="session.json")
        if path:
            self._win(info).save_session(path)

    def do_export(self, info):
        self._win(info).export_dialog()

    def do_demo(self, info):
        self._win(info).load_demo()

    def do_decoding_demo(self, info):
        self._win(info).load_decoding_demo()

    def do_resting_demo(self, info):
        self._win(info).load_resting_state_demo()

    def do_quit(self, info):
        info.ui.control.close()

    def closed(self, info, is_ok):
        self._win(info).shutdown()


class MainWindow(HasTraits):
    """The application window: session, scene, panels, jobs and shell."""

    session = Instance(Session, ())
    scene = Instance(HasTraits)
    layers_panel = Instance(LayersPanel)
    jobs_panel = Instance(JobsPanel)
    cache_panel = Instance(CachePanel)
    shell_panel = Instance(ShellPanel)
    export_options = Instance(ExportOptions, ())

    readout = Str("Click in the scene: position (mm), layer values, nodes and edges.")
    status = Str()

    view_left = Button("Left")
    view_right = Button("Right")
    view_anterior = Button("Anterior")
    view_posterior = Button("Posterior")
    view_superior = Button("Superior")
    view_inferior = Button("Inferior")
    reset_view = Button("Reset")
    export = Button("Export...")

    #: SceneSync (layers -> visuals) once the scene exists.
    sync = Any()
    ui = Any()
    #: Scene size in pixels asked for at start.
    scene_size = Any((600, 500))
    #: The view the scene opens with (and Reset goes back to): from above, the slices
    #: and the whole graph show best.
    start_view = Str("superior")
    #: Window size in pixels at start.
    window_size = Any((1200, 780))
    #: Layers waiting for the scene (added before it was activated).
    _ready = List()

    def __init__(self, show_errors=True, **traits):
        super().__init__(**traits)
        self.errors = ErrorReporter(parent=lambda: self.ui.control if self.ui else None,
                                    show=show_errors)
        from .workers import JobBridge

        self.jobs_bridge = JobBridge(self._job_done, self._job_failed)
        self._timer = None

    # --- defaults ---------------------------------------------------------
    def _scene_default(self):
        return _scene_model()()

    def _layers_panel_default(self):
        return LayersPanel(session=self.session, window=self)

    def _jobs_panel_default(self):
        return JobsPanel(session=self.session, window=self)

    def _cache_panel_default(self):
        panel = CachePanel(window=self)
        panel.update()
        return panel

    def _shell_panel_default(self):
        return ShellPanel(window=self)

    @property
    def figure(self):
        """The Mayavi figure of the scene (None before the window is shown)."""
        return getattr(self.scene, "mayavi_scene", None)

    # --- errors -----------------------------------------------------------
    def report_error(self, exc, context="", traceback=None):
        """The single error handler: log, show a message box, keep going."""
        self.errors.report(exc, context, traceback)
        self.status = f"Error: {context or exc}"

    # --- scene ---------------------------------------------------------------
    @observe("scene:activated")
    def _scene_activated(self, event):
        from ._display import SceneSync

        fig = self.figure
        # the same background as brainviz.mlab.figure() and `brainviz render`, so exports match
        fig.scene.background = (1.0, 1.0, 1.0)
        with _no_render(fig):
            self.sync = SceneSync(self.session, fig, on_error=self.report_error)
        self._name_visuals()
        try:
            from ..scene import picking

            picking.on_pick(fig, self._on_pick)
        except Exception as exc:  # picking is optional: the scene still works
            log.warning("picking unavailable: %s", exc)
        if self.session.camera:
            self.set_camera(self.session.camera)
        else:
            self.set_view(self.start_view)
        self.shell_panel.namespace.update(shell_namespace(self))

    def _name_visuals(self):
        for layer, visual in (self.sync.visuals.items() if self.sync else ()):
            if visual.trait("name") is not None:
                visual.name = layer.name

    @observe("session:layers.items")
    def _layers_changed(self, event):
        self._name_visuals()

    def set_view(self, name):
        """Show a named view (left, right, anterior, ...) framing the whole brain."""
        from ..scene.views import set_view

        try:
            set_view(self.figure, name)
        except Exception as exc:
            self.report_error(exc, f"Could not show the {name} view")

    def _anytrait_changed(self, name, old, new):
        if name.startswith("view_") and name[5:] in _VIEWS:
            self.set_view(name[5:])

    def _reset_view_fired(self):
        self.set_view(self.start_view)

    def _export_fired(self):
        self.export_dialog()

    def get_camera(self):
        """The camera as a JSON-compatible dict."""
        cam = self.figure.scene.camera
        return {
            "position": [float(v) for v in cam.position],
            "focal_point": [float(v) for v in cam.focal_point],
            "view_up": [float(v) for v in cam.view_up],
            "view_angle": float(cam.view_angle),
            "parallel_scale": float(cam.parallel_scale),
            "parallel_projection": bool(cam.parallel_projection),
        }

    def set_camera(self, camera):
        cam = self.figure.scene.camera
        for key in ("position", "focal_point", "view_up", "view_angle", "parallel_scale",
                    "parallel_projection"):
            if key in camera:
                setattr(cam, key, camera[key])
        self.figure.scene.renderer.reset_camera_clipping_range()
        self.figure.scene.render()

    def _on_pick(self, info):
        lines = []
        if info.position_mm is None:
            self.readout = "Nothing under the cursor."
            return
        x, y, z = info.position_mm
        lines.append(f"({x:.1f}, {y:.1f}, {z:.1f}) mm")
        for name, value in info.values.items():
            lines.append(f"{name}: {value:.4g}" if value == value else f"{name}: outside")
        if info.node is not None:
            index, label, _ = info.node
            lines.append(f"node {index}: {label}")
        if info.edge is not None:
            i, j, weight = info.edge
            lines.append(f"edge {i}-{j}: weight {weight:.4g}")
        self.readout = "   ".join(lines)
        self.session.cursor = (float(x), float(y), float(z))

    @observe("session:cursor")
    def _cursor_moved(self, event):
        from ._display import set_trait_if_present

        for layer, visual in (self.sync.visuals.items() if self.sync else ()):
            if layer.kind in ("anatomy", "4D series"):
                try:
                    set_trait_if_present(visual, ("cursor",), tuple(self.session.cursor))
                except Exception as exc:
                    self.report_error(exc, "Could not move the cursor")

    # --- files and sessions ----------------------------------------------
    def open_files(self, paths, kind=None):
        """Open image files or result folders as layers (the file dialog, drag and drop
        and recent files all come here); returns the new layers. Errors become dialogs."""
        added = []
        for path in paths:
            path = str(path)
            if path.lower().endswith(".json") and Path(path).is_file():
                self.open_session(path)
                continue
            try:
                layers = open_path(path, kind=kind)
            except Exception as exc:
                self.report_error(exc, f"Could not open {Path(path).name}")
                continue
            for layer in layers:
                added.append(self.session.add_layer(layer))
            add_recent_file(path)
        if added:
            self.status = f"Opened {', '.join(lay.name for lay in added)}"
            if self.layers_panel is not None:
                self.layers_panel.refresh_recent()
        return added

    def open_files_dialog(self):
        from .dialogs import ask_open_files

        paths = ask_open_files(self.ui.control if self.ui else None)
        if paths:
            self.open_files(paths)

    def load_demo(self, demo=None):
        """Add the built-in demo layers (template, motor map, demo connectome).

        ``demo`` may be a Session already made (or a future of one, made on a thread).
        """
        try:
            if demo is None:
                demo = make_demo_session()
            elif hasattr(demo, "result"):
                demo = demo.result()
        except Exception as exc:
            self.report_error(exc, "Could not load the demo")
            return
        self.session.cursor = demo.cursor
        for layer in demo.layers:
            self.session.add_layer(layer)

    def load_decoding_demo(self):
        """Add the decoding demo: a 4D series with its labels and runs, and its mask."""
        from ..data import load_volume, make_decoding_demo
        from ..model import MaskLayer, SeriesLayer

        try:
            demo = make_decoding_demo()
            series = SeriesLayer(name="decoding demo", source="builtin:decoding_demo")
            series.set_volume(load_volume(demo.img, name="decoding demo"))
            series.labels = list(demo.labels)
            series.runs = list(demo.runs)
            series.visible = False
            mask = MaskLayer(name="decoding demo mask", visible=False,
                             source="builtin:decoding_demo_mask")
            mask.set_volume(load_volume(demo.mask, name="decoding demo mask"))
        except Exception as exc:
            self.report_error(exc, "Could not make the decoding demo")
            return None
        self.session.add_layer(mask)
        return self.session.add_layer(series)

    def load_resting_state_demo(self):
        """Add the resting-state demo: one 4D series per subject."""
        from ..data import load_volume, make_resting_state_demo
        from ..model import SeriesLayer

        try:
            demo = make_resting_state_demo()
        except Exception as exc:
            self.report_error(exc, "Could not make the resting-state demo")
            return []
        out = []
        for k, img in enumerate(demo.imgs):
            layer = SeriesLayer(name=f"rest subject {k + 1}", visible=False,
                                source=f"builtin:rest_subject_{k + 1}")
            layer.set_volume(load_volume(img, name=f"rest subject {k + 1}"))
            out.append(self.session.add_layer(layer))
        return out

    def save_session(self, path):
        """Save layers, display settings, camera and jobs as JSON; return the Path."""
        try:
            if self.figure is not None:
                self.session.camera = self.get_camera()
            out = save_session(self.session, path)
        except Exception as exc:
            self.report_error(exc, f"Could not save the session to {path}")
            return None
        self.status = f"Session saved to {out}"
        return out

    def open_session(self, path):
        """Replace the layers with those of a session file; missing files are named in a dialog."""
        try:
            session, missing = read_session(path)
        except Exception as exc:
            self.report_error(exc, f"Could not open the session {Path(path).name}")
            return None
        # emptied in place: views following the list see item events, not a new list
        del self.session.layers[:]
        for layer in session.layers:
            self.session.add_layer(layer)
        self.session.jobs[:] = list(session.jobs)
        self.session.cursor = session.cursor
        self.session.camera = session.camera
        self.session.path = str(path)
        if self.figure is not None and session.camera:
            self.set_camera(session.camera)
        if missing:
            names = ", ".join(missing)
            self.report_error(SessionFileError(
                f"These files of the session were moved or deleted and were not opened: {names}",
                missing=missing), f"Session {Path(path).name}")
        return self.session

    # --- export ---------------------------------------------------------------
    def export_figure(self, options=None):
        """Write the figure with the export code (same as ``brainviz render``); return the Path."""
        options = options or self.export_options
        try:
            out = options.export(self.figure)
        except Exception as exc:
            self.report_error(exc, "Could not export the figure")
            return None
        self.status = f"Figure written to {out}"
        return out

    def export_dialog(self):
        ui = self.export_options.edit_traits(kind="livemodal",
                                             parent=self.ui.control if self.ui else None)
        if ui.result:
            self.export_figure()

    # --- jobs ---------------------------------------------------------------
    def start_job(self, form):
        """Start the job described by ``form`` (a JobForm); returns its JobState or None."""
        problem = form.validate()
        if problem:
            self.report_error(ValueError(problem), f"Cannot start the {form.kind} job")
            return None
        try:
            job = form.make_job()
            args, kwargs = form.run_args()
        except Exception as exc:
            self.report_error(exc, f"Cannot start the {form.kind} job")
            return None
        state = JobState(kind=form.kind, title=form.title(), params=_jsonable(form.params.values()),
                         inputs=_input_names(form))
        self.session.jobs.append(state)
        self.jobs_bridge.submit(state, job, *args, **kwargs)
        self._ensure_timer()
        return state

    def cancel_job(self, state):
        self.jobs_bridge.cancel(state)

    def _job_done(self, state, result):
        try:
            layers = layers_from_result(result, folder=state.result_folder, title=state.kind)
        except Exception as exc:
            self.report_error(exc, f"The {state.kind} job finished but its result cannot be shown")
            return
        for layer in layers:
            self.session.add_layer(layer)
        self.status = f"{state.title}: {state.message}"
        if self.cache_panel is not None:
            self.cache_panel.update()

    def _job_failed(self, state, exc, traceback_str):
        self.report_error(exc, f"The job '{state.title}' failed", traceback_str)

    def _ensure_timer(self):
        from pyface.timer.api import Timer

        if self._timer is None:
            self._timer = Timer(250, self._tick)

    def _tick(self):
        active = False
        for state in self.session.jobs:
            if state.active:
                active = True
                handle = state.handle
                if handle is not None and handle.state == "running" and state.state == "queued":
                    state.state = "running"
                state.tick()
        if not active and self._timer is not None:
            self._timer.Stop()
            self._timer = None

    def shutdown(self):
        """Cancel running jobs and stop timers (window closing)."""
        if self._timer is not None:
            self._timer.Stop()
            self._timer = None
        self.jobs_bridge.shutdown()
        self.errors.uninstall()
        if self.sync is not None:
            self.sync.close()

    # --- view -----------------------------------------------------------------
    def traits_view(self):
        from mayavi.core.ui.api import SceneEditor

        width, height = self.scene_size
        buttons = Group(*[Item(f"view_{v}", show_label=False) for v in _VIEWS],
                        Item("reset_view", show_label=False), Item("export", show_label=False),
                        columns=4)
        menubar = MenuBar(
            Menu(Action(name="&Open...", action="do_open"),
                 Action(name="Open &session...", action="do_open_session"),
                 Action(name="Sa&ve session...", action="do_save_session"),
                 Separator(),
                 Action(name="&Export figure...", action="do_export"),
                 Separator(),
                 Action(name="&Quit", action="do_quit"),
                 name="&File"),
            Menu(Action(name="Built-in &demo", action="do_demo"),
                 Action(name="&Decoding demo data", action="do_decoding_demo"),
                 Action(name="&Resting-state demo data", action="do_resting_demo"),
                 name="&Data"),
        )
        return View(
            VGroup(
                HSplit(
                    Item("layers_panel", style="custom", show_label=False),
                    VGroup(
                        buttons,
                        Item("scene", editor=SceneEditor(), show_label=False,
                             width=min(width, 300), height=min(height, 300), resizable=True),
                        # a read-only text box: a long readout must not widen the window
                        Item("readout", style="custom", show_label=False, height=-44,
                             editor=TextEditor(read_only=True, multi_line=True)),
                    ),
                    Tabbed(
                        Item("jobs_panel", style="custom", show_label=False, label="Jobs"),
                        Item("cache_panel", style="custom", show_label=False, label="Cache"),
                        Item("shell_panel", style="custom", show_label=False, label="Shell"),
                    ),
                ),
                Item("status", show_label=False, editor=TextEditor(read_only=True)),
            ),
            title="brainviz",
            width=self.window_size[0],
            height=self.window_size[1],
            menubar=menubar,
            handler=MainHandler(),
            resizable=True,
        )


class _no_render:
    """Disable rendering of a figure for a block (one render at the end)."""

    def __init__(self, figure):
        self.scene = figure.scene

    def __enter__(self):
        self.old = self.scene.disable_render
        self.scene.disable_render = True

    def __exit__(self, *exc):
        self.scene.disable_render = self.old
        if not self.old:
            self.scene.render()


def _jsonable(params):
    out = {}
    for key, value in params.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out


def _input_names(form):
    names = []
    for trait in ("images", "subjects", "atlas", "mask", "labels_file"):
        value = getattr(form, trait, None)
        if isinstance(value, str) and value and value != "(none)":
            names.append(value)
        elif isinstance(value, list):
            names.extend(value)
    return names


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


def _size_columns(window):
    """Give the three columns (layers, scene, tabs) sensible widths: the splitter's own
    guess squeezes the tabs."""
    from pyface.qt import QtCore, QtGui

    for splitter in window.ui.control.findChildren(QtGui.QSplitter):
        if splitter.orientation() == QtCore.Qt.Horizontal and splitter.count() == 3:
            total = max(splitter.width(), sum(splitter.sizes()))
            side = int(total * 0.28)
            splitter.setSizes([side, total - 2 * side, side])
            break


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
                  window_size=(1200, 780)):
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
    window.ui = window.edit_traits()
    _install_drop(window)
    _size_columns(window)
    # again once shown: a real window system lays the splitter out anew on show
    GUI.invoke_later(_size_columns, window)
    if files:
        window.open_files(files)
    return window


def _notify_first_frame(window, path):
    """Write ``x y w h`` of the scene (screen pixels) to ``path`` after its first frame.

    Used by launch tests and benchmarks (``BRAINVIZ_READY_FILE``): the time the
    file appears is the time the first frame of the scene was on screen.
    """
    from pyface.api import GUI

    render_window = window.figure.scene.render_window
    state = {}

    def write():
        control = window.scene.scene_editor.control
        origin = control.mapToGlobal(control.rect().topLeft())
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{origin.x()} {origin.y()} {control.width()} {control.height()}")
        os.replace(tmp, path)

    def on_end(obj, event):
        if not state and window.sync is not None and window.sync.visuals:
            state["done"] = True
            render_window.remove_observer(state_id["id"])
            GUI.invoke_later(write)

    state_id = {"id": render_window.add_observer("EndEvent", on_end)}


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
