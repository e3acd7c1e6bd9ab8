"""Connectivity: region time series -> connectivity matrices with node coordinates.

Time series come from a :class:`~brainviz.backend.RegionResult`, from arrays,
from time-series files (CSV/TSV with an optional header of node names, AFNI
``.1D``, ``.npy``: one per subject), or are extracted from images with a label
atlas (NiftiLabelsMasker), a probabilistic atlas (NiftiMapsMasker) or spheres at
coordinates (NiftiSpheresMasker). Each subject's extraction, cleaning and
matrix run through joblib (one task per subject), extraction and matrix
cached per subject (the matrix keyed by the cleaning too, so a new cleaning
reuses the extraction), so that a new subject costs only its own steps.

With the defaults, a subject's matrix is exactly
``nilearn.connectome.ConnectivityMeasure(kind=kind).fit_transform([series])``
(Ledoit-Wolf shrinkage, as nilearn); ``cov_estimator="empirical"`` gives the
plain (Pearson) estimate.
"""
import contextlib
import threading

import numpy as np

from ..exceptions import DataValueError, ParameterError, ShapeMismatchError
from . import _cleaning, _inputs, _parallel
from .cache import cached_call, check_memory
from .jobs import BaseJob
from .results import Result

__all__ = ["ConnectivityJob", "ConnectivityResult", "KINDS", "COV_ESTIMATORS",
           "TIMESERIES_SUFFIXES"]

KINDS = ("correlation", "partial correlation", "tangent", "covariance",
         "sparse inverse covariance")
COV_ESTIMATORS = ("ledoit_wolf", "empirical")
#: file name endings read as region time series (rows: time points, columns: regions)
TIMESERIES_SUFFIXES = (".csv", ".tsv", ".1d", ".npy", ".txt")


class ConnectivityResult(Result):
    """What a :class:`ConnectivityJob` found: all a connectome display needs.

    Attributes
    ----------
    matrix_ : ndarray (n, n)
        Group matrix: the mean of the subjects' matrices (for ``tangent``,
        the group mean covariance as a correlation matrix).
    matrices_ : ndarray (n_subjects, n, n)
        One matrix per subject (``tangent``: deviations from the group mean).
    coords_ : ndarray (n, 3)
        Node coordinates in world mm; NaN when unknown (time series given
        without coordinates).
    labels_ : list of str
    kind_ : str
    estimator_ : dict
        What computed the matrices: the covariance estimator, and for
        ``sparse inverse covariance`` the CV folds and each subject's alpha.
    """

    _kind = "connectivity"
    _fields = {
        "matrix_": "array",
        "matrices_": "array",
        "coords_": "array",
        "labels_": "json",
        "kind_": "json",
        "estimator_": "json",
    }

    def plot(self, ax=None, networks=None, **kwargs):
        """Draw the group matrix as a heat map with node labels (ordered by ``networks`` when
        given) and a colour bar; return the :class:`~brainviz.backend.displays.MatrixDisplay`."""
        from .displays import MatrixDisplay

        return MatrixDisplay.from_result(self, networks=networks, **kwargs).plot(ax=ax)

    def _table_names(self, name):
        labels = [str(v) for v in (self.labels_ or [])]
        if name in ("matrix_", "matrices_"):
            return {"columns": labels, "rows": labels, "corner": "node"}
        if name == "coords_":
            return {"columns": ["x", "y", "z"], "extra": {"label": labels}}
        return None


# --- node coordinates ---------------------------------------------------------
def label_centroids(labels_img, background=0):
    """(ids, (n, 3) mm) node of each label, as nilearn's ``find_parcellation_cut_coords``.

    The centre of mass of the label's largest connected part (faces touching, ties to
    the part met first in C order); a label present in the left hemisphere (x < 0 mm)
    is placed by its left part (nilearn's default ``label_hemisphere="left"``).
    Computed here with the same rules so that the backend does not import
    nilearn.plotting (and matplotlib.pyplot), and for all labels at once: the parts of
    every label come from one connected-components pass over the atlas' voxels, where
    nilearn labels each region's parts in turn (260 regions on a 3 mm grid: 24 ms,
    mostly numpy, instead of 50 ms of Python that held the interpreter while the
    subjects' tasks ran beside it).
    """
    import warnings

    from nilearn.image import reorder_img
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = reorder_img(labels_img)
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4:
        data = data[..., 0]
    affine = img.affine
    shape = data.shape
    flat = np.ascontiguousarray(data).ravel()  # C order: nilearn's scan order
    inside = np.flatnonzero(flat != background)
    ids, lab = np.unique(flat[inside], return_inverse=True)
    lab = lab.ravel()
    # the left part is i < x0 (Python's slicing of the whole axis, negative x0 included)
    x0 = int((np.linalg.inv(affine) @ [0.0, 0.0, 0.0, 1.0])[0])
    plane = shape[1] * shape[2]
    right = inside >= slice(x0, None).indices(shape[0])[0] * plane
    has_left = np.bincount(lab[~right], minlength=len(ids)) > 0
    keep = right != has_left[lab]  # each label's left side if it has one, else its right
    voxels, lab = inside[keep], lab[keep]
    # one graph of the kept voxels, an edge where two faces touch within a label
    node = np.full(flat.size + plane, -1, np.int64)  # padded: no neighbour past the end
    node[voxels] = np.arange(len(voxels))
    rows, cols = [], []
    for axis, stride in ((0, plane), (1, shape[2]), (2, 1)):
        p = np.flatnonzero((voxels // stride) % shape[axis] != shape[axis] - 1)
        q = node[voxels[p] + stride]
        p, q = p[q >= 0], q[q >= 0]
        same = lab[p] == lab[q]
        rows.append(p[same])
        cols.append(q[same])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.csr_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                              shape=(len(voxels), len(voxels)))
    n_parts, part = connected_components(graph, directed=False)
    size = np.bincount(part, minlength=n_parts)
    _, first = np.unique(part, return_index=True)  # each part's first voxel in C order
    part_label = lab[first]
    # per label: the largest part, the first met among equals
    order = np.lexsort((first, -size, part_label))
    best = order[np.r_[True, part_label[order][1:] != part_label[order][:-1]]]
    rank = np.full(n_parts, -1)
    rank[best] = np.arange(len(best))
    chosen = rank[part]
    inside_best = chosen >= 0
    ijk = np.unravel_index(voxels[inside_best], shape)
    sums = np.stack([np.bincount(chosen[inside_best], weights=c, minlength=len(best))
                     for c in ijk], axis=1)
    xyz = sums / size[best][:, None]
    return list(ids), xyz @ affine[:3, :3].T + affine[:3, 3]


def map_centroids(maps_img):
    """(n, 3) mm centre of each map's strongest part (voxels above half its peak)."""
    data = maps_img.get_fdata(dtype=np.float32)
    if data.ndim == 3:
        data = data[..., None]
    coords = []
    for k in range(data.shape[3]):
        m = data[..., k]
        if abs(m.max()) < abs(m.min()):
            m = -m
        peak = m.max()
        if peak > 0:
            # the connected part around the peak: a network of several blobs
            # gets a node on its strongest blob, not between blobs
            from scipy import ndimage

            parts, _ = ndimage.label(m >= 0.5 * peak)
            vox = np.argwhere(parts == parts[np.unravel_index(np.argmax(m), m.shape)])
            vox = vox.astype(float)
        else:
            vox = np.argwhere(m == m).astype(float)
        w = m[tuple(vox.astype(int).T)]
        center = (vox * np.maximum(w, 0)[:, None]).sum(0) / max(np.maximum(w, 0).sum(), 1e-12)
        coords.append(vox[np.argmin(((vox - center) ** 2).sum(axis=1))])
    xyz = np.asarray(coords).reshape(-1, 3)
    return (maps_img.affine[:3, :3] @ xyz.T).T + maps_img.affine[:3, 3]


class _Background:
    """``func(*args, **kwargs)`` on a thread of its own; :meth:`result` waits for it and
    returns its value or raises its error."""

    def __init__(self, func, *args, **kwargs):
        self._out = self._exc = None

        def target():
            try:
                self._out = func(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - raised again by result()
                self._exc = exc

        self._thread = threading.Thread(target=target, name="brainviz-nodes", daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out


def _atlas_nodes(placing):
    """(coords (n, 3), names) of a label atlas' nodes from their :class:`_Background`."""
    ids, coords = placing.result()
    return coords, [f"region {int(i)}" for i in ids]


def _label_nodes(atlas_key, atlas_img):
    """:func:`label_centroids`, cached by the atlas' fingerprint (a rerun or a new subject
    does not place the nodes again: 10 ms for 260 labels on a 3 mm grid, 15-25 ms beside
    the subjects' tasks)."""
    return label_centroids(atlas_img)


# --- per-subject steps (module level: joblib hashes their code) -------------------
def _extract_step(atlas_key, atlas_img, coords, radius, img_key, img, mask_key, mask_img,
                  smoothing_fwhm):
    """One subject's raw region signals, cached apart from the cleaning that follows (a new
    cleaning reuses them)."""
    if _label_means_apply(atlas_img, coords, img, mask_img, smoothing_fwhm):
        return _label_means(img, atlas_img, plan_key=atlas_key)
    return _masker_signals(atlas_img, coords, radius, img, mask_img, smoothing_fwhm)


def _label_means_apply(atlas_img, coords, img, mask_img, smoothing_fwhm):
    """Whether :func:`_label_means` gives NiftiLabelsMasker's signals here: a 3D integer
    label atlas on the image's own grid (nothing to resample), no mask, no smoothing."""
    if coords is not None or mask_img is not None or smoothing_fwhm is not None:
        return False
    if atlas_img is None or len(atlas_img.shape) != 3 or len(img.shape) != 4:
        return False
    if tuple(atlas_img.shape) != tuple(img.shape[:3]):
        return False
    if not np.array_equal(np.asarray(atlas_img.affine), np.asarray(img.affine)):
        return False
    return np.issubdtype(atlas_img.get_data_dtype(), np.integer)


#: the last atlases' voxel orders (see _label_plan), by fingerprint; a lock makes the
#: subjects' tasks on threads compute each once
_PLANS = {}
_PLANS_LOCK = threading.Lock()


def _label_plan(atlas_img, key=None):
    """(voxels, by_address, starts, counts, n_labels) of a label atlas, for
    :func:`_label_means`: its voxels' indices in the images' (Fortran) order, sorted by
    label and in C order within a label (nilearn's order of summing), the same sorted by
    label and by address within a label (for integer sums, whose order does not matter:
    a third faster to gather), and where each label's run starts and how long it is.

    With ``key`` (the atlas' fingerprint), kept for the next subjects (the two last
    atlases): 5 ms per subject on a 3 mm grid, a tenth of its work, done once per job.
    """
    if key is not None:
        with _PLANS_LOCK:
            plan = _PLANS.get(key)
            if plan is None:
                plan = _PLANS[key] = _label_plan(atlas_img)
                while len(_PLANS) > 2:
                    _PLANS.pop(next(iter(_PLANS)))
        return plan
    data = np.asanyarray(atlas_img.dataobj)  # read (or decompressed) once
    labels = np.ascontiguousarray(data).ravel()  # C order
    inside = np.flatnonzero(labels != 0)
    inside = inside[np.argsort(labels[inside], kind="stable")]  # by label, C order within
    ids, starts, counts = np.unique(labels[inside], return_index=True, return_counts=True)
    shape = tuple(atlas_img.shape)
    # the images' voxel order is Fortran's (one volume after another)
    voxels = np.ravel_multi_index(np.unravel_index(inside, shape), shape, order="F")
    in_memory = data.ravel(order="F")
    by_address = np.flatnonzero(in_memory != 0)  # in the images' order
    by_address = by_address[np.argsort(in_memory[by_address], kind="stable")]
    for a in (voxels, by_address, starts, counts):
        a.setflags(write=False)  # shared by the subjects' tasks
    return voxels, by_address, starts, counts, len(ids)


def _label_means(img, atlas_img, block=None, plan_key=None):
    """Each label's mean signal, (n_volumes, n_labels), labels in increasing order (0 is
    the background): what ``NiftiLabelsMasker(atlas).fit_transform(img)`` extracts
    (strategy "mean", non-finite values counted as 0), to the last bit, in its type
    (float32 for float32 data, float64 otherwise).

    nilearn averages volume by volume over the whole grid (``scipy.ndimage.mean``: a copy
    of each volume and a float64 copy of it, then a sum per label in C order); here only
    the atlas' voxels are read, a block of volumes at a time, and summed per label in the
    same order and precision, so the sums are the same numbers, in a tenth of the time.

    ``block`` volumes at a time (default: as many as keep the float64 block near 2 MiB, so
    that it stays in the processor's cache between the gather and the sums: on a 3 mm
    grid, 4 volumes of 70,000 atlas voxels took 36 ms of CPU per subject where 32 took 66).
    Each volume's sums are the same whatever the block.

    Stored integers of at most 16 bits (int16 BOLD series) are summed as integers (int32
    where no label's sum can overflow it, int64 otherwise), without a float64 copy: every
    partial sum is an integer far below 2**53, which float64 holds exactly, so the sums are
    the very numbers nilearn's float64 sums are (a quarter less CPU per subject on the
    3 mm bench grid). Their order does not change them either, so each label's voxels are
    read in the order they lie in memory (a gather a quarter faster than in nilearn's C
    order).

    An uncompressed file's volumes are read a block at a time into one buffer
    (:func:`_volume_blocks`), where the gather finds them in the processor's cache; an
    unscaled ``.nii.gz`` is inflated into such a buffer a block at a time
    (:func:`brainviz.backend._inputs.gzip_volume_blocks`), never read whole.

    ``plan_key``: the atlas' fingerprint, under which its voxel order is kept for the
    next subjects (:func:`_label_plan`).
    """
    voxels, by_address, starts, counts, n_labels = _label_plan(atlas_img, plan_key)
    if block is None:
        block = int(min(32, max(1, round((2 << 20) / (8 * max(len(voxels), 1))))))
    name = _inputs.image_name(img)
    stream = _inputs.gzip_stream_spec(img)
    if stream is not None:  # a .nii.gz inflated a block at a time, never whole
        dtype, n_t, scaling = stream[3], stream[2][3], stream[4]
        blocks = _inputs.gzip_volume_blocks(*stream[:4], block, name, _READ_BUFFER)
    else:
        with _inputs.reading(img):
            # a memory map of an uncompressed file (of its stored numbers where they are
            # scaled: never the whole series scaled at once)
            data, scaling = _inputs.stored_data(img)
        dtype, n_t = data.dtype, data.shape[3]
        blocks = _volume_blocks(data, block, name)
    with _inputs.reading(img):
        return _block_means(blocks, dtype, n_t, by_address, voxels, starts, counts, n_labels,
                            scaling)


def _block_means(blocks, dtype, n_t, by_address, voxels, starts, counts, n_labels,
                 scaling=None):
    """:func:`_label_means`' sums over ``blocks`` of volumes, divided by the counts.

    ``scaling``: the image's proxy where nibabel scales the stored numbers ``blocks``
    holds (:func:`brainviz.backend._inputs.stored_data`): the atlas' voxels are scaled as
    they are gathered, to nibabel's numbers in nibabel's type.
    """
    import warnings

    if scaling is not None:  # the type nibabel scales to (float64 for an int16 file)
        dtype = _inputs.scaled_values(scaling, np.zeros(1, dtype)).dtype
    exact_ints = np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2
    floats = not np.issubdtype(dtype, np.integer)
    # Few numpy calls a block: the sums go straight into one array, divided once at the
    # end. Each call gives the interpreter up and takes it back, and with two threads
    # taking it back often means waiting for the other one.
    sum_type = np.float64
    if exact_ints:  # int32 sums where no label's can overflow them (a tenth faster)
        info = np.iinfo(dtype)
        top = max(-int(info.min), int(info.max))
        sum_type = np.int32 if int(counts.max(initial=0)) * top < 2 ** 31 else np.int64
    sums = np.empty((n_t, n_labels), sum_type)
    warned = False
    for t0, t1, volumes in blocks:
        if exact_ints:  # widened first: reduceat's own cast (dtype=) is slower
            np.add.reduceat(volumes.take(by_address, axis=1).astype(sum_type), starts, axis=1,
                            out=sums[t0:t1])
            continue
        values = volumes.take(voxels, axis=1)
        if scaling is not None:
            values = _inputs.scaled_values(scaling, values)
        values = np.asarray(values, dtype=np.float64)
        np.add.reduceat(values, starts, axis=1, dtype=sum_type, out=sums[t0:t1])
        # a non-finite value makes its label's sum non-finite: only then are the values
        # looked at (a sum can also overflow to inf; then it is nilearn's inf, no warning)
        if floats and not np.isfinite(sums[t0:t1]).all():
            bad = ~np.isfinite(values)
            if bad.any():
                if not warned:  # nilearn's warning, once
                    warnings.warn("Non-finite values detected. These values will be replaced "
                                  "with zeros.", UserWarning, stacklevel=2)
                    warned = True
                values[bad] = 0.0
                np.add.reduceat(values, starts, axis=1, dtype=sum_type, out=sums[t0:t1])
    return (sums / counts).astype(np.float32 if dtype == np.float32 else np.float64)


#: the most bytes :func:`_volume_blocks` reads at a time (fewer volumes a block if needed)
_READ_BUFFER = _inputs.READ_BUFFER


def _volume_blocks(data, block, name):
    """(t0, t1, volumes t0 to t1 as a (t1 - t0, n_voxels) array) for a 4D array, ``block``
    volumes at a time.

    A memory map of an uncompressed file (what nibabel gives for one) is not read through
    the map: each block is read from the file into one buffer of at most
    :data:`_READ_BUFFER` bytes (fewer volumes a block where ``block`` would not fit, one
    at least), reused for the next (so each yielded array is valid until the next one).
    Through the map, every page of the file is a page fault, and unmapping it flushes the
    other threads' TLBs; from a buffer the gather finds the volumes in the processor's
    cache: 20 subjects of 150 volumes on a 3 mm grid, label means in 0.25 s instead of
    0.38 s.
    """
    import os

    n_t = data.shape[3]
    n_voxels = int(np.prod(data.shape[:3]))
    filename = getattr(data, "filename", None)
    if not (isinstance(data, np.memmap) and filename and data.flags.f_contiguous):
        volumes = data.reshape((-1, n_t), order="F").T  # (n_t, n_voxels), a view
        for t0 in range(0, n_t, block):
            yield t0, min(t0 + block, n_t), volumes[t0:t0 + block]
        return
    size = n_voxels * data.dtype.itemsize  # one volume's bytes
    block = max(1, min(block, n_t, _READ_BUFFER // max(size, 1)))
    buf = np.empty(block * size, np.uint8)
    with open(filename, "rb", buffering=0) as f:
        for t0 in range(0, n_t, block):
            t1 = min(t0 + block, n_t)
            view = memoryview(buf)[:(t1 - t0) * size]
            done = 0
            while done < len(view):
                got = os.preadv(f.fileno(), [view[done:]], data.offset + t0 * size + done)
                if got == 0:
                    raise DataValueError(
                        f"{name} ends before its volume {t1 - 1} (the file was truncated or "
                        "replaced while it was read); expected "
                        f"{data.offset + n_t * size} bytes.")
                done += got
            yield t0, t1, buf[:len(view)].view(data.dtype).reshape(t1 - t0, n_voxels)


def _masker_signals(atlas_img, coords, radius, img, mask_img, smoothing_fwhm):
    """Raw region signals through nilearn's maskers (spheres, maps, or a label atlas
    to resample, mask or smooth)."""
    from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker, NiftiSpheresMasker

    common = dict(standardize=_cleaning.no_standardize(), detrend=False,
                  smoothing_fwhm=smoothing_fwhm)
    if coords is not None:
        masker = NiftiSpheresMasker(coords, radius=radius, mask_img=mask_img,
                                    allow_overlap=True, **common)
    elif len(atlas_img.shape) == 4:
        masker = NiftiMapsMasker(atlas_img, mask_img=mask_img, **common)
    else:
        masker = NiftiLabelsMasker(atlas_img, mask_img=mask_img, **common)
    with _inputs.reading(img):
        return masker.fit_transform(img)  # in its type: float32 for float32 data, or float64


def _clean_step(memory, extract_key, extract_args, extract_ignore, clean_key, confounds_key,
                confounds, sample_mask, summary, log=None):
    """One subject's region signals cleaned (nilearn.signal.clean).

    The extraction comes from its cache entry, keyed without the cleaning parameters, so a
    new cleaning reuses it. The cleaning itself is computed each time, not cached: it
    takes about a millisecond for 150 volumes of 260 regions, less than writing and
    signing a cache entry for it (the matrix step's entry, keyed by the extraction's key,
    the cleaning parameters and the confounds' fingerprint, holds what follows from it).
    """
    raw = cached_call(memory, _extract_step, *extract_args, ignore=extract_ignore,
                      kind="connectivity: time series", inputs=summary, log=log)
    detrend, standardize, high_pass, low_pass, t_r = clean_key[:5]
    return _cleaning.clean_signals(raw, confounds, sample_mask, detrend=detrend,
                                   standardize=standardize, high_pass=high_pass,
                                   low_pass=low_pass, t_r=t_r, dtype=None)


def _estimator(name):
    from sklearn.covariance import EmpiricalCovariance, LedoitWolf

    if name == "ledoit_wolf":
        return LedoitWolf(store_precision=False)  # nilearn's default, spelled out
    return EmpiricalCovariance(store_precision=False, assume_centered=False)


def _partial_from_precision(prec):
    d = np.sqrt(np.diag(prec))
    out = -prec / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return out


def _subject_matrix(ts, kind, cov_estimator, sparse_cv):
    """One subject's matrix (every kind but tangent); returns (matrix, alpha or None)."""
    ts = np.asarray(ts)  # float32 series stay float32, as nilearn's own pipeline has them
    if not np.issubdtype(ts.dtype, np.floating):
        ts = ts.astype(float)
    if kind == "sparse inverse covariance":
        from sklearn.covariance import GraphicalLassoCV

        ts = np.asarray(ts, dtype=float)
        z = (ts - ts.mean(0)) / np.maximum(ts.std(0), 1e-12)
        model = GraphicalLassoCV(cv=sparse_cv).fit(z)
        return _partial_from_precision(model.precision_), float(model.alpha_)
    from nilearn.connectome import ConnectivityMeasure

    measure = ConnectivityMeasure(kind=kind, cov_estimator=_estimator(cov_estimator))
    return np.asarray(measure.fit_transform([ts])[0]), None


def _stack_matrix(stack, s, n_subjects, mat, done):
    """Copy subject ``s``'s matrix into ``stack[0]``, an (n_subjects, n, n) array made for
    the first, in the type ``np.asarray`` of them all gives; return whether the stack now
    holds it (then the subject's own array can go: the next subject's, unpickled from the
    cache or computed, reuses its memory instead of fresh pages).

    A matrix of another shape than the first's gives the stacked ones back to ``done``
    (the subjects' results so far) and empties ``stack``: they are stacked afterwards by
    ``np.asarray``, as before. Without matrices (tangent) nothing is stacked.
    """
    if mat is None or (s > 0 and not stack):
        return False
    mat = np.asarray(mat)
    if s == 0:
        stack.append(np.empty((n_subjects,) + mat.shape, mat.dtype))
    elif mat.shape != stack[0].shape[1:]:
        for i in range(s):
            done[i] = (done[i][0], stack[0][i], *done[i][2:])
        stack.clear()
        return False
    elif np.result_type(mat, stack[0]) != stack[0].dtype:  # float64 after float32 ones
        wider = np.empty(stack[0].shape, np.result_type(mat, stack[0]))
        wider[:s] = stack[0][:s]
        stack[0] = wider
    stack[0][s] = mat
    return True


def _cleaned(memory, clean_spec, log=None):
    return _clean_step(memory, *clean_spec, log=log)


def _matrix_step(memory, clean_key, clean_spec, kind, cov_estimator, sparse_cv, log=None):
    """One subject's matrix, with its series' shape (cached: keyed by the cleaning's key, so
    a rerun with one more subject loads the others' matrices; the series themselves stay in
    the extraction's entry, which a rerun does not read)."""
    ts = _cleaned(memory, clean_spec, log)
    mat, alpha = _subject_matrix(ts, kind, cov_estimator, sparse_cv)
    return tuple(np.shape(ts)), mat, alpha


def _subject_task(memory, series, clean_spec, kind, cov_estimator, sparse_cv):
    """All of one subject's work, as one joblib task: time series, cleaning, matrix.

    Returns (series or, for a cached matrix, its shape; matrix; alpha; log lines): a worker
    (a process, a dask worker) cannot call the job's log, so what its cache loads comes back
    with its result.
    """
    lines = []
    if clean_spec is None:  # series given as arrays (cheap): nothing cached
        if kind == "tangent":
            return series, None, None, lines
        mat, alpha = _subject_matrix(series, kind, cov_estimator, sparse_cv)
        return series, mat, alpha, lines
    if kind == "tangent":  # the matrices are a group fit
        return _cleaned(memory, clean_spec, lines.append), None, None, lines
    # the cleaning's key: extraction key, cleaning settings, confounds' fingerprint
    clean_key = (clean_spec[0], clean_spec[3], clean_spec[4])
    out = cached_call(memory, _matrix_step, memory, clean_key, clean_spec, kind,
                      cov_estimator, sparse_cv, lines.append,
                      ignore=("memory", "clean_spec", "log"), kind=f"connectivity: {kind}",
                      inputs=clean_spec[-1], log=lines.append)
    return (*out, lines)


class ConnectivityJob(BaseJob):
    """Connectivity matrices from region time series.

    Parameters
    ----------
    kind : {"correlation", "partial correlation", "tangent", "covariance", \
"sparse inverse covariance"}, default="correlation"
        ``tangent`` needs two or more subjects; ``sparse inverse covariance``
        fits scikit-learn's ``GraphicalLassoCV`` per subject (on z-scored
        series) and reports the partial correlations of its sparse precision.
        The default is the kind most studies report; nilearn's
        ``ConnectivityMeasure()`` defaults to ``"covariance"`` (give
        ``kind="covariance"`` for its default result).
    cov_estimator : {"ledoit_wolf", "empirical"}, default="ledoit_wolf"
        Covariance estimator of the other kinds: Ledoit-Wolf shrinkage
        (nilearn's default; works with more regions than time points) or the
        empirical (Pearson) estimate.
    sparse_cv : int or None, default=None
        Cross-validation folds of ``GraphicalLassoCV``; None is scikit-learn's
        default (5 folds).
    radius : float, default=5.0
        Sphere radius in mm when time series are extracted at coordinates.
    standardize, detrend : bool, default=True
        Cleaning of the time series extracted from images. Time series given
        as arrays or files are used as given unless there is something to
        clean them of (confounds, high_pass or low_pass): then they are cleaned
        with ``nilearn.signal.clean`` with these settings too.
    high_pass, low_pass : float or None, default=None
        Butterworth filter cut-offs in Hz (``nilearn.signal.clean``).
    t_r : float or None, default=None
        Repetition time in s; None reads it from the images' header.
    confounds_strategy : list of str or None, default=None
        fMRIPrep confounds strategy (``nilearn.interfaces.fmriprep.load_confounds``),
        e.g. ``["motion", "wm_csf"]``.
    confounds_params : dict or None, default=None
        Its parameters, e.g. ``{"motion": "full", "scrub": 5}``.
    smoothing_fwhm : float or None, default=None
    random_state : int, default=0
    memory, n_jobs, backend, scheduler
        As for :class:`~brainviz.backend.DecodingJob`; each subject is one task.
        When no backend is chosen (by ``backend``, ``BRAINVIZ_BACKEND`` or the
        caller's ``joblib.parallel_config``) the tasks run on ``n_jobs``
        threads: their work releases the GIL, and threads start no interpreters.
    """

    _kind = "connectivity"
    _choices = {"kind": KINDS, "cov_estimator": COV_ESTIMATORS}

    def __init__(self, kind="correlation", cov_estimator="ledoit_wolf", sparse_cv=None,
                 radius=5.0, standardize=True, detrend=True, high_pass=None, low_pass=None,
                 t_r=None, confounds_strategy=None, confounds_params=None, smoothing_fwhm=None,
                 random_state=0, memory=None, n_jobs=None, backend=None, scheduler=None):
        self.kind = kind
        self.cov_estimator = cov_estimator
        self.sparse_cv = sparse_cv
        self.radius = radius
        self.standardize = standardize
        self.detrend = detrend
        self.high_pass = high_pass
        self.low_pass = low_pass
        self.t_r = t_r
        self.confounds_strategy = confounds_strategy
        self.confounds_params = confounds_params
        self.smoothing_fwhm = smoothing_fwhm
        self.random_state = random_state
        self.memory = memory
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler

    def _check_params(self):
        super()._check_params()
        cv = self.sparse_cv
        if cv is not None and not (isinstance(cv, (int, np.integer)) and not isinstance(cv, bool)
                                   and cv >= 2):
            raise ParameterError(
                f"The 'sparse_cv' parameter of {type(self).__name__} must be an integer >= 2 "
                f"or None (scikit-learn's default, 5 folds); got {cv!r}."
            )

    def run(self, inputs=None, atlas=None, coords=None, labels=None, mask=None, *,
            imgs=None, timeseries=None, confounds=None, progress=None, cancel_event=None,
            log=None):
        """Compute the matrices.

        Parameters
        ----------
        inputs : RegionResult, ndarray (n_timepoints, n_regions), list of such
            arrays (one per subject), time-series files (CSV/TSV/.1D/.npy, one
            per subject), or images (path / nibabel / Volume, or a list of
            them, one 4D image per subject).
        imgs, timeseries : optional
            Keyword spellings of ``inputs`` (images, or time series arrays /
            files / a RegionResult); give exactly one of inputs, imgs, timeseries.
        atlas : path, nibabel image or Volume, optional
            With images: a 3D label image (one region per integer) or a 4D
            probabilistic atlas. Label-atlas nodes are placed as nilearn's
            ``find_parcellation_cut_coords`` places them.
        coords : array (n, 3) mm, optional
            With images: sphere centres (``radius``). With time series: node
            coordinates to report.
        labels : list of str, optional
            Node names (defaults: a time-series file's header, atlas label
            values, ``"node i"``).
        mask : optional
            Mask applied during extraction from images.
        confounds : optional
            One entry per subject (array, CSV/TSV file, or with
            ``confounds_strategy`` an fMRIPrep confounds file); see
            ``brainviz.backend._cleaning``.

        Returns
        -------
        ConnectivityResult
        """
        from .regions import RegionResult

        given = [x for x in (inputs, imgs, timeseries) if x is not None]
        if len(given) != 1:
            raise ParameterError(
                f"{type(self).__name__}.run takes exactly one of inputs, imgs=, timeseries=; "
                f"got {len(given)}."
            )
        inputs = given[0]
        prog, parallel = self._begin_checks(progress, cancel_event, log)
        memory = check_memory(self.memory)
        self._cleaning_record = None
        node_coords = node_labels = None
        specs = None
        if isinstance(inputs, RegionResult):
            if not inputs.timeseries_:
                raise DataValueError("The RegionResult holds no time series (timeseries=False).")
            series = [np.asarray(t, dtype=float) for t in inputs.timeseries_]
            node_coords = map_centroids(inputs.regions_img_)
            node_labels = list(inputs.region_labels_)
            names = list(inputs.inputs)
        elif _is_array_input(inputs) or _is_timeseries_files(inputs):
            series, names, node_labels = _read_series(inputs)
        else:
            series = None
            specs, node_coords, node_labels, names = self._extraction_specs(
                inputs, atlas, coords, mask, confounds, memory)
        if series is not None:
            if coords is not None:
                node_coords = _as_coords(coords)
            self._check_series(series)
            series = self._clean_given_series(series, confounds)
        # a label atlas' nodes are placed while the subjects run (_Background), unless
        # names given for them must be counted first
        nodes_later = isinstance(node_coords, _Background)
        if nodes_later and labels is not None:
            node_coords, node_labels = _atlas_nodes(node_coords)
            nodes_later = False
        if series is not None:
            n = series[0].shape[1]
        else:
            n = None if nodes_later else len(node_coords)
        if series is not None:
            self._check_estimable(series, n)
        n_subjects = len(series) if series is not None else len(specs)
        if self.kind == "tangent" and n_subjects < 2:
            raise DataValueError(f"kind='tangent' needs two or more subjects; got {n_subjects}.")
        if node_coords is None:
            node_coords = np.full((n, 3), np.nan)
        if not nodes_later and node_coords.shape != (n, 3):
            raise ShapeMismatchError(
                f"There are {n} regions but coords has shape {node_coords.shape}; "
                f"expected ({n}, 3)."
            )
        if labels is not None:
            node_labels = [str(v) for v in labels]
            if len(node_labels) != n:
                raise ShapeMismatchError(f"There are {n} regions but {len(node_labels)} labels.")
        if not nodes_later:
            node_labels = node_labels or [f"node {i}" for i in range(n)]

        from joblib import delayed

        prog(0.02, f"{self.kind}: {n_subjects} subject(s), "
                   + ("the atlas' regions" if nodes_later else f"{n} regions"))
        sparse_cv = self.sparse_cv

        def all_subjects():  # run again as a whole if dask loses a worker (steps are cached)
            tasks = (
                delayed(_subject_task)(memory, series[s] if series is not None else None,
                                       specs[s] if specs is not None else None, self.kind,
                                       self.cov_estimator, sparse_cv)
                for s in range(n_subjects)
            )
            done = []
            # threads unless a backend was chosen (the job's backend=, BRAINVIZ_BACKEND, the
            # caller's joblib.parallel_config): a subject's steps are numpy, scipy.ndimage
            # and BLAS work that releases the GIL, so threads share the driver's imports and
            # the images' page cache, where a process pool first starts interpreters that
            # import nilearn and scikit-learn (seconds each, longer than 20 subjects' work
            # on two cores: benchmarks/bench_jobs.py, section 7).
            # BLAS holds one thread while the subjects run here, at any n_jobs: a subject's
            # products (regions x time points) are too small for a BLAS pool to gain, which
            # spins on the other cores instead (n_jobs=1 on two cores: the same wall time,
            # 1.0 s of CPU instead of 0.6 s, and BLAS threads still spinning after the job).
            # Where the tasks run in other processes (loky, dask) the limit is moot here.
            n_jobs = parallel.active_n_jobs()
            stack.clear()
            with _parallel.one_blas_thread(), \
                    contextlib.closing(_parallel.task_results(tasks, n_jobs)) as results:
                for s, res in enumerate(results):
                    for line in res[3]:  # what the subject's worker loaded from the cache
                        prog.log(line)
                    if _stack_matrix(stack, s, n_subjects, res[1], done):
                        res = (res[0], None, *res[2:])
                    done.append(res)
                    prog(0.02 + 0.9 * (s + 1) / n_subjects, f"subject {s + 1}/{n_subjects}")
            return done

        # each subject's matrix is copied into one array as it comes (on threads, while the
        # tasks after it run, not after the last: 11 MB for 21 subjects of 260 regions),
        # and its own array let go: the next one reuses its memory
        stack = []

        with parallel.context() as runner:
            out = runner.call(all_subjects, on_retry=prog.log)
        if nodes_later:
            node_coords, node_labels = _atlas_nodes(node_coords)
            n = len(node_labels)
        if series is None:  # extracted: check what came out
            self._check_estimable([o[0] for o in out], n)
        estimator = {"cov_estimator": self.cov_estimator}
        if self.kind == "tangent":
            from nilearn.connectome import ConnectivityMeasure, cov_to_corr

            measure = ConnectivityMeasure(kind="tangent",
                                          cov_estimator=_estimator(self.cov_estimator))
            mats = np.asarray(measure.fit_transform([np.asarray(o[0]) for o in out]))
            group = np.asarray(cov_to_corr(measure.mean_))
        else:
            mats = stack[0] if stack else np.asarray([o[1] for o in out])
            group = mats.mean(axis=0)
            if self.kind == "sparse inverse covariance":
                estimator = {"estimator": "GraphicalLassoCV",
                             "cv": 5 if sparse_cv is None else int(sparse_cv),
                             "alphas": [o[2] for o in out]}
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        params["cleaning"] = getattr(self, "_cleaning_record", None)
        result = ConnectivityResult(
            params=params, inputs=names, matrix_=group, matrices_=mats,
            coords_=np.asarray(node_coords, dtype=float), labels_=node_labels, kind_=self.kind,
            estimator_=estimator,
        )
        prog(1.0, "done")
        return self._set_result(result)

    def _check_series(self, series):
        n = series[0].shape[1] if series[0].ndim == 2 else 0
        for s, ts in enumerate(series):
            if ts.ndim != 2 or ts.shape[1] != n:
                raise ShapeMismatchError(
                    f"Every subject needs a (time points, {n}) time series array; "
                    f"subject {s} has shape {ts.shape}."
                )
            if ts.shape[0] < 3:
                raise DataValueError(
                    f"Subject {s}'s time series has {ts.shape[0]} time points: a connectivity "
                    "matrix needs at least 3."
                )

    def _check_estimable(self, series, n):
        """Refuse, clearly, only what the estimator cannot do with few time points."""
        needs_inverse = self.kind in ("partial correlation", "tangent")
        if self.cov_estimator != "empirical" or not needs_inverse:
            return
        for s, ts in enumerate(series):
            n_t = ts[0] if isinstance(ts, tuple) else ts.shape[0]  # a shape, or the series
            if n_t <= n:
                raise DataValueError(
                    f"Subject {s}'s time series has {n_t} time points for {n} regions: "
                    f"kind={self.kind!r} with cov_estimator='empirical' needs more time points "
                    "than regions (the covariance must be invertible); use "
                    "cov_estimator='ledoit_wolf' (shrinkage), which works with fewer."
                )

    def _clean_given_series(self, series, confounds):
        something = (confounds is not None or self.high_pass is not None
                     or self.low_pass is not None or self.confounds_strategy is not None)
        if not something:  # used as given: say so in result.json
            self._cleaning_record = dict(
                _cleaning.record(self, _cleaning.resolve_t_r(self), [None] * len(series)),
                applied=False)
            return series
        t_r = _cleaning.resolve_t_r(self)
        _cleaning.check_t_r(self, t_r, "time series carry none")
        conf, keys = _cleaning.resolve_confounds(self, confounds, None,
                                                 [ts.shape[0] for ts in series], "subject")
        self._cleaning_record = dict(_cleaning.record(self, t_r, keys), applied=True)
        return [
            _cleaning.clean_signals(ts, c, sm, detrend=self.detrend, standardize=self.standardize,
                                    high_pass=self.high_pass, low_pass=self.low_pass, t_r=t_r,
                                    dtype=float)
            for ts, (c, sm) in zip(series, conf)
        ]

    def _extraction_specs(self, inputs, atlas, coords, mask, confounds, memory):
        owner = type(self).__name__
        if (atlas is None) == (coords is None):
            raise ParameterError(
                f"{owner} extracts time series from images with either atlas=<label or maps "
                "image> or coords=<(n, 3) mm>; give exactly one."
            )
        img_list = _inputs.as_image_list(inputs, "images")
        names = [_inputs.image_name(i) for i in img_list]
        _inputs.check_job_memory(owner, img_list, names)
        for img, name in zip(img_list, names):
            if len(img.shape) != 4:
                raise DataValueError(f"{owner} needs 4D time series; {name} has shape {img.shape}.")
        _inputs.check_same_grid(img_list, names, "subjects' images")
        atlas_img = atlas_key = None
        labels = None
        if atlas is not None:
            atlas_img = _inputs.as_image(atlas, "atlas")
            atlas_key = _inputs.image_fingerprint(atlas_img)
            if len(atlas_img.shape) == 4:
                node_coords = map_centroids(atlas_img)
                labels = [f"map {i}" for i in range(atlas_img.shape[3])]
            else:
                # placing the nodes (a cold cache: 10 ms for 260 labels) runs while the
                # subjects' tasks do: see _atlas_nodes
                node_coords = _Background(
                    cached_call, memory, _label_nodes, atlas_key, atlas_img,
                    ignore=("atlas_img",), kind="connectivity: atlas nodes",
                    inputs=_inputs.image_name(atlas_img))
            coords_arg = None
        else:
            coords_arg = [tuple(map(float, c)) for c in _as_coords(coords)]
            node_coords = np.asarray(coords_arg)
        mask_img = mask_key = None
        if mask is not None:
            mask_img = _inputs.as_image(mask, "mask")
            mask_key = _inputs.image_fingerprint(mask_img)
        t_r = _cleaning.resolve_t_r(self, img_list)
        _cleaning.check_t_r(self, t_r)
        conf, conf_keys = _cleaning.resolve_confounds(
            self, confounds, img_list, [i.shape[3] for i in img_list], "subject")
        clean_key = _cleaning.cleaning_key(self, t_r)
        self._cleaning_record = dict(_cleaning.record(self, t_r, conf_keys), applied=True)
        specs = []
        for s, img in enumerate(img_list):
            extract_args = (atlas_key, atlas_img, coords_arg, float(self.radius),
                            _inputs.image_fingerprint(img), img, mask_key, mask_img,
                            self.smoothing_fwhm)
            extract_key = (atlas_key, coords_arg, float(self.radius), extract_args[4], mask_key,
                           self.smoothing_fwhm)
            specs.append((extract_key, extract_args, ("atlas_img", "img", "mask_img"), clean_key,
                          conf_keys[s], conf[s][0], conf[s][1], str(names[s])))
        return specs, node_coords, labels, names


def _as_coords(coords):
    """An (n, 3) array from an array, or a name/file as ``brainviz render --coords`` takes."""
    import os

    if isinstance(coords, (str, os.PathLike)):
        return np.asarray(load_node_coords(coords)[0], dtype=float)
    return np.asarray(coords, dtype=float)


def load_node_coords(coords):
    """``(coords (n, 3), labels)`` from "power", "dosenbach", "seitzman" or a CSV/TSV file."""
    from ..data import load_coords

    xyz, labels, _ = load_coords(coords)
    return np.asarray(xyz, dtype=float), list(labels) if labels else None


def _is_timeseries_files(x):
    import os

    items = x if isinstance(x, (list, tuple)) else [x]
    return len(items) > 0 and all(
        isinstance(i, (str, os.PathLike)) and str(i).lower().endswith(TIMESERIES_SUFFIXES)
        for i in items)


def _read_series(inputs):
    """(list of (T, n) float arrays, names, node names or None) from arrays or files."""
    if _is_array_input(inputs):
        if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            series = [np.asarray(inputs, dtype=float)]
        else:
            series = [np.asarray(t, dtype=float) for t in inputs]
        return series, [f"<time series {t.shape[0]}x{t.shape[1]}>" for t in series], None
    paths = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    series, header = [], None
    for path in paths:
        arr, names = _cleaning.read_table(path, "time series")
        if not np.isfinite(arr).all():
            raise DataValueError(f"The time series file {path} holds missing or non-finite values.")
        if names is not None:
            if header is not None and names != header:
                raise ShapeMismatchError(
                    f"The time series file {path} names other regions than {paths[0]}: every "
                    "subject needs the same regions, in the same order."
                )
            header = names
        series.append(arr)
    return series, [str(p) for p in paths], header


def _is_array_input(x):
    if isinstance(x, np.ndarray):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], np.ndarray)
