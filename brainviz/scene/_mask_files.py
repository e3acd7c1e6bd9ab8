"""Boolean masks kept on disk (bit-packed ``.npz``), written atomically, best effort.

Used for masks that are slow to compute or to import the tools for, and that the
window needs before its first frame: the dilated MNI brain mask of the
connectome's outside-the-brain check, and the head masks of anatomy slices.
A file that cannot be read counts as absent; one that cannot be written only
means the next process computes the mask again.
"""
import os

import numpy as np

__all__ = ["load_mask", "save_mask"]


def load_mask(path):
    """Return ``(mask, extras)`` read from ``path``, or None when it is absent or unreadable."""
    try:
        with np.load(path) as stored:
            shape = tuple(int(v) for v in stored["shape"])
            bits = np.unpackbits(stored["bits"])[: int(np.prod(shape))]
            extras = {k: np.asarray(stored[k]) for k in stored.files if k not in ("bits", "shape")}
            return bits.reshape(shape).astype(bool), extras
    except (OSError, KeyError, ValueError, EOFError):
        return None


def save_mask(path, mask, **extras):
    """Write ``mask`` (and any extra arrays) to ``path`` through a temporary file."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp.npz")
    try:
        os.makedirs(folder, exist_ok=True)
        np.savez(tmp, bits=np.packbits(np.asarray(mask, dtype=bool).ravel()),
                 shape=np.asarray(np.shape(mask)), **extras)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
