"""Dialogs: the single error handler, the export dialog, file choosers.

Every error the window meets (a corrupt file, a failed job, a bad parameter,
an exception in a trait handler) goes through :class:`ErrorReporter.report`,
which logs it and shows one non-blocking message box; the window keeps
working.
"""
import logging
import traceback as tb_module
from pathlib import Path

from pyface.qt import QtCore, QtGui
from traits.api import (
    Bool, Enum, File, Float, HasTraits, Int, List, Str, observe,
)
from traitsui.api import (
    CheckListEditor, Group, Handler, HGroup, Item, OKCancelButtons, VGroup, View,
)

from ..exceptions import BrainvizError

__all__ = ["ErrorReporter", "ExportOptions", "VIEW_NAMES", "ask_open_files", "ask_save_file"]

log = logging.getLogger("brainviz.gui")

VIEW_NAMES = ["left", "right", "anterior", "posterior", "superior", "inferior",
              "medial-left", "medial-right"]


class ErrorReporter:
    """The one place errors become dialogs.

    Parameters
    ----------
    parent : callable returning a QWidget or None
        The window the message boxes belong to.
    show : bool, default=True
        Show a message box (tests read :attr:`errors` and close :attr:`dialogs`).
    """

    def __init__(self, parent=lambda: None, show=True):
        self._parent = parent
        self.show = show
        #: (title, message, traceback) of every error reported.
        self.errors = []
        #: Message boxes still open.
        self.dialogs = []

    def message_for(self, exc, context=""):
        if isinstance(exc, BrainvizError) or isinstance(exc, (OSError, ValueError)):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc}"
        return f"{context}:\n{text}" if context else text

    def report(self, exc, context="", traceback=None):
        """Log ``exc`` and show it in a message box; never raises."""
        try:
            if traceback is None and exc.__traceback__ is not None:
                traceback = "".join(tb_module.format_exception(type(exc), exc, exc.__traceback__))
            message = self.message_for(exc, context)
            log.error("%s\n%s", message, traceback or "")
            self.errors.append((context or type(exc).__name__, message, traceback or ""))
            if self.show:
                self._show(message, traceback)
        except Exception:  # the error handler must never be the next error
            log.exception("error while reporting an error")

    def _show(self, message, traceback):
        box = QtGui.QMessageBox(self._parent())
        box.setIcon(QtGui.QMessageBox.Critical)
        box.setWindowTitle("brainviz: error")
        box.setText(message)
        if traceback:
            box.setDetailedText(traceback)
        box.setStandardButtons(QtGui.QMessageBox.Ok)
        box.setAttribute(QtCore.Qt.WA_DeleteOnClose, False)
        box.finished.connect(lambda *_: self._closed(box))
        self.dialogs.append(box)
        box.open()  # window-modal but non-blocking: no nested event loop

    def _closed(self, box):
        if box in self.dialogs:
            self.dialogs.remove(box)

    def close_all(self):
        for box in list(self.dialogs):
            box.done(0)
        self.dialogs.clear()

    def observe_handler(self, event):
        """Use as the exception handler of traits' observe notifications."""
        import sys

        exc = sys.exc_info()[1]
        if exc is not None:
            name = getattr(event, "name", "a trait")
            self.report(exc, f"While updating {name} on {type(getattr(event, 'object', None)).__name__}")

    def install(self):
        """Route exceptions raised in trait handlers (both styles) here."""
        from traits.api import push_exception_handler
        from traits.observation.api import push_exception_handler as push_observe_handler

        push_exception_handler(self.trait_handler, reraise_exceptions=False)
        push_observe_handler(self.observe_handler, reraise_exceptions=False)

    def uninstall(self):
        from traits.api import pop_exception_handler
        from traits.observation.api import pop_exception_handler as pop_observe_handler

        for pop in (pop_exception_handler, pop_observe_handler):
            try:
                pop()
            except Exception:
                pass

    def trait_handler(self, obj, trait_name, old, new):
        """Use as traits' notification exception handler."""
        import sys

        exc = sys.exc_info()[1]
        if exc is not None:
            self.report(exc, f"While setting {trait_name} on {type(obj).__name__}")


class _ExportHandler(Handler):
    """OK with options that cannot be used keeps the dialog open, its message saying why."""

    def close(self, info, is_ok):
        if is_ok:
            problem = info.object.problem()
            if problem:
                info.object.message = problem
                return False
        return True


class ExportOptions(HasTraits):
    """Options of the export dialog: those of ``savefig`` and ``save_montage``."""

    path = File("figure.png", dialog_style="save")
    mode = Enum("figure", "montage", "movie")
    #: Size in pixels (used when ``use_mm`` is off). A figure of 0 x 0 has the 3D view's
    #: shape, at least ``brainviz render``'s default width (800 px: the view itself is a few
    #: hundred pixels wide), and is what ``brainviz render --size WxH`` writes for that
    #: size; a montage of height 0 takes its height from the layout (width 0: 1200 px).
    width = Int(0)
    height = Int(0)
    #: What 0 x 0 gives now (the dialog says it)
    auto_size = Str()
    use_mm = Bool(False)
    width_mm = Float(180.0)
    dpi = Int(300)
    transparent = Bool(False)
    views = List(Str, ["left", "right", "superior"])
    ncols = Int(0)
    title = Str()
    panel_labels = Bool(True)
    #: A montage's shared colour bar (of a statistical map, else of a connectome),
    #: as ``brainviz render`` draws unless given ``--no-colorbar``.
    colorbar = Bool(True)
    # issue 12: dark figures, and movies (a turn, or the frames of a 4D image) as MP4/GIF
    dark = Bool(False)
    movie = Enum("rotate", "frames")
    n_frames = Int(36)
    fps = Int(12)
    message = Str()

    traits_view = View(
        VGroup(
            Item("path", label="File"),
            Item("mode", style="custom"),
            Group(
                Item("use_mm", label="Size by width in mm + DPI"),
                HGroup(Item("width", enabled_when="not use_mm"),
                       Item("height", enabled_when="not use_mm")),
                Item("auto_size", style="readonly", show_label=False,
                     visible_when="auto_size and not use_mm and width == 0 and height == 0 "
                                  "and mode != 'montage'"),
                HGroup(Item("width_mm", label="Width (mm)", enabled_when="use_mm"), Item("dpi", label="DPI")),
                HGroup(Item("transparent"), Item("dark", label="Dark background")),
                label="Size",
                show_border=True,
            ),
            Group(
                Item("views", editor=CheckListEditor(values=VIEW_NAMES, cols=4), style="custom"),
                HGroup(Item("ncols", label="Columns (0 = auto)"), Item("title")),
                HGroup(Item("panel_labels"), Item("colorbar", label="Colour bar")),
                label="Montage",
                show_border=True,
                enabled_when="mode == 'montage'",
            ),
            Group(
                HGroup(Item("movie", label="Movie"), Item("n_frames", label="Frames (turn)"),
                       Item("fps", label="Frames/s")),
                label="Movie (.mp4 or .gif)",
                show_border=True,
                enabled_when="mode == 'movie'",
            ),
            Item("message", style="readonly", show_label=False, visible_when="message", resizable=True),
        ),
        title="Export figure",
        buttons=OKCancelButtons,
        handler=_ExportHandler(),
        resizable=True,
    )

    @observe("width, height, width_mm, dpi, views, mode, use_mm, path, transparent, n_frames, fps")
    def _validate(self, event=None):
        self.message = self.problem() or ""

    def problem(self):
        """Return why the options cannot be used, or None."""
        if self.use_mm:
            if self.width_mm <= 0 or self.dpi <= 0:
                return "The width in mm and the DPI must be positive."
        elif self.width < 0 or self.height < 0:
            return "Width and height cannot be negative."
        elif self.mode == "figure" and (self.width == 0) != (self.height == 0):
            return "Width and height must both be positive (or both 0 for the scene's size)."
        elif self.mode == "montage" and self.width == 0 and self.height > 0:
            return "Give the montage's width (its height may be 0: it then follows the layout)."
        if self.mode == "montage" and not self.views:
            return "Choose at least one view for a montage."
        if not str(self.path).strip():
            return "Choose a file to write."
        from ..exceptions import ExportError
        from ..scene._writers import check_output_path

        try:  # the format table says what each file type holds (alpha, montage)
            if self.mode == "movie":
                from ..scene.movies import check_movie_path

                if self.transparent:
                    return "A movie cannot have a transparent background."
                if self.n_frames < 2 or self.fps < 1:
                    return "A movie needs at least 2 frames and 1 frame per second."
                check_movie_path(Path(self.path).expanduser())
            else:
                check_output_path(Path(self.path).expanduser(), transparent=self.transparent,
                                  montage=self.mode == "montage")
        except ExportError as exc:
            return str(exc)
        return None

    def size_kwargs(self):
        if self.use_mm:
            return {"width_mm": self.width_mm, "dpi": self.dpi}
        if self.mode == "montage":
            # as `brainviz render`: 1200 px wide by default, the height from the layout
            from ..scene._montage import DEFAULT_MONTAGE_WIDTH

            return {"size": (self.width or DEFAULT_MONTAGE_WIDTH, self.height or None)}
        kwargs = {}
        if self.width and self.height:
            kwargs["size"] = (self.width, self.height)
        return kwargs

    def figure_size(self, figure):
        """(width, height) in pixels of a figure or movie without a size in mm: the one
        given, else the 3D view's shape at least ``brainviz render``'s default width."""
        if self.width and self.height:
            return (int(self.width), int(self.height))
        from ..scene._montage import DEFAULT_FIGURE_SIZE

        w, h = (max(int(v), 1) for v in figure.scene.render_window.size)
        scale = max(1.0, DEFAULT_FIGURE_SIZE[0] / w)
        return (int(round(w * scale)), int(round(h * scale)))

    def note_auto_size(self, figure):
        """Say in the dialog what a size of 0 x 0 gives for ``figure`` now."""
        w, h = self.figure_size(figure) if not (self.width and self.height) else (0, 0)
        self.auto_size = f"0 x 0: {w} x {h} px, the 3D view's shape" if w else ""

    def export(self, figure, colorbar=None):
        """Write the figure with the export code (what ``brainviz render`` uses); return the Path."""
        from ..exceptions import ParameterError
        from ..scene import export

        problem = self.problem()
        if problem:
            raise ParameterError(f"Export options: {problem}")
        path = Path(self.path).expanduser()
        # issue 12: the figure brainviz render writes (autocrop, colour bars, labels, legends)
        from ..scene.figures import save_figure

        bar = "auto" if self.colorbar else None
        size = self.size_kwargs()
        if self.mode != "montage" and "size" not in size and "width_mm" not in size:
            size["size"] = self.figure_size(figure)
        if self.mode == "figure":
            return Path(save_figure(path, figure, views=None, transparent=self.transparent,
                                    dark=self.dark, colorbar=bar, **size))
        if self.mode == "movie":
            from ..scene.movies import save_movie

            return Path(save_movie(path, figure, kind=self.movie, n_frames=self.n_frames,
                                   fps=self.fps, dark=self.dark, colorbar=bar, **size))
        return Path(export.save_montage(
            path, figure=figure, views=tuple(self.views), ncols=self.ncols or None,
            transparent=self.transparent, colorbar=bar, dark=self.dark,
            title=self.title or None,
            panel_labels=self.panel_labels, **size))


_IMAGE_FILTER = ("Brain images and surfaces (*.nii *.nii.gz *.hdr *.img *.mgh *.mgz *.gii *.gii.gz "
                 "*.pial *.white *.inflated *.sphere *.sulc *.curv *.thickness);;All files (*)")


def ask_open_files(parent=None, directory=""):
    """Ask for brain image files; return a list of paths (empty when cancelled)."""
    paths, _ = QtGui.QFileDialog.getOpenFileNames(parent, "Open brain images", directory, _IMAGE_FILTER)
    return list(paths)


def ask_open_session(parent=None):
    path, _ = QtGui.QFileDialog.getOpenFileName(parent, "Open session", "", "Sessions (*.json)")
    return path or None


def ask_save_file(parent=None, title="Save", filter="Sessions (*.json)", default=""):
    path, _ = QtGui.QFileDialog.getSaveFileName(parent, title, default, filter)
    return path or None


_CONFOUNDS_FILTER = ("Confounds (*.tsv *.csv *.txt *.1D *.npy);;"
                     "fMRIPrep confounds (*_desc-confounds_timeseries.tsv);;All files (*)")


def ask_confounds_files(parent=None, directory=""):
    """Ask for confounds tables, one per run or subject; return a list of paths (empty when
    cancelled)."""
    paths, _ = QtGui.QFileDialog.getOpenFileNames(
        parent, "Confounds: one table per run or subject, in order", directory, _CONFOUNDS_FILTER)
    return list(paths)


_EVENTS_FILTER = "BIDS events (*_events.tsv *.tsv);;All files (*)"


def ask_events_files(parent=None, directory=""):
    """Ask for BIDS events.tsv files, one per run; return a list of paths (empty when
    cancelled)."""
    paths, _ = QtGui.QFileDialog.getOpenFileNames(
        parent, "Events: one events.tsv per run, in order", directory, _EVENTS_FILTER)
    return list(paths)
