"""check_mask, require_3d, require_4d: grid and dimension checks on volumes.

Re-exported by :mod:`brainviz.data.volumes`, where they belong in the API.
"""
import numpy as np

from ..exceptions import DimensionError, ShapeMismatchError
from ._volume_header import format_affine

__all__ = ["check_mask", "require_3d", "require_4d"]


def _load(vol):
    from .volumes import load_volume  # volumes imports this module

    return load_volume(vol)


def _describe(vol):
    shape = "x".join(map(str, vol.shape))
    frames = f" ({vol.n_frames} frames)" if vol.ndim == 4 else ""
    return f"a {vol.ndim}D image of shape {shape}{frames}"


def require_3d(vol, what):
    """Return ``vol`` as a Volume, checking that it is 3D.

    Parameters
    ----------
    vol : Volume, path or nibabel image
    what : str
        What the image is for (named in the message), e.g. ``"the anatomy"``.

    Raises
    ------
    DimensionError
        "<what>: '<file>' is a 4D image ...; expected a 3D image ..."
    """
    vol = _load(vol)
    if vol.ndim != 3:
        raise DimensionError(
            f"{what}: '{vol.label}' is {_describe(vol)}; expected a 3D image "
            "(pick one frame, e.g. with nilearn.image.index_img, or a mean image)."
        )
    return vol


def require_4d(vol, what):
    """Return ``vol`` as a Volume, checking that it is 4D (a series of 3D frames).

    A file with a single frame counts as 3D.
    """
    vol = _load(vol)
    if vol.ndim != 4:
        raise DimensionError(
            f"{what}: '{vol.label}' is {_describe(vol)}; expected a 4D image "
            "(a series of 3D volumes with at least 2 frames)."
        )
    return vol


def check_mask(mask, data, *, mask_name=None, data_name=None):
    """Check that ``mask`` is a 3D image on the same voxel grid as ``data``.

    Parameters
    ----------
    mask, data : Volume, path or nibabel image
    mask_name, data_name : str, default=None
        Names used in messages (default: the file paths).

    Returns
    -------
    Volume
        The mask.

    Raises
    ------
    ShapeMismatchError
        Shapes (first 3 dims) or affines (within 1e-3 mm) differ.
    DimensionError
        The mask is 4D.
    """
    mask = _load(mask)
    data = _load(data)
    mask_label = mask_name or mask.label
    data_label = data_name or data.label
    require_3d(mask, f"mask '{mask_label}'")
    if mask.shape[:3] != data.shape[:3] or not np.allclose(mask.affine, data.affine, atol=1e-3):
        what = "shape" if mask.shape[:3] != data.shape[:3] else "affine"
        raise ShapeMismatchError(
            f"The mask '{mask_label}' does not match the data '{data_label}' ({what} differs): "
            f"mask shape {mask.shape[:3]}, data shape {data.shape[:3]}; mask affine "
            f"{format_affine(mask.affine)}, data affine {format_affine(data.affine)}. "
            "Expected the same voxel grid (shape and affine); resample the mask, e.g. "
            "nilearn.image.resample_to_img(mask, data, interpolation='nearest')."
        )
    return mask
