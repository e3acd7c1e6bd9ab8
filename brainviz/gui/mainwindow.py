"""The Qt main window around :class:`~brainviz.gui.app.MainWindow`: docks, menus, shortcuts.

The viewer (3D scene, 2D views, cursor tools, readout) is the central widget and
keeps most of the width at every size; the layers panel is docked on the left,
jobs, cache and the result view on the right, the console and the time course at the bottom.
Docks can be resized, closed and reopened (View menu) or floated.

Menus, in the usual order, with their shortcuts:

- File: Open... (Ctrl+O), Open session... (Ctrl+Shift+O), Save session... (Ctrl+S),
  Export figure... (Ctrl+E), Copy render command (Ctrl+Shift+C), Quit (Ctrl+Q);
- Edit: Undo (Ctrl+Z), Redo (Ctrl+Shift+Z) of layer display edits and removals;
- View: the named 3D views on keys 1-6, Reset view (0), the layouts (Ctrl+1/2/3),
  Go to peak (Ctrl+P), Go to minimum (Ctrl+Shift+P), Centre on layer (Ctrl+L), and
  the docks;
- Data: the built-in demos.
"""
__all__ = ["build_main_window", "MainWindowUI"]

#: Menu -> [(action name, text, shortcut, what it calls on the window)]
MENUS = {
    "&File": [
        ("open", "&Open...", "Ctrl+O", lambda w: w.open_files_dialog()),
        ("open_session", "Open &session...", "Ctrl+Shift+O", lambda w: w.open_session_dialog()),
        ("save_session", "&Save session...", "Ctrl+S", lambda w: w.save_session_dialog()),
        None,
        ("export", "&Export figure...", "Ctrl+E", lambda w: w.export_dialog()),
        ("copy_render_command", "Copy &render command", "Ctrl+Shift+C",
         lambda w: w.copy_render_command()),
        None,
        ("quit", "&Quit", "Ctrl+Q", lambda w: w.ui.control.close()),
    ],
    "&Edit": [
        ("undo", "&Undo", "Ctrl+Z", lambda w: w.undo()),
        ("redo", "&Redo", "Ctrl+Shift+Z", lambda w: w.redo()),
    ],
    "&View": [
        ("view_left", "&Left", "1", lambda w: w.set_view("left")),
        ("view_right", "&Right", "2", lambda w: w.set_view("right")),
        ("view_anterior", "&Anterior", "3", lambda w: w.set_view("anterior")),
        ("view_posterior", "&Posterior", "4", lambda w: w.set_view("posterior")),
        ("view_superior", "&Superior", "5", lambda w: w.set_view("superior")),
        ("view_inferior", "&Inferior", "6", lambda w: w.set_view("inferior")),
        ("reset_view", "Reset &view", "0", lambda w: w.set_view(w.start_view)),
        None,
        ("layout_2d3d", "2D + 3D", "Ctrl+1", lambda w: w.set_layout("2D + 3D")),
        ("layout_3d", "3D only", "Ctrl+2", lambda w: w.set_layout("3D only")),
        ("layout_2d", "2D only", "Ctrl+3", lambda w: w.set_layout("2D only")),
        None,
        ("peak", "Go to &peak", "Ctrl+P", lambda w: w.go_to_peak("max")),
        ("minimum", "Go to &minimum", "Ctrl+Shift+P", lambda w: w.go_to_peak("min")),
        ("centre", "&Centre on layer", "Ctrl+L", lambda w: w.centre_on_layer()),
    ],
    "&Data": [
        ("demo", "Built-in &demo", None, lambda w: w.load_demo()),
        ("decoding_demo", "&Decoding demo data", None, lambda w: w.load_decoding_demo()),
        ("resting_demo", "&Resting-state demo data", None, lambda w: w.load_resting_state_demo()),
    ],
}


class MainWindowUI:
    """What :meth:`MainWindow.build_ui` returns: the Qt window (``control``), its docks and
    actions, and the TraitsUI panels embedded in them."""

    def __init__(self, window, control):
        self.window = window
        self.control = control
        self.docks = {}
        self.actions = {}
        self._uis = []

    def embed(self, obj, dock_name, scroll=False):
        """Put ``obj``'s TraitsUI view in a dock (replacing what it showed); with ``scroll``
        inside a scroll area, so the dock may be narrower than the form."""
        from pyface.qt import QtGui

        dock = self.docks[dock_name]
        ui = obj.edit_traits(parent=dock, kind="subpanel")
        self._uis.append(ui)
        if scroll:
            area = QtGui.QScrollArea(dock)
            area.setWidgetResizable(True)
            area.setFrameShape(QtGui.QFrame.NoFrame)
            area.setWidget(ui.control)
            dock.setWidget(area)
        else:
            dock.setWidget(ui.control)
        return ui

    def dock_panels(self):
        """Show the jobs and cache panels, the console and the time course (made after the
        first frame) in their docks."""
        for step in self.docking_steps():
            step()

    def docking_steps(self, cache_panel=None):
        """The steps of :meth:`dock_panels`, each short enough for one event-loop turn (the
        window runs them one per turn after its first frame). ``cache_panel``: a callable
        giving the cache panel when it is not the window's yet."""
        window = self.window

        def widget(name, make):
            def step():
                if not getattr(self.docks[name], "_filled", False):
                    self.docks[name].setWidget(make(self.control))
                    self.docks[name]._filled = True
            return step

        def panel(name, get, wrap=False, one_line=False):
            def step():
                from ._layout import compact_combo_boxes, one_line_tables, wrap_labels

                obj = get()
                if obj is not None and not getattr(self.docks[name], "_filled", False):
                    ui = self.embed(obj, name, scroll=True)
                    compact_combo_boxes(ui.control)
                    if wrap:  # a long text takes more lines, never widens the dock
                        wrap_labels(ui.control)
                    if one_line:  # a table's rows stay one line each
                        one_line_tables(ui.control)
                    self.docks[name]._filled = True
            return step

        # issue 12: the result view (matplotlib) joins them, after the first frame too
        return [widget("Console", window.shell_panel.make_widget),
                widget("Time course", window.timecourse.make_widget),
                panel("Jobs", lambda: window.jobs_panel),
                panel("Cache", cache_panel or (lambda: window.cache_panel), one_line=True),
                # the caption (a job's title and headline) wraps: a long one widened the
                # result view past the dock, which then scrolled sideways
                panel("Result", lambda: window.results_panel, wrap=True),
                self.settle]

    def settle(self):
        """Once the window is shown and laid out: give the docks their widths and frame
        every view for its final size (the start view of the 3D scene, unless the session
        has a camera of its own)."""
        from pyface.api import GUI

        size = (self.control.width(), self.control.height())
        _size_docks(self.control, self, size)
        GUI.invoke_later(self._frame_views)  # once the docks' new widths are laid out

    def _frame_views(self):
        window = self.window
        if window.figure is not None and not getattr(window, "_camera_from_session", False):
            window.reframe_named_view()
        for view in window.viewer.slice_views:
            view.frame()

    def dispose(self):
        """Dispose of the embedded panels and close the window (idempotent)."""
        if getattr(self, "_disposed", False):
            return
        self._disposed = True
        for ui in self._uis:
            try:
                ui.dispose()
            except Exception:  # noqa: BLE001 - closing goes on
                pass
        self._uis = []
        self.control.close()


def _screen_size():
    from pyface.qt import QtGui

    screen = QtGui.QGuiApplication.primaryScreen()
    if screen is None:
        return 1280, 800
    geometry = screen.availableGeometry()
    return geometry.width(), geometry.height()


def build_main_window(window):
    """Make the Qt main window of ``window`` (a :class:`~brainviz.gui.app.MainWindow`)."""
    from pyface.qt import QtCore, QtGui

    main = _ClosingMainWindow(window)
    main.setWindowTitle("brainviz")
    ui = MainWindowUI(window, main)
    if window.window_size is None:  # a size that fits the screen
        sw, sh = _screen_size()
        size = (min(1600, int(0.92 * sw)), min(1000, int(0.9 * sh)))
    else:
        size = tuple(int(v) for v in window.window_size)
    main.resize(*size)

    main.setCentralWidget(window.viewer.make_widget(main))
    main.setDockOptions(QtGui.QMainWindow.AnimatedDocks | QtGui.QMainWindow.AllowTabbedDocks)
    areas = {"Layers": QtCore.Qt.LeftDockWidgetArea, "Jobs": QtCore.Qt.RightDockWidgetArea,
             "Cache": QtCore.Qt.RightDockWidgetArea, "Result": QtCore.Qt.RightDockWidgetArea,
             "Console": QtCore.Qt.BottomDockWidgetArea,
             "Time course": QtCore.Qt.BottomDockWidgetArea}
    for name, area in areas.items():
        dock = QtGui.QDockWidget(name, main)
        dock.setObjectName(f"dock_{name.lower().replace(' ', '_')}")
        dock.setFeatures(QtGui.QDockWidget.DockWidgetClosable | QtGui.QDockWidget.DockWidgetMovable
                         | QtGui.QDockWidget.DockWidgetFloatable)
        main.addDockWidget(area, dock)
        ui.docks[name] = dock
    main.tabifyDockWidget(ui.docks["Jobs"], ui.docks["Cache"])
    main.tabifyDockWidget(ui.docks["Cache"], ui.docks["Result"])
    main.tabifyDockWidget(ui.docks["Console"], ui.docks["Time course"])
    ui.docks["Jobs"].raise_()
    ui.docks["Console"].raise_()
    from pyface.api import GUI

    from ._layout import fit_to_width

    # the recent-files list holds whole paths, a layer's controls long texts: the panel keeps
    # the dock's width (the controls are made again for each selected layer)
    layers_ui = ui.embed(window.layers_panel, "Layers")
    fit_to_width(layers_ui.control)
    window.layers_panel.observe(
        lambda event: GUI.invoke_later(fit_to_width, layers_ui.control), "selected")
    ui.docks["Jobs"].setWidget(QtGui.QLabel("  The job forms appear once the scene is drawn."))
    ui.docks["Cache"].setWidget(QtGui.QLabel(""))
    ui.docks["Result"].setWidget(QtGui.QLabel("  A job's result view shows here when it finishes."))
    # the console (an IPython kernel) and the time course (matplotlib) are made after the
    # first frame, with the jobs panel: the brain is on screen first
    ui.docks["Console"].setWidget(QtGui.QLabel("  The IPython console starts once the scene is drawn."))
    ui.docks["Time course"].setWidget(QtGui.QLabel(""))
    # its tab clicked in a dock too short for a plot: the dock grows
    ui.docks["Time course"].visibilityChanged.connect(
        lambda visible: visible and window.timecourse.make_room(ui.docks["Time course"], main))

    _menus(main, ui)
    status = QtGui.QLabel(window.status)
    main.statusBar().addWidget(status, 1)
    window.observe(lambda event: status.setText(event.new), "status")
    # the docks' sizes before the window is shown: the scene's first frame is drawn at its
    # final size (sized after, the 3D scene was drawn twice)
    _size_docks(main, ui, size)
    return ui


def _size_docks(main, ui, size):
    """The layers about a fifth of the width and the jobs a little more (at least what their
    panels need to be usable, at most what they can use), the console a fifth of the height:
    the viewer keeps the rest (58% of the width at 1280 pixels, more above)."""
    from pyface.qt import QtCore

    width, height = size
    left = min(max(250, int(0.2 * width)), 360)
    right = min(max(270, int(0.21 * width)), 380)
    main.resizeDocks([ui.docks["Layers"]], [left], QtCore.Qt.Horizontal)
    main.resizeDocks([ui.docks["Jobs"]], [right], QtCore.Qt.Horizontal)
    main.resizeDocks([ui.docks["Console"]], [max(120, int(0.2 * height))], QtCore.Qt.Vertical)


def _menus(main, ui):
    from pyface.qt import QtGui

    window = ui.window
    bar = main.menuBar()
    for title, entries in MENUS.items():
        menu = bar.addMenu(title)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            name, text, shortcut, call = entry
            action = QtGui.QAction(text, main)
            if shortcut:
                action.setShortcut(QtGui.QKeySequence(shortcut))
            action.triggered.connect(lambda checked=False, c=call: _run(window, c))
            menu.addAction(action)
            ui.actions[name] = action
        if title == "&View":
            menu.addSeparator()
            for dock in ui.docks.values():
                menu.addAction(dock.toggleViewAction())


def _run(window, call):
    try:
        call(window)
    except Exception as exc:  # noqa: BLE001 - a menu action never ends the window
        window.report_error(exc, "The action failed")


def _closing_class():
    from pyface.qt import QtGui

    class ClosingMainWindow(QtGui.QMainWindow):
        def __init__(self, window):
            super().__init__()
            self._brainviz = window

        def closeEvent(self, event):  # noqa: N802 (Qt naming)
            try:
                self._brainviz.shutdown()
            finally:
                super().closeEvent(event)

    return ClosingMainWindow


def _ClosingMainWindow(window):  # noqa: N802 - the Qt class is made when Qt is imported
    return _closing_class()(window)
