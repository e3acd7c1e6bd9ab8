"""Region learning: CanICA or dictionary learning over subjects' 4D images.

The work, and what is cached where:

- each subject's masking, cleaning and PCA reduction: nilearn's own per-subject
  steps, cached per subject in the job's cache (nilearn's ``memory_level=3``),
  run through joblib (``n_jobs``, ``backend``, ``scheduler``); adding a subject
  computes only that subject's reduction (the ``decomposition`` then reads the
  others from the cache);
- the group decomposition (keyed by the subjects' fingerprints and the model
  parameters), then the optional region extraction (keyed by the decomposition);
- per subject, one joblib task each: the region time series (NiftiMapsMasker)
  and the dual regression giving the subject's own maps and time series, each
  cached per subject.

Unless a backend is chosen, the per-subject work (nilearn's reduction and ICA
restarts, then the job's tasks) runs on threads with one BLAS thread per task
(``_parallel.threads_unless_chosen``): the numbers are nilearn's with ``n_jobs``
worker processes, without starting them.
"""
import contextlib

import numpy as np

from ..exceptions import DataValueError, ParameterError
from . import _cleaning, _inputs, _parallel
from .cache import cached_call, check_memory
from .jobs import BaseJob
from .results import Result

__all__ = ["RegionJob", "RegionResult", "dual_regression"]


class RegionResult(Result):
    """What a :class:`RegionJob` found.

    Attributes
    ----------
    components_img_ : nibabel 4D image
        One frame per component.
    regions_img_ : nibabel 4D image
        One frame per region (the components themselves without extraction).
    region_labels_ : list of str
    region_index_ : ndarray of int
        Component each region comes from.
    timeseries_ : list of ndarray (n_timepoints, n_regions)
        Each subject's region time series (NiftiMapsMasker on the regions).
    individual_maps_ : dict subject name -> nibabel 4D image, or None
        Each subject's own maps of the regions (dual regression, stage 2),
        one frame per region; saved as one 4D NIfTI per subject.
    individual_timeseries_ : list of ndarray (n_timepoints, n_regions), or None
        Each subject's own region time courses (dual regression, stage 1).
    mask_img_ : nibabel 3D image
    """

    _kind = "regions"
    _fields = {
        "components_img_": "image",
        "regions_img_": "image",
        "region_labels_": "json",
        "region_index_": "array",
        "timeseries_": "arrays",
        "individual_maps_": "images",
        "individual_timeseries_": "arrays",
        "mask_img_": "image",
    }

    def plot(self, ax=None, **kwargs):
        """Draw each region's glass-brain thumbnail and name; return the
        :class:`~brainviz.backend.displays.RegionsDisplay`."""
        from .displays import RegionsDisplay

        return RegionsDisplay.from_result(self, **kwargs).plot(ax=ax)

    def _table_names(self, name):
        labels = [str(v) for v in (self.region_labels_ or [])]
        if name in ("timeseries_", "individual_timeseries_"):
            return {"columns": labels}
        if name == "region_index_":
            return {"columns": ["component"], "rows": labels, "corner": "region"}
        return None


def _decompose_step(img_keys, imgs, mask_key, mask_img, confounds_keys, confounds, method,
                    n_components, smoothing_fwhm, clean_key, alpha, n_epochs, random_state,
                    n_jobs, nilearn_memory):
    """Fit CanICA / DictLearning; return (components 4D image, mask image).

    ``nilearn_memory`` goes to nilearn (memory_level=3), which caches each subject's
    masking/cleaning and PCA reduction on its own: they are reused when a
    subject is added.
    """
    import warnings

    import nibabel as nib
    from nilearn.decomposition import CanICA, DictLearning

    detrend, standardize, high_pass, low_pass, t_r = clean_key[:5]
    nilearn_memory = nilearn_memory if getattr(nilearn_memory, "location", None) else None
    common = dict(
        n_components=n_components, mask=mask_img, smoothing_fwhm=smoothing_fwhm,
        standardize="zscore_sample" if standardize else _cleaning.no_standardize(),
        detrend=detrend,
        high_pass=high_pass, low_pass=low_pass, t_r=t_r,
        random_state=random_state, n_jobs=n_jobs, verbose=0,
        memory=nilearn_memory, memory_level=3 if nilearn_memory is not None else 0,
    )
    if method == "canica":
        model = CanICA(**common)
    else:
        model = DictLearning(alpha=alpha, n_epochs=n_epochs, **common)
    # nilearn reads every image: a damaged one is named among them all
    names = ", ".join(_inputs.image_name(i) for i in imgs)
    with warnings.catch_warnings(), _inputs.reading(None, f"one of {names}"):
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        if any(c is not None for c in confounds):
            model.fit(imgs, confounds=list(confounds))
        else:
            model.fit(imgs)
    comps = model.components_img_
    comps = nib.Nifti1Image(comps.get_fdata(dtype=np.float32), comps.affine)
    masker = getattr(model, "masker_", None) or getattr(model, "maps_masker_", None)
    mask = np.asanyarray(masker.mask_img_.dataobj).astype(np.uint8)
    return comps, nib.Nifti1Image(mask, comps.affine)


def _extract_step(decomp_key, components_img, threshold, min_region_size):
    """Split components into connected regions (nilearn RegionExtractor)."""
    import nibabel as nib
    from nilearn.regions import RegionExtractor

    extractor = RegionExtractor(
        components_img, threshold=threshold, thresholding_strategy="ratio_n_voxels",
        extractor="local_regions", min_region_size=min_region_size,
        standardize=_cleaning.no_standardize(),
    )
    extractor.fit()
    regions = extractor.regions_img_
    return (nib.Nifti1Image(regions.get_fdata(dtype=np.float32), regions.affine),
            np.asarray(extractor.index_, dtype=int))


def _timeseries_step(regions_key, regions_img, img_key, img, mask_img, smoothing_fwhm,
                     clean_key, confounds_key, confounds):
    """One subject's region time series (nilearn NiftiMapsMasker, cleaned as the job says)."""
    from nilearn.maskers import NiftiMapsMasker

    detrend, standardize, high_pass, low_pass, t_r = clean_key[:5]
    masker = NiftiMapsMasker(
        regions_img, mask_img=mask_img, smoothing_fwhm=smoothing_fwhm,
        standardize="zscore_sample" if standardize else _cleaning.no_standardize(),
        detrend=detrend,
        high_pass=high_pass, low_pass=low_pass, t_r=t_r,
    )
    with _inputs.reading(img):
        return masker.fit_transform(img, confounds=confounds).astype(np.float32)


def dual_regression(maps, data):
    """Dual regression of group maps on one subject's data (as FSL's ``dual_regression``).

    Parameters
    ----------
    maps : ndarray (n_maps, n_voxels)
        Group spatial maps.
    data : ndarray (n_timepoints, n_voxels)
        The subject's cleaned data (each voxel's time series centred).

    Returns
    -------
    timeseries : ndarray (n_timepoints, n_maps)
        Stage 1: the subject's time course of each map (spatial regression of
        the spatially centred maps on the spatially centred volumes).
    subject_maps : ndarray (n_maps, n_voxels)
        Stage 2: the subject's own maps (temporal regression of each voxel on
        the stage-1 time courses, normalised to unit variance).
    """
    maps = np.asarray(maps, dtype=np.float64)
    data = np.asarray(data, dtype=np.float64)
    g = maps - maps.mean(axis=1, keepdims=True)
    y = data - data.mean(axis=1, keepdims=True)
    ts = np.linalg.lstsq(g.T, y.T, rcond=None)[0].T  # (T, k)
    z = ts - ts.mean(axis=0)
    z /= np.maximum(z.std(axis=0), 1e-12)
    yt = data - data.mean(axis=0)
    subject_maps = np.linalg.lstsq(z, yt, rcond=None)[0]  # (k, V)
    return ts.astype(np.float32), subject_maps.astype(np.float32)


def _dual_step(regions_key, regions_img, img_key, img, mask_img, clean_key, confounds_key,
               confounds):
    """One subject's dual regression: (time courses (T, k), own maps 4D image)."""
    import nibabel as nib
    from nilearn.maskers import NiftiMasker

    detrend, standardize, high_pass, low_pass, t_r = clean_key[:5]
    masker = NiftiMasker(mask_img=mask_img, standardize=_cleaning.no_standardize(),
                         detrend=False).fit()
    with _inputs.reading(img):
        raw = masker.transform(img)
    data = _cleaning.clean_signals(raw, confounds, None, detrend=detrend,
                                   standardize=standardize, high_pass=high_pass,
                                   low_pass=low_pass, t_r=t_r)
    del raw
    maps = masker.transform(regions_img)  # (k, V)
    ts, own = dual_regression(maps, data)
    img_out = masker.inverse_transform(own)
    return ts, nib.Nifti1Image(img_out.get_fdata(dtype=np.float32), img_out.affine)


def _subject_task(memory, regions_key, regions, img_key, img, mask_out, smoothing_fwhm,
                  clean_key, confounds_key, confounds, timeseries, individual, name):
    """One subject's outputs after the group step, as one joblib task."""
    series = dual = None
    if timeseries:
        series = cached_call(
            memory, _timeseries_step, regions_key, regions, img_key, img, mask_out,
            smoothing_fwhm, clean_key, confounds_key, confounds,
            ignore=("regions_img", "img", "mask_img", "confounds"),
            kind="regions: time series", inputs=name,
        )
    if individual:
        dual = cached_call(
            memory, _dual_step, regions_key, regions, img_key, img, mask_out, clean_key,
            confounds_key, confounds, ignore=("regions_img", "img", "mask_img", "confounds"),
            kind="regions: dual regression", inputs=name,
        )
    return series, dual


class RegionJob(BaseJob):
    """Learn brain networks/regions from one or several subjects' 4D images.

    Parameters
    ----------
    method : {"canica", "dictlearning"}, default="canica"
    n_components : int, default=20
    smoothing_fwhm : float or None, default=6.0
        Spatial smoothing in mm before the decomposition.
    extract_regions : bool, default=False
        Split each component into separate connected regions
        (nilearn.regions.RegionExtractor).
    threshold : float, default=1.0
        For region extraction: the ``ratio_n_voxels`` threshold (1.0 keeps
        about as many voxels as the brain has, spread over the components).
    min_region_size : float, default=1350
        Smallest region kept by the extraction, in mm^3.
    alpha : float, default=10
        Sparsity of dictionary learning.
    n_epochs : int, default=1
        Passes over the data for dictionary learning.
    standardize, detrend : bool, default=True
    high_pass, low_pass : float or None, default=None
        Butterworth filter cut-offs in Hz.
    t_r : float or None, default=None
        Repetition time in s; None reads it from the images' header.
    confounds_strategy, confounds_params : default=None
        fMRIPrep confounds (see :class:`~brainviz.backend.ConnectivityJob`);
        scrubbing strategies are refused (nilearn's decompositions take no
        sample mask).
    timeseries : bool, default=True
        Extract each subject's region time series.
    individual_maps : bool, default=True
        Dual regression of the regions on each subject: each subject's own
        maps (one 4D image per subject) and time courses.
    random_state : int, default=0
    memory, n_jobs, backend, scheduler
        As for :class:`~brainviz.backend.DecodingJob`; every per-subject step
        is a joblib task.
    """

    _kind = "regions"
    _choices = {"method": ("canica", "dictlearning")}

    def __init__(self, method="canica", n_components=20, smoothing_fwhm=6.0,
                 extract_regions=False, threshold=1.0, min_region_size=1350, alpha=10,
                 n_epochs=1, standardize=True, detrend=True, high_pass=None, low_pass=None,
                 t_r=None, confounds_strategy=None, confounds_params=None, timeseries=True,
                 individual_maps=True, random_state=0, memory=None, n_jobs=None, backend=None,
                 scheduler=None):
        self.method = method
        self.n_components = n_components
        self.smoothing_fwhm = smoothing_fwhm
        self.extract_regions = extract_regions
        self.threshold = threshold
        self.min_region_size = min_region_size
        self.alpha = alpha
        self.n_epochs = n_epochs
        self.standardize = standardize
        self.detrend = detrend
        self.high_pass = high_pass
        self.low_pass = low_pass
        self.t_r = t_r
        self.confounds_strategy = confounds_strategy
        self.confounds_params = confounds_params
        self.timeseries = timeseries
        self.individual_maps = individual_maps
        self.random_state = random_state
        self.memory = memory
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler

    def _check_params(self):
        super()._check_params()
        name = type(self).__name__
        if not (isinstance(self.n_components, (int, np.integer)) and self.n_components >= 1):
            raise ParameterError(
                f"The 'n_components' parameter of {name} must be a positive integer; "
                f"got {self.n_components!r}."
            )
        if self.smoothing_fwhm is not None and not self.smoothing_fwhm >= 0:
            raise ParameterError(
                f"The 'smoothing_fwhm' parameter of {name} must be >= 0 or None; "
                f"got {self.smoothing_fwhm!r}."
            )

    def run(self, imgs, mask=None, progress=None, cancel_event=None, log=None, *,
            confounds=None):
        """Learn the components (and regions), then each subject's outputs.

        Parameters
        ----------
        imgs : path, nibabel 4D image, Volume, or a list of them (one per subject)
            All on one grid.
        mask : path, nibabel image, Volume or None
            On the images' grid; ``None`` computes one from the data. (A
            computed mask depends on every subject: adding a subject then
            recomputes every subject's steps. Give a mask to reuse them.)
        progress, cancel_event, log
            As for :meth:`DecodingJob.run`.
        confounds : list or None
            One entry per subject (see ``brainviz.backend._cleaning``).

        Returns
        -------
        RegionResult
        """
        from joblib import delayed

        prog, parallel, img_list, names = self._begin(imgs, progress, cancel_event, log)
        owner = type(self).__name__
        for img, name in zip(img_list, names):
            if len(img.shape) != 4 or img.shape[3] < 2:
                raise DataValueError(
                    f"{owner} needs 4D time series; {name} has shape {tuple(img.shape)}."
                )
        _inputs.check_same_grid(img_list, names, "subjects' images")
        n_time = min(i.shape[3] for i in img_list)
        if self.n_components > n_time * len(img_list):
            raise DataValueError(
                f"n_components={self.n_components} exceeds the {n_time * len(img_list)} "
                "time points available."
            )
        mask_img = mask_key = None
        if mask is not None:
            mask_img = _inputs.as_image(mask, "mask")
            _inputs.check_mask_grid(mask_img, img_list[0], _inputs.image_name(mask_img), names[0])
            mask_key = _inputs.image_fingerprint(mask_img)
        t_r = _cleaning.resolve_t_r(self, img_list)
        _cleaning.check_t_r(self, t_r)
        conf, conf_keys = _cleaning.resolve_confounds(
            self, confounds, img_list, [i.shape[3] for i in img_list], "subject")
        if any(sm is not None for _, sm in conf):
            raise ParameterError(
                f"{owner} cannot scrub volumes (nilearn's CanICA and DictLearning take no "
                "sample mask): leave 'scrub' out of confounds_strategy."
            )
        conf = [c for c, _ in conf]
        clean_key = _cleaning.cleaning_key(self, t_r)
        prog(0.0, "fingerprinting inputs")
        img_keys = [_inputs.image_fingerprint(i) for i in img_list]
        memory = check_memory(self.memory)
        summary = f"{len(img_list)} subject(s): " + ", ".join(
            str(n) for n in names[:3]) + (" ..." if len(names) > 3 else "")
        decomp_params = dict(
            method=self.method, n_components=int(self.n_components),
            smoothing_fwhm=self.smoothing_fwhm, clean_key=clean_key, alpha=self.alpha,
            n_epochs=self.n_epochs, random_state=self.random_state,
        )
        prog(0.02, f"{self.method}: learning {self.n_components} components")
        # threads (one BLAS thread per task) for nilearn's per-subject reduction and ICA
        # restarts and for our per-subject tasks, unless a backend was chosen
        with parallel.context() as runner, _parallel.threads_unless_chosen():
            comps, mask_out = runner.call(
                cached_call, memory, _decompose_step, img_keys, img_list, mask_key, mask_img,
                conf_keys, conf, n_jobs=parallel.active_n_jobs(), nilearn_memory=memory,
                ignore=("imgs", "mask_img", "confounds", "n_jobs", "nilearn_memory"),
                kind=f"regions: {self.method}", params=_jsonable_params(decomp_params),
                inputs=summary, log=prog.log, on_retry=prog.log, **decomp_params,
            )
            prog(0.6, "components learned")
            decomp_key = (img_keys, mask_key, conf_keys, sorted(decomp_params.items()))
            n_comp = comps.shape[3] if len(comps.shape) == 4 else 1
            if self.extract_regions:
                regions, index = cached_call(
                    memory, _extract_step, decomp_key, comps, float(self.threshold),
                    float(self.min_region_size), ignore=("components_img",),
                    kind="regions: extraction", inputs=summary, log=prog.log,
                    params={"threshold": self.threshold, "min_region_size": self.min_region_size},
                )
                regions_key = (decomp_key, float(self.threshold), float(self.min_region_size))
                counts = {}
                labels = []
                for c in index:
                    counts[c] = counts.get(c, 0) + 1
                    labels.append(f"component {c} region {counts[c]}")
            else:
                regions, index = comps, np.arange(n_comp)
                regions_key = decomp_key
                labels = [f"component {c}" for c in range(n_comp)]
            if len(regions.shape) == 4 and regions.shape[3] == 0:
                raise DataValueError(
                    "Region extraction kept no region: lower 'min_region_size' or raise "
                    "'threshold'."
                )
            prog.check_cancel()
            series, own_maps, own_series = [], {}, []
            if self.timeseries or self.individual_maps:

                def all_subjects():  # run again as a whole if dask loses a worker (cached steps)
                    tasks = (
                        delayed(_subject_task)(
                            memory, regions_key, regions, key, img, mask_out,
                            self.smoothing_fwhm, clean_key, ckey, c, bool(self.timeseries),
                            bool(self.individual_maps), str(name))
                        for key, img, ckey, c, name in zip(img_keys, img_list, conf_keys, conf,
                                                           names)
                    )
                    done = []
                    # on threads, a pool of the job's own (see _parallel.task_results): a
                    # cancel or an error stops the subjects not started yet
                    with contextlib.closing(_parallel.task_results(
                            tasks, parallel.active_n_jobs())) as outs:
                        for s, out in enumerate(outs):
                            done.append(out)
                            prog(0.6 + 0.4 * (s + 1) / len(img_list),
                                 f"subject {s + 1}/{len(img_list)}")
                    return done

                for s, (ts, dual) in enumerate(runner.call(all_subjects, on_retry=prog.log)):
                    if ts is not None:
                        series.append(ts)
                    if dual is not None:
                        own_series.append(dual[0])
                        own_maps[_subject_name(names[s], s)] = dual[1]
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        params["cleaning"] = _cleaning.record(self, t_r, conf_keys)
        like = img_list[0]
        result = RegionResult(
            params=params, inputs=names, components_img_=_inputs.with_space_of(comps, like),
            regions_img_=_inputs.with_space_of(regions, like),
            region_labels_=labels, region_index_=np.asarray(index, dtype=int),
            timeseries_=series, individual_maps_=own_maps if self.individual_maps else None,
            individual_timeseries_=own_series if self.individual_maps else None,
            mask_img_=_inputs.with_space_of(mask_out, like),
        )
        prog(1.0, f"{len(labels)} regions")
        return self._set_result(result)


def _subject_name(name, index):
    """A short, unique key for a subject's own maps: its file name without extension."""
    import os

    base = os.path.basename(str(name))
    for ext in (".nii.gz", ".nii", ".gz"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    if base.startswith("<"):
        base = "subject"
    return f"{index:02d}_{base}"


def _jsonable_params(params):
    out = dict(params)
    out["clean_key"] = list(out["clean_key"])
    return out
