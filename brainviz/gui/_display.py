"""Keep a Mayavi figure in step with a :class:`brainviz.model.Session`.

One visual per layer, made with the same ``brainviz.mlab`` functions a script
uses (so a window figure and a script figure are the same figure), restyled
in place when a display trait changes. This module imports no Qt: the
headless fallback of ``brainviz`` uses it to draw the same scene offscreen.
"""
import logging

import numpy as np

from ..model import ConnectomeLayer

__all__ = ["SceneSync", "set_trait_if_present", "no_render"]

log = logging.getLogger(__name__)

# layer trait -> candidate visual trait names (first one present wins)
_ALIASES = {
    "colormap": ("cmap", "colormap"),
    "threshold": ("threshold",),
    "opacity": ("opacity",),
    "visible": ("visible",),
}
_CONNECTOME_ALIASES = dict(_ALIASES, threshold=("edge_threshold", "threshold"),
                           colormap=("edge_cmap", "cmap", "colormap"),
                           node_size=("node_size",))


def set_trait_if_present(obj, names, value):
    """Set the first of ``names`` that ``obj`` has as a trait; return the name used or None."""
    for name in names:
        if obj.trait(name) is not None and not name.startswith("_"):
            setattr(obj, name, value)
            return name
    return None


def _frame_image(volume, frame):
    import nibabel as nib

    data = volume.get_frame(frame)
    return nib.Nifti1Image(np.asarray(data, dtype=np.float32), volume.affine)


def _visual_factories():
    """The functions that draw each kind: brainviz.mlab's, or the scene classes they wrap."""
    try:
        from .. import mlab as bv

        return {"anatomy": bv.anatomy, "stat_map": bv.stat_map, "regions": bv.regions,
                "connectome": bv.connectome}
    except (ImportError, AttributeError):
        pass
    from ..scene.connectome import ConnectomeVisual
    from ..scene.statmap import StatMapVisual
    from ..scene.volume import AnatomyVisual

    def regions(img, figure=None, **kw):
        from ..scene.regions import RegionsVisual

        return RegionsVisual(img, figure=figure, **kw)

    return {"anatomy": AnatomyVisual, "stat_map": StatMapVisual, "regions": regions,
            "connectome": ConnectomeVisual}


def _style(layer, default_cmap):
    # only what differs from the visual's defaults: naming a colour map makes the
    # scene check it (and import matplotlib), which costs a second at start-up
    out = {}
    if layer.colormap != default_cmap:
        out["cmap"] = layer.colormap
    if layer.opacity != 1.0:
        out["opacity"] = layer.opacity
    return out


class SceneSync:
    """Create, restyle and remove visuals for the layers of a session.

    Parameters
    ----------
    session : brainviz.model.Session
    figure : mayavi Scene
        The figure the visuals draw into.
    on_error : callable(exc, context), default=None
        Where errors of a single layer go (the window's error handler);
        a layer that cannot be drawn never stops the others.
    """

    def __init__(self, session, figure, on_error=None):
        self.session = session
        self.figure = figure
        self.on_error = on_error
        self.visuals = {}  # layer -> visual
        for method, expression in self._OBSERVED:
            session.observe(getattr(self, method), expression)
        for layer in session.layers:
            self._add(layer)

    _OBSERVED = (
        ("_layers_changed", "layers.items"),
        ("_display_changed",
         "layers:items:[visible,opacity,colormap,threshold,frame,edge_percentile,node_size,"
         "show_isosurface,show_colorbar]"),
        ("_data_changed", "layers:items:data_changed"),
    )

    def close(self):
        """Stop following the session (the visuals stay drawn)."""
        from traits.observation.exceptions import NotifierNotFound

        for method, expression in self._OBSERVED:
            try:
                self.session.observe(getattr(self, method), expression, remove=True)
            except NotifierNotFound:
                pass

    # --- observers ---------------------------------------------------------
    def _layers_changed(self, event):
        removed = getattr(event, "removed", []) or []
        added = getattr(event, "added", []) or []
        if not removed and not added and event.name == "layers":
            # the whole list was replaced
            removed = [lay for lay in self.visuals if lay not in self.session.layers]
            added = [lay for lay in self.session.layers if lay not in self.visuals]
        for layer in removed:
            self._remove(layer)
        for layer in added:
            self._add(layer)

    def _display_changed(self, event):
        layer = event.object
        try:
            self._restyle(layer, event.name)
        except Exception as exc:  # one layer never breaks the scene
            self._error(exc, f"Could not apply {event.name} to layer {layer.name!r}")

    def _data_changed(self, event):
        layer = event.object
        if layer in self.visuals:
            self._remove(layer)
            self._add(layer)

    def _error(self, exc, context):
        if self.on_error is not None:
            self.on_error(exc, context)
        else:
            raise exc

    # --- visuals -----------------------------------------------------------
    def _add(self, layer):
        if layer.data is None:
            return
        try:
            visual = self._make_visual(layer)
        except Exception as exc:
            self._error(exc, f"Could not draw layer {layer.name!r}")
            return
        self.visuals[layer] = visual
        if not layer.visible:
            set_trait_if_present(visual, ("visible",), False)

    def _remove(self, layer):
        visual = self.visuals.pop(layer, None)
        if visual is not None:
            try:
                visual.remove()
            except Exception as exc:
                log.warning("removing the visual of %s failed: %s", layer.name, exc)

    def _make_visual(self, layer):
        fig = self.figure
        kind = layer.kind
        make = _visual_factories()
        if kind == "anatomy":
            return make["anatomy"](layer.data, cursor=tuple(self.session.cursor), figure=fig,
                                   **_style(layer, "gray"))
        if kind == "statistical map":
            return make["stat_map"](layer.data, threshold=layer.threshold, figure=fig,
                                    show_isosurface=layer.show_isosurface,
                                    show_colorbar=layer.show_colorbar, colorbar_title=layer.name,
                                    **_style(layer, "cold_hot"))
        if kind == "4D series":
            img = _frame_image(layer.data, layer.frame)
            return make["anatomy"](img, cursor=tuple(self.session.cursor), figure=fig,
                                   **_style(layer, "gray"))
        if kind in ("label image", "components"):
            return make["regions"](layer.data, figure=fig)
        if kind == "mask":
            return make["stat_map"](layer.data, threshold=0.5, cmap=layer.colormap,
                                    opacity=layer.opacity, figure=fig)
        if isinstance(layer, ConnectomeLayer):
            data = layer.data
            threshold = layer.edge_percentile or layer.threshold
            return make["connectome"](data["matrix"], data["coords"], edge_threshold=threshold,
                                      node_size=layer.node_size, labels=data.get("labels"),
                                      networks=data.get("networks"), colormap=layer.colormap,
                                      figure=fig)
        raise ValueError(f"layer kind {kind!r} has no visual")

    def _restyle(self, layer, name):
        visual = self.visuals.get(layer)
        if visual is None:
            return
        if name == "frame":
            if layer.kind == "4D series":
                # a new frame is new data for the same slices
                img = _frame_image(layer.data, layer.frame)
                if set_trait_if_present(visual, ("img",), img) is None:
                    self._remove(layer)
                    self._add(layer)
            elif layer.kind == "components":
                # the layer counts components from 0 (-1: all); the visual's region 0 is all
                set_trait_if_present(visual, ("region",), layer.frame + 1)
            return
        aliases = _CONNECTOME_ALIASES if isinstance(layer, ConnectomeLayer) else _ALIASES
        if name == "edge_percentile":
            if layer.edge_percentile:
                set_trait_if_present(visual, aliases["threshold"], layer.edge_percentile)
            return
        if isinstance(layer, ConnectomeLayer) and name == "threshold":
            layer.edge_percentile = ""  # the slider now rules
        value = getattr(layer, name)
        if layer.kind == "mask" and name == "threshold":
            return
        set_trait_if_present(visual, aliases.get(name, (name,)), value)

    def value_readout(self, xyz_mm):
        """Return [(layer name, value or None)] at a world point, for the readout area."""
        out = []
        for layer, visual in self.visuals.items():
            if isinstance(layer, ConnectomeLayer):
                continue
            try:
                value = visual.value_at(np.asarray(xyz_mm, dtype=float))
                value = float(np.ravel(value)[0])
            except Exception:
                value = None
            out.append((layer.name, value))
        return out


class no_render:
    """Disable rendering of a figure for a block (one render at the end)."""

    def __init__(self, figure):
        self.scene = figure.scene

    def __enter__(self):
        self.old = self.scene.disable_render
        self.scene.disable_render = True

    def __exit__(self, *exc):
        self.scene.disable_render = self.old
        if not self.old:
            self.scene.render()
