"""The job contract, progress reporting, and the runner.

Jobs follow scikit-learn's estimator contract: ``__init__`` stores keyword
parameters only, ``run()`` validates them and computes, learned state lives in
attributes ending in ``_`` and is also returned as a ``*Result`` object;
``get_params`` / ``set_params`` / ``sklearn.base.clone`` come from
:class:`sklearn.base.BaseEstimator`.

:class:`JobRunner` runs jobs off the caller's thread, one at a time in
submission order (queued), or in a child process (``processes=True``) so that
``cancel()`` can stop a long uninterruptible step at once. Callbacks are plain
callables called from the runner's thread: a GUI marshals them onto its own
event loop.
"""
import logging
import queue
import threading
import time
import traceback as _tb

from sklearn.base import BaseEstimator

from ..exceptions import JobCancelledError, JobError, ParameterError

__all__ = ["BaseJob", "Progress", "JobRunner", "JobHandle", "check_choice"]

logger = logging.getLogger("brainviz.backend")


def check_choice(owner, name, value, allowed):
    """Raise ParameterError naming the parameter and the allowed values."""
    if value not in allowed:
        allowed_txt = "{" + ", ".join(repr(a) for a in allowed) + "}"
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be one of {allowed_txt}; got {value!r}."
        )
    return value


class Progress:
    """Progress reporter shared by the jobs.

    Parameters
    ----------
    callback : callable(fraction, message) or None
    cancel_event : threading.Event-like or None
        Checked by :meth:`check_cancel` between units of work.
    log : callable(line) or None
    """

    def __init__(self, callback=None, cancel_event=None, log=None):
        self.callback = callback
        self.cancel_event = cancel_event
        self.log_callback = log

    def __call__(self, fraction, message=""):
        self.check_cancel()
        if self.callback is not None:
            self.callback(float(min(max(fraction, 0.0), 1.0)), str(message))

    def log(self, line):
        logger.info(line)
        if self.log_callback is not None:
            self.log_callback(str(line))

    def check_cancel(self):
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise JobCancelledError("The job was cancelled.")

    def sub(self, start, stop):
        """A reporter mapping [0, 1] onto [start, stop] of this one."""
        parent = self

        def cb(fraction, message=""):
            parent(start + (stop - start) * fraction, message)

        return Progress(cb, self.cancel_event, self.log_callback)


class BaseJob(BaseEstimator):
    """Base of the jobs: parameter checks and the result contract."""

    #: name shown in messages and the cache browser
    _kind = "job"
    #: parameter name -> tuple of allowed values
    _choices = {}

    def _check_params(self):
        for name, allowed in self._choices.items():
            check_choice(type(self).__name__, name, getattr(self, name), allowed)
        if hasattr(self, "confounds_strategy"):  # the jobs that clean signals
            from . import _cleaning

            _cleaning.check_cleaning(self)

    def _begin(self, imgs, progress=None, cancel_event=None, log=None):
        """The start of every ``run()``: check the parameters, then read the images.

        Returns ``(progress, parallel, images, names)``: a :class:`Progress`
        reporter, the checked :class:`~brainviz.backend._parallel.ParallelSpec`,
        the images as a list of nibabel images and a name for each (for messages).
        """
        from . import _inputs

        prog, parallel = self._begin_checks(progress, cancel_event, log)
        img_list = _inputs.as_image_list(imgs, "images")
        names = [_inputs.image_name(i) for i in img_list]
        _inputs.check_job_memory(type(self).__name__, img_list, names)
        return prog, parallel, img_list, names

    def _begin_checks(self, progress=None, cancel_event=None, log=None):
        """Check the parameters (parallel ones included); return (progress, parallel spec)."""
        from .. import _config
        from . import _parallel

        self._check_params()
        # settings from the environment fail now, before anything is computed
        _config.get_cache_max_bytes()
        _config.get_max_memory()
        prog = Progress(progress, cancel_event, log)
        parallel = _parallel.check_parallel(type(self).__name__, self.backend, self.n_jobs,
                                            self.scheduler)
        return prog, parallel

    def _check_is_run(self):
        if not hasattr(self, "result_"):
            raise JobError(f"This {type(self).__name__} has not been run yet: call run() first.")

    def _set_result(self, result):
        """Copy the result fields onto the job (attributes ending in ``_``)."""
        for name in result._fields:
            setattr(self, name, getattr(result, name))
        self.result_ = result
        return result


# --- runner ---------------------------------------------------------------
class JobHandle:
    """A submitted job, as returned by :meth:`JobRunner.submit`.

    Attributes
    ----------
    job : BaseJob
    state : str
        ``"queued"``, ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
    progress : float
        Last reported fraction in [0, 1].
    message : str
        Last progress message.
    log : list of str
        Log lines.
    result : Result or None
    error : BaseException or None
    traceback : str or None
        Formatted traceback of a failure.
    """

    def __init__(self, job, args, kwargs, callbacks):
        self.job = job
        self.args = args
        self.kwargs = kwargs
        self._callbacks = callbacks
        self.state = "queued"
        self.progress = 0.0
        self.message = ""
        self.log = []
        self.result = None
        self.error = None
        self.traceback = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._process = None

    def cancel(self):
        """Ask the job to stop; a queued job never starts."""
        self._cancel.set()
        proc = self._process
        if proc is not None and proc.is_alive():
            proc.terminate()

    @property
    def cancelled(self):
        return self.state == "cancelled"

    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        """Block until finished; return True if it finished in time."""
        return self._done.wait(timeout)

    def _emit(self, name, *args):
        cb = self._callbacks.get(name)
        if cb is not None:
            try:
                cb(*args)
            except Exception:  # a broken callback must not kill the job
                logger.exception("brainviz job callback %s failed", name)

    def _on_progress(self, fraction, message):
        self.progress = fraction
        self.message = message
        self._emit("on_progress", fraction, message)

    def _on_log(self, line):
        self.log.append(line)
        self._emit("on_log", line)


def _run_in_child(job, args, kwargs, out_queue):
    """Child-process entry point: run the job, send progress and the outcome."""

    def progress(fraction, message):
        out_queue.put(("progress", fraction, message))

    def log(line):
        out_queue.put(("log", line))

    try:
        result = job.run(*args, progress=progress, log=log, **kwargs)
        out_queue.put(("done", result))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        try:
            out_queue.put(("failed", exc, _tb.format_exc()))
        except Exception:
            out_queue.put(("failed", JobError(str(exc)), _tb.format_exc()))


class JobRunner:
    """Run jobs off the caller's thread, one after the other.

    Parameters
    ----------
    processes : bool, default=False
        Run each job in a child process (``spawn``); ``cancel()`` then
        terminates it, which stops even a long single step immediately. A
        process killed while joblib writes leaves no partial cache entry
        (joblib writes to a temporary file, then renames).

    Examples
    --------
    >>> runner = JobRunner()                                  # doctest: +SKIP
    >>> handle = runner.submit(DecodingJob(), imgs, labels, runs=runs,
    ...                        on_progress=print)             # doctest: +SKIP
    >>> handle.wait(); handle.result.mean_score_              # doctest: +SKIP
    """

    def __init__(self, processes=False):
        self.processes = processes
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self.handles = []

    def submit(self, job, *args, on_progress=None, on_log=None, on_done=None,
               on_error=None, on_cancel=None, **kwargs):
        """Queue ``job.run(*args, **kwargs)``; return a :class:`JobHandle`.

        Callbacks (called from the runner thread): ``on_progress(fraction,
        message)``, ``on_log(line)``, ``on_done(result)``,
        ``on_error(exc, traceback_str)``, ``on_cancel()``.
        """
        handle = JobHandle(job, args, kwargs, {
            "on_progress": on_progress, "on_log": on_log, "on_done": on_done,
            "on_error": on_error, "on_cancel": on_cancel,
        })
        self.handles.append(handle)
        self._queue.put(handle)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._worker, name="brainviz-jobs", daemon=True
                )
                self._thread.start()
        return handle

    def _worker(self):
        while True:
            try:
                handle = self._queue.get(timeout=0.5)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            self._execute(handle)

    def _execute(self, handle):
        if handle._cancel.is_set():
            self._finish_cancelled(handle)
            return
        handle.state = "running"
        try:
            if self.processes:
                result = self._execute_process(handle)
            else:
                result = handle.job.run(
                    *handle.args, progress=handle._on_progress, log=handle._on_log,
                    cancel_event=handle._cancel, **handle.kwargs,
                )
        except JobCancelledError:
            self._finish_cancelled(handle)
            return
        except BaseException as exc:  # noqa: BLE001 - kept on the handle
            if handle._cancel.is_set():
                self._finish_cancelled(handle)
                return
            handle.error = exc
            handle.traceback = getattr(exc, "_brainviz_traceback", None) or _tb.format_exc()
            handle.state = "failed"
            handle._done.set()
            handle._emit("on_error", exc, handle.traceback)
            return
        handle.result = result
        handle.state = "done"
        handle._on_progress(1.0, "done")
        handle._done.set()
        handle._emit("on_done", result)

    def _finish_cancelled(self, handle):
        handle.state = "cancelled"
        handle._done.set()
        handle._emit("on_cancel")

    def _execute_process(self, handle):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        proc = ctx.Process(
            target=_run_in_child, args=(handle.job, handle.args, handle.kwargs, out),
            daemon=True,
        )
        handle._process = proc
        proc.start()
        try:
            while True:
                if handle._cancel.is_set():
                    proc.terminate()
                    proc.join(2)
                    raise JobCancelledError("The job was cancelled.")
                try:
                    msg = out.get(timeout=0.1)
                except queue.Empty:
                    if not proc.is_alive():
                        # drain what may have arrived just before exit
                        try:
                            msg = out.get(timeout=0.5)
                        except queue.Empty:
                            raise JobError(
                                f"The job process exited with code {proc.exitcode} "
                                "without a result."
                            ) from None
                    else:
                        continue
                if msg[0] == "progress":
                    handle._on_progress(msg[1], msg[2])
                elif msg[0] == "log":
                    handle._on_log(msg[1])
                elif msg[0] == "done":
                    if hasattr(msg[1], "_fields"):  # the child's job copy held it
                        handle.job._set_result(msg[1])
                    return msg[1]
                else:
                    exc, tb_text = msg[1], msg[2]
                    exc._brainviz_traceback = tb_text
                    raise exc
        finally:
            proc.join(5)
            handle._process = None

    def wait_all(self, timeout=None):
        """Block until every submitted job has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for handle in list(self.handles):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not handle.wait(left):
                return False
        return True
