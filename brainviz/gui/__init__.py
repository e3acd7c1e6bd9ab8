"""The desktop window (TraitsUI + PyQt5 + Mayavi): the only package that imports Qt.

``create_window(files)`` makes and shows the main window (tests drive it);
``main(files)`` also runs the event loop (the ``brainviz`` command). Names
are resolved lazily so ``import brainviz.gui`` alone loads no Qt.

Modules: ``app`` (MainWindow, the controller), ``mainwindow`` (its Qt window:
docks, menus, shortcuts), ``viewer`` (3D scene, 2D views, cursor tools, readout),
``slice_drag`` (Ctrl + drag moves a 3D slice), ``launch`` (start-up), ``panels``
(layers, cache), ``jobs`` (job forms and list), ``workers`` (job thread -> GUI
thread), ``dialogs`` (the one error handler, export options), ``console``
(IPython), ``timecourse``, ``undo``, ``_vtk_offscreen`` (VTK under Qt's offscreen
platform). The window draws its
session through :mod:`brainviz.scene.binding` and opens files through
:mod:`brainviz.session`, as ``brainviz render`` and ``brainviz.mlab`` do.
"""
import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__, submod_attrs={"app": ["MainWindow"], "launch": ["create_window", "main"]})
