"""The bridge from job threads to the GUI thread.

Jobs run on the backend's :class:`~brainviz.backend.JobRunner` thread (or a
child process); their callbacks arrive on that thread. Everything that
touches traits watched by the window or the scene is handed to the GUI thread
with :meth:`pyface.api.GUI.invoke_later`, so the event loop never waits for a
job and the scene is only ever changed from the GUI thread. Saving a result
to its folder happens on the job thread, before the hand-over.
"""
import logging
import os
import time

from pyface.api import GUI

__all__ = ["JobBridge", "results_dir", "saved_folder"]

log = logging.getLogger("brainviz.gui")


def results_dir():
    """Folder where the window saves job results (see :func:`brainviz._config.get_results_dir`)."""
    from .. import _config

    return _config.get_results_dir()


def result_fingerprint(result):
    from ..backend import result_fingerprint as fingerprint

    return fingerprint(result)


def saved_folder(result):
    """The folder of :func:`results_dir` that already holds ``result`` (same fingerprint), or
    None."""
    base = results_dir()
    if not base.is_dir():
        return None
    tail = f"-{result_fingerprint(result)}"
    for folder in sorted(base.iterdir(), reverse=True):
        if folder.name.endswith(tail) and (folder / "result.json").is_file():
            return folder
    return None


# the child gives way to the window: on two cores, its imports and drawing at the same
# priority slowed the drawing of the result's layers (a stall of about a second)
_FIGURES_CODE = ("import os, sys\n"
                 "if hasattr(os, 'nice'):\n"
                 "    os.nice(10)\n"
                 "from brainviz.backend.results import load_result\n"
                 "load_result(sys.argv[1]).save_figures(sys.argv[1])\n")


def start_figures(result, folder):
    """Start writing a saved result's figures (PNG and SVG) into its ``folder`` in a child
    process; return it (None when they were written here instead).

    matplotlib's Agg holds the GIL while it draws: on the job thread, a decoding's views
    froze the window's event loop for half a second as the job ended. The child writes
    them while the window shows the result; the job thread then waits for it (see
    :func:`finish_figures`) without holding the GIL.
    """
    import subprocess
    import sys

    try:
        return subprocess.Popen([sys.executable, "-c", _FIGURES_CODE, str(folder)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except (OSError, ValueError) as exc:
        log.info("figures written on the job thread (no child process: %s)", exc)
        result.save_figures(folder)
        return None


def finish_figures(proc, folder, timeout=600):
    """Wait for :func:`start_figures`' child; a failure is logged (the figures are a
    convenience: the result is saved and shown)."""
    import subprocess

    if proc is None:
        return
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        log.warning("the figures of %s took over %d s: stopped", folder, timeout)
        return
    if proc.returncode != 0:
        lines = (err or "").strip().splitlines()
        log.warning("could not write the figures of %s: %s", folder,
                    lines[-1] if lines else f"exit status {proc.returncode}")


class JobBridge:
    """Submit jobs for the window and deliver their events on the GUI thread.

    Parameters
    ----------
    on_done : callable(JobState, result, prepared)
        Called on the GUI thread when a job finished (the result is saved).
    prepare : callable(result, folder, title) or None
        Called on the job thread with the finished result (e.g. to turn it into
        layers: reading images and value ranges stays off the GUI thread); what it
        returns is passed to ``on_done`` as ``prepared``.
    on_error : callable(JobState, exc, traceback_str)
        Called on the GUI thread when a job failed.
    processes : bool, default=False
        Run jobs in child processes (cancel terminates them).
    """

    def __init__(self, on_done, on_error, processes=False, prepare=None):
        self.processes = processes
        self._prepare = prepare
        self._runner = None
        self._on_done = on_done
        self._on_error = on_error
        self._count = 0

    @property
    def runner(self):
        """The backend's JobRunner, made on first use (it imports scikit-learn)."""
        if self._runner is None:
            from ..backend import JobRunner

            self._runner = JobRunner(processes=self.processes)
        return self._runner

    def submit(self, state, job, *args, **kwargs):
        """Run ``job.run(*args, **kwargs)`` for the :class:`~brainviz.model.JobState` ``state``."""
        self._count += 1
        state.state = "queued"
        state.started = time.time()
        state.finished = 0.0
        state.progress = 0.0
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self._count}-{state.kind}"
        invoke = GUI.invoke_later

        def on_progress(fraction, message=""):
            invoke(self._progress, state, fraction, message)

        def on_log(line):
            invoke(self._log, state, str(line))

        def on_done(result):
            # saving is I/O: done here, on the job thread, not on the GUI thread
            saved, figures = "", None
            folder = results_dir() / stamp
            try:
                from ..backend import save_result

                existing = saved_folder(result)
                if existing is not None:
                    # an identical result (a cache hit, a rerun) is already saved: reuse it
                    saved = str(existing)
                    invoke(self._log, state, f"same result as {existing.name}: not saved again")
                else:
                    folder = folder.with_name(f"{stamp}-{result_fingerprint(result)}")
                    save_result(result, folder)
                    saved = str(folder)
                    try:
                        figures = start_figures(result, folder)
                    except Exception as exc:  # noqa: BLE001 - the figures are a convenience
                        log.warning("could not write the figures of %s: %s", folder, exc)
            except Exception as exc:  # the result is still shown; only saving failed
                log.warning("could not save the %s result to %s: %s", state.kind, folder, exc)
                invoke(self._log, state, f"could not save the result to {folder}: {exc}")
            prepared, error = None, None
            if self._prepare is not None:
                try:
                    prepared = self._prepare(result, saved, state.title or state.kind)
                except Exception as exc:  # shown by the window, on its thread
                    error = exc
            invoke(self._done, state, result, saved, prepared, error)
            finish_figures(figures, saved)

        def on_error(exc, traceback_str):
            invoke(self._failed, state, exc, traceback_str)

        def on_cancel():
            invoke(self._cancelled, state)

        state.handle = self.runner.submit(
            job, *args, on_progress=on_progress, on_log=on_log, on_done=on_done,
            on_error=on_error, on_cancel=on_cancel, **kwargs)
        return state.handle

    # --- GUI thread ----------------------------------------------------------
    def _progress(self, state, fraction, message):
        if state.state in ("queued", "running"):
            state.state = "running"
            state.progress = float(min(max(fraction, 0.0), 1.0))
            state.message = message or state.message
            state.tick()

    def _log(self, state, line):
        state.add_log(line)
        if "found in the cache" in line or "from the cache" in line:
            state.from_cache = True

    def _done(self, state, result, folder, prepared=None, error=None):
        state.finished = time.time()
        state.progress = 1.0
        state.result = result
        state.result_folder = folder
        if getattr(result, "from_cache_", False):
            state.from_cache = True
        state.message = "done (from the cache)" if state.from_cache else "done"
        state.state = "done"
        self._on_done(state, result, prepared if error is None else error)

    def _failed(self, state, exc, traceback_str):
        state.finished = time.time()
        state.traceback = traceback_str or ""
        state.message = f"failed: {exc}"
        state.add_log(f"failed: {exc}")
        state.state = "failed"
        self._on_error(state, exc, traceback_str)

    def _cancelled(self, state):
        state.finished = time.time()
        state.message = "cancelled"
        state.add_log("cancelled")
        state.state = "cancelled"

    def cancel(self, state):
        """Ask the job of ``state`` to stop."""
        if state.handle is not None and state.active:
            state.cancelling = True  # no time left to tell
            state.message = "cancelling..."
            state.handle.cancel()

    def shutdown(self):
        if self._runner is None:
            return
        for handle in list(self._runner.handles):
            if not handle.done():
                handle.cancel()
