"""File checks and lazy array helpers for :mod:`brainviz.data.volumes`.

Kept apart so that ``volumes.py`` stays readable: path checks, the cheap
truncation test, read-error translation and the lazily re-oriented array
proxy.
"""
import os
import zlib
from pathlib import Path

import numpy as np

from ..exceptions import (
    EmptyFileError,
    ImageFileError,
    ImageNotFoundError,
    NotAFileError,
    TruncatedFileError,
    UnsupportedFormatError,
)

__all__ = [
    "EXPECTED_FORMATS",
    "check_path",
    "open_image",
    "check_data_size",
    "read_error",
    "ReorientedProxy",
    "strip_image_suffix",
]

EXPECTED_FORMATS = (
    "a NIfTI-1/2 (.nii, .nii.gz), Analyze (.hdr/.img) or MGH (.mgh, .mgz) image"
)
_SUFFIXES = (".nii.gz", ".nii", ".hdr.gz", ".img.gz", ".hdr", ".img", ".mgz", ".mgh", ".gz")

# Compressed files whose gzip trailer does not match the size the header
# announces are verified by decompressing them, up to this compressed size;
# bigger ones are checked when their data is first read.
_VERIFY_MAX_BYTES = 32 * 2**20


def strip_image_suffix(name):
    """``'sub-01_T1w.nii.gz'`` -> ``'sub-01_T1w'``."""
    lowered = name.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_gzip(path):
    return str(path).lower().endswith((".gz", ".mgz"))


def _companion(path):
    """The other file of an Analyze / NIfTI pair, or None."""
    name = path.name
    lowered = name.lower()
    for a, b in ((".hdr", ".img"), (".img", ".hdr")):
        for gz in ("", ".gz"):
            if lowered.endswith(a + gz):
                stem = name[: -len(a + gz)]
                upper = name[-len(a + gz):][1].isupper()
                return path.with_name(stem + (b.upper() if upper else b) + gz)
    return None


def check_path(path):
    """Raise a clear error if ``path`` cannot hold an image (missing, folder, empty)."""
    if not path.exists():
        raise ImageNotFoundError(
            f"Cannot open '{path}': no such file. Expected {EXPECTED_FORMATS} file."
        )
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise NotAFileError(
            f"Cannot open '{path}': it is {kind}. Expected {EXPECTED_FORMATS} file."
        )
    if path.stat().st_size == 0:
        raise EmptyFileError(
            f"Cannot open '{path}': the file is empty (0 bytes). Expected {EXPECTED_FORMATS}."
        )
    companion = _companion(path)
    if companion is not None and not companion.is_file():
        raise ImageNotFoundError(
            f"Cannot open '{path}': its companion file '{companion.name}' is missing. "
            "Expected an Analyze / NIfTI pair: a .hdr header next to its .img data file."
        )


def _gzip_stream_size(path, stop_after=None):
    """Decompress ``path`` in pieces; return (bytes seen, True if it ended cleanly).

    Stops early once ``stop_after`` bytes were produced. Handles multi-member
    gzip files. Raises ``zlib.error`` on corrupt data.
    """
    total = 0
    complete = False
    with open(path, "rb") as f:
        decomp = zlib.decompressobj(wbits=31)
        while True:
            block = f.read(2**20)
            if not block:
                return total, complete
            while block:
                if complete:  # another gzip member follows
                    decomp = zlib.decompressobj(wbits=31)
                    complete = False
                total += len(decomp.decompress(block))
                if stop_after is not None and total >= stop_after:
                    return total, True
                if decomp.eof:
                    complete = True
                    block = decomp.unused_data
                else:
                    block = b""


def open_image(path):
    """``nibabel.load`` with errors translated; keeps .gz files open for streaming."""
    import nibabel as nib

    kwargs = {"keep_file_open": True} if _is_gzip(path) else {}
    try:
        return nib.load(str(path), **kwargs)
    except Exception as exc:  # nibabel raises many types for bad files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if _is_gzip(path):
            try:
                size, complete = _gzip_stream_size(path)
            except (zlib.error, OSError):
                complete = True  # not (valid) gzip at all: a format problem
            if not complete:
                raise TruncatedFileError(
                    f"Cannot read '{path}': the compressed file is truncated (it ends after "
                    f"{size} bytes, before its header is complete). Expected a complete image "
                    "file; was the copy or download interrupted?"
                ) from exc
        raise UnsupportedFormatError(
            f"Cannot read '{path}': it is not {EXPECTED_FORMATS} that nibabel can read "
            f"({reason})."
        ) from exc


def _data_extent(img):
    """(data file path, bytes the header announces up to the end of the data) or None."""
    proxy = img.dataobj
    offset = getattr(proxy, "offset", None)
    if offset is None or not hasattr(proxy, "shape") or not hasattr(proxy, "dtype"):
        return None
    file_map = getattr(img, "file_map", {})
    holder = file_map.get("image")
    filename = getattr(holder, "filename", None)
    if filename is None:
        return None
    nbytes = int(np.prod(proxy.shape, dtype=np.int64)) * np.dtype(proxy.dtype).itemsize
    return Path(filename), int(offset) + nbytes


def check_data_size(img, label):
    """Detect a truncated file cheaply; return True if it must be re-checked on read.

    Uncompressed: the file size is compared with the offset plus the data
    size the header announces (exact). Gzip: the trailer's uncompressed size
    (modulo 2**32) is compared with the same figure; when they differ (a
    truncated file, or a valid multi-member / padded one) files up to 32 MB
    are verified by decompressing them, bigger ones on first data access.
    """
    extent = _data_extent(img)
    if extent is None:
        return False
    data_path, expected = extent
    if not _is_gzip(data_path):
        size = os.path.getsize(data_path)
        if size < expected:
            raise TruncatedFileError(
                f"'{label}' is truncated: its header announces {expected} bytes up to the end "
                f"of the image data but the file holds only {size}. Expected a complete file; "
                "was the copy or download interrupted?"
            )
        return False
    compressed = os.path.getsize(data_path)
    with open(data_path, "rb") as f:
        f.seek(max(compressed - 4, 0))
        trailer = int.from_bytes(f.read(4), "little")
    if trailer == expected % 2**32:
        return False
    if compressed > _VERIFY_MAX_BYTES:
        return True
    try:
        size, complete = _gzip_stream_size(data_path, stop_after=expected)
    except zlib.error as exc:
        raise ImageFileError(
            f"'{label}' is corrupt: its compressed data cannot be decoded ({exc}). "
            "Expected a valid gzip-compressed image."
        ) from exc
    if size < expected:
        raise TruncatedFileError(
            f"'{label}' is truncated: its header announces {expected} bytes of header and "
            f"image data but the compressed file holds only {size}. Expected a complete "
            "file; was the copy or download interrupted?"
        )
    return False


def read_error(label, exc):
    """Translate an exception raised while reading image data into a brainviz error."""
    if isinstance(exc, (EOFError, zlib.error)) or type(exc).__name__ == "ZranError" or (
        isinstance(exc, OSError) and ("Expected" in str(exc) or "damaged" in str(exc))
    ) or (
        # nibabel's own check, reached when indexed_gzip reads a short file without error
        isinstance(exc, ValueError) and "not enough data in file" in str(exc)
    ):
        return TruncatedFileError(
            f"'{label}' is truncated or corrupt: reading its image data failed ({exc}). "
            "Expected as many bytes as the header announces; was the copy or download "
            "interrupted?".replace("\n", " ")
        )
    return None


class ReorientedProxy:
    """A lazy array: another array (proxy) seen through an orientation transform.

    Reading one frame (``proxy[..., i]``) or a block of frames
    (``proxy[..., i:j]``) reads only those frames from the wrapped array and
    flips / transposes them in memory: re-orienting a 4D file to RAS never
    loads the whole series. Any other indexing reads the whole array first.

    Parameters
    ----------
    inner : array-like
        A nibabel array proxy or an array, 3D or 4D.
    transform : (3, 2) array
        nibabel orientation transform (``ornt_transform`` output).
    """

    is_proxy = True

    def __init__(self, inner, transform):
        self.inner = inner
        self.transform = np.asarray(transform)
        # Shape through the same transform, on a zero-stride dummy (no memory).
        self.shape = self._orient(np.broadcast_to(np.float32(0), tuple(inner.shape))).shape
        self.ndim = len(self.shape)
        self.dtype = getattr(inner, "dtype", np.dtype(np.float64))

    @property
    def slope(self):
        """Scaling of the wrapped proxy (nilearn reads it to choose a dtype)."""
        return getattr(self.inner, "slope", 1.0)

    @property
    def inter(self):
        return getattr(self.inner, "inter", 0.0)

    def _orient(self, arr):
        from nibabel.orientations import apply_orientation

        return apply_orientation(arr, self.transform)

    def __array__(self, dtype=None, copy=None):
        arr = self._orient(np.asanyarray(self.inner))
        return np.asarray(arr, dtype=dtype)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        spatial = key[:-1]
        full = spatial in ((Ellipsis,), (slice(None),) * 3)
        if self.ndim == 4 and len(key) >= 2 and full and isinstance(key[-1], (int, np.integer, slice)):
            return self._orient(np.asanyarray(self.inner[(Ellipsis, key[-1])]))
        if key in ((), (Ellipsis,), (slice(None),) * self.ndim):
            return self.__array__()
        return self.__array__()[key]
