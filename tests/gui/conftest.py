"""Fixtures for the window tests: one shared window per module, small, offscreen Qt.

tests/conftest.py sets QT_QPA_PLATFORM=offscreen before Qt is imported; the
window's scene then renders through an offscreen VTK render window, and pixels
are read back from it (QWidget.grab cannot see a GL area).
"""
import time

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture(scope="session")
def gui_env(tmp_path_factory):
    """HOME, cache and demo data in temporary folders for fixtures wider than a test.

    (The root conftest isolates each test; a module-wide window is made before
    that, so it gets the same isolation here.)
    """
    base = tmp_path_factory.mktemp("gui_env")
    values = {
        "HOME": base / "home",
        "XDG_CACHE_HOME": base / "home" / ".cache",
        "BRAINVIZ_CACHE_DIR": base / "home" / ".cache" / "brainviz",
        "BRAINVIZ_DATA_DIR": base / "demo_data",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in values.items():
            value.mkdir(parents=True, exist_ok=True)
            mp.setenv(name, str(value))
        yield values


@pytest.fixture(scope="module")
def window(qapp, gui_env):
    """The main window on the built-in demo, shared by a module's tests."""
    from brainviz.gui import create_window

    win = create_window(demo=True, scene_size=(240, 220), window_size=(1000, 640))
    for _ in range(20):
        qapp.processEvents()
    assert win.figure is not None, "the scene was not activated"
    # the jobs and cache panels come after the first frame, once the analysis
    # backend has been imported on a thread
    deadline = time.monotonic() + 120
    while (win.jobs_panel is None or win.cache_panel is None) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert win.jobs_panel is not None, "the side panels were not made after the first frame"
    assert win.errors.errors == [], win.errors.errors
    yield win
    win.errors.close_all()
    win.shutdown()
    win.ui.dispose()
