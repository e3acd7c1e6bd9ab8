"""Input handling shared by the jobs: images, fingerprints, labels files.

A fingerprint is a small, hashable description of an input that changes when
the input changes: ``("file", path, size, mtime_ns)`` for an image read from
disk, ``("array", content hash, affine hash, shape)`` for one held in memory.
Cached steps take the fingerprint as their key and ignore the image itself,
so an identical rerun never re-reads or re-hashes a gigabyte of data.
"""
import collections
import contextlib
import csv
import os
import threading
from pathlib import Path

import numpy as np

from ..exceptions import (
    DimensionError,
    ImageNotFoundError,
    ParameterError,
    ShapeMismatchError,
    UnsupportedFormatError,
)

__all__ = [
    "as_image",
    "as_image_list",
    "image_fingerprint",
    "image_name",
    "check_same_grid",
    "read_labels",
    "read_events",
    "events_to_labels",
]


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


#: the image files read lately (their nibabel images, never handed out), by file identity
#: (path, device, inode, size, modification time): a job's start reads every input's
#: header (0.4 ms a file with nibabel's checks; a small multi-member .nii.gz inflated
#: whole to check its length), and the next job on the same files (a subject added, a
#: parameter changed, in the window or a script) read them all again
_READ_IMAGES = collections.OrderedDict()
_READ_IMAGES_LOCK = threading.Lock()
_READ_IMAGES_MAX = 1024


def _file_identity(path):
    """(path, device, inode, size, modification time) of ``path``, or None when it is not
    there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _copy_of(img):
    """A new image of ``img``'s file (the same proxy, header and affine, no data read):
    what :func:`as_image` hands out, so nothing a caller does to it (nibabel keeps the
    data ``get_fdata`` reads) stays with the one kept."""
    return type(img)(img.dataobj, img.affine, img.header, extra=img.extra,
                     file_map=img.file_map)


def as_image(src, what="image"):
    """Return a nibabel image from a path, a nibabel image or a brainviz Volume.

    A file read before, unchanged since (the same path, device, inode, size and
    modification time), is not read again: its header comes from the last read.
    """
    import nibabel as nib

    if _is_path(src):
        path = Path(src)
        identity = _file_identity(path)
        if identity is None:
            raise ImageNotFoundError(f"The {what} file {path} does not exist.")
        with _READ_IMAGES_LOCK:
            known = _READ_IMAGES.get(identity)
            if known is not None:
                _READ_IMAGES.move_to_end(identity)
        if known is not None:
            return _copy_of(known)
        img = _read_image(path, what)
        if type(img) in (nib.Nifti1Image, nib.Nifti2Image):
            with _READ_IMAGES_LOCK:
                _READ_IMAGES[identity] = img
                while len(_READ_IMAGES) > _READ_IMAGES_MAX:
                    _READ_IMAGES.popitem(last=False)
            return _copy_of(img)
        return img
    if hasattr(src, "to_image"):  # brainviz Volume
        path = getattr(src, "path", None)
        if path is not None and Path(path).is_file():
            return as_image(path, what)  # a plain file proxy nilearn can copy
        return src.to_image()
    if isinstance(src, nib.spatialimages.SpatialImage):
        return src
    raise ParameterError(
        f"The {what} must be a file path, a nibabel image or a brainviz Volume; "
        f"got {type(src).__name__}."
    )


def _read_image(path, what):
    """:func:`as_image` of a file read now."""
    import nibabel as nib

    try:
        # nibabel's own image (a plain file proxy): nilearn copies and
        # pickles it freely
        if _is_nifti1_file(path):
            img = nib.Nifti1Image.from_filename(str(path))  # what nib.load gives
        else:
            img = _gzipped_nifti1_image(path)
            if img is None:
                img = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001 - re-raised with a clear message
        from ..data.volumes import load_volume

        load_volume(path)  # raises the brainviz error naming the file and problem
        raise UnsupportedFormatError(f"The {what} file {path} cannot be read: {exc}") from exc
    from ..data import _volume_io

    # a file shorter than its header says fails here, named, before any work: from its
    # size, or a .nii.gz from its trailer (one that disagrees and is small enough is
    # read through; a bigger one is named when its data are read: see reading())
    _volume_io.check_data_size(img, str(path))
    return img


@contextlib.contextmanager
def reading(img, name=None):
    """Around a read of ``img``'s data: a file found truncated or corrupt only then (a big
    ``.nii.gz``, which :func:`as_image` does not read through) raises brainviz's error
    naming it (``name``, default the image's file), not nibabel's or zlib's message without
    its name."""
    try:
        yield
    except Exception as exc:
        from ..data import _volume_io

        translated = _volume_io.read_error(name or image_name(img), exc)
        if translated is not None:
            raise translated from exc
        raise


def gzip_stream_spec(img):
    """(path, data offset, shape, on-disk dtype, scaling) of a 4D image stored in a gzipped
    file (nibabel's proxy of a ``.gz`` file, in Fortran order): what
    :func:`gzip_volume_blocks` reads. ``scaling`` is None where nibabel gives the stored
    numbers as they are, else the proxy whose scale factors :func:`scaled_values` applies
    to them. None for any other image."""
    from nibabel.arrayproxy import ArrayProxy

    proxy = img.dataobj
    path = getattr(proxy, "file_like", None)
    if type(proxy) is not ArrayProxy or not isinstance(path, str):
        return None
    if not path.lower().endswith(".gz") or len(proxy.shape) != 4 or proxy.order != "F":
        return None
    dtype = np.dtype(proxy.dtype)
    if dtype.kind not in "iuf" or dtype.hasobject:
        return None
    return (path, int(proxy.offset), tuple(int(n) for n in proxy.shape), dtype,
            _scaling(proxy))


def _scaling(proxy):
    """``proxy`` where nibabel scales its stored numbers (a slope or an intercept), else
    None."""
    from nibabel.arrayproxy import ArrayProxy

    if type(proxy) is ArrayProxy and (proxy.slope != 1.0 or proxy.inter != 0.0):
        return proxy
    return None


def stored_data(img):
    """(array, scaling): for an image nibabel scales (its header's ``scl_slope`` and
    ``scl_inter``), its stored numbers (a memory map of an uncompressed file: nothing read
    yet) and the proxy whose scaling :func:`scaled_values` applies to any part of them;
    for any other image, nibabel's array (a memory map of an unscaled uncompressed file)
    and None.

    ``np.asanyarray(img.dataobj)`` of a scaled file is its whole series scaled at once, in
    float64 for an int16 file: four times the file (a 2 mm run of 150 volumes: 1.1 GB); a
    part scaled at a time holds only that part.
    """
    scaling = _scaling(img.dataobj)
    if scaling is None:
        return np.asanyarray(img.dataobj), None
    return scaling.get_unscaled(), scaling


def scaled_values(scaling, stored):
    """``stored``, any part of an image's stored numbers (any shape), as nibabel gives them
    (``scaling``: the image's proxy, from :func:`stored_data` or
    :func:`gzip_stream_spec`): its own scaling, to the same numbers in the same type, since
    it works number by number and its type depends only on the stored type and the scale
    factors (nibabel's proxy of these numbers alone does it)."""
    import io

    from nibabel.arrayproxy import ArrayProxy

    stored = np.ascontiguousarray(stored)
    part = ArrayProxy(io.BytesIO(stored.tobytes()),
                      (stored.shape, stored.dtype, 0, scaling.slope, scaling.inter),
                      mmap=False, order="C")
    return np.asanyarray(part)


#: the most bytes :func:`gzip_volume_blocks` (and a connectivity job's reads of an
#: uncompressed file) hold at a time: fewer volumes a block if needed, one at least
READ_BUFFER = 16 << 20


def gzip_volume_blocks(path, offset, shape, dtype, block, name, read_buffer=READ_BUFFER):
    """(t0, t1, volumes t0 to t1 as a (t1 - t0, n_voxels) array, voxels in the file's
    Fortran order) of a gzipped 4D image (:func:`gzip_stream_spec`), ``block`` volumes at
    a time (fewer where they would pass ``read_buffer`` bytes, one at least).

    Each block is inflated into one buffer, reused for the next (each yielded array is
    valid until the next one), so a subject's whole series is never in memory (a 2 mm
    fMRIPrep run in float32: 1.3 GB). On the 3 mm bench grid the label means of 20
    ``.nii.gz`` subjects took 2.4 s instead of 3.1 s with nibabel inflating each file
    whole. A file that ends early raises EOFError (named by :func:`reading`)."""
    n_t = shape[3]
    n_voxels = int(np.prod(shape[:3]))
    size = n_voxels * dtype.itemsize
    block = max(1, min(block, n_t, read_buffer // max(size, 1)))
    from ..data._volume_io import GzipStream

    buf = np.empty(max(block * size, offset), np.uint8)
    reader = GzipStream(path)
    try:
        if reader.readinto(memoryview(buf)[:offset]) < offset:
            raise EOFError(f"{name} ends before its image data")
        for t0 in range(0, n_t, block):
            t1 = min(t0 + block, n_t)
            view = memoryview(buf)[:(t1 - t0) * size]
            if reader.readinto(view) < len(view):
                # named by _inputs.reading as a truncated file
                raise EOFError(f"Compressed file ended before its volume {t1 - 1}")
            yield t0, t1, buf[:len(view)].view(dtype).reshape(t1 - t0, n_voxels)
    finally:
        reader.close()


def _is_nifti1_file(path):
    """Whether ``path`` is an uncompressed single-file NIfTI-1 image, from its first bytes:
    then ``nib.load`` would open it as a ``Nifti1Image``. Asked directly, nibabel reads its
    header once instead of twice and skips its search of every format (40 of 180 us
    a file: a job over many subjects loads every header at its start)."""
    if not str(path).lower().endswith(".nii"):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(348)
    except OSError:
        return False
    return _is_nifti1_header(head)


def _is_nifti1_header(head):
    """Whether ``head`` (a file's first bytes) is a single-file NIfTI-1 header."""
    return (len(head) == 348 and head[344:348] == b"n+1\0"
            and head[:4] in (b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c"))


def _gzipped_nifti1_image(path):
    """The ``Nifti1Image`` that ``nib.load`` gives for a gzipped single-file NIfTI-1 image
    (``.nii.gz``), or None for any other file.

    nibabel reads a header through indexed_gzip, which inflates its first 16 MiB to give
    348 bytes, and ``nib.load`` reads it twice (sniffing the format first): 11 ms a file,
    at the start of every job, where a rerun over 20 cached subjects then took 0.26 s of
    which 0.22 s were these headers. Here the header is read through Python's gzip, which
    inflates what it reads (0.2 ms), and the image is made as nibabel makes it: the same
    header, affine (the header's best) and array proxy of the file, which reads the data
    through indexed_gzip when they are needed.
    """
    import gzip

    import nibabel as nib

    if not str(path).lower().endswith(".nii.gz"):
        return None
    try:
        with gzip.open(path, "rb") as f:
            if not _is_nifti1_header(f.read(348)):
                return None
            f.seek(0)
            header = nib.Nifti1Header.from_fileobj(f)
    except (OSError, EOFError):  # not gzip, or cut short: nib.load says what it is
        return None
    name = str(path)
    proxy = nib.Nifti1Image.ImageArrayProxy(name, header.copy(), mmap=True)
    # the header's best affine: the header is kept as it is (nibabel rewrites it only
    # for another affine)
    return nib.Nifti1Image(proxy, header.get_best_affine(), header,
                           file_map=nib.Nifti1Image.filespec_to_file_map(name))


def check_job_memory(owner, imgs, names):
    """Refuse, from the headers, a job whose largest image will not fit the memory limit.

    Every job reads each image whole as float32 (one at a time) and works on a
    copy of it, so twice the largest image's float32 size is the least it
    needs; what it keeps (masked data, time series) is smaller and depends on
    the mask, so it is not guessed here.
    """
    from ..data._volume_io import check_allocation, data_bytes

    sizes = [data_bytes(img, np.float32) for img in imgs]
    largest = int(np.argmax(sizes))
    check_allocation(2 * sizes[largest], names[largest], f"running {owner} on it",
                     advice="crop or downsample it first, or run on a machine with more memory")


def as_image_list(imgs, what="images"):
    """Return a list of nibabel images (a single image gives a list of one)."""
    if isinstance(imgs, (list, tuple)):
        if len(imgs) == 0:
            raise ParameterError(f"The {what} list is empty.")
        return [as_image(i, what) for i in imgs]
    return [as_image(imgs, what)]


def image_name(img):
    """File name of an image, or a description of an in-memory one."""
    fname = img.get_filename() if hasattr(img, "get_filename") else None
    if fname:
        return str(fname)
    return f"<in-memory image {'x'.join(map(str, img.shape))}>"


def with_space_of(img, like):
    """``img`` with the coordinate-space codes (sform/qform) of ``like``: a map computed from
    scanner-space images says so in its header, as its inputs did (an image built from an
    affine alone claims an "aligned" space)."""
    import nibabel as nib

    header = getattr(like, "header", None)
    if header is None or not hasattr(header, "get_sform") or "sform_code" not in header:
        return img
    out = nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine)
    out.set_sform(img.affine, code=int(header["sform_code"]))
    out.set_qform(img.affine, code=int(header["qform_code"]))
    return out


def image_fingerprint(img):
    """A small hashable tuple that changes when the image content changes."""
    import joblib

    fname = img.get_filename() if hasattr(img, "get_filename") else None
    if fname and not img.in_memory:
        st = os.stat(fname)
        return ("file", os.path.abspath(fname), st.st_size, st.st_mtime_ns)
    data = np.asanyarray(img.dataobj)
    return (
        "array",
        joblib.hash(data),
        joblib.hash(np.asarray(img.affine, dtype=float).round(6)),
        tuple(img.shape),
    )


def _grid(img):
    return tuple(img.shape[:3]), np.asarray(img.affine, dtype=float)


def _same_grid(grid_a, grid_b):
    return grid_a[0] == grid_b[0] and np.allclose(grid_a[1], grid_b[1], atol=1e-4)


def check_same_grid(imgs, names=None, what="images"):
    """Raise ShapeMismatchError unless all images share one 3D grid."""
    names = names or [image_name(i) for i in imgs]
    shape0, _ = grid0 = _grid(imgs[0])
    for img, name in zip(imgs[1:], names[1:]):
        shape, _ = grid = _grid(img)
        if not _same_grid(grid, grid0):
            raise ShapeMismatchError(
                f"All {what} must share one grid: {names[0]} has shape {shape0} but "
                f"{name} has shape {shape}"
                + ("" if shape != shape0 else " and a different affine")
                + ". Resample them to one grid first (nilearn.image.resample_to_img)."
            )


def check_mask_grid(mask_img, img, mask_name, img_name):
    """Raise ShapeMismatchError if the mask is not on the image grid."""
    if mask_img.ndim != 3 and not (mask_img.ndim == 4 and mask_img.shape[3] == 1):
        raise DimensionError(
            f"The mask {mask_name} must be a 3D image; got shape {mask_img.shape}."
        )
    shape, _ = grid = _grid(mask_img)
    ishape, _ = igrid = _grid(img)
    if not _same_grid(grid, igrid):
        raise ShapeMismatchError(
            f"The mask {mask_name} (shape {shape}) is not on the grid of the images "
            f"{img_name} (shape {ishape})"
            + ("" if shape != ishape else ", the affines differ")
            + ". Resample the mask to the images first, e.g. "
            "nilearn.image.resample_to_img(mask, img, interpolation='nearest')."
        )


_LABEL_COLUMNS = ("labels", "label", "trial_type", "targets", "target", "condition", "y")
_RUN_COLUMNS = ("chunks", "run", "runs", "session", "sessions", "group", "groups")


def read_labels(path, label_column=None, run_column=None):
    """Read per-volume labels (and runs) from a text, CSV or TSV file.

    Formats, as fMRI studies store them:

    - whitespace-separated lines ``<label> [<run>]`` without a header
      (Haxby's ``attributes_literal.txt``: ``face 0``);
    - a TSV/CSV with a header row; labels from ``label_column`` or the first of
      labels/label/trial_type/targets/condition, runs from ``run_column`` or
      the first of chunks/run/session/group.

    Parameters
    ----------
    path : str or path-like
    label_column, run_column : str or None

    Returns
    -------
    labels : numpy.ndarray of str
    runs : numpy.ndarray of int, or None when the file has no run column
    """
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"The labels file {path} does not exist.")
    text = path.read_text().splitlines()
    lines = [ln for ln in text if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ParameterError(f"The labels file {path} is empty.")
    first = lines[0]
    delim = "\t" if "\t" in first else ("," if "," in first else None)
    header = [h.strip().lower() for h in (first.split(delim) if delim else first.split())]
    known = set(_LABEL_COLUMNS) | set(_RUN_COLUMNS)
    has_header = label_column is not None or bool(known & set(header))
    if has_header:
        if delim is None:
            rows = [ln.split() for ln in lines]
        else:
            rows = list(csv.reader(lines, delimiter=delim))
        header = [h.strip() for h in rows[0]]
        lower = [h.lower() for h in header]
        body = rows[1:]

        def column(name, defaults, what):
            if name is not None:
                if name not in header:
                    raise ParameterError(
                        f"The {what} column {name!r} is not in {path}; columns are {header}."
                    )
                return header.index(name)
            for cand in defaults:
                if cand in lower:
                    return lower.index(cand)
            return None

        li = column(label_column, _LABEL_COLUMNS, "label")
        if li is None:
            raise ParameterError(
                f"No label column in {path}: expected one of {list(_LABEL_COLUMNS)}; "
                f"columns are {header}."
            )
        ri = column(run_column, _RUN_COLUMNS, "run")
        labels = [r[li].strip() for r in body]
        runs = [r[ri].strip() for r in body] if ri is not None else None
    else:
        rows = [ln.split(delim) if delim else ln.split() for ln in lines]
        labels = [r[0].strip() for r in rows]
        runs = [r[1].strip() for r in rows] if all(len(r) > 1 for r in rows) else None
    if runs is not None:
        try:
            runs = np.array([int(float(r)) for r in runs])
        except ValueError:
            _, runs = np.unique(np.array(runs), return_inverse=True)
    return np.array(labels), runs


def read_runs(path):
    """Read one run id per line (an optional header naming a run column is skipped)."""
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"The runs file {path} does not exist.")
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if lines and lines[0].split()[0].strip().lower() in _RUN_COLUMNS:
        lines = lines[1:]
    values = [ln.replace(",", " ").split()[0] for ln in lines]
    try:
        return np.array([int(float(v)) for v in values])
    except ValueError:
        _, inv = np.unique(np.array(values), return_inverse=True)
        return inv


def read_events(path):
    """Read a BIDS ``events.tsv``: ``(onsets, durations, trial types)`` arrays.

    Rows with ``n/a`` as trial type are skipped; a missing ``trial_type``
    column is an error naming the columns found.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"The events file {path} does not exist.")
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise ParameterError(f"The events file {path} is empty.")
    delim = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=delim))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("onset", "duration", "trial_type") if c not in header]
    if missing:
        raise ParameterError(
            f"The events file {path} has no {', '.join(missing)} column(s); a BIDS events.tsv "
            f"has onset, duration and trial_type. Columns are {rows[0]}."
        )
    io_, id_, it = (header.index(c) for c in ("onset", "duration", "trial_type"))
    onsets, durations, types = [], [], []
    for i, row in enumerate(rows[1:]):
        if len(row) <= max(io_, id_, it):
            raise ShapeMismatchError(f"The events file {path}, row {i + 2}, has too few cells.")
        kind = row[it].strip()
        if kind in ("", "n/a"):
            continue
        try:
            onsets.append(float(row[io_]))
            durations.append(float(row[id_]))
        except ValueError:
            raise ParameterError(
                f"The events file {path}, row {i + 2}: onset and duration must be numbers "
                f"(seconds); got {row[io_]!r}, {row[id_]!r}."
            ) from None
        types.append(kind)
    return np.array(onsets, float), np.array(durations, float), np.array(types, dtype=object)


def events_to_labels(events, n_volumes, t_r, hrf_delay=5.0, no_event_label="rest"):
    """One label per volume from BIDS events.

    Volume ``i`` is acquired at ``i * t_r`` seconds (BIDS onsets count from the
    first volume); it shows the event under ``i * t_r - hrf_delay``: the one
    with ``onset <= t < onset + duration`` (the latest onset when events
    overlap). Volumes under no event get ``no_event_label`` (None: left out).

    Parameters
    ----------
    events : (onsets, durations, trial_types), as :func:`read_events` returns
    n_volumes : int
    t_r, hrf_delay : float (seconds)
    no_event_label : str or None

    Returns
    -------
    ndarray of object (str, or None for a left-out volume)
    """
    onsets, durations, types = events
    times = np.arange(n_volumes) * float(t_r) - float(hrf_delay)
    labels = np.full(n_volumes, no_event_label, dtype=object)
    eps = 1e-6 * float(t_r)  # onsets written as multiples of the TR in decimal
    for k in np.argsort(onsets, kind="stable"):
        inside = (times >= onsets[k] - eps) & (times < onsets[k] + durations[k] - eps)
        labels[inside] = types[k]
    return labels
