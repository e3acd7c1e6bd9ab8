"""Benchmark: brainviz volume loading vs plain nibabel / numpy on a >= 1 GB 4D file.

Generates a 4D float32 NIfTI file (uncompressed ``.nii``, seeded noise with a
few NaN, ``--size-gb`` GB, default 1.0) in a temporary folder, deleted at the
end, then prints side by side:

1. first frame: ``load_volume(path).get_frame(0)`` vs
   ``nibabel.load(path).dataobj[..., 0]`` (goal: time and peak-memory ratios <= 1.1);
2. robust range over the whole series: ``Volume.robust_range()`` (exact
   percentiles, streamed by blocks of frames) vs ``np.asarray(img.dataobj)``
   + ``np.nanpercentile`` / ``np.nanmin`` / ``np.nanmax`` (goal: time ratio
   <= 1.2, less memory).

Each measurement runs in its own fresh Python process (so peak memory,
``ru_maxrss``, belongs to that measurement alone), after the same imports on
both sides; the time covers the operation only. Each measurement is repeated
``--repeat`` times, alternating sides; the median time and the largest peak
are reported. The file is read from the page cache on every side (it was just
written), so this compares CPU and memory, not disk speed.

Usage::

    python benchmarks/bench_load.py [--size-gb 1.0] [--repeat 3] [--dir /tmp]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_file(path, size_gb, seed=0):
    """Write a 4D float32 .nii of about ``size_gb`` GB frame by frame (low memory)."""
    import nibabel as nib

    spatial = (128, 128, 64)
    frame_bytes = int(np.prod(spatial)) * 4
    n_frames = max(2, int(np.ceil(size_gb * 1e9 / frame_bytes)))
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_data_shape(spatial + (n_frames,))
    affine = np.diag([-2.0, 2.0, 2.5, 1.0])  # stored LAS, like FSL outputs
    affine[:3, 3] = [127.0, -127.0, -80.0]
    header.set_sform(affine, code=1)
    header.set_qform(affine, code=1)
    header.set_xyzt_units("mm", "sec")
    header["pixdim"][4] = 2.0
    header["vox_offset"] = 352
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        header.write_to(f)
        f.write(b"\x00" * (352 - f.tell()))
        for t in range(n_frames):
            frame = rng.standard_normal(spatial, dtype=np.float32) * 100 + 1000
            frame[:2, :2, :2] = np.nan  # background NaNs: the range must be NaN-aware
            f.write(frame.tobytes(order="F"))
    return spatial + (n_frames,)


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(mode, path):
    """Run one measurement in this (fresh) process; print a JSON line."""
    import nibabel as nib

    from brainviz.data.volumes import load_volume

    start_rss = _rss_kib()
    t0 = time.perf_counter()
    if mode == "bv_frame":
        result = load_volume(path).get_frame(0)
        check = float(np.nansum(result))
    elif mode == "nib_frame":
        result = nib.load(path).dataobj[..., 0]
        check = float(np.nansum(result))
    elif mode == "bv_range":
        r = load_volume(path).robust_range((2, 98))
        check = [r.min, r.max, r.low, r.high]
    elif mode == "np_range":
        data = np.asarray(nib.load(path).dataobj)
        low, high = np.nanpercentile(data, (2, 98))
        check = [float(np.nanmin(data)), float(np.nanmax(data)), float(low), float(high)]
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"time": elapsed, "peak_kib": peak, "start_kib": start_rss, "check": check}))


def measure(mode, path):
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(label, a, b, goal_time, goal_mem):
    ta, tb = statistics.median(a["times"]), statistics.median(b["times"])
    ma, mb = a["peak"] / 1024, b["peak"] / 1024
    da, db = (a["peak"] - a["start"]) / 1024, (b["peak"] - b["start"]) / 1024
    print(f"\n{label}")
    print(f"  {'':34s} {'brainviz':>12s} {'peer':>12s} {'ratio':>8s} {'goal':>8s}")
    print(f"  {'time (s, median)':34s} {ta:12.4f} {tb:12.4f} {ta / tb:8.2f} {goal_time:>8s}")
    print(f"  {'peak RSS of the process (MiB)':34s} {ma:12.1f} {mb:12.1f} {ma / mb:8.2f} {goal_mem:>8s}")
    print(f"  {'peak RSS above imports (MiB)':34s} {da:12.1f} {db:12.1f} "
          f"{(da / db if db > 0 else float('nan')):8.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="folder for the temporary file")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="brainviz_bench_") as folder:
        path = Path(folder) / "bold.nii"
        t0 = time.perf_counter()
        shape = make_file(path, args.size_gb)
        size = os.path.getsize(path)
        print(f"file: {path.name}, shape {shape}, float32, {size / 1e9:.2f} GB "
              f"(written in {time.perf_counter() - t0:.1f} s); {args.repeat} runs per side, "
              "each in a fresh process")
        results = {m: {"times": [], "peak": 0, "start": 0, "check": None}
                   for m in ("bv_frame", "nib_frame", "bv_range", "np_range")}
        for _ in range(args.repeat):
            for mode in results:  # alternate sides: same cache state on average
                r = measure(mode, path)
                results[mode]["times"].append(r["time"])
                results[mode]["peak"] = max(results[mode]["peak"], r["peak_kib"])
                results[mode]["start"] = r["start_kib"]
                results[mode]["check"] = r["check"]
        _row("first frame: load_volume + get_frame(0)  vs  nibabel.load + dataobj[..., 0]",
             results["bv_frame"], results["nib_frame"], "<= 1.1", "<= 1.1")
        _row("robust range, whole series: Volume.robust_range()  vs  np.asarray(dataobj) + "
             "np.nanpercentile/nanmin/nanmax",
             results["bv_range"], results["np_range"], "<= 1.2", "< 1")
        same_frame = np.isclose(results["bv_frame"]["check"], results["nib_frame"]["check"])
        same_range = np.allclose(results["bv_range"]["check"], results["np_range"]["check"],
                                 rtol=1e-6)
        print(f"\nsame first frame: {bool(same_frame)}; same range (min, max, p2, p98): "
              f"{bool(same_range)} {results['bv_range']['check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
