"""Launch ``brainviz`` as a user would, in a real X window under Xvfb, and grab the screen."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.gui, pytest.mark.slow]


def _free_display():
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    pytest.skip("no free X display number")


@pytest.fixture
def xvfb():
    """A private Xvfb server; yields its DISPLAY string."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (run .ci/system-deps)")
    n = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.skip(f"Xvfb did not start on :{n}")
        time.sleep(0.1)
    yield f":{n}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def grab_screen(display):
    """The whole X screen as an (h, w, 3) array (a real screen grab, through XCB)."""
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))


def test_brainviz_opens_a_real_window_with_the_scene_drawn(xvfb, tmp_path):
    env = dict(os.environ)
    env.update(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", ETS_TOOLKIT="qt")
    env.pop("WAYLAND_DISPLAY", None)
    ready = tmp_path / "ready"
    env["BRAINVIZ_READY_FILE"] = str(ready)
    proc = subprocess.Popen([sys.executable, "-m", "brainviz"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 150
        while not ready.exists():
            if proc.poll() is not None:
                pytest.fail(f"brainviz exited with {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
            if time.time() > deadline:
                pytest.fail("the window never drew its first frame")
            time.sleep(0.25)
        time.sleep(1.0)
        screen = grab_screen(xvfb)
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    from PIL import Image

    shot = tmp_path / "screen.png"
    Image.fromarray(screen).save(shot)
    save_to = os.environ.get("BRAINVIZ_SAVE_SCREENSHOT")
    if save_to:
        shutil.copy(shot, save_to)
    # the scene rectangle the window reported (x, y, w, h in screen pixels)
    x, y, w, h = (int(v) for v in ready.read_text().split())
    assert w > 100 and h > 100
    scene = screen[y:y + h, x:x + w].astype(int)
    assert scene.shape[0] > 100 and scene.shape[1] > 100
    # drawn: not black, not one flat colour, with grey brain and a coloured overlay
    assert scene.mean() > 20
    assert scene.std() > 20
    grey = (np.abs(scene[..., 0] - scene[..., 1]) < 8) & (scene.mean(-1) > 40) & (scene.mean(-1) < 220)
    assert grey.mean() > 0.03, "no grey anatomy in the scene area"
    colourful = np.abs(scene[..., 0] - scene[..., 2]) > 80
    assert colourful.sum() > 30, "no coloured overlay or connectome in the scene area"


PANELS_FIT = '''
import sys, time
from pyface.qt import QtCore, QtGui
from brainviz.gui import create_window

w = create_window(demo=True, show_errors=False, window_size=(int(sys.argv[1]), int(sys.argv[2])))
app = QtCore.QCoreApplication.instance()
t0 = time.time()
while (w.jobs_panel is None or w.cache_panel is None) and time.time() - t0 < 120:
    app.processEvents()
    time.sleep(0.01)


def settle():
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)


def worst(name):
    panel = w.ui.get_editors(name)[0].control
    lack = 0
    for area in panel.findChildren(QtGui.QAbstractScrollArea):
        if area.isVisibleTo(w.ui.control):
            bar = area.horizontalScrollBar()
            lack = max(lack, bar.maximum() - bar.minimum())
    return lack


out = [w.ui.control.width(), 0, 0]
if sys.argv[3] == "with-data":  # layers with long names fill the job form's lists
    w.load_decoding_demo()  # as soon as the jobs panel is there
    w.jobs_panel.decoding.images = "decoding demo"
    w.jobs_panel.decoding.mask = "decoding demo mask"
    settle()
    out[1:] = [worst("layers_panel"), worst("jobs_panel")]
    # a finished job fills the job list, status and log (the panel gets a scroll bar)
    state = w.start_job(w.jobs_panel.decoding)
    t0 = time.time()
    while not state.shown and state.state not in ("failed", "cancelled") and time.time() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    assert state.state == "done", state.state
settle()
out[1:] = [max(out[1], worst("layers_panel")), max(out[2], worst("jobs_panel"))]
splitter = [s for s in w.ui.control.findChildren(QtGui.QSplitter) if s.count() == 3][0]
out += splitter.sizes()
print(*out)
w.shutdown()
'''


@pytest.mark.parametrize("size, data", [((1200, 780), "with-data"), ((1100, 720), "demo")])
def test_side_panels_fit_without_clipping(xvfb, tmp_path, size, data):
    """At the default window size (and a smaller one) every field of the layer and job
    panels is in view on a real X display: the side columns widen to fit their forms
    and tables, so no horizontal scroll bar is needed and the scene keeps the rest;
    layers with long names (the decoding demo's) do not widen the job form."""
    env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", ETS_TOOLKIT="qt")
    env.pop("WAYLAND_DISPLAY", None)
    script = tmp_path / "fit.py"
    script.write_text(PANELS_FIT)
    proc = subprocess.run([sys.executable, str(script), *map(str, size), data], env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    width, layers_clip, jobs_clip, left, scene, right = (
        int(v) for v in proc.stdout.split("\n")[-2].split())
    assert width >= size[0] - 20
    assert layers_clip <= 2, f"the layers panel lacks {layers_clip} px"
    assert jobs_clip <= 2, f"the jobs panel lacks {jobs_clip} px"
    assert scene >= 0.35 * (left + scene + right)
