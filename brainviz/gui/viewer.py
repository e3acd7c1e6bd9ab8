"""The window's viewer: the 3D scene and the linked 2D orthogonal views, the cursor tools and
the readout.

Every view draws the window's session through :mod:`brainviz.scene.binding`: the
3D scene with the 3D visuals, each 2D view (sagittal, coronal, axial) with the
plane visuals of :mod:`brainviz.scene.slices2d`. The cursor is the session's:
a click in the 3D scene, a click or drag in a 2D view, the arrow keys (one voxel)
and Page Up/Down (through the plane) in a 2D view, the coordinate boxes and the
peak buttons all move ``session.cursor``, and every view follows it.

Mouse in 3D: drag rotates (trackball), the wheel zooms, the middle button pans;
Ctrl + drag on a slice moves that slice (the cursor along its axis).
"""
import numpy as np
from traits.api import Any, Bool, Enum, HasTraits, Instance, Str, observe

from ..scene.slices2d import AXES

__all__ = ["SliceView", "Viewer", "LAYOUTS"]

#: The viewer's layouts.
LAYOUTS = ("2D + 3D", "3D only", "2D only")


def _scene_model():
    from . import _vtk_offscreen

    _vtk_offscreen.install()  # before the first scene widget exists
    from mayavi.core.ui.api import MlabSceneModel

    return MlabSceneModel()


def _step_mm(session, selected, axis):
    """One voxel along world ``axis`` (mm), of the selected volume layer (else the first)."""
    from ..model import VolumeLayer

    volumes = [lay for lay in session.layers if isinstance(lay, VolumeLayer) and lay.data is not None]
    layer = selected if selected in volumes else (volumes[0] if volumes else None)
    if layer is None:
        return 1.0
    return float(np.abs(np.diag(layer.data.as_ras().affine)[axis])) or 1.0


class SliceView(HasTraits):
    """A 2D orthogonal view: the session's volume layers on one plane through the cursor."""

    #: "sagittal", "coronal" or "axial".
    view = Enum(*AXES)
    window = Any()
    scene = Any()
    binding = Any()
    cross = Any()
    #: When true, the scene's activation does not draw the layers: :meth:`bind_layers` does,
    #: later (the window's start-up makes the widget in one event-loop turn and draws the
    #: layers in the next).
    defer_binding = Bool(False)

    def _scene_default(self):
        return _scene_model()

    def traits_view(self):
        from traitsui.api import Item, View
        from tvtk.pyface.scene import Scene
        from tvtk.pyface.scene_editor import SceneEditor

        # a plain scene: no 3D toolbar over a 2D view
        return View(Item("scene", editor=SceneEditor(scene_class=Scene), show_label=False,
                         resizable=True), resizable=True)

    @property
    def figure(self):
        """The view's Mayavi figure once its scene widget exists (None before)."""
        figure = getattr(self.scene, "mayavi_scene", None)
        if figure is None or getattr(figure.scene, "render_window", None) is None:
            return None
        return figure

    @property
    def axis(self):
        return AXES[self.view][0]

    @observe("scene:activated")
    def _activated(self, event):
        fig = self.figure
        fig.scene.background = (0.0, 0.0, 0.0)
        # voxels drawn as they are, crisp, with no anti-aliasing pass: Mayavi's default
        # 4x multisampling doubled the cost of every 2D frame under software rendering
        fig.scene.render_window.multi_samples = 0
        fig.scene.renderer.use_fxaa = False
        if not self.defer_binding:
            self.bind_layers()

    def bind_layers(self):
        """Draw the session's layers in the view and follow the session (once)."""
        from ..scene._figure import disable_render
        from ..scene.binding import bind
        from ..scene.slices2d import SLICE_VISUALS, CursorCross

        fig = self.figure
        if fig is None or self.binding is not None:
            return
        with disable_render(fig):
            # a layer added later is drawn in a turn of the window's own (each 2D view in
            # its own turn): adding a map does not freeze the window four views long
            # its own camera, along its axis: the session's camera is the 3D scene's
            self.binding = bind(self.window.session, fig, on_error=self.window.report_error,
                                registry=SLICE_VISUALS, axis=self.axis, follow_camera=False,
                                defer=getattr(self.window, "later", None))
            self.cross = CursorCross(fig, self.view)
            self.frame()
        self._install_interaction()
        _plain_renders(fig.scene)
        self.window.session.observe(self._cursor_moved, "cursor")
        self.window.session.observe(self._layers_changed, "layers.items")

    def close(self):
        from traits.observation.exceptions import NotifierNotFound

        for handler, expression in ((self._cursor_moved, "cursor"),
                                    (self._layers_changed, "layers.items")):
            try:
                self.window.session.observe(handler, expression, remove=True)
            except NotifierNotFound:
                pass
        if self.binding is not None:
            self.binding.close()

    def bounds(self):
        """Union of the drawn layers' world bounds (the MNI brain when none is drawn)."""
        from ..scene.views import MNI_BRAIN_BOUNDS

        bounds = self.binding.content_bounds() if self.binding is not None else None
        return MNI_BRAIN_BOUNDS if bounds is None else bounds

    def frame(self):
        """Fit the layers in the view, and redraw the cursor cross."""
        from ..scene.slices2d import setup_view

        fig = self.figure
        if fig is None:
            return
        w, h = (int(v) for v in fig.scene.render_window.size)
        bounds = self.bounds()
        setup_view(fig, self.view, bounds, aspect=(w / h) if w > 0 and h > 0 else 1.0)
        if self.cross is not None:
            self.cross.update(self.window.session.cursor, bounds)
        fig.scene.render()

    def _layers_changed(self, event):
        if self.figure is not None:
            self.frame()

    def _cursor_moved(self, event):
        if self.cross is not None and self.figure is not None:
            self.cross.update(self.window.session.cursor, self.bounds())
            self.figure.scene.render()

    # --- mouse and keys --------------------------------------------------------
    def _install_interaction(self):
        """Left click or drag puts the cursor there (instead of VTK's window/level);
        wheel zooms, middle button pans; arrow keys and Page Up/Down step one voxel."""
        import vtk

        scene = self.figure.scene
        interactor = scene.interactor._vtk_obj if hasattr(scene.interactor, "_vtk_obj") \
            else scene.interactor
        style = vtk.vtkInteractorStyleImage()
        interactor.SetInteractorStyle(style)
        state = {"drag": False}

        def press(obj, event):
            state["drag"] = True
            self.click(obj.GetInteractor().GetEventPosition())

        def move(obj, event):
            if state["drag"]:
                self.click(obj.GetInteractor().GetEventPosition())
            else:
                obj.OnMouseMove()

        def release(obj, event):
            state["drag"] = False

        # observers on the style replace its own handling of these events
        style.AddObserver("LeftButtonPressEvent", press)
        style.AddObserver("MouseMoveEvent", move)
        style.AddObserver("LeftButtonReleaseEvent", release)
        self._style = style
        control = getattr(getattr(self.scene, "scene_editor", None), "control", None)
        if control is not None:
            self._key_filter = _KeyFilter(self)
            control.installEventFilter(self._key_filter)

    def click(self, display_xy):
        """Move the session's cursor to what lies under a display pixel of this view."""
        from ..scene.slices2d import display_to_world

        point = display_to_world(self.figure, self.view, display_xy, self.window.session.cursor)
        self.window.session.move_cursor(point)

    def step(self, key):
        """Move the cursor one voxel: "left"/"right"/"up"/"down" on the screen, "in"/"out"
        through the plane (Page Up / Page Down)."""
        _, direction, up = AXES[self.view]
        direction, up = np.asarray(direction), np.asarray(up)
        right = np.cross(-direction, up)
        move = {"left": -right, "right": right, "up": up, "down": -up,
                "in": direction, "out": -direction}[key]
        axis = int(np.argmax(np.abs(move)))
        selected = self.window.layers_panel.selected if self.window.layers_panel else None
        cursor = np.asarray(self.window.session.cursor, dtype=float)
        cursor[axis] += np.sign(move[axis]) * _step_mm(self.window.session, selected, axis)
        self.window.session.move_cursor(cursor)


def _plain_renders(scene):
    """A 2D view's renders, with nothing a flat image needs not: once TVTK's Qt scene has
    set itself up on its first paint, this undoes three things it did then.

    - The busy (wait) cursor around each render: a 2D view renders in a few milliseconds
      on every cursor move, so the cursor would only flicker, and the two callbacks cost
      Python time on each render. With them gone, nothing listens to the window's start
      and end of render through TVTK's messenger: the two VTK observers that relay those
      events to it are removed too (0.5 ms a frame: an empty 2D view rendered in 1.55 ms
      with them, 0.98 ms without).
    - The light kit's five lights (two-sided): the planes show their colour table's
      colours unshaded (ambient 1, diffuse 0) and the cross is lines, so the pixels are
      the same without lights, but each fragment computed all five (one 1 mm anatomy
      plane drew in 2.4 ms with them, about 1 ms without).
    """
    from tvtk import messenger

    editor = getattr(scene, "scene_editor", None) or scene  # the TVTK scene of a scene model
    control = getattr(editor, "_vtk_control", None)
    render_window = getattr(scene, "render_window", None)
    if control is None or render_window is None:
        return
    vtk_window = getattr(render_window, "_vtk_obj", render_window)
    tags = []

    def disconnect(obj, event):
        if getattr(editor, "light_manager", None) is None:
            return  # not painted yet: TVTK connects its callbacks on the first paint
        for name, callback in (("StartEvent", "_start_event_callback"),
                               ("EndEvent", "_end_event_callback")):
            try:
                messenger.disconnect(vtk_window, name, getattr(control, callback))
            except Exception:  # noqa: BLE001 - a TVTK without these callbacks: nothing to do
                pass
        while tags:
            vtk_window.RemoveObserver(tags.pop())
        slots = getattr(getattr(messenger, "_messenger", None), "_signals", None)
        listening = slots.get(id(vtk_window), {}) if isinstance(slots, dict) else None
        for name in ("StartEvent", "EndEvent"):
            # only TVTK's relay to its messenger observes it (a TVTK whose messenger cannot
            # be read keeps its observers)
            if listening is not None and not listening.get(name):
                vtk_window.RemoveObservers(name)
        renderers = vtk_window.GetRenderers()
        for i in range(renderers.GetNumberOfItems()):
            renderer = renderers.GetItemAsObject(i)
            renderer.SetAutomaticLightCreation(0)
            renderer.RemoveAllLights()

    tags.append(vtk_window.AddObserver("EndEvent", disconnect, -1.0))


def _key_filter_class():
    from pyface.qt import QtCore

    keys = {QtCore.Qt.Key_Left: "left", QtCore.Qt.Key_Right: "right", QtCore.Qt.Key_Up: "up",
            QtCore.Qt.Key_Down: "down", QtCore.Qt.Key_PageUp: "in", QtCore.Qt.Key_PageDown: "out"}

    class KeyFilter(QtCore.QObject):
        """Arrow keys and Page Up/Down in a 2D view step the cursor (before VTK's own keys)."""

        def __init__(self, view):
            super().__init__()
            self.view = view

        def eventFilter(self, obj, event):  # noqa: N802 (Qt naming)
            if event.type() == QtCore.QEvent.KeyPress and event.key() in keys:
                self.view.step(keys[event.key()])
                return True
            return False

    return KeyFilter


def _KeyFilter(view):  # noqa: N802 - a Qt class made on first use (Qt is imported late)
    return _key_filter_class()(view)


class Viewer(HasTraits):
    """The central area: view buttons and layout, the 3D scene and the 2D views, the cursor
    tools (coordinates in mm and voxels, peak, centre) and the readout."""

    window = Any()
    layout = Enum(*LAYOUTS)
    sagittal = Instance(SliceView)
    coronal = Instance(SliceView)
    axial = Instance(SliceView)
    readout = Str("")

    def _sagittal_default(self):
        return SliceView(view="sagittal", window=self.window)

    def _coronal_default(self):
        return SliceView(view="coronal", window=self.window)

    def _axial_default(self):
        return SliceView(view="axial", window=self.window)

    @property
    def slice_views(self):
        return [self.sagittal, self.coronal, self.axial]

    # --- widgets ---------------------------------------------------------------
    def make_widget(self, parent=None):
        """Build the central widget (the 3D scene's subpanel and the 2D views' subpanels)."""
        from pyface.qt import QtCore, QtGui

        self._uis = []
        widget = QtGui.QWidget(parent)
        outer = QtGui.QVBoxLayout(widget)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.setSpacing(2)
        outer.addLayout(self._toolbar())
        self._grid_host = QtGui.QWidget()
        self._grid = QtGui.QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._widgets = {}
        ui = self.window.edit_traits(view=self.window.scene_view(), parent=self._grid_host,
                                     kind="subpanel")
        self._uis.append(ui)
        self._widgets["3d"] = ui.control
        # The 2D views are made just after the 3D scene's first frame (slice_view_steps):
        # their scene widgets and GL contexts took over a second of the launch. Each has
        # a black pane of the views' background, its place in the grid; the view is made
        # inside it, so the grid is never re-laid out for it.
        for view in self.slice_views:
            pane = QtGui.QWidget(self._grid_host)
            pane.setAutoFillBackground(True)
            palette = pane.palette()
            palette.setColor(pane.backgroundRole(), QtGui.QColor(0, 0, 0))
            pane.setPalette(palette)
            pane_layout = QtGui.QVBoxLayout(pane)
            pane_layout.setContentsMargins(0, 0, 0, 0)
            self._widgets[view.view] = pane
        outer.addWidget(self._grid_host, 1)
        outer.addLayout(self._cursor_tools())
        self._readout_label = QtGui.QLabel("")
        self._readout_label.setWordWrap(True)
        self._readout_label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        # a fixed height: a longer or shorter readout never re-lays out (and repaints) the views
        self._readout_label.setFixedHeight(2 * self._readout_label.fontMetrics().lineSpacing() + 4)
        self._readout_label.setSizePolicy(QtGui.QSizePolicy.Ignored, QtGui.QSizePolicy.Fixed)
        self._readout_label.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignTop)
        outer.addWidget(self._readout_label)
        self._arrange()
        self.window.session.observe(self._cursor_moved, "cursor")
        self.window.session.observe(self._cursor_moved, "layers.items")
        # the voxel boxes and the readout are the selected layer's: they follow a new
        # selection at once, not at the next move of the cursor
        panel = getattr(self.window, "layers_panel", None)
        if panel is not None:
            panel.observe(self._cursor_moved, "selected")
        self.widget = widget
        # where the cursor is now (a demo or the files opened set it before these tools
        # existed): they were empty until the cursor first moved
        self._cursor_moved()
        return widget

    def slice_view_steps(self):
        """One step per 2D view that makes its scene widget in the place held for it (the
        window runs them one per event-loop turn after the 3D scene's first frame)."""
        steps = []
        for view in self.slice_views:
            steps += [lambda view=view: self._make_slice_widget(view, defer_binding=True),
                      lambda view=view: self._bind_slice_view(view)]
        return steps

    def _bind_slice_view(self, view):
        """Draw the layers in a 2D view made with its binding deferred (its own turn)."""
        if view.figure is None or view.binding is not None:
            return
        view.bind_layers()  # drawn (framed) there
        if self._widgets[view.view].isHidden():
            self._show_figure(view.view, False)  # a view the layout hides waits, paused

    def _make_slice_widget(self, view, defer_binding=False):
        if getattr(self, "_grid", None) is None or view.view in getattr(self, "_made", set()):
            return
        from pyface.qt import QtCore

        self._made = getattr(self, "_made", set()) | {view.view}
        pane = self._widgets[view.view]
        # made in its pane: the scene's native window is a child of the pane's, never over
        # the other views (the 3D scene was exposed, and redrawn, as each view appeared)
        pane.setAttribute(QtCore.Qt.WA_NativeWindow)
        view.defer_binding = defer_binding
        ui = view.edit_traits(parent=pane, kind="subpanel")
        self._uis.append(ui)
        pane.layout().addWidget(ui.control)
        ui.control.show()
        self._show_figure(view.view, not pane.isHidden())

    def dispose(self):
        from traits.observation.exceptions import NotifierNotFound

        for expression in ("cursor", "layers.items"):
            try:
                self.window.session.observe(self._cursor_moved, expression, remove=True)
            except NotifierNotFound:
                pass
        panel = getattr(self.window, "layers_panel", None)
        if panel is not None:
            try:
                panel.observe(self._cursor_moved, "selected", remove=True)
            except NotifierNotFound:
                pass
        for view in self.slice_views:
            view.close()
        for ui in getattr(self, "_uis", []):
            ui.dispose()

    def _toolbar(self):
        from pyface.qt import QtGui

        row = QtGui.QHBoxLayout()
        row.setSpacing(3)
        self.view_buttons = {}
        for number, name in enumerate(("left", "right", "anterior", "posterior", "superior",
                                       "inferior"), start=1):
            button = QtGui.QPushButton(name.capitalize())
            button.setToolTip(f"{name.capitalize()} view of the 3D scene (key {number})")
            button.clicked.connect(lambda checked=False, n=name: self.window.set_view(n))
            row.addWidget(button)
            self.view_buttons[name] = button
        reset = QtGui.QPushButton("Reset")
        reset.setToolTip("Back to the start view (key 0)")
        reset.clicked.connect(lambda checked=False: self.window.set_view(self.window.start_view))
        row.addWidget(reset)
        self.export_button = QtGui.QPushButton("Export...")
        self.export_button.setToolTip("Write the figure: size, DPI, transparency, montage (Ctrl+E)")
        self.export_button.clicked.connect(lambda checked=False: self.window.export_dialog())
        row.addWidget(self.export_button)
        row.addStretch(1)
        row.addWidget(QtGui.QLabel("Layout:"))
        self.layout_box = QtGui.QComboBox()
        self.layout_box.addItems(list(LAYOUTS))
        self.layout_box.setCurrentText(self.layout)
        self.layout_box.currentTextChanged.connect(lambda text: setattr(self, "layout", text))
        row.addWidget(self.layout_box)
        for button in (*self.view_buttons.values(), reset, self.export_button):
            _fit_text(button)
        return row

    def _cursor_tools(self):
        from pyface.qt import QtGui

        row = QtGui.QHBoxLayout()
        row.setSpacing(3)
        row.addWidget(QtGui.QLabel("Cursor (mm):"))
        def boxes(axes, tip, width, typed):
            made = []
            for axis in axes:
                box = QtGui.QLineEdit()
                box.setToolTip(tip.format(axis=axis))
                box.setMaximumWidth(width)
                box.returnPressed.connect(typed)
                row.addWidget(box)
                made.append(box)
            return made

        self.mm_boxes = boxes("xyz", "{axis} in mm (type and press Enter)", 70, self._mm_typed)
        self.voxel_label = QtGui.QLabel("voxel:")
        self.voxel_label.setFixedWidth(self.voxel_label.fontMetrics().averageCharWidth() * 22)
        row.addWidget(self.voxel_label)
        self.voxel_boxes = boxes("ijk", "voxel index {axis} of the selected layer (type and press "
                                 "Enter)", 52, self._voxel_typed)
        for text, which, tip in (("Peak +", "max", "Go to the largest value of the selected layer"),
                                 ("Peak \u2212", "min", "Go to the smallest value of the selected layer")):
            button = QtGui.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda checked=False, w=which: self.window.go_to_peak(w))
            _fit_text(button)
            row.addWidget(button)
        centre = QtGui.QPushButton("Centre")
        centre.setToolTip("Put the cursor at the centre of the selected layer and frame it")
        centre.clicked.connect(lambda checked=False: self.window.centre_on_layer())
        _fit_text(centre)
        row.addWidget(centre)
        row.addStretch(1)
        return row

    # --- layout ------------------------------------------------------------------
    @observe("layout")
    def _arrange(self, event=None):
        grid = getattr(self, "_grid", None)
        if grid is None:
            return
        for widget in self._widgets.values():
            grid.removeWidget(widget)
            widget.hide()
        places = {
            "2D + 3D": {"sagittal": (0, 0), "coronal": (0, 1), "axial": (1, 0), "3d": (1, 1)},
            "3D only": {"3d": (0, 0)},
            "2D only": {"sagittal": (0, 0), "coronal": (0, 1), "axial": (0, 2)},
        }[self.layout]
        for name, (row, col) in places.items():
            grid.addWidget(self._widgets[name], row, col)
            self._widgets[name].show()
        for name in self._figures():
            self._show_figure(name, name in places)
        for k in range(3):
            grid.setRowStretch(k, 1 if k < (2 if self.layout == "2D + 3D" else 1) else 0)
            grid.setColumnStretch(k, 1 if k < {"2D + 3D": 2, "3D only": 1, "2D only": 3}[self.layout]
                                  else 0)
        if self.layout_box.currentText() != self.layout:
            self.layout_box.setCurrentText(self.layout)

    def _show_figure(self, name, shown):
        """A hidden view is neither rendered nor updated: its binding keeps what changes
        and applies it once when the view is shown again."""
        figure = self._figures().get(name)
        if figure is None:
            return
        binding = self._bindings().get(name)
        if binding is not None and not shown:
            binding.pause()
        figure.scene.disable_render = not shown
        if shown:
            if binding is not None:
                binding.resume()
            figure.scene.render()

    def _figures(self):
        figures = {view.view: view.figure for view in self.slice_views}
        figures["3d"] = self.window.figure
        return figures

    def _bindings(self):
        bindings = {view.view: view.binding for view in self.slice_views}
        bindings["3d"] = self.window.binding
        return bindings

    def shown_views(self):
        """Names of the views the layout shows ("3d", "sagittal", ...)."""
        return [name for name, w in self._widgets.items() if not w.isHidden()]

    # --- cursor ------------------------------------------------------------------
    def _selected_volume(self):
        from ..model import VolumeLayer

        selected = self.window.layers_panel.selected if self.window.layers_panel else None
        if isinstance(selected, VolumeLayer) and selected.data is not None:
            return selected
        volumes = [lay for lay in self.window.session.layers
                   if isinstance(lay, VolumeLayer) and lay.data is not None]
        return volumes[0] if volumes else None

    def _cursor_moved(self, event=None):
        from pyface.qt import QtCore

        from ..session import format_readout, readout

        session = self.window.session
        for box, value in zip(self.mm_boxes, session.cursor):
            if not box.hasFocus():
                box.setText(f"{value:.1f}")
        layer = self._selected_volume()
        ijk = layer.data.voxel_at(session.cursor) if layer is not None else None
        text = f"voxel of {layer.name}:" if layer is not None else "voxel:"
        self.voxel_label.setToolTip(text)
        self.voxel_label.setText(self.voxel_label.fontMetrics().elidedText(
            text, QtCore.Qt.ElideMiddle, self.voxel_label.width()))
        for box, value in zip(self.voxel_boxes, ijk or ("", "", "")):
            if not box.hasFocus():
                box.setText(str(value))
        try:
            self.readout = format_readout(readout(session, session.cursor, selected=layer))
        except Exception as exc:  # noqa: BLE001 - a readout never breaks the window
            self.readout = f"(no readout: {exc})"
        self._readout_label.setText(self.readout)
        self.window.readout = self.readout

    def _mm_typed(self):
        try:
            xyz = [float(box.text()) for box in self.mm_boxes]
            self.window.session.move_cursor(xyz)
        except (ValueError, Exception) as exc:  # noqa: BLE001
            self.window.report_error(exc, "The cursor takes three numbers of mm")

    def _voxel_typed(self):
        layer = self._selected_volume()
        if layer is None:
            return
        try:
            ijk = [int(float(box.text())) for box in self.voxel_boxes]
            self.window.session.move_cursor(layer.data.voxel_centre(ijk))
        except (ValueError, Exception) as exc:  # noqa: BLE001
            self.window.report_error(exc, "The voxel takes three whole numbers")


def _fit_text(button):
    """Let a push button shrink to its text: Qt's styles hold every push button at 80 px
    or more, which made the viewer's toolbars wider than the space between the docks at
    1280 pixels (so the docks were squeezed and their forms cut off)."""
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)
