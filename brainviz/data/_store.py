"""One on-disk store for what start-up would otherwise recompute in every process.

The head masks of anatomy slices, the dilated MNI brain mask of the connectome's
outside-the-brain check and the window's demo arrays are slow to compute (or to
import the tools for) and are needed before the first frame. :func:`stored_arrays`
keeps each under ``<demo-data folder>/<folder>/<key>.npz``: written atomically,
boolean arrays bit-packed, small JSON metadata alongside, best effort (a file
that cannot be read counts as absent; one that cannot be written only means the
next process computes again), the ``keep`` most recently used entries kept.
"""
import hashlib
import json
import os

import numpy as np

__all__ = ["stored_arrays", "digest"]

_BITS, _SHAPE, _META = "__bits__", "__shape__", "__meta__"


def digest(*parts):
    """A short hex key for ``parts`` (arrays hashed by shape, dtype and bytes; others by repr)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            h.update(f"{part.shape}|{part.dtype.str}|".encode())
            h.update(part.view(np.uint8).ravel())
        else:
            h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _folder(folder):
    from .._config import get_data_dir

    return get_data_dir() / folder


def _load(path):
    try:
        with np.load(path, allow_pickle=False) as stored:
            out = {}
            for name in stored.files:
                if name.endswith(_BITS):
                    base = name[: -len(_BITS)]
                    shape = tuple(int(v) for v in stored[base + _SHAPE])
                    bits = np.unpackbits(stored[name])[: int(np.prod(shape))]
                    out[base] = bits.reshape(shape).astype(bool)
                elif name == _META:
                    out["meta"] = json.loads(str(stored[name]))
                elif not name.endswith(_SHAPE):
                    out[name] = np.asarray(stored[name])
            return out
    except (OSError, KeyError, ValueError, EOFError):
        return None


def _save(path, arrays):
    packed = {}
    for name, value in arrays.items():
        if name == "meta":
            packed[_META] = np.asarray(json.dumps(value))
            continue
        value = np.asarray(value)
        if value.dtype == bool:
            packed[name + _BITS] = np.packbits(value.ravel())
            packed[name + _SHAPE] = np.asarray(value.shape)
        else:
            packed[name] = value
    from .._files import write_atomic

    try:
        os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
        write_atomic(path, lambda tmp: np.savez(tmp, **packed))
    except OSError:
        pass  # best effort: the next process computes it again


def _prune(folder, keep):
    try:
        files = sorted(folder.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink()
    except OSError:
        pass


def stored_arrays(folder, key, compute, keep=None):
    """Return ``compute()`` (a dict of arrays, plus an optional JSON-able ``"meta"``),
    read from the store when an entry for ``key`` exists, else computed and stored.

    Parameters
    ----------
    folder : str
        Sub-folder of the demo-data folder (one per kind of entry, versioned: "head_masks_v1").
    key : str
        Entry name (see :func:`digest`).
    compute : callable
        Returns the dict, or None (nothing is stored then).
    keep : int, optional
        Keep only this many most recently used entries of the folder.
    """
    path = _folder(folder) / f"{key}.npz"
    stored = _load(path)
    if stored is not None:
        try:
            os.utime(path)  # recently used: kept by pruning
        except OSError:
            pass
        return stored
    arrays = compute()
    if arrays is not None:
        _save(path, arrays)
        if keep:
            _prune(path.parent, keep)
    return arrays
