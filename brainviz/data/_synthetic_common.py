"""Helpers of the demo datasets (:mod:`brainviz.data.synthetic`): the 4 mm MNI
grid, Gaussian blobs, NIfTI building, parameter-keyed cache folders written
atomically, and argument checks."""
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .._config import get_data_dir
from ..exceptions import CacheWarning, ParameterError

# Bump when the generated content or the file layout changes: old caches are ignored.
FORMAT_VERSION = 2

_GRID_RESOLUTION = 4  # mm


def _grid():
    """Brain mask and template on the 4 mm MNI grid, cropped to the brain (+1 voxel)."""
    import nibabel as nib

    from .templates import _brain_mask_img, _template_img

    mask_img = _brain_mask_img(_GRID_RESOLUTION)
    mask = np.asarray(mask_img.dataobj) > 0
    ijk = np.array(np.nonzero(mask))
    lo = np.maximum(ijk.min(axis=1) - 1, 0)
    hi = np.minimum(ijk.max(axis=1) + 2, mask.shape)
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    affine = mask_img.affine.copy()
    affine[:3, 3] = mask_img.affine[:3, :3] @ lo + mask_img.affine[:3, 3]
    template = np.asarray(_template_img(_GRID_RESOLUTION).dataobj, dtype=np.float64)[sl]
    mask = mask[sl]
    mask_out = nib.Nifti1Image(mask.astype(np.uint8), affine)
    mask_out.header.set_xyzt_units("mm")
    return mask, affine, template, mask_out


def _voxel_mm(mask, affine):
    ijk = np.array(np.nonzero(mask)).T
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def _blobs(xyz, centres, amplitudes, sigma):
    """Sum of isotropic Gaussians (peak = amplitude) at ``centres``, on points ``xyz``."""
    out = np.zeros(len(xyz))
    for centre, amp in zip(centres, amplitudes):
        d2 = np.sum((xyz - np.asarray(centre)) ** 2, axis=1)
        out += amp * np.exp(-d2 / (2.0 * sigma**2))
    return out


def _unmask(values, mask, dtype=np.float32):
    """(n_vox,) or (n_vox, t) in-mask values -> 3D or 4D array, zero outside."""
    shape = mask.shape + values.shape[1:]
    out = np.zeros(shape, dtype=dtype)
    out[mask] = values
    return out


def _nifti(data, affine, tr=None):
    import nibabel as nib

    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    if tr is not None:
        img.header["pixdim"][4] = tr
    return img


def _folder(kind, params, data_dir):
    key = json.dumps({"kind": kind, "format": FORMAT_VERSION, **params}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return get_data_dir(data_dir) / f"{kind}-v{FORMAT_VERSION}-{digest}"


def _is_complete(folder, kind, params):
    meta = folder / "meta.json"
    if not meta.is_file():
        return False
    try:
        saved = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    return (saved.get("kind") == kind and saved.get("format") == FORMAT_VERSION
            and saved.get("params") == params)


def _write_atomically(folder, write, is_complete):
    """Run ``write(tmp_folder)`` then rename the folder into place.

    ``is_complete(folder)`` tells whether another process finished the same
    dataset meanwhile; its copy is then kept (it may be being read) and ours
    discarded. An incomplete folder left by a crash is replaced.

    Returns True when ``folder`` holds a complete dataset afterwards, False
    when the data folder is not writable (a CacheWarning is issued).
    """
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        warnings.warn(
            f"Cannot write demo data under '{parent}' ({exc}); keeping it in memory only. "
            "Set BRAINVIZ_DATA_DIR or pass data_dir= to a writable folder.",
            CacheWarning, stacklevel=3,
        )
        return False
    try:
        write(tmp)
        if folder.exists():
            if is_complete(folder):
                return True
            shutil.rmtree(folder, ignore_errors=True)  # left by a crash
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.exists():
                raise
            # another process finished first: keep its copy
    except OSError as exc:
        warnings.warn(
            f"Cannot write demo data to '{folder}' ({exc}); keeping it in memory only.",
            CacheWarning, stacklevel=3,
        )
        return False
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return True


def _load_in_memory(path):
    """Read a NIfTI file fully into memory, keeping its file name for provenance."""
    import nibabel as nib

    disk = nib.load(str(path))
    img = nib.Nifti1Image(np.asanyarray(disk.dataobj), disk.affine, disk.header)
    img.set_filename(str(path))
    return img


def _check_int(name, value, minimum, func):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(
            f"The '{name}' parameter of {func} must be an integer >= {minimum}; got {value!r}."
        )
    return int(value)


def _check_seed(seed, func):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(
            f"The 'seed' parameter of {func} must be a non-negative integer; got {seed!r}."
        )
    return int(seed)


def _check_amplitude(name, value, func):
    try:
        ok = np.isfinite(value) and value >= 0
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(
            f"The '{name}' parameter of {func} must be a finite number >= 0; got {value!r}."
        )
    return value
