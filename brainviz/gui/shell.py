"""The Python shell docked in the window, with the open scene preloaded.

Names bound in the shell:

``bv``
    :mod:`brainviz.mlab`, the scripting API: ``bv.stat_map(img, figure=fig)`` adds a layer
    to the window's session (it shows in the layers panel and in saved sessions).
``mlab``
    :mod:`mayavi.mlab`, for anything brainviz.mlab does not wrap.
``fig``
    The window's Mayavi figure (pass it as ``figure=``).
``session``
    The :class:`~brainviz.model.Session`: ``session.layers[0].opacity = 0.5``.
``window``
    The :class:`~brainviz.gui.app.MainWindow`: ``window.open_files([...])``.
"""
from traits.api import Any, Dict, HasTraits
from traitsui.api import Item, ShellEditor, View

__all__ = ["ShellPanel", "shell_namespace"]

BANNER = ("brainviz shell: bv = brainviz.mlab, mlab = mayavi.mlab, fig = the scene, "
          "session = layers and jobs, window = the window")


def shell_namespace(window):
    """Return the names preloaded in the shell for ``window``."""
    from mayavi import mlab

    from .. import mlab as bv

    return {
        "bv": bv,
        "mlab": mlab,
        "fig": window.figure,
        "session": window.session,
        "window": window,
        "np": __import__("numpy"),
    }


def _shell_editor_factory():
    # TraitsUI's shell editor, remembering itself on the panel so code (and tests)
    # can run lines in the very shell the user sees
    from traitsui.qt.shell_editor import _ShellEditor

    class _PanelShellEditor(_ShellEditor):
        def init(self, parent):
            super().init(parent)
            self.object._editor = self

    class _PanelShellEditorFactory(ShellEditor):
        def _get_simple_editor_class(self):
            return _PanelShellEditor

        def _get_custom_editor_class(self):
            return _PanelShellEditor

    return _PanelShellEditorFactory(share=True)


class ShellPanel(HasTraits):
    """A PythonShell (through TraitsUI's ShellEditor) sharing :attr:`namespace`."""

    namespace = Dict()
    window = Any()

    _editor = Any()

    def execute(self, command):
        """Run ``command`` in the shell as if typed (shown in the shell); return the namespace."""
        editor = self.find_editor()
        if editor is None:
            exec(command, self.namespace)  # noqa: S102 - this *is* the user's shell
            return self.namespace
        editor._shell.execute_command(command, hidden=False)
        return editor._shell.interpreter().locals

    def find_editor(self):
        return getattr(self, "_editor", None)

    def traits_view(self):
        return View(Item("namespace", editor=_shell_editor_factory(), show_label=False))
