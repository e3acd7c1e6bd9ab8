"""Value statistics for :mod:`brainviz.data.volumes`: robust range and kind guess.

The robust range is computed **exactly** (the same answer as
``numpy.nanpercentile(..., method="linear")`` on the float32 values) while
holding only one chunk of the image in memory at a time, with two histogram
passes over the bit patterns of the float32 values:

1. a 65,536-bin histogram of the upper 16 bits (sign, exponent and 7
   mantissa bits) of every value. Those buckets are ordered like the values
   (positives ascending, negatives descending), and the buckets whose
   exponent is all ones hold exactly the non-finite values (NaN, +-inf),
   which are dropped. This tells which bucket holds each wanted rank;
2. a second pass histograms the lower 16 bits of the values falling in those
   few buckets, which pins down the exact bit pattern, hence the exact value,
   of each rank (min and max are ranks 0 and n - 1).

Memory is a few 65,536-bin count arrays plus one chunk; time is, per value,
one ``np.bincount`` (pass 1) and a comparison per wanted bucket (pass 2).
"""
import sys

import numpy as np

__all__ = ["compute_robust_range", "guess_kind", "KindStats"]

_NBINS = 1 << 16
_STAT_NAME_HINTS = ("zstat", "tstat", "fstat", "zfstat", "spmt", "spmf", "zmap", "tmap",
                    "z_map", "t_map", "stat", "cope", "varcope", "beta", "con_", "effect",
                    "weights", "coef", "score")
# Finite upper-16-bit buckets in increasing value order: negatives from the
# largest magnitude (0xFF7F) to -0 (0x8000), then +0 (0x0000) to 0x7F7F.
_ORDER = np.r_[np.arange(0xFF7F, 0x7FFF, -1), np.arange(0, 0x7F80)]
_HIGH, _LOW = (1, 0) if sys.byteorder == "little" else (0, 1)


def _words(chunk):
    """(high, low) uint16 views of the float32 values of ``chunk``, flattened."""
    flat = np.ravel(np.asarray(chunk, dtype=np.float32), order="K")
    if not flat.flags.c_contiguous:
        flat = np.ascontiguousarray(flat)
    halves = flat.view(np.uint16)
    return halves[_HIGH::2], halves[_LOW::2]


def _value(high, low):
    bits = np.array([(int(high) << 16) | int(low)], dtype=np.uint32)
    return float(bits.view(np.float32)[0])


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
        ``n_finite`` is 0 when no value is finite. Non-finite values are ignored.
    """
    small = _small_values(chunks)
    if small is not None:  # few values: sorting them gives the same exact ranks, sooner
        n = int(small.size)
        if n == 0:
            return np.nan, np.nan, [np.nan] * len(percentiles), 0
        wanted = _wanted_ranks(percentiles, n)
        exact = {r: float(small[r]) for r in
                 {0, n - 1} | {r for lo, hi, _ in wanted for r in (lo, hi)}}
        return exact[0], exact[n - 1], _interpolate(wanted, exact), n

    hist_high = np.zeros(_NBINS, dtype=np.int64)
    for chunk in chunks():
        high, _ = _words(chunk)
        if high.size:
            hist_high += np.bincount(high, minlength=_NBINS)
    cum = np.cumsum(hist_high[_ORDER])
    n = int(cum[-1])
    if n == 0:
        return np.nan, np.nan, [np.nan] * len(percentiles), 0

    wanted = _wanted_ranks(percentiles, n)
    ranks = {0, n - 1} | {r for lo, hi, _ in wanted for r in (lo, hi)}
    where = {}
    for rank in ranks:
        idx = int(np.searchsorted(cum, rank, side="right"))
        where[rank] = (int(_ORDER[idx]), rank - (int(cum[idx - 1]) if idx else 0))
    buckets = sorted({b for b, _ in where.values()})
    hist_low = {b: np.zeros(_NBINS, dtype=np.int64) for b in buckets}
    for chunk in chunks():
        high, low = _words(chunk)
        for b in buckets:
            sel = low[high == b]
            if sel.size:
                hist_low[b] += np.bincount(sel, minlength=_NBINS)

    exact = {}
    for rank, (b, r) in where.items():
        negative = b >= 0x8000  # larger bit patterns are smaller values
        counts = hist_low[b][::-1] if negative else hist_low[b]
        p = int(np.searchsorted(np.cumsum(counts), r, side="right"))
        exact[rank] = _value(b, 0xFFFF - p if negative else p)
    return exact[0], exact[n - 1], _interpolate(wanted, exact), n


#: Up to this many values, the finite ones are sorted instead of histogrammed.
SMALL_VALUES = 1 << 18


def _small_values(chunks):
    """The sorted finite float32 values when there are at most SMALL_VALUES, else None."""
    kept = []
    total = 0
    for chunk in chunks():
        flat = np.ravel(np.asarray(chunk, dtype=np.float32))
        total += flat.size
        if total > SMALL_VALUES:
            return None
        kept.append(flat[np.isfinite(flat)])
    if not kept:
        return np.empty(0, dtype=np.float32)
    return np.sort(np.concatenate(kept))


def _wanted_ranks(percentiles, n):
    # numpy's "linear" method interpolates between ranks floor(pos) and floor(pos) + 1.
    wanted = []
    for q in percentiles:
        pos = (n - 1) * (float(q) / 100.0)
        lo = int(np.floor(pos))
        wanted.append((lo, min(lo + 1, n - 1), pos - lo))
    return wanted


def _interpolate(wanted, exact):
    results = []
    for lo, hi, frac in wanted:
        a, b = exact[lo], exact[hi]
        # numpy's lerp (exact at both ends)
        results.append(float(a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1 - frac)))
    return results


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

    Notes
    -----
    :class:`KindStats` gives the same answer block by block (for volumes too
    big to hold whole); this function is that class fed one block.
    """
    if n_frames > 1:
        return "4D series"
    stats = KindStats()
    stats.add(data)
    return stats.kind(name)


class KindStats:
    """The statistics :func:`guess_kind` needs, accumulated over blocks of a 3D volume.

    Feed :meth:`add` blocks that tile the volume in any order; a block may
    carry one extra row (axis 1) and one extra plane (axis 2) past its own
    voxels (``core`` gives the size of its own part), so that the neighbour
    pairs across block borders are counted once. Memory: a few copies of one
    block and at most 1001 distinct values.
    """

    _MAX_DISTINCT = 1000

    def __init__(self):
        self.n_finite = 0
        self.integral = True
        self.vmin = np.inf
        self.vmax = -np.inf
        self.distinct = np.empty(0, dtype=np.float64)
        self.too_many = False
        self.n_nonzero = 0
        self.n_negative = 0
        self.same = 0
        self.total = 0

    def add(self, block, core=None):
        """Add one block; ``core`` = (ni, nj, nk), its own part (default: all of it)."""
        block = np.asarray(block)
        if core is None:
            core = block.shape
        ci, cj, ck = core
        own = block[:ci, :cj, :ck]
        finite = np.isfinite(own)
        values = own[finite]
        del finite
        if values.size:
            self.n_finite += int(values.size)
            if self.integral:
                self.integral = bool(np.all(np.mod(values, 1) == 0))
            self.vmin = min(self.vmin, float(values.min()))
            self.vmax = max(self.vmax, float(values.max()))
            if self.integral and not self.too_many:
                low = float(values.min())
                span = float(values.max()) - low
                if span < 2**20:  # whole numbers in a short range: counting beats sorting
                    offsets = (values - low).astype(np.int64)
                    unique = np.flatnonzero(np.bincount(offsets)).astype(np.float64) + low
                else:
                    unique = np.unique(values).astype(np.float64)
                merged = np.union1d(self.distinct, unique)
                self.too_many = merged.size > self._MAX_DISTINCT
                self.distinct = merged if not self.too_many else np.empty(0)
            nonzero = values[values != 0]
            self.n_nonzero += int(nonzero.size)
            self.n_negative += int(np.count_nonzero(nonzero < 0))
        del values
        ej = block.shape[1] - cj
        ek = block.shape[2] - ck
        self._pairs(own[:-1], own[1:])
        self._pairs(block[:ci, :-1, :ck] if ej else own[:, :-1],
                    block[:ci, 1:, :ck] if ej else own[:, 1:])
        self._pairs(block[:ci, :cj, :-1] if ek else own[:, :, :-1],
                    block[:ci, :cj, 1:] if ek else own[:, :, 1:])

    def _pairs(self, first, second):
        if first.size == 0:
            return
        both = (first != 0) & (second != 0) & np.isfinite(first) & np.isfinite(second)
        self.total += int(np.count_nonzero(both))
        self.same += int(np.count_nonzero(both & (first == second)))

    def kind(self, name=""):
        """The guess, by the rules of :func:`guess_kind`."""
        if self.n_finite == 0:
            return "anatomy"
        if self.integral and self.vmin >= 0 and self.vmax <= 1:
            return "mask"
        if self.integral and self.vmin >= 0 and not self.too_many:
            fraction = self.same / self.total if self.total else 1.0
            if 3 <= self.distinct.size <= self._MAX_DISTINCT and fraction >= 0.8:
                return "label image"
        lowered = name.lower()
        if any(hint in lowered for hint in _STAT_NAME_HINTS):
            return "statistical map"
        if self.n_nonzero:
            negative = self.n_negative / self.n_nonzero
            if 0.05 <= negative <= 0.95:
                return "statistical map"
        return "anatomy"
