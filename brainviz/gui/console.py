"""The IPython console docked in the window, on the window's own session and figure.

qtconsole's RichJupyterWidget on an in-process IPython kernel (the way
napari-console and Spyder embed one): magics (``%timeit``), help (``np?``) and
shell escapes (``!ls``) work, and the names below are preloaded and listed in
the banner:

``bv``
    :mod:`brainviz.mlab`: ``bv.stat_map(img, figure=fig)`` adds a layer to the window's
    session (it shows in the layers panel, in saved sessions and in exports).
``fig``
    The window's 3D figure.
``session``
    The :class:`~brainviz.model.Session`: ``session.layers[0].opacity = 0.5``.
``window``
    The :class:`~brainviz.gui.app.MainWindow`: ``window.open_files([...])``.
``mlab``, ``np``
    :mod:`mayavi.mlab` and numpy.
"""
import os

__all__ = ["ConsolePanel", "console_namespace", "BANNER"]

BANNER = ("brainviz console (IPython): bv = brainviz.mlab, fig = the 3D scene, session = layers, "
          "cursor and camera, window = the window, mlab = mayavi.mlab, np = numpy.\n"
          "Try: bv.stat_map('zmap.nii.gz', threshold=3, figure=fig)   %time 1+1   np.mean?\n")


def console_namespace(window):
    """The names preloaded in the console for ``window``."""
    import numpy as np
    from mayavi import mlab

    from .. import mlab as bv

    return {"bv": bv, "mlab": mlab, "np": np, "fig": window.figure,
            "session": window.session, "window": window}


class ConsolePanel:
    """An IPython console widget (made on first use) sharing :attr:`namespace`."""

    def __init__(self, window):
        self.window = window
        self.widget = None
        self._kernel_manager = None

    @property
    def namespace(self):
        if self._kernel_manager is None:
            return {}
        return self._kernel_manager.kernel.shell.user_ns

    def make_widget(self, parent=None):
        """The console widget (an in-process kernel started once)."""
        if self.widget is not None:
            return self.widget
        # ipykernel's debugger warns about frozen modules on every start: not for users
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        from qtconsole.inprocess import QtInProcessKernelManager
        from qtconsole.rich_jupyter_widget import RichJupyterWidget

        manager = QtInProcessKernelManager()
        manager.start_kernel(show_banner=False)
        manager.kernel.gui = "qt"
        client = manager.client()
        client.start_channels()
        widget = RichJupyterWidget(parent)
        widget.banner = BANNER
        widget.kernel_manager = manager
        widget.kernel_client = client
        self._kernel_manager = manager
        self.widget = widget
        self.update_namespace()
        return widget

    def update_namespace(self):
        """(Re)bind the preloaded names (the figure exists once the scene is shown)."""
        if self._kernel_manager is not None:
            self._kernel_manager.kernel.shell.push(console_namespace(self.window))

    def execute(self, command):
        """Run ``command`` in the console as if typed (shown there); return the namespace."""
        if self.widget is None:
            self.make_widget()
        self.widget.execute(command, hidden=False)
        return self.namespace

    def find_editor(self):
        return self.widget

    def text(self):
        """Everything the console shows (tests and the log read it)."""
        return self.widget._control.toPlainText() if self.widget is not None else ""

    def shutdown(self):
        if self._kernel_manager is not None:
            try:
                self.widget.kernel_client.stop_channels()
                self._kernel_manager.shutdown_kernel()
            except Exception:  # noqa: BLE001 - closing the window must not fail here
                pass
            self._kernel_manager = None
