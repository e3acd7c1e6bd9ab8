"""Opening a session is all or nothing: on any failure the window keeps what it showed."""
import json

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _state(window):
    return ([id(lay) for lay in window.session.layers], [lay.name for lay in window.session.layers],
            window.session.cursor, window.get_camera()["position"])


@pytest.mark.parametrize("edit, words", [
    (lambda d: d["camera"].update(position="far away"), "camera.position"),
    (lambda d: d["layers"][0].update(opacity=7), "opacity=7 is not valid"),
    (lambda d: d["layers"].append({"type": "AnatomyLayer", "name": "x", "path": "{garbage}"}),
     "(x): Cannot read"),
])
def test_a_bad_session_leaves_the_window_as_it_was(window, qtbot, tmp_path, edit, words):
    out = window.save_session(tmp_path / "s.json")
    doc = json.loads(out.read_text())
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(b"not an image at all" * 50)
    edit(doc)
    out.write_text(json.dumps(doc).replace("{garbage}", str(garbage)))
    before = _state(window)
    n_errors = len(window.errors.errors)
    assert window.open_session(out) is None
    qtbot.wait(50)
    assert len(window.errors.errors) == n_errors + 1
    # the dialog shows the context, then the error's own single line
    context, message = window.errors.errors[-1][1].split("\n")
    assert context.startswith("Could not open the session s.json")
    assert words in message and message.startswith("s.json: ")
    after = _state(window)
    assert after[:3] == before[:3]
    np.testing.assert_allclose(after[3], before[3])
    window.errors.close_all()


def test_a_failure_while_replacing_restores_the_window(window, qtbot, tmp_path, monkeypatch):
    out = window.save_session(tmp_path / "s.json")
    window.session.cursor = (1.0, 2.0, 3.0)
    before = _state(window)
    session_class = type(window.session)
    real_add = session_class.add_layer
    calls = []

    def add_then_fail(self, layer):
        calls.append(layer)
        if len(calls) == 2:
            raise RuntimeError("the scene refused the second layer")
        return real_add(self, layer)

    monkeypatch.setattr(session_class, "add_layer", add_then_fail)
    assert window.open_session(out) is None
    monkeypatch.undo()
    qtbot.wait(50)
    assert len(calls) == 2  # the first layer of the file had replaced the window's
    assert _state(window)[:3] == before[:3]
    assert "the scene refused the second layer" in window.errors.errors[-1][1]
    window.errors.close_all()
