"""Undo and redo of layer display edits: threshold, colour map, opacity, visibility... and removal.

:class:`UndoStack` watches a session's layers (no Qt): every change of a display
trait is recorded as (layer, setting, old value, new value), and a removed layer
as (layer, its position). Changes of one setting of one layer that follow each
other within :attr:`UndoStack.merge_seconds` (a slider being dragged, a value
being typed) are one step. Undoing a step sets the old value back (or puts the
layer back where it was); redoing sets the new one.
"""
import time

__all__ = ["UndoStack"]


class UndoStack:
    """Undo/redo of the display edits of ``session``'s layers."""

    #: Successive changes of the same setting closer than this are one step.
    merge_seconds = 0.8

    def __init__(self, session, limit=200):
        self.session = session
        self.limit = int(limit)
        self.done = []
        self.undone = []
        self._applying = False
        self._watched = set()
        session.observe(self._layers_changed, "layers.items")
        for layer in session.layers:
            self._watch(layer)

    # --- recording ------------------------------------------------------------
    def _watch(self, layer):
        if layer in self._watched:
            return
        self._watched.add(layer)
        layer.observe(self._changed, "[" + ",".join(layer.display_trait_names()) + "]")

    def _unwatch(self, layer):
        if layer in self._watched:
            self._watched.discard(layer)
            layer.observe(self._changed, "[" + ",".join(layer.display_trait_names()) + "]",
                          remove=True)

    def _push(self, step):
        self.done.append(step)
        del self.done[:-self.limit]
        self.undone.clear()

    def _changed(self, event):
        if self._applying:
            return
        now = time.monotonic()
        last = self.done[-1] if self.done else None
        if (last is not None and last[0] == "set" and last[1] is event.object
                and last[2] == event.name and now - last[5] < self.merge_seconds
                and not self.undone):
            self.done[-1] = ("set", event.object, event.name, last[3], event.new, now)
            return
        self._push(("set", event.object, event.name, event.old, event.new, now))

    def _layers_changed(self, event):
        for layer in getattr(event, "added", []) or []:
            self._watch(layer)
        removed = getattr(event, "removed", []) or []
        if removed and not self._applying:
            self._push(("remove", list(removed), int(event.index), None, None, time.monotonic()))
        # a removed layer stays watched: undoing its removal brings its settings back too

    # --- undo / redo ----------------------------------------------------------
    @property
    def can_undo(self):
        return bool(self.done)

    @property
    def can_redo(self):
        return bool(self.undone)

    def undo(self):
        """Undo the last step; returns a short description of it (None when there was none)."""
        if not self.done:
            return None
        step = self.done.pop()
        self._apply(step, undo=True)
        self.undone.append(step)
        return self.describe(step)

    def redo(self):
        """Redo the last undone step; returns its description (None when there was none)."""
        if not self.undone:
            return None
        step = self.undone.pop()
        self._apply(step, undo=False)
        self.done.append(step)
        return self.describe(step)

    def _apply(self, step, undo):
        kind, target, where, old, new, _ = step
        self._applying = True
        try:
            if kind == "set":
                setattr(target, where, old if undo else new)
            elif undo:  # put the removed layers back where they were
                for offset, layer in enumerate(target):
                    self.session.layers.insert(min(where + offset, len(self.session.layers)), layer)
            else:
                for layer in target:
                    if layer in self.session.layers:
                        self.session.layers.remove(layer)
        finally:
            self._applying = False

    @staticmethod
    def describe(step):
        kind, target, where, old, new, _ = step
        if kind == "set":
            return f"{where} of {target.name}: {old!r} -> {new!r}"
        return "removal of " + ", ".join(layer.name for layer in target)

    def close(self):
        from traits.observation.exceptions import NotifierNotFound

        try:
            self.session.observe(self._layers_changed, "layers.items", remove=True)
        except NotifierNotFound:
            pass
        for layer in list(self._watched):
            self._unwatch(layer)
