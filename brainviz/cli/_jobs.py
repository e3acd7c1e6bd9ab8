"""``brainviz decode | regions | connectivity``: run a job headless into a result folder.

Labels and runs come from text files as fMRI studies store them: whitespace
``<label> <run>`` lines (Haxby's ``attributes_literal.txt``) or a TSV/CSV with
a header (``trial_type``/``labels`` and ``chunks``/``run`` columns). A
progress bar (tqdm: rate and time left) is drawn on standard error when it is
a terminal.
"""
import importlib
import sys
from collections.abc import Sequence

from ._validate import number_type

_COMMANDS = ("decode", "regions", "connectivity", "searchlight")


class _Allowed(Sequence):
    """The allowed values of an option, read from the backend when argparse first needs them.

    argparse accepts any container as ``choices=``: it lists it in ``--help``
    and in the error for a bad value. Reading the job classes' ``_choices``
    (the values their ``run()`` checks) keeps one list of allowed values, and
    reading it lazily keeps ``brainviz --version`` and ``brainviz info`` from
    importing scikit-learn. Options given one must also be given a ``metavar``
    (argparse would otherwise read the choices while building the parser).
    """

    def __init__(self, module, name, parameter=None):
        self._where = (module, name, parameter)
        self._values = None

    def _load(self):
        if self._values is None:
            module, name, parameter = self._where
            obj = getattr(importlib.import_module(f"brainviz.backend.{module}"), name)
            self._values = tuple(obj._choices[parameter] if parameter else obj)
        return self._values

    def __getitem__(self, index):
        return self._load()[index]

    def __len__(self):
        return len(self._load())

    def __contains__(self, value):
        return value in self._load()

    def __str__(self):  # as argparse writes them in help (%(choices)s)
        return ", ".join(map(str, self._load()))


def add_parser(subparsers):
    # The router may call this once per command name mapped to this module.
    if "decode" in subparsers.choices:
        return None
    _add_decode(subparsers)
    _add_regions(subparsers)
    _add_connectivity(subparsers)
    _add_searchlight(subparsers)
    return None


def _common(parser):
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                        help="result folder to create (NIfTI images, TSV matrices, result.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTDIR if it exists")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache folder (default: BRAINVIZ_CACHE_DIR or the platform's cache folder, "
                             "~/.cache/brainviz on Linux)")
    parser.add_argument("--no-cache", action="store_true", help="run without the cache")
    parser.add_argument("--n-jobs", type=number_type("--n-jobs", integer=True, low=-4096, high=4096),
                        default=None, help="parallel workers (-1: all cores)")
    parser.add_argument("--backend", default=None, metavar="NAME",
                        choices=_Allowed("_parallel", "_BACKENDS"),
                        help="joblib backend, one of: %(choices)s")
    parser.add_argument("--scheduler", default=None,
                        help="dask scheduler address (tcp://host:port) for --backend dask")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _cleaning(parser, per="run"):
    """The cleaning options every job command has (nilearn.signal.clean)."""
    g = parser.add_argument_group("cleaning")
    g.add_argument("--confounds", nargs="+", default=None, metavar="FILE",
                   help=f"confounds, one CSV/TSV (or fMRIPrep confounds file) per {per}")
    g.add_argument("--confounds-strategy", default=None, metavar="LIST",
                   help="fMRIPrep strategy for nilearn's load_confounds, e.g. motion,wm_csf,scrub "
                        "(without --confounds: found beside each fMRIPrep image)")
    g.add_argument("--confounds-param", action="append", default=None, metavar="NAME=VALUE",
                   help="a load_confounds parameter, e.g. motion=full or fd_threshold=0.5 "
                        "(repeat for several)")
    g.add_argument("--high-pass", type=number_type("--high-pass", low=0, high=1e6, low_open=True),
                   default=None, metavar="HZ")
    g.add_argument("--low-pass", type=number_type("--low-pass", low=0, high=1e6, low_open=True),
                   default=None, metavar="HZ")
    g.add_argument("--t-r", type=number_type("--t-r", low=0, high=1e5, low_open=True),
                   default=None, metavar="SECONDS",
                   help="repetition time (default: from the images' header)")
    g.add_argument("--no-standardize", action="store_true", help="do not z-score the signals")
    g.add_argument("--no-detrend", action="store_true", help="do not detrend the signals")


def _cleaning_params(args):
    return dict(standardize=not args.no_standardize, detrend=not args.no_detrend,
                high_pass=args.high_pass, low_pass=args.low_pass, t_r=args.t_r,
                confounds_strategy=args.confounds_strategy,
                confounds_params=args.confounds_param)


def _add_decode(subparsers):
    p = subparsers.add_parser(
        "decode", help="decode conditions from 4D images with cross-validation",
        description="Cross-validated decoding (DecodingJob) from brain images into a result "
                    "folder.",
    )
    p.add_argument("imgs", nargs="+", metavar="IMG",
                   help="one 4D image or several 3D/4D images; with --events one 4D image per run")
    lab = p.add_mutually_exclusive_group(required=True)
    lab.add_argument("--labels", metavar="FILE",
                     help="labels file: '<label> [<run>]' lines, or a TSV/CSV with a header")
    lab.add_argument("--events", nargs="+", metavar="TSV",
                     help="BIDS events.tsv files (onset, duration, trial_type), one per run image")
    p.add_argument("--hrf-delay", type=number_type("--hrf-delay", low=-1e5, high=1e5), default=5.0,
                   metavar="SECONDS", help="with --events: stimulus-to-volume delay (default 5 s)")
    p.add_argument("--no-event-label", default="rest", metavar="LABEL",
                   help="with --events: label of volumes under no event (default rest)")
    p.add_argument("--drop-no-event", action="store_true",
                   help="with --events: leave volumes under no event out instead")
    p.add_argument("--label-column", default=None, help="label column of a TSV/CSV labels file")
    p.add_argument("--runs", default=None, metavar="COLUMN|FILE",
                   help="run ids: a column of the labels file, or a file with one run per line "
                        "(default: the labels file's run/chunks column)")
    p.add_argument("--mask", default=None, metavar="FILE", help="mask on the images' grid")
    p.add_argument("--estimator", default="svc", metavar="NAME",
                   choices=_Allowed("decoding", "DecodingJob", "estimator"),
                   help="one of: %(choices)s (default: %(default)s)")
    p.add_argument("--C", type=number_type("--C", low=0, low_open=True), default=1.0, dest="C",
                   help="inverse regularisation")
    p.add_argument("--cv", default="leave-one-run-out", metavar="NAME",
                   choices=_Allowed("decoding", "DecodingJob", "cv"),
                   help="cross-validation, one of: %(choices)s (default: %(default)s)")
    p.add_argument("--folds", type=number_type("--folds", integer=True, low=2, high=10_000),
                   default=5, help="folds for --cv kfold")
    p.add_argument("--classes", default=None, help="comma-separated labels to decode")
    p.add_argument("--exclude", default=None,
                   help="comma-separated labels to leave out (e.g. rest)")
    p.add_argument("--screening", type=number_type("--screening", low=0, high=100, low_open=True),
                   default=None, metavar="PERCENTILE",
                   help="ANOVA screening: keep this percentile of voxels")
    p.add_argument("--permutations", type=number_type("--permutations", integer=True, low=0,
                                                       high=1_000_000),
                   default=0, help="permutation test size")
    p.add_argument("--confusion", default="counts", choices=("counts", "true", "pred", "all"),
                   help="what confusion.png's cells show: the counts, or each class's share "
                        "of its true class, of its prediction or of all samples "
                        "(scikit-learn's normalize; default: %(default)s)")
    _cleaning(p, "run")
    _common(p)
    p.set_defaults(func=run_decode)


def _add_regions(subparsers):
    p = subparsers.add_parser(
        "regions", help="learn networks/regions (CanICA, dictionary learning) from 4D images",
        description="Region learning (RegionJob) over one 4D image per subject.",
    )
    p.add_argument("imgs", nargs="+", metavar="IMG", help="one 4D image per subject")
    p.add_argument("--method", default="canica", metavar="NAME",
                   choices=_Allowed("regions", "RegionJob", "method"),
                   help="one of: %(choices)s (default: %(default)s)")
    p.add_argument("--n-components", type=number_type("--n-components", integer=True, low=1,
                                                       high=100_000), default=20)
    p.add_argument("--smoothing", type=number_type("--smoothing", low=0, high=1000), default=6.0,
                   help="FWHM in mm (0: none)")
    p.add_argument("--extract-regions", action="store_true",
                   help="split components into connected regions")
    p.add_argument("--min-region-size", type=number_type("--min-region-size", low=0, high=1e12),
                   default=1350, help="mm^3")
    p.add_argument("--mask", default=None, metavar="FILE")
    _cleaning(p, "subject")
    _common(p)
    p.set_defaults(func=run_regions)


def _add_connectivity(subparsers):
    p = subparsers.add_parser(
        "connectivity",
        help="connectivity matrices from images + atlas, time-series files, or a regions result",
        description="Connectivity (ConnectivityJob) from 4D images with a label/maps atlas or "
                    "sphere coordinates, from region time-series files (CSV/TSV with an optional "
                    "header of region names, AFNI .1D, .npy; one per subject), or from a saved "
                    "regions result folder.",
    )
    p.add_argument("inputs", nargs="*", metavar="IMG|TS",
                   help="one 4D image or one time-series file per subject")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--atlas", metavar="FILE", help="3D label image or 4D probabilistic atlas")
    src.add_argument("--from-regions", metavar="DIR", help="a result folder of 'brainviz regions'")
    p.add_argument("--coords", metavar="FILE|power|dosenbach|seitzman",
                   help="node positions: a CSV/TSV (x, y, z columns, optional label) or a named "
                        "atlas; with images, the centres of the spheres to extract from")
    p.add_argument("--kind", default="correlation", metavar="KIND",
                   choices=_Allowed("connectivity", "ConnectivityJob", "kind"),
                   help="one of: %(choices)s (quote the names with a space; "
                        "default: %(default)s)")
    p.add_argument("--cov-estimator", default="ledoit_wolf", metavar="NAME",
                   choices=_Allowed("connectivity", "ConnectivityJob", "cov_estimator"),
                   help="one of: %(choices)s (ledoit_wolf: nilearn's default, shrinkage; "
                        "empirical: Pearson)")
    p.add_argument("--sparse-cv", type=number_type("--sparse-cv", integer=True, low=2,
                                                   high=10_000), default=None, metavar="FOLDS",
                   help="CV folds of the sparse estimator (default: scikit-learn's, 5)")
    p.add_argument("--radius", type=number_type("--radius", low=0, high=1000, low_open=True),
                   default=5.0, help="sphere radius in mm")
    p.add_argument("--mask", default=None, metavar="FILE")
    _cleaning(p, "subject")
    _common(p)
    p.set_defaults(func=run_connectivity)


def _add_searchlight(subparsers):
    p = subparsers.add_parser(
        "searchlight", help="searchlight decoding: a map of where information is",
        description="Searchlight (SearchlightJob, nilearn's SearchLight): cross-validated "
                    "decoding in a sphere around every voxel, giving a score map.",
    )
    p.add_argument("imgs", nargs="+", metavar="IMG",
                   help="one 4D image or several 3D/4D images; with --events one 4D image per run")
    lab = p.add_mutually_exclusive_group(required=True)
    lab.add_argument("--labels", metavar="FILE", help="labels file, as for 'brainviz decode'")
    lab.add_argument("--events", nargs="+", metavar="TSV", help="BIDS events.tsv, one per run")
    p.add_argument("--label-column", default=None)
    p.add_argument("--runs", default=None, metavar="COLUMN|FILE")
    p.add_argument("--hrf-delay", type=number_type("--hrf-delay", low=-1e5, high=1e5), default=5.0,
                   metavar="SECONDS")
    p.add_argument("--no-event-label", default="rest", metavar="LABEL")
    p.add_argument("--drop-no-event", action="store_true")
    p.add_argument("--mask", default=None, metavar="FILE",
                   help="the voxels to centre spheres on (and to read)")
    p.add_argument("--radius", type=number_type("--radius", low=0, high=1000, low_open=True),
                   default=6.0, help="sphere radius in mm (default 6)")
    p.add_argument("--estimator", default="svc", metavar="NAME",
                   choices=_Allowed("searchlight", "SearchlightJob", "estimator"),
                   help="one of: %(choices)s (default: %(default)s)")
    p.add_argument("--C", type=number_type("--C", low=0, low_open=True), default=1.0, dest="C")
    p.add_argument("--cv", default="leave-one-run-out", metavar="NAME",
                   choices=_Allowed("searchlight", "SearchlightJob", "cv"),
                   help="one of: %(choices)s (default: %(default)s)")
    p.add_argument("--folds", type=number_type("--folds", integer=True, low=2, high=10_000),
                   default=5)
    p.add_argument("--classes", default=None, help="comma-separated labels to decode")
    p.add_argument("--exclude", default=None, help="comma-separated labels to leave out")
    _cleaning(p, "run")
    _common(p)
    p.set_defaults(func=run_searchlight)


# --- progress -----------------------------------------------------------------------
class _Bar:
    """Progress on standard error through tqdm: percent done, rate, time spent and left.

    Silent when the stream is not a terminal (a log file or a pipe gets only
    the closing summary line that the command prints) and with ``--quiet``.
    """

    def __init__(self, name, quiet=False, stream=None):
        from tqdm import tqdm

        stream = stream or sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty()
        self._bar = tqdm(
            total=100, desc=name, unit="%", file=stream, disable=quiet or not tty,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}, {rate_fmt}]"
                       "{postfix}",
            dynamic_ncols=True,
        )

    def __call__(self, fraction, message):
        if self._bar.disable:
            return
        self._bar.set_postfix_str(message[:40], refresh=False)
        self._bar.update(round(100 * fraction, 1) - self._bar.n)

    def close(self):
        self._bar.close()


def _memory(args):
    return False if args.no_cache else args.cache_dir


def _run_job(name, job, args, *run_args, **run_kwargs):
    from ..exceptions import BrainvizError, JobError

    bar = _Bar(name, args.quiet)
    try:
        return job.run(*run_args, progress=bar, **run_kwargs)
    except BrainvizError:
        raise
    except (ValueError, OSError) as exc:
        # errors from nilearn / scikit-learn: one line, not a traceback
        raise JobError(f"{name} failed: {exc}".replace("\n", " ")) from exc
    except MemoryError as exc:
        reason = " ".join(str(exc).split()) or "an allocation failed"
        raise JobError(f"{name} failed: out of memory ({reason}); use fewer or smaller images, "
                       "or a machine with more memory") from exc
    finally:
        bar.close()


def _check_output(args, imgs=(), n_maps=2):
    """Before computing: OUTDIR can be written and has room; the settings are valid.

    The result's size is estimated from the first image's grid: ``n_maps``
    float32 maps of it, plus a mask.
    """
    from .. import _config
    from .._files import check_output_folder
    from ..exceptions import OutputExistsError

    # environment settings fail now, not after the masking has run
    _config.get_cache_max_bytes()
    _config.get_max_memory()
    _config.get_n_jobs(args.n_jobs)
    need = _estimate_bytes(imgs, n_maps)
    try:
        check_output_folder(args.output, args.overwrite, need_bytes=need)
    except OutputExistsError as exc:
        raise OutputExistsError(_overwrite_words(exc), path=exc.path) from None


def _overwrite_words(exc):
    """The library says 'pass overwrite=True'; the command line says --overwrite."""
    return str(exc).replace("pass overwrite=True", "use --overwrite")


def _estimate_bytes(imgs, n_maps):
    voxels = 0
    for path in list(imgs)[:1]:
        try:
            import nibabel as nib

            shape = nib.load(str(path)).shape
        except Exception:  # noqa: BLE001 - the job itself names a bad input
            return 0
        voxels = 1
        for size in shape[:3]:
            voxels *= int(size)
    return voxels * 4 * (n_maps + 1)


def _save(result, args):
    from ..backend import save_result
    from ..exceptions import OutputExistsError

    try:
        return save_result(result, args.output, overwrite=args.overwrite)
    except OutputExistsError as exc:
        raise OutputExistsError(_overwrite_words(exc), path=exc.path) from None


def _write_figures(result, folder, **kwargs):
    """The result's views (scores.png, confusion.png, matrix.png, regions.png or
    searchlight.png, and SVG) beside it; a figure that cannot be drawn is reported, the result
    stays saved. ``kwargs``: :func:`~brainviz.backend.displays.save_result_figures`'s."""
    try:
        paths = result.save_figures(folder, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the result itself is saved
        print(f"warning: the result's figures could not be written: {exc}", file=sys.stderr)
        return []
    return paths


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _labels_and_events(args):
    """(labels, runs, events) from --labels/--runs or --events."""
    import os

    import numpy as np

    from ..backend import read_labels, read_runs

    if args.events:
        return None, None, args.events, None
    labels, runs = read_labels(args.labels, label_column=args.label_column)
    if args.runs is not None:
        if os.path.isfile(args.runs):
            runs = read_runs(args.runs)
        else:
            _, runs = read_labels(args.labels, label_column=args.label_column,
                                  run_column=args.runs)
    return labels, runs, None, np.unique(labels).tolist()


def _classes(args, present):
    classes = _split(args.classes)
    if args.exclude:
        drop = set(_split(args.exclude))
        if classes is None and present is None:
            from ..exceptions import ParameterError

            raise ParameterError("--exclude with --events needs --classes (the labels to keep), "
                                 "or --drop-no-event to leave out volumes under no event.")
        classes = [c for c in (classes or present) if c not in drop]
    return classes


def run_decode(args):
    from ..backend import DecodingJob

    labels, runs, events, present = _labels_and_events(args)
    classes = _classes(args, present)
    _check_output(args, args.imgs, n_maps=len(classes or present or [None, None]))
    job = DecodingJob(
        estimator=args.estimator, C=args.C, cv=args.cv, n_folds=args.folds,
        classes=classes, screening_percentile=args.screening,
        n_permutations=args.permutations, hrf_delay=args.hrf_delay,
        no_event_label=None if args.drop_no_event else args.no_event_label,
        memory=_memory(args), n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler,
        **_cleaning_params(args),
    )
    imgs = args.imgs[0] if len(args.imgs) == 1 and not events else args.imgs
    result = _run_job("decode", job, args, imgs, labels, runs=runs, mask=args.mask,
                      events=events, confounds=args.confounds)
    _save(result, args)
    _write_figures(result, args.output,
                   normalize=None if args.confusion == "counts" else args.confusion)
    extra = f", p={result.pvalue_:.4f}" if result.pvalue_ is not None else ""
    print(f"decode: {len(result.scores_)} folds, mean {job.scoring} {result.mean_score_:.3f} "
          f"(chance {result.chance_level_:.3f}{extra}) -> {args.output}")
    return 0


def run_searchlight(args):
    from ..backend import SearchlightJob

    labels, runs, events, present = _labels_and_events(args)
    classes = _classes(args, present)
    _check_output(args, args.imgs, n_maps=1)
    job = SearchlightJob(
        radius=args.radius, estimator=args.estimator, C=args.C, cv=args.cv, n_folds=args.folds,
        classes=classes, hrf_delay=args.hrf_delay,
        no_event_label=None if args.drop_no_event else args.no_event_label,
        memory=_memory(args), n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler,
        **_cleaning_params(args),
    )
    imgs = args.imgs[0] if len(args.imgs) == 1 and not events else args.imgs
    result = _run_job("searchlight", job, args, imgs, labels, runs=runs, mask=args.mask,
                      events=events, confounds=args.confounds)
    _save(result, args)
    print(f"searchlight: radius {args.radius} mm, {result.n_voxels_} spheres, best score "
          f"{result.best_score_:.3f} (chance {result.chance_level_:.3f}) -> {args.output}")
    return 0


def run_regions(args):
    from ..backend import RegionJob

    _check_output(args, args.imgs, n_maps=2 * args.n_components + 1)
    job = RegionJob(
        method=args.method, n_components=args.n_components,
        smoothing_fwhm=args.smoothing or None, extract_regions=args.extract_regions,
        min_region_size=args.min_region_size, memory=_memory(args), n_jobs=args.n_jobs,
        backend=args.backend, scheduler=args.scheduler, **_cleaning_params(args),
    )
    result = _run_job("regions", job, args, args.imgs, mask=args.mask, confounds=args.confounds)
    _save(result, args)
    _write_figures(result, args.output)
    print(f"regions: {result.components_img_.shape[3]} components, "
          f"{len(result.region_labels_)} regions -> {args.output}")
    return 0


def run_connectivity(args):
    from ..backend import ConnectivityJob, load_result
    from ..backend.connectivity import _is_timeseries_files, load_node_coords
    from ..exceptions import ParameterError

    _check_output(args)
    job = ConnectivityJob(kind=args.kind, cov_estimator=args.cov_estimator,
                          sparse_cv=args.sparse_cv, radius=args.radius, memory=_memory(args),
                          n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler,
                          **_cleaning_params(args))
    kwargs = {}
    if args.from_regions:
        if args.inputs:
            raise ParameterError("--from-regions takes no IMG arguments (the time series are "
                                 "in the regions result).")
        inputs = load_result(args.from_regions)
    elif not args.inputs:
        raise ParameterError("give one 4D IMG (with --atlas or --coords) or one time-series "
                             "file per subject.")
    elif _is_timeseries_files(args.inputs):
        if args.atlas:
            raise ParameterError("--atlas goes with images, not with time-series files.")
        inputs = list(args.inputs)
    else:
        if not (args.atlas or args.coords):
            raise ParameterError("images need --atlas or --coords (sphere centres).")
        inputs = args.inputs
        kwargs["mask"] = args.mask
        if args.atlas:
            kwargs["atlas"] = args.atlas
    if args.coords and not args.atlas:
        coords, labels = load_node_coords(args.coords)
        kwargs["coords"] = coords
        if labels and not _is_timeseries_files(args.inputs or ["x"]):
            kwargs["labels"] = labels
    result = _run_job("connectivity", job, args, inputs, confounds=args.confounds, **kwargs)
    _save(result, args)
    _write_figures(result, args.output)
    print(f"connectivity: {args.kind}, {result.matrix_.shape[0]} nodes, "
          f"{result.matrices_.shape[0]} subject(s) -> {args.output}")
    return 0
