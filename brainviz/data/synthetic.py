"""Seeded demo datasets with known ground truth, generated in seconds, cached on disk.

* :func:`make_decoding_demo`: a block-free "object recognition" study in the
  style of Haxby et al. (2001): each volume shows one stimulus category; each
  category adds a Gaussian pattern in its own ventral/lateral occipito-temporal
  region; runs differ by offsets and linear drifts (so per-run standardisation
  and detrending matter).
* :func:`make_resting_state_demo`: several subjects whose signals come from a
  few networks built around the Dosenbach (2010) node coordinates, with
  network time series drawn from a known coupling (correlation) matrix.

Both live on the MNI152 brain mask at 4 mm (cropped to the brain: 38 x 47 x 40
voxels, about 29,400 in the mask), in world mm RAS+. Files are written under
:func:`brainviz._config.get_data_dir` in a folder keyed by the parameters and
a format version: a second call with the same parameters reads them back; new
parameters write a new folder. Folders are written under a temporary name and
renamed when complete, so a crash never leaves a half-written dataset.
"""
import json
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import ParameterError
from ._synthetic_common import (  # noqa: F401 (_folder: tests build folder names with it)
    FORMAT_VERSION, _blobs, _check_amplitude, _check_int, _check_seed, _folder, _grid, _is_complete,
    _load_in_memory, _nifti, _unmask, _voxel_mm, _write_atomically,
)

__all__ = [
    "DecodingDemo",
    "RestingStateDemo",
    "make_decoding_demo",
    "make_resting_state_demo",
    "CATEGORY_REGIONS",
    "NETWORK_NAMES",
    "NETWORK_NODES",
]

# Category -> blob centres (mm) in the hemisphere where the response is strongest
# first; amplitude of each blob relative to the first.
CATEGORY_REGIONS = {
    # fusiform face area (right-lateralised)
    "face": ([40.0, -55.0, -15.0], [-40.0, -55.0, -15.0]),
    # parahippocampal place area
    "house": ([28.0, -40.0, -10.0], [-28.0, -40.0, -10.0]),
    # lateral occipital complex
    "shoe": ([45.0, -75.0, 0.0], [-45.0, -75.0, 0.0]),
    # transverse occipital sulcus
    "chair": ([30.0, -85.0, 15.0], [-30.0, -85.0, 15.0]),
    # left posterior middle temporal gyrus (tools)
    "scissors": ([-52.0, -55.0, 10.0], [52.0, -55.0, 10.0]),
}
_BLOB_AMPLITUDES = (1.0, 0.7)
# every stimulus drives early visual cortex alike: signal that carries no category
_SHARED_VISUAL = ([12.0, -92.0, 0.0], [-12.0, -92.0, 0.0])

NETWORK_NAMES = ("default", "fronto-parietal", "cingulo-opercular", "sensorimotor", "occipital")
# True coupling (correlation of the network time series), upper triangle. Two
# blocks (default + fronto-parietal + cingulo-opercular, sensorimotor + occipital):
# a block-diagonal covariance has a block-diagonal inverse, so correlation,
# partial correlation and sparse inverse covariance share the same zero pattern.
_COUPLED_PAIRS = {
    ("default", "fronto-parietal"): 0.5,
    ("default", "cingulo-opercular"): 0.5,
    ("fronto-parietal", "cingulo-opercular"): 0.5,
    ("sensorimotor", "occipital"): 0.5,
}


@dataclass
class DecodingDemo:
    """A decoding dataset with its ground truth (see :func:`make_decoding_demo`).

    Attributes
    ----------
    img : nibabel.Nifti1Image
        4D, one volume per trial, float32, on the 4 mm MNI brain-mask grid.
    mask : nibabel.Nifti1Image
        3D brain mask (uint8) on the same grid.
    labels : ndarray of str, shape (n_volumes,)
        Category shown in each volume.
    runs : ndarray of int, shape (n_volumes,)
        Run (session) of each volume, 0 .. n_runs - 1.
    patterns : dict of str -> nibabel.Nifti1Image
        Ground truth: the signal each category adds (3D, same units as ``img``).
    regions : dict of str -> tuple of 3 float
        Centre (mm) of the strongest blob of each category's pattern.
    blob_coords : dict of str -> ndarray, shape (n_blobs, 3)
        Centres (mm) of all blobs of each pattern (both hemispheres).
    classes : tuple of str
    tr : float
        Repetition time written in the header (s).
    paths : dict of str -> pathlib.Path
        Files on disk: ``"img"``, ``"mask"``, ``"events"`` (TSV with label and
        run columns), ``"patterns"`` (4D, one frame per class, in ``classes``
        order), ``"meta"`` (JSON). Empty when the data folder was not writable.
    params : dict
        The generating parameters.
    """

    img: object
    mask: object
    labels: np.ndarray
    runs: np.ndarray
    patterns: dict
    regions: dict
    blob_coords: dict
    classes: tuple
    tr: float
    paths: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class RestingStateDemo:
    """A resting-state dataset with its ground truth (see :func:`make_resting_state_demo`).

    Attributes
    ----------
    imgs : list of nibabel.Nifti1Image
        One 4D float32 image per subject on the 4 mm MNI brain-mask grid.
    mask : nibabel.Nifti1Image
        3D brain mask (uint8) on the same grid.
    network_maps : nibabel.Nifti1Image
        Ground truth: 4D, one frame per network (peak 1 at each node).
    network_names : list of str
    network_coords : ndarray, shape (n_networks, 3)
        For each network, the mm position of its first node, where its map
        peaks: a sphere there reads that network's signal.
    node_coords : list of ndarray, each (n_nodes_k, 3)
        All node centres (mm) of each network (chosen Dosenbach 2010 nodes).
    coupling : ndarray, shape (n_networks, n_networks)
        True correlation between network time series, symmetric, zero diagonal.
    timeseries : list of ndarray, each (n_timepoints, n_networks)
        The true network time series of each subject.
    tr : float
    paths : dict of str -> pathlib.Path or list of Path
        ``"imgs"`` (list), ``"mask"``, ``"network_maps"``, ``"coupling"`` (TSV),
        ``"timeseries"`` (list of TSV), ``"meta"``. Empty when not writable.
    params : dict
    """

    imgs: list
    mask: object
    network_maps: object
    network_names: list
    network_coords: np.ndarray
    node_coords: list
    coupling: np.ndarray
    timeseries: list
    tr: float
    paths: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# decoding demo
# --------------------------------------------------------------------------
def make_decoding_demo(*, n_runs=6, n_trials_per_class=8, classes=("face", "house", "shoe"),
                       signal=2.0, noise=1.0, seed=0, data_dir=None):
    """A seeded category-decoding dataset with known patterns, cached on disk.

    Each volume shows one category (a trial, as after a GLM or block average).
    Its value at voxel v is::

        baseline(v) + run offset + linear drift within the run
        + gain * signal * pattern_category(v) + shared visual response(v)
        + noise * N(0, 1)

    ``pattern_category`` is a pair of Gaussian blobs (sigma 6 mm, peaks 1 and
    0.7) centred in the category's region (:data:`CATEGORY_REGIONS`), e.g. the
    fusiform face area (40, -55, -15) for faces; the shared visual response
    (early visual cortex, every trial alike) carries no category information.
    The baseline is the MNI template scaled to about 100, so values read as
    percent signal change. ``gain`` varies from trial to trial (sd 0.2).

    Parameters
    ----------
    n_runs : int, default=6
        Number of runs (>= 2, so leave-one-run-out has a test run).
    n_trials_per_class : int, default=8
        Volumes of each category in each run (shuffled within the run).
    classes : sequence of str, default=("face", "house", "shoe")
        Categories, at least two, among :data:`CATEGORY_REGIONS`.
    signal : float, default=2.0
        Peak amplitude of the category patterns (in percent of the baseline).
    noise : float, default=1.0
        Standard deviation of the white noise.
    seed : int, default=0
    data_dir : str or path-like, default=None
        Where to cache the files (see :func:`brainviz._config.get_data_dir`).

    Returns
    -------
    DecodingDemo
        The default size (144 volumes, ~29,400 brain voxels) decodes with a
        linear SVM and leave-one-run-out at about 0.99 accuracy in a few seconds
        after per-run standardisation; without any standardisation the baseline
        (~100) and run offsets swamp the signal (and liblinear converges slowly).
    """
    func = "make_decoding_demo"
    n_runs = _check_int("n_runs", n_runs, 2, func)
    n_trials = _check_int("n_trials_per_class", n_trials_per_class, 1, func)
    seed = _check_seed(seed, func)
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(str(c) for c in classes)
    unknown = [c for c in classes if c not in CATEGORY_REGIONS]
    if unknown or len(set(classes)) < 2 or len(set(classes)) != len(classes):
        raise ParameterError(
            f"The 'classes' parameter of {func} must name at least two different categories "
            f"among {sorted(CATEGORY_REGIONS)}; got {list(classes)}."
        )
    signal, noise = (_check_amplitude(n, v, func) for n, v in (("signal", signal), ("noise", noise)))
    params = {"n_runs": n_runs, "n_trials_per_class": n_trials, "classes": list(classes),
              "signal": float(signal), "noise": float(noise), "seed": seed}
    folder = _folder("decoding", params, data_dir)
    if not _is_complete(folder, "decoding", params):
        arrays = _generate_decoding(**params)
        if not _write_atomically(folder, lambda tmp: _write_decoding(tmp, params, arrays),
                                 lambda f: _is_complete(f, "decoding", params)):
            return _decoding_from_arrays(params, arrays, paths={})
    return _read_decoding(folder, params)


def _generate_decoding(*, n_runs, n_trials_per_class, classes, signal, noise, seed):
    rng = np.random.default_rng(seed)
    mask, affine, template, mask_img = _grid()
    xyz = _voxel_mm(mask, affine)
    n_vox = len(xyz)
    sigma = 6.0
    patterns = {c: signal * _blobs(xyz, CATEGORY_REGIONS[c], _BLOB_AMPLITUDES, sigma)
                for c in classes}
    shared = 1.0 * _blobs(xyz, _SHARED_VISUAL, (1.0, 1.0), 8.0)
    t = template[mask]
    baseline = 100.0 * (0.7 + 0.3 * t / max(t.max(), 1e-6))

    labels, runs, volumes = [], [], []
    for run in range(n_runs):
        order = np.repeat(np.arange(len(classes)), n_trials_per_class)
        rng.shuffle(order)
        n_t = len(order)
        run_offset = rng.normal(0.0, 2.0) + rng.normal(0.0, 0.5, n_vox)
        slope = rng.normal(0.0, 1.0, n_vox)  # drift across the run, per voxel
        ramp = np.linspace(-0.5, 0.5, n_t)
        gains = 1.0 + 0.2 * rng.standard_normal(n_t)
        block = (baseline + run_offset)[:, None] + slope[:, None] * ramp[None, :]
        block += shared[:, None]
        for j, k in enumerate(order):
            block[:, j] += gains[j] * patterns[classes[k]]
        block += noise * rng.standard_normal((n_vox, n_t))
        volumes.append(block.astype(np.float32))
        labels.extend(classes[k] for k in order)
        runs.extend([run] * n_t)
    data = np.concatenate(volumes, axis=1)
    blob_coords = {c: np.asarray(CATEGORY_REGIONS[c], dtype=float) for c in classes}
    return {
        "mask": mask, "affine": affine, "mask_img": mask_img, "data": data,
        "labels": np.asarray(labels), "runs": np.asarray(runs, dtype=int),
        "patterns": patterns, "blob_coords": blob_coords,
    }


_DECODING_TR = 2.5


def _decoding_images(arrays, classes):
    mask, affine = arrays["mask"], arrays["affine"]
    img = _nifti(_unmask(arrays["data"], mask), affine, tr=_DECODING_TR)
    patterns = {c: _nifti(_unmask(arrays["patterns"][c], mask), affine) for c in classes}
    return img, patterns


def _write_decoding(tmp, params, arrays):
    import nibabel as nib

    classes = params["classes"]
    img, patterns = _decoding_images(arrays, classes)
    nib.save(img, tmp / "bold.nii.gz")
    nib.save(arrays["mask_img"], tmp / "mask.nii.gz")
    stacked = np.stack([np.asarray(patterns[c].dataobj) for c in classes], axis=-1)
    nib.save(_nifti(stacked, arrays["affine"]), tmp / "patterns.nii.gz")
    lines = ["label\trun"] + [f"{lab}\t{run}" for lab, run in zip(arrays["labels"], arrays["runs"])]
    (tmp / "events.tsv").write_text("\n".join(lines) + "\n")
    meta = {
        "kind": "decoding", "format": FORMAT_VERSION, "params": params, "tr": _DECODING_TR,
        "classes": classes,
        "blob_coords": {c: arrays["blob_coords"][c].tolist() for c in classes},
    }
    # meta.json last: its presence marks a complete folder
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))


def _decoding_from_arrays(params, arrays, paths):
    classes = tuple(params["classes"])
    img, patterns = _decoding_images(arrays, classes)
    return DecodingDemo(
        img=img, mask=arrays["mask_img"], labels=arrays["labels"], runs=arrays["runs"],
        patterns=patterns,
        regions={c: tuple(float(v) for v in arrays["blob_coords"][c][0]) for c in classes},
        blob_coords=arrays["blob_coords"], classes=classes, tr=_DECODING_TR, paths=paths,
        params=dict(params),
    )


def _read_decoding(folder, params):
    import nibabel as nib

    meta = json.loads((folder / "meta.json").read_text())
    classes = tuple(meta["classes"])
    paths = {"img": folder / "bold.nii.gz", "mask": folder / "mask.nii.gz",
             "patterns": folder / "patterns.nii.gz", "events": folder / "events.tsv",
             "meta": folder / "meta.json"}
    img = _load_in_memory(paths["img"])
    mask = _load_in_memory(paths["mask"])
    stacked = nib.load(str(paths["patterns"]))
    pattern_data = np.asanyarray(stacked.dataobj)
    patterns = {c: _nifti(np.ascontiguousarray(pattern_data[..., i]), stacked.affine)
                for i, c in enumerate(classes)}
    rows = [ln.split("\t") for ln in paths["events"].read_text().splitlines()[1:] if ln]
    labels = np.asarray([r[0] for r in rows])
    runs = np.asarray([int(r[1]) for r in rows], dtype=int)
    blob_coords = {c: np.asarray(meta["blob_coords"][c], dtype=float) for c in classes}
    return DecodingDemo(
        img=img, mask=mask, labels=labels, runs=runs, patterns=patterns,
        regions={c: tuple(float(v) for v in blob_coords[c][0]) for c in classes},
        blob_coords=blob_coords,
        classes=classes, tr=float(meta["tr"]), paths=paths, params=dict(params),
    )


# --------------------------------------------------------------------------
# resting-state demo
# --------------------------------------------------------------------------
# Four Dosenbach (2010) nodes per network (nilearn labels), hand-picked so that
# nodes of different networks are at least 25 mm apart: Gaussian blobs of
# different networks hardly overlap, so the networks are spatially separable.
# The first node is the network's hub (its ``network_coords``).
NETWORK_NODES = {
    "default": ("post cingulate 108", "mPFC 4", "angular gyrus 124", "angular gyrus 117"),
    "fronto-parietal": ("dlPFC 22", "dlPFC 24", "post parietal 99", "aPFC 2"),
    "cingulo-opercular": ("dACC 27", "ant insula 28", "ant insula 26", "thalamus 57"),
    "sensorimotor": ("SMA 43", "precentral gyrus 49", "precentral gyrus 53", "parietal 74"),
    "occipital": ("post occipital 160", "occipital 149", "post occipital 156", "occipital 139"),
}


def _network_nodes():
    """(n_nodes, 3) mm coordinates of the chosen nodes of each network."""
    from .templates import _dosenbach_table

    coords, labels, _ = _dosenbach_table()
    return [np.asarray([coords[labels.index(lab)] for lab in NETWORK_NODES[name]])
            for name in NETWORK_NAMES]


def _true_coupling():
    k = len(NETWORK_NAMES)
    coupling = np.zeros((k, k))
    for (a, b), value in _COUPLED_PAIRS.items():
        i, j = NETWORK_NAMES.index(a), NETWORK_NAMES.index(b)
        coupling[i, j] = coupling[j, i] = value
    return coupling


def make_resting_state_demo(*, n_subjects=3, n_timepoints=120, signal=2.0, noise=1.0, seed=0,
                            data_dir=None):
    """A seeded resting-state dataset with known networks and coupling, cached on disk.

    Five networks (:data:`NETWORK_NAMES`) are each a sum of Gaussian blobs
    (sigma 8 mm, peak 1) at four Dosenbach (2010) nodes of that network
    (:data:`NETWORK_NODES`), at least 25 mm from the nodes of the other networks. Each subject's value
    at voxel v and time t is::

        baseline(v) + sum_k amplitude_k * s_k(t) * map_k(v) + noise * N(0, 1)

    where the network time series ``s(t)`` are slow (AR(1), phi = 0.6),
    unit-variance and correlated as in ``coupling``: default, fronto-parietal
    and cingulo-opercular are coupled with each other (0.5), sensorimotor with
    occipital (0.5), the other pairs not at all (0). The coupling is block-diagonal,
    so its inverse has the same zero pattern: correlation, partial correlation
    and sparse inverse covariance all have the same true edges.
    ``amplitude_k`` varies by subject around ``signal`` (+/- 20 %).

    Parameters
    ----------
    n_subjects : int, default=3
    n_timepoints : int, default=120
        Volumes per subject (TR 2 s), at least 20.
    signal : float, default=2.0
        Network amplitude at a node's peak.
    noise : float, default=1.0
        Standard deviation of the white noise.
    seed : int, default=0
    data_dir : str or path-like, default=None

    Returns
    -------
    RestingStateDemo
        With the defaults (about 10 s to generate and write, 3 x 120 volumes):
        nilearn CanICA with 5 or 8 components finds each true network with a
        best-matching correlation of 0.83-0.89; DictLearning with
        ``alpha=1`` and 5 components 0.94-0.95, with the default ``alpha=10``
        and 8 or more components 0.75-0.94. (With ``alpha=10`` and exactly 5
        components, nilearn's online dictionary learning sometimes drops a
        network although its CanICA initialisation is right: at this data size
        the L1 penalty leaves atoms unused and scikit-learn resamples them.)
        Correlation of the mean signals of the true maps ranks the coupled
        pairs first (AUC 0.95-1 per subject). Measured for seeds 0-2.
    """
    func = "make_resting_state_demo"
    n_subjects = _check_int("n_subjects", n_subjects, 1, func)
    n_timepoints = _check_int("n_timepoints", n_timepoints, 20, func)
    seed = _check_seed(seed, func)
    signal, noise = (_check_amplitude(n, v, func) for n, v in (("signal", signal), ("noise", noise)))
    params = {"n_subjects": n_subjects, "n_timepoints": n_timepoints, "signal": float(signal),
              "noise": float(noise), "seed": seed}
    folder = _folder("resting", params, data_dir)
    if not _is_complete(folder, "resting", params):
        arrays = _generate_resting(**params)
        if not _write_atomically(folder, lambda tmp: _write_resting(tmp, params, arrays),
                                 lambda f: _is_complete(f, "resting", params)):
            return _resting_from_arrays(params, arrays, paths={})
    return _read_resting(folder, params)


_RESTING_TR = 2.0
_AR_PHI = 0.6
_NETWORK_SIGMA = 8.0  # mm: large enough for the networks to dominate the noise in PCA


def _generate_resting(*, n_subjects, n_timepoints, signal, noise, seed):
    rng = np.random.default_rng(seed)
    mask, affine, template, mask_img = _grid()
    xyz = _voxel_mm(mask, affine)
    n_vox = len(xyz)
    nodes = _network_nodes()
    maps = np.stack([np.minimum(_blobs(xyz, pts, np.ones(len(pts)), _NETWORK_SIGMA), 1.0)
                     for pts in nodes], axis=1)  # (n_vox, k)
    coupling = _true_coupling()
    k = len(NETWORK_NAMES)
    chol = np.linalg.cholesky(coupling + np.eye(k))
    t = template[mask]
    baseline = 100.0 * (0.7 + 0.3 * t / max(t.max(), 1e-6))

    data, timeseries = [], []
    for _ in range(n_subjects):
        innov = rng.standard_normal((n_timepoints + 50, k))
        z = np.zeros_like(innov)
        for i in range(1, len(innov)):  # AR(1), same filter for all networks
            z[i] = _AR_PHI * z[i - 1] + np.sqrt(1 - _AR_PHI**2) * innov[i]
        s = z[50:] @ chol.T  # (T, k), cov = coupling + I
        amplitude = signal * (1.0 + 0.2 * rng.uniform(-1, 1, k))
        x = baseline[:, None] + maps @ (amplitude[:, None] * s.T)
        x += noise * rng.standard_normal((n_vox, n_timepoints))
        data.append(x.astype(np.float32))
        timeseries.append(s)
    network_coords = np.asarray([pts[0] for pts in nodes])
    return {"mask": mask, "affine": affine, "mask_img": mask_img, "data": data,
            "maps": maps, "nodes": nodes, "network_coords": network_coords,
            "coupling": coupling, "timeseries": timeseries}


def _resting_images(arrays):
    mask, affine = arrays["mask"], arrays["affine"]
    imgs = [_nifti(_unmask(x, mask), affine, tr=_RESTING_TR) for x in arrays["data"]]
    maps = _nifti(_unmask(arrays["maps"], mask), affine)
    return imgs, maps


def _write_resting(tmp, params, arrays):
    import nibabel as nib

    imgs, maps = _resting_images(arrays)
    for i, img in enumerate(imgs):
        nib.save(img, tmp / f"sub-{i + 1:02d}_bold.nii.gz")
        np.savetxt(tmp / f"sub-{i + 1:02d}_timeseries.tsv", arrays["timeseries"][i],
                   delimiter="\t", header="\t".join(NETWORK_NAMES), comments="")
    nib.save(arrays["mask_img"], tmp / "mask.nii.gz")
    nib.save(maps, tmp / "network_maps.nii.gz")
    np.savetxt(tmp / "coupling.tsv", arrays["coupling"], delimiter="\t",
               header="\t".join(NETWORK_NAMES), comments="")
    meta = {
        "kind": "resting", "format": FORMAT_VERSION, "params": params, "tr": _RESTING_TR,
        "network_names": list(NETWORK_NAMES),
        "network_coords": arrays["network_coords"].tolist(),
        "node_coords": [n.tolist() for n in arrays["nodes"]],
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))


def _resting_from_arrays(params, arrays, paths):
    imgs, maps = _resting_images(arrays)
    return RestingStateDemo(
        imgs=imgs, mask=arrays["mask_img"], network_maps=maps,
        network_names=list(NETWORK_NAMES), network_coords=arrays["network_coords"],
        node_coords=list(arrays["nodes"]), coupling=arrays["coupling"],
        timeseries=list(arrays["timeseries"]), tr=_RESTING_TR, paths=paths,
        params=dict(params),
    )


def _read_resting(folder, params):
    meta = json.loads((folder / "meta.json").read_text())
    n = params["n_subjects"]
    img_paths = [folder / f"sub-{i + 1:02d}_bold.nii.gz" for i in range(n)]
    ts_paths = [folder / f"sub-{i + 1:02d}_timeseries.tsv" for i in range(n)]
    paths = {"imgs": img_paths, "timeseries": ts_paths, "mask": folder / "mask.nii.gz",
             "network_maps": folder / "network_maps.nii.gz",
             "coupling": folder / "coupling.tsv", "meta": folder / "meta.json"}
    return RestingStateDemo(
        imgs=[_load_in_memory(p) for p in img_paths],
        mask=_load_in_memory(paths["mask"]),
        network_maps=_load_in_memory(paths["network_maps"]),
        network_names=list(meta["network_names"]),
        network_coords=np.asarray(meta["network_coords"], dtype=float),
        node_coords=[np.asarray(c, dtype=float) for c in meta["node_coords"]],
        coupling=np.loadtxt(paths["coupling"], delimiter="\t", skiprows=1, ndmin=2),
        timeseries=[np.loadtxt(p, delimiter="\t", skiprows=1, ndmin=2) for p in ts_paths],
        tr=float(meta["tr"]), paths=paths, params=dict(params),
    )
