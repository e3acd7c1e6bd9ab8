"""Benchmark the cached jobs against nilearn called directly.

Generates a Haxby-sized dataset (about 40,000 in-mask voxels x 1,452 volumes,
8 categories + rest, 12 runs; ``--scale`` shrinks the number of voxels), then
prints, side by side in one run:

1. cold ``DecodingJob`` vs ``nilearn.decoding.Decoder`` (same estimator, C,
   leave-one-run-out, no screening)             goal: ratio <= 1.1
2. identical rerun of the job                   goal: <= 2 % of cold
3. rerun with another estimator (ridge)         goal: no masking time
4. ``RegionJob`` dictionary learning vs ``nilearn.decomposition.DictLearning``
                                                goal: ratio <= 1.1
5. the decoding job on a 2-worker local dask cluster vs n_jobs=1 (report)

Usage::

    python benchmarks/bench_jobs.py [--scale 1.0] [--components 20] [--skip-dask]
"""
import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

N_RUNS = 12
PER_RUN = 121  # 8 categories x 9 volumes + 49 rest = 121; 12 runs = 1452 volumes
CATEGORIES = ("bottle", "cat", "chair", "face", "house", "scissors", "scrambledpix", "shoe")


def make_dataset(folder, scale=1.0, seed=0):
    """Write bold.nii (int16), mask.nii and labels.txt; return their paths and labels."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    n_target = int(40000 * scale)
    # an ellipsoid in a tight box holds about pi/6 of the box
    side = (n_target / (np.pi / 6) / (0.8 * 1.0 * 0.9)) ** (1 / 3)
    shape = tuple(max(4, int(round(side * f))) for f in (0.8, 1.0, 0.9))
    ii, jj, kk = np.indices(shape)
    c = [(s - 1) / 2 for s in shape]
    r = [s / 2 for s in shape]
    mask = ((ii - c[0]) / r[0]) ** 2 + ((jj - c[1]) / r[1]) ** 2 + ((kk - c[2]) / r[2]) ** 2 <= 1
    n_vox = int(mask.sum())
    labels, runs = [], []
    for run in range(N_RUNS):
        order = list(rng.permutation(CATEGORIES))
        seq = ["rest"] * 13
        for cat in order:
            seq += [cat] * 9 + ["rest"] * 4
        seq = (seq + ["rest"] * PER_RUN)[:PER_RUN]
        labels += seq
        runs += [run] * PER_RUN
    labels, runs = np.array(labels), np.array(runs)
    n_t = len(labels)
    patterns = {cat: rng.standard_normal(n_vox) * (rng.random(n_vox) < 0.05) for cat in CATEGORIES}
    signal = np.zeros((n_t, n_vox), np.float32)
    for cat, pat in patterns.items():
        signal[labels == cat] += pat.astype(np.float32)
    drift = np.linspace(-1, 1, PER_RUN, dtype=np.float32)
    data = np.zeros(shape + (n_t,), np.int16)
    chunk = 121
    for start in range(0, n_t, chunk):
        stop = min(start + chunk, n_t)
        block = 1000 + 40 * (signal[start:stop] + rng.standard_normal((stop - start, n_vox)))
        block += 20 * drift[np.arange(start, stop) % PER_RUN][:, None] * rng.standard_normal(n_vox)
        data[mask, start:stop] = block.T.astype(np.int16)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = -np.array(shape) * 1.5
    folder = Path(folder)
    nib.save(nib.Nifti1Image(data, affine), folder / "bold.nii")
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), folder / "mask.nii")
    (folder / "labels.txt").write_text("".join(f"{lab} {run}\n" for lab, run in zip(labels, runs)))
    return folder / "bold.nii", folder / "mask.nii", labels, runs, n_vox, shape


def timed(func):
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the ~40,000 voxels (volumes stay 1,452)")
    parser.add_argument("--components", type=int, default=20)
    parser.add_argument("--C", type=float, default=0.01, dest="C")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-regions", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="cold comparisons: best of N alternating runs (shared machines "
                             "are noisy)")
    args = parser.parse_args(argv)

    import nilearn
    import sklearn
    from nilearn.decoding import Decoder
    from nilearn.decomposition import DictLearning
    from nilearn.image import index_img
    from sklearn.model_selection import LeaveOneGroupOut

    from brainviz.backend import DecodingJob, RegionJob
    from brainviz.backend import decoding as dec

    warnings.filterwarnings("ignore")
    tmp = Path(tempfile.mkdtemp(prefix="brainviz-bench-"))
    rows = []
    try:
        t_gen, (bold, mask, labels, runs, n_vox, shape) = timed(
            lambda: make_dataset(tmp, args.scale))
        print(f"dataset: {n_vox} voxels in mask, grid {shape}, {len(labels)} volumes, "
              f"{N_RUNS} runs, 8 categories + rest (generated in {t_gen:.1f} s)")
        print(f"nilearn {nilearn.__version__}, scikit-learn {sklearn.__version__}")
        keep = labels != "rest"
        cache = tmp / "cache"

        # 1. cold job vs nilearn Decoder
        def nilearn_decoder():
            decoder = Decoder(estimator="svc", mask=str(mask), cv=LeaveOneGroupOut(),
                              param_grid={"C": [args.C]}, screening_percentile=100,
                              standardize="zscore_sample", scoring="accuracy")
            decoder.fit(index_img(str(bold), np.flatnonzero(keep)), labels[keep],
                        groups=runs[keep])
            return np.mean([np.mean(s) for s in decoder.cv_scores_.values()])

        job = DecodingJob(estimator="svc", C=args.C, classes=list(CATEGORIES),
                          memory=cache, n_jobs=1)

        def run_job(j=job):
            return j.run(str(bold), labels, runs=runs, mask=str(mask)).mean_score_

        t_nl = t_cold = np.inf
        for rep in range(args.repeat):  # alternate, keep the best of each
            t, s_nl = timed(nilearn_decoder)
            t_nl = min(t_nl, t)
            job.set_params(memory=tmp / f"cache-{rep}")
            t, s_cold = timed(run_job)
            t_cold = min(t_cold, t)
        rows.append(("decoding cold: DecodingJob vs nilearn Decoder", t_cold, t_nl, "<= 1.1"))
        print(f"  scores: job {s_cold:.3f} (8-class accuracy), nilearn Decoder {s_nl:.3f} "
              "(mean of its per-class one-vs-all cv_scores_, not the same measure)")

        # 2. identical rerun
        t_rerun, _ = timed(run_job)
        rows.append(("decoding identical rerun vs cold", t_rerun, t_cold, "<= 0.02"))

        # 3. another estimator: count and time the masking work
        masking = {"calls": 0, "seconds": 0.0}
        real_mask = dec._mask_image

        def counting_mask(*a, **k):
            t0 = time.perf_counter()
            try:
                return real_mask(*a, **k)
            finally:
                masking["calls"] += 1
                masking["seconds"] += time.perf_counter() - t0

        dec._mask_image = counting_mask
        try:
            t_ridge, _ = timed(lambda: run_job(job.set_params(estimator="ridge")))
        finally:
            dec._mask_image = real_mask
        rows.append(("decoding rerun, new estimator (ridge) vs cold", t_ridge, t_cold,
                     f"masking: {masking['calls']} calls, {masking['seconds']:.2f} s"))
        job.set_params(estimator="svc")

        # 4. region learning
        if not args.skip_regions:
            def nilearn_dict():
                DictLearning(n_components=args.components, mask=str(mask), smoothing_fwhm=6.0,
                             standardize="zscore_sample", detrend=True, random_state=0,
                             memory=None, verbose=0).fit(str(bold))

            region_job = RegionJob(method="dictlearning", n_components=args.components,
                                   smoothing_fwhm=6.0, memory=tmp / "cache-regions",
                                   timeseries=False)
            t_nd = t_rj = np.inf
            for rep in range(args.repeat):
                t_nd = min(t_nd, timed(nilearn_dict)[0])
                region_job.set_params(memory=tmp / f"cache-regions-{rep}")
                t_rj = min(t_rj, timed(lambda: region_job.run(str(bold), mask=str(mask)))[0])
            rows.append(("RegionJob dictlearning vs nilearn DictLearning", t_rj, t_nd, "<= 1.1"))

        # 5. dask
        if not args.skip_dask:
            import logging

            import distributed

            # closing an in-process cluster logs harmless comm-closed tracebacks
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            logging.getLogger("tornado").setLevel(logging.CRITICAL)

            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                          protocol="tcp", host="127.0.0.1",
                                          dashboard_address=None) as cluster:
                seq = DecodingJob(estimator="svc", C=args.C, classes=list(CATEGORIES),
                                  memory=tmp / "cache-seq", n_jobs=1)
                dsk = DecodingJob(estimator="svc", C=args.C, classes=list(CATEGORIES),
                                  memory=tmp / "cache-dask", n_jobs=2, backend="dask",
                                  scheduler=cluster.scheduler_address)
                t_seq = t_dsk = np.inf
                for rep in range(args.repeat):
                    seq.set_params(memory=tmp / f"cache-seq-{rep}")
                    dsk.set_params(memory=tmp / f"cache-dask-{rep}")
                    t_seq = min(t_seq, timed(lambda: run_job(seq))[0])
                    t_dsk = min(t_dsk, timed(lambda: run_job(dsk))[0])
            rows.append(("decoding on 2-worker dask cluster vs n_jobs=1 (cold)", t_dsk, t_seq,
                         "report"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"scale {args.scale}, best of {args.repeat} for the cold comparisons")
    print(f"{'comparison':55} {'brainviz':>10} {'reference':>10} {'ratio':>8}  goal")
    for name, ours, ref, goal in rows:
        print(f"{name:55} {ours:9.2f}s {ref:9.2f}s {ours / ref:8.3f}  {goal}")


if __name__ == "__main__":
    main()
