"""Masks the scene needs before its first frame, kept in the on-disk store (:mod:`._store`).

- :func:`head_mask`: the head in an anatomical image (what anatomy slices draw);
- :func:`dilated_brain_mask`: the MNI152 brain mask grown by a tolerance (which
  connectome nodes lie outside the brain).
"""
import functools

import numpy as np

from ._store import digest, stored_arrays

__all__ = ["head_mask", "compute_head_mask", "dilated_brain_mask"]

_HEAD_MASKS = "head_masks_v2"
_HEAD_MASKS_KEPT = 32
_HEAD_MASK_MIN_VOXELS = 32 ** 3


def compute_head_mask(data, cutoff):
    """Boolean mask of the head: the largest connected component of ``data > cutoff`` after
    a one-voxel opening, holes filled (ventricles stay in); None when nothing passes."""
    from scipy import ndimage

    fg = np.isfinite(data) & (data > cutoff)
    fg = ndimage.binary_opening(fg)
    labels, n = ndimage.label(fg)
    if n == 0:
        return None
    if n > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        fg = labels == int(np.argmax(sizes))
    return ndimage.binary_fill_holes(fg)


def head_mask(data, cutoff, store=True):
    """:func:`compute_head_mask`, kept in the store for images of 32**3 voxels or more
    (keyed by a hash of the voxel values and ``cutoff``; the 32 most recently used):
    the next start reads it instead of importing scipy.ndimage and computing it again,
    a quarter of a second for the MNI template."""
    data = np.ascontiguousarray(data)
    if not store or data.size < _HEAD_MASK_MIN_VOXELS:
        return compute_head_mask(data, cutoff)

    def compute():
        mask = compute_head_mask(data, cutoff)
        return None if mask is None else {"mask": mask}

    found = stored_arrays(_HEAD_MASKS, digest(data, float(cutoff)), compute, keep=_HEAD_MASKS_KEPT)
    if found is None or found["mask"].shape != data.shape:
        return None
    return found["mask"]


@functools.lru_cache(maxsize=4)
def dilated_brain_mask(tolerance_mm):
    """``(mask dilated by tolerance_mm, inverse affine)`` of the MNI152 brain mask (2 mm),
    or None when it cannot be loaded. Stored after first use: loading the mask through
    nilearn imports nilearn, scikit-learn and pandas (over a second)."""
    def compute():
        try:
            from .templates import load_brain_mask

            mask = load_brain_mask()
            data = np.asarray(mask.get_data()) > 0.5
            affine = np.asarray(mask.affine, dtype=float)
        except Exception:  # noqa: BLE001 - callers fall back to a bounding box
            return None
        from scipy import ndimage

        voxel = float(np.min(np.abs(np.linalg.eigvals(affine[:3, :3]))))
        iterations = max(1, int(round(tolerance_mm / voxel)))
        return {"mask": ndimage.binary_dilation(data, iterations=iterations),
                "inverse": np.linalg.inv(affine)}

    found = stored_arrays("brain_masks_v2", digest("mni152_2mm", float(tolerance_mm)), compute)
    if found is None:
        return None
    return found["mask"], np.asarray(found["inverse"], dtype=float)
