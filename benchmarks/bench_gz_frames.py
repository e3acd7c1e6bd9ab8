"""Benchmark: frames of a compressed 4D series read out of order (a frame slider
dragged back and forth), with and without ``indexed_gzip``, side by side in one run.

brainviz keeps a ``.nii.gz`` open; nibabel reads it through ``indexed_gzip``
when that is installed (it is a brainviz dependency), which seeks through an
index of the compressed stream. Without it, every backwards step decompresses
from the start of the file again. Each side runs in a fresh process (the
other hides ``indexed_gzip`` before nibabel is imported), reads the same frames
from the page cache, and the frames are checked to be identical.

Usage: ``python benchmarks/bench_gz_frames.py [--frames 200] [--repeat 3]``
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ORDER = (0.99, 0.75, 0.05, 0.9, 0.0, 0.6, 0.3, 0.95)

CHILD = '''
import sys, time, json, hashlib
if sys.argv[2] == "hide":
    sys.modules["indexed_gzip"] = None  # as if it were not installed
from brainviz.data import load_volume
frames = json.loads(sys.argv[3])
t0 = time.perf_counter()
vol = load_volume(sys.argv[1])
out = [vol.get_frame(i) for i in frames]
elapsed = time.perf_counter() - t0
digest = hashlib.sha1(b"".join(f.tobytes() for f in out)).hexdigest()
print(json.dumps({"time": elapsed, "digest": digest}))
'''


def main(argv=None):
    import nibabel as nib
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "series.nii.gz"
        rng = np.random.default_rng(0)
        data = (rng.normal(size=(64, 64, 40, args.frames)) * 100).astype(np.int16)
        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
        frames = [int(f * (args.frames - 1)) for f in ORDER]
        print(f"file: {path.stat().st_size / 1e6:.0f} MB .nii.gz, {args.frames} frames of "
              f"64x64x40 int16; load_volume + get_frame of frames {frames}")
        runs = {"use": [], "hide": []}
        digests = set()
        for _ in range(args.repeat):
            for side in runs:
                out = subprocess.run([sys.executable, "-c", CHILD, str(path), side, json.dumps(frames)],
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                runs[side].append(row["time"])
                digests.add(row["digest"])
        assert len(digests) == 1, "the two sides read different frames"
        a, b = statistics.median(runs["use"]), statistics.median(runs["hide"])
        print(f"  with indexed_gzip {a:7.2f} s   without {b:7.2f} s   ratio {a / b:.2f} "
              f"(median of {args.repeat}; same frames)")


if __name__ == "__main__":
    main()
