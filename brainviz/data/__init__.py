"""Data layer: volumes, surfaces, atlases, templates and demo datasets.

Imports numpy, nibabel, nilearn only (never Enthought, VTK or Qt), so that it
runs on a cluster node without a display. Public names are resolved lazily so
that ``import brainviz.data`` stays cheap.
"""
import importlib

# public name -> sub-module that defines it
_API = {
    # volumes.py
    "Volume": "volumes",
    "load_volume": "volumes",
    "check_mask": "volumes",
    "require_3d": "volumes",
    "require_4d": "volumes",
    "ValueRange": "volumes",
    # surfaces.py
    "Surface": "surfaces",
    "load_surface": "surfaces",
    "load_surface_data": "surfaces",
    # atlases.py
    "CoordinateAtlas": "atlases",
    "load_coordinate_atlas": "atlases",
    "LabelImage": "atlases",
    "load_label_image": "atlases",
    "region_centroids": "atlases",
    "read_label_table": "atlases",
    # templates.py
    "load_template": "templates",
    "load_brain_mask": "templates",
    "load_fsaverage5": "templates",
    "load_power_2011": "templates",
    "load_dosenbach_2010": "templates",
    "load_motor_activation": "templates",
    # synthetic.py
    "make_decoding_demo": "synthetic",
    "make_resting_state_demo": "synthetic",
    "DecodingDemo": "synthetic",
    "RestingStateDemo": "synthetic",
}

__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        module = importlib.import_module(f"{__name__}.{_API[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
