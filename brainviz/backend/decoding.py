"""Decoding: predict a condition from brain images, with cross-validation.

The work is split into three cached steps so that each change of parameters
recomputes only what it must:

1. masking (images + mask -> samples x voxels), keyed by the image and mask
   fingerprints;
2. cleaning (detrending, standardisation per run, ``nilearn.signal.clean``),
   keyed by step 1's key and the runs;
3. cross-validated fitting, keyed by step 2's key, the labels and the model
   parameters. A new estimator or C reuses steps 1 and 2; an identical rerun
   loads step 3's output without touching the data.
"""
import os

import numpy as np

from ..exceptions import DataValueError, ParameterError, ShapeMismatchError
from . import _cleaning, _inputs, _parallel
from .cache import cached_call, check_memory, is_cached
from .jobs import BaseJob
from .results import Result

__all__ = ["DecodingJob", "DecodingResult", "ESTIMATORS"]

#: estimator name -> description
ESTIMATORS = {
    "svc": "linear support vector machine (sklearn LinearSVC, L2 penalty)",
    "logistic_l1": "L1-penalised logistic regression (sparse weights)",
    "logistic_l2": "L2-penalised logistic regression",
    "ridge": "ridge classifier (alpha = 1 / (2 C))",
    "tv-l1": "TV-L1 penalised logistic regression (nilearn SpaceNet)",
    "graph-net": "Graph-Net penalised logistic regression (nilearn SpaceNet)",
}
_SPACENET = ("tv-l1", "graph-net")
_CV = ("leave-one-run-out", "kfold")
_SCORING = ("accuracy", "balanced_accuracy")


class DecodingResult(Result):
    """What a :class:`DecodingJob` found.

    Attributes
    ----------
    scores_ : ndarray (n_folds,)
        Test score of each cross-validation fold.
    mean_score_ : float
    chance_level_ : float
        Score of always predicting the most frequent class.
    classes_ : list of str
    confusion_ : ndarray (n_classes, n_classes) int
        Rows: true class, columns: predicted class (summed over folds).
    weight_maps_ : dict class -> nibabel 3D image
        Mean over folds of each class's (one-vs-rest) model weights, unmasked.
    mask_img_ : nibabel 3D image
    pvalue_ : float or None
        Permutation-test p-value (``n_permutations > 0``).
    permutation_scores_ : ndarray or None
    n_samples_, n_voxels_ : int
    """

    _kind = "decoding"
    _fields = {
        "scores_": "array",
        "mean_score_": "json",
        "chance_level_": "json",
        "classes_": "json",
        "confusion_": "array",
        "weight_maps_": "images",
        "mask_img_": "image",
        "pvalue_": "json",
        "permutation_scores_": "array",
        "n_samples_": "json",
        "n_voxels_": "json",
    }

    def plot(self, what="scores", ax=None, **kwargs):
        """Draw the fold scores against chance (``what="scores"``, with the permutation null when
        it was run) or the confusion matrix (``what="confusion"``); return the display
        (:class:`~brainviz.backend.displays.ScoresDisplay` or ``ConfusionDisplay``), whose
        ``figure_`` holds the figure."""
        from .displays import ConfusionDisplay, ScoresDisplay

        classes = {"scores": ScoresDisplay, "confusion": ConfusionDisplay}
        if what not in classes:
            raise ParameterError(f"what must be one of {sorted(classes)}; got {what!r}")
        return classes[what].from_result(self, **kwargs).plot(ax=ax)

    def _table_names(self, name):
        classes = [str(c) for c in (self.classes_ or [])]
        if name == "scores_":
            return {"columns": ["score"],
                    "rows": [str(i + 1) for i in range(len(self.scores_))], "corner": "fold"}
        if name == "confusion_":
            return {"columns": classes, "rows": classes, "corner": "true \\ predicted"}
        if name == "permutation_scores_":
            return {"columns": ["score"]}
        return None


# --- cached steps (module level: joblib hashes their code) ------------------
def _mask_step(img_keys, imgs, mask_key, mask_img):
    """Images -> (samples x voxels float32, mask image)."""
    import nibabel as nib
    from nilearn.masking import compute_background_mask

    if mask_img is None:
        mask_img = compute_background_mask(imgs[0] if len(imgs) == 1 else imgs)
    mask = np.asanyarray(mask_img.dataobj).astype(bool)
    if mask.ndim == 4:
        mask = mask[..., 0]
    if not mask.any():
        raise DataValueError("The mask is empty: no voxel to decode from.")
    # one output array filled image by image: the peak is the output plus one
    # image in its stored type (int16 stays int16 until it lands in X)
    frames = [img.shape[3] if len(img.shape) == 4 else 1 for img in imgs]
    X = np.empty((sum(frames), int(mask.sum())), dtype=np.float32)
    pos = 0
    for img, n in zip(imgs, frames):
        _mask_image(img, mask, X[pos:pos + n])
        pos += n
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), mask_img.affine)
    return X, mask_img


def _mask_image(img, mask, out):
    """Write one image's in-mask values into ``out`` ((n_frames, n_voxels) float32).

    A 4D ``.nii.gz`` is inflated a few volumes at a time (never the whole run in memory: a
    2 mm fMRIPrep run in float32 is 1.3 GB), its in-mask voxels taken from each block in
    the order ``data[mask]`` gives them (C order of the mask). Stored numbers that nibabel
    scales (``scl_slope``) are scaled a few volumes at a time too, only the mask's voxels:
    nibabel's whole series scaled at once is float64, four times an int16 file."""
    stream = _inputs.gzip_stream_spec(img)
    name = _inputs.image_name(img)
    with _inputs.reading(img):
        if stream is not None:
            path, offset, shape, dtype, scaling = stream
            inside = np.ravel_multi_index(np.nonzero(mask), shape[:3], order="F")
            for t0, t1, volumes in _inputs.gzip_volume_blocks(
                    path, offset, shape, dtype, 8, name):
                values = volumes.take(inside, axis=1)
                out[t0:t1] = values if scaling is None else _inputs.scaled_values(
                    scaling, values)
            return out
        # nibabel scales to float only when the header says so; int16 stays int16 here
        data, scaling = _inputs.stored_data(img)
        if scaling is not None:
            if data.ndim == 3:
                out[...] = _inputs.scaled_values(scaling, data[mask])[None, :]
                return out
            for t0 in range(0, data.shape[3], 8):
                part = data[..., t0:t0 + 8][mask].T  # (volumes, voxels), stored numbers
                out[t0:t0 + part.shape[0]] = _inputs.scaled_values(scaling, part)
            return out
    if data.dtype.kind not in "biuf":
        data = data.astype(np.float32)
    out[...] = data[mask][None, :] if data.ndim == 3 else data[mask].T
    return out


def _clean_step(memory, img_keys, imgs, mask_key, mask_img, runs, clean_key, confounds_keys,
                confounds, sample_masks, t_r):
    """Masked data cleaned run by run (``nilearn.signal.clean``: confounds, filters,
    detrending, z-scoring); volumes outside a run's sample mask (scrubbing) dropped.

    Keyed by the masking key, the runs, the cleaning parameters and the
    confounds' fingerprints: new cleaning parameters reuse the masked data.
    """
    X, mask_img = cached_call(
        memory, _mask_step, img_keys, imgs, mask_key, mask_img,
        ignore=("imgs", "mask_img"), kind="decoding: masking",
        params={"mask": str(mask_key[1]) if mask_key else "computed"},
        inputs=_summary(img_keys),
    )
    detrend, standardize, high_pass, low_pass = clean_key[:4]
    nothing = not (detrend or standardize or high_pass or low_pass) and all(
        c is None for c in confounds) and all(m is None for m in sample_masks)
    if nothing:
        return X, mask_img
    keep = _kept_volumes(runs, sample_masks)
    # cleaned in place, one run at a time: one copy of the data plus one run
    for r, conf, sm in zip(_run_ids(runs), confounds, sample_masks):
        rows = np.flatnonzero(np.asarray(runs) == r)
        kept = rows if sm is None else rows[np.asarray(sm)]
        X[kept] = _cleaning.clean_signals(
            X[rows], conf, sm, detrend=detrend, standardize=standardize,
            high_pass=high_pass, low_pass=low_pass, t_r=t_r)
    return (X if keep.all() else X[keep]), mask_img


def _run_ids(runs):
    """The run ids in order of first appearance."""
    return list(dict.fromkeys(np.asarray(runs).tolist()))


def _kept_volumes(runs, sample_masks):
    """Boolean per volume: kept by its run's sample mask (scrubbing)."""
    runs = np.asarray(runs)
    keep = np.ones(len(runs), dtype=bool)
    for r, sm in zip(_run_ids(runs), sample_masks):
        if sm is not None:
            rows = np.flatnonzero(runs == r)
            keep[rows] = False
            keep[rows[np.asarray(sm)]] = True
    return keep


def _summary(img_keys):
    names = [k[1] if k[0] == "file" else f"<array {'x'.join(map(str, k[3]))}>" for k in img_keys]
    if len(names) > 3:
        return f"{names[0]} ... {names[-1]} ({len(names)} images)"
    return ", ".join(str(n) for n in names)


def _penalty(kind):
    """LogisticRegression's penalty, spelled as the installed scikit-learn wants it.

    scikit-learn < 1.8 reads ``penalty`` (and ignores ``l1_ratio`` unless
    elastic-net); 1.8 deprecates ``penalty`` for ``l1_ratio`` (1: L1, 0: L2).
    """
    from sklearn.linear_model import LogisticRegression

    if LogisticRegression().get_params().get("penalty") == "deprecated":
        return {"l1_ratio": 1.0 if kind == "l1" else 0.0}
    return {"penalty": kind}


def _make_estimator(estimator, C, screening_percentile, random_state):
    from sklearn.feature_selection import SelectPercentile, f_classif
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    # Every parameter that decides the model is spelled out, so that a change of
    # scikit-learn's defaults cannot change a model silently.
    if estimator == "svc":
        model = LinearSVC(penalty="l2", loss="squared_hinge", C=C, dual="auto", tol=1e-4,
                          fit_intercept=True, intercept_scaling=1, class_weight=None,
                          max_iter=5000, random_state=random_state)
    elif estimator == "logistic_l1":
        from sklearn.multiclass import OneVsRestClassifier

        # liblinear is the fast L1 solver but binary only: one-vs-rest it
        model = OneVsRestClassifier(LogisticRegression(
            C=C, solver="liblinear", tol=1e-4, fit_intercept=True, intercept_scaling=1,
            class_weight=None, max_iter=1000, random_state=random_state, **_penalty("l1"),
        ))
    elif estimator == "logistic_l2":
        model = LogisticRegression(C=C, solver="lbfgs", tol=1e-4, fit_intercept=True,
                                   class_weight=None, max_iter=1000, random_state=random_state,
                                   **_penalty("l2"))
    elif estimator == "ridge":
        model = RidgeClassifier(alpha=1.0 / (2.0 * C), fit_intercept=True, tol=1e-4,
                                solver="auto", class_weight=None)
    else:  # pragma: no cover - checked before
        raise ParameterError(estimator)
    steps = []
    if screening_percentile is not None and screening_percentile < 100:
        steps.append(SelectPercentile(f_classif, percentile=screening_percentile))
    steps.append(model)
    return make_pipeline(*steps)


def _coef_full(pipe, n_features):
    """Model weights in voxel space, one row per class (or one for binary)."""
    model = pipe[-1]
    if hasattr(model, "estimators_"):  # OneVsRestClassifier
        coef = np.vstack([np.atleast_2d(e.coef_) for e in model.estimators_])
    else:
        coef = np.atleast_2d(model.coef_)
    if len(pipe) > 1:
        coef = pipe[0].inverse_transform(coef)
    return coef.reshape(coef.shape[0], n_features)


def _fit_fold(estimator, C, screening_percentile, random_state, X, y, train, test,
              mask_img, spacenet_max_iter):
    """Fit one fold; return (predictions, coef in voxel space)."""
    if estimator in _SPACENET:
        import warnings

        import nibabel as nib
        from nilearn.decoding import SpaceNetClassifier
        from nilearn.masking import apply_mask, unmask

        # The screening is done here, as for the other estimators (a percentile of
        # the mask's voxels by ANOVA F on the training fold): SpaceNet's own
        # screening rescales the percentile to the MNI brain's volume.
        cols = np.ones(X.shape[1], dtype=bool)
        if screening_percentile is not None and screening_percentile < 100:
            from sklearn.feature_selection import SelectPercentile, f_classif

            cols = SelectPercentile(f_classif, percentile=screening_percentile).fit(
                X[train], y[train]).get_support()
        mask = np.asanyarray(mask_img.dataobj).astype(bool)
        fit_mask = np.zeros(mask.shape, dtype=np.uint8)
        fit_mask[mask] = cols
        fit_mask_img = nib.Nifti1Image(fit_mask, mask_img.affine)
        model = SpaceNetClassifier(
            penalty=estimator, mask=fit_mask_img, standardize=_cleaning.no_standardize(),
            screening_percentile=100, max_iter=spacenet_max_iter, cv=3, n_alphas=5,
            l1_ratios=0.5, verbose=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(unmask(X[train][:, cols], fit_mask_img), y[train])
            pred = model.predict(unmask(X[test][:, cols], fit_mask_img))
        coef = np.atleast_2d(apply_mask(model.coef_img_, mask_img))
        if coef.shape[0] != np.atleast_2d(model.coef_).shape[0]:
            coef = coef.T
        return np.asarray(pred), coef
    pipe = _make_estimator(estimator, C, screening_percentile, random_state)
    pipe.fit(X[train], y[train])
    return pipe.predict(X[test]), _coef_full(pipe, X.shape[1])


def _fit_step(data_key, X, y, groups, estimator, C, screening_percentile, cv, n_folds,
              scoring, n_permutations, random_state, spacenet_max_iter, mask_img,
              progress, n_jobs):
    """Cross-validated decoding on cleaned data (cached; X is keyed by data_key)."""
    from joblib import Parallel, delayed
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

    classes = np.unique(y)
    splits = _splits(cv, n_folds, y, groups, random_state)
    score_fn = accuracy_score if scoring == "accuracy" else balanced_accuracy_score
    n_steps = len(splits) + (1 if n_permutations else 0)
    progress(0.0, f"fitting {len(splits)} folds")
    tasks = (
        delayed(_fit_fold)(estimator, C, screening_percentile, random_state, X, y,
                           train, test, mask_img, spacenet_max_iter)
        for train, test in splits
    )
    scores, coefs = [], []
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    parallel = Parallel(n_jobs=n_jobs, return_as=_parallel.return_as())
    for i, ((train, test), (pred, coef)) in enumerate(zip(splits, parallel(tasks))):
        scores.append(score_fn(y[test], pred))
        confusion += confusion_matrix(y[test], pred, labels=classes)
        coefs.append(coef)
        progress((i + 1) / n_steps, f"fold {i + 1}/{len(splits)}: score {scores[-1]:.3f}")
    coef = np.mean(coefs, axis=0)
    pvalue = perm_scores = None
    if n_permutations:
        from sklearn.model_selection import permutation_test_score

        progress(len(splits) / n_steps, f"permutation test ({n_permutations} permutations)")
        pipe = _make_estimator(estimator, C, screening_percentile, random_state)
        _, perm_scores, pvalue = permutation_test_score(
            pipe, X, y, groups=groups, cv=splits, n_permutations=n_permutations,
            scoring=scoring, random_state=random_state, n_jobs=n_jobs,
        )
        pvalue = float(pvalue)
    _, counts = np.unique(y, return_counts=True)
    return {
        "scores": np.asarray(scores, dtype=float),
        "confusion": confusion,
        "classes": [str(c) for c in classes],
        "coef": coef.astype(np.float32),
        "chance": float(counts.max() / counts.sum()),
        "pvalue": pvalue,
        "perm_scores": None if perm_scores is None else np.asarray(perm_scores, dtype=float),
        "mask": mask_img,
    }


def _splits(cv, n_folds, y, groups, random_state):
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    if cv == "leave-one-run-out":
        return list(LeaveOneGroupOut().split(y, y, groups))
    return list(StratifiedKFold(n_splits=n_folds, shuffle=True,
                                random_state=random_state).split(y, y))


# --- the job -----------------------------------------------------------------
class DecodingJob(BaseJob):
    """Decode conditions from 4D brain images with cross-validation.

    Parameters
    ----------
    estimator : {"svc", "logistic_l1", "logistic_l2", "ridge", "tv-l1", "graph-net"}, default="svc"
        See :data:`ESTIMATORS`.
    C : float, default=1.0
        Inverse regularisation strength (ridge uses alpha = 1 / (2 C)).
    cv : {"leave-one-run-out", "kfold"}, default="leave-one-run-out"
    n_folds : int, default=5
        Folds for ``cv="kfold"`` (stratified, shuffled with ``random_state``).
    classes : list of str or None, default=None
        Labels to decode; the other volumes (e.g. "rest") are left out of the
        fit after cleaning. ``None`` keeps all labels.
    screening_percentile : float or None, default=None
        Keep this percentile of the mask's voxels by ANOVA F-score inside each
        training fold; ``None`` or 100 keeps all. It means the same for every
        estimator: tv-l1 / graph-net are fitted on the screened voxels (nilearn's
        SpaceNet alone would rescale the percentile to the MNI brain's volume).
    standardize, detrend : bool, default=True
        Z-score / linearly detrend each voxel within each run.
    high_pass, low_pass : float or None, default=None
        Butterworth filter cut-offs in Hz, per run (``nilearn.signal.clean``).
    t_r : float or None, default=None
        Repetition time in s; None reads it from the images' header. Needed by
        the filters and by ``events``.
    confounds_strategy : list of str or None, default=None
        fMRIPrep confounds strategy (``nilearn.interfaces.fmriprep.load_confounds``),
        e.g. ``["motion", "wm_csf", "scrub"]``; scrubbed volumes are left out.
    confounds_params : dict or None, default=None
        Its parameters, e.g. ``{"motion": "full", "fd_threshold": 0.5}``.
    hrf_delay : float, default=5.0
        With ``events``: seconds between a stimulus and the volume that shows
        it (the haemodynamic delay, usually 4-6 s). A volume acquired at time
        t is labelled with the event under ``t - hrf_delay``.
    no_event_label : str or None, default="rest"
        With ``events``: the label of volumes under no event; None leaves them
        out of the fit (they are still cleaned with their run).
    scoring : {"accuracy", "balanced_accuracy"}, default="accuracy"
    n_permutations : int, default=0
        If positive, a permutation test gives ``pvalue_``.
    random_state : int, default=0
    spacenet_max_iter : int, default=200
        Solver iterations for tv-l1 / graph-net.
    memory : None, str, path, False or joblib.Memory, default=None
        Cache (see :func:`brainviz.backend.cache.check_memory`).
    n_jobs : int or None, default=None
        Folds fitted in parallel (``None``: ``BRAINVIZ_N_JOBS`` or 1).
    backend : str or None, default=None
        joblib backend ("loky", "threading", "dask", ...).
    scheduler : str or None, default=None
        dask.distributed scheduler address for ``backend="dask"``.
    """

    _kind = "decoding"
    _choices = {"estimator": tuple(ESTIMATORS), "cv": _CV, "scoring": _SCORING}

    def __init__(self, estimator="svc", C=1.0, cv="leave-one-run-out", n_folds=5,
                 classes=None, screening_percentile=None, standardize=True, detrend=True,
                 high_pass=None, low_pass=None, t_r=None, confounds_strategy=None,
                 confounds_params=None, hrf_delay=5.0, no_event_label="rest",
                 scoring="accuracy", n_permutations=0, random_state=0, spacenet_max_iter=200,
                 memory=None, n_jobs=None, backend=None, scheduler=None):
        self.estimator = estimator
        self.C = C
        self.cv = cv
        self.n_folds = n_folds
        self.classes = classes
        self.screening_percentile = screening_percentile
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
        self.n_permutations = n_permutations
        self.random_state = random_state
        self.spacenet_max_iter = spacenet_max_iter
        self.memory = memory
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler

    def _check_params(self):
        super()._check_params()
        name = type(self).__name__
        if not isinstance(self.C, (int, float)) or not self.C > 0:
            raise ParameterError(
                f"The 'C' parameter of {name} must be a positive number; got {self.C!r}."
            )
        sp = self.screening_percentile
        if sp is not None and not (isinstance(sp, (int, float)) and 0 < sp <= 100):
            raise ParameterError(
                f"The 'screening_percentile' parameter of {name} must be in (0, 100] or "
                f"None; got {sp!r}."
            )
        if self.cv == "kfold" and not (isinstance(self.n_folds, int) and self.n_folds >= 2):
            raise ParameterError(
                f"The 'n_folds' parameter of {name} must be an integer >= 2; got {self.n_folds!r}."
            )
        if not (isinstance(self.hrf_delay, (int, float)) and not isinstance(self.hrf_delay, bool)
                and 0 <= self.hrf_delay < 60):
            raise ParameterError(
                f"The 'hrf_delay' parameter of {name} must be a number of seconds in [0, 60); "
                f"got {self.hrf_delay!r}."
            )
        if self.no_event_label is not None and not isinstance(self.no_event_label, str):
            raise ParameterError(
                f"The 'no_event_label' parameter of {name} must be a label (str) or None; "
                f"got {self.no_event_label!r}."
            )
        if self.n_permutations and self.estimator in _SPACENET:
            raise ParameterError(
                f"The permutation test of {name} supports estimators "
                f"{sorted(set(ESTIMATORS) - set(_SPACENET))}; got {self.estimator!r}."
            )

    def run(self, imgs, labels=None, runs=None, mask=None, progress=None, cancel_event=None,
            log=None, *, events=None, confounds=None):
        """Run the decoding.

        Parameters
        ----------
        imgs : path, nibabel image, Volume, or list of them
            One 4D image or a list of 3D (or 4D) images, in time order; with
            ``events``, one 4D image per run.
        labels : sequence of str, length n_volumes, or None
            One label per volume; or None with ``events``.
        runs : sequence of int or None
            Run (session) of each volume; needed by leave-one-run-out and by
            per-run cleaning. With ``events`` the runs are the images.
        mask : path, nibabel image, Volume or None
            On the images' grid (else ShapeMismatchError). ``None`` computes
            a background mask from the data.
        progress : callable(fraction, message) or None
        cancel_event : threading.Event or None
            Checked between steps and folds; set it to stop the job
            (JobCancelledError).
        log : callable(line) or None
        events : list of paths (BIDS ``events.tsv``) or None
            One per image (run): ``onset``, ``duration`` (s) and ``trial_type``
            columns. Volumes get the label of the event under their time
            minus ``hrf_delay``; see ``no_event_label``.
        confounds : list or None
            One entry per run (array, CSV/TSV, or with ``confounds_strategy``
            an fMRIPrep confounds file; see ``brainviz.backend._cleaning``).

        Returns
        -------
        DecodingResult
        """
        d = self._prepare(imgs, labels, runs, mask, events, confounds, progress, cancel_event,
                          log)
        prog, parallel, names, y, groups, memory, t_r = (
            d.prog, d.parallel, d.names, d.y, d.groups, d.memory, d.t_r)
        data_key, conf_keys, kept_volumes, img_keys = (
            d.data_key, d.conf_keys, d.kept_volumes, d.img_keys)
        fit_kwargs = dict(
            y=y, groups=groups, estimator=self.estimator, C=float(self.C),
            screening_percentile=self.screening_percentile, cv=self.cv,
            n_folds=self.n_folds, scoring=self.scoring,
            n_permutations=int(self.n_permutations or 0), random_state=self.random_state,
            spacenet_max_iter=self.spacenet_max_iter,
        )
        fit_ignore = ("X", "mask_img", "progress", "n_jobs")
        key_params = {k: v for k, v in fit_kwargs.items() if k not in ("y", "groups")}
        summary = _summary(img_keys)

        if is_cached(memory, _fit_step, data_key, None, mask_img=None, progress=None,
                     n_jobs=None, ignore=fit_ignore, **fit_kwargs):
            prog.log("decoding: identical run found in the cache")
            X_sel, mask_out = None, None
        else:
            X_sel, mask_out = self._cleaned_samples(d, 0.02)
        with parallel.context() as runner:
            out = runner.call(
                cached_call, memory, _fit_step, data_key, X_sel, mask_img=mask_out,
                on_retry=prog.log, progress=prog.sub(0.1, 1.0), n_jobs=parallel.n_jobs,
                ignore=fit_ignore,
                kind="decoding: fit", params=key_params, inputs=summary, log=prog.log,
                **fit_kwargs,
            )
        result = self._make_result(out, _inputs.with_space_of(out["mask"], d.img_list[0]), names,
                                   y)
        result.params["cleaning"] = dict(_cleaning.record(self, t_r, conf_keys),
                                         scrubbed_volumes=int((~kept_volumes).sum()))
        prog(1.0, f"mean score {result.mean_score_:.3f} (chance {result.chance_level_:.3f})")
        return self._set_result(result)

    def _prepare(self, imgs, labels, runs, mask, events, confounds, progress, cancel_event,
                 log):
        """Check everything and plan the masking and cleaning (nothing computed yet)."""
        import types

        prog, parallel, img_list, names = self._begin(imgs, progress, cancel_event, log)
        owner = type(self).__name__
        _inputs.check_same_grid(img_list, names, "images")
        frames = [i.shape[3] if len(i.shape) == 4 else 1 for i in img_list]
        n_volumes = sum(frames)
        t_r = _cleaning.resolve_t_r(self, img_list)
        if events is not None:
            labels, runs = self._labels_from_events(events, labels, runs, img_list, names,
                                                    frames, t_r)
        elif labels is None:
            raise ParameterError(
                f"{owner}.run needs labels (one per volume) or events (one events.tsv per run)."
            )
        labels = np.asarray(labels).astype(object)
        if labels.ndim != 1 or len(labels) != n_volumes:
            raise ShapeMismatchError(
                f"There are {len(labels)} labels but {n_volumes} volumes in {_short(names)}: "
                "give one label per volume."
            )
        if runs is None:
            if self.cv == "leave-one-run-out":
                raise ParameterError(
                    "cv='leave-one-run-out' needs the run of each volume (runs=...); "
                    "or use cv='kfold'."
                )
            runs_arr = np.zeros(n_volumes, dtype=int)
        else:
            runs_arr = np.asarray(runs)
            if runs_arr.ndim != 1 or len(runs_arr) != n_volumes:
                raise ShapeMismatchError(
                    f"There are {len(runs_arr)} run ids but {n_volumes} volumes: "
                    "give one per volume."
                )
        _cleaning.check_t_r(self, t_r)
        run_ids = _run_ids(runs_arr)
        run_frames = [int((runs_arr == r).sum()) for r in run_ids]
        run_imgs = img_list if len(img_list) == len(run_ids) and all(
            f == n for f, n in zip(frames, run_frames)) else None
        conf, conf_keys = _cleaning.resolve_confounds(self, confounds, run_imgs, run_frames)
        sample_masks = [sm for _, sm in conf]
        kept_volumes = _kept_volumes(runs_arr, sample_masks)
        # after cleaning: only the volumes kept by scrubbing remain
        labels, runs_clean = labels[kept_volumes], runs_arr[kept_volumes]
        keep = np.array([lab is not None for lab in labels], dtype=bool)
        labels = np.array(["" if lab is None else str(lab) for lab in labels])
        if self.classes is not None:
            wanted = [str(c) for c in self.classes]
            missing = sorted(set(wanted) - set(labels[keep]))
            if missing:
                raise ParameterError(
                    f"The 'classes' parameter of {owner} names labels absent from the data: "
                    f"{missing}; labels present: {sorted(set(labels[keep].tolist()))}."
                )
            keep &= np.isin(labels, wanted)
        y, groups = labels[keep], runs_clean[keep]
        classes = np.unique(y)
        if len(classes) < 2:
            raise DataValueError(
                "Decoding needs at least two classes; the labels hold only "
                f"{[str(c) for c in classes]}."
            )
        if self.cv == "leave-one-run-out":
            if len(np.unique(groups)) < 2:
                raise DataValueError(
                    "cv='leave-one-run-out' needs at least two runs; the data has only run "
                    f"{np.unique(groups).tolist()}. Use cv='kfold' instead."
                )
        else:
            _, counts = np.unique(y, return_counts=True)
            if counts.min() < self.n_folds:
                raise DataValueError(
                    f"cv='kfold' with n_folds={self.n_folds} needs at least {self.n_folds} "
                    f"samples of each class; the smallest class has {counts.min()}."
                )

        mask_img = None
        mask_key = None
        if mask is not None:
            mask_img = _inputs.as_image(mask, "mask")
            mask_name = _inputs.image_name(mask_img)
            _inputs.check_mask_grid(mask_img, img_list[0], mask_name, _short(names))
            mask_key = _inputs.image_fingerprint(mask_img)
        prog(0.0, "fingerprinting inputs")
        img_keys = [_inputs.image_fingerprint(i) for i in img_list]
        memory = check_memory(self.memory)

        clean_key = _cleaning.cleaning_key(self, t_r)
        clean_args = (memory, img_keys, img_list, mask_key, mask_img, runs_arr, clean_key,
                      conf_keys, [c for c, _ in conf], sample_masks, t_r)
        clean_ignore = ("memory", "imgs", "mask_img", "confounds", "sample_masks")
        data_key = (img_keys, mask_key, runs_arr.tolist(), clean_key, conf_keys)
        return types.SimpleNamespace(
            prog=prog, parallel=parallel, names=names, y=y, groups=groups, keep=keep,
            memory=memory, t_r=t_r, clean_args=clean_args, clean_ignore=clean_ignore,
            data_key=data_key, conf_keys=conf_keys, kept_volumes=kept_volumes,
            img_keys=img_keys, img_list=img_list, mask_img=mask_img)

    def _cleaned_samples(self, d, at):
        """The masked, cleaned data of the kept samples (rows of ``d.y``) and the mask: the
        cached cleaning step that decoding and searchlight share."""
        d.prog(at, "masking and cleaning images")
        X, mask_out = cached_call(
            d.memory, _clean_step, *d.clean_args, ignore=d.clean_ignore,
            kind="decoding: cleaning", inputs=_summary(d.img_keys), log=d.prog.log,
            params=_cleaning_params(self, d.t_r),
        )
        if not d.keep.all():
            X = X[np.flatnonzero(d.keep)]
        d.prog.check_cancel()
        return X, mask_out

    def _labels_from_events(self, events, labels, runs, img_list, names, frames, t_r):
        """Per-volume labels and runs from one BIDS events.tsv per run (image)."""
        owner = type(self).__name__
        if labels is not None:
            raise ParameterError(f"{owner}.run takes labels or events, not both.")
        if runs is not None:
            raise ParameterError(
                f"{owner}.run with events takes the runs from the images (one 4D image per "
                "run); give no runs.")
        events = [events] if isinstance(events, (str, os.PathLike)) else list(events)
        if len(events) != len(img_list):
            raise ShapeMismatchError(
                f"There are {len(events)} events files but {len(img_list)} images: give one "
                "events.tsv per run (one 4D image per run)."
            )
        if t_r is None:
            raise ParameterError(
                f"events need the repetition time: give t_r=... (seconds) to {owner} "
                "(--t-r on the command line); the images' headers hold none."
            )
        all_labels, all_runs = [], []
        for r, (ev, n) in enumerate(zip(events, frames)):
            table = _inputs.read_events(ev)
            all_labels += list(_inputs.events_to_labels(
                table, n, t_r, self.hrf_delay, self.no_event_label))
            all_runs += [r] * n
        return np.array(all_labels, dtype=object), np.array(all_runs)

    def _make_result(self, out, mask_img, names, y):
        import nibabel as nib

        mask = np.asanyarray(mask_img.dataobj).astype(bool)
        classes = out["classes"]
        coef = out["coef"]
        maps = {}
        rows = coef
        # binary: sklearn's single row is the positive (second) class
        if coef.shape[0] == 1 and len(classes) == 2:
            rows = [-coef[0], coef[0]]
        for cls, row in zip(classes, rows):
            vol = np.zeros(mask.shape, dtype=np.float32)
            vol[mask] = row
            maps[cls] = _inputs.with_space_of(nib.Nifti1Image(vol, mask_img.affine), mask_img)
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        return DecodingResult(
            params=params, inputs=names,
            scores_=out["scores"], mean_score_=float(np.mean(out["scores"])),
            chance_level_=out["chance"], classes_=classes, confusion_=out["confusion"],
            weight_maps_=maps, mask_img_=mask_img, pvalue_=out["pvalue"],
            permutation_scores_=out["perm_scores"], n_samples_=int(len(y)),
            n_voxels_=int(mask.sum()),
        )


def _cleaning_params(job, t_r):
    return {"detrend": job.detrend, "standardize": job.standardize, "high_pass": job.high_pass,
            "low_pass": job.low_pass, "t_r": t_r, "confounds_strategy": job.confounds_strategy}


def _short(names):
    return names[0] if len(names) == 1 else f"{names[0]} ... ({len(names)} images)"
