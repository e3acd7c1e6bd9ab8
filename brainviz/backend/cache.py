"""The job cache: one joblib.Memory, cached calls, and a cache browser.

Every expensive step of a job goes through :func:`cached_call`, with the big
inputs (arrays, images) excluded from the hash and replaced by small
fingerprints (file path + size + modification time, or a content hash computed
once). Hashing is then cheap, so an identical rerun costs a few file reads.

Each cache entry is a joblib folder ``<cache>/joblib/<func id>/<args hash>/``
holding ``output.pkl`` (Python's pickle, protocol 5, after a short magic; joblib's
format in entries of older versions and in a compressed joblib.Memory) and
``metadata.json`` (joblib's format), with ours inside the metadata under
``"brainviz"``: the signature, the job kind, key parameters and an input summary.
The metadata's modification time is the entry's last use, set again by each cache
hit. Two files per entry: each new file costs the file system an inode (0.6-1.2 ms
of kernel time each on a busy ext4), and entries written by older versions (the
signature in ``brainviz.sig``, the rest in ``brainviz.json``) are still read.

Trust
-----
A pickle runs code when it is loaded, so brainviz loads only entries it wrote:
the signature is an HMAC-SHA256 of the entry's id and of its ``output.pkl``,
keyed with a per-user secret kept outside the cache
(``cache.key`` in the configuration folder, ``~/.config/brainviz`` on Linux;
mode 0600). An entry without a valid
signature is never unpickled: it is a cache miss, with a :class:`CacheWarning`,
and is computed again. Nothing below ``<cache>/joblib`` is followed through a
symbolic link: a cache holding one is not used, and removal and eviction delete
links, never their targets. Deletions that fail are reported
(:class:`~brainviz.exceptions.CacheError`).

Faults
------
Every write goes to a temporary name carrying host and pid
(:mod:`brainviz._files`) and is renamed into place, output last, so a killed
process never leaves an entry that looks complete. A write that fails for any
reason (full disk, read-only folder, permissions) turns the rest of the job
uncached, with one :class:`CacheWarning`; the job itself goes on. Temporary
files of failed or killed writes are removed at the start of the next job that
uses the cache (in a process that runs many, at most once a minute), and counted
meanwhile by :func:`find_orphans` (``brainviz cache list``).
"""
import hashlib
import hmac
import io
import json
import os
import re
import stat
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

from .. import _config
from .._files import (
    STALE_AFTER, is_stale, is_temp_name, remove_stale, remove_tree, temp_name, write_atomic,
)
from ..exceptions import CacheError, CacheWarning, ParameterError

__all__ = [
    "check_memory",
    "cached_call",
    "is_cached",
    "CacheEntry",
    "list_cache_entries",
    "find_orphans",
    "clean_orphans",
    "remove_cache_entry",
    "clear_cache",
    "cache_size",
    "enforce_cache_limit",
]

_SIDECAR = "brainviz.json"
_SIGNATURE = "brainviz.sig"
_OUTPUT = "output.pkl"
_METADATA = "metadata.json"
_ENTRY_DIR = re.compile(r"^[0-9a-f]{32}$")
# joblib's own temporary names (concurrency_safe_write): "<name>.<uuid hex>-<pid>-<thread id>"
_JOBLIB_TEMP = re.compile(r"^.+\.[0-9a-f]{32}-(?P<pid>\d+)-\d+$")
#: An entry folder missing its output or metadata this long after its last change is an orphan.
_INCOMPLETE_AFTER = 60.0

# Memories whose cache could not be written during the current job: the rest of
# the job runs uncached (reset by check_memory at the start of each job).
_GIVEN_UP = weakref.WeakSet()


def _writable(folder):
    """Return None if ``folder`` can hold cache files, else the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / temp_name("probe")
        try:
            with open(probe, "wb") as f:
                f.write(b"0" * 4096)
        finally:
            if probe.exists():
                probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _link_inside(root, path):
    """The first symbolic link from ``root`` (included) down to ``path``, or None."""
    root = Path(root)
    path = Path(path)
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path
    current = os.fspath(root)  # joined as strings: this runs on every cached call
    for part in ("",) + rel.parts:
        current = os.path.join(current, part) if part else current
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return None
        except OSError:
            return Path(current)
        if stat.S_ISLNK(st.st_mode):
            return Path(current)
    return None


#: Seconds between two searches of one cache folder for what killed writes left, in one
#: process (see :func:`_upkeep`).
UPKEEP_EVERY = 60.0
#: when each cache folder was last searched, by this process (time.monotonic())
_LAST_UPKEEP = {}


def _upkeep(folder, root):
    """Remove what failed or killed writes left in the cache ``folder`` (entries under
    ``root``), unless this process did so less than :data:`UPKEEP_EVERY` seconds ago.

    The search opens every entry's folder: 43 ms for a cache of 5,000 entries, at the
    start of every job of a script or a window that runs many. What it finds is never
    urgent: a write of this process that fails removes its own files, and an entry left
    incomplete counts as an orphan only a minute after its last change.
    """
    key = os.fspath(root)
    last = _LAST_UPKEEP.get(key)
    if last is not None and time.monotonic() - last < UPKEEP_EVERY:
        return
    remove_stale(folder)
    _clean_orphans_in(root)
    _LAST_UPKEEP[key] = time.monotonic()


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
        cannot be written (read-only, full disk), holds a symbolic link where
        brainviz keeps its entries, or no signing key can be kept: a
        :class:`CacheWarning` says so and jobs still run, uncached.

    Notes
    -----
    Called at the start of every job: temporary files left by failed or killed
    cache writes are removed here, at most once every ``UPKEEP_EVERY`` (60)
    seconds for a folder in one process.
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
    root = _root_of(memory) if isinstance(memory, Memory) else folder / "joblib"
    if reason is None:
        link = _link_inside(folder, root)
        if link is not None:
            reason = (f"{link} is a symbolic link; brainviz never follows links inside its "
                      "cache (remove the link or choose another cache folder)")
    if reason is None:
        try:
            _signing_key()
        except OSError as exc:
            reason = f"no signing key can be kept at {_key_path()} ({exc.strerror or exc})"
    if reason is not None:
        warnings.warn(
            f"The cache folder {folder} cannot be written ({reason}): running uncached.",
            CacheWarning,
            stacklevel=2,
        )
        return Memory(None, verbose=verbose)
    _upkeep(folder, root)
    if isinstance(memory, Memory):
        _GIVEN_UP.discard(memory)
        return memory
    try:
        return Memory(str(folder), verbose=verbose)
    except OSError as exc:  # joblib writes a .gitignore and makes <folder>/joblib
        warnings.warn(
            f"The cache folder {folder} cannot be written ({exc.strerror or exc}): running "
            "uncached.", CacheWarning, stacklevel=2)
        return Memory(None, verbose=verbose)


# --- signatures -------------------------------------------------------------------------
def _key_path():
    return _config.get_config_dir() / "cache.key"


_KEYS = {}


def _signing_key():
    """The per-user signing key (created on first use, mode 0600, outside the cache).

    Raises OSError when it cannot be read or created, or when another user
    could read or change it (then it would prove nothing).
    """
    path = _key_path()
    cached = _KEYS.get(str(path))
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32).hex().encode())
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            raise PermissionError(
                f"the key file {path} can be read or written by other users (chmod 600 it)")
        key = bytes.fromhex(f.read(256).decode("ascii", "replace").strip() or "00")
    if len(key) < 16:
        raise PermissionError(f"the key file {path} holds no usable key (delete it)")
    _KEYS[str(path)] = key
    return key


def _entry_id(root, item):
    return Path(item).relative_to(root).as_posix()


def _digest(f):
    h = hashlib.sha256()
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def _signature(entry_id, output_digest):
    message = f"brainviz-cache-v1\0{entry_id}\0{output_digest}".encode()
    return hmac.new(_signing_key(), message, hashlib.sha256).hexdigest()


def _open_output(item):
    """Open ``output.pkl`` without following a link; None when absent."""
    try:
        fd = os.open(item / _OUTPUT, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise OSError(f"{item / _OUTPUT} is not a regular file")
    return f


def _read_small(path, limit=1 << 16):
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)


def _read_metadata(item):
    """The entry's metadata (a dict), or None when it is missing, unreadable or not
    complete. joblib writes output.pkl then metadata.json, and brainviz writes the
    metadata before renaming the output in: an entry without metadata comes from a
    process killed in between and is not trusted."""
    try:
        meta = json.loads(_read_small(item / _METADATA, 1 << 20))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "duration" in meta else None


def _ours(meta):
    """What brainviz keeps in an entry's metadata (a dict; empty for older entries)."""
    ours = meta.get("brainviz") if isinstance(meta, dict) else None
    return ours if isinstance(ours, dict) else {}


def _stored_signature(item, meta):
    """The entry's signature: in its metadata, or in ``brainviz.sig`` (older entries);
    None when it has none."""
    signature = _ours(meta).get("signature")
    if isinstance(signature, str):
        return signature
    try:
        return _read_small(item / _SIGNATURE, 256).decode("ascii", "replace").strip()
    except FileNotFoundError:
        return None


#: Outputs up to this size are read once, checked and unpickled from memory (one pass over
#: the file, and what is unpickled is the very bytes checked); larger ones are read twice
#: from the file (memory bounded).
_READ_WHOLE = 16 << 20


def _verify(root, item):
    """(open output file, or its bytes as a BytesIO, positioned at 0, None) when the entry
    is valid and signed by us; (None, reason) otherwise, reason None for a plain miss."""
    return _verify_meta(root, item)[:2]


def _verify_meta(root, item):
    """:func:`_verify`, and the entry's metadata as a third item (None when unread)."""
    try:
        f = _open_output(item)
    except OSError as exc:
        return None, f"its output cannot be opened safely ({exc.strerror or exc})", None
    if f is None:
        return None, None, None
    meta = None
    try:
        meta = _read_metadata(item)
        if meta is None:
            f.close()
            return None, None, None  # killed between two writes: recomputed, no warning
        stored = _stored_signature(item, meta)
        if stored is None:
            f.close()
            return None, "it is not signed by brainviz for this user", meta
        src = f
        size = os.fstat(f.fileno()).st_size
        if size <= _READ_WHOLE:
            # its size and one byte more (a growing file is seen); a read of _READ_WHOLE
            # bytes would allocate (and page in) 16 MiB for each small entry
            data = f.read(size + 1)
            if len(data) == size:
                src = io.BytesIO(data)
                f.close()
                digest = hashlib.sha256(data).hexdigest()
            else:  # it grew meanwhile
                f.seek(0)
                digest = _digest(f)
        else:
            digest = _digest(f)
        expected = _signature(_entry_id(root, item), digest)
        if not hmac.compare_digest(stored, expected):
            src.close()
            return None, "its signature does not match its content", meta
        src.seek(0)
        return src, None, meta
    except OSError as exc:
        f.close()
        return None, f"it cannot be read ({exc.strerror or exc})", meta


# --- cached calls ------------------------------------------------------------------------
# One joblib MemorizedFunc per (Memory, function, ignored arguments), made once: it keeps the
# function's source and code check, which joblib otherwise redoes for each new MemorizedFunc
# (reading func_code.py and the function's source on every cached call of a fresh process).
_MEMORIZED = weakref.WeakKeyDictionary()


def _memorized(memory, func, ignore):
    key = (func, tuple(ignore))
    try:
        per_memory = _MEMORIZED[memory]
    except (KeyError, TypeError):
        per_memory = {}
        try:
            _MEMORIZED[memory] = per_memory
        except TypeError:  # a Memory that cannot be referenced weakly: made each time
            return memory.cache(func, ignore=list(ignore))
    memorized = per_memory.get(key)
    if memorized is None:
        memorized = per_memory[key] = memory.cache(func, ignore=list(ignore))
    return memorized


def _item_dir(memory, memorized, args, kwargs):
    if memory.location is None:
        return None
    args_id = memorized._get_args_id(*args, **kwargs)
    return Path(_root_of(memory), *memorized.func_id.split("/"), args_id)


def _root_of(memory):
    """Where joblib keeps this Memory's entries (``<location>/joblib`` for a str location)."""
    return Path(memory.store_backend.location)


def is_cached(memory, func, *args, ignore=(), **kwargs):
    """Whether ``func(*args, **kwargs)`` has a valid, signed entry in ``memory``."""
    if memory.location is None or memory in _GIVEN_UP:
        return False
    memorized = _memorized(memory, func, ignore)
    item = _item_dir(memory, memorized, args, kwargs)
    if _link_inside(_root_of(memory), item) is not None:
        return False
    f, _ = _verify(_root_of(memory), item)
    if f is None:
        return False
    f.close()
    return True


def _remove_own_joblib_temps(folder):
    """Remove the temporary files joblib's writer left in ``folder`` for this thread
    (its failed writes: joblib does not remove them)."""
    import threading

    tail = f"-{os.getpid()}-{id(threading.current_thread())}"
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.endswith(tail) and _JOBLIB_TEMP.match(name):
            remove_tree(Path(folder, name))


def _give_up(memory, exc, stacklevel=3):
    """Warn once and run the rest of the job uncached."""
    if memory in _GIVEN_UP:
        return
    _GIVEN_UP.add(memory)
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    warnings.warn(
        f"Could not store a cache entry in {memory.location} ({reason}): the rest of this job "
        "runs uncached.",
        CacheWarning,
        stacklevel=stacklevel + 1,
    )


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

    Notes
    -----
    Only entries signed with this user's key are loaded (see the module
    docstring); others are computed again, with a warning. When writing the
    entry fails, the result is still returned and the rest of the job runs
    uncached (one :class:`CacheWarning`).
    """
    if memory.location is None or memory in _GIVEN_UP:
        return func(*args, **kwargs)
    root = _root_of(memory)
    item = None
    try:
        memorized = _memorized(memory, func, ignore)
        item = _item_dir(memory, memorized, args, kwargs)
        link = _link_inside(root, item)
        if link is not None:
            raise OSError(f"{link} is a symbolic link inside the cache")
        # joblib's check that the function's code did not change (writes func_code.py)
        memorized._check_previous_func_code(stacklevel=4)
    except OSError as exc:
        if item is not None:
            _remove_own_joblib_temps(item.parent)
        _give_up(memory, exc)
        return func(*args, **kwargs)
    f, reason, meta = _verify_meta(root, item)
    if f is not None:
        try:
            with f:
                out = _load_output(f)
        except Exception as exc:  # noqa: BLE001 - a damaged entry is computed again
            reason = f"it cannot be unpickled ({type(exc).__name__}: {exc})"
        else:
            if log is not None:
                log(f"{kind or func.__name__}: loaded from the cache")
            _note_use(item, kind, params, inputs, meta)
            return out
    if reason is not None:
        warnings.warn(
            f"The cache entry {_entry_id(root, item)} in {memory.location} is ignored and "
            f"computed again: {reason}.",
            CacheWarning,
            stacklevel=2,
        )
    start = time.time()
    out = func(*args, **kwargs)
    duration = time.time() - start
    if memory in _GIVEN_UP:  # a nested step could not write
        return out
    try:
        _store(memory, root, item, out, duration, _browser_info(item, kind, params, inputs))
    except Exception as exc:  # noqa: BLE001 - full disk, read-only, unpicklable output...
        _give_up(memory, exc)
        return out
    try:
        enforce_cache_limit(memory, keep=item)
    except CacheError as exc:
        warnings.warn(str(exc), CacheWarning, stacklevel=2)
    return out


#: The first bytes of an output written by :func:`_dump_output` with Python's own pickle
#: (protocol 5); joblib's files (older entries, compressed caches) never start so.
_MAGIC = b"BVPKL5\0\n"


class _HashingWriter:
    """A file's ``write`` that also feeds what it writes to a SHA-256."""

    def __init__(self, f):
        self._f = f
        self.hash = hashlib.sha256()

    def write(self, data):
        self.hash.update(data)
        return self._f.write(data)


def _dump_output(out, f, compress=False):
    """Write ``out`` to the open file ``f``; return the SHA-256 (hex) of what was written.

    Python's pickle (protocol 5, in C) after :data:`_MAGIC`: arrays are written from their
    own memory, as joblib writes them, without joblib's pickler written in Python (a third
    of a millisecond for each entry holding one array, with the interpreter held), and
    the digest is taken as the bytes go out instead of reading the file back. A cache
    made with ``compress`` (a joblib.Memory given by the caller) keeps joblib's format.
    """
    if compress:
        from joblib import numpy_pickle

        start = f.tell()
        numpy_pickle.dump(out, f, compress=compress)
        f.flush()
        with open(f.name, "rb") as back:
            back.seek(start)
            return _digest(back)
    import pickle

    w = _HashingWriter(f)
    w.write(_MAGIC)
    pickle.dump(out, w, protocol=5)
    return w.hash.hexdigest()


def _load_output(f):
    """Unpickle an entry's checked output from ``f`` (a file or a BytesIO at 0): Python's
    pickle after :data:`_MAGIC`, joblib's loader otherwise (older entries, compressed)."""
    if f.read(len(_MAGIC)) == _MAGIC:
        import pickle

        return pickle.load(f)
    f.seek(0)
    from joblib import numpy_pickle

    return numpy_pickle.load(f)


def _store(memory, root, item, out, duration, info=None):
    """Write one entry: the output and the metadata (with the signature and the browser
    information ``info``) under temporary names, renamed in, output last."""
    item.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        tmp_out = item / temp_name(_OUTPUT)
        written.append(tmp_out)
        with open(tmp_out, "wb") as f:
            digest = _dump_output(out, f, compress=getattr(memory, "compress", False))
        ours = dict(info or {}, signature=_signature(_entry_id(root, item), digest))
        tmp_meta = item / temp_name(_METADATA)
        written.append(tmp_meta)
        tmp_meta.write_text(json.dumps({"duration": duration, "time": time.time(),
                                        "brainviz": ours}))
        # an untrusted older output must not pair with the new signature, nor an older
        # entry's signature file or browser information with the new output
        for old in (_OUTPUT, _SIGNATURE, _SIDECAR):
            remove_tree(item / old)
        os.replace(tmp_meta, item / _METADATA)
        os.replace(tmp_out, item / _OUTPUT)
    except BaseException:
        for path in written:
            remove_tree(path)
        raise


def _browser_info(item, kind, params, inputs):
    """The cache browser's fields of an entry: job kind, key parameters, input summary."""
    return {
        "kind": kind or item.parent.name,
        "params": _jsonable(params) if params is not None else {},
        "inputs": inputs if inputs is not None else "",
    }


def _note_use(item, kind, params, inputs, meta=None):
    """A cache hit: the metadata's modification time becomes the entry's last use.

    Its text was written with the entry and does not change on a hit, so it is not
    rewritten (a read, a write and a rename per hit: about 3 ms, 60 ms on a rerun over 20
    subjects). An older entry's ``brainviz.json`` (``meta`` holds no browser information)
    carries its last use instead; one without it gets it written whole.
    """
    path = item / (_METADATA if _ours(meta).get("kind") is not None else _SIDECAR)
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.utime(path, follow_symlinks=False)
            return
    except (OSError, NotImplementedError):
        pass
    if path.name == _SIDECAR:
        _touch_sidecar(item, kind, params, inputs)


def _touch_sidecar(item, kind, params, inputs):
    """Write an older entry's ``brainviz.json`` (browser information, last use) whole."""
    path = item / _SIDECAR
    info = {}
    try:
        info = json.loads(_read_small(path, 1 << 20))
        if not isinstance(info, dict):
            info = {}
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
    text = json.dumps(info)
    try:
        write_atomic(path, lambda tmp: tmp.write_text(text))
    except OSError:  # browser information only: never fails a job
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
    signed : bool
        Whether it carries a brainviz signature (checked in full only when
        loaded); unsigned entries are never loaded.
    """

    id: str
    kind: str
    params: dict
    inputs: str
    size: int
    last_use: float
    duration: object
    path: Path
    signed: bool = True


def _root(cache_dir):
    if hasattr(cache_dir, "store_backend"):
        if cache_dir.location is None:
            raise ParameterError("This joblib.Memory caches nothing (location=None).")
        return _root_of(cache_dir)
    if hasattr(cache_dir, "location"):
        cache_dir = cache_dir.location
    return Path(_config.get_cache_dir(cache_dir)) / "joblib"


def _check_root(root):
    """Raise CacheError when the cache's own folder is a link (never followed)."""
    if root.is_symlink():
        raise CacheError(
            f"The cache folder {root} is a symbolic link (to {os.readlink(root)}): brainviz "
            "never follows links inside its cache. Remove the link, or point "
            "BRAINVIZ_CACHE_DIR at the folder it names."
        )


def _walk(root):
    """os.walk below ``root`` that never enters a linked folder."""
    if not root.is_dir() or root.is_symlink():
        return
    yield from os.walk(root, followlinks=False)


def _folder_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _is_joblib_temp_stale(path):
    match = _JOBLIB_TEMP.match(path.name)
    if not match:
        return False
    try:
        age = time.time() - os.lstat(path).st_mtime
    except OSError:
        return False
    if age > STALE_AFTER:
        return True
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def find_orphans(cache_dir=None):
    """Files and entry folders left by failed or killed cache writes.

    Temporary files of processes that are gone (brainviz's and joblib's
    temporary names), and entry folders without an output or metadata (a
    write killed half-way) unchanged for a minute.

    Returns
    -------
    list of pathlib.Path
    """
    return _find_orphans_in(_root(cache_dir))


def _find_orphans_in(root):
    # run at the start of every job over the whole cache: one scandir per folder, and a
    # Path made only for names that can be temporary (brainviz's start with a dot,
    # joblib's hold "-<pid>-"), not for each entry's files
    orphans = []
    now = time.time()
    if not root.is_dir() or root.is_symlink():
        return orphans
    stack = [os.fspath(root)]
    while stack:
        here = stack.pop()
        files, dirnames = [], []
        try:
            with os.scandir(here) as it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir()  # as os.walk sorts them: links to folders too
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        files.append(entry.name)
                        continue
                    dirnames.append(entry.name)
                    try:
                        if not entry.is_symlink():  # never entered (os.walk, followlinks=False)
                            stack.append(entry.path)
                    except OSError:
                        pass
        except OSError:
            continue
        for name in files + [d for d in dirnames if is_temp_name(d)]:
            if not (name.startswith(".") or "-" in name):
                continue
            path = Path(here, name)
            if (is_temp_name(name) and is_stale(path)) or _is_joblib_temp_stale(path):
                orphans.append(path)
        name = os.path.basename(here)
        if _ENTRY_DIR.match(name) and here != os.fspath(root):
            if _OUTPUT in files and _METADATA in files:
                continue
            try:
                age = now - os.lstat(here).st_mtime
            except OSError:
                continue
            if age > _INCOMPLETE_AFTER and not any(is_temp_name(n) and not is_stale(Path(here, n))
                                                   for n in files):
                orphans.append(Path(here))
    return orphans


def clean_orphans(cache_dir=None):
    """Remove what :func:`find_orphans` finds; return (count, bytes) removed."""
    return _clean_orphans_in(_root(cache_dir))


def _clean_orphans_in(root):
    count = size = 0
    if _link_inside(root.parent, root) is not None:
        return 0, 0
    for path in _find_orphans_in(root):
        nbytes = _folder_size(path) if path.is_dir() else _lsize(path)
        if _link_inside(root, path.parent) is None and not remove_tree(path):
            count += 1
            size += nbytes
    return count, size


def _lsize(path):
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def list_cache_entries(cache_dir=None, include_unsigned=False):
    """List the cache entries, least recently used first.

    Parameters
    ----------
    cache_dir : str, path-like, joblib.Memory or None
        The cache folder (default: :func:`brainviz._config.get_cache_dir`).
    include_unsigned : bool, default=False
        Also list complete entries without a brainviz signature (never
        loaded; written by another tool, an older brainviz, or planted).

    Returns
    -------
    list of CacheEntry
        Complete entries only: output and metadata present (a write killed
        half-way is an orphan, see ``find_orphans``).
    """
    root = _root(cache_dir)
    _check_root(root)
    entries = []
    for dirpath, _, files in _walk(root):
        if _OUTPUT not in files or _METADATA not in files:
            continue
        item = Path(dirpath)
        meta = {}
        try:
            meta = json.loads(_read_small(item / _METADATA, 1 << 20))
        except (OSError, ValueError):
            pass
        meta = meta if isinstance(meta, dict) else {}
        ours = _ours(meta)
        signed = isinstance(ours.get("signature"), str) or _SIGNATURE in files
        if not signed and not include_unsigned:
            continue
        side, side_path = ours, item / _METADATA  # the browser information, and its file
        if "kind" not in ours:  # an older entry: in brainviz.json
            side, side_path = {}, item / _SIDECAR
            try:
                side = json.loads(_read_small(side_path, 1 << 20))
            except (OSError, ValueError):
                pass
            side = side if isinstance(side, dict) else {}
        try:
            mtime = os.lstat(item / _OUTPUT).st_mtime
        except OSError:
            continue
        rel = item.relative_to(root).as_posix()
        func_id = item.parent.relative_to(root).as_posix()
        # the last use: the time of the file holding the browser information (a cache hit
        # sets it, see _note_use), else the time written in it, else the output's
        last_use = side.get("last_use")
        try:
            if side:
                last_use = os.lstat(side_path).st_mtime
        except OSError:
            pass
        entries.append(
            CacheEntry(
                id=rel,
                kind=str(side.get("kind") or func_id.rsplit("/", 1)[-1]),
                params=side.get("params") if isinstance(side.get("params"), dict) else {},
                inputs=str(side.get("inputs") or ""),
                size=_folder_size(item),
                last_use=float(last_use) if isinstance(last_use, (int, float)) else mtime,
                duration=meta.get("duration"),
                path=item,
                signed=signed,
            )
        )
    entries.sort(key=lambda e: e.last_use)
    return entries


def _remove(path, root):
    """Remove one entry folder, never through a link; raise CacheError on failure."""
    link = _link_inside(root, path.parent)
    if link is not None:
        raise CacheError(f"Not removing {path}: {link} is a symbolic link inside the cache.")
    errors = remove_tree(path)
    if errors:
        failed, exc = errors[0]
        raise CacheError(
            f"Could not remove {len(errors)} file(s) of the cache entry {path}: {failed}: "
            f"{exc.strerror or exc}."
        )


def remove_cache_entry(entry, cache_dir=None):
    """Remove one entry (a :class:`CacheEntry` or its ``id``).

    Raises
    ------
    ParameterError
        An empty id, or one that is not an entry of this cache (see
        :func:`list_cache_entries`).
    CacheError
        The entry could not be removed (read-only cache, permissions).
    """
    root = _root(cache_dir)
    _check_root(root)
    entry_id = entry.id if isinstance(entry, CacheEntry) else str(entry)
    if not entry_id.strip():
        raise ParameterError("The cache entry id is empty: give one of the ids that "
                             "'brainviz cache list' shows.")
    known = {e.id: e for e in list_cache_entries(cache_dir, include_unsigned=True)}
    if entry_id not in known:
        raise ParameterError(f"No cache entry {entry_id!r} in {root}; 'brainviz cache list' "
                             "shows the ids.")
    _remove(known[entry_id].path, root)


def clear_cache(cache_dir=None):
    """Remove every cache entry; return the number of bytes freed.

    A symbolic link in place of the cache's folder is removed itself, never
    what it points to.

    Raises
    ------
    CacheError
        Something could not be removed (read-only cache, permissions): the
        message says how much and the first reason.
    """
    root = _root(cache_dir)
    if root.is_symlink():
        errors = remove_tree(root)
        if errors:
            raise CacheError(f"Could not remove the link {root}: {errors[0][1]}.")
        return 0
    if not root.is_dir():
        return 0
    size = _folder_size(root)
    errors = remove_tree(root)
    if errors:
        left = _folder_size(root) if root.exists() else 0
        failed, exc = errors[0]
        raise CacheError(
            f"Could not clear the cache {root}: {len(errors)} file(s) could not be removed "
            f"({failed}: {exc.strerror or exc}); {size - left} of {size} bytes freed."
        )
    return size


def cache_size(cache_dir=None):
    """Total bytes used by the cache."""
    root = _root(cache_dir)
    return _folder_size(root) if root.is_dir() and not root.is_symlink() else 0


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

    Raises
    ------
    CacheError
        An entry could not be removed.
    """
    max_bytes = _config.get_cache_max_bytes(max_bytes)
    if max_bytes is None:
        return []
    root = _root(cache_dir)
    entries = list_cache_entries(cache_dir, include_unsigned=True)
    total = sum(e.size for e in entries)
    evicted = []
    keep = Path(keep) if keep is not None else None
    for entry in entries:  # least recently used first
        if total <= max_bytes:
            break
        if keep is not None and entry.path == keep:
            continue
        _remove(entry.path, root)
        total -= entry.size
        evicted.append(entry)
    return evicted
