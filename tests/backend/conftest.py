"""Tiny seeded datasets with known ground truth for the backend tests."""
import numpy as np
import pytest

AFFINE = np.array([[3.0, 0, 0, -10.0], [0, 3.0, 0, -12.0], [0, 0, 3.0, -14.0], [0, 0, 0, 1]])
SHAPE = (7, 8, 9)


def _blob(center, radius=1.6):
    ii, jj, kk = np.indices(SHAPE)
    d2 = (ii - center[0]) ** 2 + (jj - center[1]) ** 2 + (kk - center[2]) ** 2
    return d2 <= radius**2


@pytest.fixture(scope="session")
def decoding_data():
    """A 4D image where 'face' and 'house' volumes raise two different blobs.

    Returns a dict: img (7, 8, 9, 48), labels, runs (4 runs), mask, truth
    (dict class -> boolean 3D ground-truth region).
    """
    import nibabel as nib

    rng = np.random.default_rng(42)
    truth = {"face": _blob((2, 2, 3)), "house": _blob((4, 5, 6))}
    n_runs, per_run = 4, 12
    labels = np.array((["face", "house", "rest"] * (per_run // 3)) * n_runs)
    runs = np.repeat(np.arange(n_runs), per_run)
    data = rng.standard_normal(SHAPE + (len(labels),)).astype(np.float32)
    for cls, region in truth.items():
        data[region] += 1.5 * (labels == cls)[None, :]
    data += 100.0
    mask = np.ones(SHAPE, dtype=np.uint8)
    mask[0, 0, 0] = 0
    return {
        "img": nib.Nifti1Image(data, AFFINE),
        "labels": labels,
        "runs": runs,
        "mask": nib.Nifti1Image(mask, AFFINE),
        "truth": truth,
    }


@pytest.fixture
def haxby(haxby_slice):
    """The real Haxby slice: (bold path, mask path, labels, runs)."""
    from brainviz.backend import read_labels

    labels, runs = read_labels(haxby_slice / "attributes_literal.txt")
    return haxby_slice / "bold.nii.gz", haxby_slice / "mask.nii.gz", labels, runs


@pytest.fixture(scope="session")
def resting_data():
    """Three subjects whose voxels in three blobs share a network time course.

    Returns a dict: imgs (3 subjects, (10, 11, 9, 80)), mask, maps (list of
    three 3D float ground-truth network maps), affine.
    """
    import nibabel as nib

    rng = np.random.default_rng(7)
    shape = (10, 11, 9)
    ii, jj, kk = np.indices(shape)
    centers = [(2.5, 3, 4), (7, 3, 4), (5, 8, 4)]
    maps = []
    for c in centers:
        d2 = (ii - c[0]) ** 2 + (jj - c[1]) ** 2 + (kk - c[2]) ** 2
        maps.append(np.exp(-d2 / (2 * 1.5**2)) * (d2 <= 9))
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-20, -22, -18]
    imgs = []
    for _ in range(3):
        t = rng.standard_normal((80, 3))
        data = np.einsum("xyzk,tk->xyzt", np.stack(maps, -1), t) * 3.0
        data += rng.standard_normal(shape + (80,)) + 50.0
        imgs.append(nib.Nifti1Image(data.astype(np.float32), affine))
    mask = nib.Nifti1Image(np.ones(shape, np.uint8), affine)
    return {"imgs": imgs, "mask": mask, "maps": maps, "affine": affine}


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (root on Linux only): ``tmpfs(name, size="3M", ro=False)``.

    Returns the mount point, or ``None`` where no tmpfs can be mounted (the
    test then falls back to a monkeypatched writer). Unmounted after the test.
    """
    import os
    import subprocess
    import sys

    mounted = []

    def mount(name="mnt", size="3M", ro=False):
        point = tmp_path / name
        point.mkdir()
        if sys.platform != "linux" or os.geteuid() != 0:
            return None
        options = f"size={size}" + (",ro" if ro else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True)
        if proc.returncode != 0:
            return None
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
