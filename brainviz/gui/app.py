"""The brainviz main window: the controller (this module) and its Qt window (:mod:`.mainwindow`).

Layout (:mod:`.mainwindow`): the viewer in the middle (the 3D scene and the linked
2D views, the cursor tools and the readout, :mod:`.viewer`); the layers panel
docked on the left; jobs and cache on the right; the IPython console and the time
course at the bottom. Every dock can be resized, closed (View menu) or floated.

Threading: jobs run on the backend runner's thread; :class:`~.workers.JobBridge`
hands their events to this thread, where results become layers. Errors from
anywhere go to :meth:`MainWindow.report_error` (one message box each); the
window keeps working.
"""
import logging
import os
from pathlib import Path

import numpy as np

from traits.api import Any, HasTraits, Instance, List, Str, observe

from ..model import JobState, SeriesLayer, Session
from ..exceptions import ParameterError
from ..session import (
    SessionFileError, add_recent_file, attach_surface_values, layers_from_result,
    attach_label_table, make_demo_session, open_path, open_paths, open_result_folder,
    place_new_layers,
    read_session, save_session, surface_file_kind, table_kind,
)
from .dialogs import ErrorReporter, ExportOptions
from .jobs import JobsPanel, input_names, jsonable
from .panels import CachePanel, LayersPanel

__all__ = ["MainWindow", "main", "create_window"]

log = logging.getLogger("brainviz.gui")

_VIEWS = ("left", "right", "anterior", "posterior", "superior", "inferior")


def _result_layers(result, folder, title):
    # runs on the job thread (see JobBridge): no Qt, no VTK
    return layers_from_result(result, folder=folder, title=title)


class MainWindow(HasTraits):
    """The application window: session, scene, panels, jobs and shell."""

    session = Instance(Session, ())
    scene = Instance(HasTraits)
    layers_panel = Instance(LayersPanel)
    jobs_panel = Instance(JobsPanel)
    cache_panel = Instance(CachePanel)
    #: The IPython console (``execute`` runs a line in it) and the time-course plot.
    shell_panel = Any()
    timecourse = Any()
    #: The central viewer: 3D scene, 2D views, cursor tools, readout.
    viewer = Any()
    #: Undo/redo of layer display edits.
    undo_stack = Any()
    #: issue 12: the result view (brainviz.gui.results), in its own dock.
    results_panel = Any()
    export_options = Instance(ExportOptions, ())

    readout = Str("Click in a view: the cursor goes there; its position, voxel and values show here.")
    status = Str()

    #: The scene binding (layers -> visuals, brainviz.scene.binding) once the scene exists.
    binding = Any()
    ui = Any()
    #: Scene size in pixels asked for at start.
    scene_size = Any((600, 500))
    #: The view the scene opens with (and Reset goes back to): from above, the slices
    #: and the whole graph show best.
    start_view = Str("superior")
    #: Window size in pixels at start (None: fit the screen).
    window_size = Any(None)
    #: Layers waiting for the scene (added before it was activated).
    _ready = List()

    def __init__(self, show_errors=True, **traits):
        super().__init__(**traits)
        self.errors = ErrorReporter(parent=lambda: self.ui.control if self.ui else None,
                                    show=show_errors)
        from .workers import JobBridge

        self.jobs_bridge = JobBridge(self._job_done, self._job_failed, prepare=_result_layers)
        self._timer = None
        from ._gc import MainThreadCollector

        # VTK objects in garbage cycles are freed on this thread, never on a job's
        self._collector = MainThreadCollector()
        from .console import ConsolePanel
        from .timecourse import TimeCoursePanel
        from .undo import UndoStack
        from .viewer import Viewer

        self.shell_panel = ConsolePanel(self)
        self.timecourse = TimeCoursePanel(self)
        self.undo_stack = UndoStack(self.session)
        self.viewer = Viewer(window=self)

    # --- defaults ---------------------------------------------------------
    def _scene_default(self):
        from .viewer import _scene_model

        return _scene_model()

    def scene_view(self):
        """The TraitsUI view of the 3D scene (with Mayavi's toolbar)."""
        from mayavi.core.ui.api import MayaviScene, SceneEditor
        from traitsui.api import Item, View

        width, height = self.scene_size
        return View(Item("scene", editor=SceneEditor(scene_class=MayaviScene), show_label=False,
                         width=min(width, 240), height=min(height, 200), resizable=True),
                    resizable=True)

    def _layers_panel_default(self):
        return LayersPanel(session=self.session, window=self)

    def populate_panels(self):
        """Make the jobs and cache panels (once).

        They need the analysis backend (scikit-learn, pandas): the window makes
        them right after the scene's first frame, so the brain is on screen first.
        """
        made = self.jobs_panel is None or self.cache_panel is None
        if self.jobs_panel is None:
            self.jobs_panel = JobsPanel(session=self.session, window=self)
        if self.cache_panel is None:
            panel = CachePanel(window=self)
            panel.update()
            self.cache_panel = panel
        if made and self.ui is not None and getattr(self.ui, "control", None) is not None:
            self.ui.dock_panels()
        return self.jobs_panel

    def _populate_after_first_frame(self):
        """After the scene's first frame, import the analysis backend on a thread, then
        make the jobs and cache panels on this thread.

        Importing scikit-learn and pandas takes most of a second; on a thread the
        window keeps answering (the import gives up the GIL every few milliseconds)
        instead of freezing just after it appears.
        """
        import threading

        from pyface.api import GUI

        render_window = self.figure.scene.render_window
        state = {}

        def import_backend():
            try:
                from ..backend import jobs  # noqa: F401 (scikit-learn, the slow part)
            except Exception as exc:  # populate_panels reports it on the GUI thread
                log.warning("backend import failed: %s", exc)
            _preimport_panel_modules()
            GUI.invoke_later(self._populate_if_open)

        def start_import():
            threading.Thread(target=import_backend, name="brainviz-backend-import",
                             daemon=True).start()

        def on_end(obj, event):
            if not state:
                state["done"] = True
                render_window.remove_observer(observer)
                _freeze_startup_objects()  # what the first frame needed stays
                # the 2D views, one per event-loop turn: the brain is on screen first. The
                # imports start after them: an import thread holding the GIL half the time
                # made each view's turn longer.
                self._run_steps([*self.viewer.slice_view_steps(), start_import],
                                "Could not make the 2D views")

        observer = render_window.add_observer("EndEvent", on_end)

    def _populate_if_open(self):
        """Make the side panels and dock them, one step per event-loop turn (the forms, the
        console, the time course, the cache and the result view each take a fraction of
        a second: together they froze the window for over a second). The cache panel is
        the window's last, when every dock is filled."""
        if not self._is_open():
            return  # the window closed meanwhile
        made = {}

        def jobs():
            if self.jobs_panel is None:
                self.jobs_panel = JobsPanel(session=self.session, window=self)

        def cache():
            if self.cache_panel is None:
                panel = CachePanel(window=self)
                panel.update()
                made["cache"] = panel

        def finish():
            if self.cache_panel is None and "cache" in made:
                self.cache_panel = made["cache"]
            _freeze_startup_objects()

        steps = [jobs, cache,
                 *self.ui.docking_steps(cache_panel=lambda: self.cache_panel or made.get("cache")),
                 finish, self._show_last_result]

        self._run_steps(steps, "Could not make the side panels")

    def later(self, call, context="Could not draw a layer"):
        """Run ``call`` in an event-loop turn of its own, after the calls already waiting
        (one per turn: the start-up's staged steps, each 2D view drawing a new layer). A
        call that fails is reported (``context``) and never stops the others; none runs
        once the window is closed."""
        from pyface.api import GUI

        queue = self.__dict__.setdefault("_later_calls", [])
        queue.append((call, context))
        if len(queue) == 1:
            GUI.invoke_later(self._run_later)

    @property
    def drawing_pending(self):
        """True while calls queued by :meth:`later` (start-up steps, 2D views drawing new
        layers) wait."""
        return bool(self.__dict__.get("_later_calls"))

    def _run_later(self):
        from pyface.api import GUI

        queue = self.__dict__.get("_later_calls") or []
        if not queue:
            return
        call, context = queue[0]
        try:
            if self._is_open():
                call()
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc, context)
        finally:
            queue.pop(0)
            if queue:
                GUI.invoke_later(self._run_later)

    def _is_open(self):
        return self.ui is not None and getattr(self.ui, "control", None) is not None

    def _run_steps(self, steps, context):
        """Run ``steps`` one per event-loop turn (through :meth:`later`) while the window is
        open; a step that fails is reported (``context``) and never stops the others."""
        for step in steps:
            self.later(step, context)

    def _results_panel_default(self):  # issue 12
        from .results import ResultsPanel

        return ResultsPanel(session=self.session, window=self)

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
        from ..scene._figure import disable_render, use_fast_antialiasing
        from ..scene.binding import bind
        from ..scene.statmap import interactive_cutouts
        from ._still import StillAntialiasing

        fig = self.figure
        # the same background as brainviz.mlab.figure() and `brainviz render`, so exports match
        fig.scene.background = (1.0, 1.0, 1.0)
        use_fast_antialiasing(fig)
        interactive_cutouts(fig)  # opaque maps' slices skip the transparency pass
        # frames of a cursor move or a turn skip FXAA; one anti-aliased frame follows
        self._still = StillAntialiasing(fig)
        self.session.observe(self._still.moving, "cursor")
        with disable_render(fig):
            self.binding = bind(self.session, fig, on_error=self.report_error)
        try:
            from ..scene import picking

            picking.on_pick(fig, self._on_pick)
        except Exception as exc:  # picking is optional: the scene still works
            log.warning("picking unavailable: %s", exc)
        self._camera_from_session = bool(self.session.camera)
        if not self.session.camera:
            self.set_view(self.start_view)
        self._enable_slice_dragging(fig)
        self.shell_panel.update_namespace()
        self._populate_after_first_frame()

    def set_view(self, name):
        """Show a named view (left, right, anterior, ...) framing the whole brain."""
        try:
            # frames what is drawn (the head of an anatomy, not its image's field of view)
            self.binding.show_view(name)
            # the view to frame again when the views' sizes settle, unless the camera moves
            self._named_view = (name, self.binding.current_camera())
        except Exception as exc:
            self.report_error(exc, f"Could not show the {name} view")

    def reframe_named_view(self):
        """Frame the last named view again (the scene's size changed), unless the camera
        has been moved since: a user's own view is never taken away."""
        name, camera = getattr(self, "_named_view", (self.start_view, None))
        if camera is not None and self.binding is not None:
            now = self.binding.current_camera()
            if not all(np.allclose(now[key], camera[key], atol=1e-6)
                       for key in ("position", "focal_point", "view_up")):
                return
        self.set_view(name)

    def _enable_slice_dragging(self, figure):
        """Ctrl + drag on a slice of the 3D scene moves it (a plain drag rotates the camera)."""
        from .slice_drag import install_slice_dragging

        self._slice_drag = install_slice_dragging(self, figure)

    # --- cursor tools ---------------------------------------------------------
    def selected_volume_layer(self):
        """The selected layer if it is a volume, else the first volume layer (None if none)."""
        return self.viewer._selected_volume()

    def go_to_peak(self, which="max"):
        """Move the cursor to the largest ("max") or smallest ("min") value of the selected map."""
        layer = self.selected_volume_layer()
        if layer is None:
            self.status = "Open an image first: the cursor goes to its peak."
            return None
        try:
            frame = max(int(getattr(layer, "frame", 0)), 0) if layer.data.n_frames > 1 else 0
            self.session.move_cursor(layer.data.peak(which, frame=frame))
        except Exception as exc:
            self.report_error(exc, f"Could not find the {which}imum of {layer.name}")
            return None
        self.status = f"Cursor at the {which}imum of {layer.name}"
        return self.session.cursor

    def centre_on_layer(self, layer=None):
        """Put the cursor at the centre of a layer's bounds and frame it in every view."""
        from ..scene.views import set_view

        layer = layer or (self.layers_panel.selected if self.layers_panel else None)
        visual = self.binding.visuals.get(layer) if self.binding is not None else None
        if visual is None:
            self.status = "Select a drawn layer to centre on it."
            return None
        b = np.asarray(visual.bounds, dtype=float)
        self.session.move_cursor((b[0::2] + b[1::2]) / 2)
        set_view(self.figure, self.start_view, bounds=tuple(b))
        self.binding.store_camera()
        for view in self.viewer.slice_views:
            view.frame()
        return self.session.cursor

    def set_layout(self, name):
        """Show "2D + 3D", "3D only" or "2D only"."""
        self.viewer.layout = name

    def undo(self):
        text = self.undo_stack.undo()
        self.status = f"Undone: {text}" if text else "Nothing to undo"

    def redo(self):
        text = self.undo_stack.redo()
        self.status = f"Redone: {text}" if text else "Nothing to redo"

    def get_camera(self):
        """The camera as a JSON-compatible dict (also kept in ``session.camera``)."""
        return self.binding.store_camera()

    def _on_pick(self, info):
        """A click in the 3D scene: the cursor goes there (the readout follows it); a node or
        an edge under the click is named in the status line."""
        if info.position_mm is None:
            self.status = "Nothing under the click."
            return
        extra = []
        if info.node is not None:
            index, label, _ = info.node
            extra.append(f"node {index}: {label}")
        if info.edge is not None:
            i, j, weight = info.edge
            extra.append(f"edge {i}-{j}: weight {weight:.4g}")
        self.session.move_cursor(info.position_mm)
        if extra:
            self.readout = self.readout + "   " + "   ".join(extra)
            self.status = "   ".join(extra)

    # --- files and sessions ----------------------------------------------
    def open_files(self, paths, layer_type=None):
        """Open files as layers (the file dialog, drag and drop, recent files and the command
        line all come here); returns the new layers. Files opened together pair up (a matrix
        and its coordinates, a label image and its table); per-vertex data and label tables
        opened alone go onto the surface or label image they fit. Errors become dialogs."""
        added, rest = [], []
        # files opened into an empty window (the command line's, or after removing every
        # layer) are framed as the demo is: the camera had framed nothing
        was_empty = not self.session.layers
        for path in (str(p) for p in paths):
            if path.lower().endswith(".json") and Path(path).is_file():
                self.open_session(path)
                continue
            try:
                if surface_file_kind(path) == "values":
                    self._attach_surface_values(path)
                    add_recent_file(path)
                    continue
                if table_kind(path) == "labels" and not any(
                        table_kind(p) is None and not str(p).lower().endswith(".json")
                        for p in paths if str(p) != path):
                    target = self._label_layer_for_table()
                    attach_label_table(target, path)
                    self.status = f"{Path(path).name} names the regions of {target.name}"
                    add_recent_file(path)
                    continue
            except Exception as exc:
                self.report_error(exc, f"Could not open {Path(path).name}")
                continue
            rest.append(path)
        if layer_type is None:  # result folders: their maps, and their job, from one read
            for path in [p for p in rest if Path(p).is_dir()]:
                rest.remove(path)
                try:
                    layers, job = open_result_folder(path)
                except Exception as exc:
                    self.report_error(exc, f"Could not open {Path(path).name}")
                    continue
                added += place_new_layers(self.session, layers)
                add_recent_file(path)
                self._add_result_job(job)
        for group in ([rest] if layer_type is None else [[p] for p in rest]):
            if not group:
                continue
            try:
                layers = (open_paths(group) if layer_type is None
                          else open_path(group[0], layer_type=layer_type))
            except Exception as exc:
                names = ", ".join(Path(p).name for p in group)
                if len(group) > 1:  # open the others on their own: one bad file does not stop them
                    for path in group:
                        added += self.open_files([path])
                    continue
                self.report_error(exc, f"Could not open {names}")
                continue
            added += place_new_layers(self.session, layers)
            for path in group:
                add_recent_file(path)
        if self.jobs_panel is not None and "_opened_job" in self.__dict__:
            self._show_last_result()  # else when the side panels are made
        if added:
            self.status = f"Opened {', '.join(lay.name for lay in added)}"
            if self.layers_panel is not None:
                self.layers_panel.refresh_recent()
            if was_empty and self.figure is not None and self.binding is not None \
                    and not any(p.lower().endswith(".json") for p in map(str, paths)):
                self.set_view(self.start_view)
        return added

    def _add_result_job(self, state):
        """A result folder's job (``brainviz decode`` or ``connectivity``'s, opened): in the
        job list, its result (scores and confusion, the matrix) in the result view brought
        to the front, linked to the layers opened from it, as for a job run here. A folder
        opened before shows its job again."""
        known = [job for job in self.session.jobs if job.result_folder == state.result_folder]
        if known:
            self._opened_job = known[-1]
            return
        self.session.jobs.append(state)  # the job list selects it: the view shows it
        state.shown = True
        self._opened_job = state

    def _show_last_result(self):
        """The job of a result folder just opened selected, its result in the result view
        brought to the front; else the job list's last job selected when none is (files
        opened at start-up, or a reopened session's jobs, come before the side panels)."""
        panel = self.jobs_panel
        if panel is None or not self.session.jobs:
            return
        opened = self.__dict__.pop("_opened_job", None)
        if opened is not None and opened in self.session.jobs:
            panel.selected = opened
            docks = getattr(self.ui, "docks", None) or {}
            if "Result" in docks:
                docks["Result"].raise_()
        elif panel.selected is None:
            panel.selected = self.session.jobs[-1]

    def _label_layer_for_table(self):
        from ..model import ComponentsLayer, LabelLayer

        labels = [lay for lay in self.session.layers_of_type(LabelLayer)
                  if not isinstance(lay, ComponentsLayer)]
        selected = self.layers_panel.selected if self.layers_panel is not None else None
        if not labels:
            raise ParameterError("A label table names the regions of a label image: open the "
                                 "image first (or both together).")
        return selected if selected in labels else labels[-1]

    def _attach_surface_values(self, path):
        """Per-vertex data goes onto the surface it fits: the selected surface layer, else the
        last one whose mesh has as many vertices."""
        from ..data import load_surface_data
        from ..model import SurfaceLayer

        n = len(load_surface_data(path))
        surfaces = [lay for lay in self.session.layers_of_type(SurfaceLayer)
                    if len(lay.data) == 1 and lay.data[0].n_vertices == n]
        selected = self.layers_panel.selected if self.layers_panel is not None else None
        if not surfaces:
            raise ParameterError(
                f"{Path(path).name} holds values for {n} vertices, and no open surface has that "
                "many: open the mesh first (File > Open...), then this file.")
        target = selected if selected in surfaces else surfaces[-1]
        attach_surface_values(target, path)
        self.status = f"{Path(path).name} shown on {target.name}"
        return target

    def open_session_dialog(self):
        from .dialogs import ask_open_session

        path = ask_open_session(self.ui.control if self.ui else None)
        if path:
            self.open_session(path)

    def save_session_dialog(self):
        from .dialogs import ask_save_file

        path = ask_save_file(self.ui.control if self.ui else None, "Save session",
                             default="session.json")
        if path:
            self.save_session(path)

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
            if self.binding is not None:
                self.binding.store_camera()
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
        # all or nothing: what the window showed comes back if replacing it fails
        camera = self.get_camera() if self.figure is not None else dict(self.session.camera)
        before = (list(self.session.layers), list(self.session.jobs), self.session.cursor,
                  camera, self.session.path, self.session.title, self.session.confusion)
        try:
            self._replace_session(session, path)
        except Exception as exc:
            self._replace_session_state(*before)
            self.report_error(exc, f"Could not open the session {Path(path).name}")
            return None
        if missing:
            names = ", ".join(missing)
            self.report_error(SessionFileError(
                f"These files of the session were moved or deleted and were not opened: {names}",
                missing=missing), f"Session {Path(path).name}")
        return self.session

    def _replace_session(self, session, path):
        # emptied in place: views following the list see item events, not a new list
        del self.session.layers[:]
        for layer in session.layers:
            self.session.add_layer(layer)
        self.session.jobs[:] = list(session.jobs)
        self.session.cursor = session.cursor
        self.session.title = session.title
        self.session.confusion = session.confusion
        self.session.camera = session.camera  # the binding points the scene's camera
        self.session.path = str(path)

    def _replace_session_state(self, layers, jobs, cursor, camera, path, title, confusion):
        del self.session.layers[:]
        self.session.layers.extend(layers)  # the same layers, names kept
        self.session.jobs[:] = jobs
        self.session.cursor = cursor
        self.session.title = title
        self.session.confusion = confusion
        self.session.path = path
        try:
            self.session.camera = camera  # the binding points the scene's camera back
        except Exception:  # noqa: BLE001 - the view is cosmetic; the layers are back
            pass

    # --- export ---------------------------------------------------------------
    def export_figure(self, options=None):
        """Write the figure with the export code (same as ``brainviz render``); return the Path."""
        options = options or self.export_options
        try:
            out = options.export(self.figure, colorbar=self.colorbar_visual())
        except Exception as exc:
            self.report_error(exc, "Could not export the figure")
            return None
        self.status = f"Figure written to {out}"
        return out

    def colorbar_visual(self):
        """The visual a montage's colour bar explains, picked as ``brainviz render`` picks
        (:meth:`~brainviz.scene.binding.SceneBinding.colorbar_visual`), preferring the
        selected layer."""
        if self.binding is None:
            return None
        selected = self.layers_panel.selected if self.layers_panel is not None else None
        return self.binding.colorbar_visual(selected)

    def render_command(self):
        """The ``brainviz render`` command line (a string) that draws the current scene, as the
        export dialog's options would write it."""
        import shlex

        from ..session import render_command

        self.binding.store_camera()
        options = self.export_options
        size = options.size_kwargs().get("size") if options.mode == "figure" else None
        if not size:
            size = options.figure_size(self.figure)
        words = render_command(self.session, output=options.path, size=size)
        if options.transparent:
            words.append("--transparent")
        return shlex.join(words)

    def copy_render_command(self):
        """Put :meth:`render_command` on the clipboard; returns it (None on error)."""
        try:
            text = self.render_command()
        except Exception as exc:
            self.report_error(exc, "Could not make the render command")
            return None
        from pyface.qt import QtGui

        QtGui.QApplication.clipboard().setText(text)
        self.status = "Render command copied to the clipboard"
        return text

    def export_dialog(self):
        try:
            self.export_options.note_auto_size(self.figure)
        except Exception:  # noqa: BLE001 - only a note; the dialog works without it
            self.export_options.auto_size = ""
        ui = self.export_options.edit_traits(kind="livemodal",
                                             parent=self.ui.control if self.ui else None)
        if ui.result:
            self.export_figure()

    # --- jobs ---------------------------------------------------------------
    def start_job(self, form):
        """Start the job described by ``form`` (a JobForm); returns its JobState or None."""
        self.populate_panels()
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
        state = JobState(kind=form.kind, title=form.title(), params=jsonable(form.params.values()),
                         inputs=input_names(form))
        self.session.jobs.append(state)
        self.jobs_bridge.submit(state, job, *args, **kwargs)
        self._ensure_timer()
        return state

    def cancel_job(self, state):
        self.jobs_bridge.cancel(state)

    def _job_done(self, state, result, layers):
        if isinstance(layers, Exception):
            self.report_error(layers, f"The {state.kind} job finished but its result cannot be shown")
            return
        # --- issue 12: results in their place (a group of layers over the anatomy of the
        # job's images, the other overlays hidden, framed), the headline and the result view
        from pyface.api import GUI

        from ..session import layers_bounds, place_result

        pending = list(layers or [])
        state.headline = getattr(result, "headline", "") or ""
        anatomy = None
        for name in state.inputs:
            try:
                candidate = self.session.get_layer(name)
            except KeyError:
                continue
            if isinstance(candidate, SeriesLayer):
                anatomy = candidate
                break
        def place():
            # in the next event-loop turn: the turn that says "done" stays short
            notes = place_result(self.session, pending, anatomy=anatomy, add=False)
            self.status = "   ".join([f"{state.title}: {state.headline or state.message}",
                                      *notes])
            GUI.invoke_later(add_next)  # the first layer in a turn of its own

        def add_next():
            # one layer per event-loop turn: drawing each is a short stall, not one long one.
            # The 2D views draw it in turns of their own (queued by add_layer), before the
            # next layer comes.
            if pending:
                self.session.add_layer(pending.pop(0))
                self.later(add_next)
            else:
                self._frame_layers(layers_bounds(layers or []))
                docks = getattr(self.ui, "docks", None) or {}
                if "Result" in docks:  # the result view comes to the front (and gets its size)
                    docks["Result"].raise_()
                try:
                    self.results_panel.prepare(state)
                except Exception as exc:  # noqa: BLE001
                    self.report_error(exc, "Could not draw the result view")
                # the result view is made in one turn, laid out in the next and drawn in
                # the one after (each of the three was a long stall of its own); a step
                # that fails is reported and the next still runs
                panel = self.results_panel
                for step in (lambda: panel.show_job(state, draw=False, layout=False),
                             panel.layout_now, panel.draw_now):
                    self.later(step, "Could not draw the result view")
                self.later(lambda: setattr(state, "shown", True))

        self.status = f"{state.title}: {state.headline or state.message}"
        GUI.invoke_later(place)
        if self.cache_panel is not None:
            GUI.invoke_later(self.cache_panel.update)

    def _frame_layers(self, bounds):  # issue 12
        """Point the camera (same direction) so that ``bounds`` fill the scene."""
        if bounds is None or self.figure is None or self.binding is None:
            return
        from ..scene.views import frame_bounds

        try:
            frame_bounds(self.figure, bounds)
            self.binding.store_camera()
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc, "Could not frame the result")

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
        """Cancel running jobs and stop timers (window closing); safe to call twice."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        if self._timer is not None:
            self._timer.Stop()
            self._timer = None
        self.jobs_bridge.shutdown()
        self.errors.uninstall()
        self.timecourse.shutdown()
        self.shell_panel.shutdown()
        self.undo_stack.close()
        self.viewer.dispose()
        self._collector.stop()
        still = self.__dict__.get("_still")
        if still is not None:
            self.session.observe(still.moving, "cursor", remove=True)
            still.close()
        if self.binding is not None:
            self.binding.close()
        # the start-up's frozen objects go back to the collector: left frozen, the scenes'
        # VTK and Qt wrappers were freed only in the interpreter's last teardown, after Qt,
        # and a script that closed the window crashed on exit about one time in six
        import gc

        gc.unfreeze()

    def build_ui(self):
        """Make the Qt main window (docks, menus, shortcuts, viewer); returns its UI handle."""
        from .mainwindow import build_main_window

        self.ui = build_main_window(self)
        return self.ui


def create_window(*args, **kwargs):
    """Make and show the main window; see :func:`brainviz.gui.launch.create_window`."""
    from .launch import create_window as _create_window

    return _create_window(*args, **kwargs)


def main(files=(), demo=None):
    """Open the window and run the event loop; see :func:`brainviz.gui.launch.main`."""
    from .launch import main as _main

    return _main(files, demo=demo)


def _freeze_startup_objects():
    """Keep the start-up's objects (Mayavi's engine, the scenes, the panels, the imported
    modules: millions of them) out of Python's full garbage collections from now on.

    Each full collection walked them all: a pause of about half a second, at a random
    moment, often while a job's results were drawn. ``gc.freeze`` moves the objects alive
    now to a generation the collector never scans; what is made later is collected as
    before (what the start-up left as garbage stays: a few thousand objects). Called at
    the start-up's stages (window built, first frame, panels made).
    """
    import gc

    gc.freeze()


def _preimport_panel_modules():
    """Import what the console and the matplotlib panels need (IPython, ipykernel, the
    matplotlib Qt canvas), off the GUI thread: only modules, no widget is made here. The
    GUI thread then makes the widgets without a second-long freeze."""
    import importlib

    # ipykernel's debugger warns about frozen modules when imported: not for users (as the
    # console does before it starts its kernel)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in ("qtconsole.inprocess", "qtconsole.rich_jupyter_widget",
                 "matplotlib.figure", "matplotlib.backends.backend_qtagg",
                 # the in-process kernel's own imports (its debugger imports debugpy: a
                 # quarter of a second on the GUI thread when the console was made)
                 "ipykernel.inprocess.ipkernel", "ipykernel.debugger",
                 "IPython.core.completerlib", "tornado.platform.asyncio",
                 # what the job forms import when they are made: the cleaning options
                 # (nilearn's fMRIPrep interface), the inputs' checks, the result view
                 "brainviz.backend.cache", "brainviz.backend._cleaning",
                 "brainviz.backend._inputs", "brainviz.backend._parallel",
                 "brainviz.backend.results", "brainviz._schema", "nilearn.interfaces.fmriprep",
                 "sklearn.preprocessing", "traitsui.extras.progress_column",
                 "brainviz.gui.results"):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the GUI thread imports (and reports) it again
            log.warning("could not import %s ahead: %s", name, exc)
