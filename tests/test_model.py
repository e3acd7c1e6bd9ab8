"""brainviz.model: layers, jobs and the session as plain traits (no Qt, no VTK)."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from traits.api import TraitError

from brainviz import model
from brainviz.exceptions import ParameterError, ShapeMismatchError


@pytest.fixture
def stat_volume(img_3d):
    from brainviz.data import load_volume

    return load_volume(img_3d, name="zmap")


def test_model_imports_no_qt_or_vtk():
    code = ("import sys, brainviz.model; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PyQt5', 'vtkmodules', 'mayavi', 'tvtk', 'traitsui', 'pyface')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_layer_from_volume_picks_class_and_ranges(stat_volume):
    layer = model.layer_from_volume(stat_volume, model.StatMapLayer)
    assert isinstance(layer, model.StatMapLayer)
    assert layer.name == "zmap"
    data = np.abs(np.asarray(stat_volume.get_data()))
    assert layer.threshold_high == pytest.approx(float(data.max()), rel=1e-5)
    assert 0 < layer.start_threshold() < layer.threshold_high
    assert layer.cmap == "cold_hot"
    # a typed threshold beyond the slider range widens the range instead of failing
    layer.threshold = 2 * layer.threshold_high
    assert layer.threshold_high == layer.threshold
    # a percentile is a threshold too; the slider reads it as a number
    layer.threshold = "90%"
    assert layer.threshold_number == pytest.approx(np.percentile(data[data > 0], 90), rel=1e-5)
    layer.threshold_number = 0.5
    assert layer.threshold == 0.5
    with pytest.raises(TraitError):
        layer.threshold = "lots"
    with pytest.raises(TraitError):
        layer.threshold = float("nan")


def test_series_layer_frames_are_clipped(img_4d):
    from brainviz.data import load_volume

    layer = model.layer_from_volume(load_volume(img_4d), "SeriesLayer")
    assert isinstance(layer, model.SeriesLayer)
    assert (layer.n_frames, layer.frame_high) == (5, 4)
    layer.frame = 9
    assert layer.frame == 4
    layer.frame = -3
    assert layer.frame == 0


def test_unknown_type_is_named_and_old_labels_are_read():
    with pytest.raises(ParameterError, match="Unknown layer type 'VolumeLayer'.*AnatomyLayer"):
        model.layer_class("VolumeLayer")
    assert model.layer_class("statistical map") is model.StatMapLayer  # session files of 0.1


def test_misspelled_attribute_raises_and_names_the_settings(stat_volume):
    layer = model.layer_from_volume(stat_volume, model.StatMapLayer)
    with pytest.raises(AttributeError, match="StatMapLayer has no attribute 'treshold'; its display "
                                             "settings are visible, opacity, cmap, threshold"):
        layer.treshold = 5
    assert model.StatMapLayer.display_trait_names()[:4] == ["visible", "opacity", "cmap", "threshold"]


def test_connectome_layer_checks_shapes():
    layer = model.ConnectomeLayer(name="graph")
    with pytest.raises(ShapeMismatchError, match="must be square"):
        layer.set_graph(np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(ShapeMismatchError, match=r"3x3 matrix but coordinates of shape \(2, 3\)"):
        layer.set_graph(np.zeros((3, 3)), np.zeros((2, 3)))
    matrix = np.array([[0, 0.5, -0.9], [0.5, 0, 0.1], [-0.9, 0.1, 0]])
    layer.set_graph(matrix, np.arange(9.0).reshape(3, 3))
    assert layer.threshold_high == pytest.approx(0.9)
    assert layer.data["labels"] == ["node 0", "node 1", "node 2"]


def test_session_names_are_unique_and_round_trip_to_json(stat_volume):
    session = model.Session()
    a = session.add_layer(model.layer_from_volume(stat_volume, model.StatMapLayer))
    b = session.add_layer(model.layer_from_volume(stat_volume, model.AnatomyLayer))
    assert (a.name, b.name) == ("zmap", "zmap (2)")
    graph = model.ConnectomeLayer(name="g")
    graph.set_graph(np.eye(2)[::-1], [[0, 0, 0], [10, 0, 0]], ["a", "b"])
    session.add_layer(graph)
    a.opacity = 0.25
    doc = json.loads(json.dumps(session.to_dict()))
    assert doc["format"] == "brainviz-session"
    assert [lay["type"] for lay in doc["layers"]] == ["StatMapLayer", "AnatomyLayer",
                                                      "ConnectomeLayer"]
    assert doc["layers"][0]["opacity"] == 0.25
    # a graph with no file behind it is kept inline
    assert doc["layers"][2]["labels"] == ["a", "b"]
    session.remove_layer("zmap (2)")
    assert [lay.name for lay in session.layers] == ["zmap", "g"]
    with pytest.raises(KeyError, match="No layer named 'nope'"):
        session.get_layer("nope")


def test_apply_display_names_a_bad_value(stat_volume):
    layer = model.layer_from_volume(stat_volume, model.StatMapLayer)
    layer.apply_display({"opacity": 0.5, "visible": False, "not_a_setting": 1})
    assert (layer.opacity, layer.visible) == (0.5, False)
    with pytest.raises(ParameterError, match="Layer 'zmap': cmap='not-a-map' is not valid"):
        layer.apply_display({"cmap": "not-a-map"})


def test_job_state_elapsed_and_log():
    job = model.JobState(kind="decoding", title="t")
    assert job.elapsed == 0.0 and job.active
    job.started = time.time() - 2.0
    assert job.elapsed >= 2.0
    job.finished = job.started + 1.5
    assert job.elapsed == pytest.approx(1.5)
    job.add_log("one")
    job.add_log("two")
    assert job.log == "one\ntwo"
    job.progress = 0.426
    assert job.percent == 43
    job.state = "done"
    assert not job.active
    assert job.to_dict()["state"] == "done"


def test_find_missing_files(tmp_path):
    present = tmp_path / "a.nii.gz"
    present.write_bytes(b"x")
    doc = {"layers": [{"path": str(present)}, {"path": str(tmp_path / "gone.nii.gz")},
                      {"result_folder": str(tmp_path / "old_result")}]}
    assert model.find_missing_files(doc) == [str(tmp_path / "gone.nii.gz"),
                                             str(tmp_path / "old_result")]


def test_layer_summary_says_where_the_data_comes_from(tmp_path):
    from brainviz.model import AnatomyLayer

    layer = AnatomyLayer(name="T1", path=str(tmp_path / "t1.nii.gz"))
    assert layer.summary() == f"T1 (anatomy), from {tmp_path / 't1.nii.gz'}"
    assert "built-in demo" in AnatomyLayer(name="t", source="builtin:template").summary()
    assert "job result in /r" in AnatomyLayer(name="w", result_folder="/r").summary()
    assert "made in this session" in AnatomyLayer(name="x").summary()


@pytest.mark.gui
def test_a_running_job_says_how_long_it_has_left():
    """A searchlight on the decoding demo takes a quarter of an hour on one core; its
    status said "5514/29398 spheres" and nothing of when it would end. From its progress
    at its pace so far: "about N min left", once it has run 10 s and done 5 % (a searchlight's
    masking took 45 s for its first 1 %: "about 74 min left" for a quarter of an hour)."""
    import time

    from brainviz.gui.jobs import JobsPanel
    from brainviz.model import JobState, Session, time_left

    state = JobState(kind="searchlight", title="searchlight", state="running",
                     started=time.time() - 60.0, message="5514/29398 spheres")
    panel = JobsPanel(session=Session(), selected=state)
    assert state.remaining is None and panel.selected_message == "5514/29398 spheres"
    state.progress = 0.04  # too little done to say
    assert state.remaining is None
    state.progress = 0.2  # a fifth in a minute: four minutes more
    assert state.remaining == pytest.approx(240.0, rel=0.02)
    assert panel.selected_message == "5514/29398 spheres (about 4 min left)"
    state.started = time.time() - 8.0  # too early to say
    assert state.remaining is None
    state.started, state.cancelling = time.time() - 60.0, True  # stopping: nothing left
    assert state.remaining is None
    state.cancelling = False
    state.started, state.state = time.time() - 60.0, "done"
    assert state.remaining is None and panel.selected_message == "5514/29398 spheres"
    assert [time_left(s) for s in (20, 59, 61, 150, 89 * 60, 2.5 * 3600)] == [
        "less than a minute left", "less than a minute left", "about 1 min left",
        "about 2 min left", "about 89 min left", "about 2.5 h left"]
