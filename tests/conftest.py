"""Shared fixtures: tiny seeded images, isolated HOME and cache, real data.

Every test runs with HOME, XDG_CACHE_HOME, BRAINVIZ_CACHE_DIR and
BRAINVIZ_DATA_DIR pointing into its own temporary folder, so no test reads or
writes the user's real cache. Qt uses its offscreen platform unless a test
provides an X server itself.
"""
import os
from pathlib import Path

import numpy as np
import pytest

# Set before anything imports Qt, pyface or mayavi.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ETS_TOOLKIT", "qt")
os.environ.setdefault("QT_API", "pyqt5")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp/runtime-brainviz")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("BRAINVIZ_CACHE_DIR", str(home / ".cache" / "brainviz"))
    # Demo datasets are generated once per test session, not once per test.
    monkeypatch.setenv("BRAINVIZ_DATA_DIR", str(_session_data_dir(tmp_path_factory)))
    yield


_DATA_DIR = {}


def _session_data_dir(tmp_path_factory):
    if "dir" not in _DATA_DIR:
        _DATA_DIR["dir"] = tmp_path_factory.mktemp("demo_data")
    return _DATA_DIR["dir"]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def shared_data():
    """Path to ../shared/data; skips the test when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def haxby_slice(shared_data):
    path = shared_data / "haxby2001-slice"
    if not (path / "bold.nii.gz").is_file():
        pytest.skip(f"Haxby slice not found at {path}")
    return path


@pytest.fixture
def img_3d(rng):
    """A small seeded 3D float image, shape (7, 8, 9) so a swapped axis fails."""
    import nibabel as nib

    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-7.0, -12.0, -18.0]
    data = rng.standard_normal((7, 8, 9)).astype(np.float32)
    return nib.Nifti1Image(data, affine)


@pytest.fixture
def img_4d(rng):
    """A small seeded 4D float image, shape (7, 8, 9, 5)."""
    import nibabel as nib

    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-7.0, -12.0, -18.0]
    data = rng.standard_normal((7, 8, 9, 5)).astype(np.float32)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 2.0
    return img
