"""Draw a :class:`brainviz.model.Session` into a Mayavi figure and keep it in step.

The one path from model to pixels, used by the window, ``brainviz.mlab``,
``brainviz render`` and the no-display start:

- :data:`LAYER_VISUALS` maps each layer class to the visual class that draws it;
  :func:`visual_class_for` walks a layer's class MRO (as napari's
  ``layer_to_visual``), so a subclass without an entry of its own is drawn by its
  parent's visual.
- Each visual declares, in :attr:`~brainviz.scene._base.Visual.layer_handlers`,
  which of its attributes applies each display trait of its layer kind. The
  binding applies a changed trait through that table and nothing else.
- What several visuals share is session state they all read: the cursor (every
  visual with slices follows ``session.cursor``), whether opaque anatomy slices
  lie under the maps, and the camera (``session.camera``).

A figure has at most one binding: :func:`bind` registers it, :func:`binding_for`
finds it (``brainviz.mlab`` adds its layers to that session).
"""
import logging
import weakref

import numpy as np

from .. import model
from ._figure import disable_render, new_figure

__all__ = ["LAYER_VISUALS", "visual_class_for", "SceneBinding", "bind", "binding_for",
           "draw_session"]

log = logging.getLogger(__name__)


def _registry():
    from .connectome import ConnectomeVisual
    from .glass import GlassBrainVisual
    from .regions import RegionsVisual
    from .statmap import MaskVisual, StatMapVisual
    from .surface import SurfaceVisual
    from .volume import AnatomyVisual, SeriesVisual

    return {
        model.AnatomyLayer: AnatomyVisual,
        model.SeriesLayer: SeriesVisual,
        model.StatMapLayer: StatMapVisual,
        model.MaskLayer: MaskVisual,
        model.LabelLayer: RegionsVisual,
        model.ConnectomeLayer: ConnectomeVisual,
        model.SurfaceLayer: SurfaceVisual,
        model.GlassBrainLayer: GlassBrainVisual,
    }


#: Layer class -> visual class (filled on first use: importing the visuals is cheap,
#: but keeps VTK out of ``import brainviz.scene.binding`` anyway).
LAYER_VISUALS = {}


def visual_class_for(layer, registry=None):
    """The visual class that draws ``layer`` (a Layer or Layer class), walking its MRO, in
    ``registry`` (:data:`LAYER_VISUALS` by default; a registry may map a class to None: not
    drawn in that kind of view)."""
    if registry is None:
        if not LAYER_VISUALS:
            LAYER_VISUALS.update(_registry())
        registry = LAYER_VISUALS
    cls = layer if isinstance(layer, type) else type(layer)
    for klass in cls.__mro__:
        if klass in registry:
            return registry[klass]
    raise TypeError(f"No visual draws {cls.__name__} layers; register one in "
                    "brainviz.scene.binding.LAYER_VISUALS.")


# figure -> its binding (weak: a closed figure frees it)
_BINDINGS = weakref.WeakKeyDictionary()


def binding_for(figure):
    """The :class:`SceneBinding` drawing into ``figure``, or None."""
    return _BINDINGS.get(figure)


def bind(session, figure, on_error=None, registry=None, defer=None, follow_camera=True,
         **view):
    """Draw ``session`` into ``figure`` and keep them in step; returns the :class:`SceneBinding`.

    ``registry`` and ``view`` (e.g. ``axis=2``) make other kinds of view, such as the 2D
    views of :mod:`brainviz.scene.slices2d`, which point cameras of their own
    (``follow_camera=False``: ``session.camera`` is the 3D scene's). ``defer`` (a
    callable taking a callable) draws the layers added later when it calls it, not at
    once: a window gives each view its own event-loop turn. A binding the figure already
    had is closed first (its visuals removed).
    """
    old = _BINDINGS.get(figure)
    if old is not None:
        old.close(remove_visuals=True)
    binding = SceneBinding(session, figure, on_error=on_error, registry=registry, defer=defer,
                           follow_camera=follow_camera, **view)
    _BINDINGS[figure] = binding
    return binding


def draw_session(session, size=(600, 600), bgcolor=(1.0, 1.0, 1.0), figure=None, view="left"):
    """Make a figure (offscreen unless mlab says otherwise), draw ``session`` into it and
    point the camera: the session's camera when it has one, else the named ``view``.

    Returns
    -------
    figure : mayavi Scene
    binding : SceneBinding
    """
    figure = new_figure(size=tuple(int(v) for v in size), bgcolor=tuple(bgcolor), figure=figure)
    with disable_render(figure):
        binding = bind(session, figure)
        if not session.camera and view:
            binding.show_view(view, render=False)
    return figure, binding


_LAYER_EVENTS = "layers:items:data_changed"


class _Change:
    """What a trait-change event carries that :meth:`SceneBinding._display_changed` reads."""

    def __init__(self, obj, name):
        self.object, self.name = obj, name


class SceneBinding:
    """Visuals for the layers of a session, restyled when their display traits change.

    Parameters
    ----------
    session : brainviz.model.Session
    figure : mayavi Scene
    on_error : callable(exc, context), default=None
        Where errors of a single layer go (the window's error handler); a layer
        that cannot be drawn never stops the others. None: raise.
    follow_camera : bool, default=True
        Whether the figure's camera is ``session.camera`` (the 3D scene's), pointed as
        it changes; a 2D view, whose camera looks along its own axis, does not follow it.
    """

    def __init__(self, session, figure, on_error=None, registry=None, defer=None,
                 follow_camera=True, **view):
        self.session = session
        self.figure = figure
        self.on_error = on_error
        self.registry = registry
        #: None, or how added layers are drawn later (see :func:`bind`)
        self.defer = defer
        self._deferred = set()  # layers added, to be drawn later
        #: Keywords every visual of this view is made with (a 2D view's axis).
        self.view = view
        #: layer -> visual, in layer order.
        self.visuals = {}
        self._observed = {}
        session.observe(self._layers_changed, "layers.items")
        session.observe(self._data_changed, _LAYER_EVENTS)
        session.observe(self._cursor_changed, "cursor")
        self.follow_camera = bool(follow_camera)
        if self.follow_camera:
            session.observe(self._camera_changed, "camera")
        session.observe(self._title_changed, "title")
        self._title_actor = None
        #: While paused (a view the window hides), display and cursor changes wait here
        #: and are applied once on :meth:`resume`: a hidden view does no work per frame.
        self._paused = False
        self._pending = {}
        with disable_render(figure):
            for layer in session.layers:
                self._add(layer)
            self._update_over_anatomy()
            self._title_changed(None)
            if session.camera and self.follow_camera:
                self.apply_camera(session.camera)

    def close(self, remove_visuals=False):
        """Stop following the session (the visuals stay drawn unless ``remove_visuals``)."""
        from traits.observation.exceptions import NotifierNotFound

        for handler, expression in ((self._layers_changed, "layers.items"),
                                    (self._data_changed, _LAYER_EVENTS),
                                    (self._cursor_changed, "cursor"),
                                    (self._camera_changed, "camera"),
                                    (self._title_changed, "title")):
            try:
                self.session.observe(handler, expression, remove=True)
            except NotifierNotFound:
                pass
        for layer in list(self._observed):
            self._unobserve(layer)
        if remove_visuals:
            for layer in list(self.visuals):
                self._remove(layer)
        if _BINDINGS.get(self.figure) is self:
            del _BINDINGS[self.figure]

    @property
    def paused(self):
        return self._paused

    def pause(self):
        """Stop applying display and cursor changes until :meth:`resume` (the view is hidden).

        Layers added or removed, and new data, are still drawn at once.
        """
        self._paused = True

    def resume(self):
        """Apply what changed while paused (each layer trait once, the cursor once)."""
        if not self._paused:
            return
        self._paused = False
        pending, self._pending = self._pending, {}
        with disable_render(self.figure):
            for (layer, name) in pending:
                if layer in self.session.layers and name != "cursor":
                    self._display_changed(_Change(layer, name))
            if (None, "cursor") in pending:
                self._cursor_changed(None)

    def add_layer(self, layer):
        """Draw ``layer`` now, then add it to the session; a layer that cannot be drawn raises
        (and is not added). ``brainviz.mlab`` adds its layers this way."""
        self._observe(layer)
        try:
            visual = self._make_visual(layer)
        except BaseException:
            self._unobserve(layer)
            raise
        if visual is not None:
            self.visuals[layer] = visual
        self.session.add_layer(layer)
        if visual is not None:
            visual.name = layer.name
        return layer

    # --- queries --------------------------------------------------------------
    def visual_for(self, layer):
        """The visual drawing ``layer`` (KeyError when it is not drawn)."""
        return self.visuals[layer]

    def show_view(self, name, render=True):
        """Point the camera from the named side (:func:`brainviz.scene.views.set_view`),
        framing what is drawn (:meth:`content_bounds`, as an ellipsoid: the brain fills the
        view), and keep the camera in the session. The window's view buttons and
        ``brainviz render``'s single views both come here, so they frame alike."""
        from .views import set_view

        set_view(self.figure, name, bounds=self.content_bounds(), fit="ellipsoid",
                 render=render)
        self.store_camera()

    def content_bounds(self):
        """Union of the shown layers' :attr:`~brainviz.scene._base.Visual.content_bounds`
        (xmin, xmax, ymin, ymax, zmin, zmax in mm): what a view frames so that the brain, not
        the anatomy image's empty field of view, fills it. None when nothing is shown."""
        boxes = []
        for layer, visual in self.visuals.items():
            if not getattr(layer, "visible", True):
                continue
            try:
                boxes.append(np.asarray(visual.content_bounds, dtype=float))
            except Exception:  # noqa: BLE001 - a visual without bounds is not framed
                continue
        boxes = [b for b in boxes if b.shape == (6,) and np.all(np.isfinite(b))]
        if not boxes:
            return None
        b = np.array(boxes)
        return tuple(float(v) for pair in zip(b[:, 0::2].min(axis=0), b[:, 1::2].max(axis=0))
                     for v in pair)

    def colorbar_visual(self, selected=None):
        """The visual a figure's colour bar explains: a shown map (statistical map, surface,
        glass brain with blobs), else a shown connectome; among several, ``selected`` when it
        is one of them, else the last added. None when there is none."""
        for kinds in ((model.StatMapLayer, model.SurfaceLayer, model.GlassBrainLayer),
                      (model.ConnectomeLayer,)):
            shown = [lay for lay in self.session.layers
                     if isinstance(lay, kinds) and not isinstance(lay, model.MaskLayer)
                     and lay.visible and lay in self.visuals
                     and not (isinstance(lay, (model.SurfaceLayer, model.GlassBrainLayer))
                              and not self._has_values(lay))]
            if shown:
                return self.visuals[selected if selected in shown else shown[-1]]
        return None

    @staticmethod
    def _has_values(layer):
        if isinstance(layer, model.GlassBrainLayer):
            return layer.data is not None
        return any(p.values is not None for p in layer.data or [])

    # --- camera ---------------------------------------------------------------
    def current_camera(self):
        """The figure's camera as a JSON-compatible dict (with the hemisphere a medial view
        keeps, ``"clip"``: -1, 0 or 1)."""
        from .views import clipped_hemisphere

        cam = self.figure.scene.camera
        return {
            "clip": clipped_hemisphere(self.figure),
            "position": [float(v) for v in cam.position],
            "focal_point": [float(v) for v in cam.focal_point],
            "view_up": [float(v) for v in cam.view_up],
            "view_angle": float(cam.view_angle),
            "parallel_scale": float(cam.parallel_scale),
            "parallel_projection": bool(cam.parallel_projection),
        }

    def store_camera(self):
        """Copy the figure's camera into ``session.camera`` (without moving it again)."""
        self._storing = True
        try:
            self.session.camera = self.current_camera()
        finally:
            self._storing = False
        return self.session.camera

    def apply_camera(self, camera):
        """Point the figure's camera as ``camera`` (a dict as :meth:`current_camera` gives)."""
        from .views import set_clipped_hemisphere

        cam = self.figure.scene.camera
        for key in ("position", "focal_point", "view_up", "view_angle", "parallel_scale",
                    "parallel_projection"):
            if key in camera:
                setattr(cam, key, camera[key])
        set_clipped_hemisphere(self.figure, camera.get("clip", 0))
        self.figure.scene.renderer.reset_camera_clipping_range()
        self.figure.scene.render()

    def _camera_changed(self, event):
        if getattr(self, "_storing", False) or not event.new:
            return
        try:
            self.apply_camera(event.new)
        except Exception as exc:  # noqa: BLE001
            self._error(exc, "Could not apply the session's camera")

    # --- observers ------------------------------------------------------------
    def _layers_changed(self, event):
        removed = list(getattr(event, "removed", []) or [])
        added = list(getattr(event, "added", []) or [])
        if not removed and not added:
            # the whole list was replaced
            removed = [lay for lay in self.visuals if lay not in self.session.layers]
            added = [lay for lay in self.session.layers if lay not in self.visuals]
        if added and self.defer is not None:
            self._deferred.update(added)
            self.defer(lambda layers=tuple(added): self._add_later(layers))
            added = []
        with disable_render(self.figure):
            for layer in removed:
                self._remove(layer)
            for layer in added:
                self._add(layer)
            self._update_over_anatomy()

    def _add_later(self, layers):
        """Draw the deferred ``layers`` still in the session and not drawn yet, and render."""
        self._deferred.difference_update(layers)
        if _BINDINGS.get(self.figure) is not self:
            return  # closed meanwhile
        layers = [lay for lay in layers if lay in self.session.layers and lay not in self.visuals]
        if not layers:
            return
        with disable_render(self.figure):
            for layer in layers:
                self._add(layer)
            self._update_over_anatomy()

    def _display_changed(self, event):
        layer = event.object
        if self._paused:
            self._pending[(layer, event.name)] = True
            return
        visual = self.visuals.get(layer)
        if visual is None:
            if layer in self._deferred:
                return  # drawn soon, as it is then
            if event.name == "visible" or layer.data is not None:
                self._add(layer)
            return
        # one render for the change: a slice widget's SetEnabled renders through the
        # interactor by itself otherwise (three per map when it is shown or hidden)
        with disable_render(self.figure):
            try:
                visual.apply_layer_trait(layer, event.name)
            except Exception as exc:  # noqa: BLE001 - one layer never breaks the scene
                self._error(exc, f"Could not apply {event.name} to layer {layer.name!r}")
            if event.name in ("visible", "show_slices", "opacity"):
                self._update_over_anatomy()

    def _data_changed(self, event):
        layer = event.object
        if layer in self.visuals:
            with disable_render(self.figure):
                self._remove(layer, keep_observers=True)
                self._add(layer)
                self._update_over_anatomy()

    def _cursor_changed(self, event):
        if self._paused:
            self._pending[(None, "cursor")] = True
            return
        cursor = np.asarray(self.session.cursor, dtype=float)
        with disable_render(self.figure):
            for layer, visual in self.visuals.items():
                if visual.follows_cursor:
                    try:
                        visual.cursor = cursor
                    except Exception as exc:  # noqa: BLE001
                        self._error(exc, f"Could not move the slices of {layer.name!r}")
            if self.visuals and self.registry is None:  # the 3D scene (2D views keep theirs)
                # a slice moved towards the camera stays inside the clipping range
                self.figure.scene.renderer._vtk_obj.ResetCameraClippingRange()

    def _title_changed(self, event):
        text = self.session.title
        if self._title_actor is None and not text:
            return
        if self._title_actor is None:
            from tvtk.api import tvtk

            actor = tvtk.TextActor()
            actor.text_scale_mode = "none"
            prop = actor.text_property
            prop.trait_set(font_size=16, bold=True, italic=False, shadow=False,
                           color=(0.1, 0.1, 0.1), justification="centered",
                           vertical_justification="top")
            actor.position_coordinate.coordinate_system = "normalized_viewport"
            actor.position_coordinate.value = (0.5, 0.97, 0.0)
            self.figure.scene.add_actor(actor)
            self._title_actor = actor
        self._title_actor.input = text
        self._title_actor.visibility = bool(text)
        self.figure.scene.render()

    def _error(self, exc, context):
        if self.on_error is None:
            raise exc
        self.on_error(exc, context)

    # --- visuals --------------------------------------------------------------
    def _observe(self, layer):
        if layer in self._observed:
            return
        names = layer.display_trait_names()
        expression = "[" + ",".join(names) + "]"
        layer.observe(self._display_changed, expression)
        self._observed[layer] = expression

    def _unobserve(self, layer):
        expression = self._observed.pop(layer, None)
        if expression is not None:
            layer.observe(self._display_changed, expression, remove=True)

    def _make_visual(self, layer):
        if layer.data is None and not isinstance(layer, model.GlassBrainLayer):
            return None
        visual_cls = visual_class_for(layer, self.registry)
        if visual_cls is None:  # this kind of view does not draw this kind of layer
            return None
        visual = visual_cls.from_layer(layer, self.figure, **self.view)
        if visual.follows_cursor:
            visual.cursor = np.asarray(self.session.cursor, dtype=float)
        return visual

    def _add(self, layer):
        self._observe(layer)
        if layer not in self.visuals:
            try:
                visual = self._make_visual(layer)
            except Exception as exc:  # noqa: BLE001 - reported; the other layers are drawn
                self._error(exc, f"Could not draw layer {layer.name!r}")
                return
            if visual is None:
                return
            self.visuals[layer] = visual
        self._reorder()

    def _reorder(self):
        order = {lay: k for k, lay in enumerate(self.session.layers)}
        self.visuals = dict(sorted(self.visuals.items(), key=lambda kv: order.get(kv[0], 1e9)))
        planes = []
        for depth, visual in enumerate(self.visuals.values()):
            if visual.trait("depth") is not None:  # 2D views: later layers on top
                visual.depth = depth
                planes.append(visual)
        if planes:
            from .slices2d import stack_planes

            stack_planes(self.figure, planes)

    def _remove(self, layer, keep_observers=False):
        if not keep_observers:
            self._unobserve(layer)
        visual = self.visuals.pop(layer, None)
        if visual is not None:
            try:
                visual.remove()
            except Exception as exc:  # noqa: BLE001
                log.warning("removing the visual of %s failed: %s", layer.name, exc)

    def _update_over_anatomy(self):
        """Maps draw their slices beside opaque anatomy slices when there are any."""
        over = any(isinstance(lay, model.AnatomyLayer) and lay.visible and lay.show_slices
                   and lay.opacity >= 1.0 and lay in self.visuals
                   for lay in self.session.layers)
        for visual in self.visuals.values():
            if visual.trait("over_anatomy") is not None and visual.over_anatomy != over:
                visual.over_anatomy = over
