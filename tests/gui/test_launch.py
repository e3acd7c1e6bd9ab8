"""`brainviz` with no display: one line, a PNG of the demo, exit 0."""
import os
import subprocess
import sys

import numpy as np
import pytest

from brainviz.cli import _gui


@pytest.mark.parametrize("env, ok", [
    ({}, False),
    ({"DISPLAY": ""}, False),
    ({"QT_QPA_PLATFORM": "offscreen"}, True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"DISPLAY": ":0"}, True),  # a given environment is not probed
])
def test_has_display(env, ok):
    assert _gui.has_display(env)[0] is ok


def test_unreachable_x_display_counts_as_none(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":987")
    ok, reason = _gui.has_display()
    assert not ok and "DISPLAY=:987" in reason


def test_output_goes_to_a_temp_dir_when_cwd_is_read_only(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    assert _gui._output_path() == tmp_path / _gui.DEMO_PNG
    monkeypatch.setattr(_gui.os, "access", lambda path, mode: False)
    # the system's temporary folder, here one inside tmp_path (nothing left in /tmp)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    out = _gui._output_path()
    assert out.parent.parent == tmp_path / "tmp" and out.parent.is_dir()
    assert out.parent.name.startswith("brainviz-") and out.name == _gui.DEMO_PNG


def test_missing_file_is_named_and_exits_non_zero(tmp_path, capsys):
    assert _gui.run_window([str(tmp_path / "nope.nii.gz")]) == 2
    assert "nope.nii.gz" in capsys.readouterr().err


@pytest.mark.render
@pytest.mark.slow
def test_brainviz_without_display_renders_the_demo(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "brainviz"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("brainviz:")]
    assert "no display" in lines[0]
    out = tmp_path / _gui.DEMO_PNG
    assert f"rendering the demo figure to {out} instead" in lines[0]  # said before it is written
    assert lines[-1] == f"brainviz: wrote {out}"
    assert "WARN" not in proc.stderr and "X server" not in proc.stderr  # VTK's X fallback
    from PIL import Image

    img = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert img.shape[0] > 200 and img.shape[1] > 200
    assert img.std() > 20  # a drawn figure, not a blank one
    # the statistical map's colours are in it
    assert (np.abs(img[..., 0] - img[..., 2]) > 100).sum() > 100


@pytest.mark.render
@pytest.mark.slow
def test_brainviz_file_without_display_renders_that_file(tmp_path, img_3d):
    import nibabel as nib

    path = tmp_path / "blob.nii.gz"
    data = np.zeros((7, 8, 9), dtype=np.float32)
    # a graded blob wide enough for the slices' head mask (an opening removes one-voxel
    # features): a 3-voxel cube of one value was cleared but for a few voxels, and what
    # showed of it was the black fringe that slices' edges used to get
    data[1:6, 1:7, 2:7] = 2.0 + np.random.default_rng(0).random((5, 6, 5))
    nib.save(nib.Nifti1Image(data, img_3d.affine), path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "brainviz", str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rendering the files figure" in proc.stdout
    out = tmp_path / "brainviz-figure.png"
    assert out.is_file()
    from PIL import Image

    img = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert img.std() > 5


def test_first_frame_needs_neither_scikit_learn_nor_matplotlib(tmp_path):
    """The demo is drawn before the analysis backend is imported; the panels come after.

    scikit-learn (with pandas and scipy.stats) takes most of a second to import and
    matplotlib a tenth: the window imports the backend on a thread once the first
    frame is on screen, then makes the jobs panel on the GUI thread.
    """
    code = (
        "import sys, time\n"
        "from brainviz.gui.app import MainWindow\n"
        "seen = {}\n"
        "original = MainWindow._populate_after_first_frame\n"
        "def at_first_frame(self):\n"
        "    seen['modules'] = [m for m in ('sklearn', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "    seen['visuals'] = len(self.binding.visuals)\n"
        "    original(self)\n"
        "MainWindow._populate_after_first_frame = at_first_frame\n"
        "from pyface.qt import QtCore\n"
        "from brainviz.gui import create_window\n"
        "w = create_window(demo=True, show_errors=False, scene_size=(200, 180))\n"
        "app = QtCore.QCoreApplication.instance()\n"
        "t0 = time.time()\n"
        "while w.jobs_panel is None and time.time() - t0 < 120:\n"
        "    app.processEvents()\n"
        "    time.sleep(0.01)\n"
        "print(seen['modules'], seen['visuals'], w.jobs_panel is not None, 'sklearn' in sys.modules)\n"
        "w.shutdown()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ETS_TOOLKIT="qt",
               BRAINVIZ_DATA_DIR=str(tmp_path / "demo_data"))
    for _ in range(2):  # the second start reads the demo from its cache, as users' starts do
        out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True,
                             text=True, env=env, timeout=240)
        fatal = out.stderr.find("Fatal Python error")
        assert out.returncode == 0, out.stderr[fatal:fatal + 3000] if fatal >= 0 else out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[] 3 True True"


def test_the_3d_scene_is_drawn_once_at_its_final_size_while_the_window_fills(tmp_path):
    """After the first frame the 2D views, their layers and the side panels are made: the 3D
    scene keeps the size of its first frame (the docks sized after it drew the scene again at
    another size), and each 2D view is made, then drawn, in turns of their own."""
    code = (
        "import time\n"
        "from brainviz.gui.viewer import Viewer\n"
        "from brainviz.gui import create_window\n"
        "from pyface.qt import QtCore\n"
        "w = create_window(demo=True, show_errors=False, window_size=(1000, 700))\n"
        "rw = w.figure.scene.render_window\n"
        "sizes, during = [], []\n"
        "rw.add_observer('EndEvent', lambda o, e: sizes.append(tuple(rw.size)))\n"
        "for name in ('_make_slice_widget', '_bind_slice_view'):\n"
        "    def wrap(original):\n"
        "        def step(self, *args, **kwargs):\n"
        "            n = len(sizes)\n"
        "            original(self, *args, **kwargs)\n"
        "            during.append(len(sizes) - n)\n"
        "        return step\n"
        "    setattr(Viewer, name, wrap(getattr(Viewer, name)))\n"
        "app = QtCore.QCoreApplication.instance()\n"
        "t0 = time.time()\n"
        "while (w.jobs_panel is None or w.cache_panel is None) and time.time() - t0 < 120:\n"
        "    app.processEvents()\n"
        "    time.sleep(0.01)\n"
        "for _ in range(50):\n"
        "    app.processEvents()\n"
        "final = tuple(rw.size)\n"
        "print(sizes[0] == final, len(during), w.errors.errors == [])\n"
        "w.shutdown()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ETS_TOOLKIT="qt",
               BRAINVIZ_DATA_DIR=str(tmp_path / "demo_data"))
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True,
                         text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    first_at_final_size, steps, no_errors = out.stdout.strip().splitlines()[-1].split()
    assert first_at_final_size == "True"  # the docks had their sizes before the first frame
    assert steps == "6"  # each 2D view: made, then its layers drawn, in turns of their own
    assert no_errors == "True"
