"""Value statistics for :mod:`brainviz.data.volumes`: robust range and kind guess.

The robust range is computed **exactly** (same answer as
``numpy.nanpercentile(..., method="linear")`` on the float32 values) while
holding only one chunk of the image in memory at a time. It uses two
histogram passes over order-preserving integer keys of the float32 values:

1. every finite value is mapped to a 32-bit unsigned key that sorts like the
   float (sign bit flipped for positives, all bits flipped for negatives);
   a 65,536-bin histogram of the upper 16 bits tells which bucket holds each
   wanted rank;
2. a second pass histograms the lower 16 bits of the values that fall in
   those few buckets, which pins down the exact key (hence the exact value)
   of each rank.

Memory is two 65,536-bin count arrays plus one chunk; time is two passes of
a handful of vectorised integer operations per value. Non-finite values
(NaN, +-inf) are ignored.
"""
import numpy as np

__all__ = ["compute_robust_range", "guess_kind"]

_NBINS = 1 << 16
_STAT_NAME_HINTS = ("zstat", "tstat", "fstat", "zfstat", "spmt", "spmf", "zmap", "tmap",
                    "z_map", "t_map", "stat", "cope", "varcope", "beta", "con_", "effect",
                    "weights", "coef", "score")


def _finite_f32(chunk):
    """Return the finite values of ``chunk`` as float32 (1D when a copy is needed)."""
    chunk = np.asarray(chunk, dtype=np.float32)
    finite = np.isfinite(chunk)
    if finite.all():
        return chunk
    return chunk[finite]


def _keys(values):
    """Order-preserving uint32 keys of float32 values (any shape, flattened)."""
    u = np.ravel(values, order="K").view(np.uint32)
    # int32 arithmetic shift gives 0 (positive) or -1 (negative): flip only the
    # sign bit of positives, every bit of negatives.
    mask = (u.view(np.int32) >> 31).view(np.uint32) | np.uint32(0x80000000)
    return u ^ mask


def _key_to_value(key):
    key = np.uint32(key)
    if key & np.uint32(0x80000000):
        u = key ^ np.uint32(0x80000000)
    else:
        u = ~key
    return float(np.array([u], dtype=np.uint32).view(np.float32)[0])


def compute_robust_range(chunks, percentiles):
    """Exact NaN-aware min, max and percentiles over chunks of data.

    Parameters
    ----------
    chunks : callable
        Called with no argument, returns an iterable of array chunks that
        together hold every value once. It is called twice (two passes).
    percentiles : sequence of float
        Percentiles in [0, 100].

    Returns
    -------
    (vmin, vmax, values, n_finite) : (float, float, list of float, int)
        ``values`` holds one value per percentile; everything is ``nan`` and
        ``n_finite`` is 0 when no value is finite.
    """
    hist_hi = np.zeros(_NBINS, dtype=np.int64)
    n = 0
    vmin, vmax = np.inf, -np.inf
    for chunk in chunks():
        values = _finite_f32(chunk)
        if values.size == 0:
            continue
        n += values.size
        vmin = min(vmin, float(values.min()))
        vmax = max(vmax, float(values.max()))
        hist_hi += np.bincount(_keys(values) >> np.uint32(16), minlength=_NBINS)
    if n == 0:
        return np.nan, np.nan, [np.nan] * len(percentiles), 0

    # Ranks numpy's "linear" method interpolates between.
    cum_hi = np.cumsum(hist_hi)
    wanted = []
    for q in percentiles:
        pos = (n - 1) * (float(q) / 100.0)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        wanted.append((lo, hi, pos - lo))
    ranks = sorted({r for lo, hi, _ in wanted for r in (lo, hi)})
    where = {}
    for rank in ranks:
        bucket = int(np.searchsorted(cum_hi, rank, side="right"))
        before = int(cum_hi[bucket - 1]) if bucket else 0
        where[rank] = (bucket, rank - before)
    buckets = sorted({b for b, _ in where.values()})
    hist_lo = {b: np.zeros(_NBINS, dtype=np.int64) for b in buckets}
    for chunk in chunks():
        values = _finite_f32(chunk)
        if values.size == 0:
            continue
        keys = _keys(values)
        top = keys >> np.uint32(16)
        for b in buckets:
            sel = keys[top == b]
            if sel.size:
                hist_lo[b] += np.bincount(sel & np.uint32(0xFFFF), minlength=_NBINS)

    exact = {}
    for rank, (b, r) in where.items():
        low = int(np.searchsorted(np.cumsum(hist_lo[b]), r, side="right"))
        exact[rank] = _key_to_value((b << 16) | low)
    results = []
    for lo, hi, frac in wanted:
        a, b = exact[lo], exact[hi]
        # Same lerp as numpy (exact at both ends).
        value = a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1 - frac)
        results.append(float(value))
    return vmin, vmax, results, n


def guess_kind(data, name="", n_frames=1):
    """Guess what an image holds, with simple, documented heuristics.

    Rules, first match wins:

    1. more than one frame: ``"4D series"``;
    2. every finite value is 0 or 1 (boolean or binary image): ``"mask"``;
    3. integer values, none negative, at most 1000 distinct ones, and
       piecewise constant (at least 80 % of neighbouring non-zero voxel pairs
       along any axis hold the same value): ``"label image"``;
    4. the file name looks like a statistic (zstat, tstat, spmT, cope, beta,
       con_, stat, ...) or at least 5 % of the non-zero values are negative
       while at least 5 % are positive: ``"statistical map"``;
    5. otherwise: ``"anatomy"``.

    Parameters
    ----------
    data : np.ndarray
        The 3D data (ignored when ``n_frames > 1``).
    name : str
        File name, used for the statistical-map hint.
    n_frames : int
        Number of frames.
    """
    if n_frames > 1:
        return "4D series"
    values = data[np.isfinite(data)]
    if values.size == 0:
        return "anatomy"
    integral = bool(np.all(np.mod(values, 1) == 0))
    if integral and values.min() >= 0 and values.max() <= 1:
        return "mask"
    if integral and values.min() >= 0:
        distinct = np.unique(values)
        if 3 <= distinct.size <= 1000 and _piecewise_constant_fraction(data) >= 0.8:
            return "label image"
    lowered = name.lower()
    if any(hint in lowered for hint in _STAT_NAME_HINTS):
        return "statistical map"
    nonzero = values[values != 0]
    if nonzero.size:
        negative = np.count_nonzero(nonzero < 0) / nonzero.size
        if 0.05 <= negative <= 0.95:
            return "statistical map"
    return "anatomy"


def _piecewise_constant_fraction(data):
    """Fraction of neighbouring pairs (both non-zero) holding the same value."""
    same = total = 0
    for axis in range(data.ndim):
        a = np.moveaxis(data, axis, 0)
        first, second = a[:-1], a[1:]
        both = (first != 0) & (second != 0) & np.isfinite(first) & np.isfinite(second)
        total += int(np.count_nonzero(both))
        same += int(np.count_nonzero(both & (first == second)))
    return same / total if total else 1.0
