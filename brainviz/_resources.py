"""Access to the runtime assets installed as ``brainviz.resources``.

Uses :mod:`importlib.resources`, so the assets are found after a regular
wheel install as well as from the source tree. No VTK or Qt here: colour
tables are returned as numpy arrays.
"""
import functools
from importlib import resources

import numpy as np

__all__ = ["resource_path", "read_colormap", "icon_path", "list_resources"]

_PACKAGE = "brainviz.resources"


def _root():
    return resources.files(_PACKAGE)


def list_resources():
    """Return the names of the shipped asset files."""
    return sorted(p.name for p in _root().iterdir() if p.is_file() and not p.name.endswith(".py"))


def resource_path(name):
    """Return a :class:`importlib.resources.abc.Traversable` for asset ``name``.

    Raises
    ------
    FileNotFoundError
        If no such asset is shipped (the message lists those that are).
    """
    path = _root().joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"brainviz resource {name!r} not found; shipped: {', '.join(list_resources())}"
        )
    return path


def icon_path():
    """Return the path (str) of the application icon PNG."""
    with resources.as_file(resource_path("brainviz.png")) as path:
        return str(path)


def read_colormap(name):
    """Return the colour table ``name`` (``"cold_hot"``, ``"regions"``) as an (n, 3) float array in [0, 1]."""
    return _parsed_colormap(name).copy()  # the caller's own copy: the kept table stays as read


@functools.lru_cache(maxsize=None)
def _parsed_colormap(name):
    """The table, parsed once per process: every map drawn asked for it again (45 ms each)."""
    text = resource_path(f"{name}.csv").read_text()
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    table = np.array([[float(v) for v in row.split(",")] for row in rows])
    if table.ndim != 2 or table.shape[1] != 3 or not np.all((table >= 0) & (table <= 1)):
        raise ValueError(f"colour table {name!r} is malformed: expected rows of r,g,b in [0, 1]")
    return table
