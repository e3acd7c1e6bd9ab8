"""Figure helpers shared by every visual: figures, batched rendering, the base class.

Every visual draws into a Mayavi figure (:class:`mayavi.core.scene.Scene`), the
same object :func:`mayavi.mlab.figure` returns, so brainviz and ``mayavi.mlab``
calls can be mixed on one figure.
"""
import contextlib
import os
import weakref

import numpy as np
from traits.api import Any, Bool, HasTraits, Str, TraitType

__all__ = [
    "get_figure",
    "new_figure",
    "disable_render",
    "render",
    "figure_visuals",
    "screenshot",
    "Visual",
    "lut_table",
    "Colormap",
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
    # bypassing scene.disable_render: hold those renders too.
    interactor = getattr(scene, "interactor", None)
    held = interactor is not None and bool(interactor.enable_render)
    scene.disable_render = True
    if held:
        interactor.enable_render = False
    try:
        yield figure
    finally:
        if held:
            interactor.enable_render = True
        # TVTKScene renders by itself when disable_render goes back to False.
        scene.disable_render = was_disabled


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


def lut_table(name, n=256):
    """Return the colour table ``name`` as an (n, 4) uint8 RGBA array (see
    :func:`brainviz.scene.colors.get_lut`)."""
    from .colors import get_lut

    return np.asarray(get_lut(name, n=n), dtype=np.uint8)


class Colormap(TraitType):
    """A colour map name, checked on assignment: a bad name raises ParameterError at once."""

    default_value_type = 0
    info_text = "a colour map name"

    def __init__(self, default_value="cold_hot", **metadata):
        super().__init__(default_value, **metadata)

    def validate(self, obj, name, value):
        from .colors import check_colormap

        return check_colormap(value, parameter=f"The {name!r} parameter: colour map")


class Visual(HasTraits):
    """Base class of brainviz visuals: drawn once into a figure, restyled through traits.

    Subclasses build their Mayavi/TVTK pipeline in ``_build`` with rendering
    disabled and update it in place from trait handlers.
    """

    #: The Mayavi figure (Scene) the visual draws into.
    figure = Any()

    #: Show or hide the whole visual.
    visible = Bool(True)

    #: A name for legends and the GUI.
    name = Str()

    def _setup(self, figure):
        self.figure = get_figure(figure)
        _register(self.figure, self)

    def render(self):
        """Render the figure (no-op while rendering is disabled)."""
        render(self.figure)

    @property
    def bounds(self):
        """World bounds in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        raise NotImplementedError

    def value_at(self, xyz_mm):
        """Return the visual's value(s) at world point(s) ``xyz_mm`` (mm); NaN outside."""
        raise NotImplementedError

    def _actors(self):
        return []

    def remove(self):
        """Remove the visual's objects from its figure."""
        with disable_render(self.figure):
            for obj in self._pipeline_roots():
                try:
                    obj.remove()
                except Exception:  # already removed with its parent
                    pass
            for actor in self._actors():
                self.figure.scene.remove_actor(actor)
        vis = _VISUALS.get(self.figure)
        if vis is not None:
            vis.discard(self)

    def _pipeline_roots(self):
        return []


def display_range(vmin, vmax, symmetric, abs_max):
    """The (low, high) values a map's colour map spans.

    Symmetric maps span ``[-|vmax|, |vmax|]`` (``abs_max``, the data's largest
    absolute value, when ``vmax`` is 0); others span ``[vmin, vmax]``.
    """
    if symmetric:
        top = abs(float(vmax)) or float(abs_max)
        return -top, top
    return float(vmin), float(vmax)


def as_points(xyz_mm):
    """Return ``xyz_mm`` as an (n, 3) float array and whether a single point was given."""
    pts = np.asarray(xyz_mm, dtype=float)
    single = pts.ndim == 1
    pts = np.atleast_2d(pts)
    if pts.shape[-1] != 3:
        from ..exceptions import DimensionError

        raise DimensionError(
            f"xyz_mm must be (3,) or (n, 3) world coordinates in mm; got shape {pts.shape}"
        )
    return pts, single
