"""Make the embedded VTK widget render under Qt's ``offscreen`` platform.

Under ``QT_QPA_PLATFORM=offscreen`` Qt hands out window ids that no X server
knows. TVTK's ``QVTKRenderWindowInteractor`` passes that id to its render
window (``SetWindowInfo``), and VTK then draws into nothing: the scene reads
back as black or garbage. The fix is a render window that ignores the id and
renders offscreen (VTK picks EGL on Mesa), given to the interactor through its
documented ``rw=`` keyword. Pixels are then read back from the render window
(``mlab.screenshot`` / ``vtkWindowToImageFilter``); ``QWidget.grab()`` cannot
see a GL area.

The patch is applied only when the platform is offscreen, once, before the
first scene widget is made; a real X display is left alone.
"""
import os

__all__ = ["is_offscreen_platform", "install"]

_INSTALLED = []


def is_offscreen_platform():
    """True when Qt runs (or will run) on its ``offscreen``/``minimal`` platform."""
    try:
        from pyface.qt import QtGui

        app = QtGui.QGuiApplication.instance()
        if app is not None:
            return app.platformName() in ("offscreen", "minimal")
    except Exception:  # Qt not importable: nothing to patch anyway
        return False
    return os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal")


def _offscreen_render_window_class():
    import vtk

    class OffscreenRenderWindow(vtk.vtkRenderWindow):
        """A render window that ignores the (fake) native window id Qt gives it."""

        def SetWindowInfo(self, info):  # noqa: N802 (VTK naming)
            pass

    return OffscreenRenderWindow


def install():
    """Patch TVTK's Qt scene widget to render offscreen if the platform is offscreen.

    Returns True when the patch is (already) in place.
    """
    if _INSTALLED:
        return True
    if not is_offscreen_platform():
        return False
    from tvtk.pyface.ui.qt4 import scene as qt_scene

    window_class = _offscreen_render_window_class()
    base = qt_scene._VTKRenderWindowInteractor

    class OffscreenVTKInteractor(base):
        """TVTK's interactor widget, given an offscreen render window."""

        def __init__(self, scene, parent, **kwargs):
            if kwargs.get("rw") is None:
                render_window = window_class()
                render_window.SetOffScreenRendering(1)
                kwargs["rw"] = render_window
            super().__init__(scene, parent, **kwargs)
            # the generic interactor only renders once enabled; an offscreen
            # widget never gets the native show that enables it
            self._Iren.Initialize()

    qt_scene._VTKRenderWindowInteractor = OffscreenVTKInteractor
    _INSTALLED.append(OffscreenVTKInteractor)
    return True


def render_and_grab(figure):
    """Render ``figure`` now and return its pixels as an (h, w, 3) uint8 array."""
    from mayavi import mlab

    figure.scene.render_window.render()
    return mlab.screenshot(figure)
