"""Header-level checks and geometry helpers for :mod:`brainviz.data.volumes`.

Validation of dimensions, data type and affine (with messages naming the
file), the affine-source rule, and lazy reshaping of trailing singleton
dimensions.
"""
import numpy as np

from ..exceptions import AffineError, DimensionError, UnsupportedDataError

__all__ = ["validate", "format_affine", "on_disk_dtype", "best_affine", "affine_source"]

_RGB_CODES = (128, 2304)  # NIfTI RGB24, RGBA32


def validate(img, label):
    """Check dimensions, data type and affine; return the image with trailing 1-dims dropped."""
    shape = tuple(int(s) for s in img.shape)
    if any(s <= 0 for s in shape) or len(shape) == 0:
        raise DimensionError(
            f"'{label}' has an invalid header: it announces dimensions {shape}; expected "
            "positive sizes for every axis (a 3D or 4D image)."
        )
    from ._volume_io import check_header_size

    check_header_size(img, label)
    dtype = on_disk_dtype(img)
    if dtype.kind == "c":
        raise UnsupportedDataError(
            f"'{label}' holds complex data ({dtype}): complex images are not supported; "
            "expected real-valued data (save the magnitude or phase as its own image)."
        )
    code = int(img.header["datatype"]) if "datatype" in getattr(img.header, "keys", list)() else 0
    if dtype.fields is not None or code in _RGB_CODES:
        raise UnsupportedDataError(
            f"'{label}' holds RGB colour data ({dtype}): RGB images are not supported; "
            "expected one scalar value per voxel."
        )
    new_shape = list(shape)
    while len(new_shape) > 3 and new_shape[-1] == 1:
        new_shape.pop()
    if len(new_shape) < 3:
        new_shape += [1] * (3 - len(new_shape))
    if len(new_shape) > 4:
        raise DimensionError(
            f"'{label}' is a {len(new_shape)}D image of shape {shape}: images with more than "
            "4 dimensions are not supported; expected a 3D volume or a 4D series."
        )
    affine = best_affine(img)
    if not np.all(np.isfinite(affine)):
        raise AffineError(
            f"'{label}' has a non-finite voxel-to-world affine (NaN or infinity); expected a "
            f"finite, invertible 4x4 matrix. Affine: {format_affine(affine)}"
        )
    det = float(np.linalg.det(affine[:3, :3]))
    scale = float(np.max(np.abs(affine[:3, :3]))) or 1.0
    if abs(det) <= 1e-8 * scale**3:
        raise AffineError(
            f"'{label}' has a singular voxel-to-world affine (determinant {det:g}); expected "
            f"an invertible matrix (non-zero voxel sizes). Affine: {format_affine(affine)}"
        )
    if tuple(new_shape) != shape:
        img = _reshaped(img, tuple(new_shape))
    elif img.affine is None:
        # nilearn needs an affine: make nibabel's default one explicit
        img = img.__class__(img.dataobj, affine, img.header)
    return img


def format_affine(affine):
    """One-line text of a 4x4 affine (messages stay on one line)."""
    rows = ("[" + ", ".join(f"{v:.4g}" for v in row) + "]" for row in np.asarray(affine))
    return "[" + ", ".join(rows) + "]"


def on_disk_dtype(img):
    try:
        return np.dtype(img.get_data_dtype())
    except Exception:  # in-memory images of unusual classes
        return np.dtype(getattr(img.dataobj, "dtype", np.float64))


def best_affine(img):
    affine = img.affine
    if affine is None:
        affine = img.header.get_best_affine()
    return np.asarray(affine, dtype=np.float64)


def affine_source(img):
    import nibabel as nib

    header = img.header
    if isinstance(header, nib.nifti1.Nifti1Header):
        # An in-memory affine that differs from the header's is what nibabel
        # writes as the sform on save. (Exact comparison: cheap, and files
        # loaded by nibabel match exactly.)
        if img.affine is not None and not np.array_equal(img.affine, header.get_best_affine()):
            return "sform"
        if int(header["sform_code"]) > 0:
            return "sform"
        if int(header["qform_code"]) > 0:
            return "qform"
        return "none"
    if isinstance(header, nib.freesurfer.mghformat.MGHHeader):
        return "header"
    return "none"


def _reshaped(img, shape):
    """Same image, new shape (only trailing singleton dims change), still lazy."""
    from ._volume_io import SqueezedProxy

    proxy = img.dataobj
    data = None
    if hasattr(proxy, "reshape"):
        try:
            data = proxy.reshape(shape)
        except TypeError:  # nibabel's AFNI proxy cannot be reshaped: stay lazy another way
            data = None
    if data is None:
        data = SqueezedProxy(proxy, shape) if hasattr(proxy, "__getitem__") and \
            not isinstance(proxy, np.ndarray) else np.reshape(np.asanyarray(proxy), shape)
    new = img.__class__(data, best_affine(img), img.header.copy())
    _copy_codes(img.header, new.header, best_affine(img))
    return new


def _copy_codes(src_header, dst_header, affine):
    """Keep sform/qform codes of ``src_header`` on ``dst_header`` (NIfTI only)."""
    import nibabel as nib

    nifti = nib.nifti1.Nifti1Header
    if not (isinstance(src_header, nifti) and isinstance(dst_header, nifti)):
        return
    scode, qcode = int(src_header["sform_code"]), int(src_header["qform_code"])
    dst_header.set_sform(affine, code=scode)
    dst_header.set_qform(affine, code=qcode)
