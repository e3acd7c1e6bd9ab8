"""The result view panel: what a finished job found, as a matplotlib figure linked to the scene.

Self-contained: the window makes one :class:`ResultsPanel` (``ResultsPanel(window=...)``),
puts it in a tab and calls :meth:`ResultsPanel.show_job` when a job finishes (or is
selected in the job list). The figures are the result views of
``brainviz.backend.displays`` (the same as ``result.plot()`` and the files the CLI
writes), drawn into one figure embedded with a small Qt canvas editor.

Linked views (the panel only edits layers; the scene draws them):

- connectivity: a click on a cell of the matrix sets the job's connectome layer
  ``highlight = (i, j)`` (the edge and its two nodes, with names and weight, in the
  scene); a click on a node in the scene sets ``highlight = (i, -1)`` and the matrix
  outlines that node's row;
- regions: a click on a region's thumbnail shows that region alone (the layer's
  ``region``), a click elsewhere shows them all again;
- decoding (three classes or more): a click on a row of the confusion matrix shows that
  class's weight map alone (the others hidden) with the cursor at its peak, and outlines
  the row.

"Save figure..." writes the result shown (as shown, laid out at a paper's size) to a PNG,
SVG or PDF file (:meth:`ResultsPanel.save_figure`).

Above a decoding result, "Confusion" writes the counts (scikit-learn's default) or
each class's share in the cells (its ``normalize``: of each true class, of each
prediction, of all samples).
"""
import logging

from traits.api import Any, Bool, Button, Enum, HasTraits, Instance, Str, observe
from traits.observation.exceptions import NotifierNotFound
from traitsui.api import HGroup, Item, VGroup, View
from traitsui.basic_editor_factory import BasicEditorFactory
from traitsui.qt.editor import Editor

from ..backend.displays import ConfusionDisplay
from ..model import ComponentsLayer, ConnectomeLayer, JobState, Session

__all__ = ["ResultsPanel", "FigureEditor"]

log = logging.getLogger("brainviz.gui")


class _FigureEditorImpl(Editor):
    """A matplotlib Figure in a Qt canvas (the figure itself stays the value)."""

    scrollable = True

    def init(self, parent):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        self.control = FigureCanvasQTAgg(self.value)
        self.control.setMinimumSize(200, 160)

    def update_editor(self):
        self.control.draw_idle()


class FigureEditor(BasicEditorFactory):
    """Show a :class:`matplotlib.figure.Figure` trait in a Qt canvas."""

    klass = _FigureEditorImpl


def _new_figure():
    from matplotlib.figure import Figure

    return Figure(figsize=(4.0, 3.2), layout="constrained")


class ResultsPanel(HasTraits):
    """The view of one job's result: scores and confusion, a matrix, or regions."""

    session = Instance(Session)
    #: The main window (for its scene and error handler), or None.
    window = Any()
    #: The job shown.
    job = Instance(JobState)
    #: What the panel says above the figure (the job's title and headline).
    caption = Str("Results appear here when a job finishes.")
    figure = Any()
    #: The displays drawn (kind -> display).
    displays = Any(factory=dict)
    #: The layers the view is linked to (the job's connectome or regions).
    connectome = Instance(ConnectomeLayer)
    regions = Instance(ComponentsLayer)
    #: A multi-class decoding's weight-map layers, by class name.
    weight_maps = Any(factory=dict)
    #: What the confusion matrix's cells show: the counts, or each class's share
    #: (:attr:`ConfusionDisplay.NORMALIZE`).
    confusion_shows = Enum(*ConfusionDisplay.NORMALIZE.values())
    #: Whether a decoding result is shown (the choice above is offered with it).
    has_confusion = Bool(False)
    #: Write the result shown to a PNG, SVG or PDF file at a paper's size (a file dialog).
    save = Button("Save figure...")
    #: Whether a result is shown (it can be saved).
    has_result = Bool(False)
    _showing = Bool(False)  # show_class is switching the maps: one outline, at its end

    def __init__(self, **traits):
        super().__init__(**traits)
        if self.figure is None:
            self.figure = _new_figure()
        self._click_id = None
        self._remove_pick = None
        self._session_confusion_changed(None)  # as the session last showed them

    # --- showing a job ----------------------------------------------------
    def show_job(self, state, draw=True, layout=True):
        """Draw the result of ``state`` (a finished JobState); returns the displays.

        With ``draw=False`` the figure is made and laid out but not drawn: the caller draws
        it (:meth:`draw_now`) in another event-loop turn. With ``layout=False`` as well, it
        is not laid out either: the caller calls :meth:`layout_now`, then :meth:`draw_now`,
        each in a turn of its own (the window: three turns of 40-90 ms rather than one of
        150 ms and one of 70).
        """
        result = getattr(state, "result", None)
        self.job = state
        self._thaw_layout()
        self.figure.clear()
        self.displays = {}
        self.connectome = self.regions = None
        self.weight_maps = {}
        kind = getattr(result, "_kind", "")
        self.has_confusion = kind == "decoding"
        self.has_result = result is not None
        if result is None:
            self.caption = f"{state.title}: {state.state}" if state is not None else ""
            self._redraw()
            return self.displays
        self.caption = f"{state.title}: {state.headline}" if state.headline else state.title
        displays = self._new_displays(state)
        if kind == "decoding":
            left, right = self._decoding_axes()
            self.displays["scores"] = displays["scores"].plot(ax=left)
            confusion = displays["confusion"]
            self.weight_maps = self._class_maps(state, confusion.classes)
            confusion.selected_ = self._shown_class(confusion)
            self.displays["confusion"] = confusion.plot(ax=right)
            for ax in (left, right):  # a long title takes two lines in a narrow view
                ax.title.set_wrap(True)
        else:
            if kind == "connectivity":
                self.connectome = self._job_layer(state, ConnectomeLayer)
            elif kind == "regions":
                self.regions = self._job_layer(state, ComponentsLayer)
            for name, display in displays.items():
                self.displays[name] = display.plot(ax=self.figure.add_subplot())
        self._connect()
        if draw:
            self._redraw()
        elif layout:
            self.layout_now()
        return self.displays

    def _new_displays(self, state):
        """The views of ``state``'s result, not drawn yet (name -> display): what the panel
        shows and what :meth:`save_figure` writes."""
        from ..backend.displays import (
            MatrixDisplay, RegionsDisplay, ScoresDisplay, SearchlightDisplay,
        )

        result = state.result
        kind = getattr(result, "_kind", "")
        if kind == "decoding":
            return {"scores": ScoresDisplay.from_result(result),
                    "confusion": ConfusionDisplay.from_result(result,
                                                              normalize=self._normalize())}
        if kind == "connectivity":
            layer = self._job_layer(state, ConnectomeLayer)
            if layer is not None and layer.data is not None:
                # the layer's edges and names; the colour bar names what the numbers are,
                # as for a saved result
                return {"matrix": MatrixDisplay.from_layer(
                    layer, title="", colorbar_label=getattr(result, "kind_", None) or "weight")}
            return {"matrix": MatrixDisplay.from_result(result, title="")}
        if kind == "regions":
            return {"regions": RegionsDisplay.from_result(result, ncols=3, title="")}
        if kind == "searchlight":  # the map is in the scene; here how its spheres scored
            return {"searchlight": SearchlightDisplay.from_result(result)}
        return {}

    #: the saved result view's size (inches) by kind of result: a journal's column and a half
    SAVE_SIZES = {"decoding": (9.0, 3.8), "connectivity": (6.5, 5.5), "regions": (7.0, 6.0),
                  "searchlight": (6.0, 4.0)}

    def save_figure(self, path, dpi=300):
        """Write the result shown as the view shows it (a decoding's scores beside its
        confusion, in the numbers "Confusion" picks), laid out at a paper's size
        (:data:`SAVE_SIZES`, the dock's shape aside): PNG at ``dpi``, SVG or PDF (text kept
        as text) by ``path``'s suffix, written whole or not at all. Returns the Path."""
        from pathlib import Path

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .._files import write_atomic
        from ..exceptions import ParameterError

        state = self.job
        result = getattr(state, "result", None)
        if result is None:
            raise ParameterError("No result is shown: run a job or open a result folder "
                                 "first, then save its figure.")
        path = Path(path).expanduser()
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg", "pdf"):
            raise ParameterError(f"Cannot save the result figure as {path.name}: expected a "
                                 ".png, .svg or .pdf file name.")
        kind = result._kind
        displays = self._new_displays(state)
        if not displays:
            raise ParameterError(f"A {kind} result has no figure to save.")
        style = next(iter(displays.values()))._style
        with style():
            figure = Figure(figsize=self.SAVE_SIZES.get(kind, (6.0, 4.5)), layout="constrained")
            FigureCanvasAgg(figure)
            if kind == "decoding":
                axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1.3, 1.0)})
            else:
                axes = [figure.add_subplot()]
            for display, ax in zip(displays.values(), axes):
                display.plot(ax=ax)
            engine = figure.get_layout_engine()
            for again in (True, False):  # labels fitted to their room, as in the view
                engine.execute(figure)
                for display in displays.values():
                    if hasattr(display, "fit_counts"):
                        display.fit_counts()
                    elif hasattr(display, "fit"):
                        display.fit()

            def write(tmp):
                figure.savefig(tmp, format=fmt, dpi=dpi)

            return write_atomic(path, write)

    def _save_fired(self):
        import re
        from pathlib import Path

        from .dialogs import ask_save_file

        if self.job is None or getattr(self.job, "result", None) is None:
            return
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", self.job.title or "result").strip("_")
        folder = Path(self.job.result_folder) if self.job.result_folder else Path.cwd()
        parent = getattr(getattr(self.window, "ui", None), "control", None)
        path = ask_save_file(parent, "Save the result figure",
                             filter="PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)",
                             default=str(folder / f"{stem or 'result'}.png"))
        if not path:
            return
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        try:
            written = self.save_figure(path)
        except Exception as exc:  # noqa: BLE001 - the view keeps working
            self._error(exc, "Could not save the result figure")
            return
        if self.window is not None and hasattr(self.window, "status"):
            self.window.status = f"Saved the result figure to {written}"

    def _normalize(self):
        """ConfusionDisplay's ``normalize`` for what the cells are to show."""
        return {shows: key for key, shows in ConfusionDisplay.NORMALIZE.items()}[
            self.confusion_shows]

    @observe("session:confusion")
    def _session_confusion_changed(self, event):
        # a session opened (or set from the shell) says how its confusion matrices show
        if self.session is not None:
            key = None if self.session.confusion == "counts" else self.session.confusion
            self.confusion_shows = ConfusionDisplay.NORMALIZE[key]

    @observe("confusion_shows")
    def _confusion_shows_changed(self, event):
        if self.session is not None:  # kept with the session, saved with it
            self.session.confusion = self._normalize() or "counts"
        # the result drawn again with the cells' new numbers (its class's row still outlined)
        if self.job is not None and "confusion" in self.displays:
            try:
                self.show_job(self.job)
            except Exception as exc:  # noqa: BLE001 - the view stays as it was
                self._error(exc, "Could not draw the confusion matrix again")

    def layout_now(self):
        """Lay the figure out now (after ``show_job(..., draw=False, layout=False)``)."""
        if self.figure.canvas is not None:
            self._layout_now()

    def draw_now(self):
        """Draw the figure in its canvas now (after ``show_job(..., draw=False)``)."""
        canvas = self.figure.canvas
        if canvas is not None:
            canvas.draw()

    def prepare(self, state):
        """Before :meth:`show_job` (an event-loop turn earlier): clear the view and give it
        the size ``state``'s kind of result needs. The canvas' resize then draws an empty
        figure, not the new one a second time."""
        self._thaw_layout()
        self.figure.clear()
        self._size_for(getattr(getattr(state, "result", None), "_kind", ""))
        if self.figure.canvas is not None:  # nothing to lay out: the empty view is drawn
            self.figure.canvas.draw_idle()

    def _stacked(self):
        """Whether a decoding result's two plots go one above the other (a narrow view)."""
        canvas = self.figure.canvas
        width = canvas.width() if hasattr(canvas, "width") else 0
        height = canvas.height() if hasattr(canvas, "height") else 0
        return bool(width and height and width < 1.4 * height)

    def _size_for(self, kind):
        """A narrow view stacking a decoding result's plots is made tall enough for both
        (its dock scrolls)."""
        canvas = self.figure.canvas
        if not hasattr(canvas, "setMinimumHeight"):
            return
        height = 160
        if kind == "decoding" and self._stacked():
            height = 2 * max(220, int(0.8 * canvas.width()))
        if canvas.minimumHeight() != height:
            canvas.setMinimumHeight(height)

    def _decoding_axes(self):
        """The scores' and the confusion's axes: side by side in a wide view, one above the
        other in a narrow one (a side dock)."""
        self._size_for("decoding")
        if self._stacked():
            return self.figure.subplots(2, 1, gridspec_kw={"height_ratios": (1.0, 1.1)})
        return self.figure.subplots(1, 2, gridspec_kw={"width_ratios": (1.3, 1.0)})

    def _job_layers(self, state, cls):
        """The session's layers of type ``cls`` from the job's result folder, else those of
        its group."""
        if self.session is None:
            return []
        found = [lay for lay in self.session.layers_of_type(cls)
                 if state.result_folder and lay.result_folder == state.result_folder]
        if not found:
            found = [lay for lay in self.session.layers_of_type(cls)
                     if state.title and lay.group == state.title]
        return found

    def _job_layer(self, state, cls):
        found = self._job_layers(state, cls)
        return found[-1] if found else None

    def _class_maps(self, state, classes):
        """A multi-class decoding's weight-map layers in the session, by class name (empty
        for a binary decoding: its one map is both classes')."""
        from ..model import StatMapLayer

        if len(classes) < 3:
            return {}
        maps = {lay.result_key[len("weight_maps/"):]: lay
                for lay in self._job_layers(state, StatMapLayer)
                if lay.result_key.startswith("weight_maps/")}
        return {name: maps[name] for name in classes if name in maps}

    def _shown_class(self, display):
        """The class whose map alone is shown (its row is outlined); None when none is, or
        several are."""
        shown = [k for k, name in enumerate(display.classes)
                 if name in self.weight_maps and self.weight_maps[name].visible]
        return shown[0] if len(shown) == 1 else None

    def show_class(self, i):
        """Show the weight map of class ``i`` (of the confusion matrix) alone, its row
        outlined and the cursor at its peak."""
        display = self.displays.get("confusion")
        if display is None or i is None or not (0 <= i < len(display.classes)):
            return
        layer = self.weight_maps.get(display.classes[i])
        if layer is None:
            return
        self._showing = True
        try:
            for other in self.weight_maps.values():
                if other is not layer:
                    other.visible = False
            layer.visible = True
        finally:
            self._showing = False
        window = self.window
        panel = getattr(window, "layers_panel", None)
        if panel is not None:  # its settings, and the voxel boxes, are the map shown
            panel.selected = layer
        if self.session is not None and layer.data is not None:
            from ..session import peak_cursor

            self.session.move_cursor(peak_cursor(layer))
        if window is not None and hasattr(window, "status"):
            title = getattr(self.job, "title", "") or "decoding"
            window.status = (f"{title}: the weight map of {display.classes[i]!r} shown; click "
                             "another row of the confusion matrix for another class's.")
        display.select(i)
        self._redraw()

    def _redraw(self):
        canvas = self.figure.canvas
        if canvas is not None:
            self._layout_now()
            canvas.draw_idle()

    def _layout_now(self):
        """Lay the figure out now and keep that layout for the drawing, which comes in the
        next event-loop turn: the constrained layout (the size of every text) and the
        drawing, one after the other, were the longest stall as a job's results appeared.
        The layout is made again when the canvas changes size, and before a new job."""
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        figure, canvas = self.figure, self.figure.canvas
        engine = figure.get_layout_engine()
        if not isinstance(engine, ConstrainedLayoutEngine) or not hasattr(canvas, "width"):
            return
        from pyface.qt import QtCore, QtGui

        # the canvas at the size the panel gives it now (a new caption, a raised dock: the
        # caption's layout, then the scroll area's, then the canvas's)
        for _ in range(3):
            QtGui.QApplication.sendPostedEvents(None, QtCore.QEvent.LayoutRequest)
        if canvas.width() <= 1 or canvas.height() <= 1:
            return
        if getattr(self, "_resize_id", None) is None:
            self._resize_id = canvas.mpl_connect("resize_event", self._resized)
        self._execute_layout(engine)

    def _execute_layout(self, engine):
        """Lay the figure out with ``engine`` and keep that layout (see :meth:`_layout_now`);
        a decoding result's labels then take the room they have."""
        engine.execute(self.figure)
        confusion = self.displays.get("confusion")
        fitted = [d for d in self.displays.values() if hasattr(d, "fit")]
        if confusion is not None or fitted:
            # labels fitted to the room the layout gave them, then laid out again around
            # them (upright class names are taller), then fitted to that
            for again in (True, False):
                if confusion is not None:
                    confusion.fit_counts()
                for display in fitted:
                    display.fit()
                if again:
                    engine.execute(self.figure)
        self.figure.set_layout_engine("none")
        self._frozen_engine = engine

    def _resized(self, event):
        """The canvas changed size: lay the figure out again for it, now when a decoding
        result's labels must fit their new room, else at the next drawing."""
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        self._thaw_layout()
        engine = self.figure.get_layout_engine()
        if self.displays.keys() & {"confusion", "scores", "searchlight"} \
                and isinstance(engine, ConstrainedLayoutEngine):
            try:
                self._execute_layout(engine)
            except Exception as exc:  # noqa: BLE001 - the view is drawn as it was laid out
                self._error(exc, "Could not lay the result view out again")

    def _thaw_layout(self):
        """The figure lays itself out again at its next drawing (see :meth:`_layout_now`)."""
        engine = getattr(self, "_frozen_engine", None)
        if engine is not None:
            self._frozen_engine = None
            self.figure.set_layout_engine(engine)

    # --- linked views -------------------------------------------------------
    def _connect(self):
        canvas = self.figure.canvas
        if canvas is not None and self._click_id is None:
            self._click_id = canvas.mpl_connect("button_press_event", self.on_click)
        if self._remove_pick is None and self.window is not None \
                and getattr(self.window, "figure", None) is not None:
            try:
                from ..scene import picking

                self._remove_pick = picking.on_pick(self.window.figure, self.on_scene_pick)
            except Exception as exc:  # noqa: BLE001 - the view works without scene clicks
                log.warning("no scene clicks for the result view: %s", exc)

    def on_click(self, event):
        """A click on the figure: a matrix cell highlights its edge, a region thumbnail shows
        that region alone."""
        try:
            if "matrix" in self.displays and event.inaxes is self.displays["matrix"].ax_:
                cell = self.displays["matrix"].cell_at(event.xdata, event.ydata)
                if cell is not None and cell[0] != cell[1] and self.connectome is not None:
                    self.connectome.highlight = cell
                elif cell is not None and self.connectome is not None:
                    self.connectome.highlight = (cell[0], -1)
            elif "confusion" in self.displays and \
                    event.inaxes is self.displays["confusion"].ax_:
                self.show_class(self.displays["confusion"].class_at(event.xdata, event.ydata))
            elif "regions" in self.displays:
                k = self.displays["regions"].region_at(event.inaxes)
                if self.regions is not None:
                    self.regions.region = -1 if k is None else k
                self.displays["regions"].select(k)
                self._redraw()
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "Could not follow the click in the result view")

    def on_scene_pick(self, info):
        """A click in the scene: a node of the linked connectome highlights its row."""
        layer = self.connectome
        if layer is None or info.node is None or layer.data is None:
            return
        import numpy as np

        index, _, xyz = info.node
        coords = np.asarray(layer.data["coords"])
        if index < len(coords) and np.allclose(coords[index], xyz):
            layer.highlight = (int(index), -1)

    @observe("weight_maps")
    def _follow_maps(self, event):
        # a class's map ticked or unticked in the layer list: the outlined row follows
        for layer in (event.old or {}).values():
            try:
                layer.observe(self._map_shown, "visible", remove=True)
            except NotifierNotFound:
                pass
        for layer in (event.new or {}).values():
            layer.observe(self._map_shown, "visible")

    def _map_shown(self, event):
        display = self.displays.get("confusion")
        if display is None or self._showing:
            return
        selected = self._shown_class(display)
        if selected != display.selected_:
            display.select(selected)
            self._redraw()

    @observe("connectome:highlight")
    def _highlight_changed(self, event):
        display = self.displays.get("matrix")
        if display is None or self.connectome is None:
            return
        i, j = self.connectome.highlight
        display.highlight(None if i < 0 else i, None if j < 0 else j)
        self._redraw()

    def _error(self, exc, context):
        if self.window is not None and hasattr(self.window, "report_error"):
            self.window.report_error(exc, context)
        else:
            raise exc

    def close(self):
        """Stop following scene clicks and the weight maps."""
        self.weight_maps = {}
        if self._remove_pick is not None:
            self._remove_pick()
            self._remove_pick = None

    def traits_view(self):
        return View(VGroup(
            Item("caption", style="readonly", show_label=False),
            HGroup(Item("save", show_label=False,
                        tooltip="Write this result's figure (as shown, at a paper's size) to "
                                "a PNG (300 dpi), SVG or PDF file"),
                   visible_when="has_result"),
            HGroup(Item("confusion_shows", label="Confusion", springy=True,
                        tooltip="What the confusion matrix's cells show: the counts, or each "
                                "class's share (of its true samples: each class's recall, "
                                "whatever its size)"),
                   visible_when="has_confusion"),
            Item("figure", editor=FigureEditor(), show_label=False, resizable=True),
        ), resizable=True)
