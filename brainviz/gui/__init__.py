"""The desktop window (TraitsUI + PyQt5 + Mayavi): the only package that imports Qt.

``create_window(files)`` makes and shows the main window (tests drive it);
``main(files)`` also runs the event loop (the ``brainviz`` command). Names
are resolved lazily so ``import brainviz.gui`` alone loads no Qt.

Modules: ``app`` (MainWindow), ``launch`` (start-up), ``panels`` (layers,
cache), ``jobs`` (job forms and list), ``workers`` (job thread -> GUI thread),
``dialogs`` (the one error handler, export options), ``shell``, ``menus``,
``session`` (open files, demo, session JSON; no Qt), ``_display`` (layers ->
scene visuals; no Qt), ``_vtk_offscreen`` (VTK under Qt's offscreen platform).
"""
import importlib

_API = {"MainWindow": "app", "create_window": "launch", "main": "launch"}

__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
