"""Searchlight: cross-validated decoding in a sphere around every voxel (nilearn's SearchLight).

The data are masked and cleaned by the decoding job's cached steps (a
searchlight after a decoding job on the same images reuses them). The voxels
to centre spheres on are split into chunks, each one joblib task running
``nilearn.decoding.SearchLight`` with that chunk as its ``process_mask_img``:
the map is exactly nilearn's (a sphere's score does not depend on the
chunking), with progress, cancel between chunks, and ``n_jobs`` / dask
spreading the chunks.
"""
import numpy as np

from ..exceptions import ParameterError
from . import _parallel
from .cache import cached_call
from .decoding import DecodingJob, _make_estimator, _splits
from .results import Result

__all__ = ["SearchlightJob", "SearchlightResult"]

_SEARCHLIGHT_ESTIMATORS = ("svc", "logistic_l1", "logistic_l2", "ridge")


class SearchlightResult(Result):
    """What a :class:`SearchlightJob` found.

    Attributes
    ----------
    scores_img_ : nibabel 3D image
        Mean cross-validated score of the sphere centred on each voxel (0
        outside the mask).
    best_score_ : float
    best_coords_ : list of float
        World (mm) position of the best sphere's centre.
    chance_level_ : float
    classes_ : list of str
    mask_img_ : nibabel 3D image
    n_samples_, n_voxels_ : int
    """

    _kind = "searchlight"

    def plot(self, ax=None, **kwargs):
        """Draw the histogram of the spheres' scores with chance and the best sphere;
        return the :class:`~brainviz.backend.displays.SearchlightDisplay`."""
        from .displays import SearchlightDisplay

        return SearchlightDisplay.from_result(self, **kwargs).plot(ax=ax)
    _fields = {
        "scores_img_": "image",
        "best_score_": "json",
        "best_coords_": "json",
        "chance_level_": "json",
        "classes_": "json",
        "mask_img_": "image",
        "n_samples_": "json",
        "n_voxels_": "json",
    }


def _chunk_scores(X, y, groups, mask_img, centres, radius, estimator, C, cv, n_folds,
                  scoring, random_state):
    """nilearn SearchLight with spheres centred on ``centres`` (voxel indices) only."""
    import warnings

    import nibabel as nib
    from nilearn.decoding import SearchLight
    from nilearn.masking import unmask

    mask = np.asanyarray(mask_img.dataobj).astype(bool)
    process = np.zeros(mask.shape, dtype=np.uint8)
    process[tuple(np.asarray(centres).T)] = 1
    splits = _splits(cv, n_folds, y, groups, random_state)
    model = SearchLight(
        mask_img, process_mask_img=nib.Nifti1Image(process, mask_img.affine), radius=radius,
        estimator=_make_estimator(estimator, C, None, random_state), n_jobs=1,
        scoring=scoring, cv=splits, verbose=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(unmask(X, mask_img), y, groups=groups)
    return np.asarray(model.scores_)[tuple(np.asarray(centres).T)]


def _searchlight_step(data_key, X, y, groups, mask_img, radius, estimator, C, cv, n_folds,
                      scoring, random_state, n_chunks, progress, n_jobs):
    """Scores of every sphere (cached; X is keyed by data_key)."""
    from joblib import Parallel, delayed

    mask = np.asanyarray(mask_img.dataobj).astype(bool)
    centres = np.argwhere(mask)
    chunks = [c for c in np.array_split(centres, n_chunks) if len(c)]
    tasks = (delayed(_chunk_scores)(X, y, groups, mask_img, chunk, radius, estimator, C, cv,
                                    n_folds, scoring, random_state) for chunk in chunks)
    scores = np.zeros(mask.shape, dtype=np.float32)
    done = 0
    for chunk, values in zip(chunks, Parallel(n_jobs=n_jobs,
                                              return_as=_parallel.return_as())(tasks)):
        scores[tuple(chunk.T)] = values
        done += len(chunk)
        progress(done / len(centres), f"{done}/{len(centres)} spheres")
    return scores


class SearchlightJob(DecodingJob):
    """Searchlight decoding (nilearn's ``SearchLight``) with the decoding job's cleaning and CV.

    Parameters
    ----------
    radius : float, default=6.0
        Sphere radius in mm.
    estimator : {"svc", "logistic_l1", "logistic_l2", "ridge"}, default="svc"
        As for :class:`~brainviz.backend.DecodingJob` (no screening inside a sphere).
    n_chunks : int, default=16
        Groups of spheres, each one joblib task (and a progress step).
    C, cv, n_folds, classes, scoring, random_state
        As for :class:`~brainviz.backend.DecodingJob`.
    standardize, detrend, high_pass, low_pass, t_r, confounds_strategy, confounds_params
        Cleaning, as for :class:`~brainviz.backend.DecodingJob`.
    hrf_delay, no_event_label
        For BIDS events, as for :class:`~brainviz.backend.DecodingJob`.
    memory, n_jobs, backend, scheduler
        As for :class:`~brainviz.backend.DecodingJob`.
    """

    _kind = "searchlight"
    _choices = {"estimator": _SEARCHLIGHT_ESTIMATORS, "cv": ("leave-one-run-out", "kfold"),
                "scoring": ("accuracy", "balanced_accuracy")}

    def __init__(self, radius=6.0, estimator="svc", C=1.0, cv="leave-one-run-out", n_folds=5,
                 classes=None, standardize=True, detrend=True, high_pass=None, low_pass=None,
                 t_r=None, confounds_strategy=None, confounds_params=None, hrf_delay=5.0,
                 no_event_label="rest", scoring="accuracy", n_chunks=16, random_state=0,
                 memory=None, n_jobs=None, backend=None, scheduler=None):
        self.radius = radius
        self.estimator = estimator
        self.C = C
        self.cv = cv
        self.n_folds = n_folds
        self.classes = classes
        self.standardize = standardize
        self.detrend = detrend
        self.high_pass = high_pass
        self.low_pass = low_pass
        self.t_r = t_r
        self.confounds_strategy = confounds_strategy
        self.confounds_params = confounds_params
        self.hrf_delay = hrf_delay
        self.no_event_label = no_event_label
        self.scoring = scoring
        self.n_chunks = n_chunks
        self.random_state = random_state
        self.memory = memory
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler

    # DecodingJob's checks read these; a searchlight has neither
    screening_percentile = None
    n_permutations = 0

    def _check_params(self):
        super()._check_params()
        name = type(self).__name__
        if not (isinstance(self.radius, (int, float)) and not isinstance(self.radius, bool)
                and self.radius > 0):
            raise ParameterError(
                f"The 'radius' parameter of {name} must be a positive number of mm; "
                f"got {self.radius!r}."
            )
        if not (isinstance(self.n_chunks, (int, np.integer)) and self.n_chunks >= 1):
            raise ParameterError(
                f"The 'n_chunks' parameter of {name} must be a positive integer; "
                f"got {self.n_chunks!r}."
            )

    def run(self, imgs, labels=None, runs=None, mask=None, progress=None, cancel_event=None,
            log=None, *, events=None, confounds=None):
        """Run the searchlight; arguments as for :meth:`DecodingJob.run`.

        ``mask`` is where spheres are centred and what they read; ``None``
        computes a background mask from the data (every in-brain voxel: slow
        at full resolution).

        Returns
        -------
        SearchlightResult
        """
        import nibabel as nib

        from .decoding import _summary

        d = self._prepare(imgs, labels, runs, mask, events, confounds, progress, cancel_event,
                          log)
        prog = d.prog
        summary = _summary(d.img_keys)
        X, mask_out = self._cleaned_samples(d, 0.01)
        params = dict(radius=float(self.radius), estimator=self.estimator, C=float(self.C),
                      cv=self.cv, n_folds=self.n_folds, scoring=self.scoring,
                      random_state=self.random_state)
        with d.parallel.context() as runner:
            scores = runner.call(
                cached_call, d.memory, _searchlight_step, d.data_key, X, d.y, d.groups, mask_out,
                n_chunks=int(self.n_chunks), progress=prog.sub(0.05, 1.0),
                n_jobs=d.parallel.n_jobs,
                ignore=("X", "mask_img", "progress", "n_jobs", "n_chunks"),
                kind="searchlight", params=params, inputs=summary, log=prog.log,
                on_retry=prog.log, **params,
            )
        mask = np.asanyarray(mask_out.dataobj).astype(bool)
        best = np.unravel_index(np.argmax(np.where(mask, scores, -np.inf)), mask.shape)
        xyz = mask_out.affine[:3, :3] @ np.asarray(best, float) + mask_out.affine[:3, 3]
        _, counts = np.unique(d.y, return_counts=True)
        params_out = {k: v for k, v in self.get_params().items()
                      if k not in ("memory", "scheduler")}
        result = SearchlightResult(
            params=params_out, inputs=d.names,
            scores_img_=nib.Nifti1Image(scores, mask_out.affine), best_score_=float(scores[best]),
            best_coords_=[float(v) for v in xyz], chance_level_=float(counts.max() / counts.sum()),
            classes_=[str(c) for c in np.unique(d.y)], mask_img_=mask_out,
            n_samples_=int(len(d.y)), n_voxels_=int(mask.sum()),
        )
        prog(1.0, f"best score {result.best_score_:.3f} at {np.round(xyz, 1).tolist()} mm")
        return self._set_result(result)



