"""Parallel execution: joblib backends, including a dask.distributed cluster.

Every per-subject step and every fold of the jobs runs through
``joblib.Parallel`` inside :func:`parallel_context` (the subjects of a connectivity or
region job, on threads, through :func:`task_results`'s own pool). What decides where it runs,
first match wins:

1. the job's ``backend`` / ``n_jobs`` / ``scheduler`` parameters;
2. ``BRAINVIZ_BACKEND`` / ``BRAINVIZ_N_JOBS``;
3. the caller's own ``with joblib.parallel_config(...)`` (left untouched when
   neither of the above says anything);
4. joblib's default (sequential).

The backend and the scheduler are checked (and a scheduler reached) before any
computing starts.

On a dask cluster, :meth:`Parallel.call` survives the loss of workers while
others remain: a step whose tasks were lost with a worker (its scattered data
gone, "already forgotten") is run again, up to :data:`MAX_ATTEMPTS` times. A
lost cluster (the scheduler gone), no worker left, or a task that kills every
worker it runs on gives one :class:`~brainviz.exceptions.JobError` line naming
the scheduler.
"""
import contextlib
import os
import sys
import threading

from .. import _config
from ..exceptions import JobError, ParameterError

__all__ = ["parallel_context", "check_backend", "ParallelSpec", "check_parallel", "Parallel",
           "MAX_ATTEMPTS", "return_as", "one_blas_thread", "threads_unless_chosen",
           "task_results"]

#: Runs of one step on a dask cluster that loses workers, before giving up.
MAX_ATTEMPTS = 3
#: Seconds to wait for a worker when the cluster has none left.
WORKER_WAIT = 30

_BACKENDS = ("loky", "threading", "multiprocessing", "sequential", "dask")


def check_backend(owner, backend):
    backend = _config.get_parallel_backend(backend)
    if backend not in _BACKENDS:
        allowed = "{" + ", ".join(repr(b) for b in _BACKENDS) + "}"
        raise ParameterError(
            f"The 'backend' parameter of {owner} must be one of {allowed}; got {backend!r}."
        )
    return backend


def return_as(prefer=None):
    """``joblib.Parallel``'s ``return_as`` for the backend in force: ``"generator"``
    (results as they come, so progress and cancel between tasks) where the backend can,
    ``"list"`` where it cannot (joblib's ``"multiprocessing"`` backend refuses generators).

    Parameters
    ----------
    prefer : {"threads", "processes"} or None
        The ``prefer`` hint the caller gives ``Parallel``.
    """
    import joblib.parallel

    backend, _ = joblib.parallel.get_active_backend(prefer=prefer)
    # joblib's own rule: the sequential backend always gives a generator
    sequential = getattr(joblib.parallel, "SequentialBackend", ())
    if isinstance(backend, sequential) or getattr(backend, "supports_return_generator", True):
        return "generator"
    return "list"


def task_results(tasks, n_jobs):
    """The results of ``tasks`` (``joblib.delayed`` calls), in their order, each as soon as
    it is there (a generator: progress and cancel between tasks).

    Where joblib would run them on its threads (no backend chosen, the tasks preferring
    threads, ``"threading"`` chosen, or :func:`threads_unless_chosen`'s backend, whose BLAS
    limit is kept), they run on a thread pool of this call's own.
    joblib's threaded ``Parallel`` looks for finished tasks every 10 ms (it sleeps between
    looks) and starts a pool of five threads: 11 ms for 20 tasks that do nothing, against
    0.4 ms here, on every step, however short. Anywhere else (loky, dask, a backend of the
    caller's) ``joblib.Parallel`` runs them; one worker runs them here, one after another.
    Leaving the loop early (an error, a cancel) cancels the tasks not started and waits
    for those running. A result given out is not kept here: what the caller lets go is
    freed at once, not after the last task.
    """
    import joblib.parallel

    tasks = list(tasks)
    backend, _ = joblib.parallel.get_active_backend(prefer="threads")
    limited = getattr(backend, "brainviz_limited", False)
    if type(backend) is not joblib.parallel.ThreadingBackend and not limited:
        yield from joblib.Parallel(n_jobs=n_jobs, prefer="threads",
                                   return_as=return_as("threads"))(tasks)
        return
    workers = min(backend.effective_n_jobs(n_jobs), len(tasks))
    if workers <= 1:
        for func, args, kwargs in tasks:
            yield func(*args, **kwargs)
        return
    from concurrent.futures import ThreadPoolExecutor

    # under threads_unless_chosen, BLAS is held to one thread while several tasks run, as
    # its backend holds it for joblib's own threaded calls
    with (one_blas_thread() if limited else contextlib.nullcontext()), \
            ThreadPoolExecutor(workers, thread_name_prefix="brainviz-task") as pool:
        futures = [pool.submit(func, *args, **kwargs) for func, args, kwargs in tasks]
        try:
            for i in range(len(futures)):
                yield _given(futures, i)
        finally:
            for future in futures:
                if future is not None:
                    future.cancel()


def _given(futures, i):
    """The result of ``futures[i]``, which is dropped (a future holds its result: nothing
    here keeps what the caller has been given)."""
    future, futures[i] = futures[i], None
    return future.result()


_CONTROLLER = {"controller": None, "modules": -1}
_CONTROLLER_LOCK = threading.Lock()


def one_blas_thread():
    """threadpoolctl's limit of every BLAS and OpenMP pool to one thread, what
    ``threadpool_limits(limits=1)`` gives (a context manager, or call its
    ``restore_original_limits``).

    ``threadpool_limits`` inspects every library the process has loaded each time: 6 ms in
    a job's process, at the start of every parallel step, twice at the start of a
    connectivity run on two threads. The controller is made once here, and made again only
    after a module was imported (a new module can load a new BLAS or OpenMP library).
    """
    from threadpoolctl import ThreadpoolController

    with _CONTROLLER_LOCK:
        if _CONTROLLER["controller"] is None or _CONTROLLER["modules"] != len(sys.modules):
            _CONTROLLER["controller"] = ThreadpoolController()
            _CONTROLLER["modules"] = len(sys.modules)
        controller = _CONTROLLER["controller"]
    return controller.limit(limits=1)


#: joblib's name for :func:`_limited_threading_backend`'s backend
THREADS = "brainviz-threads"


def _limited_threading_backend():
    """joblib's threading backend, with BLAS and OpenMP pools held to one thread from the
    start to the end of each ``Parallel`` call that runs several tasks at once."""
    from joblib.parallel import ThreadingBackend

    class LimitedThreadingBackend(ThreadingBackend):
        _limits = None
        #: task_results runs its tasks on a pool of its own, under the same limit
        brainviz_limited = True

        def configure(self, n_jobs=1, parallel=None, **backend_kwargs):
            # one task at a time falls back to the sequential backend here (BLAS unlimited)
            n_jobs = super().configure(n_jobs, parallel, **backend_kwargs)
            if self._limits is None:
                self._limits = one_blas_thread()
            return n_jobs

        def terminate(self):
            try:
                super().terminate()
            finally:
                if self._limits is not None:
                    self._limits.restore_original_limits()
                    self._limits = None

    return LimitedThreadingBackend


@contextlib.contextmanager
def threads_unless_chosen():
    """Every ``joblib.Parallel`` call inside, the job's own and a library's (nilearn's
    per-subject reduction and ICA restarts), runs on threads with one BLAS thread per task
    while it runs, unless a backend was chosen (the job's ``backend=``, ``BRAINVIZ_BACKEND``,
    the caller's ``joblib.parallel_config``); ``"threading"`` chosen gets the same limit.

    Threads share the driver's imports and page cache, where a process pool first starts
    interpreters that import nilearn and scikit-learn (seconds each); the BLAS limit is what
    joblib does in its worker processes: two tasks on two cores otherwise run four spinning
    BLAS threads. Serial steps between the calls (a group decomposition) keep BLAS's width.
    """
    import joblib
    import joblib.parallel

    backend, _ = joblib.parallel.get_active_backend(prefer="threads")
    if type(backend) is not joblib.parallel.ThreadingBackend:  # loky, dask, sequential...
        yield
        return
    if THREADS not in joblib.parallel.BACKENDS:
        joblib.register_parallel_backend(THREADS, _limited_threading_backend())
    with joblib.parallel_config(backend=THREADS):
        yield


class ParallelSpec:
    """Where a job's parallel work runs (see the module docstring).

    Attributes
    ----------
    backend : str or None
        None: the caller's joblib configuration.
    n_jobs : int or None
        What to give ``joblib.Parallel(n_jobs=...)``; None defers to the
        active configuration.
    scheduler : str, distributed.Client or None
    """

    def __init__(self, backend, n_jobs, scheduler):
        self.backend = backend
        self.n_jobs = n_jobs
        self.scheduler = scheduler

    def context(self):
        """The context to run the job's parallel steps in; it yields a :class:`Parallel`."""
        return parallel_context(self.backend, self.n_jobs, self.scheduler)

    def active_n_jobs(self):
        """The n_jobs in force (inside :meth:`context`), as an int, for libraries that
        want one (nilearn): the job's, else the caller's joblib configuration's."""
        if self.n_jobs is not None:
            return int(self.n_jobs)
        from joblib.parallel import get_active_backend

        _, n_jobs = get_active_backend()
        return int(n_jobs) if n_jobs not in (None, 0) else 1


class Parallel:
    """What :func:`parallel_context` yields: ``call`` runs a step, again if dask lost it."""

    def __init__(self, client=None, address=None):
        self.client = client
        self.address = address

    def call(self, func, *args, on_retry=None, **kwargs):
        """``func(*args, **kwargs)``; on a dask cluster, run again after a lost worker.

        Parameters
        ----------
        on_retry : callable(line) or None
            Told when the step is run again (a log line).
        """
        if self.client is None:
            return func(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - sorted out below
                lost = _lost_what(exc, self.client)
                if lost is None:
                    raise
                reason = _reason(exc)
                if lost == "cluster":
                    raise JobError(
                        f"The dask cluster at {self.address} was lost during the job ({reason}): "
                        "start it again, or run without --backend dask."
                    ) from None
                if lost == "killer":
                    raise JobError(
                        f"A task of this job made workers of the dask cluster at {self.address} "
                        f"die again and again ({reason}); out of memory? Give the workers more "
                        "memory or run fewer tasks at once (--n-jobs)."
                    ) from None
                if attempt == MAX_ATTEMPTS:
                    raise JobError(
                        f"Workers of the dask cluster at {self.address} were lost "
                        f"{MAX_ATTEMPTS} times during this step ({reason}); giving up."
                    ) from None
                self._wait_for_workers()
                if on_retry is not None:
                    on_retry(f"a worker of the dask cluster at {self.address} was lost "
                             f"({reason}): running the step again ({attempt + 1}/{MAX_ATTEMPTS})")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_for_workers(self):
        try:
            if self.client.scheduler_info().get("workers"):
                return
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except Exception as exc:  # noqa: BLE001 - timeout or a scheduler gone meanwhile
            raise JobError(
                f"No dask worker is left at {self.address} ({_reason(exc)}): start workers, or "
                "run without --backend dask."
            ) from None


def _chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _reason(exc):
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _lost_what(exc, client):
    """``"cluster"``, ``"worker"``, ``"killer"`` or None (an error of the step itself)."""
    import asyncio
    import concurrent.futures

    names = {type(e).__name__ for e in _chain(exc)}
    text = " ".join(str(e) for e in _chain(exc))
    if "KilledWorker" in names:
        return "killer"
    cancelled = any(isinstance(e, (concurrent.futures.CancelledError, asyncio.CancelledError))
                    for e in _chain(exc))
    comm = bool(names & {"CommClosedError", "StreamClosedError"})
    if not (cancelled or comm):
        return None
    if "scheduler-connection-lost" in text or getattr(client, "status", "running") != "running":
        return "cluster"
    try:
        client.scheduler_info()
    except Exception:  # noqa: BLE001 - the scheduler does not answer
        return "cluster"
    return "worker"


def check_parallel(owner, backend, n_jobs, scheduler):
    """Check the parallel parameters of a job; return a :class:`ParallelSpec`."""
    explicit_backend = backend is not None or bool(os.environ.get("BRAINVIZ_BACKEND", "").strip())
    explicit_jobs = n_jobs is not None or bool(os.environ.get("BRAINVIZ_N_JOBS", "").strip())
    name = check_backend(owner, backend) if explicit_backend else None
    jobs = _config.get_n_jobs(n_jobs) if explicit_jobs else None
    if scheduler is not None and name != "dask":
        raise ParameterError(
            f"The 'scheduler' parameter of {owner} goes with backend='dask'; got "
            f"backend={name!r}."
        )
    if name == "dask" and isinstance(scheduler, str):
        _check_reachable(owner, scheduler)
    return ParallelSpec(name, jobs, scheduler)


def _check_reachable(owner, address, timeout=5.0):
    """Raise ParameterError at once when a scheduler address cannot be connected to."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or parts.hostname is None:
        return  # inproc:// and others: the client says so when it connects
    try:
        port = parts.port or 8786
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"The dask scheduler {address!r} cannot be reached ({owner}'s 'scheduler' "
            f"parameter): {exc.strerror or exc}."
        ) from None


#: joblib's name for :func:`_cluster_backend`'s backend
CLUSTER = "brainviz-dask"


def _cluster_backend():
    """joblib's dask backend, which never runs the tasks in this process.

    joblib runs a ``Parallel`` call's tasks one after another in the calling process when
    its backend has one worker, and its dask backend counts the cluster's cores: on a
    cluster of one single-threaded worker (a big-memory node, a first test) every fold and
    subject ran here, not on the cluster the user chose. Here the cluster counts two at
    least: the tasks go to the scheduler, which runs them as its workers can.
    (Called inside a client's ``as_current``: joblib's backend needs a client to be made.)
    """
    import joblib
    from joblib.parallel import get_active_backend

    with joblib.parallel_config(backend="dask"):
        dask_backend = type(get_active_backend()[0])

    class ClusterBackend(dask_backend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

    return ClusterBackend


@contextlib.contextmanager
def parallel_context(backend="loky", n_jobs=1, scheduler=None):
    """Context in which ``joblib.Parallel`` uses ``backend`` with ``n_jobs``.

    Parameters
    ----------
    backend : str or None
        A joblib backend name; ``"dask"`` needs the ``distributed`` extra.
        None keeps the caller's joblib configuration (only ``n_jobs`` is set,
        when given).
    n_jobs : int or None
    scheduler : str, distributed.Client or None
        For ``backend="dask"``: a scheduler address (``"tcp://host:8786"``) or
        a Client. ``None`` uses the current default client. The scheduler is
        reached on entry: an unreachable one raises ParameterError at once.

    Yields
    ------
    Parallel
        Run each step through its ``call`` method to survive lost dask workers.
    """
    import joblib

    if backend is None:
        if n_jobs is None:
            yield Parallel()
        else:
            with joblib.parallel_config(n_jobs=n_jobs):
                yield Parallel()
        return
    if backend != "dask":
        with joblib.parallel_config(backend=backend, n_jobs=n_jobs if n_jobs is not None else 1):
            yield Parallel()
        return
    try:
        import distributed
    except ImportError:  # pragma: no cover - depends on the install
        raise ParameterError(
            "backend='dask' needs dask.distributed: pip install 'brainviz[distributed]'."
        ) from None
    own_client = None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    elif scheduler is not None:
        try:
            own_client = client = distributed.Client(scheduler, set_as_default=False,
                                                     timeout=10)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ParameterError(
                f"The dask scheduler {scheduler!r} cannot be reached: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}."
            ) from None
    else:
        try:
            client = distributed.get_client()
        except ValueError:
            raise ParameterError(
                "backend='dask' needs a scheduler address (scheduler='tcp://host:port') "
                "or a running distributed.Client."
            ) from None
    address = getattr(getattr(client, "scheduler", None), "address", None) or scheduler
    try:
        with client.as_current():
            if CLUSTER not in joblib.parallel.BACKENDS:
                joblib.register_parallel_backend(CLUSTER, _cluster_backend())
            with joblib.parallel_config(backend=CLUSTER,
                                        n_jobs=n_jobs if n_jobs not in (None, 1) else -1):
                yield Parallel(client, address)
    finally:
        if own_client is not None:
            try:
                own_client.close(timeout=5)
            except Exception:  # noqa: BLE001 - a cluster already gone
                pass
