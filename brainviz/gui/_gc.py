"""Python's cyclic garbage collected on the GUI thread only, while a window is open.

A cycle holding VTK objects (a removed layer's visual, a closed figure's wrappers) may
be found by the collector in whichever thread allocates at that moment: a job's worker
thread. Freeing a VTK actor there runs VTK's own garbage collector, which holds its lock
while it calls tvtk's Python observers of the deleted objects; they wait for the
interpreter, which the GUI thread holds while it waits for that lock to make a VTK
object: the window froze for good (seen in a test of a searchlight run from the window).
As pyqtgraph does for Qt objects, automatic collection is turned off while a window is
open and a timer on the GUI thread collects each generation when its count passes
Python's thresholds.
"""
import gc

__all__ = ["MainThreadCollector"]

# windows open with a collector; automatic collection comes back when the last one stops
_OPEN = []


class MainThreadCollector:
    """Collect on the GUI thread every ``interval_ms`` what Python's thresholds ask for."""

    def __init__(self, interval_ms=500):
        from pyface.qt import QtCore

        if not _OPEN:
            self._restore = gc.isenabled()
        else:
            self._restore = _OPEN[0]._restore
        _OPEN.append(self)
        gc.disable()
        self.threshold = gc.get_threshold()
        self.timer = QtCore.QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval_ms))

    def check(self):
        """Collect the oldest generation whose count is over its threshold (if any)."""
        counts = gc.get_count()
        generation = None
        for g, (count, limit) in enumerate(zip(counts, self.threshold)):
            if limit and count > limit:
                generation = g
        if generation is not None:
            gc.collect(generation)
        return generation

    def stop(self):
        """Stop the timer; the last window's stop turns automatic collection back on."""
        if self.timer is None:
            return
        self.timer.stop()
        self.timer = None
        if self in _OPEN:
            _OPEN.remove(self)
        if not _OPEN and self._restore:
            gc.enable()
