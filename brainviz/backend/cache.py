"""The job cache: one joblib.Memory, cached calls, and a cache browser.

Every expensive step of a job goes through :func:`cached_call`, with the big
inputs (arrays, images) excluded from the hash and replaced by small
fingerprints (file path + size + modification time, or a content hash computed
once). Hashing is then cheap, so an identical rerun costs a few file reads.

Each cache entry is a joblib folder ``<cache>/joblib/<func id>/<args hash>/``
holding ``output.pkl`` and ``metadata.json`` (written by joblib, in that order)
plus ``brainviz.json`` (ours: job kind, key parameters, input summary, last
use). An entry whose ``metadata.json`` is missing (a process killed between
the two writes) or whose output cannot be unpickled is recomputed.
"""
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import _config
from ..exceptions import CacheWarning, ParameterError

__all__ = [
    "check_memory",
    "cached_call",
    "CacheEntry",
    "list_cache_entries",
    "remove_cache_entry",
    "clear_cache",
    "cache_size",
    "enforce_cache_limit",
]

_SIDECAR = "brainviz.json"


def _writable(folder):
    """Return None if ``folder`` can hold cache files, else the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".brainviz-probe-{os.getpid()}-{time.monotonic_ns()}"
        with open(probe, "wb") as f:
            f.write(b"0" * 4096)
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_memory(memory=None, *, verbose=0):
    """Turn ``None`` / a folder / a :class:`joblib.Memory` into a Memory.

    Parameters
    ----------
    memory : None, str, path-like, False or joblib.Memory, default=None
        ``None`` uses :func:`brainviz._config.get_cache_dir` (argument >
        ``BRAINVIZ_CACHE_DIR`` > per-user cache folder). ``False`` disables
        caching. A folder is used as the cache location.
    verbose : int, default=0
        joblib verbosity.

    Returns
    -------
    joblib.Memory
        A Memory whose location may be ``None`` (no caching) when the folder
        cannot be written (read-only, full disk): a :class:`CacheWarning` says
        so and jobs still run, uncached.
    """
    from joblib import Memory

    if isinstance(memory, Memory):
        if memory.location is None:
            return memory
        folder = Path(memory.location)
    elif memory is False:
        return Memory(None, verbose=verbose)
    elif memory is None or isinstance(memory, (str, os.PathLike)):
        folder = _config.get_cache_dir(memory)
    else:
        raise ParameterError(
            "The 'memory' parameter must be None, a folder path, False or a "
            f"joblib.Memory; got {type(memory).__name__}."
        )
    reason = _writable(folder)
    if reason is not None:
        warnings.warn(
            f"The cache folder {folder} cannot be written ({reason}): running uncached.",
            CacheWarning,
            stacklevel=2,
        )
        return Memory(None, verbose=verbose)
    if isinstance(memory, Memory):
        return memory
    return Memory(str(folder), verbose=verbose)


def _has_metadata(metadata):
    # joblib writes output.pkl then metadata.json: an entry without metadata
    # comes from a process killed in between and is not trusted.
    return bool(metadata) and "duration" in metadata


def _memorized(memory, func, ignore):
    return memory.cache(func, ignore=list(ignore), cache_validation_callback=_has_metadata)


def _item_dir(memory, memorized, args, kwargs):
    if memory.location is None:
        return None
    args_id = memorized._get_args_id(*args, **kwargs)
    return Path(memory.location, "joblib", *memorized.func_id.split("/"), args_id)


def is_cached(memory, func, *args, ignore=(), **kwargs):
    """Whether ``func(*args, **kwargs)`` has a valid entry in ``memory``."""
    if memory.location is None:
        return False
    memorized = _memorized(memory, func, ignore)
    item = _item_dir(memory, memorized, args, kwargs)
    return (item / "output.pkl").is_file() and (item / "metadata.json").is_file()


def cached_call(memory, func, *args, ignore=(), kind=None, params=None, inputs=None, log=None,
                **kwargs):
    """Call ``func`` through ``memory`` and record browser information.

    Parameters
    ----------
    memory : joblib.Memory
        From :func:`check_memory`.
    func : callable
        A module-level function (joblib hashes partials and lambdas badly).
    *args, **kwargs
        Arguments of ``func``.
    ignore : sequence of str
        Argument names left out of the hash (big arrays described by a
        fingerprint argument instead, progress callbacks, cancel events).
    kind, params, inputs
        Shown by the cache browser: job kind (e.g. ``"decoding: masking"``),
        key parameters (a JSON-able dict) and an input summary (a string).
    log : callable(line) or None
        Told when the step is loaded from the cache instead of computed.
    """
    if memory.location is None:
        return func(*args, **kwargs)
    memorized = _memorized(memory, func, ignore)
    item = _item_dir(memory, memorized, args, kwargs)
    if log is not None and (item / "output.pkl").is_file() and (item / "metadata.json").is_file():
        log(f"{kind or func.__name__}: loaded from the cache")
    out = memorized(*args, **kwargs)
    if not (item / "output.pkl").is_file():
        # joblib swallows write errors (full disk) with its own warning.
        warnings.warn(
            f"Could not store a cache entry in {memory.location} (full disk?): "
            "the result was computed but is not cached.",
            CacheWarning,
            stacklevel=2,
        )
        return out
    _touch_sidecar(item, kind, params, inputs)
    enforce_cache_limit(memory.location, keep=item)
    return out


def _touch_sidecar(item, kind, params, inputs):
    path = item / _SIDECAR
    info = {}
    if path.is_file():
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            info = {}
    info.update(
        {
            "kind": kind or info.get("kind") or item.parent.name,
            "params": _jsonable(params) if params is not None else info.get("params", {}),
            "inputs": inputs if inputs is not None else info.get("inputs", ""),
            "last_use": time.time(),
        }
    )
    try:
        tmp = path.with_name(f".{_SIDECAR}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, path)
    except OSError:
        pass


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_jsonable(v) for v in value]
        return repr(value)


# --- cache browser --------------------------------------------------------
@dataclass
class CacheEntry:
    """One cached computation, as listed by :func:`list_cache_entries`.

    Attributes
    ----------
    id : str
        ``"<function id>/<argument hash>"``, accepted by :func:`remove_cache_entry`.
    kind : str
        Job kind and step (``"decoding: masking"``...).
    params : dict
        Key parameters of the step.
    inputs : str
        Summary of the inputs (file names, shapes).
    size : int
        Bytes on disk.
    last_use : float
        POSIX time of the last use (write or cache hit).
    duration : float or None
        Seconds the computation took.
    path : pathlib.Path
        The entry's folder.
    """

    id: str
    kind: str
    params: dict
    inputs: str
    size: int
    last_use: float
    duration: object
    path: Path


def _root(cache_dir):
    if hasattr(cache_dir, "location"):
        cache_dir = cache_dir.location
    return Path(_config.get_cache_dir(cache_dir)) / "joblib"


def _folder_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def list_cache_entries(cache_dir=None):
    """List the cache entries, least recently used first.

    Parameters
    ----------
    cache_dir : str, path-like, joblib.Memory or None
        The cache folder (default: :func:`brainviz._config.get_cache_dir`).

    Returns
    -------
    list of CacheEntry
    """
    root = _root(cache_dir)
    entries = []
    if not root.is_dir():
        return entries
    for output in root.rglob("output.pkl"):
        item = output.parent
        meta = {}
        try:
            meta = json.loads((item / "metadata.json").read_text())
        except (OSError, ValueError):
            pass
        side = {}
        try:
            side = json.loads((item / _SIDECAR).read_text())
        except (OSError, ValueError):
            pass
        try:
            mtime = output.stat().st_mtime
        except OSError:
            continue
        rel = item.relative_to(root).as_posix()
        func_id = item.parent.relative_to(root).as_posix()
        entries.append(
            CacheEntry(
                id=rel,
                kind=side.get("kind") or func_id.rsplit("/", 1)[-1],
                params=side.get("params") or {},
                inputs=side.get("inputs") or "",
                size=_folder_size(item),
                last_use=float(side.get("last_use") or mtime),
                duration=meta.get("duration"),
                path=item,
            )
        )
    entries.sort(key=lambda e: e.last_use)
    return entries


def remove_cache_entry(entry, cache_dir=None):
    """Remove one entry (a :class:`CacheEntry` or its ``id``)."""
    root = _root(cache_dir)
    entry_id = entry.id if isinstance(entry, CacheEntry) else str(entry)
    path = (root / entry_id).resolve()
    if root.resolve() not in path.parents or not (path / "output.pkl").exists():
        raise ParameterError(f"No cache entry {entry_id!r} in {root}.")
    shutil.rmtree(path, ignore_errors=True)


def clear_cache(cache_dir=None):
    """Remove every cache entry; return the number of bytes freed."""
    root = _root(cache_dir)
    if not root.is_dir():
        return 0
    size = _folder_size(root)
    shutil.rmtree(root, ignore_errors=True)
    return size


def cache_size(cache_dir=None):
    """Total bytes used by the cache."""
    root = _root(cache_dir)
    return _folder_size(root) if root.is_dir() else 0


def enforce_cache_limit(cache_dir=None, max_bytes=None, keep=None):
    """Evict least-recently-used entries until the cache fits ``max_bytes``.

    Parameters
    ----------
    cache_dir : folder or joblib.Memory, default=None
    max_bytes : int, default=None
        The cap; ``None`` reads :func:`brainviz._config.get_cache_max_bytes`
        (``BRAINVIZ_CACHE_MAX_BYTES``); no cap means nothing is evicted.
    keep : path-like, default=None
        An entry never evicted (the one just written).

    Returns
    -------
    list of CacheEntry
        The evicted entries.
    """
    max_bytes = _config.get_cache_max_bytes(max_bytes)
    if max_bytes is None:
        return []
    entries = list_cache_entries(cache_dir)
    total = sum(e.size for e in entries)
    evicted = []
    keep = Path(keep) if keep is not None else None
    for entry in entries:  # least recently used first
        if total <= max_bytes:
            break
        if keep is not None and entry.path == keep:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        total -= entry.size
        evicted.append(entry)
    return evicted
