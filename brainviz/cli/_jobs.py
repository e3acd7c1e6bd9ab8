"""``brainviz decode | regions | connectivity``: run a job headless into a result folder.

Labels and runs come from text files as fMRI studies store them: whitespace
``<label> <run>`` lines (Haxby's ``attributes_literal.txt``) or a TSV/CSV with
a header (``trial_type``/``labels`` and ``chunks``/``run`` columns). A
progress bar is drawn on standard error.
"""
import sys
import time

from ._validate import number_type

_COMMANDS = ("decode", "regions", "connectivity")


def add_parser(subparsers):
    # The router may call this once per command name mapped to this module.
    if "decode" in subparsers.choices:
        return None
    _add_decode(subparsers)
    _add_regions(subparsers)
    _add_connectivity(subparsers)
    return None


def _common(parser):
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                        help="result folder to create (NIfTI images, TSV matrices, result.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTDIR if it exists")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache folder (default: BRAINVIZ_CACHE_DIR or ~/.cache/brainviz)")
    parser.add_argument("--no-cache", action="store_true", help="run without the cache")
    parser.add_argument("--n-jobs", type=number_type("--n-jobs", integer=True, low=-4096, high=4096),
                        default=None, help="parallel workers (-1: all cores)")
    parser.add_argument("--backend", default=None,
                        help="joblib backend: loky, threading, sequential or dask")
    parser.add_argument("--scheduler", default=None,
                        help="dask scheduler address (tcp://host:port) for --backend dask")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_decode(subparsers):
    p = subparsers.add_parser(
        "decode", help="decode conditions from 4D images with cross-validation",
        description="Cross-validated decoding (DecodingJob) from brain images into a result "
                    "folder.",
    )
    p.add_argument("imgs", nargs="+", metavar="IMG", help="one 4D image or several 3D/4D images")
    p.add_argument("--labels", required=True, metavar="FILE",
                   help="labels file: '<label> [<run>]' lines, or a TSV/CSV with a header")
    p.add_argument("--label-column", default=None, help="label column of a TSV/CSV labels file")
    p.add_argument("--runs", default=None, metavar="COLUMN|FILE",
                   help="run ids: a column of the labels file, or a file with one run per line "
                        "(default: the labels file's run/chunks column)")
    p.add_argument("--mask", default=None, metavar="FILE", help="mask on the images' grid")
    p.add_argument("--estimator", default="svc",
                   help="svc, logistic_l1, logistic_l2, ridge, tv-l1 or graph-net")
    p.add_argument("--C", type=number_type("--C", low=0, low_open=True), default=1.0, dest="C",
                   help="inverse regularisation")
    p.add_argument("--cv", default="leave-one-run-out", help="leave-one-run-out or kfold")
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
    p.add_argument("--no-standardize", action="store_true")
    p.add_argument("--no-detrend", action="store_true")
    _common(p)
    p.set_defaults(func=run_decode)


def _add_regions(subparsers):
    p = subparsers.add_parser(
        "regions", help="learn networks/regions (CanICA, dictionary learning) from 4D images",
        description="Region learning (RegionJob) over one 4D image per subject.",
    )
    p.add_argument("imgs", nargs="+", metavar="IMG", help="one 4D image per subject")
    p.add_argument("--method", default="canica", help="canica or dictlearning")
    p.add_argument("--n-components", type=number_type("--n-components", integer=True, low=1,
                                                       high=100_000), default=20)
    p.add_argument("--smoothing", type=number_type("--smoothing", low=0, high=1000), default=6.0,
                   help="FWHM in mm (0: none)")
    p.add_argument("--extract-regions", action="store_true",
                   help="split components into connected regions")
    p.add_argument("--min-region-size", type=number_type("--min-region-size", low=0, high=1e12),
                   default=1350, help="mm^3")
    p.add_argument("--mask", default=None, metavar="FILE")
    _common(p)
    p.set_defaults(func=run_regions)


def _add_connectivity(subparsers):
    p = subparsers.add_parser(
        "connectivity", help="connectivity matrices from images + atlas, or from a regions result",
        description="Connectivity (ConnectivityJob) from 4D images with a label/maps atlas or "
                    "sphere coordinates, or from a saved regions result folder.",
    )
    p.add_argument("imgs", nargs="*", metavar="IMG", help="one 4D image per subject")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--atlas", metavar="FILE", help="3D label image or 4D probabilistic atlas")
    src.add_argument("--coords", metavar="FILE",
                     help="CSV/TSV of sphere centres (x, y, z columns, optional label)")
    src.add_argument("--from-regions", metavar="DIR", help="a result folder of 'brainviz regions'")
    p.add_argument("--kind", default="correlation",
                   help="correlation, 'partial correlation', tangent, covariance or "
                        "'sparse inverse covariance'")
    p.add_argument("--radius", type=number_type("--radius", low=0, high=1000, low_open=True),
                   default=5.0, help="sphere radius in mm")
    p.add_argument("--mask", default=None, metavar="FILE")
    _common(p)
    p.set_defaults(func=run_connectivity)


# --- progress -----------------------------------------------------------------------
class _Bar:
    """A one-line progress bar on stderr (plain lines when not a terminal)."""

    def __init__(self, name, quiet=False, stream=None):
        self.name = name
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last = -1
        self.start = time.monotonic()

    def __call__(self, fraction, message):
        if self.quiet:
            return
        pct = int(round(100 * fraction))
        if self.tty:
            filled = int(30 * fraction)
            self.stream.write(f"\r{self.name} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% "
                              f"{message[:40]:<40}")
            self.stream.flush()
        elif pct // 10 != self.last // 10 or pct == 100:
            self.stream.write(f"{self.name}: {pct:3d}% {message}\n")
        self.last = pct

    def close(self):
        if not self.quiet and self.tty:
            self.stream.write("\n")


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


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def run_decode(args):
    import os

    import numpy as np

    from ..backend import DecodingJob, read_labels, read_runs

    labels, runs = read_labels(args.labels, label_column=args.label_column)
    if args.runs is not None:
        if os.path.isfile(args.runs):
            runs = read_runs(args.runs)
        else:
            _, runs = read_labels(args.labels, label_column=args.label_column,
                                  run_column=args.runs)
    classes = _split(args.classes)
    if args.exclude:
        drop = set(_split(args.exclude))
        classes = [c for c in (classes or np.unique(labels).tolist()) if c not in drop]
    _check_output(args, args.imgs, n_maps=len(classes or np.unique(labels)))
    job = DecodingJob(
        estimator=args.estimator, C=args.C, cv=args.cv, n_folds=args.folds, classes=classes,
        screening_percentile=args.screening, n_permutations=args.permutations,
        standardize=not args.no_standardize, detrend=not args.no_detrend,
        memory=_memory(args), n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler,
    )
    imgs = args.imgs[0] if len(args.imgs) == 1 else args.imgs
    result = _run_job("decode", job, args, imgs, labels, runs=runs, mask=args.mask)
    _save(result, args)
    extra = f", p={result.pvalue_:.4f}" if result.pvalue_ is not None else ""
    print(f"decode: {len(result.scores_)} folds, mean {job.scoring} {result.mean_score_:.3f} "
          f"(chance {result.chance_level_:.3f}{extra}) -> {args.output}")
    return 0


def run_regions(args):
    from ..backend import RegionJob

    _check_output(args, args.imgs, n_maps=2 * args.n_components + 1)
    job = RegionJob(
        method=args.method, n_components=args.n_components,
        smoothing_fwhm=args.smoothing or None, extract_regions=args.extract_regions,
        min_region_size=args.min_region_size, memory=_memory(args), n_jobs=args.n_jobs,
        backend=args.backend, scheduler=args.scheduler,
    )
    result = _run_job("regions", job, args, args.imgs, mask=args.mask)
    _save(result, args)
    print(f"regions: {result.components_img_.shape[3]} components, "
          f"{len(result.region_labels_)} regions -> {args.output}")
    return 0


def _read_coords(path):
    from ..data import load_coordinate_atlas

    atlas = load_coordinate_atlas(path)
    return atlas.coords, atlas.labels


def run_connectivity(args):
    from ..backend import ConnectivityJob, load_result
    from ..exceptions import ParameterError

    _check_output(args)
    job = ConnectivityJob(kind=args.kind, radius=args.radius, memory=_memory(args),
                          n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler)
    if args.from_regions:
        if args.imgs:
            raise ParameterError("--from-regions takes no IMG arguments (the time series are "
                                 "in the regions result).")
        result = _run_job("connectivity", job, args, load_result(args.from_regions))
    else:
        if not args.imgs:
            raise ParameterError("give at least one 4D IMG with --atlas or --coords.")
        kwargs = {"mask": args.mask}
        if args.atlas:
            kwargs["atlas"] = args.atlas
        else:
            coords, labels = _read_coords(args.coords)
            kwargs.update(coords=coords, labels=labels)
        result = _run_job("connectivity", job, args, args.imgs, **kwargs)
    _save(result, args)
    print(f"connectivity: {args.kind}, {result.matrix_.shape[0]} nodes, "
          f"{result.matrices_.shape[0]} subject(s) -> {args.output}")
    return 0
