"""Runtime assets of brainviz (icon, colour-map tables, desktop entry).

Installed as the package ``brainviz.resources``; read them through
:mod:`brainviz._resources`, which uses :mod:`importlib.resources` and so works
from a wheel install, not only from the source tree.
"""
