"""Connectivity: region time series -> connectivity matrices with node coordinates.

Time series come from a :class:`~brainviz.backend.RegionResult`, from arrays,
or are extracted from images with a label atlas (NiftiLabelsMasker), a
probabilistic atlas (NiftiMapsMasker) or spheres at coordinates
(NiftiSpheresMasker); extraction is cached per subject.
"""
import numpy as np

from ..exceptions import DataValueError, ParameterError, ShapeMismatchError
from . import _inputs
from .cache import cached_call, check_memory
from .jobs import BaseJob, Progress
from .results import Result

__all__ = ["ConnectivityJob", "ConnectivityResult", "KINDS"]

KINDS = ("correlation", "partial correlation", "tangent", "covariance",
         "sparse inverse covariance")


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
        Node coordinates in world mm (region centroids); NaN when unknown
        (time series given as arrays without coordinates).
    labels_ : list of str
    kind_ : str
    """

    _kind = "connectivity"
    _fields = {
        "matrix_": "array",
        "matrices_": "array",
        "coords_": "array",
        "labels_": "json",
        "kind_": "json",
    }

    def plot(self, ax=None, networks=None, **kwargs):
        """Draw the group matrix as a heat map with node labels (ordered by ``networks`` when
        given) and a colour bar; return the :class:`~brainviz.backend.displays.MatrixDisplay`."""
        from .displays import MatrixDisplay

        return MatrixDisplay.from_result(self, networks=networks, **kwargs).plot(ax=ax)


# --- node coordinates ---------------------------------------------------------
def label_centroids(labels_img, background=0):
    """(ids, (n, 3) mm) centre of each label, moved into the region if outside."""
    data = np.asanyarray(labels_img.dataobj)
    ids = [v for v in np.unique(data) if v != background]
    coords = []
    for v in ids:
        vox = np.argwhere(data == v).astype(float)
        center = vox.mean(axis=0)
        nearest = vox[np.argmin(((vox - center) ** 2).sum(axis=1))]
        coords.append(nearest)
    xyz = np.asarray(coords).reshape(-1, 3)
    return ids, (labels_img.affine[:3, :3] @ xyz.T).T + labels_img.affine[:3, 3]


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


# --- cached extraction -----------------------------------------------------------
def _extract_step(atlas_key, atlas_img, coords, radius, img_key, img, mask_key, mask_img,
                  standardize,
                  detrend, smoothing_fwhm):
    """One subject's time series from a label/maps atlas or spheres."""
    from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker, NiftiSpheresMasker

    common = dict(standardize="zscore_sample" if standardize else None, detrend=detrend,
                  smoothing_fwhm=smoothing_fwhm)
    if coords is not None:
        masker = NiftiSpheresMasker(coords, radius=radius, mask_img=mask_img,
                                    allow_overlap=True, **common)
    elif len(atlas_img.shape) == 4:
        masker = NiftiMapsMasker(atlas_img, mask_img=mask_img, **common)
    else:
        masker = NiftiLabelsMasker(atlas_img, mask_img=mask_img, **common)
    return masker.fit_transform(img).astype(np.float32)


def _partial_from_precision(prec):
    d = np.sqrt(np.diag(prec))
    out = -prec / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return out


def _connectivity(series, kind, random_state):
    if kind == "sparse inverse covariance":
        from sklearn.covariance import GraphicalLassoCV

        mats = []
        for ts in series:
            ts = (ts - ts.mean(0)) / np.maximum(ts.std(0), 1e-12)
            model = GraphicalLassoCV(cv=3).fit(ts)
            mats.append(_partial_from_precision(model.precision_))
        mats = np.asarray(mats)
        return mats, mats.mean(axis=0)
    from nilearn.connectome import ConnectivityMeasure, cov_to_corr

    measure = ConnectivityMeasure(kind=kind, standardize="zscore_sample")
    mats = measure.fit_transform([np.asarray(ts, dtype=float) for ts in series])
    group = cov_to_corr(measure.mean_) if kind == "tangent" else mats.mean(axis=0)
    return np.asarray(mats), np.asarray(group)


class ConnectivityJob(BaseJob):
    """Connectivity matrices from region time series.

    Parameters
    ----------
    kind : {"correlation", "partial correlation", "tangent", "covariance", \
"sparse inverse covariance"}, default="correlation"
        ``tangent`` needs two or more subjects; ``sparse inverse covariance``
        fits scikit-learn's GraphicalLassoCV per subject and reports the
        partial correlations of the sparse precision matrix.
    radius : float, default=5.0
        Sphere radius in mm when time series are extracted at coordinates.
    standardize, detrend : bool, default=True
        Cleaning of extracted time series.
    smoothing_fwhm : float or None, default=None
    random_state : int, default=0
    memory, n_jobs, backend, scheduler
        As for :class:`~brainviz.backend.DecodingJob`.
    """

    _kind = "connectivity"
    _choices = {"kind": KINDS}

    def __init__(self, kind="correlation", radius=5.0, standardize=True, detrend=True,
                 smoothing_fwhm=None, random_state=0, memory=None, n_jobs=None, backend=None,
                 scheduler=None):
        self.kind = kind
        self.radius = radius
        self.standardize = standardize
        self.detrend = detrend
        self.smoothing_fwhm = smoothing_fwhm
        self.random_state = random_state
        self.memory = memory
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler

    def run(self, inputs=None, atlas=None, coords=None, labels=None, mask=None, *,
            imgs=None, timeseries=None, progress=None, cancel_event=None, log=None):
        """Compute the matrices.

        Parameters
        ----------
        inputs : RegionResult, ndarray (n_timepoints, n_regions), list of such
            arrays (one per subject), or images (path / nibabel / Volume, or a
            list of them, one 4D image per subject).
        imgs, timeseries : optional
            Keyword spellings of ``inputs`` (images, or time series arrays /
            a RegionResult); give exactly one of inputs, imgs, timeseries.
        atlas : path, nibabel image or Volume, optional
            With images: a 3D label image (one region per integer) or a 4D
            probabilistic atlas. Node coordinates are region centroids.
        coords : array (n, 3) mm, optional
            With images: sphere centres (``radius``). With arrays: node
            coordinates to report.
        labels : list of str, optional
            Node names (defaults: atlas label values, ``"node i"``).
        mask : optional
            Mask applied during extraction from images.

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
        self._check_params()
        prog = Progress(progress, cancel_event, log)
        names = []
        node_coords = None
        node_labels = None
        if isinstance(inputs, RegionResult):
            if not inputs.timeseries_:
                raise DataValueError("The RegionResult holds no time series (timeseries=False).")
            series = [np.asarray(t) for t in inputs.timeseries_]
            node_coords = map_centroids(inputs.regions_img_)
            node_labels = list(inputs.region_labels_)
            names = list(inputs.inputs)
        elif _is_array_input(inputs):
            if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
                series = [np.asarray(inputs, dtype=float)]
            else:
                series = [np.asarray(t, dtype=float) for t in inputs]
            names = [f"<time series {t.shape[0]}x{t.shape[1]}>" for t in series]
            if coords is not None:
                node_coords = np.asarray(coords, dtype=float)
        else:
            series, node_coords, node_labels, names = self._extract(
                inputs, atlas, coords, mask, prog)
        n = series[0].shape[1] if series[0].ndim == 2 else 0
        for s, ts in enumerate(series):
            if ts.ndim != 2 or ts.shape[1] != n:
                raise ShapeMismatchError(
                    f"Every subject needs a (time points, {n}) time series array; "
                    f"subject {s} has shape {ts.shape}."
                )
            if ts.shape[0] < n:
                raise DataValueError(
                    f"Subject {s}'s time series has {ts.shape[0]} time points but there are "
                    f"{n} regions: a connectivity matrix needs at least as many time points "
                    "as regions."
                )
        if self.kind == "tangent" and len(series) < 2:
            raise DataValueError(f"kind='tangent' needs two or more subjects; got {len(series)}.")
        if node_coords is None:
            node_coords = np.full((n, 3), np.nan)
        if node_coords.shape != (n, 3):
            raise ShapeMismatchError(
                f"There are {n} regions but coords has shape {node_coords.shape}; "
                f"expected ({n}, 3)."
            )
        if labels is not None:
            node_labels = [str(v) for v in labels]
            if len(node_labels) != n:
                raise ShapeMismatchError(f"There are {n} regions but {len(node_labels)} labels.")
        node_labels = node_labels or [f"node {i}" for i in range(n)]
        prog(0.8, f"{self.kind} over {len(series)} subject(s), {n} regions")
        mats, group = _connectivity(series, self.kind, self.random_state)
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        result = ConnectivityResult(
            params=params, inputs=names, matrix_=group, matrices_=mats,
            coords_=np.asarray(node_coords, dtype=float), labels_=node_labels, kind_=self.kind,
        )
        prog(1.0, "done")
        return self._set_result(result)

    def _extract(self, inputs, atlas, coords, mask, prog):
        owner = type(self).__name__
        if (atlas is None) == (coords is None):
            raise ParameterError(
                f"{owner} extracts time series from images with either atlas=<label or maps "
                "image> or coords=<(n, 3) mm>; give exactly one."
            )
        img_list = _inputs.as_image_list(inputs, "images")
        names = [_inputs.image_name(i) for i in img_list]
        for img, name in zip(img_list, names):
            if len(img.shape) != 4:
                raise DataValueError(f"{owner} needs 4D time series; {name} has shape {img.shape}.")
        _inputs.check_same_grid(img_list, names, "subjects' images")
        memory = check_memory(self.memory)
        atlas_img = atlas_key = None
        labels = None
        if atlas is not None:
            atlas_img = _inputs.as_image(atlas, "atlas")
            atlas_key = _inputs.image_fingerprint(atlas_img)
            if len(atlas_img.shape) == 4:
                node_coords = map_centroids(atlas_img)
                labels = [f"map {i}" for i in range(atlas_img.shape[3])]
            else:
                ids, node_coords = label_centroids(atlas_img)
                labels = [f"region {int(i)}" for i in ids]
            coords_arg = None
        else:
            coords_arg = [tuple(map(float, c)) for c in np.asarray(coords, dtype=float)]
            node_coords = np.asarray(coords_arg)
        mask_img = mask_key = None
        if mask is not None:
            mask_img = _inputs.as_image(mask, "mask")
            mask_key = _inputs.image_fingerprint(mask_img)
        series = []
        for s, img in enumerate(img_list):
            prog(0.8 * s / len(img_list), f"time series of subject {s + 1}/{len(img_list)}")
            series.append(cached_call(
                memory, _extract_step, atlas_key, atlas_img, coords_arg, float(self.radius),
                _inputs.image_fingerprint(img), img, mask_key, mask_img, bool(self.standardize),
                bool(self.detrend), self.smoothing_fwhm,
                ignore=("atlas_img", "img", "mask_img"),
                kind="connectivity: time series", inputs=str(names[s]), log=prog.log,
                params={"atlas": str(atlas_key[1]) if atlas_key else "spheres",
                        "mask": str(mask_key[1]) if mask_key else None},
            ))
        return series, node_coords, labels, names


def _is_array_input(x):
    if isinstance(x, np.ndarray):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], np.ndarray)
