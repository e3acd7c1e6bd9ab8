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
