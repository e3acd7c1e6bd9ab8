"""3D scenes: Mayavi/TVTK pipelines for brain volumes, maps, surfaces and graphs.

A :class:`brainviz.model.Session` is drawn by :func:`~brainviz.scene.binding.bind`
(or :func:`~brainviz.scene.binding.draw_session`): each layer class maps to a
visual class, and each visual says which of its attributes applies each display
trait of its layer. Every visual is a :class:`traits.api.HasTraits` object drawn
once into a Mayavi figure and restyled in place; everything is placed in world
millimetres (RAS+) from the image affine.

Public names are resolved lazily, so ``import brainviz.scene`` does not load
VTK until a visual is used.
"""
import lazy_loader as lazy

# sub-module -> the public names it defines
_SUBMOD_ATTRS = {
    "_figure": [
        "new_figure", "get_figure", "disable_render", "figure_visuals", "screenshot",
    ],
    "_base": [
        "Visual",
    ],
    "binding": [
        "bind", "binding_for", "draw_session", "visual_class_for", "SceneBinding",
    ],
    "volume": [
        "AnatomyVisual", "SeriesVisual",
    ],
    "statmap": [
        "StatMapVisual", "MaskVisual",
    ],
    "surface": [
        "SurfaceVisual",
    ],
    "glass": [
        "GlassBrainVisual",
    ],
    "regions": [
        "RegionsVisual",
    ],
    "connectome": [
        "ConnectomeVisual",
    ],
    "views": [
        "set_view", "reset_view", "VIEWS",
    ],
    "picking": [
        "PickInfo", "pick_at", "on_pick",
    ],
    "colors": [
        "get_lut",
    ],
    "export": [
        "savefig", "save_montage",
    ],
    "figures": [
        "compose_figure", "save_figure",
    ],
    "movies": [
        "save_movie",
    ],
}

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
