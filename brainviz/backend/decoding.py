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
import numpy as np

from ..exceptions import DataValueError, ParameterError, ShapeMismatchError
from . import _inputs
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
    parts = [_mask_image(img, mask) for img in imgs]
    X = np.ascontiguousarray(np.concatenate(parts) if len(parts) > 1 else parts[0])
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), mask_img.affine)
    return X, mask_img


def _mask_image(img, mask):
    """One image's in-mask values as (n_frames, n_voxels) float32."""
    data = img.get_fdata(dtype=np.float32)
    return data[mask][None, :] if data.ndim == 3 else data[mask].T


def _clean_step(memory, img_keys, imgs, mask_key, mask_img, runs, detrend, standardize):
    """Masked data cleaned per run (detrend, z-score)."""
    from nilearn.signal import clean

    X, mask_img = cached_call(
        memory, _mask_step, img_keys, imgs, mask_key, mask_img,
        ignore=("imgs", "mask_img"), kind="decoding: masking",
        params={"mask": str(mask_key[1]) if mask_key else "computed"},
        inputs=_summary(img_keys),
    )
    if detrend or standardize:
        X = clean(
            X, runs=runs, detrend=detrend,
            standardize="zscore_sample" if standardize else None,
            standardize_confounds=False, ensure_finite=True,
        ).astype(np.float32, copy=False)
    return X, mask_img


def _summary(img_keys):
    names = [k[1] if k[0] == "file" else f"<array {'x'.join(map(str, k[3]))}>" for k in img_keys]
    if len(names) > 3:
        return f"{names[0]} ... {names[-1]} ({len(names)} images)"
    return ", ".join(str(n) for n in names)


def _make_estimator(estimator, C, screening_percentile, random_state):
    from sklearn.feature_selection import SelectPercentile, f_classif
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if estimator == "svc":
        model = LinearSVC(C=C, dual="auto", max_iter=5000, random_state=random_state)
    elif estimator == "logistic_l1":
        from sklearn.multiclass import OneVsRestClassifier

        # liblinear is the fast L1 solver but binary only: one-vs-rest it
        model = OneVsRestClassifier(LogisticRegression(
            C=C, solver="liblinear", l1_ratio=1.0, max_iter=1000, random_state=random_state
        ))
    elif estimator == "logistic_l2":
        model = LogisticRegression(C=C, max_iter=1000, random_state=random_state)
    elif estimator == "ridge":
        model = RidgeClassifier(alpha=1.0 / (2.0 * C))
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

        from nilearn.decoding import SpaceNetClassifier
        from nilearn.masking import apply_mask, unmask

        model = SpaceNetClassifier(
            penalty=estimator, mask=mask_img, standardize=False,
            screening_percentile=100 if screening_percentile is None else screening_percentile,
            max_iter=spacenet_max_iter, cv=3, n_alphas=5, l1_ratios=0.5, verbose=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(unmask(X[train], mask_img), y[train])
            pred = model.predict(unmask(X[test], mask_img))
        coef_img = model.coef_img_
        coef = np.atleast_2d(apply_mask(coef_img, mask_img))
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
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
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
        Keep this percentile of voxels by ANOVA F-score inside each training
        fold; ``None`` or 100 keeps all.
    standardize, detrend : bool, default=True
        Z-score / linearly detrend each voxel within each run.
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
        if self.n_permutations and self.estimator in _SPACENET:
            raise ParameterError(
                f"The permutation test of {name} supports estimators "
                f"{sorted(set(ESTIMATORS) - set(_SPACENET))}; got {self.estimator!r}."
            )

    def run(self, imgs, labels, runs=None, mask=None, progress=None, cancel_event=None, log=None):
        """Run the decoding.

        Parameters
        ----------
        imgs : path, nibabel image, Volume, or list of them
            One 4D image or a list of 3D (or 4D) images, in time order.
        labels : sequence of str, length n_volumes
        runs : sequence of int or None
            Run (session) of each volume; needed by leave-one-run-out and by
            per-run cleaning.
        mask : path, nibabel image, Volume or None
            On the images' grid (else ShapeMismatchError). ``None`` computes
            a background mask from the data.
        progress : callable(fraction, message) or None
        cancel_event : threading.Event or None
            Checked between steps and folds; set it to stop the job
            (JobCancelledError).
        log : callable(line) or None

        Returns
        -------
        DecodingResult
        """
        from . import _parallel

        prog, backend, n_jobs, img_list, names = self._begin(imgs, progress, cancel_event, log)
        owner = type(self).__name__
        _inputs.check_same_grid(img_list, names, "images")
        n_volumes = sum(i.shape[3] if len(i.shape) == 4 else 1 for i in img_list)
        labels = np.asarray(labels).astype(str)
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
        keep = np.ones(n_volumes, dtype=bool)
        if self.classes is not None:
            wanted = [str(c) for c in self.classes]
            missing = sorted(set(wanted) - set(labels))
            if missing:
                raise ParameterError(
                    f"The 'classes' parameter of {owner} names labels absent from the data: "
                    f"{missing}; labels present: {sorted(set(labels.tolist()))}."
                )
            keep = np.isin(labels, wanted)
        y, groups = labels[keep], runs_arr[keep]
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

        clean_args = (memory, img_keys, img_list, mask_key, mask_img, runs_arr,
                      bool(self.detrend), bool(self.standardize))
        clean_ignore = ("memory", "imgs", "mask_img")
        data_key = (img_keys, mask_key, runs_arr.tolist(), bool(self.detrend),
                    bool(self.standardize))
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

        sel = np.flatnonzero(keep)
        if is_cached(memory, _fit_step, data_key, None, mask_img=None, progress=None,
                     n_jobs=None, ignore=fit_ignore, **fit_kwargs):
            prog.log("decoding: identical run found in the cache")
            X_sel, mask_out = None, None
        else:
            prog(0.02, "masking and cleaning images")
            X, mask_out = cached_call(
                memory, _clean_step, *clean_args, ignore=clean_ignore,
                kind="decoding: cleaning", inputs=summary, log=prog.log,
                params={"detrend": self.detrend, "standardize": self.standardize},
            )
            X_sel = X[sel] if not keep.all() else X
            del X
            prog.check_cancel()
        with _parallel.parallel_context(backend, n_jobs, self.scheduler) as parallel:
            out = parallel.call(
                cached_call, memory, _fit_step, data_key, X_sel, mask_img=mask_out,
                on_retry=prog.log, progress=prog.sub(0.1, 1.0), n_jobs=n_jobs, ignore=fit_ignore,
                kind="decoding: fit", params=key_params, inputs=summary, log=prog.log,
                **fit_kwargs,
            )
        result = self._make_result(out, out["mask"], names, y)
        prog(1.0, f"mean score {result.mean_score_:.3f} (chance {result.chance_level_:.3f})")
        return self._set_result(result)

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
            maps[cls] = nib.Nifti1Image(vol, mask_img.affine)
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        return DecodingResult(
            params=params, inputs=names,
            scores_=out["scores"], mean_score_=float(np.mean(out["scores"])),
            chance_level_=out["chance"], classes_=classes, confusion_=out["confusion"],
            weight_maps_=maps, mask_img_=mask_img, pvalue_=out["pvalue"],
            permutation_scores_=out["perm_scores"], n_samples_=int(len(y)),
            n_voxels_=int(mask.sum()),
        )


def _short(names):
    return names[0] if len(names) == 1 else f"{names[0]} ... ({len(names)} images)"
