"""Tampered session files: one line naming the file and the key, nothing half-opened."""
import json

import numpy as np
import pytest

from brainviz.model import ConnectomeLayer, Session
from brainviz.session import SessionFileError, read_session, save_session


@pytest.fixture
def good(tmp_path):
    session = Session()
    graph = ConnectomeLayer(name="graph")
    graph.set_graph(np.eye(3) + 0.5, np.arange(9.0).reshape(3, 3))
    session.add_layer(graph)
    session.camera = {"position": [0, -300, 0], "focal_point": [0, 0, 0], "view_up": [0, 0, 1],
                      "view_angle": 30.0}
    path = save_session(session, tmp_path / "s.json")
    return path, json.loads(path.read_text())


def _deep(n):
    return "[" * n + "]" * n


def _layer(doc):
    return doc["layers"][0]


CASES = {
    "opacity text": (lambda d: _layer(d).update(opacity="high"),
                     r"layers\[0\] \(graph\): .*opacity='high' is not valid"),
    "opacity out of range": (lambda d: _layer(d).update(opacity=7),
                             r"layers\[0\] \(graph\): .*opacity=7 is not valid"),
    "opacity huge": (lambda d: _layer(d).update(opacity=1e308),
                     r"layers\[0\]\.opacity: expected null or true or false or a finite number"),
    "display value nested": (lambda d: _layer(d).update(visible={"a": [1]}),
                             r"layers\[0\]\.visible: expected"),
    "visible text": (lambda d: _layer(d).update(visible="yes"),
                     r"layers\[0\] \(graph\): .*visible='yes' is not valid"),
    "threshold infinite": (lambda d: json.dumps(d).replace('"threshold": ', '"threshold": 1e999, "x": '),
                           r"layers\[0\]\.threshold: expected"),
    "node size": (lambda d: _layer(d).update(node_size=-3), r"layers\[0\] \(graph\): .*node_size"),
    "missing layers": (lambda d: d.pop("layers") and None, r"layers: expected a value \(the key is missing\)"),
    "layer without type": (lambda d: _layer(d).pop("type") and None, r"layers\[0\]\.type: expected a value"),
    "unknown type": (lambda d: _layer(d).update(type="pickle"), r"layers\[0\]\.type: expected one of"),
    "title not text": (lambda d: d.update(title=["x"]), r"title: expected text"),
    "layers not a list": (lambda d: d.update(layers={"a": 1}), r"layers: expected a list"),
    "cursor text": (lambda d: d.update(cursor=["a", 0, 0]), r"cursor\[0\]: expected a finite number"),
    "cursor short": (lambda d: d.update(cursor=[0, 0]), r"cursor: expected a list of 3 items"),
    "camera two numbers": (lambda d: d["camera"].update(position=[0, 0]),
                           r"camera\.position: expected a list of 3 items"),
    "camera angle": (lambda d: d["camera"].update(view_angle=500), r"camera\.view_angle"),
    "camera text": (lambda d: d.update(camera="front"), r"camera: expected null or an object"),
    "camera zero up": (lambda d: d["camera"].update(view_up=[0, 0, 0]), r"camera\.view_up: expected a non-zero"),
    "deep job params": (lambda d: d.update(jobs=[{"kind": "decoding", "params": {"p": json.loads(_deep(60))}}]),
                        r"jobs\[0\]\.params\.p.*nesting at most 32 deep"),
    "deeper than json": (lambda d: json.dumps(d)[:-1] + ', "x": ' + _deep(100_000) + "}", r"nesting too deep"),
    "job kind": (lambda d: d.update(jobs=[{"kind": "rm -rf"}]), r"jobs\[0\]\.kind: expected one of"),
    "ragged matrix": (lambda d: _layer(d).update(matrix=[[1, 2, 3], [1], [1, 2, 3]]),
                      r"layers\[0\] \(graph\): "),
    "matrix and coords disagree": (lambda d: _layer(d).update(coords=[[0, 0, 0]]),
                                   r"layers\[0\] \(graph\): .*3x3 matrix"),
    "version": (lambda d: d.update(version=99), r"version: expected a whole number in \[1, 2\]"),
    "a list": (lambda d: [1, 2, 3], r"not a brainviz session file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_session_is_one_line_naming_file_and_key(good, case):
    path, doc = good
    out = CASES[case][0](doc)
    text = out if isinstance(out, str) else json.dumps(out if isinstance(out, list) else doc)
    path.write_text(text)
    with pytest.raises(SessionFileError, match=CASES[case][1]) as info:
        read_session(path)
    assert "\n" not in str(info.value) and "s.json" in str(info.value)


def test_a_result_folder_of_a_session_is_checked_too(good, tmp_path):
    path, doc = good
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "result.json").write_text(json.dumps({"format": "brainviz-result",
                                                    "format_version": 1, "kind": "decoding",
                                                    "fields": {"mean_score_": "x"}, "files": {}}))
    doc["layers"].append({"type": "StatMapLayer", "name": "w", "result_folder": str(folder),
                          "result_key": "weight_maps/face"})
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionFileError, match=r"s\.json: layers\[1\] \(w\): .*result\.json: "
                                                r"fields\.mean_score_: expected a number"):
        read_session(path)


def test_the_untampered_session_still_opens(good):
    path, _ = good
    session, missing = read_session(path)
    assert missing == [] and [lay.name for lay in session.layers] == ["graph"]
    assert session.camera["view_angle"] == 30.0


def test_a_version_1_session_is_checked_with_its_own_names(tmp_path):
    path = tmp_path / "old.json"
    doc = {"format": "brainviz-session", "version": 1,
           "layers": [{"kind": "connectome", "name": "g", "matrix": [[1, 0.5], [0.5, 1]],
                       "coords": [[0, 0, 0], [10, 0, 0]], "colormap": "cold_hot"}]}
    path.write_text(json.dumps(doc))
    session, _ = read_session(path)
    assert [lay.name for lay in session.layers] == ["g"]
    doc["layers"][0]["kind"] = "exploit"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionFileError, match=r"old\.json: layers\[0\]\.kind: expected one of"):
        read_session(path)


def test_saving_a_session_leaves_its_in_memory_images_in_memory(tmp_path):
    """A layer made in memory is written beside the session (``<name>_data/``) through a
    temporary file renamed into place. nibabel's save pointed the layer's own image at
    that temporary name: a later save, ``brainviz render`` of it or a new layer from the
    same volume then named ``.01_template.tmp.nii.gz``, a file that is gone."""
    import nibabel as nib

    from brainviz.data import load_volume
    from brainviz.model import StatMapLayer, find_missing_files

    data = np.zeros((6, 6, 6), np.float32)
    data[3, 3, 3] = 2.0
    volume = load_volume(nib.Nifti1Image(data, np.eye(4)))
    assert volume.img.get_filename() is None
    layer = StatMapLayer(name="template")
    layer.set_volume(volume)
    session = Session()
    session.add_layer(layer)
    first = save_session(session, tmp_path / "one" / "s.json")
    assert volume.img.get_filename() is None  # still the image in memory
    assert not list(first.parent.rglob(".*tmp*"))
    # the same volume in a second session, saved elsewhere: every file it names exists
    other = StatMapLayer(name="template")
    other.set_volume(volume)
    again = Session()
    again.add_layer(other)
    second = save_session(again, tmp_path / "two" / "s.json")
    doc = json.loads(second.read_text())
    assert find_missing_files(doc) == []
    assert doc["layers"][0]["path"] == str(tmp_path / "two" / "s_data" / "01_template.nii.gz")
    reopened, missing = read_session(second)
    assert missing == []
    assert np.array_equal(np.asarray(reopened.layers[0].data.get_frame(0)), data)


def test_a_session_with_a_job_of_every_kind_opens_again(tmp_path):
    """Every kind of job the window runs is saved with the session and read back, its
    title, state, headline and result folder kept. A session that had run a searchlight
    could be saved but not opened again: the schema knew three kinds of job of four."""
    from brainviz.model import JobState

    from brainviz._schema import SESSION_SCHEMA

    kinds = JobState.class_traits()["kind"].handler.values
    assert "searchlight" in kinds
    assert set(SESSION_SCHEMA.fields["jobs"].item.fields["kind"].values) == set(kinds)
    session = Session()
    for i, kind in enumerate(kinds):
        folder = tmp_path / f"result-{i}"
        folder.mkdir()
        session.jobs.append(JobState(kind=kind, title=f"{kind} job", state="done",
                                     headline=f"headline {i}", result_folder=str(folder)))
    path = save_session(session, tmp_path / "s.json")
    again, missing = read_session(path)
    assert missing == []
    assert [(j.kind, j.title, j.state, j.headline, j.result_folder) for j in again.jobs] == [
        (j.kind, j.title, j.state, j.headline, j.result_folder) for j in session.jobs]
