"""Jobs from the window (progress, results as layers, cache, cancel) and figure export."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from brainviz.model import ComponentsLayer, ConnectomeLayer, SeriesLayer

pytestmark = [pytest.mark.gui, pytest.mark.render]


def pump(qtbot, ms=50):
    qtbot.wait(ms)


@pytest.fixture
def decoding_window(window):
    """The shared window with the decoding demo loaded (again if a test removed it)."""
    names = {lay.name for lay in window.session.layers}
    if not {"decoding demo", "decoding demo mask"} <= names:
        for name in ("decoding demo", "decoding demo mask"):
            if name in names:
                window.session.remove_layer(name)
        series = window.load_decoding_demo()
        assert series is not None, window.errors.errors
    return window


def _run_decoding(window, qtbot, timeout=120_000, kind="decoding", mask="decoding demo mask",
                  **params):
    """Fill the decoding (or searchlight) form on the demo and click "Run job"; returns the
    new job's state."""
    panel = window.jobs_panel
    panel.kind = kind
    form = panel.form
    form.images = "decoding demo"
    form.mask = mask
    # every parameter from its default: a test's settings (500 permutations) never leak
    # into the next test's job
    form.params.reset()
    for name, value in params.items():
        setattr(form.params, name, value)
    assert form.validate() == "", form.problem
    n = len(window.session.jobs)
    panel.run = True  # the "Run job" button
    qtbot.waitUntil(lambda: len(window.session.jobs) == n + 1, timeout=5000)
    return window.session.jobs[-1]


def test_decoding_job_progress_then_weight_maps_as_layers_then_cache(decoding_window, qtbot, tmp_path,
                                                                    monkeypatch):
    from brainviz.backend import decoding

    window = decoding_window
    fitted = []
    fit_fold = decoding._fit_fold
    monkeypatch.setattr(decoding, "_fit_fold", lambda *a, **k: fitted.append(1) or fit_fold(*a, **k))
    n_layers = len(window.session.layers)
    state = _run_decoding(window, qtbot, estimator="logistic_l2", cv="kfold", n_folds=3)
    seen = set()

    def finished():
        seen.add(round(state.progress, 2))
        return state.state in ("done", "failed", "cancelled")

    qtbot.waitUntil(finished, timeout=180_000)
    assert state.state == "done", (state.message, state.traceback)
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)  # layers arrive one per event-loop turn
    assert len(seen) >= 2, "progress was never reported while the job ran"
    assert state.elapsed > 0 and not state.from_cache
    assert state.result_folder
    new = window.session.layers[n_layers:]
    assert {type(lay).__name__ for lay in new} == {"StatMapLayer"}
    # readable names, one group, shown over the template with the demo's maps set aside
    assert state.title == "decoding: face vs house vs shoe, logistic_l2"
    assert {lay.name for lay in new} == {f"{state.title}: weights {c}" for c in ("face", "house", "shoe")}
    assert {lay.group for lay in new} == {state.title}
    assert all(lay in window.binding.visuals for lay in new)
    assert len(fitted) >= 3  # the three folds were fitted
    assert not any(lay.visible for lay in window.session.layers[:n_layers]
                   if type(lay).__name__ in ("StatMapLayer", "ConnectomeLayer"))
    # the job list's headline and the result view
    assert state.headline.startswith("accuracy ") and "(chance 0.333)" in state.headline
    assert window.results_panel.job is state
    assert set(window.results_panel.displays) == {"scores", "confusion"}
    # the view fits its dock: the headline wraps instead of widening it (the confusion
    # matrix was cut off at the dock's edge), and a narrow view stacks the two plots
    canvas = window.results_panel.figure.canvas
    dock = window.ui.docks["Result"]
    assert canvas.width() <= dock.width()
    scores, confusion = (window.results_panel.displays[k].ax_ for k in ("scores", "confusion"))
    side_by_side = confusion.get_position().x0 >= scores.get_position().x1
    assert side_by_side == (canvas.width() >= 1.4 * canvas.height())
    assert scores.get_position().width > 0.3 and confusion.get_position().height > 0.2
    # one class's map at a time (three drawn over each other were a speckle of colours):
    # the first shown, its row outlined; a click on another row shows that class's alone,
    # with the cursor at its peak
    from brainviz.session import peak_cursor

    panel = window.results_panel
    assert [lay.visible for lay in new] == [True, False, False]
    assert "hidden: weights house, weights shoe" in window.status
    view = panel.displays["confusion"]
    assert view.classes == ["face", "house", "shoe"] and view.selected_ == 0
    assert window.layers_panel.selected is new[0]  # the voxel boxes are the map shown
    _click(canvas, confusion, (1.2, 1.1))  # the cell (true house, predicted house)
    assert [lay.visible for lay in new] == [False, True, False]
    assert window.layers_panel.selected is new[1] and "'house' shown" in window.status
    # the voxel boxes follow the selected layer at once (they waited for the cursor to move)
    assert window.viewer.voxel_label.toolTip() == f"voxel of {new[1].name}:"
    window.layers_panel.selected = new[2]
    assert window.viewer.voxel_label.toolTip() == f"voxel of {new[2].name}:"
    assert view.selected_ == 1 and view._outline is not None
    assert window.session.cursor == pytest.approx(peak_cursor(new[1]))
    pump(qtbot, 100)
    assert window.binding.visuals[new[1]].visible and not window.binding.visuals[new[0]].visible
    # ticked in the layer list, the outline follows: two maps shown, no one row
    new[2].visible = True
    assert view.selected_ is None and view._outline is None
    new[1].visible = False
    assert view.selected_ == 2
    _click(canvas, confusion, (0.0, 0.0))
    assert [lay.visible for lay in new] == [True, False, False] and view.selected_ == 0
    from pathlib import Path

    # the figures are written by a child process while the window shows the result
    qtbot.waitUntil(lambda: (Path(state.result_folder) / "scores.png").is_file()
                    and (Path(state.result_folder) / "confusion.svg").is_file(), timeout=120_000)

    # a session remembers the job's parameters and reopens its maps from the result folder
    import json

    saved = window.save_session(tmp_path / "with_job.json")
    doc = json.loads(saved.read_text())
    assert doc["jobs"][-1]["params"]["estimator"] == "logistic_l2"
    assert doc["jobs"][-1]["result_folder"] == state.result_folder
    names = [lay.name for lay in window.session.layers]
    window.open_session(saved)
    assert [lay.name for lay in window.session.layers] == names
    new = window.session.layers[n_layers:]
    assert {lay.result_folder for lay in new} == {state.result_folder}

    # the same job again: from the cache (no fold fitted again), same maps
    n_fits = len(fitted)
    again = _run_decoding(window, qtbot, estimator="logistic_l2", cv="kfold", n_folds=3)
    qtbot.waitUntil(lambda: again.state in ("done", "failed", "cancelled"), timeout=60_000)
    assert again.state == "done", again.traceback
    qtbot.waitUntil(lambda: again.shown, timeout=20_000)
    assert again.from_cache, again.log
    assert len(fitted) == n_fits  # nothing recomputed (a count, not a time: the machine is shared)
    assert again.result_folder == state.result_folder  # a cache hit is not saved twice
    first = new[0].data.get_data()
    second = window.session.layers[-3].data.get_data()
    np.testing.assert_allclose(first, second)
    for layer in list(window.session.layers[n_layers:]):
        window.session.remove_layer(layer)
    for layer in window.session.layers:
        layer.visible = True


def test_decoding_form_fills_in_the_demo_mask_and_labels(decoding_window):
    form = decoding_window.jobs_panel.decoding
    form.mask = "(none)"
    form.images = ""
    form.images = "decoding demo"
    assert form.mask == "decoding demo mask"
    assert form.labels_info == "144 labels from the series: face 48, house 48, shoe 48; 6 runs"


def _click(canvas, axes, xy_data):
    """A left click on ``axes`` at data coordinates, as matplotlib delivers it."""
    from matplotlib.backend_bases import MouseEvent

    canvas.draw()
    x, y = axes.transData.transform(xy_data)
    event = MouseEvent("button_press_event", canvas, x, y, button=1)
    canvas.callbacks.process("button_press_event", event)


def test_cancel_a_running_job(decoding_window, qtbot):
    window = decoding_window
    # a permutation test keeps the job busy long enough to cancel it
    state = _run_decoding(window, qtbot, estimator="svc", cv="kfold", n_folds=3,
                          n_permutations=500, random_state=7)
    qtbot.waitUntil(lambda: state.state == "running", timeout=60_000)
    window.jobs_panel.selected = state
    t0 = time.time()
    window.jobs_panel.cancel = True  # the "Cancel job" button
    qtbot.waitUntil(lambda: state.state in ("cancelled", "done", "failed"), timeout=30_000)
    assert state.state == "cancelled", state.message
    assert time.time() - t0 < 15
    # once cancelled (and while cancelling) the status tells no time left
    assert state.cancelling and state.remaining is None
    assert "left" not in window.jobs_panel.selected_message
    n_errors = len(window.errors.errors)
    pump(qtbot, 200)
    assert len(window.errors.errors) == n_errors  # cancelling is not an error
    # the form is shared by the tests: the next job must not inherit 500 permutations
    window.jobs_panel.decoding.params.n_permutations = 0
    window.jobs_panel.decoding.params.random_state = 0


def test_bad_parameter_is_shown_inline_and_blocks_run(decoding_window, qtbot):
    form = decoding_window.jobs_panel.decoding
    form.images = "decoding demo"
    form.labels_file = ""
    old = form.params.n_folds
    form.params.C = -1.0
    form.params.cv = "kfold"
    assert form.problem, "a negative C must be refused inline"
    assert "C" in form.problem
    assert decoding_window.jobs_panel.form_valid is False
    form.params.C = 1.0
    form.params.n_folds = old
    assert form.problem == ""


def test_cache_panel_lists_removes_caps_and_clears(decoding_window, qtbot):
    window = decoding_window
    state = _run_decoding(window, qtbot, estimator="ridge", cv="kfold", n_folds=3)
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=120_000)
    assert state.state == "done", state.traceback
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    panel = window.cache_panel
    panel.update()
    from brainviz._config import get_cache_dir

    assert panel.folder == str(get_cache_dir())
    n = len(panel.rows)
    assert n >= 2, "the masking and the fit are cached separately"
    assert all(row.size and row.last_use and row.kind for row in panel.rows)
    panel.selected_row = panel.rows[0]
    panel.remove = True
    qtbot.waitUntil(lambda: len(panel.rows) == n - 1, timeout=10_000)
    panel.max_mb = 1e-6  # a cap below any entry evicts them all
    panel.apply_cap = True
    qtbot.waitUntil(lambda: len(panel.rows) < n - 1, timeout=10_000)
    panel.clear = True
    qtbot.waitUntil(lambda: panel.rows == [], timeout=10_000)
    assert panel.total.startswith("0 entries")
    for layer in window.session.layers[:]:
        if layer.result_folder == state.result_folder:
            window.session.remove_layer(layer)


def _cli_demo_scene(window):
    """Make the window's scene the one `brainviz render --stat MOTOR --threshold 3` draws:
    the template and nilearn's motor map at threshold 3, slices crossing at the map's peak.
    Returns the map's path and its layer."""
    from brainviz.data import load_motor_activation, load_template
    from brainviz.model import AnatomyLayer

    motor_path = load_motor_activation().path
    assert motor_path is not None
    del window.session.layers[:]
    template = AnatomyLayer(name="template")
    template.set_volume(load_template())
    window.session.add_layer(template)
    window.open_files([str(motor_path)])
    layer = window.session.layers[-1]
    layer.threshold = 3.0
    from brainviz.session import peak_cursor

    window.session.move_cursor(peak_cursor(layer))  # the CLI's default for one map
    return motor_path, layer


class _ExportDialogDriver:
    """Click through the export dialog as a user would, from inside its modal loop.

    ``steps`` is a function given (qtbot, dialog ui); it fills the fields and clicks a
    button. The driver polls for the modal dialog with a timer, because the dialog's
    own event loop runs until a button closes it.
    """

    def __init__(self, qtbot, steps):
        from pyface.qt import QtCore

        self.qtbot, self.steps, self.done, self.error = qtbot, steps, False, None
        self.timer = QtCore.QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self):
        from pyface.qt import QtGui

        dialog = QtGui.QApplication.activeModalWidget()
        ui = getattr(dialog, "_ui", None)  # traitsui keeps its UI on the dialog
        if dialog is None or ui is None or self.done:
            return
        self.timer.stop()
        self.done = True
        try:
            self.steps(self.qtbot, dialog, ui)
        except Exception as exc:  # seen by the test; close the dialog so it can end
            self.error = exc
            button(dialog, "Cancel").click()


def button(dialog, text):
    from pyface.qt import QtGui

    found = [b for b in dialog.findChildren(QtGui.QPushButton) if b.text().replace("&", "") == text]
    assert found, f"no {text!r} button in the dialog"
    return found[0]


def type_into(qtbot, ui, name, text):
    """Replace the text of the editor of trait ``name`` by typing, then press Return."""
    from pyface.qt import QtCore, QtGui

    control = ui.get_editors(name)[0].control
    edit = control if isinstance(control, QtGui.QLineEdit) else control.findChildren(QtGui.QLineEdit)[0]
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, QtCore.Qt.Key_Return)


def click_export_button(window, qtbot):
    from pyface.qt import QtCore

    qtbot.mouseClick(window.viewer.export_button, QtCore.Qt.LeftButton)


def test_export_dialog_writes_what_brainviz_render_writes(window, qtbot, tmp_path):
    """Same scene in the window and on the command line -> same pixels.

    The figure is written by clicking: the window's Export... button, the dialog's
    file and size fields, then OK.
    """
    from PIL import Image

    motor_path, layer = _cli_demo_scene(window)
    layer.show_isosurface = True
    window.set_view("left")
    pump(qtbot, 100)
    # the same scene means the same viewport too: export at the scene's own size
    width, height = (int(v) for v in window.figure.scene.render_window.size)
    out = tmp_path / "window.png"

    from pyface.qt import QtCore

    def steps(qtbot, dialog, ui):
        type_into(qtbot, ui, "path", str(out))
        type_into(qtbot, ui, "width", str(width))
        type_into(qtbot, ui, "height", str(height))
        assert window.export_options.message == ""
        qtbot.mouseClick(button(dialog, "OK"), QtCore.Qt.LeftButton)

    driver = _ExportDialogDriver(qtbot, steps)
    click_export_button(window, qtbot)
    qtbot.waitUntil(lambda: driver.done and out.exists(), timeout=60_000)
    assert driver.error is None, driver.error
    assert window.status == f"Figure written to {out}"
    cli_out = tmp_path / "cli.png"
    cmd = [sys.executable, "-m", "brainviz", "render", "--stat", str(motor_path), "--threshold", "3",
           "--isosurface", "--views", "left", "--size", f"{width}x{height}", "-o", str(cli_out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    a = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(cli_out).convert("RGB"), dtype=float)
    assert a.shape == b.shape == (height, width, 3)
    assert a.std() > 10, "the exported figure is blank"
    assert (np.abs(a[..., 0] - a[..., 2]) > 100).sum() > 20, "the map's colours are missing"
    assert np.abs(a - b).mean() < 2.0


def test_montage_from_the_window_matches_brainviz_render_colour_bar_included(window, qtbot, tmp_path):
    """A two-view montage written from the window has the stat map's colour bar, as
    ``brainviz render --views left,superior`` has, and the same pixels."""
    from PIL import Image

    motor_path, layer = _cli_demo_scene(window)
    pump(qtbot, 100)
    assert window.colorbar_visual() is window.binding.visuals[layer]
    opts = window.export_options
    saved = opts.clone_traits()
    try:
        opts.trait_set(path=str(tmp_path / "window.png"), mode="montage", use_mm=False, width=0,
                       height=0, views=["left", "superior"], ncols=0, title="", panel_labels=True,
                       colorbar=True, transparent=False)
        assert opts.problem() is None  # 0 x 0: brainviz render's default montage size
        out = window.export_figure(opts)
        assert out is not None, window.errors.errors[-1:]
        opts.trait_set(path=str(tmp_path / "no_bar.png"), colorbar=False)
        no_bar = window.export_figure(opts)
    finally:
        opts.copy_traits(saved)
    cli_out = tmp_path / "cli.png"
    cmd = [sys.executable, "-m", "brainviz", "render", "--stat", str(motor_path), "--threshold", "3",
           "--views", "left,superior", "-o", str(cli_out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    a = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(cli_out).convert("RGB"), dtype=float)
    c = np.asarray(Image.open(no_bar).convert("RGB"), dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.abs(a - b).mean() < 2.0
    # the colour bar: a band of saturated colours under the panels, absent with colorbar=False
    assert c.shape[0] < a.shape[0]
    strip = a[c.shape[0]:]
    assert (np.abs(strip[..., 0] - strip[..., 2]) > 100).sum() > 200


def test_export_dialog_writes_movies(window, qtbot, tmp_path):
    """The export dialog's movie mode: a turn of the scene as a GIF, the frames asked."""
    import imageio.v3 as iio

    _cli_demo_scene(window)
    opts = window.export_options
    saved = opts.clone_traits()
    try:
        opts.trait_set(path=str(tmp_path / "turn.gif"), mode="movie", movie="rotate", n_frames=4,
                       fps=4, use_mm=False, width=120, height=100, transparent=False)
        assert opts.problem() is None
        out = window.export_figure(opts)
        assert out is not None, window.errors.errors[-1:]
        opts.transparent = True
        assert "transparent" in opts.problem()
    finally:
        opts.copy_traits(saved)
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (4, 100, 120)


def test_export_dialog_keeps_bad_options_open_and_cancel_writes_nothing(window, qtbot, tmp_path):
    """OK with a bad size keeps the dialog open with the reason; Cancel writes no file."""
    from pyface.qt import QtCore

    out = tmp_path / "never.png"
    seen = {}

    def steps(qtbot, dialog, ui):
        type_into(qtbot, ui, "path", str(out))
        type_into(qtbot, ui, "width", "300")
        type_into(qtbot, ui, "height", "0")  # 300 x 0 is not a size
        qtbot.mouseClick(button(dialog, "OK"), QtCore.Qt.LeftButton)
        qtbot.wait(200)
        seen["open after OK"] = dialog.isVisible()
        seen["message"] = window.export_options.message
        qtbot.mouseClick(button(dialog, "Cancel"), QtCore.Qt.LeftButton)

    n_errors = len(window.errors.errors)
    driver = _ExportDialogDriver(qtbot, steps)
    click_export_button(window, qtbot)
    qtbot.waitUntil(lambda: driver.done and not _modal_open(), timeout=60_000)
    assert driver.error is None, driver.error
    assert seen["open after OK"] is True
    assert "Width and height" in seen["message"]
    assert not out.exists()
    assert len(window.errors.errors) == n_errors  # a bad option is not an error dialog
    window.export_options.width = window.export_options.height = 0  # leave the shared window as found


def _modal_open():
    from pyface.qt import QtGui

    return QtGui.QApplication.activeModalWidget() is not None


def test_regions_then_connectivity_from_the_window(window, qtbot):
    """Region learning on the resting-state demo, then a connectome from its time series."""
    series = window.load_resting_state_demo()
    assert len(series) == 3, window.errors.errors[-1:]
    panel = window.jobs_panel
    panel.kind = "regions"
    form = panel.regions
    form.subjects = [lay.name for lay in series]
    form.params.n_components = 5
    assert form.validate() == "", form.problem
    state = window.start_job(form)
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=240_000)
    assert state.state == "done", state.traceback
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    components = window.session.layers[-1]
    assert isinstance(components, ComponentsLayer) and components.n_frames == 5
    assert components in window.binding.visuals
    # one component alone, then all again, through the region menu's trait
    components.region = 2
    assert window.binding.visuals[components].region == 2  # component 2, numbered from 0
    components.region = -1
    # the result view lists the regions; a click on one shows it alone
    results = window.results_panel
    assert results.job is state and results.regions is components
    regions_view = results.displays["regions"]
    assert len(regions_view.axes_) == 5 and state.headline == "5 regions"
    _click(results.figure.canvas, regions_view.axes_[3], (5, 5))
    assert components.region == 3 and window.binding.visuals[components].region == 3
    assert regions_view.selected_ == 3
    components.region = -1

    panel.kind = "connectivity"
    conn = panel.connectivity
    conn.atlas = components.name
    conn.subjects = []
    assert conn.validate() == "", conn.problem  # the regions job's time series are enough
    state = window.start_job(conn)
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=60_000)
    assert state.state == "done", state.traceback
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    graph = window.session.layers[-1]
    assert isinstance(graph, ConnectomeLayer)
    assert graph.data["matrix"].shape == (5, 5) and graph.data["coords"].shape == (5, 3)
    assert graph in window.binding.visuals
    # the anatomy's slices are a floor and walls behind the graph as the camera sees it,
    # not planes through it (at the last cursor they hid half the nodes and edges); a slice
    # the camera sees edge-on goes through the nodes' middle (it hides nothing there)
    from brainviz.session import EDGE_ON_DEGREES

    cam = window.figure.scene.camera
    direction = np.asarray(cam.position) - np.asarray(cam.focal_point)
    cursor, nodes = np.asarray(window.session.cursor), np.asarray(graph.data["coords"])
    edge_on = np.sin(np.radians(EDGE_ON_DEGREES)) * np.linalg.norm(direction)
    for k in range(3):
        if direction[k] > edge_on:
            assert (nodes[:, k] > cursor[k]).all(), (k, cursor)
        elif direction[k] < -edge_on:
            assert (nodes[:, k] < cursor[k]).all(), (k, cursor)
        else:
            middle = (nodes[:, k].min() + nodes[:, k].max()) / 2
            assert cursor[k] == pytest.approx(middle), (k, cursor)
    # the matrix view: a click on a cell highlights that edge and its nodes in the scene
    from brainviz.gui._vtk_offscreen import render_and_grab
    from brainviz.scene import picking

    results = window.results_panel
    assert results.job is state and results.connectome is graph
    matrix_view = results.displays["matrix"]
    # its colour bar says what the numbers are (it said "weight")
    assert matrix_view.colorbar_.ax.get_ylabel() == "correlation"
    # the graph alone: the anatomy's axial slice would hide the nodes under it from above
    shown = [lay for lay in window.session.layers if lay.visible and lay is not graph]
    for layer in shown:
        layer.visible = False
    window.set_view("superior")
    pump(qtbot, 100)
    before = render_and_grab(window.figure).astype(int)
    i, j = 0, 3
    _click(results.figure.canvas, matrix_view.ax_, matrix_view.position_of(i, j))
    assert graph.highlight == (i, j)
    assert matrix_view.highlight_ is not None
    after = render_and_grab(window.figure).astype(int)
    height = after.shape[0]
    coords = graph.data["coords"]
    changed = np.abs(after - before).sum(axis=2) > 60
    for t in (0.3, 0.5, 0.7):  # along the edge, between its two nodes
        x, y = picking.world_to_display(window.figure, coords[i] + t * (coords[j] - coords[i]))[0]
        row, col = int(round(height - 1 - y)), int(round(x))
        assert changed[max(row - 3, 0):row + 4, max(col - 3, 0):col + 4].any(), t
    # a click on a node in the scene outlines its row
    info = picking.PickInfo(position_mm=tuple(coords[2]), values={},
                            node=(2, graph.data["labels"][2], tuple(coords[2])), edge=None)
    results.on_scene_pick(info)
    assert graph.highlight == (2, -1)
    assert matrix_view.highlight_.get_width() == 5  # the whole row
    graph.highlight = (-1, -1)
    for layer in shown:
        layer.visible = True
    for layer in [*series, components, graph]:
        window.session.remove_layer(layer)


def test_failed_job_becomes_an_error_dialog(decoding_window, qtbot):
    window = decoding_window
    n_errors = len(window.errors.errors)
    # one class only: the job starts, then fails inside the backend
    state = _run_decoding(window, qtbot, estimator="svc", cv="kfold", n_folds=3, classes="face")
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=60_000)
    assert state.state == "failed"
    assert state.traceback and "Traceback" in state.traceback
    assert len(window.errors.errors) == n_errors + 1
    assert state.title in window.errors.errors[-1][1]
    assert window.errors.dialogs, "no message box was shown"
    window.errors.close_all()
    decoding_window.jobs_panel.decoding.params.classes = ""


def test_frame_slider_of_a_4d_series_changes_the_scene(decoding_window, qtbot):
    from brainviz.gui._vtk_offscreen import render_and_grab

    window = decoding_window
    series = window.session.get_layer("decoding demo")
    assert isinstance(series, SeriesLayer) and series.frame_high == series.n_frames - 1 > 0
    series.visible = True
    window.set_view("superior")
    qtbot.wait(100)
    before = render_and_grab(window.figure)
    series.frame = series.n_frames // 2
    qtbot.wait(100)
    after = render_and_grab(window.figure)
    assert not np.array_equal(before, after)
    assert window.errors.errors == [] or "frame" not in window.errors.errors[-1][0]
    series.frame = 0
    series.visible = False


def test_result_view_fits_nine_classes_to_its_dock_and_to_a_wider_view(window, qtbot):
    """A nine-class result in the side dock: the confusion counts of neighbouring cells and
    the fold numbers were written over each other. The view fits them to the room it has
    (counts hidden where they cannot fit), and again when it is made wider (every count
    written, in a size that fits its cell)."""
    from brainviz.backend.decoding import DecodingResult
    from brainviz.model import JobState

    classes = ["bottle", "cat", "chair", "face", "house", "rest", "scissors", "scrambledpix",
               "shoe"]
    confusion = np.random.default_rng(0).integers(0, 120, (9, 9))
    confusion[5, 5] = 588
    scores = np.linspace(0.65, 0.78, 12)
    result = DecodingResult(params={"estimator": "ridge"}, scores_=scores,
                            mean_score_=float(scores.mean()), chance_level_=0.405,
                            classes_=classes, confusion_=confusion)
    state = JobState(kind="decoding", title="decoding: 9 classes, ridge", state="done",
                     headline="accuracy 0.715 (chance 0.405)")
    state.result = result
    panel = window.results_panel
    window.ui.docks["Result"].raise_()
    panel.prepare(state)
    panel.show_job(state)
    pump(qtbot, 200)
    canvas = panel.figure.canvas
    canvas.draw()

    def overlaps(texts):
        renderer = canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible()]
        return sum(min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5
                   and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
                   for i, a in enumerate(boxes) for b in boxes[i + 1:])

    conf, sc = panel.displays["confusion"], panel.displays["scores"]
    counts = list(conf.text_.ravel())
    folds = [t for t in sc.ax_.get_xticklabels() if 1 <= t.get_position()[0] <= 12]
    assert canvas.width() < 400  # the side dock
    assert overlaps(counts) == 0 and overlaps(folds) == 0
    try:
        canvas.setMinimumWidth(900)
        canvas.resize(900, 1400)  # a wide view: its resize lays the labels out again
        pump(qtbot, 200)
        canvas.draw()
        assert all(t.get_visible() for t in counts)
        assert overlaps(counts) == 0 and overlaps(folds) == 0
        assert [t.get_text() for t in counts] == [str(v) for v in confusion.ravel()]
    finally:
        canvas.setMinimumWidth(200)


def test_confusion_shows_each_class_share_picked_with_the_keyboard(
        window, qtbot, tmp_path, monkeypatch):
    """Nine classes, rest 588 volumes and the others about a hundred: in counts, rest's
    cell made every other class's pale. Above the result, "Confusion" offers each
    true class's share (scikit-learn's normalize="true"): picked from its list with the
    keyboard, the cells show scikit-learn's numbers, the diagonal in the same colour scale
    for every class; a result of another kind hides the choice."""
    from pyface.qt import QtCore, QtGui
    from sklearn.metrics import confusion_matrix

    from brainviz.backend.decoding import DecodingResult
    from brainviz.model import JobState

    classes = ["bottle", "cat", "chair", "face", "house", "rest", "scissors", "scrambledpix",
               "shoe"]
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(9), [108] * 5 + [588] + [108] * 3)
    pred = np.where(rng.random(y.size) < 0.75, y, rng.integers(0, 9, y.size))
    counts = confusion_matrix(y, pred)
    result = DecodingResult(params={"estimator": "ridge"}, scores_=np.full(12, 0.75),
                            mean_score_=0.75, chance_level_=588 / y.size, classes_=classes,
                            confusion_=counts)
    state = JobState(kind="decoding", title="decoding: 9 classes, ridge", state="done",
                     headline="accuracy 0.750")
    state.result = result
    panel = window.results_panel
    dock = window.ui.docks["Result"]
    dock.raise_()
    panel.prepare(state)
    panel.show_job(state)
    pump(qtbot, 200)

    def combo():
        found = [c for c in dock.findChildren(QtGui.QComboBox) if c.isVisible()]
        assert len(found) == 1, "the 'Confusion' choice is not shown"
        return found[0]

    box = combo()
    assert box.currentText() == "counts"
    assert [box.itemText(i) for i in range(box.count())] == [
        "counts", "share of true class", "share of prediction", "share of all"]
    before = panel.displays["confusion"]
    assert np.array_equal(before.values_, counts)
    # in counts, the diagonal's places on the colour scale: rest's at the top, the others'
    # at a fifth of it
    spread = np.ptp(before.im_.norm(np.diag(before.values_)))
    assert spread > 0.7
    box.setFocus()
    qtbot.keyClick(box, QtCore.Qt.Key_Down)  # the next choice, as a person picks it
    pump(qtbot, 200)
    assert box.currentText() == "share of true class"
    assert panel.confusion_shows == "share of true class"
    shown = panel.displays["confusion"]
    np.testing.assert_allclose(shown.values_, confusion_matrix(y, pred, normalize="true"),
                               atol=1e-15)
    assert shown.ax_.get_title() == "confusion: share of true class"
    # the diagonal is each class's recall, about 0.78 for all: in shares, every class's
    # place on the colour scale is near the top (rest's 588 no longer the one dark cell)
    places = shown.im_.norm(np.diag(shown.values_))
    assert places.min() > 0.85 and np.ptp(places) < 0.15
    canvas = panel.figure.canvas
    canvas.draw()
    # shares in two digits (written where the cells have room for them)
    assert [t.get_text() for t in shown.text_.ravel()] == [
        f"{v:.2g}" for v in shown.values_.ravel()]
    # "Save figure..." writes the view as shown, at a paper's size (9 x 3.8 inches, 300 dpi)
    import matplotlib.image

    from brainviz.gui import dialogs

    target = tmp_path / "nine classes.png"
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_file",
                        lambda *a, **k: asked.append(k.get("default")) or str(target))
    buttons = [b for b in dock.findChildren(QtGui.QPushButton)
               if b.isVisible() and b.text().replace("&", "") == "Save figure..."]
    assert len(buttons) == 1
    qtbot.mouseClick(buttons[0], QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: target.exists(), timeout=20_000)  # in the next event-loop turn
    assert asked[0].endswith("decoding_9_classes_ridge.png"), window.errors.errors
    pixels = matplotlib.image.imread(str(target))
    assert pixels.shape[:2] == (1140, 2700)
    assert pixels[..., :3].std() > 0.05  # drawn, not blank
    assert f"Saved the result figure to {target}" in window.status
    svg = panel.save_figure(tmp_path / "nine.svg")
    text = svg.read_text()
    assert "confusion: share of true class" in text and "scrambledpix" in text
    with pytest.raises(Exception, match=r"nine\.txt: expected a \.png, \.svg or \.pdf"):
        panel.save_figure(tmp_path / "nine.txt")
    assert not (tmp_path / "nine.txt").exists()
    # the choice is the session's: saved with it, and shown again when it is opened
    assert window.session.confusion == "true"
    saved = window.save_session(tmp_path / "shares.json")
    assert json.loads(saved.read_text())["views"] == {"confusion": "true"}
    box.setFocus()
    qtbot.keyClick(box, QtCore.Qt.Key_Up)  # back to counts
    pump(qtbot, 200)
    assert window.session.confusion == "counts" and box.currentText() == "counts"
    errors = len(window.errors.errors)
    window.open_session(saved)
    pump(qtbot, 200)
    assert window.errors.errors[errors:] == []
    assert box.currentText() == "share of true class" and panel.confusion_shows == box.currentText()
    # a connectivity result has no confusion matrix: no choice
    from brainviz.backend.connectivity import ConnectivityResult

    matrix = ConnectivityResult(params={}, matrix_=np.eye(3), labels_=["a", "b", "c"],
                                coords_=np.zeros((3, 3)), kind_="correlation")
    other = JobState(kind="connectivity", title="connectivity", state="done")
    other.result = matrix
    panel.show_job(other)
    pump(qtbot, 100)
    assert not any(c.isVisible() for c in dock.findChildren(QtGui.QComboBox))
    panel.confusion_shows = "counts"


def test_an_opened_result_folder_is_a_job_with_its_result_view_linked_to_its_maps(
        window, qtbot, tmp_path):
    """A folder written by ``brainviz decode``, opened in the window (File > Open, a drop,
    the command line), opened its weight maps but not its result: the result view still
    said "Results appear here when a job finishes". Now it is a job in the job list, its
    scores and confusion in the result view brought to the front, a click on a row showing
    that class's map; opened again, no second job; in a reopened session, its result is
    read back from its folder when the job is selected."""
    import nibabel as nib

    from brainviz.backend import save_result
    from brainviz.backend.decoding import DecodingResult

    classes = ["face", "house", "shoe"]
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = -15
    maps = {}
    for k, name in enumerate(classes):
        data = np.zeros((10, 10, 10), np.float32)
        data[2 + 3 * k, 5, 5] = 1.0 + k
        maps[name] = nib.Nifti1Image(data, affine)
    result = DecodingResult(params={"estimator": "ridge"}, inputs=["bold.nii.gz"],
                            scores_=np.array([0.8, 0.9]), mean_score_=0.85,
                            chance_level_=1 / 3, classes_=classes,
                            confusion_=np.array([[9, 1, 0], [1, 8, 1], [0, 2, 8]]),
                            weight_maps_=maps,
                            mask_img_=nib.Nifti1Image(np.ones((10, 10, 10), np.uint8), affine))
    folder = tmp_path / "decode-out"
    save_result(result, folder)
    before_layers, before_jobs = list(window.session.layers), len(window.session.jobs)
    window.jobs_panel.selected = None
    added = window.open_files([str(folder)])
    pump(qtbot, 200)
    assert [lay.name for lay in added] == [f"weights {c}" for c in classes]
    assert len(window.session.jobs) == before_jobs + 1
    state = window.session.jobs[-1]
    assert state.result_folder == str(folder) and state.state == "done"
    assert state.title == "decoding: face vs house vs shoe, ridge"
    assert state.headline.startswith("accuracy 0.850")
    panel = window.results_panel
    assert window.jobs_panel.selected is state and panel.job is state
    assert set(panel.displays) == {"scores", "confusion"}
    assert window.ui.docks["Result"].isVisible()
    confusion = panel.displays["confusion"]
    assert confusion.selected_ == 0 and panel.weight_maps == dict(zip(classes, added))
    # the map shown is the layer selected (its settings and voxel boxes), not the last
    # one opened, hidden
    assert window.layers_panel.selected is added[0]
    _click(panel.figure.canvas, confusion.ax_, (2.0, 2.1))  # the row of "shoe"
    assert [lay.visible for lay in added] == [False, False, True]
    assert confusion.selected_ == 2
    # opened again: its maps again, the same job, shown again
    from brainviz.model import JobState

    window.jobs_panel.selected = None
    panel.show_job(JobState(kind="connectivity", title="another", state="failed"))
    again = window.open_files([str(folder)])
    assert len(window.session.jobs) == before_jobs + 1
    assert window.jobs_panel.selected is state and panel.job is state
    for layer in again:
        window.session.remove_layer(layer.name)
    # a reopened session keeps the job's folder, not its result: read back when selected
    saved = window.save_session(tmp_path / "with_result.json")
    window.open_session(saved)
    pump(qtbot, 200)
    reopened = [job for job in window.session.jobs if job.result_folder == str(folder)]
    assert len(reopened) == 1 and reopened[0] is not state
    window.jobs_panel.selected = reopened[0]
    pump(qtbot, 100)
    assert panel.job is reopened[0] and reopened[0].result is not None
    assert np.array_equal(panel.displays["confusion"].confusion, result.confusion_)
    assert window.errors.errors == [] or "result" not in window.errors.errors[-1][0]
    for layer in [lay for lay in window.session.layers if lay not in before_layers]:
        window.session.remove_layer(layer.name)


def test_searchlight_from_the_window_shows_its_map_and_how_its_spheres_scored(decoding_window,
                                                                             qtbot):
    """The searchlight form runs the job; its score map opens as a layer with the cursor at
    the best sphere, the job list gives the best score, and the result view shows the
    spheres' scores against chance (it was an empty white figure)."""
    import nibabel as nib

    from brainviz.data import load_volume
    from brainviz.model import MaskLayer

    window = decoding_window
    # one plane of the demo's mask (a whole-brain searchlight takes minutes)
    demo_mask = window.session.get_layer("decoding demo mask").data
    slab = np.zeros(demo_mask.shape[:3], np.uint8)
    slab[:, :, 19] = np.asarray(demo_mask.get_data())[:, :, 19] > 0
    slab_layer = MaskLayer(name="slab").set_volume(
        load_volume(nib.Nifti1Image(slab, demo_mask.affine), name="slab"))
    window.session.add_layer(slab_layer)
    panel = window.jobs_panel
    n_layers = len(window.session.layers)
    state = _run_decoding(window, qtbot, kind="searchlight", mask="slab", radius=4.0,
                          estimator="ridge", cv="kfold", n_folds=3)
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=240_000)
    assert state.state == "done", state.traceback
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    try:
        result = state.result
        # named as decoding jobs are (it was "searchlight decoding demo (ridge, 4.0 mm)")
        assert state.title == "searchlight: face vs house vs shoe, ridge, 4 mm"
        new = window.session.layers[n_layers:]
        assert [type(lay).__name__ for lay in new] == ["StatMapLayer"]
        np.testing.assert_allclose(window.session.cursor, result.best_coords_, atol=1e-6)
        assert state.headline.startswith(f"best accuracy {result.best_score_:.3f} at (")
        assert state.headline.endswith(f"(chance {result.chance_level_:.3f})")
        results = window.results_panel
        assert results.job is state and set(results.displays) == {"searchlight"}
        view = results.displays["searchlight"]
        mask = np.asanyarray(result.mask_img_.dataobj).astype(bool)
        assert sum(b.get_height() for b in view.bars_) == mask.sum()  # every sphere counted
        assert view.best_line_.get_xdata()[0] == pytest.approx(result.best_score_)
        assert view.chance_line_.get_xdata()[0] == pytest.approx(result.chance_level_)
    finally:
        for layer in window.session.layers[n_layers - 1:]:
            window.session.remove_layer(layer)
        for layer in window.session.layers:
            layer.visible = True
        panel.kind = "decoding"


def test_export_at_0_by_0_is_the_3d_views_shape_at_least_render_width(window, qtbot, tmp_path):
    """Export..., OK: the figure was the 3D view's own few hundred pixels (371 x 220 in a
    1400 x 900 window). At 0 x 0 it now keeps the view's shape at least 800 px wide (what
    ``brainviz render`` writes by default), and the dialog says what 0 x 0 gives."""
    from PIL import Image
    from pyface.qt import QtCore, QtGui

    from brainviz.scene._montage import DEFAULT_FIGURE_SIZE

    out = tmp_path / "auto.png"
    opts = window.export_options
    opts.trait_set(mode="figure", width=0, height=0, use_mm=False, path=str(out))
    w, h = (int(v) for v in window.figure.scene.render_window.size)
    assert w < DEFAULT_FIGURE_SIZE[0]  # the view in the test window is small, as on screen
    seen = {}

    def steps(qtbot, dialog, ui):
        seen["notes"] = [lab.text() for lab in dialog.findChildren(QtGui.QLabel)
                         if lab.isVisible() and lab.text().startswith("0 x 0:")]
        qtbot.mouseClick(button(dialog, "OK"), QtCore.Qt.LeftButton)

    driver = _ExportDialogDriver(qtbot, steps)
    click_export_button(window, qtbot)
    qtbot.waitUntil(lambda: driver.done and out.exists(), timeout=60_000)
    assert driver.error is None, driver.error
    size = Image.open(out).size
    assert size[0] == DEFAULT_FIGURE_SIZE[0] and abs(size[1] - h * size[0] / w) <= 1
    assert seen["notes"] == [f"0 x 0: {size[0]} x {size[1]} px, the 3D view's shape"]
    pixels = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert pixels.std() > 10, "the exported figure is blank"
    opts.path = "figure.png"


def _tripled(x):
    return 3 * x


def test_cache_browser_rows_are_one_line_naming_files_with_the_whole_text_in_tooltips(
        window, qtbot):
    """An entry over three subjects' long paths made its row a dozen lines tall in the narrow
    dock. Each row is one line; the inputs column names the files, and its tooltip holds
    the whole summary."""
    from pyface.qt import QtGui

    from brainviz.backend import cache

    long = "3 subject(s): " + ", ".join(
        f"/data/studies/some-long-study-name/derivatives/fmriprep/sub-{i:02d}/func/"
        f"sub-{i:02d}_task-rest_bold.nii.gz" for i in range(1, 4))
    memory = cache.check_memory()
    cache.cached_call(memory, _tripled, np.arange(3), kind="test: long inputs", inputs=long)
    panel = window.cache_panel
    window.ui.docks["Cache"].raise_()
    panel.update()
    pump(qtbot, 200)
    try:
        row = next(r for r in panel.rows if r.kind == "test: long inputs")
        assert row.inputs == long
        assert row.inputs_short.startswith("3 subject(s): sub-01_task-rest_bold.nii.gz, ")
        assert len(row.inputs_short) <= 48 and "/" not in row.inputs_short
        tables = [t for t in window.ui.docks["Cache"].findChildren(QtGui.QTableView)]
        assert len(tables) == 1
        table = tables[0]
        line = table.fontMetrics().height()
        heights = [table.rowHeight(i) for i in range(table.model().rowCount())]
        assert len(heights) == len(panel.rows) and max(heights) <= 1.6 * line + 8, heights
        # the cell's text and tooltip, as the table shows them
        from pyface.qt import QtCore

        model = table.model()
        names = [model.headerData(c, QtCore.Qt.Horizontal, QtCore.Qt.DisplayRole)
                 for c in range(model.columnCount())]
        kinds = [model.data(model.index(r, names.index("Kind")), QtCore.Qt.DisplayRole)
                 for r in range(model.rowCount())]
        cell = model.index(kinds.index("test: long inputs"), names.index("Inputs"))
        assert model.data(cell, QtCore.Qt.DisplayRole) == row.inputs_short
        assert model.data(cell, QtCore.Qt.ToolTipRole) == long
    finally:
        for entry in cache.list_cache_entries():
            if entry.kind == "test: long inputs":
                cache.remove_cache_entry(entry)
        panel.update()


def test_a_first_connectome_from_the_window_needs_no_atlas_file(window, qtbot):
    """With the resting-state demo alone, Run job on the connectivity form makes a connectome
    in the shipped Power 2011 spheres (it asked for an atlas file or a regions job first)."""
    names = {lay.name for lay in window.session.layers}
    series = [lay for lay in window.session.layers if lay.name.startswith("rest subject")]
    if not series:
        series = window.load_resting_state_demo()
    panel = window.jobs_panel
    panel.kind = "connectivity"
    form = panel.form
    form.atlas = "Power 2011 (264 spheres)"
    form.subjects = [lay.name for lay in series]
    assert form.validate() == "", form.problem
    n_jobs, n_layers = len(window.session.jobs), len(window.session.layers)
    panel.run = True  # the "Run job" button
    qtbot.waitUntil(lambda: len(window.session.jobs) == n_jobs + 1, timeout=5000)
    state = window.session.jobs[-1]
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=120_000)
    assert state.state == "done", state.traceback
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    try:
        graph = window.session.layers[-1]
        assert isinstance(graph, ConnectomeLayer)
        assert graph.data["matrix"].shape == (264, 264)
        from brainviz.data import load_coords

        np.testing.assert_allclose(graph.data["coords"], load_coords("power")[0])
        assert state.result.params["radius"] == 5.0
        assert window.results_panel.job is state and "matrix" in window.results_panel.displays
    finally:
        for layer in window.session.layers[n_layers:]:
            window.session.remove_layer(layer)
        for layer in list(window.session.layers):
            if layer.name not in names:
                window.session.remove_layer(layer)
        for layer in window.session.layers:
            layer.visible = True
