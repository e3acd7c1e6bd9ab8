"""The time course of the voxel under the cursor, for every 4D layer (matplotlib in the window).

The x axis is in seconds from the TR in the file's header (frames when it has
none); the frame shown in the scene is marked; Play steps through the frames
of the selected 4D layer (the first one when none is selected).
"""
import numpy as np

__all__ = ["TimeCoursePanel"]


class TimeCoursePanel:
    """A matplotlib canvas with the series at the cursor, and play/pause."""

    #: Frames per second while playing.
    fps = 10
    #: The dock's height (px) when the panel is brought to the front in a shorter one.
    min_height = 260
    #: What the panel says while no 4D series is open.
    hint = "Open a 4D series: its time course at the cursor shows here."

    def __init__(self, window):
        self.window = window
        self.widget = None
        self.lines = {}
        self._timer = None
        #: the thread reading series into memory, while one does
        self._reading = None

    def make_widget(self, parent=None):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure
        from pyface.qt import QtGui

        widget = QtGui.QWidget(parent)
        layout = QtGui.QVBoxLayout(widget)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QtGui.QHBoxLayout()
        self.play_button = QtGui.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.play)
        self.label = QtGui.QLabel(self.hint)
        row.addWidget(self.play_button)
        row.addWidget(self.label, 1)
        layout.addLayout(row)
        # laid out for the dock's size on each draw: a short dock keeps the axis labels
        # (a dock tabbed away has no size: nothing to lay out, and nothing to warn about)
        import warnings

        warnings.filterwarnings("ignore", message="constrained_layout not applied",
                                category=UserWarning)
        self.figure = Figure(figsize=(6, 1.6), dpi=90, layout="constrained")
        self.axes = self.figure.add_subplot(111)
        self.canvas = FigureCanvasQTAgg(self.figure)
        # the frame markers are animated artists: a new frame restores the saved
        # background and draws only them (blitting), not the whole figure
        self._background = None
        self.canvas.mpl_connect("draw_event", self._on_draw)
        layout.addWidget(self.canvas, 1)
        self.widget = widget
        self._stale = True
        widget.showEvent = lambda event: self._update() if self._stale else None
        resized = self.canvas.resizeEvent

        def on_resize(event):  # a dock opened from a collapsed height draws what it missed
            resized(event)
            if self._stale and not self._collapsed():
                self._update()

        self.canvas.resizeEvent = on_resize
        self._drawn_layers = None
        for handler, expression in self._expressions():
            self.window.session.observe(handler, expression)
        self._update()
        return widget

    def _expressions(self):
        from traits.observation.api import trait

        return ((self._update, "cursor"), (self._layers_changed, "layers.items"),
                # only a frame change: adding or removing layers is the line above's
                (self._update_frame, trait("layers", notify=False).list_items(notify=False)
                 .trait("frame", optional=True)))

    def series_layers(self):
        from ..model import SeriesLayer

        return [lay for lay in self.window.session.layers_of_type(SeriesLayer) if lay.data is not None]

    def series(self):
        """[(layer, times in s or frames, values)] at the cursor (values None outside)."""
        out = []
        for layer in self.series_layers():
            values = layer.data.timecourse_at(self.window.session.cursor)
            times = np.arange(layer.n_frames) * (layer.tr if layer.tr > 0 else 1.0)
            out.append((layer, times, values))
        return out

    def make_room(self, dock, main):
        """Its dock brought to the front shorter than a plot needs (the console's height
        left the axes some 30 px), with a 4D series open: it grows to :attr:`min_height`,
        at most a third of the window, as FSLeyes' time series panel opens at a readable
        height."""
        from pyface.qt import QtCore

        def grow():  # for a plot: with no 4D series open there is none to make room for
            height = min(self.min_height, main.height() // 3)
            if (dock.isVisible() and not dock.isFloating() and dock.height() < height
                    and self.series_layers()):
                main.resizeDocks([dock], [height], QtCore.Qt.Vertical)

        # after the tab switch's own layout, which undoes a resize made while it runs
        QtCore.QTimer.singleShot(0, grow)

    def _collapsed(self):
        """True when the canvas is too short to show a plot (a dock squeezed to its title)."""
        return self.canvas.height() < 40

    def _layers_changed(self, event=None):
        """Layers added or removed: redraw only when the 4D layers plotted change (a map
        added as a job's result is not a time course)."""
        if self._stale or self._drawn_layers != self.series_layers():
            self._update()

    def _update(self, event=None):
        if self.widget is None:
            return
        layers = self.series_layers()
        if not layers and not self.lines and getattr(self, "_drawn_empty", False):
            return  # nothing to plot, and nothing plotted: no redraw on every cursor move
        if not self.widget.isVisible() or self._collapsed():
            # drawn when the dock is shown or given room: reading a voxel's series from a
            # compressed 4D file and laying out a collapsed figure took most of a second
            self._stale = True
            return
        unread = [lay for lay in layers if not lay.data.series_ready()]
        if unread:
            # a voxel's series of a compressed file means reading the whole file: read
            # into memory on a thread (seconds for a long run), then drawn from memory
            self._stale = True
            self._read_later(unread)
            return
        self._stale = False
        self._drawn_layers = layers
        self._drawn_empty = not layers
        ax = self.axes
        self._background = None
        ax.clear()
        self.lines, self.markers = {}, {}
        data = self.series()
        # no 4D series: no empty 0-1 axes, no Play, and the hint (not the last series' name)
        ax.set_axis_on() if data else ax.set_axis_off()
        self.play_button.setEnabled(bool(data))
        if not data:
            self.label.setText(self.hint)
        for layer, times, values in data:
            if values is None:
                continue
            (line,) = ax.plot(times, values, lw=1, label=layer.name)
            self.lines[layer] = line
            frame_t = times[min(max(layer.frame, 0), len(times) - 1)]
            self.markers[layer] = ax.axvline(frame_t, color=line.get_color(), lw=1, ls="--",
                                             animated=True)
        if data:
            tr_known = any(layer.tr > 0 for layer, _, _ in data)
            ax.set_xlabel("time (s)" if tr_known else "frame")
            ax.set_ylabel("value")
            if len(self.lines) > 1:  # right of the plot: not over the curves' ends, and
                # the dock is wide but short
                ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small",
                          frameon=False, borderaxespad=0.3)
            x, y, z = self.window.session.cursor
            # one series: its name in the line above the plot (no legend on the curve)
            name = f"{next(iter(self.lines)).name} " if len(self.lines) == 1 else ""
            self.label.setText(f"{name}at ({x:.1f}, {y:.1f}, {z:.1f}) mm" +
                               ("" if self.lines else ": outside every 4D image"))
        self.canvas.draw_idle()

    def _read_later(self, layers):
        """Read ``layers``' series into memory on a thread, saying so, then draw."""
        import threading

        from pyface.api import GUI

        names = ", ".join(lay.name for lay in layers)
        frames = sum(lay.n_frames for lay in layers)
        self.label.setText(f"Reading the {frames} frames of {names} for its time courses...")
        if self._reading is not None and self._reading.is_alive():
            return  # drawn when that read ends
        volumes = [lay.data for lay in layers]

        def read():
            error = None
            try:
                for volume in volumes:
                    volume.load_series()
            except Exception as exc:  # noqa: BLE001 - reported in the window
                error = exc
            GUI.invoke_later(self._read_done, error)

        self._reading = threading.Thread(target=read, name="brainviz-series", daemon=True)
        self._reading.start()

    def _read_done(self, error):
        self._reading = None
        if self.widget is None:  # closed meanwhile
            return
        if error is not None:
            self.label.setText("The time course could not be read.")
            self.window.report_error(error, "Could not read the 4D series")
            return
        self._update()

    def _update_frame(self, event):
        """A new frame: move its marker (the curves stay)."""
        marker = getattr(self, "markers", {}).get(event.object)
        if marker is None or self.widget is None:
            return
        times = self.lines[event.object].get_xdata()
        t = times[min(max(int(event.new), 0), len(times) - 1)]
        marker.set_xdata([t, t])
        if not self.widget.isVisible():
            return
        if self._background is None:
            self.canvas.draw_idle()
        else:
            self.canvas.restore_region(self._background)
            self._draw_markers()
            self.canvas.blit(self.figure.bbox)

    def _on_draw(self, event):
        """After a full draw (without the animated markers): keep it, then add the markers."""
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._draw_markers()

    def _draw_markers(self):
        for marker in getattr(self, "markers", {}).values():
            self.axes.draw_artist(marker)

    def target(self):
        """The 4D layer Play steps through: the selected one, else the first."""
        layers = self.series_layers()
        panel = self.window.layers_panel
        selected = panel.selected if panel is not None else None
        return selected if selected in layers else (layers[0] if layers else None)

    def play(self, on=True):
        """Start (or stop) stepping through the frames of :meth:`target`."""
        from pyface.timer.api import Timer

        if on and self._timer is None and self.target() is not None:
            self._timer = Timer(int(1000 / self.fps), self.step)
        elif not on and self._timer is not None:
            self._timer.Stop()
            self._timer = None
        if self.widget is not None and self.play_button.isChecked() != bool(self._timer):
            self.play_button.setChecked(bool(self._timer))
            self.play_button.setText("Pause" if self._timer else "Play")
        elif self.widget is not None:
            self.play_button.setText("Pause" if self._timer else "Play")

    def step(self):
        layer = self.target()
        if layer is None:
            self.play(False)
            return
        layer.frame = (layer.frame + 1) % max(layer.n_frames, 1)

    def shutdown(self):
        self.play(False)
        if self.widget is not None:
            session = self.window.session
            for handler, expression in self._expressions():
                try:
                    session.observe(handler, expression, remove=True)
                except Exception:  # noqa: BLE001
                    pass
        self.widget = None  # a series read still running draws nothing when it ends
