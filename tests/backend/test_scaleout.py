"""Scale-out: every per-subject step and every fold of every job reaches the workers
of a local dask cluster (counted); the caller's joblib configuration is honoured;
backend and scheduler are checked first; adding a subject reuses the others' steps."""
import functools
import threading
import time

import numpy as np
import pytest

from brainviz.backend import ConnectivityJob, DecodingJob, RegionJob, SearchlightJob
from brainviz.backend import connectivity as con
from brainviz.backend import decoding as dec
from brainviz.backend import regions as reg
from brainviz.backend import searchlight as sl
from brainviz.exceptions import ParameterError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )
    yield cluster
    cluster.close()


class _Where:
    """Wraps a module function; records the dask worker (or None) of every call."""

    def __init__(self, monkeypatch, module, name):
        self.calls = []
        self._lock = threading.Lock()
        real = getattr(module, name)

        def wrapper(*a, **k):
            try:
                where = distributed.get_worker().address
            except ValueError:
                where = None
            with self._lock:
                self.calls.append(where)
            return real(*a, **k)

        monkeypatch.setattr(module, name, functools.wraps(real)(wrapper))


def _workers(cluster):
    return set(cluster.scheduler_info["workers"])


def test_every_jobs_subjects_and_folds_run_on_dask_workers(decoding_data, resting_data,
                                                           cluster, monkeypatch, tmp_path):
    import nilearn.decomposition._base as nl_base

    dask = dict(backend="dask", scheduler=cluster.scheduler_address, n_jobs=2, memory=False)
    d = decoding_data
    folds = _Where(monkeypatch, dec, "_fit_fold")
    DecodingJob(classes=["face", "house"], **dask).run(d["img"], d["labels"], runs=d["runs"],
                                                       mask=d["mask"])
    assert len(folds.calls) == 4 and set(folds.calls) <= _workers(cluster)

    chunks = _Where(monkeypatch, sl, "_chunk_scores")
    slab = np.zeros((7, 8, 9), np.uint8)
    slab[:, :, 4] = 1
    import nibabel as nib

    SearchlightJob(radius=3.0, estimator="ridge", classes=["face", "house"], n_chunks=4,
                   **dask).run(d["img"], d["labels"], runs=d["runs"],
                               mask=nib.Nifti1Image(slab, d["img"].affine))
    assert len(chunks.calls) == 4 and set(chunks.calls) <= _workers(cluster)

    r = resting_data
    reduce = _Where(monkeypatch, nl_base, "_mask_and_reduce_single")
    subjects = _Where(monkeypatch, reg, "_subject_task")
    RegionJob(n_components=3, smoothing_fwhm=None, **dask).run(r["imgs"], mask=r["mask"])
    assert len(reduce.calls) == 3 and set(reduce.calls) <= _workers(cluster)
    assert len(subjects.calls) == 3 and set(subjects.calls) <= _workers(cluster)

    per_subject = _Where(monkeypatch, con, "_subject_task")
    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(r["maps"]):
        labels[m > 0.3] = i + 1
    atlas = nib.Nifti1Image(labels, r["affine"])
    res = ConnectivityJob(**dask).run(r["imgs"], atlas=atlas)
    assert len(per_subject.calls) == 3 and set(per_subject.calls) <= _workers(cluster)
    ref = ConnectivityJob(memory=False).run(r["imgs"], atlas=atlas)
    np.testing.assert_allclose(res.matrices_, ref.matrices_)


def test_the_callers_joblib_config_is_honoured(decoding_data, cluster, monkeypatch):
    import joblib

    d = decoding_data
    folds = _Where(monkeypatch, dec, "_fit_fold")
    with distributed.Client(cluster.scheduler_address) as client, client.as_current():
        with joblib.parallel_config("dask"):
            DecodingJob(classes=["face", "house"], memory=False).run(
                d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    assert len(folds.calls) == 4 and set(folds.calls) <= _workers(cluster)
    folds.calls.clear()
    with joblib.parallel_config("threading", n_jobs=2):  # not dask: no worker at all
        DecodingJob(classes=["face", "house"], memory=False).run(
            d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    assert folds.calls == [None] * 4


def test_backend_and_scheduler_checked_before_any_work(decoding_data, rng, monkeypatch):
    d = decoding_data
    work = _Where(monkeypatch, dec, "_mask_step")
    series = [rng.standard_normal((30, 4))]
    for job in (DecodingJob(backend="spark"), ConnectivityJob(backend="spark"),
                RegionJob(backend="spark"), SearchlightJob(backend="spark")):
        with pytest.raises(ParameterError, match=r"'backend' parameter of \w+Job must be one of"
                           r" \{'loky', 'threading', 'multiprocessing', 'sequential', 'dask'\}; "
                           r"got 'spark'"):
            if isinstance(job, ConnectivityJob):
                job.run(series)
            elif isinstance(job, RegionJob):
                job.run(d["img"])
            else:
                job.run(d["img"], d["labels"], runs=d["runs"])
    with pytest.raises(ParameterError, match=r"dask scheduler 'tcp://127.0.0.1:9' cannot be "
                       r"reached"):
        DecodingJob(backend="dask", scheduler="tcp://127.0.0.1:9", memory=False).run(
            d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    with pytest.raises(ParameterError, match=r"'scheduler' parameter of ConnectivityJob goes "
                       r"with backend='dask'"):
        ConnectivityJob(scheduler="tcp://127.0.0.1:9").run(series)
    assert work.calls == []


def test_adding_a_subject_recomputes_only_its_steps(resting_data, tmp_path, monkeypatch):
    import nibabel as nib
    import nilearn.decomposition._base as nl_base

    r = resting_data
    fourth = nib.Nifti1Image(r["imgs"][0].get_fdata(dtype=np.float32)[..., ::-1] + 0.5,
                             r["affine"])
    svd = _Where(monkeypatch, nl_base, "_fast_svd")
    series = _Where(monkeypatch, reg, "_timeseries_step")
    dual = _Where(monkeypatch, reg, "_dual_step")
    decompose = _Where(monkeypatch, reg, "_decompose_step")
    job = RegionJob(n_components=3, smoothing_fwhm=None, memory=tmp_path / "cache")
    job.run(r["imgs"], mask=r["mask"])
    assert len(svd.calls) == len(series.calls) == len(dual.calls) == 3
    for w in (svd, series, dual, decompose):
        w.calls.clear()
    job.run([*r["imgs"], fourth], mask=r["mask"])
    assert len(decompose.calls) == 1  # the group step, redone
    assert len(svd.calls) == 1  # each subject's PCA reduction: only the new one's
    # the group maps changed with the new subject, so every subject's time series and dual
    # regression (steps after the group step) follow them
    assert len(series.calls) == len(dual.calls) == 4

    extract = _Where(monkeypatch, con, "_extract_step")
    matrix = _Where(monkeypatch, con, "_subject_matrix")
    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(r["maps"]):
        labels[m > 0.3] = i + 1
    atlas = nib.Nifti1Image(labels, r["affine"])
    cjob = ConnectivityJob(memory=tmp_path / "cache")
    first = cjob.run(r["imgs"], atlas=atlas)
    assert len(extract.calls) == len(matrix.calls) == 3
    more = cjob.run([*r["imgs"], fourth], atlas=atlas)
    # only the new subject's extraction and matrix; the others' matrices come from the cache
    assert len(extract.calls) == len(matrix.calls) == 4
    np.testing.assert_array_equal(more.matrices_[:3], first.matrices_)
    uncached = ConnectivityJob(memory=False).run([*r["imgs"], fourth], atlas=atlas)
    np.testing.assert_allclose(more.matrices_, uncached.matrices_, atol=1e-12)


def _meet_in_pairs(monkeypatch):
    """Make each subject's task wait (up to 10 s) until a second one runs at the same time;
    return the names of the threads they ran on (a task that waited in vain says so)."""
    import threading

    seen = []
    barrier = threading.Barrier(2, timeout=10)
    real = con._subject_task

    def spy(*a, **k):
        try:
            barrier.wait()
            seen.append(threading.current_thread().name)
        except threading.BrokenBarrierError:
            seen.append("alone")
        return real(*a, **k)

    monkeypatch.setattr(con, "_subject_task", spy)
    return seen


def test_connectivity_n_jobs_runs_that_many_tasks_at_once(resting_data, monkeypatch):
    """n_jobs=2 on threads (the default, or backend="threading"): two subjects' tasks run at
    the same time, on two threads of the job's own pool (not joblib's threaded Parallel,
    which looks for finished tasks every 10 ms)."""
    import threading

    r = resting_data
    coords = [(0, 0, 0), (10, 10, 10)]
    imgs = r["imgs"][:2]
    for backend in (None, "threading"):
        seen = _meet_in_pairs(monkeypatch)
        ConnectivityJob(n_jobs=2, backend=backend, memory=False).run(imgs, coords=coords)
        assert "alone" not in seen
        assert len(set(seen)) == 2 and all(n.startswith("brainviz-task") for n in seen)
    # one at a time: in the caller's thread, and never two at once
    seen = []
    real = con._subject_task
    monkeypatch.setattr(con, "_subject_task",
                        lambda *a: seen.append(threading.current_thread()) or real(*a))
    ConnectivityJob(n_jobs=1, memory=False).run(imgs, coords=coords)
    assert seen == [threading.main_thread()] * 2


def test_connectivity_thread_pool_cancels_what_has_not_started(resting_data, monkeypatch):
    """An error in a subject's task reaches the caller as itself; the tasks not started
    yet are not run."""
    import threading

    started = []
    real = con._subject_task
    first = threading.Event()

    def task(*a):
        started.append(threading.current_thread().name)
        if len(started) == 1:
            first.set()
            raise RuntimeError("subject failed")
        first.wait(10)
        time.sleep(0.2)  # the error has come out meanwhile
        return real(*a)

    monkeypatch.setattr(con, "_subject_task", task)
    r = resting_data
    imgs = [*r["imgs"], *r["imgs"], *r["imgs"]]  # 9 subjects on 2 threads
    with pytest.raises(RuntimeError, match="subject failed"):
        ConnectivityJob(n_jobs=2, memory=False).run(imgs, coords=[(0, 0, 0), (10, 10, 10)])
    n = len(started)
    time.sleep(0.2)
    assert len(started) == n < 9  # nothing started after the error came out


def test_connectivity_runs_on_threads_unless_a_backend_is_chosen(resting_data, monkeypatch):
    """No backend given: the subjects' tasks run on threads (no interpreters to start);
    the job's backend= and the caller's joblib.parallel_config still decide when given."""
    import joblib

    seen = []
    real = joblib.Parallel.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        seen.append((self.n_jobs, type(self._backend).__name__))  # the job's, then nilearn's

    monkeypatch.setattr(joblib.Parallel, "__init__", spy)
    r = resting_data
    coords = [(0, 0, 0), (10, 10, 10)]
    ConnectivityJob(n_jobs=2, backend="loky", memory=False).run(r["imgs"], coords=coords)
    assert seen[0] == (2, "LokyBackend")  # the job's own
    seen.clear()
    with joblib.parallel_config("loky", n_jobs=2):
        ConnectivityJob(memory=False).run(r["imgs"], coords=coords)
    assert seen[0] == (2, "LokyBackend")  # the caller's
    seen.clear()
    # no backend chosen: threads of the job's own pool, as many as n_jobs says, here the
    # caller's n_jobs alone (joblib.Parallel is not involved)
    pairs = _meet_in_pairs(monkeypatch)
    with joblib.parallel_config(n_jobs=2):
        ConnectivityJob(memory=False).run(r["imgs"][:2], coords=coords)
    assert "alone" not in pairs and len(set(pairs)) == 2
    assert all(n.startswith("brainviz-task") for n in pairs)


def test_subjects_run_with_one_blas_thread_at_any_n_jobs(resting_data, monkeypatch):
    """The subjects' tasks hold BLAS to one thread: two at once on threads would otherwise
    oversubscribe the cores (joblib limits its worker processes the same way), and one at a
    time a BLAS pool gains nothing on a subject's small products but spins on the other
    cores, during the job and after it. The width is given back after the job, for the
    group step and the caller."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    seen = []
    real = con._subject_task

    def spy(*a, **k):
        seen.append(blas_threads())
        return real(*a, **k)

    monkeypatch.setattr(con, "_subject_task", spy)
    series = [np.random.default_rng(s).standard_normal((40, 4)) for s in range(3)]
    width = blas_threads()
    for n_jobs in (2, 1):
        seen.clear()
        ConnectivityJob(n_jobs=n_jobs, memory=False).run(series)
        assert seen == [1, 1, 1]
        assert blas_threads() == width  # given back after the job


def test_the_blas_limit_reuses_its_controller_until_a_module_is_imported(monkeypatch):
    """Making threadpoolctl's controller inspects every loaded library (6 ms in a job's
    process): it is made once, and again after an import, which can load a new library."""
    import sys
    import types

    import threadpoolctl

    from brainviz.backend import _parallel

    def blas_threads():  # (threadpool_info makes a controller of its own each time)
        return max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas")

    monkeypatch.setitem(_parallel._CONTROLLER, "controller", None)
    width = blas_threads()
    made = []
    for _ in range(2):
        with _parallel.one_blas_thread():
            made.append(_parallel._CONTROLLER["controller"])
            assert blas_threads() == 1
        assert blas_threads() == width
    assert made[0] is made[1]
    monkeypatch.setitem(sys.modules, "brainviz_test_imported", types.ModuleType("imported"))
    with _parallel.one_blas_thread():
        assert blas_threads() == 1
    assert _parallel._CONTROLLER["controller"] is not made[0] and blas_threads() == width


def test_region_job_runs_on_threads_with_one_blas_thread_per_task(resting_data, monkeypatch):
    """No backend chosen: nilearn's per-subject reduction and ICA restarts and the job's
    per-subject tasks run on threads, BLAS held to one thread in each; the group step
    between them keeps BLAS's width. A chosen backend still decides. The components are
    those of n_jobs=1 and of nilearn's CanICA fitted directly."""
    import warnings

    import nilearn.decomposition._base as nl_base
    import nilearn.decomposition._multi_pca as nl_pca
    import nilearn.decomposition.canica as nl_canica
    from nilearn.decomposition import CanICA
    from threadpoolctl import threadpool_info

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    seen, threads = [], {}

    def spy(module, name):
        real = getattr(module, name)

        def wrapper(*a, **k):
            seen.append((name, threading.current_thread() is threading.main_thread(),
                         blas_threads()))
            threads.setdefault(name, set()).add(threading.current_thread().name)
            return real(*a, **k)

        monkeypatch.setattr(module, name, functools.wraps(real)(wrapper))

    spy(nl_base, "_mask_and_reduce_single")  # each subject's masking and PCA
    spy(nl_pca, "randomized_svd")  # the group PCA
    spy(nl_canica, "fastica")  # the ICA restarts
    spy(reg, "_subject_task")  # each subject's time series and dual regression
    r = resting_data
    width = blas_threads()
    params = dict(n_components=3, smoothing_fwhm=None, memory=False)
    two = RegionJob(n_jobs=2, **params).run(r["imgs"], mask=r["mask"])
    by_step = {}
    for name, main, blas in seen:
        by_step.setdefault(name, set()).add((main, blas))
    assert by_step["_mask_and_reduce_single"] == {(False, 1)}
    assert by_step["fastica"] == {(False, 1)}
    assert by_step["_subject_task"] == {(False, 1)}
    assert by_step["randomized_svd"] == {(True, width)}  # serial: BLAS's own width
    assert blas_threads() == width  # given back after the job
    # the job's own tasks on its own pool (joblib's threaded Parallel polls every 10 ms)
    assert threads["_subject_task"] and all(
        n.startswith("brainviz-task") for n in threads["_subject_task"])
    seen.clear()
    one = RegionJob(n_jobs=1, **params).run(r["imgs"], mask=r["mask"])
    assert {main for _, main, _ in seen} == {True}
    seen.clear()
    RegionJob(n_jobs=2, backend="sequential", **params).run(r["imgs"], mask=r["mask"])
    assert {main for _, main, _ in seen} == {True}  # the chosen backend
    # the same numbers as nilearn's CanICA fitted directly: with n_jobs=1, and with n_jobs=2
    # (loky workers, one BLAS thread each; written here as n_jobs=1 under a one-thread
    # BLAS limit, the same computations without starting worker processes): on these tiny
    # data the number of BLAS threads alone changes which ICA restart wins
    from threadpoolctl import threadpool_limits

    ref = dict(n_components=3, mask=r["mask"], smoothing_fwhm=None, random_state=0,
               standardize="zscore_sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_one = CanICA(**ref).fit(r["imgs"]).components_img_.get_fdata()
        with threadpool_limits(limits=1):
            ref_two = CanICA(**ref).fit(r["imgs"]).components_img_.get_fdata()
    np.testing.assert_allclose(one.components_img_.get_fdata(), ref_one, rtol=0, atol=1e-10)
    np.testing.assert_allclose(two.components_img_.get_fdata(), ref_two, rtol=0, atol=1e-10)


def test_matrices_are_stacked_as_they_come_in_their_type():
    """The subjects' matrices go into one array as each arrives, in the type np.asarray of
    them all gives (float64 when one is float64); the stack holds them (the subjects' own
    arrays can go). One of another shape gives the stacked ones back to the results."""
    a32, b32 = np.eye(3, dtype=np.float32), np.full((3, 3), 0.5, np.float32)
    stack, done = [], []
    for s, m in enumerate([a32, b32]):
        assert con._stack_matrix(stack, s, 2, m, done)
        done.append((s, None))
    assert stack[0].dtype == np.float32
    np.testing.assert_array_equal(stack[0], np.asarray([a32, b32]))
    mixed = [a32, b32.astype(np.float64) + 1e-12, a32]
    stack, done = [], []
    for s, m in enumerate(mixed):
        assert con._stack_matrix(stack, s, 3, m, done)
        done.append((s, None))
    assert stack[0].dtype == np.float64
    np.testing.assert_array_equal(stack[0], np.asarray(mixed))
    stack, done = [], []
    for s, m in enumerate([a32, b32, np.eye(4, dtype=np.float32)]):
        if con._stack_matrix(stack, s, 3, m, done):
            done.append((s, None, "alpha"))
        else:
            done.append((s, m, "alpha"))
    assert stack == []
    assert [d[0] for d in done] == [0, 1, 2] and [d[2] for d in done] == ["alpha"] * 3
    for d, m in zip(done, [a32, b32, np.eye(4, dtype=np.float32)]):
        np.testing.assert_array_equal(d[1], m)
    stack, done = [], []
    for s in range(2):  # tangent: the group fit gives the matrices
        assert not con._stack_matrix(stack, s, 2, None, done)
    assert stack == []


def test_thread_pool_results_are_not_kept_once_given():
    """A result the caller lets go is freed at once (the next subject reuses its memory),
    not held by the pool's futures until the last task."""
    import gc
    import weakref

    from joblib import delayed

    from brainviz.backend import _parallel

    class Result:
        pass

    tasks = [delayed(Result)() for _ in range(6)]
    refs = []
    for res in _parallel.task_results(tasks, 2):
        refs.append(weakref.ref(res))
        del res
        gc.collect()
        assert all(r() is None for r in refs)
