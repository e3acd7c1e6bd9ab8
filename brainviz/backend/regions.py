"""Region learning: CanICA or dictionary learning over subjects' 4D images.

Cached steps: the decomposition (keyed by the images' fingerprints and the
model parameters), the optional region extraction (keyed by the decomposition
key), and each subject's region time series (keyed by the regions and the
subject's fingerprint), so adding a subject or changing the extraction reuses
the decomposition.
"""
import numpy as np

from ..exceptions import DataValueError, ParameterError
from . import _inputs
from .cache import cached_call, check_memory
from .jobs import BaseJob
from .results import Result

__all__ = ["RegionJob", "RegionResult"]


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
        Each subject's region time series.
    mask_img_ : nibabel 3D image
    """

    _kind = "regions"
    _fields = {
        "components_img_": "image",
        "regions_img_": "image",
        "region_labels_": "json",
        "region_index_": "array",
        "timeseries_": "arrays",
        "mask_img_": "image",
    }


def _decompose_step(img_keys, imgs, mask_key, mask_img, method, n_components,
                    smoothing_fwhm, standardize, detrend, alpha, n_epochs, random_state,
                    n_jobs):
    """Fit CanICA / DictLearning; return (components 4D image, mask image)."""
    import warnings

    import nibabel as nib
    from nilearn.decomposition import CanICA, DictLearning

    common = dict(
        n_components=n_components, mask=mask_img, smoothing_fwhm=smoothing_fwhm,
        standardize="zscore_sample" if standardize else None, detrend=detrend,
        random_state=random_state, n_jobs=n_jobs, verbose=0, memory=None,
    )
    if method == "canica":
        model = CanICA(**common)
    else:
        model = DictLearning(alpha=alpha, n_epochs=n_epochs, **common)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
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
        extractor="local_regions", min_region_size=min_region_size, standardize=False,
    )
    extractor.fit()
    regions = extractor.regions_img_
    return (nib.Nifti1Image(regions.get_fdata(dtype=np.float32), regions.affine),
            np.asarray(extractor.index_, dtype=int))


def _timeseries_step(regions_key, regions_img, img_key, img, mask_img, standardize, detrend,
                     smoothing_fwhm):
    """One subject's region time series (nilearn NiftiMapsMasker)."""
    from nilearn.maskers import NiftiMapsMasker

    masker = NiftiMapsMasker(
        regions_img, mask_img=mask_img, smoothing_fwhm=smoothing_fwhm,
        standardize="zscore_sample" if standardize else None, detrend=detrend,
    )
    return masker.fit_transform(img).astype(np.float32)


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
    timeseries : bool, default=True
        Extract each subject's region time series.
    random_state : int, default=0
    memory, n_jobs, backend, scheduler
        As for :class:`~brainviz.backend.DecodingJob`; subjects' time series
        are extracted in parallel.
    """

    _kind = "regions"
    _choices = {"method": ("canica", "dictlearning")}

    def __init__(self, method="canica", n_components=20, smoothing_fwhm=6.0,
                 extract_regions=False, threshold=1.0, min_region_size=1350, alpha=10,
                 n_epochs=1, standardize=True, detrend=True, timeseries=True, random_state=0,
                 memory=None, n_jobs=None, backend=None, scheduler=None):
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
        self.timeseries = timeseries
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

    def run(self, imgs, mask=None, progress=None, cancel_event=None, log=None):
        """Learn the components (and regions) and extract time series.

        Parameters
        ----------
        imgs : path, nibabel 4D image, Volume, or a list of them (one per subject)
            All on one grid.
        mask : path, nibabel image, Volume or None
            On the images' grid; ``None`` computes one from the data.
        progress, cancel_event, log
            As for :meth:`DecodingJob.run`.

        Returns
        -------
        RegionResult
        """
        from . import _parallel

        prog, backend, n_jobs, img_list, names = self._begin(imgs, progress, cancel_event, log)
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
        prog(0.0, "fingerprinting inputs")
        img_keys = [_inputs.image_fingerprint(i) for i in img_list]
        memory = check_memory(self.memory)
        summary = f"{len(img_list)} subject(s): " + ", ".join(
            str(n) for n in names[:3]) + (" ..." if len(names) > 3 else "")
        decomp_params = dict(
            method=self.method, n_components=int(self.n_components),
            smoothing_fwhm=self.smoothing_fwhm, standardize=bool(self.standardize),
            detrend=bool(self.detrend), alpha=self.alpha, n_epochs=self.n_epochs,
            random_state=self.random_state,
        )
        prog(0.02, f"{self.method}: learning {self.n_components} components")
        with _parallel.parallel_context(backend, n_jobs, self.scheduler) as parallel:
            comps, mask_out = parallel.call(
                cached_call, memory, _decompose_step, img_keys, img_list, mask_key, mask_img,
                on_retry=prog.log,
                n_jobs=n_jobs, ignore=("imgs", "mask_img", "n_jobs"),
                kind=f"regions: {self.method}", params=decomp_params, inputs=summary,
                log=prog.log,
                **decomp_params,
            )
            prog(0.7, "components learned")
            decomp_key = (img_keys, mask_key, sorted(decomp_params.items()))
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
            series = []
            if self.timeseries:
                for s, (key, img) in enumerate(zip(img_keys, img_list)):
                    prog(0.7 + 0.3 * s / len(img_list),
                         f"time series of subject {s + 1}/{len(img_list)}")
                    series.append(cached_call(
                        memory, _timeseries_step, regions_key, regions, key, img, mask_out,
                        bool(self.standardize), bool(self.detrend), self.smoothing_fwhm,
                        ignore=("regions_img", "img", "mask_img"),
                        kind="regions: time series", inputs=str(names[s]), log=prog.log,
                        params={"n_regions": len(labels)},
                    ))
        params = {k: v for k, v in self.get_params().items() if k not in ("memory", "scheduler")}
        result = RegionResult(
            params=params, inputs=names, components_img_=comps, regions_img_=regions,
            region_labels_=labels, region_index_=np.asarray(index, dtype=int),
            timeseries_=series, mask_img_=mask_out,
        )
        prog(1.0, f"{len(labels)} regions")
        return self._set_result(result)
