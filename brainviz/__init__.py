"""brainviz: brain mining with interactive 3D.

Open brain images, ask machine-learning questions of them (decoding, region
learning, connectivity) and look at the answers in interactive 3D.

Importing ``brainviz`` is cheap: the sub-packages (``data``, ``backend``,
``scene``, ``mlab``, ``gui``, ``cli``) are imported on first attribute access,
so no VTK, Qt or scikit-learn is loaded until it is needed.
"""
import importlib

from ._version import __version__

_SUBMODULES = (
    "data", "backend", "model", "scene", "mlab", "gui", "cli", "exceptions",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
