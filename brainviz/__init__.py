"""brainviz: brain mining with interactive 3D.

Open brain images, ask machine-learning questions of them (decoding, region
learning, connectivity) and look at the answers in interactive 3D.

Importing ``brainviz`` is cheap: the sub-packages (``data``, ``backend``,
``scene``, ``mlab``, ``gui``, ``cli``) are imported on first attribute access,
so no VTK, Qt or scikit-learn is loaded until it is needed.
"""
import warnings

import lazy_loader as lazy

from ._version import __version__

# traits (under Mayavi and the window) warns 'Environment variable "HOME" not
# set' whenever HOME is /root, which it treats as no home, then keeps its
# preferences in a temporary folder: nothing a user can act on, printed on every run.
warnings.filterwarnings("ignore", message='Environment variable "HOME" not set',
                        category=UserWarning, module=r"traits\.etsconfig")

_SUBMODULES = [
    "data", "backend", "model", "scene", "mlab", "gui", "cli", "exceptions",
]

__getattr__, __dir__, _ = lazy.attach(__name__, submodules=_SUBMODULES)
__all__ = ["__version__", *_SUBMODULES]
