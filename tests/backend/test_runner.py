"""JobRunner: off-thread runs, progress, cancel, failures, queueing, processes."""
import threading
import time


from brainviz.backend import DecodingJob, JobRunner, cache
from brainviz.backend import decoding as dec
from brainviz.backend.jobs import BaseJob, Progress


class SleepJob(BaseJob):
    """A job with one long uninterruptible step (for the process runner)."""

    def __init__(self, seconds=30.0):
        self.seconds = seconds

    def run(self, value, progress=None, cancel_event=None, log=None):
        prog = Progress(progress, cancel_event, log)
        prog(0.1, "sleeping")
        prog.log("started")
        time.sleep(self.seconds)
        return value * 2


def _submit(runner, data, **kw):
    job = DecodingJob(classes=["face", "house"], backend="sequential", **kw.pop("params", {}))
    return runner.submit(job, data["img"], data["labels"], runs=data["runs"],
                         mask=data["mask"], **kw)


def test_runs_off_thread_with_progress_and_done(decoding_data, tmp_path):
    runner = JobRunner()
    events, threads = [], set()
    done = threading.Event()

    def on_progress(fraction, message):
        threads.add(threading.get_ident())
        events.append((fraction, message))

    handle = _submit(runner, decoding_data, params={"memory": tmp_path},
                     on_progress=on_progress, on_done=lambda r: done.set())
    assert handle.wait(60) and done.is_set()
    assert handle.state == "done" and handle.result.mean_score_ >= 0.9
    assert threading.get_ident() not in threads  # callbacks come from the worker
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("fold 4/4" in m for _, m in events)


def test_cancel_stops_within_two_seconds_and_leaves_no_entry(decoding_data, tmp_path, monkeypatch):
    real = dec._fit_fold

    def slow_fold(*a, **k):
        time.sleep(0.4)
        return real(*a, **k)

    monkeypatch.setattr(dec, "_fit_fold", slow_fold)
    runner = JobRunner()
    started = threading.Event()
    cancelled = threading.Event()
    handle = _submit(runner, decoding_data, params={"memory": tmp_path},
                     on_progress=lambda f, m: "fold 1/" in m and started.set(),
                     on_cancel=cancelled.set)
    assert started.wait(30)
    t0 = time.monotonic()
    handle.cancel()
    assert handle.wait(5)
    assert time.monotonic() - t0 < 2.0
    assert handle.state == "cancelled" and cancelled.is_set() and handle.result is None
    kinds = [e.kind for e in cache.list_cache_entries(tmp_path)]
    assert "decoding: fit" not in kinds  # no partial fit entry


def test_failure_keeps_traceback_and_queue_goes_on(decoding_data):
    runner = JobRunner()
    errors = []
    bad = runner.submit(DecodingJob(memory=False), decoding_data["img"], ["face"] * 3,
                        runs=decoding_data["runs"], on_error=lambda e, tb: errors.append(tb))
    good = _submit(runner, decoding_data, params={"memory": False})
    queued = _submit(runner, decoding_data, params={"memory": False, "estimator": "ridge"})
    queued.cancel()  # cancelled before it starts
    assert runner.wait_all(60)
    assert bad.state == "failed" and "ShapeMismatchError" in bad.traceback
    assert "There are 3 labels but 48 volumes" in str(bad.error)
    assert errors and errors[0] == bad.traceback
    assert good.state == "done" and queued.state == "cancelled"


def test_process_runner_result_and_hard_cancel():
    runner = JobRunner(processes=True)
    logs = []
    quick = runner.submit(SleepJob(seconds=0.1), 21, on_log=logs.append)
    assert quick.wait(60) and quick.state == "done", quick.traceback
    assert quick.result == 42 and logs == ["started"]
    slow = runner.submit(SleepJob(seconds=60), 1)
    deadline = time.monotonic() + 60
    while slow.message != "sleeping" and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    slow.cancel()  # terminates the process mid-step
    assert slow.wait(5) and time.monotonic() - t0 < 2.0
    assert slow.state == "cancelled"
