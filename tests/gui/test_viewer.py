"""The window as a brain viewer (offscreen Qt, real window): 3D mouse, linked 2D views, cursor
tools, readout with names and exact values, time course, files researchers have, the IPython
console, undo and shortcuts."""
import numpy as np
import pytest

from brainviz.model import (
    AnatomyLayer, ConnectomeLayer, LabelLayer, SeriesLayer, StatMapLayer,
)

pytestmark = [pytest.mark.gui, pytest.mark.render]


def pump(qtbot, ms=50):
    qtbot.wait(ms)


def _interactor(figure):
    scene = figure.scene
    return scene.interactor._vtk_obj if hasattr(scene.interactor, "_vtk_obj") else scene.interactor


def _display(figure, xyz):
    renderer = figure.scene.renderer
    renderer.world_point = (float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    renderer.world_to_display()
    x, y, _ = renderer.display_point
    return int(round(x)), int(round(y))


def _mouse(figure, events, ctrl=False):
    """Send VTK mouse events [(event, (x, y))] to a figure's interactor."""
    iren = _interactor(figure)
    for event, (x, y) in events:
        iren.SetEventInformation(int(x), int(y), int(ctrl), 0)
        iren.InvokeEvent(event)


@pytest.fixture
def fresh(window, qtbot):
    """The shared window emptied of layers (restored afterwards) and the cursor at 0."""
    saved = list(window.session.layers)
    del window.session.layers[:]
    window.session.move_cursor((0, 0, 0))
    pump(qtbot)
    yield window
    del window.session.layers[:]
    window.session.layers.extend(saved)
    window.errors.close_all()
    pump(qtbot)
    qtbot.waitUntil(lambda: not window.drawing_pending)  # the 2D views draw them a turn later


def _save(img, path):
    import nibabel as nib

    nib.save(img, path)
    return str(path)


def _map_file(tmp_path, shape=(20, 24, 20), peak=(14, 9, 12)):
    """A 4 mm MNI-space map (sform code 4) with one peak voxel of 9 and a smaller blob."""
    import nibabel as nib

    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-38.0, -46.0, -38.0)
    data = np.zeros(shape, np.float32)
    data[4:8, 4:8, 4:8] = -3.0
    data[peak] = 9.0
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, code=4)
    return _save(img, tmp_path / "zmap.nii.gz"), affine, peak


# --------------------------------------------------------------------------- 3D mouse
def test_a_drag_that_starts_over_the_brain_rotates_the_camera(window, qtbot):
    window.set_view("superior")
    pump(qtbot)
    fig = window.figure
    x, y = _display(fig, (0, 0, 0))  # the brain's centre: slices everywhere under it
    before = np.array(fig.scene.camera.position)
    cursor = window.session.cursor
    _mouse(fig, [("LeftButtonPressEvent", (x, y)), ("MouseMoveEvent", (x + 30, y + 10)),
                 ("MouseMoveEvent", (x + 60, y + 20)), ("LeftButtonReleaseEvent", (x + 60, y + 20))])
    pump(qtbot)
    assert not np.allclose(fig.scene.camera.position, before)  # rotated
    assert window.session.cursor == cursor  # a drag is not a click: the cursor stays
    window.set_view("superior")


def test_the_3d_scene_skips_fxaa_while_things_move_and_draws_it_at_rest(window, qtbot):
    """Frames of a cursor move or a turn skip the FXAA pass; once nothing has moved for a
    moment one anti-aliased frame is drawn (the figure rests as it was made: FXAA on)."""
    fig = window.figure
    renderer = fig.scene.renderer._vtk_obj
    qtbot.waitUntil(lambda: window._still.resting, timeout=3000)
    assert renderer.GetUseFXAA()
    maps = [v for lay, v in window.binding.visuals.items() if isinstance(lay, StatMapLayer)]
    assert maps and all(p.cutout for v in maps for p in v.slices)  # no transparency pass
    window.session.move_cursor((10.0, -20.0, 15.0))
    assert not renderer.GetUseFXAA() and not window._still.resting
    qtbot.waitUntil(lambda: window._still.resting, timeout=3000)
    assert renderer.GetUseFXAA()
    x, y = _display(fig, (0, 0, 0))  # a turn of the camera: the same
    _mouse(fig, [("LeftButtonPressEvent", (x, y)), ("MouseMoveEvent", (x + 30, y + 10))])
    assert not renderer.GetUseFXAA()
    _mouse(fig, [("LeftButtonReleaseEvent", (x + 30, y + 10))])
    qtbot.waitUntil(lambda: window._still.resting, timeout=3000)
    window.session.move_cursor((0, 0, 0))
    window.set_view("superior")
    qtbot.waitUntil(lambda: window._still.resting, timeout=3000)


def test_ctrl_drag_on_a_slice_moves_it(window, qtbot):
    hidden = [lay for lay in window.session.layers if not isinstance(lay, AnatomyLayer)]
    for layer in hidden:  # only the anatomy's slices under the mouse
        layer.visible = False
    window.session.move_cursor((0, 0, 0))
    window.set_view("left")  # looking along x: the y and z slices are edge-on, x faces us
    window.binding.apply_camera(dict(window.binding.current_camera(),
                                     position=[-300.0, -200.0, 150.0]))  # oblique: all three show
    pump(qtbot)
    fig = window.figure
    x, y = _display(fig, (0, -30, 30))  # on the x = 0 slice
    _mouse(fig, [("LeftButtonPressEvent", (x, y)), ("MouseMoveEvent", (x + 40, y)),
                 ("LeftButtonReleaseEvent", (x + 40, y))], ctrl=True)
    pump(qtbot)
    moved = np.asarray(window.session.cursor)
    for layer in hidden:
        layer.visible = True
    assert moved[0] != 0 and moved[1] == 0 and moved[2] == 0  # only the x slice moved
    window.session.move_cursor((0, 0, 0))
    window.set_view("superior")


# --------------------------------------------------------------------------- 2D views
def test_a_click_in_each_2d_view_moves_the_cursor_in_every_view(fresh, qtbot, tmp_path, img_3d):
    """The map is opened before its anatomy (the old defect: it stayed behind)."""
    window = fresh
    map_path, _, _ = _map_file(tmp_path)
    window.open_files([map_path])
    window.open_files([_save(img_3d, tmp_path / "anat.nii.gz")])
    stat = next(lay for lay in window.session.layers if isinstance(lay, StatMapLayer))
    pump(qtbot, 100)
    targets = {"sagittal": (6.0, -10.0, 14.0), "coronal": (-10.0, 2.0, 6.0),
               "axial": (10.0, 14.0, -6.0)}
    for view in window.viewer.slice_views:
        view.frame()
        before = np.asarray(window.session.cursor, dtype=float)
        target = np.asarray(targets[view.view])
        point = before.copy()
        others = [a for a in range(3) if a != view.axis]
        point[others] = target[others]
        x, y = _display(view.figure, point)
        _mouse(view.figure, [("LeftButtonPressEvent", (x, y)), ("LeftButtonReleaseEvent", (x, y))])
        pump(qtbot)
        cursor = np.asarray(window.session.cursor)
        assert np.allclose(cursor[others], target[others], atol=1.5), (view.view, cursor)
        assert cursor[view.axis] == pytest.approx(before[view.axis])  # through-plane: unchanged
        # every view, 2D and 3D, has the cursor; the map follows although opened first
        for binding in [window.binding] + [v.binding for v in window.viewer.slice_views]:
            for visual in binding.visuals.values():
                if visual.follows_cursor:
                    np.testing.assert_allclose(visual.cursor, cursor)
        assert stat in window.binding.visuals


def test_arrow_keys_and_page_keys_step_one_voxel(fresh, qtbot, tmp_path, img_3d):
    from pyface.qt import QtCore

    window = fresh
    window.open_files([_save(img_3d, tmp_path / "anat.nii.gz")])  # voxels 2 x 3 x 4 mm
    window.session.move_cursor((1.0, 0.0, 0.0))
    view = window.viewer.axial
    control = view.scene.scene_editor.control
    qtbot.keyClick(control, QtCore.Qt.Key_Right)
    qtbot.keyClick(control, QtCore.Qt.Key_Up)
    qtbot.keyClick(control, QtCore.Qt.Key_PageUp)
    assert window.session.cursor == pytest.approx((3.0, 3.0, 4.0))


def test_2d_views_render_without_python_observers(window, qtbot):
    """A 2D view renders on every cursor move: no busy cursor around it, no Python call
    relaying the start and end of its renders to TVTK's messenger (0.5 ms a frame), and
    no lights (its planes are unshaded: the same pixels as under the light kit)."""
    import vtk

    from brainviz.gui._vtk_offscreen import render_and_grab

    window.set_layout("2D + 3D")
    qtbot.waitUntil(lambda: not window.drawing_pending)
    pump(qtbot)
    for view in (window.viewer.sagittal, window.viewer.coronal, window.viewer.axial):
        vtk_window = view.figure.scene.render_window._vtk_obj
        assert not vtk_window.HasObserver("StartEvent")
        assert not vtk_window.HasObserver("EndEvent")
        assert view.figure.scene.renderer._vtk_obj.GetLights().GetNumberOfItems() == 0
    window.session.move_cursor((10.0, 0.0, 0.0))
    pump(qtbot)
    assert window.viewer.axial.figure.scene.busy is False
    figure = window.viewer.axial.figure
    renderer = figure.scene.renderer._vtk_obj
    unlit = render_and_grab(figure)
    assert (unlit.max(axis=-1) > 60).sum() > 1000  # the anatomy and the map are drawn
    kit = vtk.vtkLightKit()
    kit.AddLightsToRenderer(renderer)
    renderer.SetTwoSidedLighting(1)
    lit = render_and_grab(figure)
    renderer.RemoveAllLights()
    np.testing.assert_array_equal(lit, unlit)


def test_layout_switch(window, qtbot):
    assert set(window.viewer.shown_views()) == {"3d", "sagittal", "coronal", "axial"}
    window.ui.actions["layout_3d"].trigger()
    assert window.viewer.shown_views() == ["3d"]
    window.ui.actions["layout_2d"].trigger()
    assert set(window.viewer.shown_views()) == {"sagittal", "coronal", "axial"}
    # the hidden 3D scene does no work while the cursor moves, and catches up when shown
    motor = next(lay for lay in window.session.layers if lay.name == "motor activation")
    visual = window.binding.visual_for(motor)
    before = np.array(visual.cursor)
    window.session.move_cursor((10.0, -20.0, 30.0))
    np.testing.assert_allclose(visual.cursor, before)
    np.testing.assert_allclose(window.viewer.axial.binding.visual_for(motor).cursor, (10, -20, 30))
    window.ui.actions["layout_2d3d"].trigger()
    assert len(window.viewer.shown_views()) == 4
    np.testing.assert_allclose(visual.cursor, (10, -20, 30))


def test_views_frame_the_head_not_the_images_field_of_view(window, qtbot, monkeypatch):
    """The named views and the 2D views frame what is drawn: the template's head (its
    1 mm image has a wide empty margin around the brain), so the brain fills the 3D view."""
    from brainviz.gui._vtk_offscreen import render_and_grab

    template = next(lay for lay in window.session.layers if lay.name == "MNI152 template")
    visual = window.binding.visual_for(template)
    content, whole = np.asarray(visual.content_bounds), np.asarray(visual.bounds)
    assert np.all(content[0::2] >= whole[0::2]) and np.all(content[1::2] <= whole[1::2])
    assert np.all((whole[1::2] - whole[0::2]) - (content[1::2] - content[0::2]) > 10)
    axial = window.viewer.axial
    np.testing.assert_allclose(axial.bounds(), axial.binding.content_bounds())

    def fill():
        pump(qtbot)
        pixels = render_and_grab(window.figure).astype(int)
        drawn = np.abs(pixels - 255).sum(axis=2) > 30  # the background is white
        rows = np.flatnonzero(drawn.any(axis=1))
        cols = np.flatnonzero(drawn.any(axis=0))
        height, width = drawn.shape
        return max((rows[-1] - rows[0] + 1) / height, (cols[-1] - cols[0] + 1) / width)

    with monkeypatch.context() as patch:  # as before: frame the images' whole fields of view
        patch.setattr(window.binding, "content_bounds", lambda: None)
        window.set_view("superior")
        before = fill()
    window.set_view("superior")
    after = fill()
    print("FILL", before, after)
    assert after > 0.8 and after > before + 0.1, \
        f"the brain spans {after:.0%} of the 3D view ({before:.0%} framing the whole image)"
    window.set_view(window.start_view)


# --------------------------------------------------------------------------- cursor tools
def test_2d_views_keep_their_own_cameras_when_the_3d_view_turns(window, qtbot):
    """The session's camera is the 3D scene's: a view button, a turn of the 3D camera and a
    job's framed result change it, and the 2D views keep looking along their own axes with
    parallel projection (each 2D view took the 3D camera: after "Left" the coronal and
    axial views showed their slices edge-on, and after a job all three did)."""
    from brainviz.gui._vtk_offscreen import render_and_grab
    from brainviz.scene.slices2d import AXES

    def check(when):
        for view in ("sagittal", "coronal", "axial"):
            figure = getattr(window.viewer, view).figure
            cam = figure.scene.camera
            direction = np.asarray(cam.position) - np.asarray(cam.focal_point)
            direction /= np.linalg.norm(direction)
            np.testing.assert_allclose(direction, AXES[view][1], atol=1e-9,
                                       err_msg=f"{view} view after {when}")
            np.testing.assert_allclose(cam.view_up, AXES[view][2], atol=1e-9)
            assert cam.parallel_projection, f"{view} view after {when}"
            # the slice is seen face on: the brain spans much of the view both ways
            drawn = render_and_grab(figure).astype(int).max(axis=2) > 40
            rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
            assert rows.size and cols.size, f"{view} view after {when}: nothing drawn"
            assert (rows[-1] - rows[0]) > 0.4 * drawn.shape[0], f"{view} view after {when}"
            assert (cols[-1] - cols[0]) > 0.4 * drawn.shape[1], f"{view} view after {when}"

    try:
        for name in ("left", "anterior"):
            window.set_view(name)  # what the view buttons do
            pump(qtbot)
            check(f"the {name} view")
        window.figure.scene.camera.azimuth(30)  # a turn of the 3D camera, kept in the session
        window.binding.store_camera()
        pump(qtbot)
        assert window.session.camera["view_up"] is not None
        check("a turn of the 3D camera")
    finally:
        window.set_view(window.start_view)


def test_typing_a_coordinate_moves_the_cursor(window, qtbot):
    for box, value in zip(window.viewer.mm_boxes, ("12", "-34.5", "20")):
        box.setText(value)
    window.viewer.mm_boxes[0].returnPressed.emit()
    assert window.session.cursor == pytest.approx((12.0, -34.5, 20.0))
    # and in voxels of the selected layer
    layer = window.viewer._selected_volume()
    for box, value in zip(window.viewer.voxel_boxes, ("10", "20", "30")):
        box.setText(value)
    window.viewer.voxel_boxes[2].returnPressed.emit()
    assert window.session.cursor == pytest.approx(layer.data.voxel_centre((10, 20, 30)))


def test_a_map_opened_alone_gets_the_template_and_the_cursor_goes_to_peak(fresh, qtbot, tmp_path):
    window = fresh
    path, affine, peak = _map_file(tmp_path)
    window.open_files([path])
    kinds = [type(lay) for lay in window.session.layers]
    assert kinds == [AnatomyLayer, StatMapLayer] and window.session.layers[0].source == "builtin:template"
    expected = affine[:3, :3] @ np.asarray(peak) + affine[:3, 3]
    assert window.session.cursor == pytest.approx(tuple(expected))
    # Go to peak (minimum, then maximum) of the selected map
    window.layers_panel.selected = window.session.layers[1]
    window.ui.actions["minimum"].trigger()
    assert window.session.layers[1].data.values_at(window.session.cursor, order=0)[0] == -3.0
    window.ui.actions["peak"].trigger()
    assert window.session.cursor == pytest.approx(tuple(expected))
    assert [b.text() for b in window.viewer.voxel_boxes] == [str(v) for v in peak]


# --------------------------------------------------------------------------- readout
def test_readout_names_the_region_of_a_label_image_with_its_table(fresh, qtbot, tmp_path):
    import nibabel as nib

    window = fresh
    labels = np.zeros((20, 24, 20), np.int16)
    labels[2:9, 3:12, 4:12] = 7
    labels[11:18, 3:12, 4:12] = 12
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-38.0, -46.0, -38.0)
    image = _save(nib.Nifti1Image(labels, affine), tmp_path / "atlas.nii.gz")
    table = tmp_path / "atlas_names.tsv"
    table.write_text("index\tname\n7\tLeft motor cortex\n12\tRight motor cortex\n")
    window.open_files([image, str(table)])  # a label image with its table: one layer
    layer = window.session.layers[-1]
    assert isinstance(layer, LabelLayer) and layer.names[12] == "Right motor cortex"
    window.session.move_cursor(affine[:3, :3] @ np.array([14, 6, 8]) + affine[:3, 3])
    pump(qtbot)
    assert "Right motor cortex" in window.readout
    window.session.move_cursor(affine[:3, :3] @ np.array([4, 6, 8]) + affine[:3, 3])
    pump(qtbot)
    assert "Left motor cortex" in window.readout and "Right motor cortex" not in window.readout


def test_the_region_menu_lists_every_region_whole_and_in_order(fresh, qtbot, tmp_path):
    """A label image with named regions (a regions result's components, an atlas with its
    table): the layer's "Region" menu showed "l regions" for "all regions", " Left..."
    and ": x" for the names, region 10 before region 2 (TraitsUI sorts a dict's labels as
    text and cuts a "prefix:" from all of them). Every entry is whole, in region order, and
    picking one with the keyboard shows that region alone."""
    import nibabel as nib
    from pyface.qt import QtCore, QtGui

    window = fresh
    labels = np.zeros((24, 24, 20), np.int16)
    for k in range(1, 13):
        labels[2 * k - 1:2 * k + 1, 3:12, 4:12] = k
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-46.0, -46.0, -38.0)
    image = _save(nib.Nifti1Image(labels, affine), tmp_path / "twelve.nii.gz")
    table = tmp_path / "twelve_names.tsv"
    table.write_text("index\tname\n" + "".join(f"{k}\tregion {k}\n" for k in range(1, 13)))
    window.open_files([image, str(table)])
    layer = window.session.layers[-1]
    assert isinstance(layer, LabelLayer) and layer.names[10] == "region 10"
    window.layers_panel.selected = layer
    pump(qtbot, 100)
    combos = [c for c in window.ui.control.findChildren(QtGui.QComboBox)
              if c.isVisible() and c.findText("all regions") >= 0]
    assert len(combos) == 1, "no region menu with 'all regions'"
    box = combos[0]
    assert [box.itemText(i) for i in range(box.count())] == ["all regions"] + [
        f"{k}: region {k}" for k in range(1, 13)]
    assert box.currentText() == "all regions"
    box.setFocus()
    qtbot.keyClick(box, QtCore.Qt.Key_Down)  # the next entry, as a person picks it
    pump(qtbot, 100)
    assert layer.region == 1 and box.currentText() == "1: region 1"
    layer.region = -1
    pump(qtbot)


def test_readout_on_an_oblique_image_gives_its_own_voxel_values(fresh, qtbot, tmp_path):
    """A 15-degree oblique copy of the template: the readout reads the image's voxels through
    its affine (the display grid is resampled; the readout is not)."""
    import nibabel as nib
    from scipy.spatial.transform import Rotation

    from brainviz.data import load_template

    window = fresh
    template = load_template()
    data = np.asarray(template.get_data(), np.float32)
    rotation = np.eye(4)
    rotation[:3, :3] = Rotation.from_euler("x", 15, degrees=True).as_matrix()
    affine = rotation @ template.affine
    # move the grid so that MNI (0, 0, 0) is a voxel centre
    ijk0 = np.round(np.linalg.solve(affine[:3, :3], -affine[:3, 3]))
    affine[:3, 3] -= affine[:3, :3] @ ijk0 + affine[:3, 3]
    window.open_files([_save(nib.Nifti1Image(data, affine), tmp_path / "oblique.nii.gz")])
    rng = np.random.default_rng(0)
    voxels = [tuple(int(v) for v in ijk0)] + [tuple(rng.integers(20, 70, 3)) for _ in range(16)]
    for ijk in voxels:
        xyz = affine[:3, :3] @ np.asarray(ijk, float) + affine[:3, 3]
        window.session.move_cursor(xyz)
        pump(qtbot, 10)
        # the template's float noise (4.3e-24 where it is 0) reads 0: see format_readout
        value = data[ijk] if abs(data[ijk]) >= 1e-6 * np.abs(data).max() else 0.0
        assert f"oblique: {value:.4g}   " in window.readout + "   ", (ijk, window.readout)
    assert np.allclose(voxels[0], ijk0)


# --------------------------------------------------------------------------- 4D
def test_time_course_is_the_voxel_series_with_seconds(fresh, qtbot, tmp_path, img_4d, monkeypatch):
    """The series at the cursor in seconds; a compressed run is read whole into memory on
    a thread of its own (the window goes on), said in the panel, then drawn."""
    import threading

    from brainviz.data import volumes

    window = fresh
    readers, go = [], threading.Event()
    real_series = volumes.Volume._series

    def spy(self):
        if getattr(self, "_series_cache", None) is None:
            readers.append(threading.current_thread())
            go.wait(10)  # the read takes its time: the window meanwhile
        return real_series(self)

    monkeypatch.setattr(volumes.Volume, "_series", spy)
    img_4d.header.set_xyzt_units("mm", "sec")
    img_4d.header["pixdim"][4] = 2.5
    path = _save(img_4d, tmp_path / "run.nii.gz")
    # the time course dock in front, with room for a plot (a canvas squeezed to a few
    # pixels is not drawn, and draws what it missed when given room)
    from pyface.qt import QtCore

    dock = window.ui.docks["Time course"]
    dock.raise_()
    window.ui.control.resizeDocks([dock], [60], QtCore.Qt.Vertical)
    pump(qtbot, 20)
    window.open_files([path])
    series = window.session.layers[-1]
    assert isinstance(series, SeriesLayer) and series.tr == 2.5
    window.session.move_cursor((0.0, 0.0, 0.0))
    pump(qtbot, 20)
    assert window.timecourse._stale and series not in window.timecourse.lines
    window.ui.control.resizeDocks([dock], [260], QtCore.Qt.Vertical)
    pump(qtbot, 40)
    # the read runs on its thread: the window answers, the panel says what it waits for
    assert readers and threading.main_thread() not in readers
    assert "Reading the 5 frames of run" in window.timecourse.label.text()
    assert series not in window.timecourse.lines
    window.session.move_cursor((2.0, 0.0, 0.0))
    pump(qtbot, 20)
    assert len(readers) == 1  # one read, however many moves meanwhile
    go.set()
    qtbot.waitUntil(lambda: series in window.timecourse.lines, timeout=5000)
    assert not window.timecourse._stale
    ijk = (3, 4, 5)
    xyz = img_4d.affine[:3, :3] @ np.asarray(ijk, float) + img_4d.affine[:3, 3]
    window.session.move_cursor(xyz)
    series.frame = 2
    pump(qtbot, 100)
    line = window.timecourse.lines[series]
    np.testing.assert_allclose(line.get_ydata(), img_4d.get_fdata()[ijk], rtol=1e-6)
    np.testing.assert_allclose(line.get_xdata(), np.arange(5) * 2.5)
    assert window.timecourse.axes.get_xlabel() == "time (s)"
    # in a short dock (1280x800) the axis label is still inside the plot's canvas
    figure = window.timecourse.figure
    figure.set_size_inches(6.0, 100 / figure.dpi)
    window.timecourse.canvas.draw()
    box = window.timecourse.axes.xaxis.label.get_window_extent()
    assert box.y0 >= 0 and box.y1 <= figure.bbox.height, (box, figure.bbox)
    assert series.frame_time == "frame 2 of 5, t = 5.0 s"
    # one series: named in the line above the plot, no legend over the curve's end
    assert window.timecourse.axes.get_legend() is None
    assert window.timecourse.label.text().startswith("run at (")
    # two: a legend right of the plot, clear of the curves
    window.open_files([_save(img_4d, tmp_path / "run2.nii.gz")])
    qtbot.waitUntil(lambda: len(window.timecourse.lines) == 2, timeout=5000)
    window.timecourse.canvas.draw()
    legend = window.timecourse.axes.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["run", "run2"]
    assert legend.get_window_extent().x0 >= window.timecourse.axes.bbox.x1
    assert window.timecourse.label.text().startswith("at (")
    window.session.remove_layer(window.session.layers[-1])
    window.layers_panel.selected = series
    window.timecourse.play(True)
    qtbot.waitUntil(lambda: series.frame != 2, timeout=5000)  # playing steps the frames
    window.timecourse.play(False)
    # the last series removed: the hint again, not its name; no empty axes, no Play
    window.session.remove_layer(series)
    pump(qtbot, 20)
    assert window.timecourse.label.text().startswith("Open a 4D series")
    assert not window.timecourse.axes.axison and not window.timecourse.lines
    assert not window.timecourse.play_button.isEnabled()


def test_time_course_tab_grows_its_dock_to_a_readable_plot(fresh, qtbot, img_4d, tmp_path):
    """Its tab clicked beside the console's 20% of the height left the axes some 30 px (a
    1,452-volume run drawn as a flat band): the dock grows towards 260 px (a third of the
    window at most); the user can still drag it smaller."""
    from pyface.qt import QtCore

    window = fresh
    main = window.ui.control
    console, dock = window.ui.docks["Console"], window.ui.docks["Time course"]
    main.resize(1280, 860)  # the screen's size, as the window opens on a 1280 x 900 one
    console.raise_()
    main.resizeDocks([console], [120], QtCore.Qt.Vertical)
    for layer in window.timecourse.series_layers():
        window.session.remove_layer(layer)
    pump(qtbot, 20)
    assert console.height() < 200  # the bottom area's height, the tab in front
    dock.raise_()  # no 4D series: no plot to make room for
    pump(qtbot, 40)
    assert dock.height() < 200
    console.raise_()
    window.open_files([_save(img_4d, tmp_path / "run.nii.gz")])
    pump(qtbot, 20)
    dock.raise_()
    # grown (Qt gives what the other docks' minimum heights leave: 227 px of 260 here)
    qtbot.waitUntil(lambda: dock.height() >= 200, timeout=5000)
    main.resizeDocks([dock], [150], QtCore.Qt.Vertical)  # dragged smaller: it stays so
    pump(qtbot, 20)
    assert dock.height() < 180
    console.raise_()
    pump(qtbot, 5)


# --------------------------------------------------------------------------- files
def test_a_matrix_csv_with_coordinates_and_a_label_image_with_names_open(fresh, qtbot, tmp_path,
                                                                        monkeypatch):
    from brainviz.gui import dialogs

    window = fresh
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, (5, 5))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0)
    matrix = tmp_path / "matrix.csv"
    np.savetxt(matrix, m, delimiter=",")
    coords = tmp_path / "nodes.csv"
    coords.write_text("x,y,z,label\n-40,0,30,a\n40,0,30,b\n0,40,10,c\n0,-60,20,d\n-30,-30,50,e\n")
    monkeypatch.setattr(dialogs, "ask_open_files",
                        lambda parent=None, directory="": [str(matrix), str(coords)])
    window.layers_panel.add = True  # the file dialog's code path, both files chosen
    qtbot.waitUntil(lambda: any(isinstance(lay, ConnectomeLayer) for lay in window.session.layers),
                    timeout=20000)
    graph = next(lay for lay in window.session.layers if isinstance(lay, ConnectomeLayer))
    np.testing.assert_allclose(graph.data["matrix"], m)
    assert graph.data["labels"] == ["a", "b", "c", "d", "e"] and graph in window.binding.visuals
    # a matrix alone with no coordinates beside it: one clear line
    alone = tmp_path / "alone"
    alone.mkdir()
    np.savetxt(alone / "matrix.csv", m, delimiter=",")
    n_errors = len(window.errors.errors)
    window.open_files([str(alone / "matrix.csv")])
    assert len(window.errors.errors) == n_errors + 1
    assert "5 x 5 connectivity matrix: give its node coordinates" in window.errors.errors[-1][1]
    window.errors.close_all()


def test_a_graph_opened_into_an_empty_window_is_framed(fresh, qtbot, tmp_path):
    """`brainviz result_folder/` opened its graph after the empty scene had been framed:
    the Power atlas's 264 nodes took a third of the 3D view, which a click on Superior
    filled. Files opened into an empty window are framed as the demo is."""
    window = fresh
    coords = np.array([[-40, 0, 30], [40, 0, 30], [0, 60, 10], [0, -90, 20], [-60, -30, 50],
                       [60, -30, -20]], float)
    m = np.full((6, 6), 0.5)
    np.fill_diagonal(m, 0)
    np.savetxt(tmp_path / "matrix.csv", m, delimiter=",")
    np.savetxt(tmp_path / "nodes.csv", coords, delimiter=",", header="x,y,z", comments="")
    camera = window.figure.scene.camera
    camera.position = (0.0, 0.0, 3000.0)  # the camera of the empty scene, far away
    camera.focal_point = (0.0, 0.0, 0.0)
    window.open_files([str(tmp_path / "matrix.csv"), str(tmp_path / "nodes.csv")])
    pump(qtbot, 20)
    renderer = window.figure.scene.renderer
    width, height = renderer.size
    matrix = camera.get_composite_projection_transform_matrix(width / height, -1, 1)
    ndc = np.c_[coords, np.ones(len(coords))] @ matrix.to_array().T
    ndc = ndc[:, :2] / ndc[:, 3:]
    span = ndc.max(axis=0) - ndc.min(axis=0)  # of the view's 2 x 2
    assert np.all(np.abs(ndc) < 1) and span.max() > 1.45, span
    # the view the Superior button gives: the one it opened at
    before = window.binding.current_camera()
    window.set_view("superior")
    after = window.binding.current_camera()
    for key in ("position", "focal_point", "view_up"):
        np.testing.assert_allclose(before[key], after[key], atol=1e-6)


def test_files_open_from_the_command_line_without_a_display(tmp_path):
    """`brainviz matrix.csv nodes.csv` (and a label image with its table) opens them the way
    the window does; with no display it renders them."""
    import os
    import subprocess
    import sys

    import nibabel as nib

    m = np.array([[0, 0.8, -0.5], [0.8, 0, 0.3], [-0.5, 0.3, 0]])
    np.savetxt(tmp_path / "m.csv", m, delimiter=",")
    (tmp_path / "n.csv").write_text("x,y,z\n-40,0,30\n40,0,30\n0,40,10\n")
    labels = np.zeros((10, 12, 10), np.int16)
    labels[2:8, 3:9, 3:7] = 3
    labels[2:4, 3:9, 3:7] = 5
    affine = np.diag([8.0, 8.0, 8.0, 1.0])
    affine[:3, 3] = (-40.0, -48.0, -40.0)
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "lab.nii.gz")
    (tmp_path / "lab.tsv").write_text("3\tthree\n5\tfive\n")
    env = dict(os.environ)
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "brainviz", "m.csv", "n.csv", "lab.nii.gz",
                           "lab.tsv"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "brainviz-figure.png").is_file()
    bad = tmp_path / "notes.csv"
    bad.write_text("just, some\ntext, here\n")
    proc = subprocess.run([sys.executable, "-m", "brainviz", "notes.csv"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "WARN" not in line]
    assert len(lines) == 1 and "notes.csv" in lines[0], proc.stderr


# --------------------------------------------------------------------------- console, undo, keys
def test_the_console_runs_magics_on_the_windows_session(window, qtbot):
    ns = window.shell_panel.execute("%time n_layers = len(session.layers)")
    qtbot.waitUntil(lambda: "Wall time" in window.shell_panel.text(), timeout=10000)
    assert ns["n_layers"] == len(window.session.layers)
    assert ns["fig"] is window.figure and ns["session"] is window.session
    assert "bv = brainviz.mlab" in window.shell_panel.text()  # the banner names them


def test_undo_restores_a_threshold_and_a_removed_layer(window, qtbot):
    motor = next(lay for lay in window.session.layers if isinstance(lay, StatMapLayer))
    old = motor.threshold
    motor.threshold = old + 1.5
    window.ui.actions["undo"].trigger()
    assert motor.threshold == old
    window.ui.actions["redo"].trigger()
    assert motor.threshold == old + 1.5
    window.ui.actions["undo"].trigger()
    index = window.session.layers.index(motor)
    window.session.remove_layer(motor)
    assert motor not in window.binding.visuals
    window.ui.actions["undo"].trigger()
    assert window.session.layers.index(motor) == index and motor in window.binding.visuals


def test_each_shortcut_triggers_its_action(window, qtbot, monkeypatch):
    from pyface.qt import QtGui
    from pyface.qt.QtTest import QTest

    from brainviz.gui import dialogs

    main = window.ui.control
    main.activateWindow()
    # shortcuts reach a window only once it is the active one (asynchronous)
    qtbot.waitUntil(lambda: QtGui.QApplication.activeWindow() is main, timeout=10_000)
    calls = []
    monkeypatch.setattr(dialogs, "ask_open_files", lambda *a, **k: calls.append("open") or [])
    monkeypatch.setattr(dialogs, "ask_open_session", lambda *a, **k: calls.append("session") or "")
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *a, **k: calls.append("save") or "")
    monkeypatch.setattr(window, "export_dialog", lambda: calls.append("export"))
    monkeypatch.setattr(window, "copy_render_command", lambda: calls.append("copy"))
    expected = {"Ctrl+O": "open", "Ctrl+Shift+O": "session", "Ctrl+S": "save", "Ctrl+E": "export",
                "Ctrl+Shift+C": "copy"}
    assert window.ui.actions["quit"].shortcut().toString() == "Ctrl+Q"
    assert window.ui.actions["undo"].shortcut().toString() == "Ctrl+Z"
    assert window.ui.actions["redo"].shortcut().toString() == "Ctrl+Shift+Z"
    for keys, call in expected.items():
        QTest.keySequence(main, QtGui.QKeySequence(keys))
        pump(qtbot, 20)
        assert calls and calls[-1] == call, (keys, calls)
    # views on the number keys
    window.set_view("anterior")  # neither of the views the keys below choose
    for key, name in (("5", "superior"), ("1", "left")):
        before = np.array(window.figure.scene.camera.position)
        QTest.keySequence(main, QtGui.QKeySequence(key))
        pump(qtbot, 20)
        assert not np.allclose(window.figure.scene.camera.position, before), name
    window.set_view("superior")


def test_showing_or_hiding_a_map_renders_the_scene_once(window, qtbot):
    """A map's three slice widgets used to render the 3D scene one by one when shown or
    hidden; the binding holds rendering while it applies a display change."""
    motor = next(lay for lay in window.session.layers if lay.name == "motor activation")
    render_window = window.figure.scene.render_window
    renders = []
    tag = render_window.add_observer("EndEvent", lambda obj, event: renders.append(1))
    try:
        for visible in (False, True):
            del renders[:]
            motor.visible = visible
            pump(qtbot)
            assert 1 <= len(renders) <= 2, f"{len(renders)} renders to {'show' if visible else 'hide'} a map"
    finally:
        render_window.remove_observer(tag)
        motor.visible = True
