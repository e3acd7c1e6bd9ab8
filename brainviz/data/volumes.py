"""Brain volumes: NIfTI-1/2, Analyze and MGH/MGZ images, 3D and 4D, read lazily.

:func:`load_volume` opens a file (or wraps a nibabel image) and returns a
:class:`Volume`. Opening reads the header only; the data stay on disk behind
nibabel's array proxy and are read one frame (or one block of frames) at a
time.

Geometry rule
-------------
The voxel-to-world affine (voxel indices ``(i, j, k)`` -> RAS+ millimetres) is
taken, for NIfTI, from the **sform** when ``sform_code > 0``, else from the
**qform** when ``qform_code > 0``, else nibabel's default affine built from
the voxel sizes (``affine_source == "none"``; then world positions are only
defined up to a shift and orientation is a guess). This is nibabel's
``get_best_affine`` rule. Analyze images have no orientation fields
(``"none"``); MGH images carry their own ``vox2ras`` matrix (``"header"``).
A singular or non-finite affine is an :class:`~brainviz.exceptions.AffineError`.

Memory
------
Reading a frame whole (:meth:`Volume.get_frame`, :meth:`Volume.get_data`) is
refused with a :class:`~brainviz.exceptions.MemoryLimitError` when it would
take more than ``BRAINVIZ_MAX_MEMORY`` (by default half the available memory;
see :func:`brainviz._config.get_max_memory`), estimated from the header before
anything is read. :meth:`Volume.robust_range`, :attr:`Volume.kind` and
:meth:`Volume.summary` never need the whole array: they read blocks of about
8 MB, whatever the image's size.

Axis-aligned images, whatever their storage order (RAS, LAS, LPS, ...), are
re-oriented to RAS by :meth:`Volume.as_ras` by flipping and transposing axes
(no resampling, still lazy). Oblique images (:attr:`Volume.is_oblique`) are
never treated as axis-aligned: :meth:`Volume.values_at` always uses the true
affine and :meth:`Volume.as_ras` resamples them onto an axis-aligned grid.

Values
------
Scaling (``scl_slope`` / ``scl_inter``) is applied by nibabel's array proxy on
every read. Frames are returned as float32. Non-finite values are ignored by
:meth:`Volume.robust_range`; an image without any finite value raises
:class:`~brainviz.exceptions.DataValueError` when its values are first needed
(``robust_range``, ``get_data``, ``kind``, ``summary``), not at load time, so
that opening a large file stays cheap.
"""
import threading
from collections import namedtuple
from os import PathLike
from pathlib import Path

import numpy as np

from ..exceptions import DataValueError, ParameterError
from . import _volume_header as _hdr
from . import _volume_io as _io
from ._volume_checks import check_mask, require_3d, require_4d
from ._volume_stats import KindStats, compute_robust_range

__all__ = ["Volume", "ValueRange", "load_volume", "check_mask", "require_3d", "require_4d"]

ValueRange = namedtuple("ValueRange", ["min", "max", "low", "high"])
ValueRange.__doc__ = """Range of the finite values of a volume.

Fields: ``min``, ``max`` and the ``low`` / ``high`` percentiles (exact,
numpy's "linear" method, over every voxel of every frame).
"""

_RAS = np.array([[0, 1], [1, 1], [2, 1]])
_OBLIQUE_TOL = 1e-3
_CHUNK_BYTES = 8 * 2**20  # robust_range and kind read this much float32 data at a time


def load_volume(src, *, name=None):
    """Open a brain image lazily (header only) and return a :class:`Volume`.

    Parameters
    ----------
    src : str, path-like, nibabel image or Volume
        A NIfTI-1/2 (``.nii``, ``.nii.gz``), Analyze (``.hdr``/``.img``) or
        MGH (``.mgh``, ``.mgz``) file (also what nibabel reads as a volume:
        AFNI ``+orig.HEAD``/``.BRIK``, Philips PAR/REC, MINC1), an in-memory
        nibabel image, or a :class:`Volume` (returned as is). Other files
        nibabel opens (GIfTI, CIFTI-2, streamlines, DICOM...) are refused with
        a line saying what they are.
    name : str, default=None
        Display name; by default the file name without its extension.

    Returns
    -------
    Volume

    Raises
    ------
    ImageNotFoundError, NotAFileError, EmptyFileError, TruncatedFileError,
    UnsupportedFormatError
        The path cannot be read as an image (the message names the file).
    DimensionError
        Zero or negative sizes, or more than 4 non-singleton dimensions.
    UnsupportedDataError
        Complex or RGB data.
    AffineError
        Singular or non-finite voxel-to-world affine.

    Notes
    -----
    A 4D image with a single frame (trailing dimension of 1) is a 3D volume.
    Nothing is written anywhere, on success or failure.
    """
    import nibabel as nib

    if isinstance(src, Volume):
        return src
    if isinstance(src, nib.spatialimages.SpatialImage):
        filename = src.get_filename()
        path = Path(filename) if filename else None
        img = src
    elif isinstance(src, (str, PathLike)):
        path = Path(src).expanduser()
        _io.check_path(path)
        img = _io.open_image(path)
    else:
        raise ParameterError(
            "load_volume expects a file path, a nibabel image or a Volume; "
            f"got {type(src).__name__}."
        )
    label = str(path) if path is not None else (name or "<in-memory image>")
    checked = _hdr.validate(img, label)
    if path is not None:
        # Bigger gzip files whose size cannot be checked cheaply are checked
        # on first read: Volume._read turns read errors into TruncatedFileError.
        _io.check_data_size(img, label)
    if name is None:
        name = _io.strip_image_suffix(path.name) if path is not None else "image"
    return Volume(checked, path=path, name=name)


def _picklable_proxy(dataobj):
    """The same lazy array proxy, without the open file handle kept for streaming.

    ``.nii.gz`` files are opened with ``keep_file_open=True`` so that reading
    frames in order does not restart decompression; such a proxy holds an open
    file and cannot be pickled or deep-copied, which nilearn and joblib need.
    """
    import nibabel as nib

    if not isinstance(dataobj, nib.arrayproxy.ArrayProxy) or not getattr(
        dataobj, "_keep_file_open", False
    ):
        return dataobj
    spec = (dataobj.shape, dataobj.dtype, dataobj.offset, dataobj.slope, dataobj.inter)
    return nib.arrayproxy.ArrayProxy(
        dataobj.file_like, spec, order=dataobj.order, keep_file_open=False
    )



#: The MNI152 template's field of view in mm, (lowest corner, highest corner).
MNI152_BOX = (np.array([-90.0, -126.0, -72.0]), np.array([91.0, 91.0, 109.0]))


def in_mni_box(xyz_mm, margin=20.0):
    """Whether every point (n, 3) in mm lies in :data:`MNI152_BOX`, give or take ``margin``
    mm (what a template-space image or atlas does, and a scanner's native space need not)."""
    xyz = np.asarray(xyz_mm, dtype=float).reshape(-1, 3)
    lo, hi = MNI152_BOX
    return bool(len(xyz)) and bool(np.all((xyz >= lo - margin) & (xyz <= hi + margin)))


class Volume:
    """A brain image opened lazily; use :func:`load_volume` to make one.

    Attributes
    ----------
    img : nibabel image
        The underlying image (lazy array proxy). Trailing singleton
        dimensions are already dropped.
    path : pathlib.Path or None
        The file, or ``None`` for in-memory images.
    name : str
        File name without extension, or the given name.
    shape : tuple of int
        3 or 4 sizes.
    ndim, n_frames : int
        3 or 4; number of frames (1 for 3D).
    affine : (4, 4) np.ndarray
        Voxel ``(i, j, k)`` -> world mm (RAS+); see the module docstring for the rule.
    affine_source : str
        ``"sform"``, ``"qform"``, ``"header"`` (MGH vox2ras) or ``"none"``.
    voxel_size : (3,) np.ndarray
        Voxel edge lengths in mm, from the affine (column norms).
    orientation : tuple of str
        Axis codes, e.g. ``("L", "A", "S")`` (closest axes when oblique).
    is_oblique : bool
        True when a voxel axis is not parallel to a world axis (cosine off by more than 1e-3).
    units : (str, str)
        Space and time units from the header (``"unknown"`` when not recorded).
    tr : float or None
        Repetition time in seconds for 4D images (header time unit ``msec`` or
        ``usec`` converted; ``unknown`` read as seconds), else ``None``.
    dtype : np.dtype
        On-disk data type (before scaling).
    resampled : bool
        True for the output of :meth:`as_ras` on an oblique volume.
    """

    def __init__(self, img, *, path=None, name="image", resampled=False):
        self.img = img
        self.path = None if path is None else Path(path)
        self.name = str(name)
        self.shape = tuple(int(s) for s in img.shape)
        self.ndim = len(self.shape)
        self.n_frames = self.shape[3] if self.ndim == 4 else 1
        self.affine = _hdr.best_affine(img)
        self.affine_source = _hdr.affine_source(img)
        self.dtype = _hdr.on_disk_dtype(img)
        self.resampled = bool(resampled)
        self._lock = threading.RLock()
        self._ranges = {}
        self._kind = None
        self._frame_cache = None

        from nibabel.affines import voxel_sizes
        from nibabel.orientations import aff2axcodes

        self.voxel_size = np.asarray(voxel_sizes(self.affine), dtype=float)
        self.orientation = tuple(aff2axcodes(self.affine))
        cosines = self.affine[:3, :3] / self.voxel_size
        off_axis = np.sort(np.abs(cosines), axis=0)[:2]  # the two smaller entries per column
        self.is_oblique = bool(np.any(off_axis > _OBLIQUE_TOL))
        self.units, self.tr = self._units_and_tr()

    # --- header-derived -------------------------------------------------------
    def _units_and_tr(self):
        header = self.img.header
        try:
            units = tuple(header.get_xyzt_units())
        except AttributeError:
            units = ("mm", "msec") if "tr" in getattr(header, "keys", list)() else ("unknown", "unknown")
        except (KeyError, ValueError):  # a code the NIfTI standard does not define
            units = ("unknown", "unknown")
        if self.ndim != 4:
            return units, None
        if "tr" in getattr(header, "keys", list)():  # MGH: TR in milliseconds
            tr = float(header["tr"]) / 1000.0
        else:
            zooms = header.get_zooms()
            tr = float(zooms[3]) if len(zooms) > 3 else 0.0
            tr *= {"msec": 1e-3, "usec": 1e-6}.get(units[1], 1.0)
        return units, (tr if np.isfinite(tr) and tr > 0 else None)

    @property
    def label(self):
        """The file path as a string, or the name for in-memory images (used in messages)."""
        return str(self.path) if self.path is not None else self.name

    @property
    def format(self):
        """Human name of the file format (``"NIfTI-1"``, ``"NIfTI-2"``, ``"Analyze"``, ``"MGH"``,
        ``"AFNI (HEAD/BRIK)"``, ``"Philips PAR/REC"``, ``"MINC1"``)."""
        import nibabel as nib

        header = self.img.header
        if isinstance(header, nib.nifti2.Nifti2Header):
            return "NIfTI-2"
        if isinstance(header, nib.nifti1.Nifti1Header):
            return "NIfTI-1"
        if isinstance(header, nib.freesurfer.mghformat.MGHHeader):
            return "MGH"
        if isinstance(header, nib.analyze.AnalyzeHeader):
            return "Analyze"
        names = {"AFNIImage": "AFNI (HEAD/BRIK)", "PARRECImage": "Philips PAR/REC",
                 "Minc1Image": "MINC1", "Minc2Image": "MINC2"}
        return names.get(type(self.img).__name__, type(self.img).__name__)

    def __repr__(self):
        shape = "x".join(map(str, self.shape))
        return f"<Volume {self.name!r} {shape} {''.join(self.orientation)} {self.dtype}>"

    # --- data access -----------------------------------------------------------
    def _read(self, key):
        try:
            return np.asanyarray(self.img.dataobj[key])
        except Exception as exc:
            translated = _io.read_error(self.label, exc)
            if translated is not None:
                raise translated from exc
            raise

    def check_frame_memory(self):
        """Raise MemoryLimitError now if reading one frame would pass the memory limit.

        Estimated from the header (nothing is read): one frame as float32 plus
        its on-disk copy.
        """
        voxels = int(np.prod(self.shape[:3], dtype=object))
        _io.check_allocation(voxels * (4 + self.dtype.itemsize), self.label,
                             f"reading one {'x'.join(map(str, self.shape[:3]))} frame as float32")

    def check_drawable(self, max_extent_mm=1e5):
        """Raise now if this volume cannot be drawn: frames too big, or not brain-sized.

        A header with absurd voxel sizes (1e30 mm) gives a world extent no
        camera can frame: the figure would be blank. Checked from the header.
        """
        from ..exceptions import AffineError

        self.check_frame_memory()
        extent = np.abs(self.affine[:3, :3]) @ np.asarray(self.shape[:3], dtype=float)
        if not np.all(np.isfinite(extent)) or extent.max() > max_extent_mm or \
                self.voxel_size.min() < 1e-6:
            vox = " x ".join(f"{v:.4g}" for v in self.voxel_size)
            raise AffineError(
                f"'{self.label}' has voxels of {vox} mm, a field of view of {extent.max():.4g} mm: "
                f"expected a brain-sized image (voxels above 1e-6 mm, at most {max_extent_mm:g} mm "
                "across); check the header's voxel sizes (pixdim) and affine."
            )

    def get_frame(self, index=0):
        """Return one 3D frame as float32, scaled, reading only that frame.

        Parameters
        ----------
        index : int, default=0
            Frame index (negative counts from the end). Must be 0 for a 3D volume.

        Returns
        -------
        np.ndarray of float32, shape ``shape[:3]``

        Notes
        -----
        Uncompressed files are read at the frame's offset. ``.nii.gz`` files
        are kept open and decompressed sequentially: reading frames in order
        is cheap, jumping back restarts decompression from the beginning
        (nibabel uses ``indexed_gzip`` for fast random access when installed).
        """
        index = self._check_frame(index)
        self.check_frame_memory()
        if self.ndim == 3:
            data = self._read(())
            if isinstance(self.img.dataobj, np.ndarray) and np.shares_memory(data, self.img.dataobj):
                # never hand out a view on an in-memory image's own array
                return np.array(data, dtype=np.float32)
        else:
            cached = getattr(self, "_series_cache", None)
            if cached is not None:  # the whole series is in memory (time courses): no reading
                return np.array(cached[..., index])
            data = self._read((Ellipsis, index))
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: inf, not finite
            return np.asarray(data, dtype=np.float32)

    def _check_frame(self, index):
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise ParameterError(f"The frame index must be an integer; got {index!r}.") from None
        if not -self.n_frames <= index < self.n_frames:
            raise ParameterError(
                f"Frame {index} is out of range for '{self.label}', which has "
                f"{self.n_frames} frame(s); expected 0 <= index < {self.n_frames}."
            )
        return index % self.n_frames

    def get_data(self):
        """Return the 3D data as float32 (scaled).

        Raises
        ------
        DimensionError
            The volume is 4D with more than one frame.
        DataValueError
            No value is finite (all NaN).
        """
        require_3d(self, "get_data()")
        data = self.get_frame(0)
        if not np.isfinite(data).any():
            raise self._all_nan_error()
        return data

    def _all_nan_error(self):
        return DataValueError(
            f"'{self.label}' holds no finite value (all voxels are NaN or infinite); expected "
            "an image with at least one finite value."
        )

    def _block_keys(self, overlap=False):
        """Index keys that read the data in file order, each at most about one chunk.

        Yields ``(key, core)``: ``core`` is the size of the block's own voxels
        (3D blocks), or ``None`` for a block of whole frames. Several small
        frames go in one block; a frame bigger than a chunk is read in slabs of
        planes, and a plane bigger than a chunk in rows. With ``overlap``, a
        3D block also holds the next row and plane (for neighbour statistics).
        """
        nx, ny, nz = self.shape[:3]
        nt = self.n_frames
        plane = nx * ny * 4
        frame = plane * nz
        if isinstance(self.img.dataobj, _io.ReorientedProxy):
            # reads whole frames only (it re-orients them in memory)
            for t in range(nt):
                yield ((Ellipsis, t) if self.ndim == 4 else ()), (nx, ny, nz)
            return
        if self.ndim == 4 and not overlap and frame <= _CHUNK_BYTES:
            step = max(1, _CHUNK_BYTES // max(frame, 1))
            for t in range(0, nt, step):
                yield (Ellipsis, slice(t, min(t + step, nt))), None
            return
        for t in range(nt):
            tail = (t,) if self.ndim == 4 else ()
            if plane <= _CHUNK_BYTES:
                dk = max(1, _CHUNK_BYTES // plane - (1 if overlap else 0))
                for k0 in range(0, nz, dk):
                    k1 = min(k0 + dk, nz)
                    ek = 1 if overlap and k1 < nz else 0
                    yield (slice(None), slice(None), slice(k0, k1 + ek)) + tail, (nx, ny, k1 - k0)
            else:
                dj = max(1, _CHUNK_BYTES // (nx * 4 * (2 if overlap else 1)) - 1)
                for k in range(nz):
                    ek = 1 if overlap and k + 1 < nz else 0
                    for j0 in range(0, ny, dj):
                        j1 = min(j0 + dj, ny)
                        ej = 1 if overlap and j1 < ny else 0
                        yield ((slice(None), slice(j0, j1 + ej), slice(k, k + 1 + ek)) + tail,
                               (nx, j1 - j0, 1))

    def _block(self, key):
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: inf, not finite
            return np.asarray(self._read(key), dtype=np.float32)

    def _chunks(self):
        """Callable yielding the whole data in blocks (for two-pass statistics).

        Memory stays about one chunk whatever the image's size; small images
        (up to four chunks) are read once and passed over twice.
        """
        keys = [key for key, _ in self._block_keys()]
        if int(np.prod(self.shape, dtype=object)) * 4 <= 4 * _CHUNK_BYTES:
            blocks = [self._block(key) for key in keys]
            return lambda: iter(blocks)

        def generate():
            for key in keys:
                yield self._block(key)

        return generate

    def robust_range(self, percentiles=(2, 98)):
        """Range of the finite values, computed once per ``percentiles`` and cached.

        Exact (same as ``numpy.nanpercentile`` with the default "linear"
        method on the float32 values), computed over every voxel of every
        frame, one block of frames at a time (two passes, constant memory;
        see :mod:`brainviz.data._volume_stats`). NaN and infinite values are
        ignored.

        Parameters
        ----------
        percentiles : (float, float), default=(2, 98)
            Low and high percentiles, 0 <= low <= high <= 100.

        Returns
        -------
        ValueRange
            ``(min, max, low, high)``.

        Raises
        ------
        DataValueError
            No value is finite.
        """
        try:
            low, high = (float(p) for p in percentiles)
        except (TypeError, ValueError):
            raise ParameterError(
                f"percentiles must be two numbers (low, high); got {percentiles!r}."
            ) from None
        if not 0 <= low <= high <= 100:
            raise ParameterError(
                f"percentiles must satisfy 0 <= low <= high <= 100; got {percentiles!r}."
            )
        key = (low, high)
        with self._lock:
            if key not in self._ranges:
                vmin, vmax, (vlow, vhigh), n = compute_robust_range(self._chunks(), key)
                if n == 0:
                    raise self._all_nan_error()
                self._ranges[key] = ValueRange(vmin, vmax, vlow, vhigh)
            return self._ranges[key]

    def cached_range(self, percentiles=(2, 98)):
        """:meth:`robust_range` when it has been computed already, else None: never
        reads the data (a readout on a long 4D run must not pass over all its frames)."""
        with self._lock:
            return self._ranges.get(tuple(float(p) for p in percentiles))

    @property
    def kind(self):
        """Guess of what the image holds (see :func:`brainviz.data._volume_stats.guess_kind`).

        One of ``"anatomy"``, ``"statistical map"``, ``"4D series"``,
        ``"label image"``, ``"mask"``. Reads the data of a 3D volume once.
        """
        with self._lock:
            if self._kind is None:
                if self.n_frames > 1:
                    self._kind = "4D series"
                else:
                    # block by block: never the whole volume in memory
                    stats = KindStats()
                    for key, core in self._block_keys(overlap=True):
                        stats.add(self._block(key), core)
                    if stats.n_finite == 0:
                        raise self._all_nan_error()
                    name = self.path.name if self.path is not None else self.name
                    self._kind = stats.kind(name)
            return self._kind

    # --- geometry ----------------------------------------------------------------
    def voxel_at(self, xyz_mm):
        """Voxel indices (i, j, k) of the voxel whose centre is nearest to a world point (mm),
        through the true affine; None when the point lies outside the image."""
        ijk = nib_apply(np.linalg.inv(self.affine), np.asarray(xyz_mm, dtype=float).reshape(3))
        idx = np.round(ijk).astype(int)
        if np.any(idx < 0) or np.any(idx >= np.asarray(self.shape[:3])):
            return None
        return tuple(int(v) for v in idx)

    def voxel_centre(self, ijk):
        """World position (mm) of the centre of voxel ``ijk``."""
        return tuple(float(v) for v in nib_apply(self.affine, np.asarray(ijk, dtype=float)))

    def peak(self, which="max", frame=0):
        """World position (mm) of the voxel holding the largest value (``"max"``), the smallest
        (``"min"``) or the largest absolute value (``"abs"``) of a frame; NaNs ignored."""
        if which not in ("max", "min", "abs"):
            raise ParameterError(f"which must be 'max', 'min' or 'abs'; got {which!r}")
        data = np.asarray(self.get_frame(frame), dtype=float)
        data = np.where(np.isfinite(data), data, np.nan)
        if np.all(np.isnan(data)):
            raise self._all_nan_error()
        score = {"max": data, "min": -data, "abs": np.abs(data)}[which]
        index = np.unravel_index(int(np.nanargmax(score)), data.shape)
        return self.voxel_centre(index)

    def timecourse_at(self, xyz_mm):
        """The values of every frame at the voxel nearest a world point (mm); None outside.

        Reads only that voxel's series from the file (a 4D proxy slice)."""
        ijk = self.voxel_at(xyz_mm)
        if ijk is None:
            return None
        i, j, k = ijk
        if self.ndim < 4:
            return np.asarray([float(self.get_frame(0)[i, j, k])])
        with self._lock:
            series = self._series()
            if series is not None:
                return np.asarray(series[i, j, k, :], dtype=float)
            return np.asarray(self._read((i, j, k, slice(None))), dtype=float).ravel()

    #: A 4D series smaller than this (float32 bytes) is kept in memory after its first time
    #: course: from a compressed file, one voxel's series means reading the whole file.
    SERIES_CACHE_BYTES = 1_500_000_000

    def series_ready(self):
        """Whether :meth:`timecourse_at` answers without first reading the whole series
        into memory (what its first call on a 4D image that fits the cache does)."""
        if self.ndim < 4 or getattr(self, "_series_cache", None) is not None:
            return True
        return int(np.prod(self.shape)) * 4 > self.SERIES_CACHE_BYTES

    def load_series(self):
        """Read the whole series into memory now, as the first :meth:`timecourse_at` would
        (the window does it on a thread of its own, then draws the time courses)."""
        with self._lock:
            self._series()

    def _series(self):
        cached = getattr(self, "_series_cache", None)
        if cached is not None:
            return cached
        if int(np.prod(self.shape)) * 4 > self.SERIES_CACHE_BYTES:
            return None
        data = np.empty(self.shape, dtype=np.float32)
        for t in range(self.n_frames):
            data[..., t] = self.get_frame(t)
        self._series_cache = data
        return data

    def in_mni_space(self):
        """True when the image says it is in MNI space (sform or qform code 4), or its
        bounding box lies within the MNI152 box give or take 20 mm (a template-space map
        without the code)."""
        header = self.img.header
        for name in ("sform_code", "qform_code"):
            try:
                if int(header[name]) == 4:
                    return True
            except (KeyError, TypeError, ValueError):
                pass
        corners = np.array([[i, j, k] for i in (0, self.shape[0] - 1)
                            for j in (0, self.shape[1] - 1) for k in (0, self.shape[2] - 1)])
        xyz = nib_apply(self.affine, corners)
        lo, hi = xyz.min(axis=0), xyz.max(axis=0)
        mni_lo, mni_hi = MNI152_BOX
        return bool(in_mni_box(xyz) and np.all(hi - lo >= 0.5 * (mni_hi - mni_lo)))

    def values_at(self, xyz_mm, frame=0, order=1):
        """Values at world positions (mm, RAS+), through the true affine.

        Parameters
        ----------
        xyz_mm : array-like, shape (n, 3) or (3,)
            World coordinates in millimetres.
        frame : int, default=0
            Frame of a 4D volume.
        order : int, default=1
            Interpolation order (0 nearest, 1 trilinear) for
            ``scipy.ndimage.map_coordinates``.

        Returns
        -------
        np.ndarray, shape (n,)
            NaN for positions outside the image (more than half a voxel
            beyond the outer voxel centres).
        """
        from scipy.ndimage import map_coordinates

        xyz = np.asarray(xyz_mm, dtype=float)
        if xyz.ndim == 1:
            xyz = xyz[None, :]
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ParameterError(
                f"xyz_mm must be an (n, 3) array of world coordinates; got shape {np.shape(xyz_mm)}."
            )
        index = self._check_frame(frame)
        with self._lock:
            if self._frame_cache is None or self._frame_cache[0] != index:
                self._frame_cache = (index, self.get_frame(index))
            data = self._frame_cache[1]
        ijk = (np.linalg.inv(self.affine) @ np.c_[xyz, np.ones(len(xyz))].T)[:3]
        size = np.asarray(self.shape[:3], dtype=float)[:, None]
        inside = np.all((ijk >= -0.5) & (ijk <= size - 0.5), axis=0)
        clipped = np.clip(ijk, 0, size - 1)
        values = map_coordinates(data, clipped, order=order, mode="nearest", prefilter=order > 1)
        values = values.astype(float)
        values[~inside] = np.nan
        return values

    def as_ras(self):
        """Return this volume in RAS+ voxel order.

        Axis-aligned volumes are flipped / transposed (exact, no
        interpolation, still lazy: frames are re-oriented when read). The
        result's affine has a positive diagonal. Oblique volumes are
        resampled with :func:`nilearn.image.resample_img` onto an
        axis-aligned RAS grid enclosing the whole image, with the same voxel
        sizes ("nearest" interpolation for masks and label images,
        "continuous" otherwise; 4D series are loaded to do so).
        """
        cached = getattr(self, "_ras_volume", None)
        if cached is not None:  # one reoriented volume per volume: its frame caches are kept
            return cached
        self._ras_volume = self._make_ras()
        return self._ras_volume

    def _make_ras(self):
        import nibabel as nib
        from nibabel.orientations import axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform

        if self.is_oblique:
            return self._resampled_ras()
        ornt = io_orientation(self.affine)
        if np.array_equal(ornt, _RAS):
            return self
        transform = ornt_transform(ornt, axcodes2ornt(("R", "A", "S")))
        new_affine = self.affine @ inv_ornt_aff(transform, self.shape)
        proxy = _io.ReorientedProxy(self.img.dataobj, transform)
        header = self._nifti_header()
        new = nib.Nifti1Image(proxy, new_affine, header)
        codes = (int(header["sform_code"]), int(header["qform_code"]))
        new.header.set_sform(new_affine, code=codes[0] or (2 if self.affine_source != "none" else 0))
        new.header.set_qform(new_affine, code=codes[1])
        dim_info = header.get_dim_info()
        new.header.set_dim_info(
            *[None if d is None else int(transform[d, 0]) for d in dim_info]
        )
        volume = Volume(new, path=self.path, name=self.name)
        volume.affine_source = self.affine_source
        return volume

    def _nifti_header(self):
        import nibabel as nib

        header = self.img.header
        if isinstance(header, nib.nifti1.Nifti1Header):
            return header.copy()
        new = nib.Nifti1Header()
        new.set_data_dtype(self.dtype)
        new.set_data_shape(self.shape)
        if self.tr is not None:
            new.set_xyzt_units("mm", "sec")
            new.set_zooms(tuple(self.voxel_size) + (self.tr,))
        else:
            new.set_xyzt_units("mm")
        return new

    def _resampled_ras(self):
        from nilearn.image import resample_img

        # Voxel sizes in the order of the closest world axes.
        from nibabel.orientations import io_orientation

        ornt = io_orientation(self.affine)
        sizes = np.empty(3)
        for axis, (world, _) in enumerate(ornt):
            sizes[int(world)] = self.voxel_size[axis]
        interpolation = "nearest" if self.n_frames == 1 and self.kind in ("mask", "label image") else "continuous"
        _io.check_allocation(int(np.prod(self.shape, dtype=object)) * 4 * 3, self.label,
                             "resampling this oblique image onto an axis-aligned grid")
        new = resample_img(
            self.to_image(), target_affine=np.diag(sizes), interpolation=interpolation,
            force_resample=True, copy_header=True,
        )
        volume = Volume(new, path=self.path, name=self.name, resampled=True)
        volume.affine_source = self.affine_source
        return volume

    def to_image(self):
        """Return a NIfTI image for nilearn: ``img`` itself when it is NIfTI, else a lazy conversion."""
        import nibabel as nib

        dataobj = _picklable_proxy(self.img.dataobj)
        if isinstance(self.img, (nib.Nifti1Image, nib.Nifti2Image)):
            if dataobj is self.img.dataobj:
                return self.img
            # the same file's image: a job keys it by the file (path, size, time), not by
            # hashing every voxel at each start (a .nii.gz opened in the window), and says
            # which file it read
            return type(self.img)(dataobj, self.img.affine, self.img.header,
                                  file_map=self.img.file_map)
        return nib.Nifti1Image(dataobj, self.affine, self._nifti_header())

    # --- text ---------------------------------------------------------------------
    def summary(self):
        """Multi-line human summary: shape, voxel size, orientation, dtype, range, kind, ...

        Computes :meth:`robust_range` (reads every frame once, twice for big
        4D files) and :attr:`kind`.
        """
        shape = " x ".join(map(str, self.shape))
        dims = f"4D, {self.n_frames} frames" if self.ndim == 4 else "3D"
        vox = " x ".join(f"{v:.4g}" for v in self.voxel_size)
        orient = "".join(self.orientation)
        orient += " (oblique; closest axes)" if self.is_oblique else " (axis-aligned)"
        if self.resampled:
            orient += ", resampled from an oblique grid"
        dtype = str(self.dtype)
        slope, inter = _scaling(self.img)
        if slope is not None:
            dtype += f" (scaled: slope {slope:g}, intercept {inter:g})"
        rng = self.robust_range()
        lines = [
            self.path.name if self.path is not None else self.name,
            f"  file:          {self.path}" if self.path is not None else "  file:          (in memory)",
            f"  format:        {self.format}",
            f"  shape:         {shape} ({dims})",
            f"  voxel size:    {vox} mm",
            f"  orientation:   {orient}",
            f"  affine source: {self.affine_source}",
            f"  dtype:         {dtype}",
            # "+ 0.0" prints -0.0 as 0
            f"  value range:   min {rng.min + 0.0:.6g}, max {rng.max + 0.0:.6g}, "
            f"2-98%: {rng.low + 0.0:.6g} .. {rng.high + 0.0:.6g}",
            f"  kind:          {self.kind}",
        ]
        if self.ndim == 4:
            lines.append(f"  TR:            {self.tr:g} s" if self.tr else "  TR:            unknown")
        return "\n".join(lines)


def nib_apply(affine, points):
    """``affine`` applied to (n, 3) or (3,) points."""
    from nibabel.affines import apply_affine

    return apply_affine(affine, points)


def _scaling(img):
    slope = getattr(img.dataobj, "slope", None)
    inter = getattr(img.dataobj, "inter", None)
    if slope is None or (slope == 1 and (inter or 0) == 0):
        return None, None
    return float(slope), float(inter or 0)


# --- checks ------------------------------------------------------------------------
