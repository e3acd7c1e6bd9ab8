"""The window's 3D scene anti-aliased when it rests, not on every frame of a move.

The scene anti-aliases with FXAA (:func:`brainviz.scene._figure.use_fast_antialiasing`),
a pass over the whole frame after it is drawn: 4 to 7 ms of every frame of a cursor move
under software rendering, a fifth of the time from a move to all views redrawn
(``benchmarks/bench_viewer.py``). While the cursor moves (a drag in a 2D view, arrow keys)
or the camera turns, frames are drawn without it; once nothing has moved for
:attr:`StillAntialiasing.delay_ms`, one anti-aliased frame is drawn: VTK's "still update
rate" and ParaView's interactive rendering make the same trade. Exported images set their
own anti-aliasing (:mod:`brainviz.scene._render`) and are not affected.
"""

__all__ = ["StillAntialiasing"]


class StillAntialiasing:
    """Turn FXAA off in ``figure`` while things move, on again when they rest.

    Parameters
    ----------
    figure : mayavi Scene
        The window's 3D figure (its renderer has FXAA on at rest).
    """

    #: Milliseconds without a move before the anti-aliased frame is drawn.
    delay_ms = 250

    def __init__(self, figure):
        from pyface.qt import QtCore

        self._figure = figure
        self._timer = QtCore.QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.delay_ms)
        self._timer.timeout.connect(self._rest)
        self._observed = None
        interactor = getattr(figure.scene, "interactor", None)
        interactor = getattr(interactor, "_vtk_obj", interactor)
        style = interactor.GetInteractorStyle() if interactor is not None else None
        if style is not None and style.IsA("vtkInteractorStyleSwitch"):
            style = style.GetCurrentStyle()  # the trackball camera the scene turns with
        if style is not None:  # a drag that turns the camera
            self._observed = (style, style.AddObserver("InteractionEvent", self.moving))

    def _renderer(self):
        scene = getattr(self._figure, "scene", None)
        if scene is None or getattr(scene, "renderer", None) is None:
            return None
        return scene.renderer._vtk_obj

    def moving(self, *args):
        """Something moved (the cursor, the camera): no FXAA until it rests."""
        renderer = self._renderer()
        if renderer is None:
            return
        renderer.SetUseFXAA(False)
        self._timer.start()

    @property
    def resting(self):
        """True when the scene is drawn anti-aliased (no move waits)."""
        renderer = self._renderer()
        return renderer is not None and bool(renderer.GetUseFXAA()) and not self._timer.isActive()

    def _rest(self):
        renderer = self._renderer()
        if renderer is None:
            return
        renderer.SetUseFXAA(True)
        self._figure.scene.render()

    def close(self):
        """Stop following moves (the window closes); the scene is left anti-aliased."""
        self._timer.stop()
        if self._observed is not None:
            style, tag = self._observed
            style.RemoveObserver(tag)
            self._observed = None
        renderer = self._renderer()
        if renderer is not None:
            renderer.SetUseFXAA(True)
