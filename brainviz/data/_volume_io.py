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
    DimensionError,
    EmptyFileError,
    ImageFileError,
    ImageNotFoundError,
    MemoryLimitError,
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
    "SqueezedProxy",
    "strip_image_suffix",
    "check_allocation",
    "check_header_size",
    "data_bytes",
    "describe_non_volume",
]

EXPECTED_FORMATS = (
    "a NIfTI-1/2 (.nii, .nii.gz), Analyze (.hdr/.img) or MGH (.mgh, .mgz) image "
    "(or AFNI .HEAD/.BRIK, Philips PAR/REC, MINC)"
)
_SUFFIXES = (".nii.gz", ".nii", ".hdr.gz", ".img.gz", ".hdr", ".img", ".mgz", ".mgh",
             ".brik.gz", ".brik", ".head", ".par", ".rec", ".mnc", ".gz")

#: Files nibabel (or its sub-packages) can read that are not volumes, by suffix:
#: what they are and what to do instead.
_NOT_VOLUMES = (
    ((".gii", ".gii.gz"),
     "a GIfTI surface; open it as a surface (brainviz.data.load_surface, or "
     "brainviz.data.load_surface_data for values on a surface)"),
    ((".dconn.nii", ".dtseries.nii", ".dscalar.nii", ".dlabel.nii", ".pconn.nii",
      ".ptseries.nii", ".pscalar.nii", ".pdconn.nii", ".dpconn.nii", ".pconnseries.nii",
      ".pconnscalar.nii", ".dfan.nii", ".fiberTemp.nii"),
     "a CIFTI-2 file (data on grayordinates, not on a voxel grid); brainviz does not read "
     "CIFTI: use a volume (NIfTI) export of the data"),
    ((".trk", ".tck", ".trx"),
     "a tractography (streamlines) file; brainviz shows volumes, surfaces and connectomes, "
     "not streamlines"),
    ((".dcm", ".ima"),
     "a DICOM file; convert the series to NIfTI first (e.g. with dcm2niix)"),
    ((".v",),
     "an ECAT PET file; convert it to NIfTI first (e.g. nibabel.save(nibabel.ecat.load(path), "
     "'out.nii.gz'))"),
    ((".annot", ".label", ".curv", ".thickness", ".sulc", ".area", ".pial", ".white",
      ".inflated", ".sphere", ".orig", ".smoothwm"),
     "a FreeSurfer surface or surface-data file; open it as a surface "
     "(brainviz.data.load_surface, brainviz.data.load_surface_data)"),
)

# Image kinds stored as a header + data pair: (header suffix, data suffix, what).
_PAIRS = (
    (".hdr", ".img", "an Analyze / NIfTI pair: a .hdr header next to its .img data file"),
    (".par", ".rec", "a Philips PAR/REC pair: a .PAR header next to its .REC data file"),
    (".head", ".brik", "an AFNI pair: a +orig/+tlrc .HEAD header next to its .BRIK data file"),
)

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
    """``(the other file of a header + data pair, what the pair is)``, or ``(None, None)``.

    The companion is looked for with the case of ``path`` (``.PAR`` -> ``.REC``,
    ``.par`` -> ``.rec``), then with the other case; AFNI data may be gzipped
    (``.BRIK.gz``); an Analyze ``.hdr.gz`` goes with an ``.img.gz``.
    """
    name = path.name
    lowered = name.lower()
    for head, data, what in _PAIRS:
        for mine, other in ((head, data), (data, head)):
            for gz in ("", ".gz"):
                if not lowered.endswith(mine + gz):
                    continue
                if gz and mine not in (".hdr", ".img", ".brik"):
                    continue
                stem = name[: -len(mine + gz)]
                suffix = other.upper() if name[len(stem) + 1].isupper() else other
                if mine in (".hdr", ".img"):
                    other_gzs = (gz,)
                else:
                    other_gzs = ("", ".gz") if other == ".brik" else ("",)
                for candidate in (suffix, suffix.swapcase()):
                    for g in other_gzs:
                        found = path.with_name(stem + candidate + g)
                        if found.is_file():
                            return found, what
                return path.with_name(stem + suffix + other_gzs[0]), what
    return None, None


def describe_non_volume(path):
    """What a file that is not a volume is, from its name (or None when it may be one)."""
    lowered = str(path).lower()
    for suffixes, what in _NOT_VOLUMES:
        if lowered.endswith(tuple(s.lower() for s in suffixes)):
            return what
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
    companion, what = _companion(path)
    if companion is not None and not companion.is_file():
        raise ImageNotFoundError(
            f"Cannot open '{path}': its companion file '{companion.name}' is missing. "
            f"Expected {what}."
        )


class GzipStream:
    """A gzip file's inflated bytes, read into a caller's buffer: every member of a
    multi-member file (as bgzip writes them) in turn, 1 MiB of compressed data at a time
    (Python's gzip module of 3.11 loops in Python over 8 KiB chunks and copies each into
    a new bytes object). Corrupt data raise ``zlib.error``; a context manager."""

    CHUNK = 1 << 20

    def __init__(self, path):
        self._file = open(path, "rb", buffering=0)
        self._inflate = zlib.decompressobj(wbits=31)
        self._began = False  # the current member has been fed
        self._members = 0  # members read to their end
        self._tail = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    @property
    def complete(self):
        """Whether what was read so far ends with a whole member (at the end of the file:
        it was not cut short)."""
        return self._inflate.eof or (self._members > 0 and not self._began)

    def readinto(self, view):
        """Fill ``view``; return how many bytes were filled (fewer only at the end)."""
        pos, size = 0, len(view)
        while pos < size:
            if self._inflate.eof:  # a member ended: what follows it starts the next one
                self._members += 1
                self._tail = self._inflate.unused_data
                self._inflate = zlib.decompressobj(wbits=31)
                self._began = False
            if not self._tail:
                self._tail = self._file.read(self.CHUNK)
                if not self._tail:
                    return pos
            out = self._inflate.decompress(self._tail, size - pos)
            self._began = True
            self._tail = self._inflate.unconsumed_tail
            view[pos:pos + len(out)] = out
            pos += len(out)
        return pos


def _gzip_stream_size(path, stop_after=None):
    """Decompress ``path`` in pieces; return (bytes seen, True if it ended cleanly).

    Stops early once ``stop_after`` bytes were produced. Handles multi-member
    gzip files. Raises ``zlib.error`` on corrupt data.
    """
    total = 0
    buf = memoryview(bytearray(GzipStream.CHUNK))
    with GzipStream(path) as stream:
        while True:
            got = stream.readinto(buf)
            total += got
            if stop_after is not None and total >= stop_after:
                return total, True
            if got < len(buf):
                return total, stream.complete


def open_image(path):
    """``nibabel.load`` with errors translated; keeps .gz files open for streaming.

    Files nibabel opens that are not volumes (GIfTI surfaces, CIFTI-2 files,
    streamlines, DICOM, ...) give an :class:`UnsupportedFormatError` that says
    what the file is and what to do with it.
    """
    import nibabel as nib

    kwargs = {"keep_file_open": True} if _is_gzip(path) else {}
    not_volume = describe_non_volume(path)
    try:
        img = nib.load(str(path), **kwargs)
    except Exception as exc:  # nibabel raises many types for bad files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not_volume is not None:
            raise UnsupportedFormatError(f"Cannot open '{path}' as a volume: it is {not_volume}.") \
                from exc
        if isinstance(exc, ImportError) and str(path).lower().endswith(".mnc"):
            raise UnsupportedFormatError(
                f"Cannot read '{path}': it is a MINC2 image, which nibabel reads with the h5py "
                f"package ({reason}); install it (pip install h5py) or convert the file to NIfTI."
            ) from exc
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
    kind = _non_volume_kind(img)
    if kind is not None:
        raise UnsupportedFormatError(f"Cannot open '{path}' as a volume: it is {kind}.")
    return img


def _non_volume_kind(img):
    """What a loaded nibabel object that is not a volume is, or None for a volume."""
    import nibabel as nib

    name = type(img).__name__
    if name == "GiftiImage":
        return _NOT_VOLUMES[0][1]
    if name.startswith("Cifti"):
        return _NOT_VOLUMES[1][1]
    if not isinstance(img, nib.spatialimages.SpatialImage):
        return f"read by nibabel as a {name}, which is not a volume on a voxel grid"
    return None


def _n_voxels(shape):
    n = 1
    for size in shape:
        n *= int(size)  # Python integers: a corrupt header cannot overflow
    return n


def data_bytes(img, dtype=None):
    """Bytes the whole data of ``img`` take in ``dtype`` (default: its on-disk type)."""
    if dtype is None:
        try:
            dtype = img.get_data_dtype()
        except Exception:  # noqa: BLE001 - in-memory images of unusual classes
            dtype = getattr(img.dataobj, "dtype", np.float64)
    return _n_voxels(img.shape) * np.dtype(dtype).itemsize


def check_header_size(img, label):
    """Refuse a header whose sizes no file can hold (a corrupt or hostile header)."""
    n = _n_voxels(img.shape)
    if n * 16 >= 2**63:
        raise DimensionError(
            f"'{label}' has an invalid header: its dimensions {tuple(int(s) for s in img.shape)} "
            f"announce {n} voxels, more than any file can hold; the header is corrupt."
        )


def check_allocation(nbytes, label, what="reading it",
                     advice="crop or downsample it first (e.g. nilearn.image.resample_img)"):
    """Refuse, before allocating, to hold more than ``BRAINVIZ_MAX_MEMORY`` allows.

    Raises
    ------
    MemoryLimitError
        One line naming the file, the size needed, the limit and what to do.
    """
    from .. import _config
    from .._files import human_bytes

    limit = _config.get_max_memory()
    if nbytes > limit:
        raise MemoryLimitError(
            f"'{label}' is too big: {what} needs {human_bytes(nbytes)} of memory, more than the "
            f"{human_bytes(limit)} brainviz allows (BRAINVIZ_MAX_MEMORY; by default half the "
            f"available memory); {advice}, or raise BRAINVIZ_MAX_MEMORY."
        )


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
    nbytes = _n_voxels(proxy.shape) * np.dtype(proxy.dtype).itemsize
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


class SqueezedProxy:
    """A lazy array seen with its trailing singleton dimensions dropped.

    For array proxies whose own ``reshape`` fails (nibabel's AFNI proxy):
    indexing adds the dropped axes back (index 0) and reads only what is asked.
    """

    is_proxy = True

    def __init__(self, inner, shape):
        self.inner = inner
        self.shape = tuple(shape)
        self.ndim = len(self.shape)
        self.dtype = getattr(inner, "dtype", np.dtype(np.float64))
        self._extra = len(inner.shape) - self.ndim

    @property
    def slope(self):
        return getattr(self.inner, "slope", 1.0)

    @property
    def inter(self):
        return getattr(self.inner, "inter", 0.0)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(np.asanyarray(self.inner).reshape(self.shape), dtype=dtype)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is None for k in key) or sum(k is Ellipsis for k in key) > 1:
            return self.__array__()[key]
        if Ellipsis in key:
            i = key.index(Ellipsis)
            fill = self.ndim - (len(key) - 1)
            key = key[:i] + (slice(None),) * fill + key[i + 1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        return np.asanyarray(self.inner[key + (0,) * self._extra])
