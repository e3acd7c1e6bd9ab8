"""Drive the real main window (offscreen Qt): files, layers, scene pixels, errors, sessions, shell."""
import gzip
import shutil

import numpy as np
import pytest

from brainviz.model import AnatomyLayer, ConnectomeLayer, StatMapLayer

pytestmark = [pytest.mark.gui, pytest.mark.render]


def pump(qtbot, ms=50):
    """Let queued Qt events (TraitsUI button signals, invoke_later) run."""
    qtbot.wait(ms)


def grab(window):
    """The scene's pixels, rendered now (QWidget.grab cannot see the GL area)."""
    from brainviz.gui._vtk_offscreen import render_and_grab

    return render_and_grab(window.figure)


def _layer(window, cls):
    return next(lay for lay in window.session.layers if type(lay) is cls)


def test_demo_window_has_the_three_demo_layers_drawn(window):
    kinds = [type(lay) for lay in window.session.layers]
    assert kinds[:3] == [AnatomyLayer, ConnectomeLayer, StatMapLayer]  # the map over the graph
    assert set(window.binding.visuals) >= set(window.session.layers[:3])
    pixels = grab(window)
    # not black, not empty: the template is grey, the overlay is coloured
    assert pixels.std() > 10
    coloured = np.abs(pixels[..., 0].astype(int) - pixels[..., 2].astype(int)) > 60
    assert coloured.sum() > 20
    # the cursor tools and the readout show where the cursor is from the start (they were
    # empty until the cursor first moved)
    cursor = window.session.cursor
    assert [float(box.text()) for box in window.viewer.mm_boxes] == pytest.approx(cursor, abs=0.05)
    assert all(box.text().isdigit() for box in window.viewer.voxel_boxes)
    assert f"{cursor[0]:.1f}" in window.readout and "MNI152" in window.readout


def test_open_files_same_path_as_the_file_dialog(window, qtbot, img_3d, tmp_path, monkeypatch):
    import nibabel as nib

    from brainviz.gui import dialogs

    path = tmp_path / "small_map.nii.gz"
    nib.save(img_3d, path)
    monkeypatch.setattr(dialogs, "ask_open_files", lambda parent=None, directory="": [str(path)])
    n = len(window.session.layers)
    window.layers_panel.add = True  # the "Add file..." button
    qtbot.waitUntil(lambda: len(window.session.layers) == n + 1, timeout=5000)
    layer = window.session.layers[-1]
    assert layer.name == "small_map" and layer.path == str(path)
    assert layer in window.binding.visuals
    # and it is now a recent file
    window.layers_panel.refresh_recent()
    assert window.layers_panel.recent_list[0] == str(path.resolve())
    window.session.remove_layer(layer)
    assert layer not in window.binding.visuals


def test_drop_files_on_the_window(window, qtbot, img_3d, tmp_path):
    import nibabel as nib
    from pyface.qt import QtCore, QtGui

    path = tmp_path / "dropped.nii.gz"
    nib.save(img_3d, path)
    n = len(window.session.layers)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    control = window.ui.control
    assert control.acceptDrops()
    event = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.CopyAction, mime,
                             QtCore.Qt.LeftButton, QtCore.Qt.NoModifier)
    # Qt delivers no synthetic drop without a real drag, so hand the event to the
    # window's installed drop filter, which is what Qt would call
    assert window._drop_filter.eventFilter(control, event) is True
    qtbot.waitUntil(lambda: len(window.session.layers) == n + 1, timeout=5000)
    assert window.session.layers[-1].name == "dropped"
    window.session.remove_layer(window.session.layers[-1])


def test_threshold_slider_and_text_box_change_the_scene(window, qtbot):
    from pyface.qt import QtGui

    motor = _layer(window, StatMapLayer)
    window.layers_panel.selected = motor
    pump(qtbot, 100)
    sliders = [s for s in window.ui.control.findChildren(QtGui.QSlider) if s.isVisible()]
    assert sliders, "no slider in the layer properties"
    before = grab(window)
    old = motor.threshold
    # the threshold slider is the one whose value follows motor.threshold
    slider = None
    for s in sliders:
        s_old = s.value()
        s.setValue(s.maximum() // 5 if s_old != s.maximum() // 5 else s.maximum() // 4)
        pump(qtbot, 50)
        if motor.threshold != old:
            slider = s
            break
        s.setValue(s_old)
    assert slider is not None, "moving a slider did not change the threshold"
    qtbot.waitUntil(lambda: not np.array_equal(grab(window), before), timeout=5000)
    # the linked text box (next to the slider) shows the new value ...
    text = slider.parent().findChildren(QtGui.QLineEdit)[0]
    assert float(text.text()) == pytest.approx(motor.threshold, rel=0.01)
    # ... and typing a value there moves the threshold and the slider
    value = round(0.5 * motor.threshold_high, 2)
    slider_before = slider.value()
    text.setText(str(value))
    text.editingFinished.emit()
    qtbot.waitUntil(lambda: motor.threshold == pytest.approx(value, rel=1e-3), timeout=5000)
    assert slider.value() != slider_before
    # a float32 map's threshold reads in six digits, as Min and Max (its seventeen digits
    # were cut by the box: "0.40972220")
    motor.threshold = float(np.float32(0.4097222))
    pump(qtbot, 50)
    shown = [e.text() for e in window.ui.control.findChildren(QtGui.QLineEdit)
             if e.isVisible() and e.text().startswith("0.409")]
    assert "0.409722" in shown and not any(len(t) > 8 for t in shown), shown
    motor.threshold = old
    pump(qtbot)


def test_colour_bar_checkbox_draws_the_maps_colour_bar(window, qtbot):
    """The layer panel's "Colour bar" box shows the stat map's colour bar in the scene,
    titled with the layer's name, and a session keeps the setting."""
    from pyface.qt import QtGui

    motor = _layer(window, StatMapLayer)
    window.layers_panel.selected = motor
    pump(qtbot, 100)
    visual = window.binding.visuals[motor]
    boxes = [b for b in window.ui.control.findChildren(QtGui.QCheckBox) if b.isVisible()]
    before = grab(window)
    box = None
    for b in boxes:  # the box whose click turns the layer's colour bar on
        b.click()
        pump(qtbot, 50)
        if motor.show_colorbar:
            box = b
            break
        b.click()
        pump(qtbot, 50)
    assert box is not None, "no check box turns the colour bar on"
    assert visual.show_colorbar and visual.scalar_bar.visibility
    assert visual.scalar_bar.title.replace("\n", " ") == motor.name  # wrapped to fit
    qtbot.waitUntil(lambda: not np.array_equal(grab(window), before), timeout=5000)
    assert motor.to_dict()["show_colorbar"] is True
    box.click()
    qtbot.waitUntil(lambda: not motor.show_colorbar and not visual.scalar_bar.visibility, timeout=5000)


def test_view_buttons_move_the_camera(window, qtbot):
    window.set_view("left")
    before = np.array(window.figure.scene.camera.position)
    window.viewer.view_buttons["superior"].click()
    qtbot.waitUntil(lambda: not np.allclose(window.figure.scene.camera.position, before), timeout=5000)
    after = np.array(window.figure.scene.camera.position)
    # superior: the camera looks down from +z
    assert after[2] - window.figure.scene.camera.focal_point[2] > 0
    window.viewer.view_buttons["left"].click()
    pump(qtbot, 100)


def test_click_readout_names_position_and_values(window, qtbot):
    from brainviz.scene import picking

    window.set_view("left")
    pump(qtbot)
    w, h = window.figure.scene.render_window.size
    info = picking.pick_at(window.figure, (w // 2, h // 2))
    window._on_pick(info)
    assert "mm" in window.readout
    if info.position_mm is not None:
        assert "MNI152 template" in window.readout
        assert window.session.cursor == pytest.approx(info.position_mm)


def test_click_on_a_connectome_node_names_it(window, qtbot):
    from brainviz.scene import picking

    graph = _layer(window, ConnectomeLayer)
    window.set_view("superior")
    pump(qtbot)
    grab(window)  # a rendered frame: the camera the picker projects with
    coords = graph.data["coords"]
    xy = picking.world_to_display(window.figure, coords[0])[0]
    info = picking.pick_at(window.figure, xy)
    window._on_pick(info)
    assert info.node is not None and info.node[0] == 0
    assert f"node 0: {graph.data['labels'][0]}" in window.readout
    window.set_view("left")


def test_corrupt_file_gives_an_error_dialog_and_the_window_keeps_working(window, qtbot, tmp_path,
                                                                      img_3d):
    import nibabel as nib
    from pyface.qt import QtGui

    bad = tmp_path / "corrupt.nii.gz"
    good = tmp_path / "fine.nii.gz"
    nib.save(img_3d, good)
    raw = gzip.decompress(good.read_bytes())
    bad.write_bytes(gzip.compress(raw[:400]))  # header, then the data stops
    n_layers, n_errors = len(window.session.layers), len(window.errors.errors)
    window.open_files([str(bad)])
    assert len(window.errors.errors) == n_errors + 1
    title, message, _ = window.errors.errors[-1]
    assert "corrupt.nii.gz" in message
    boxes = [b for b in window.errors.dialogs if isinstance(b, QtGui.QMessageBox)]
    assert boxes and "corrupt.nii.gz" in boxes[-1].text()
    boxes[-1].done(0)  # the user closes it
    pump(qtbot)
    assert boxes[-1] not in window.errors.dialogs
    assert len(window.session.layers) == n_layers
    # everything else still works
    window.open_files([str(good)])
    assert window.session.layers[-1].name == "fine"
    assert grab(window).std() > 10
    window.session.remove_layer(window.session.layers[-1])


def test_shell_line_changes_the_scene(window, qtbot):
    # the scene settled after the previous test's last change (removing a layer re-frames
    # the camera on the next turn of the event loop)
    pump(qtbot, 100)
    before = grab(window)
    ns = window.shell_panel.execute("session.layers[0].visible = False")
    pump(qtbot, 100)
    assert ns["session"] is window.session and ns["fig"] is window.figure
    assert window.session.layers[0].visible is False
    after = grab(window)
    assert not np.array_equal(before, after)
    window.shell_panel.execute("session.layers[0].visible = True")
    pump(qtbot, 100)
    assert np.abs(grab(window).astype(int) - before.astype(int)).mean() < 1.0


def test_session_save_and_reopen_same_layers_and_camera(window, qtbot, tmp_path, img_3d):
    import nibabel as nib

    path = tmp_path / "map.nii.gz"
    nib.save(img_3d, path)
    window.open_files([str(path)])
    layer = window.session.layers[-1]
    layer.opacity = 0.4
    layer.cmap = "hot"
    window.set_view("anterior")
    pump(qtbot)
    saved_layers = [(lay.name, type(lay), lay.opacity, lay.cmap, lay.visible)
                    for lay in window.session.layers]
    camera = window.get_camera()
    out = window.save_session(tmp_path / "s.json")
    assert out.read_text().lstrip().startswith("{")  # JSON, never a pickle

    window.set_view("left")
    window.session.layers[-1].opacity = 1.0
    window.open_session(out)
    pump(qtbot, 100)
    assert [(lay.name, type(lay), lay.opacity, lay.cmap, lay.visible)
            for lay in window.session.layers] == saved_layers
    reopened = window.get_camera()
    for key in ("position", "focal_point", "view_up"):
        assert np.allclose(reopened[key], camera[key], atol=1e-6)
    assert set(window.binding.visuals) == set(window.session.layers)

    # a moved file is named, the rest opens
    n_errors = len(window.errors.errors)
    shutil.move(path, tmp_path / "moved.nii.gz")
    window.open_session(out)
    assert len(window.errors.errors) == n_errors + 1
    assert "map.nii.gz" in window.errors.errors[-1][1]
    assert [lay.name for lay in window.session.layers] == [s[0] for s in saved_layers[:-1]]
    window.errors.close_all()



# --------------------------------------------------------------------------- one model, one scene
def _png(path):
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(float)


def _render(args, tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "brainviz", "render", *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)


def test_render_session_and_copied_command_give_the_windows_export(window, qtbot, tmp_path):
    """A session saved by the window, drawn by `brainviz render --session`, and the command
    line File > Copy render command puts on the clipboard, give the window's export."""
    import shlex

    from pyface.qt import QtGui

    motor = _layer(window, StatMapLayer)
    old = (motor.threshold, motor.cmap, window.session.cursor)
    motor.threshold = 4.0
    motor.cmap = "RdBu_r"
    window.session.move_cursor((38.0, -24.0, 58.0))
    window.set_view("posterior")
    window.binding.apply_camera(dict(window.binding.current_camera(),
                                     position=[120.0, -420.0, 160.0]))  # a camera of its own
    pump(qtbot)
    options = window.export_options
    options.trait_set(mode="figure", width=240, height=200, use_mm=False, transparent=False,
                      path=str(tmp_path / "window.png"))
    assert window.export_figure() is not None
    window.save_session(tmp_path / "scene.json")
    proc = _render(["--session", "scene.json", "--size", "240x200", "-o", "session.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    exported = _png(tmp_path / "window.png")
    assert np.abs(_png(tmp_path / "session.png") - exported).mean() < 2

    # File > Copy render command
    window.ui.actions["copy_render_command"].trigger()  # File > Copy render command
    text = QtGui.QApplication.clipboard().text()
    words = shlex.split(text)
    assert words[:2] == ["brainviz", "render"] and "--layer" in words and "--azimuth" in words
    words[words.index("-o") + 1] = "copied.png"
    proc = _render(words[2:], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert np.abs(_png(tmp_path / "copied.png") - exported).mean() < 2
    motor.threshold, motor.cmap = old[0], old[1]
    window.session.move_cursor(old[2])
    window.set_view("superior")


def test_a_map_made_in_the_shell_is_a_layer(window, qtbot, img_3d, tmp_path):
    import nibabel as nib

    path = tmp_path / "shell_map.nii.gz"
    nib.save(img_3d, path)
    n = len(window.session.layers)
    ns = window.shell_panel.execute(f"m = bv.stat_map({str(path)!r}, threshold=1.5, figure=fig)")
    pump(qtbot, 100)
    layer = ns["m"]
    assert window.session.layers[n:] == [layer] and layer.path == str(path)
    assert layer in window.binding.visuals
    assert window.layers_panel.selected is layer  # listed in the layers panel, selected
    with pytest.raises(AttributeError, match="no attribute 'treshold'"):
        layer.treshold = 2  # a typo in the shell says so instead of doing nothing
    window.session.remove_layer(layer)


def test_controls_offered_are_the_layers_display_settings():
    from brainviz import model
    from brainviz.gui.panels import control_names

    for cls in model.LAYER_TYPES.values():
        names = control_names(cls)
        assert set(cls.display_trait_names()) <= set(names), cls.__name__
        # the only extra is the threshold slider, which sets the threshold itself
        assert set(names) - set(cls.display_trait_names()) <= {"threshold_number"}, cls.__name__
    assert control_names(model.ConnectomeLayer).count("threshold") == 1


def _write_gifti(path, *arrays):
    import nibabel as nib

    img = nib.gifti.GiftiImage()
    for data, intent in arrays:
        img.add_gifti_data_array(nib.gifti.GiftiDataArray(data, intent=intent))
    nib.save(img, path)
    return str(path)


def test_gifti_surface_and_its_values_open_through_the_file_dialog(window, qtbot, tmp_path,
                                                                   monkeypatch):
    from nilearn.datasets import fetch_surf_fsaverage

    from brainviz.gui import dialogs
    from brainviz.model import SurfaceLayer

    files = fetch_surf_fsaverage("fsaverage5")
    n = len(window.session.layers)
    for layer in window.session.layers:
        layer.visible = False
    chosen = []
    monkeypatch.setattr(dialogs, "ask_open_files", lambda parent=None, directory="": chosen)
    chosen[:] = [files["pial_left"]]
    window.layers_panel.add = True  # "Add file..."
    qtbot.waitUntil(lambda: len(window.session.layers) == n + 1, timeout=20000)
    surface = window.session.layers[-1]
    assert isinstance(surface, SurfaceLayer) and surface in window.binding.visuals
    window.set_view("left")
    grey = grab(window)
    chosen[:] = [files["thick_left"]]  # per-vertex values: onto the surface
    window.layers_panel.add = True
    qtbot.waitUntil(lambda: surface.values_path == files["thick_left"], timeout=20000)
    pump(qtbot, 100)
    coloured = grab(window)
    assert len(window.session.layers) == n + 1
    assert (np.ptp(coloured.astype(int), axis=2) > 60).sum() > (np.ptp(grey.astype(int), axis=2) > 60).sum() + 500
    # a small mesh of our own, with values for another vertex count: refused in one line
    mesh = _write_gifti(tmp_path / "tri.surf.gii",
                        (np.array([[0, 0, 0], [40, 0, 0], [0, 40, 0]], np.float32), "NIFTI_INTENT_POINTSET"),
                        (np.array([[0, 1, 2]], np.int32), "NIFTI_INTENT_TRIANGLE"))
    window.open_files([mesh])
    assert isinstance(window.session.layers[-1], SurfaceLayer)
    bad = _write_gifti(tmp_path / "five.func.gii", (np.arange(5, dtype=np.float32), "NIFTI_INTENT_NONE"))
    n_errors = len(window.errors.errors)
    window.open_files([bad])
    assert len(window.errors.errors) == n_errors + 1
    assert "five.func.gii holds values for 5 vertices" in window.errors.errors[-1][1]
    window.errors.close_all()
    del window.session.layers[n:]
    for layer in window.session.layers:
        layer.visible = True


def test_a_long_recent_path_does_not_widen_the_layers_panel(window, qtbot):
    """The recent-files box lists whole paths: they are elided in the box, so the layers
    panel keeps its dock's width (no sideways scrolling for a long path)."""
    from pyface.qt import QtGui

    long_path = "/data/" + "a_very_long_folder_name/" * 8 + "sub-01_task-motor_bold.nii.gz"
    window.layers_panel.recent_list = [long_path]
    window.layers_panel.recent = long_path
    qtbot.wait(50)
    dock = window.ui.docks["Layers"]
    boxes = [c for c in dock.findChildren(QtGui.QComboBox) if c.currentText() == long_path]
    assert boxes, "the recent-files box is not in the layers dock"
    box = boxes[0]
    assert box.fontMetrics().horizontalAdvance(long_path) > dock.width()
    assert box.minimumWidth() < dock.width() / 2
    assert box.sizeAdjustPolicy() == QtGui.QComboBox.AdjustToMinimumContentsLengthWithIcon


def test_garbage_cycles_are_freed_on_the_gui_thread_while_a_job_thread_allocates(window,
                                                                                  qtbot):
    """A cycle (as a removed visual's VTK objects) is freed on the GUI thread, not on a job's
    thread that happens to allocate when the collector runs: freed there, VTK's collector
    waited for the interpreter held by the GUI thread, itself waiting for VTK's lock (the
    window froze in a searchlight run). The window's timer collects instead; closing the
    last window turns automatic collection back on."""
    import gc
    import threading

    freed_on = []

    class Node:
        def __del__(self):
            freed_on.append(threading.current_thread())

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    del a, b

    junk = []

    def allocate():  # a job's work: many container objects, well past the thresholds
        for _ in range(200_000):
            junk.append([{}])

    worker = threading.Thread(target=allocate, name="job")
    worker.start()
    worker.join()
    assert freed_on == [] or freed_on[0] is threading.main_thread(), freed_on
    qtbot.waitUntil(lambda: len(freed_on) == 2, timeout=5000)
    assert all(t is threading.main_thread() for t in freed_on)
    assert not gc.isenabled()
    del junk


def test_closing_the_last_window_turns_automatic_collection_back_on(qapp, monkeypatch):
    import gc

    from brainviz.gui import _gc
    from brainviz.gui._gc import MainThreadCollector

    monkeypatch.setattr(_gc, "_OPEN", [])  # as if no other window were open
    was = gc.isenabled()
    gc.enable()
    try:
        first, second = MainThreadCollector(), MainThreadCollector()
        assert not gc.isenabled()
        first.stop()
        assert not gc.isenabled()  # another window is open
        second.stop()
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
