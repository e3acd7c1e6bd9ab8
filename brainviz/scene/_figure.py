"""Figures: make one, batch its rendering, grab its pixels, list the visuals in it.

Every visual draws into a Mayavi figure (:class:`mayavi.core.scene.Scene`), the
same object :func:`mayavi.mlab.figure` returns, so brainviz and ``mayavi.mlab``
calls can be mixed on one figure.
"""
import contextlib
import os
import weakref


__all__ = [
    "get_figure",
    "new_figure",
    "disable_render",
    "close_figure",
    "hold_renders",
    "render",
    "figure_visuals",
    "screenshot",
]


def _mlab():
    # mayavi.mlab reads ETS_TOOLKIT when imported: a process without a display
    # would otherwise try to open an X connection.
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from mayavi import mlab

    return mlab


def new_figure(size=(600, 600), bgcolor=(1, 1, 1), figure=None, offscreen=None):
    """Create (or reuse) a Mayavi figure.

    Parameters
    ----------
    size : (int, int), default=(600, 600)
        Width and height in pixels.
    bgcolor : (float, float, float), default=(1, 1, 1)
        Background colour, each in [0, 1].
    figure : Scene, int or str, default=None
        An existing figure (or its mlab name/number) to reuse.
    offscreen : bool, default=None
        Render offscreen; ``None`` keeps ``mayavi.mlab.options.offscreen``.

    Returns
    -------
    figure : mayavi.core.scene.Scene
    """
    mlab = _mlab()
    if offscreen is not None:
        mlab.options.offscreen = bool(offscreen)
    fig = mlab.figure(figure=figure, size=tuple(size), bgcolor=tuple(bgcolor))
    use_fast_antialiasing(fig)
    return fig


def use_fast_antialiasing(figure):
    """Anti-alias the interactive view with FXAA instead of multisampling.

    Mayavi figures multisample 4x by default, which more than doubles the cost
    of every frame under software rendering (a full scene: 220 ms a frame with
    4x multisampling, 80 ms with FXAA on llvmpipe). Exports are not affected:
    :func:`brainviz.scene.export.savefig` sets its own anti-aliasing for the
    image it writes, then restores these settings.
    """
    scene = getattr(figure, "scene", None)
    if scene is None or getattr(scene, "render_window", None) is None:
        return figure
    scene.render_window.multi_samples = 0
    scene.renderer.use_fxaa = True
    return figure


def get_figure(figure=None):
    """Return ``figure``, or the current mlab figure (created when there is none)."""
    if figure is not None and hasattr(figure, "scene"):
        return figure
    mlab = _mlab()
    if figure is None:
        return mlab.gcf()
    return mlab.figure(figure)


@contextlib.contextmanager
def disable_render(figure):
    """Build many pipeline objects with rendering off, then render once.

    Nested uses are fine: only the outermost block renders.
    """
    scene = figure.scene
    if scene is None:  # a figure already closed
        yield figure
        return
    was_disabled = bool(scene.disable_render)
    # Widgets (image planes) render through the interactor when they are enabled,
    # bypassing scene.disable_render: hold those renders too. The interactor's flag is
    # read and set on the VTK object itself: through TVTK, each set re-read every trait
    # of the interactor (about a millisecond, twice per view on every cursor move).
    from tvtk.tvtk_base import global_disable_update

    interactor = _raw(getattr(scene, "interactor", None))
    held = interactor is not None and bool(interactor.GetEnableRender())
    scene.disable_render = True
    if held:
        with global_disable_update():  # the flag goes back to what TVTK holds below
            interactor.SetEnableRender(0)
    try:
        yield figure
    finally:
        if held:
            with global_disable_update():
                interactor.SetEnableRender(1)
        # TVTKScene renders by itself when disable_render goes back to False.
        scene.disable_render = was_disabled


def _raw(tvtk_object):
    """The VTK object behind a TVTK wrapper (or the object itself)."""
    return getattr(tvtk_object, "_vtk_obj", tvtk_object)


@contextlib.contextmanager
def hold_renders(figure, render_after=True):
    """While inside, changes to the scene (a camera moved, a trait set) do not render it.

    Unlike :func:`disable_render` this leaves the interactor's renders on: exports read
    their pixels through ``vtkWindowToImageFilter``, which renders through the interactor.
    With ``render_after=False`` nothing is rendered on the way out either (the figure is
    about to be closed, or put back by the caller).
    """
    scene = figure.scene
    if scene is None or scene.disable_render:
        yield figure
        return
    scene.disable_render = True
    try:
        yield figure
    finally:
        if render_after:
            scene.disable_render = False
        else:
            # without the render TVTKScene does when the trait goes back to False
            scene.trait_setq(disable_render=False)


def close_figure(figure):
    """Close ``figure`` without drawing it again.

    Closing a Mayavi figure disables each image-plane widget, and every widget
    disabled renders the whole scene through the interactor (24 renders, about
    a second, for a figure of template and map slices): nothing is shown any
    more, so rendering is turned off first.
    """
    scene = getattr(figure, "scene", None)
    if scene is not None:
        interactor = _raw(getattr(scene, "interactor", None))
        if interactor is not None:
            interactor.SetEnableRender(0)
        scene.disable_render = True
    _mlab().close(figure)


def render(figure):
    """Render ``figure`` now unless rendering is disabled (batch building)."""
    scene = getattr(figure, "scene", None)
    if scene is not None and not scene.disable_render:
        scene.render()


def screenshot(figure):
    """Render ``figure`` and return its pixels as an (height, width, 3) uint8 array."""
    mlab = _mlab()
    figure.scene.render()
    return mlab.screenshot(figure, mode="rgb", antialiased=False)


# figure -> visuals drawn in it (weak on both sides: closing a figure frees them)
_VISUALS = weakref.WeakKeyDictionary()


def figure_visuals(figure, kind=None):
    """Return the brainviz visuals drawn in ``figure`` (oldest first), optionally of one class."""
    found = [v for v in list(_VISUALS.get(figure, ())) if v is not None]
    if kind is not None:
        found = [v for v in found if isinstance(v, kind)]
    return found


def _register(figure, visual):
    _VISUALS.setdefault(figure, weakref.WeakSet()).add(visual)


def _unregister(figure, visual):
    found = _VISUALS.get(figure)
    if found is not None:
        found.discard(visual)
