"""3D scenes: Mayavi/TVTK pipelines for brain volumes, maps, surfaces and graphs.

Every visual is a :class:`traits.api.HasTraits` object drawn once into a
Mayavi figure and restyled in place through its traits (threshold, colour
map, opacity, visibility, cursor). Everything is placed in world millimetres
(RAS+) from the image affine.

Public names are resolved lazily, so ``import brainviz.scene`` does not load
VTK until a visual is used.
"""
import importlib

# public name -> sub-module that defines it
_API = {
    # _figure.py
    "new_figure": "_figure",
    "get_figure": "_figure",
    "disable_render": "_figure",
    "figure_visuals": "_figure",
    "screenshot": "_figure",
    "Visual": "_figure",
    # volume.py
    "AnatomyVisual": "volume",
    # statmap.py
    "StatMapVisual": "statmap",
    # surface.py
    "SurfaceVisual": "surface",
    # glass.py
    "GlassBrainVisual": "glass",
    # regions.py
    "RegionsVisual": "regions",
    # connectome.py
    "ConnectomeVisual": "connectome",
    # views.py
    "set_view": "views",
    "reset_view": "views",
    "VIEWS": "views",
    # picking.py
    "PickInfo": "picking",
    "pick_at": "picking",
    "on_pick": "picking",
    # colors.py
    "get_lut": "colors",
    # export.py
    "savefig": "export",
    "save_montage": "export",
}

__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        module = importlib.import_module(f"{__name__}.{_API[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
