"""Signal cleaning shared by the jobs: confounds, filters, detrending, z-scoring.

Every job has the same cleaning parameters (``detrend``, ``standardize``,
``high_pass``, ``low_pass``, ``t_r``, ``confounds_strategy``,
``confounds_params``) and its ``run()`` takes ``confounds=``, one entry per run
(decoding) or per subject (regions, connectivity):

- an array ``(n_volumes, n_confounds)``;
- a CSV/TSV/AFNI ``.1D``/``.npy`` table (header optional, ``n/a`` read as 0);
- with ``confounds_strategy`` (e.g. ``["motion", "wm_csf"]``): fMRIPrep's
  ``*_desc-confounds_timeseries.tsv``, read by
  ``nilearn.interfaces.fmriprep.load_confounds`` with that strategy and
  ``confounds_params`` (``motion="full"``, ``scrub=5``, ``fd_threshold=0.5``
  ...); ``confounds=None`` then finds the file beside each fMRIPrep image, as
  nilearn does. Scrubbing strategies also drop volumes (the sample mask).

The cleaning itself is ``nilearn.signal.clean`` with nilearn's defaults
(Butterworth filter, confounds standardised), per run: a job's cleaning of a
signal equals ``signal.clean(signal, detrend=..., standardize=..., confounds=...,
high_pass=..., low_pass=..., t_r=...)`` on that run.
"""
import os
from pathlib import Path

import numpy as np

from ..exceptions import DataValueError, ImageNotFoundError, ParameterError, ShapeMismatchError

__all__ = ["CLEANING_DEFAULTS", "check_cleaning", "read_table", "resolve_confounds",
           "clean_signals", "header_t_r", "cleaning_key", "strategy_params", "record"]

#: the cleaning parameters every job has, with their defaults
CLEANING_DEFAULTS = {"detrend": True, "standardize": True, "high_pass": None, "low_pass": None,
                     "t_r": None, "confounds_strategy": None, "confounds_params": None}

_STRATEGIES = ("motion", "wm_csf", "global_signal", "scrub", "compcor", "ica_aroma",
               "high_pass", "demean", "non_steady_state", "tedana")
_STRATEGY_PARAMS = ("motion", "scrub", "fd_threshold", "std_dvars_threshold", "wm_csf",
                    "global_signal", "compcor", "n_compcor", "ica_aroma", "demean", "tedana")


def _as_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return [str(v) for v in value]


def strategy_params(owner, value):
    """``confounds_params`` as a dict: a dict, or ``"k=v"`` strings (``"motion=full, scrub=5"``)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        items = dict(value)
    else:
        items = {}
        for part in _as_list(value):
            if "=" not in part:
                raise ParameterError(
                    f"The 'confounds_params' parameter of {owner} takes name=value pairs "
                    f"(e.g. 'motion=full, fd_threshold=0.5'); got {part!r}."
                )
            k, v = (t.strip() for t in part.split("=", 1))
            items[k] = _number_or_text(v)
    unknown = sorted(set(items) - set(_STRATEGY_PARAMS))
    if unknown:
        allowed = "{" + ", ".join(repr(p) for p in _STRATEGY_PARAMS) + "}"
        raise ParameterError(
            f"The 'confounds_params' parameter of {owner} takes names among {allowed} "
            f"(nilearn.interfaces.fmriprep.load_confounds); got {unknown}."
        )
    return items


def _number_or_text(text):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def check_cleaning(job):
    """Check a job's cleaning parameters; raise ParameterError naming the bad one."""
    owner = type(job).__name__
    for name in ("high_pass", "low_pass", "t_r"):
        value = getattr(job, name)
        if value is not None and not (isinstance(value, (int, float, np.number))
                                      and not isinstance(value, bool) and value > 0):
            raise ParameterError(
                f"The {name!r} parameter of {owner} must be a positive number "
                f"({'Hz' if name != 't_r' else 'seconds'}) or None; got {value!r}."
            )
    if job.high_pass is not None and job.low_pass is not None and job.high_pass >= job.low_pass:
        raise ParameterError(
            f"The 'high_pass' parameter of {owner} ({job.high_pass} Hz) must be below "
            f"'low_pass' ({job.low_pass} Hz)."
        )
    strategy = _as_list(job.confounds_strategy)
    if strategy is not None:
        bad = sorted(set(strategy) - set(_STRATEGIES))
        if bad or not strategy:
            allowed = "{" + ", ".join(repr(s) for s in _STRATEGIES) + "}"
            raise ParameterError(
                f"The 'confounds_strategy' parameter of {owner} takes strategies among "
                f"{allowed} (nilearn.interfaces.fmriprep.load_confounds); got {job.confounds_strategy!r}."
            )
    strategy_params(owner, job.confounds_params)
    if job.confounds_params and strategy is None:
        raise ParameterError(
            f"The 'confounds_params' parameter of {owner} goes with 'confounds_strategy'."
        )


def cleaning_key(job, t_r):
    """The cleaning parameters as a small hashable tuple (part of a cleaning step's key)."""
    strategy = _as_list(job.confounds_strategy)
    return (bool(job.detrend), bool(job.standardize), job.high_pass, job.low_pass, t_r,
            None if strategy is None else tuple(strategy),
            tuple(sorted(strategy_params(type(job).__name__, job.confounds_params).items())))


def record(job, t_r, confounds_keys):
    """What the cleaning did, for result.json: the settings, the TR used, the confounds."""
    return {"detrend": bool(job.detrend), "standardize": bool(job.standardize),
            "high_pass": job.high_pass, "low_pass": job.low_pass, "t_r": t_r,
            "confounds_strategy": _as_list(job.confounds_strategy),
            "confounds_params": strategy_params(type(job).__name__, job.confounds_params),
            "confounds": [_recorded(k) for k in confounds_keys]}


def _recorded(key):
    """A confounds entry as result.json names it: the file (fMRIPrep's too), or "array"."""
    if key is None:
        return None
    if key[0] == "file":
        return key[1]
    if key[0] == "fmriprep":  # the table read by load_confounds
        return key[1][1] if isinstance(key[1], tuple) else str(key[1])
    return str(key[0])


def header_t_r(img):
    """Repetition time (s) from a 4D NIfTI header, or None when it is not there."""
    header = getattr(img, "header", None)
    if header is None or len(img.shape) != 4:
        return None
    try:
        zooms = header.get_zooms()
        tr = float(zooms[3]) if len(zooms) > 3 else 0.0
        units = header.get_xyzt_units()[1] if hasattr(header, "get_xyzt_units") else "sec"
    except Exception:  # noqa: BLE001 - a header without a usable TR
        return None
    if not tr > 0:
        return None
    return tr / 1000.0 if units == "msec" else (tr / 1e6 if units == "usec" else tr)


def resolve_t_r(job, imgs=None):
    """The TR to clean with: the parameter, else the images' header; None if neither."""
    if job.t_r is not None:
        return float(job.t_r)
    for img in imgs or ():
        tr = header_t_r(img)
        if tr is not None:
            return tr
    return None


def needs_t_r(job):
    return job.high_pass is not None or job.low_pass is not None


def read_table(path, what="table"):
    """Read a numeric table: CSV/TSV (header optional), AFNI ``.1D`` or ``.npy``.

    Returns ``(array (n_rows, n_columns) float, column names or None)``. AFNI
    comment lines (``#``) are skipped; ``n/a`` (fMRIPrep's first derivative
    rows) reads as NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"The {what} file {path} does not exist.")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ParameterError(f"The {what} file {path} cannot be read: {exc}") from None
        arr = np.asarray(arr, dtype=float)
        return (arr[:, None] if arr.ndim == 1 else arr), None
    lines = [ln for ln in path.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DataValueError(f"The {what} file {path} has no rows.")
    first = lines[0]
    delim = "\t" if "\t" in first else ("," if "," in first else None)

    def split(line):
        return [c.strip().strip('"') for c in (line.split(delim) if delim else line.split())]

    names = None
    if not all(_is_number(c) for c in split(first)):
        names = split(first)
        lines = lines[1:]
    rows = [split(ln) for ln in lines]
    n_cols = len(names) if names else len(rows[0]) if rows else 0
    for i, row in enumerate(rows):
        if len(row) != n_cols:
            raise ShapeMismatchError(
                f"The {what} file {path} has {n_cols} columns but row {i + 1} has {len(row)}."
            )
    try:
        arr = np.array([[_cell(c) for c in row] for row in rows], dtype=float).reshape(-1, n_cols)
    except ValueError as exc:
        raise ParameterError(f"The {what} file {path} must hold numbers: {exc}.") from None
    return arr, names


def _is_number(text):
    return _cell(text, strict=True) is not None


def _cell(text, strict=False):
    if text.lower() in ("n/a", "nan", "na", ""):
        return np.nan
    try:
        return float(text)
    except ValueError:
        if strict:
            return None
        raise


def _fmriprep_confounds(source, img, strategy, params, owner):
    """(confounds array or None, sample_mask or None) through nilearn's load_confounds."""
    import tempfile

    from nilearn.interfaces.fmriprep import load_confounds

    if source is not None:
        # nilearn finds the table from an fMRIPrep image name: give it one,
        # beside links to the table (and its JSON sidecar) under matching names
        source = Path(source)
        if not source.is_file():
            raise ImageNotFoundError(f"The confounds file {source} does not exist.")
        tmp = Path(tempfile.mkdtemp(prefix="brainviz-confounds-"))
        try:
            stem = "sub-0_task-x"
            os.symlink(source.resolve(), tmp / f"{stem}_desc-confounds_timeseries.tsv")
            sidecar = source.with_suffix(".json")
            if sidecar.is_file():
                os.symlink(sidecar.resolve(), tmp / f"{stem}_desc-confounds_timeseries.json")
            img_name = str(tmp / f"{stem}_desc-preproc_bold.nii.gz")
            return _call_load_confounds(load_confounds, img_name, strategy, params, source, owner)
        finally:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    fname = img.get_filename() if hasattr(img, "get_filename") else None
    if not fname:
        raise ParameterError(
            f"confounds_strategy of {owner} needs fMRIPrep images given as files (to find "
            "their *_desc-confounds_timeseries.tsv), or the confounds files (confounds=...)."
        )
    return _call_load_confounds(load_confounds, str(fname), strategy, params, fname, owner)


def _call_load_confounds(load_confounds, img_name, strategy, params, shown, owner):
    try:
        conf, sample_mask = load_confounds(img_name, strategy=tuple(strategy), **params)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        text = str(exc).replace("\n", " ")
        raise DataValueError(
            f"fMRIPrep confounds for {shown} (confounds_strategy={list(strategy)}): {text}"
        ) from None
    values = None if conf is None else np.asarray(conf, dtype=float)
    if values is not None and values.shape[1] == 0:
        values = None
    return values, (None if sample_mask is None else np.asarray(sample_mask, dtype=int))


def _file_key(path):
    st = os.stat(path)
    return ("file", os.path.abspath(path), st.st_size, st.st_mtime_ns)


def resolve_confounds(job, confounds, imgs, n_frames, what="run"):
    """One ``(confounds, sample_mask)`` pair per run/subject, and a small key for each.

    Parameters
    ----------
    job : a job (its cleaning parameters)
    confounds : None, or a list with one entry per run/subject (None, array, path)
        A single array or path is taken for a single run.
    imgs : list of nibabel images or None
        The runs' images (fMRIPrep's table is found beside each), or None.
    n_frames : list of int
        Volumes (time points) of each run.
    """
    import joblib

    owner = type(job).__name__
    n = len(n_frames)
    strategy = _as_list(job.confounds_strategy)
    params = strategy_params(owner, job.confounds_params)
    if confounds is None:
        entries = [None] * n
    elif isinstance(confounds, (str, os.PathLike)) or (
            isinstance(confounds, np.ndarray) and confounds.ndim <= 2 and n == 1):
        entries = [confounds]
    else:
        entries = list(confounds)
    if len(entries) != n:
        raise ShapeMismatchError(
            f"There are {len(entries)} confounds entries but {n} {what}s: give one per {what}."
        )
    out, keys = [], []
    for i, entry in enumerate(entries):
        img = imgs[i] if imgs is not None else None
        if strategy is not None:
            if entry is not None and not isinstance(entry, (str, os.PathLike)):
                raise ParameterError(
                    f"confounds_strategy of {owner} reads fMRIPrep confounds files; "
                    f"{what} {i} has an array: give a file path, or no confounds_strategy."
                )
            values, sample_mask = _fmriprep_confounds(entry, img, strategy, params, owner)
            src = entry if entry is not None else (img.get_filename() if img is not None else None)
            keys.append(("fmriprep", _file_key(src) if src and os.path.isfile(src) else str(src)))
        elif entry is None:
            values, sample_mask = None, None
            keys.append(None)
        elif isinstance(entry, (str, os.PathLike)):
            values, _ = read_table(entry, "confounds")
            values = np.nan_to_num(values, nan=0.0)
            sample_mask = None
            keys.append(_file_key(entry))
        else:
            values = np.asarray(entry, dtype=float)
            if values.ndim == 1:
                values = values[:, None]
            sample_mask = None
            keys.append(("array", joblib.hash(values)))
        if values is not None and (values.ndim != 2 or values.shape[0] != n_frames[i]):
            raise ShapeMismatchError(
                f"The confounds of {what} {i} have {values.shape[0]} rows but the {what} has "
                f"{n_frames[i]} volumes: give one row per volume."
            )
        out.append((values, sample_mask))
    return out, keys


def _standardize_arg(standardize):
    return "zscore_sample" if standardize else no_standardize()


def no_standardize():
    """nilearn's spelling of "do not standardize": None from 0.11 (False warns from
    0.14), False before."""
    import nilearn

    major, minor = (int(v) for v in nilearn.__version__.split(".")[:2])
    return None if (major, minor) >= (0, 11) else False


def clean_signals(signals, confounds=None, sample_mask=None, *, detrend, standardize,
                  high_pass=None, low_pass=None, t_r=None, dtype=np.float32):
    """``nilearn.signal.clean`` of one run; volumes outside sample_mask dropped.

    ``dtype``: the output's (float32 keeps a decoding's voxels small); None keeps what
    nilearn gives, the input's float type (a connectivity's few region signals, so that
    their matrices are those of nilearn's own pipeline).
    """
    from nilearn.signal import clean

    signals = np.asarray(signals)
    nothing = (confounds is None and sample_mask is None and high_pass is None
               and low_pass is None and not detrend and not standardize)
    if nothing:
        return signals if dtype is None else signals.astype(dtype, copy=False)
    kwargs = {}
    if sample_mask is not None:
        kwargs["sample_mask"] = sample_mask
    if high_pass is not None or low_pass is not None:
        # the same filter, applied to all columns at once: nilearn's in-place
        # default loops over the voxels one by one (minutes on a whole brain)
        kwargs["butterworth__copy"] = True
    out = clean(
        signals, detrend=bool(detrend), standardize=_standardize_arg(standardize),
        confounds=confounds, high_pass=high_pass, low_pass=low_pass,
        t_r=t_r if t_r is not None else 2.5, ensure_finite=True, **kwargs,
    )
    return np.asarray(out, dtype=dtype)


def check_t_r(job, t_r, source="the images' headers hold none"):
    """Raise ParameterError when filtering needs a TR that nothing gave; ``source`` says
    why none was found (time series given as arrays or files carry none)."""
    if needs_t_r(job) and t_r is None:
        raise ParameterError(
            f"high_pass/low_pass of {type(job).__name__} need the repetition time: give "
            f"t_r=... (seconds; --t-r on the command line); {source}."
        )
