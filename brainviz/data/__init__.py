"""Data layer: volumes, surfaces, atlases, templates and demo datasets.

Imports numpy, nibabel, nilearn only (never Enthought, VTK or Qt), so that it
runs on a cluster node without a display. Public names are resolved lazily so
that ``import brainviz.data`` stays cheap.
"""
import lazy_loader as lazy

# sub-module -> the public names it defines
_SUBMOD_ATTRS = {
    "volumes": [
        "Volume", "load_volume", "check_mask", "require_3d", "require_4d", "ValueRange",
    ],
    "surfaces": [
        "Surface", "load_surface", "load_surface_data",
    ],
    "atlases": [
        "CoordinateAtlas", "load_coordinate_atlas", "LabelImage", "load_label_image",
        "region_centroids", "read_label_table",
    ],
    "templates": [
        "load_template", "load_brain_mask", "load_fsaverage5", "load_power_2011",
        "load_dosenbach_2010", "load_seitzman_2018", "load_motor_activation",
        "fsaverage5_surfaces", "project_to_surface",
    ],
    "graphs": [
        "load_matrix", "load_coords", "COORDINATE_ATLASES",
    ],
    "synthetic": [
        "make_decoding_demo", "make_resting_state_demo", "DecodingDemo", "RestingStateDemo",
    ],
}

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
