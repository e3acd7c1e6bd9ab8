"""Result views: matplotlib figures of what a job found (scikit-learn's Display pattern).

A display is made from a result once (:meth:`from_result`: only numbers are
kept, nothing is recomputed); :meth:`plot` draws it into a matplotlib Axes
(a new figure when none is given) and keeps handles to what it drew
(``figure_``, ``ax_``, the artists), so it can be restyled or redrawn without
the job. The job results have ``result.plot()`` for the usual view, and
:func:`save_result_figures` writes ``scores.png`` / ``confusion.png``
(decoding), ``matrix.png`` (connectivity) and ``regions.png`` (regions), each
also as SVG with its text kept as text, into a result folder.

- :class:`ScoresDisplay`: per-fold scores, their mean, the chance level and,
  when a permutation test was run, the null distribution and p-value.
- :class:`ConfusionDisplay`: the confusion matrix with class names and counts (or
  each class's share, scikit-learn's ``normalize``).
- :class:`MatrixDisplay`: a connectivity matrix as a heat map with node
  labels, ordered and delimited by network when networks are known, with a
  colour bar; :meth:`MatrixDisplay.cell_at` maps a click to a node pair.
- :class:`RegionsDisplay`: one small glass-brain thumbnail (maximum intensity
  projections from the side and from above) per region, with its name.

No pyplot is needed: figures are plain :class:`matplotlib.figure.Figure`
objects with an Agg canvas, so the window and job threads can draw them; they
show in a notebook as they are.
"""
from pathlib import Path

import numpy as np

__all__ = [
    "ScoresDisplay",
    "ConfusionDisplay",
    "MatrixDisplay",
    "RegionsDisplay",
    "SearchlightDisplay",
    "save_result_figures",
    "result_headline",
    "pick_font",
    "text_color_for",
    "FIGURE_FILES",
]

#: Result kind -> the figures :func:`save_result_figures` writes (file stem -> what it shows).
FIGURE_FILES = {
    "decoding": {"scores": "fold scores, mean and chance", "confusion": "confusion matrix"},
    "connectivity": {"matrix": "connectivity matrix"},
    "regions": {"regions": "regions with thumbnails"},
    "searchlight": {"searchlight": "spheres' scores, best and chance"},
}

# Fonts tried in order when none is asked for: Arial/Helvetica and their metric twins.
_SANS = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "Nimbus Sans L", "TeX Gyre Heros",
         "DejaVu Sans")


def pick_font(name=None):
    """The font family figures use: ``name`` when installed, else the first installed of
    Arial, Helvetica and their metric twins (Liberation Sans, Nimbus Sans), else DejaVu Sans
    (shipped with matplotlib).

    Parameters
    ----------
    name : str, default=None

    Returns
    -------
    family : str

    Raises
    ------
    ParameterError
        ``name`` is given but not installed (the message names what is).
    """
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if name:
        if name in installed:
            return name
        from ..exceptions import ParameterError

        near = [f for f in _SANS if f in installed]
        raise ParameterError(f"The font {name!r} is not installed; installed sans-serif fonts "
                             f"include {', '.join(near) or 'DejaVu Sans'}.")
    for family in _SANS:
        if family in installed:
            return family
    return "DejaVu Sans"


def text_color_for(background):
    """Black or white, whichever reads better on ``background`` (an RGB in [0, 1])."""
    r, g, b = (float(c) for c in tuple(background)[:3])
    return (0.0, 0.0, 0.0) if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else (1.0, 1.0, 1.0)


def _luminance(rgb):
    """WCAG relative luminance of an RGB in [0, 1]."""
    c = np.asarray(rgb, dtype=float)[:3]
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast_ratio(a, b):
    """WCAG contrast ratio (1 to 21) of two RGB colours in [0, 1]."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_color(color, background=(1.0, 1.0, 1.0), ratio=3.0):
    """``color`` (RGB in [0, 1]) as text on ``background``: itself when it reads (WCAG
    contrast ``ratio``, 3 for large or bold text), else the nearest shade of it towards
    black (on a light background) or white (on a dark one) that does: a pale region
    colour keeps its hue and can be read."""
    color = np.asarray(color, dtype=float)[:3]
    target = np.zeros(3) if _luminance(background) > 0.18 else np.ones(3)
    for t in np.linspace(0.0, 1.0, 21):
        shade = (1 - t) * color + t * target
        if contrast_ratio(shade, background) >= ratio:
            return tuple(float(v) for v in shade)
    return tuple(float(v) for v in target)


def _rc(font=None, dark=False):
    """matplotlib settings of every brainviz figure: the font, text colour, SVG text as text."""
    ink = "white" if dark else "black"
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [pick_font(font), "DejaVu Sans"],
        "font.size": 9.0,
        "svg.fonttype": "none",      # text stays text in SVG (searchable, editable)
        "pdf.fonttype": 42,          # TrueType in PDF, editable in Illustrator
        "text.color": ink, "axes.labelcolor": ink, "axes.edgecolor": ink,
        "xtick.color": ink, "ytick.color": ink, "axes.titlecolor": ink,
        "figure.facecolor": "black" if dark else "white",
        "axes.facecolor": "black" if dark else "white",
        "savefig.facecolor": "auto",
    }


def _new_axes(ax, figsize, font=None, dark=False):
    """``ax`` itself, or the axes of a new figure (no pyplot: an Agg canvas)."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc(font, dark)):
        figure = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(figure)
        return figure, figure.add_subplot()


class _Display:
    """Base of the displays: keeps the figure and saves it."""

    figure_ = None
    ax_ = None
    font = None
    dark = False

    def _style(self):
        import matplotlib

        return matplotlib.rc_context(_rc(self.font, self.dark))

    def savefig(self, path, dpi=150, transparent=False):
        """Write the drawn figure (``plot`` first) to ``path`` (PNG, SVG, PDF...) atomically.

        Returns
        -------
        pathlib.Path
        """
        if self.figure_ is None:
            self.plot()
        from .._files import write_atomic

        path = Path(path)

        def write(tmp):
            with self._style():
                self.figure_.savefig(tmp, dpi=dpi, transparent=transparent,
                                     format=path.suffix.lstrip(".").lower() or "png")

        return write_atomic(path, write)

    def _repr_png_(self):  # notebooks show the display itself
        import io

        if self.figure_ is None:
            self.plot()
        buf = io.BytesIO()
        self.figure_.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def _fmt(value):
    return f"{value:.3f}"


class ScoresDisplay(_Display):
    """Cross-validation scores against chance (and the permutation null when it was run).

    Parameters
    ----------
    scores : array-like of shape (n_folds,)
    chance_level : float
    scoring : str, default="accuracy"
    permutation_scores : array-like or None, default=None
    pvalue : float or None, default=None
    title : str, default=""
    font : str, default=None
        Font family (see ``pick_font``).
    dark : bool, default=False
        White text on black.

    Attributes
    ----------
    mean_score : float
    figure_, ax_ : matplotlib Figure and Axes (after :meth:`plot`)
    folds_ : the fold markers (a Line2D)
    mean_line_, chance_line_ : Line2D
    mean_text_, chance_text_ : Text (the numbers as printed)
    null_ax_ : Axes of the permutation null (None without a permutation test)
    pvalue_text_ : Text or None
    """

    def __init__(self, scores, chance_level, scoring="accuracy", permutation_scores=None,
                 pvalue=None, title="", font=None, dark=False):
        self.scores = np.asarray(scores, dtype=float).ravel()
        self.mean_score = float(np.mean(self.scores)) if self.scores.size else float("nan")
        self.chance_level = float(chance_level)
        self.scoring = str(scoring)
        self.permutation_scores = None if permutation_scores is None else \
            np.asarray(permutation_scores, dtype=float).ravel()
        self.pvalue = None if pvalue is None else float(pvalue)
        self.title = str(title)
        self.font, self.dark = font, bool(dark)

    @classmethod
    def from_result(cls, result, **kwargs):
        """From a :class:`~brainviz.backend.DecodingResult` (its numbers only)."""
        kwargs.setdefault("title", decoding_title(result))
        out = cls(result.scores_, result.chance_level_,
                  scoring=result.params.get("scoring", "accuracy"),
                  permutation_scores=result.permutation_scores_, pvalue=result.pvalue_, **kwargs)
        # the result's own mean: the number printed is the one stored
        out.mean_score = float(result.mean_score_)
        return out

    def plot(self, ax=None):
        """Draw into ``ax`` (a new figure when None); return ``self``."""
        with self._style():
            self.figure_, self.ax_ = _new_axes(ax, (4.2, 3.0), self.font, self.dark)
            ax = self.ax_
            n = len(self.scores)
            folds = np.arange(1, n + 1)
            ink = "white" if self.dark else "black"
            self.folds_, = ax.plot(folds, self.scores, "o", color="#1f77b4", ms=5,
                                   label="folds", zorder=3)
            self.mean_line_ = ax.axhline(self.mean_score, color="#1f77b4", lw=2,
                                         label=f"mean {_fmt(self.mean_score)}")
            self.chance_line_ = ax.axhline(self.chance_level, color="0.5", lw=1.2, ls="--",
                                           label=f"chance {_fmt(self.chance_level)}")
            ax.set_xlim(0.4, n + 0.6)
            ax.set_ylim(min(0.0, float(np.min(self.scores, initial=1.0)) - 0.02), 1.02)
            # the numbers in a legend in the tallest band free of lines and folds
            self.legend_ = ax.legend(handles=[self.mean_line_, self.chance_line_, self.folds_],
                                     frameon=False, **self._legend_place(ax))
            texts = self.legend_.get_texts()
            self.mean_text_, self.chance_text_ = texts[0], texts[1]
            self.mean_text_.set_fontweight("bold")
            ax.set_xticks(folds if n <= 20 else np.linspace(1, n, 6).round().astype(int))
            ax.set_xlabel("cross-validation fold")
            ax.set_ylabel(self.scoring.replace("_", " "))
            if self.title:
                ax.set_title(self.title, color=ink)
            self.null_ax_ = None
            self.pvalue_text_ = None
            if self.permutation_scores is not None and self.permutation_scores.size:
                null = ax.inset_axes([1.02, 0.0, 0.22, 1.0], sharey=ax)
                null.hist(self.permutation_scores, bins=20, orientation="horizontal",
                          color="0.6")
                null.axhline(self.mean_score, color="#1f77b4", lw=2)
                null.tick_params(labelleft=False, labelbottom=False, length=0)
                null.set_xlabel("null")
                self.null_ax_ = null
                p = self.pvalue
                self.pvalue_text_ = null.text(0.5, 0.02, f"p = {p:.3g}" if p is not None else "",
                                              transform=null.transAxes, ha="center", va="bottom",
                                              fontsize=8)
        return self

    def fit(self):
        """Fit the labels to the axes as they are laid out now (``plot`` first; after the
        figure's layout), as a side dock needs: every k-th fold numbered where each
        number has less room than it takes, and the legend in a smaller font, then without
        its "folds" entry, then hidden (the mean and chance are in the view's caption)
        where it does not fit the band it sits in. Returns whether the legend is shown."""
        ax = self.ax_
        if ax is None:
            return False
        figure = ax.figure
        renderer = figure.canvas.get_renderer() if hasattr(figure.canvas, "get_renderer") \
            else figure._get_renderer()
        box = ax.get_window_extent(renderer)
        points = 72.0 / figure.dpi
        ticks = np.asarray(ax.get_xticks())
        ticks = ticks[(ticks >= 1) & (ticks <= len(self.scores))]
        if ticks.size > 1:
            size = ax.xaxis.get_ticklabels()[0].get_fontsize() if ax.xaxis.get_ticklabels() \
                else 8.0
            digits = len(str(int(ticks.max())))
            need = 0.6 * size * digits + 0.5 * size  # a number and a gap, in points
            room = box.width * points / ticks.size
            if need > room:
                step = int(np.ceil(need / room))
                ax.set_xticks(np.arange(1, len(self.scores) + 1)[::step])
        legend = self.legend_
        handles = [self.mean_line_, self.chance_line_, self.folds_]
        place = self._legend_place(ax)
        band = box.height * self._band_height(ax)
        for handles_now in (handles, handles[:2]):
            for size in (None, 7.0, 6.0):
                if legend is not self.legend_ or size is not None:
                    legend.remove()
                    legend = ax.legend(handles=handles_now, frameon=False,
                                       fontsize=size, **place)
                if legend.get_window_extent(renderer).height <= band:
                    self._set_legend(legend)
                    return True
        legend.set_visible(False)
        self._set_legend(legend)
        return False

    def _set_legend(self, legend):
        self.legend_ = legend
        texts = legend.get_texts()
        self.mean_text_, self.chance_text_ = texts[0], texts[1]
        self.mean_text_.set_fontweight("bold")

    def _band(self, ax):
        """(bottom, top), as fractions of the axes, of the tallest horizontal band that no
        line (chance, mean) and no fold's score crosses."""
        y0, y1 = ax.get_ylim()
        levels = np.r_[self.chance_level, self.mean_score, self.scores]
        levels = np.sort(np.clip((levels[np.isfinite(levels)] - y0) / (y1 - y0), 0.0, 1.0))
        edges = np.r_[0.0, levels, 1.0]
        k = int(np.argmax(np.diff(edges)))
        return float(edges[k]), float(edges[k + 1])

    def _band_height(self, ax):
        """The height (a fraction of the axes) of :meth:`_band`."""
        bottom, top = self._band(ax)
        return top - bottom

    def _legend_place(self, ax):
        """``loc`` and anchor of the legend: the middle of :meth:`_band` (a narrow view's
        legend, in the lower left, sat on the chance line)."""
        bottom, top = self._band(ax)
        return {"loc": "center left", "bbox_to_anchor": (0.0, (bottom + top) / 2)}


class ConfusionDisplay(_Display):
    """A confusion matrix with class names and the count (or share) in each cell.

    Parameters
    ----------
    confusion : array-like of shape (n_classes, n_classes)
        Counts. Rows: true class; columns: predicted class.
    classes : sequence of str
    title, font, dark : see :class:`ScoresDisplay`
    cmap : str, default="Blues"
    normalize : {None, "true", "pred", "all"}, default=None
        scikit-learn's ``confusion_matrix(normalize=...)``: the counts (None), each
        row's share of its true class ("true": the diagonal is each class's recall,
        whatever its size; the Haxby study's 588 rest volumes no longer pale the
        108 of each object), each column's share of its prediction ("pred") or of all
        samples ("all"). A class never seen (or never predicted) has shares of 0.

    Attributes
    ----------
    values_ : ndarray of shape (n_classes, n_classes)
        What the cells show: the counts, or their shares.
    im_ : AxesImage
    text_ : ndarray of Text, shape (n_classes, n_classes)
    selected_ : int or None
        The class whose row is outlined (:meth:`select`).
    """

    #: ``normalize`` -> what the cells show (the window's names for them)
    NORMALIZE = {None: "counts", "true": "share of true class", "pred": "share of prediction",
                 "all": "share of all"}

    def __init__(self, confusion, classes, title="", cmap="Blues", font=None, dark=False,
                 normalize=None):
        from ..exceptions import ParameterError

        if normalize not in self.NORMALIZE:
            raise ParameterError(f"normalize must be one of None, 'true', 'pred' or 'all'; "
                                 f"got {normalize!r}")
        self.confusion = np.asarray(confusion)
        self.normalize = normalize
        self.values_ = _normalized(self.confusion, normalize)
        self.classes = [str(c) for c in classes]
        self.title = str(title)
        self.cmap = cmap
        self.font, self.dark = font, bool(dark)
        self.selected_ = None
        self._outline = None

    def class_at(self, x, y):
        """The true class (its index) of the row under data coordinates ``(x, y)`` of the
        axes (a click's ``xdata, ydata``), or None outside the matrix."""
        n = len(self.classes)
        if x is None or y is None:
            return None
        row, col = int(round(y)), int(round(x))
        return row if 0 <= row < n and 0 <= col < n else None

    def select(self, i):
        """Outline the row of class ``i`` (the class whose map is shown); None clears it."""
        from matplotlib.patches import Rectangle

        if self.ax_ is None:
            self.plot()
        if self._outline is not None:
            self._outline.remove()
            self._outline = None
        self.selected_ = None if i is None else int(i)
        if i is not None:
            n = len(self.classes)
            self._outline = self.ax_.add_patch(Rectangle(
                (-0.5, i - 0.5), n, 1, fill=False, ec="#00c000", lw=2, clip_on=False))
        return self

    @classmethod
    def from_result(cls, result, **kwargs):
        shown = cls.NORMALIZE.get(kwargs.get("normalize"), "counts")
        kwargs.setdefault("title", "confusion (summed over folds)" if shown == "counts"
                          else f"confusion: {shown}")
        return cls(result.confusion_, result.classes_, **kwargs)

    def _cell_text(self, value):
        """A cell's number: a count, or a share in two significant digits (scikit-learn's
        ``values_format`` for them)."""
        if self.normalize is None:
            return f"{int(value)}"
        return f"{value:.2g}"

    def plot(self, ax=None):
        with self._style():
            n = len(self.classes)
            size = min(6.0, 2.2 + 0.45 * n)
            self.figure_, self.ax_ = _new_axes(ax, (size + 0.6, size), self.font, self.dark)
            ax = self.ax_
            top = float(self.values_.max(initial=0))
            if not top > 0:
                top = 1.0 if self.normalize is None else 1e-12
            self.im_ = ax.imshow(self.values_, cmap=self.cmap, interpolation="nearest",
                                 vmin=0, vmax=top)
            cmap = self.im_.cmap
            norm = self.im_.norm
            self.text_ = np.empty(self.values_.shape, dtype=object)
            for i in range(n):
                for j in range(n):
                    value = self.values_[i, j]
                    color = text_color_for(cmap(norm(value))[:3])
                    self.text_[i, j] = ax.text(j, i, self._cell_text(value), ha="center",
                                               va="center", color=color,
                                               fontsize=8 if n > 6 else 9)
            ax.set_xticks(range(n), self.classes, rotation=45 if n > 3 else 0,
                          ha="right" if n > 3 else "center")
            ax.set_yticks(range(n), self.classes)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            if self.title:
                ax.set_title(self.title)
            self._outline = None
            if self.selected_ is not None:
                self.select(self.selected_)
        return self

    #: the smallest size (points) a cell's count is written in; smaller cells show colour only
    MIN_COUNT_SIZE = 5.0

    def fit_counts(self):
        """Write the counts in a size that fits the cells as the axes are laid out now
        (``plot`` first; after the figure's layout): a side dock's nine classes left the
        numbers of neighbouring cells written over each other. Below
        :data:`MIN_COUNT_SIZE` points the counts are hidden and the colours say it; a
        wider view shows them again. Returns the size used (0 when hidden)."""
        ax, n = self.ax_, len(self.classes)
        if ax is None or not n:
            return 0.0
        ax.apply_aspect()  # the box the square cells take, not the axes' slot
        box = ax.get_window_extent()
        points = 72.0 / ax.figure.dpi
        cell_w, cell_h = box.width * points / n, box.height * points / n
        digits = max(len(text.get_text()) for text in self.text_.ravel())
        # a digit is about 0.6 of the font size wide; a margin of a tenth of the cell
        size = min(8.0 if n > 6 else 9.0, 0.9 * cell_w / (0.6 * digits), 0.8 * cell_h)
        shown = size >= self.MIN_COUNT_SIZE
        for text in self.text_.ravel():
            text.set_visible(shown)
            if shown:
                text.set_fontsize(size)
        # class names slanted at 45 degrees run into each other over narrow cells: upright,
        # and each name (a line of text across a row or column) no taller than its cell
        labels = ax.get_xticklabels()
        if n > 3 and labels and cell_w < 1.6 * labels[0].get_fontsize():
            for label in labels:
                label.set_rotation(90)
                label.set_horizontalalignment("center")
        for names, cell in ((labels, cell_w), (ax.get_yticklabels(), cell_h)):
            if names and (names[0].get_rotation() % 180 == 90 or names is not labels):
                fitted = max(6.0, 0.8 * cell)
                for label in names:
                    if label.get_fontsize() > fitted:
                        label.set_fontsize(fitted)
        return size if shown else 0.0


def _normalized(confusion, normalize):
    """scikit-learn's ``confusion_matrix(normalize=...)`` of a matrix of counts: the same
    divisions, with 0 where a row (or column) has no sample."""
    counts = np.asarray(confusion)
    if normalize is None:
        return counts
    counts = counts.astype(np.float64)
    if normalize == "true":
        total = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        total = counts.sum(axis=0, keepdims=True)
    else:
        total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(counts / total)


#: the share of a searchlight histogram's height below its legend
_LEGEND_BAND = 0.72


class SearchlightDisplay(_Display):
    """How a searchlight's spheres scored: the histogram of their scores, chance, and the
    best sphere with where it is.

    Parameters
    ----------
    scores : array-like
        Every sphere's mean cross-validated score (one per voxel of the mask).
    chance_level : float
    best_score : float
    best_coords : (x, y, z) mm
    scoring : str, default="accuracy"
    title, font, dark : see :class:`ScoresDisplay`

    Attributes
    ----------
    figure_, ax_
    bars_ : the histogram's BarContainer
    chance_line_, best_line_ : Line2D
    legend_ : Legend
    """

    def __init__(self, scores, chance_level, best_score, best_coords, scoring="accuracy",
                 title="", font=None, dark=False):
        scores = np.asarray(scores, dtype=float).ravel()
        self.scores = scores[np.isfinite(scores)]
        self.chance_level = float(chance_level)
        self.best_score = float(best_score)
        self.best_coords = tuple(float(v) for v in best_coords)
        self.scoring = str(scoring)
        self.title = str(title)
        self.font, self.dark = font, bool(dark)

    @classmethod
    def from_result(cls, result, **kwargs):
        """From a :class:`~brainviz.backend.SearchlightResult`: the scores of the mask's
        voxels (each the centre of a sphere)."""
        scores = np.asanyarray(result.scores_img_.dataobj, dtype=float)
        mask = np.asanyarray(result.mask_img_.dataobj).astype(bool) \
            if result.mask_img_ is not None else np.isfinite(scores)
        kwargs.setdefault("title", f"{int(mask.sum())} spheres, "
                                   f"{result.params.get('radius', '?')} mm")
        return cls(scores[mask], result.chance_level_, result.best_score_,
                   result.best_coords_, scoring=result.params.get("scoring", "accuracy"),
                   **kwargs)

    def plot(self, ax=None):
        """Draw into ``ax`` (a new figure when None); return ``self``."""
        with self._style():
            self.figure_, self.ax_ = _new_axes(ax, (4.2, 3.0), self.font, self.dark)
            ax = self.ax_
            n = self.scores.size
            bins = int(np.clip(np.sqrt(max(n, 1)), 10, 40))
            _, _, self.bars_ = ax.hist(self.scores, bins=bins, color="0.65",
                                       edgecolor="none")
            # the lines stop below the top quarter, where the legend is: above the bars
            # (the axes are a half taller than the tallest bar), crossed by nothing
            top = _LEGEND_BAND
            self.chance_line_ = ax.axvline(self.chance_level, ymax=top, color="0.35", lw=1.2,
                                           ls="--", label=f"chance {_fmt(self.chance_level)}")
            self.best_line_ = ax.axvline(self.best_score, ymax=top, color="#1f77b4", lw=2,
                                         label=self._best_label(" "))
            self.legend_ = ax.legend(handles=[self.best_line_, self.chance_line_],
                                     frameon=False, loc="upper left", fontsize=8)
            # inside the axes (fit makes it fit them): a legend wider than a narrow view's
            # axes otherwise made the layout squeeze them to make room for it
            self.legend_.set_in_layout(False)
            ax.set_xlabel(f"{self.scoring.replace('_', ' ')} of each sphere")
            ax.set_ylabel("spheres")
            tallest = max((b.get_height() for b in self.bars_), default=1.0) or 1.0
            ax.set_ylim(0, tallest / (top - 0.05))
            if self.title:
                ax.set_title(self.title)
        return self

    def _best_label(self, sep):
        x, y, z = (f"{v:.0f}" for v in self.best_coords)
        return f"best {_fmt(self.best_score)}{sep}at ({x}, {y}, {z}) mm"

    def fit(self):
        """Fit the legend to the room the axes have (a side dock's width, once laid out):
        where it runs past their right edge or down into the lines, the best sphere's
        place goes on a line of its own, then the font shrinks (to 6 points at least).
        Returns whether it fits; call it after the figure is laid out, before drawing."""
        ax, legend = self.ax_, self.legend_
        renderer = self.figure_.canvas.get_renderer()
        frame = ax.get_window_extent(renderer)
        floor = frame.y0 + _LEGEND_BAND * frame.height  # where the lines stop
        best = legend.get_texts()[0]
        for sep, size in ((" ", 8), ("\n", 8), ("\n", 7), ("\n", 6)):
            best.set_text(self._best_label(sep))
            for text in legend.get_texts():
                text.set_fontsize(size)
            box = legend.get_window_extent(renderer)
            if box.x1 <= frame.x1 + 0.5 and box.y0 >= floor - 0.5:
                return True
        return False


def _network_order(networks):
    """Node order grouping networks (in order of first appearance) and the block edges."""
    networks = [str(v) for v in networks]
    names = list(dict.fromkeys(networks))
    order = np.array(sorted(range(len(networks)), key=lambda k: (names.index(networks[k]), k)),
                     dtype=int)
    blocks = []
    start = 0
    for name in names:
        size = networks.count(name)
        blocks.append((name, start, start + size))
        start += size
    return order, blocks


class MatrixDisplay(_Display):
    """A connectivity matrix as a heat map, with node labels and a colour bar.

    When ``networks`` are known the nodes are ordered by network and the networks are
    delimited by lines and named along the axes.

    Parameters
    ----------
    matrix : array-like of shape (n, n)
    labels : sequence of n str, default=None
    networks : sequence of n str, default=None
    vmax : float, default=None
        The colour range is ``[-vmax, vmax]``; None: the largest off-diagonal ``|weight|``.
    cmap : str, default="RdBu_r"
    title, font, dark : see :class:`ScoresDisplay`
    colorbar_label : str, default="weight"

    Attributes
    ----------
    order_ : ndarray of int
        Row/column ``k`` of the picture is node ``order_[k]`` of the matrix.
    im_ : AxesImage
    colorbar_ : Colorbar
    boundaries_ : list of Line2D (network edges)
    highlight_ : Rectangle or None (see :meth:`highlight`)
    """

    def __init__(self, matrix, labels=None, networks=None, vmax=None, cmap="RdBu_r", title="",
                 colorbar_label="weight", font=None, dark=False):
        self.matrix = np.asarray(matrix, dtype=float)
        n = len(self.matrix)
        self.labels = [str(v) for v in labels] if labels is not None else [str(k) for k in range(n)]
        self.networks = None if networks is None else [str(v) for v in networks]
        off = np.abs(self.matrix[~np.eye(n, dtype=bool)]) if n > 1 else np.zeros(1)
        off = off[np.isfinite(off)]
        if vmax is None:
            vmax = off.max() if off.size and off.max() > 0 else 1.0
        self.vmax = float(vmax)
        self.cmap = cmap
        self.title = str(title)
        self.colorbar_label = colorbar_label
        self.font, self.dark = font, bool(dark)
        if self.networks is not None:
            self.order_, self.blocks_ = _network_order(self.networks)
        else:
            self.order_, self.blocks_ = np.arange(n), []
        self.highlight_ = None

    @classmethod
    def from_result(cls, result, networks=None, **kwargs):
        """From a :class:`~brainviz.backend.ConnectivityResult` (the group matrix)."""
        matrix = np.asarray(result.matrix_)
        if matrix.ndim == 3:
            matrix = matrix.mean(axis=0)
        kind = result.kind_ or "connectivity"
        kwargs.setdefault("title", f"{kind} matrix ({len(matrix)} regions)")
        kwargs.setdefault("colorbar_label", kind)
        return cls(matrix, result.labels_, networks=networks, **kwargs)

    @classmethod
    def from_layer(cls, layer, **kwargs):
        """From a :class:`~brainviz.model.ConnectomeLayer` (its matrix, labels and networks)."""
        data = layer.data
        kwargs.setdefault("title", layer.name)
        kwargs.setdefault("cmap", "RdBu_r")
        return cls(data["matrix"], data["labels"], networks=data.get("networks"), **kwargs)

    def plot(self, ax=None, show_labels=None):
        """Draw the heat map; node labels on the axes when ``show_labels`` (default: up to 60
        nodes without networks, else the network names)."""
        with self._style():
            n = len(self.matrix)
            self.figure_, self.ax_ = _new_axes(ax, (5.6, 4.8), self.font, self.dark)
            ax = self.ax_
            shown = self.matrix[np.ix_(self.order_, self.order_)].copy()
            # the diagonal (1 for correlations) is no edge: grey, out of the colour range
            np.fill_diagonal(shown, np.nan)
            import matplotlib

            cmap = matplotlib.colormaps[self.cmap].with_extremes(bad="0.85")
            self.im_ = ax.imshow(shown, cmap=cmap, vmin=-self.vmax, vmax=self.vmax,
                                 interpolation="nearest")
            self.colorbar_ = self.figure_.colorbar(self.im_, ax=ax, shrink=0.8)
            self.colorbar_.set_label(self.colorbar_label)
            self.boundaries_ = []
            line_color = "white" if self.dark else "black"
            for _, start, stop in self.blocks_[:-1]:
                for method in (ax.axhline, ax.axvline):
                    self.boundaries_.append(method(stop - 0.5, color=line_color, lw=0.8))
            if show_labels is None:
                show_labels = n <= 60 and not self.blocks_
            if show_labels:
                names = [self.labels[k] for k in self.order_]
                size = 8 if n <= 30 else 6
                _fitted_node_labels(ax, names, size)
            elif self.blocks_:
                centres = [(start + stop - 1) / 2 for _, start, stop in self.blocks_]
                names = [name for name, _, _ in self.blocks_]
                ax.set_xticks(centres, names, rotation=90, fontsize=7)
                ax.set_yticks(centres, names, fontsize=7)
                ax.tick_params(length=0)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            if self.title:
                ax.set_title(self.title)
            self.highlight_ = None
        return self

    def cell_at(self, x, y):
        """The node pair ``(i, j)`` (matrix indices) under data coordinates ``(x, y)`` of the
        axes (a click's ``xdata, ydata``), or None outside the matrix."""
        n = len(self.matrix)
        col, row = int(round(x)), int(round(y))
        if not (0 <= row < n and 0 <= col < n):
            return None
        return int(self.order_[row]), int(self.order_[col])

    def position_of(self, i, j):
        """Data coordinates ``(x, y)`` of the centre of cell ``(i, j)`` (matrix indices)."""
        inverse = np.argsort(self.order_)
        return float(inverse[j]), float(inverse[i])

    def highlight(self, i, j=None):
        """Outline cell ``(i, j)``, or row ``i`` when ``j`` is None; ``i=None`` clears it."""
        from matplotlib.patches import Rectangle

        if self.ax_ is None:
            self.plot()
        if self.highlight_ is not None:
            self.highlight_.remove()
            self.highlight_ = None
        if i is None:
            return self
        n = len(self.matrix)
        x, y = self.position_of(i, i if j is None else j)
        if j is None:
            box = Rectangle((-0.5, y - 0.5), n, 1, fill=False, ec="#00c000", lw=1.5)
        else:
            box = Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, ec="#00c000", lw=2)
        self.highlight_ = self.ax_.add_patch(box)
        return self


def _fitted_node_labels(ax, names, size):
    """Node names on both axes of a matrix, every one where the cells are at least a
    line of text apart, else every k-th: recomputed at each draw, so a small view (the
    window's result panel) shows fewer names instead of names over each other, and a
    figure large enough shows them all."""
    from matplotlib.ticker import FuncFormatter, Locator

    n = len(names)

    class FitLocator(Locator):
        def __init__(self, along):
            self.along = along

        def __call__(self):
            box = self.axis.axes.bbox
            length = (box.width if self.along == "x" else box.height) * 72.0 / ax.figure.dpi
            step = max(1, int(np.ceil(1.2 * size / max(length / n, 1e-6))))
            return list(range(0, n, step))

        def tick_values(self, vmin, vmax):
            return self()

    def name(value, _pos):
        k = int(round(value))
        return names[k] if 0 <= k < n and abs(value - k) < 1e-6 else ""

    for axis, along in ((ax.xaxis, "x"), (ax.yaxis, "y")):
        axis.set_major_locator(FitLocator(along))
        axis.set_major_formatter(FuncFormatter(name))
    ax.tick_params(axis="x", labelrotation=90, labelsize=size)
    ax.tick_params(axis="y", labelsize=size)


class RegionsDisplay(_Display):
    """Regions as a list: a small glass-brain thumbnail (maximum intensity projections from the
    left and from above) and the name of each.

    Parameters
    ----------
    maps : array-like of shape (x, y, z, n_regions)
        One map per region (a label image is split into one map per label first:
        :meth:`from_labels`).
    affine : (4, 4) array
    names : sequence of n_regions str, default=None
    outline : array-like of shape (x, y, z), default=None
        The brain drawn in grey behind every thumbnail (the data's mask); by default
        where any region or map is non-zero.
    ncols : int, default=4
    font, dark : see :class:`ScoresDisplay`

    Attributes
    ----------
    axes_ : list of Axes (one per region)
    titles_ : list of Text (the names as written)
    selected_ : int or None (see :meth:`select`)
    """

    def __init__(self, maps, affine, names=None, outline=None, ncols=4, title="", font=None,
                 dark=False):
        maps = np.asarray(maps, dtype=np.float32)
        if maps.ndim == 3:
            maps = maps[..., None]
        self.n_regions = maps.shape[-1]
        self.affine = np.asarray(affine, dtype=float)
        self.names = [str(v) for v in names] if names is not None else \
            [f"region {k}" for k in range(self.n_regions)]
        if outline is None:
            outline = np.any(np.nan_to_num(maps) != 0, axis=-1)
        self.ncols = int(max(1, min(ncols, self.n_regions)))
        self.title = str(title)
        self.font, self.dark = font, bool(dark)
        # projections are computed once: the display keeps no volume
        flips = np.sign(np.diag(self.affine)[:3])
        m = np.nan_to_num(np.abs(maps))
        o = np.asarray(outline, dtype=float)
        for axis, sign in enumerate(flips):  # RAS+ orientation for the pictures
            if sign < 0:
                m = np.flip(m, axis=axis)
                o = np.flip(o, axis=axis)
        self._side = [m[..., k].max(axis=0).T for k in range(self.n_regions)]  # (z, y)
        self._top = [m[..., k].max(axis=2).T for k in range(self.n_regions)]   # (y, x)
        self._outline_side = o.max(axis=0).T
        self._outline_top = o.max(axis=2).T
        zooms = np.abs(np.diag(self.affine)[:3])
        self._aspect_side = zooms[2] / zooms[1]
        self._aspect_top = zooms[1] / zooms[0]
        self.selected_ = None

    @classmethod
    def from_result(cls, result, **kwargs):
        """From a :class:`~brainviz.backend.RegionResult`: its regions (extracted or not) and
        their names, over the mask of the data."""
        img = result.regions_img_ if result.regions_img_ is not None else result.components_img_
        maps = np.asanyarray(img.dataobj)
        outline = None if result.mask_img_ is None else np.asanyarray(result.mask_img_.dataobj)
        names = result.region_labels_
        if names is None or len(names) != (maps.shape[-1] if maps.ndim == 4 else 1):
            names = None
        kwargs.setdefault("title", f"{maps.shape[-1] if maps.ndim == 4 else 1} regions")
        return cls(maps, img.affine, names=names, outline=outline, **kwargs)

    @classmethod
    def from_labels(cls, labels, affine, names=None, **kwargs):
        """From a 3D label image: one region per non-zero label (``names``: label -> name)."""
        labels = np.asarray(labels)
        ids = [v for v in np.unique(labels) if v != 0]
        maps = np.stack([(labels == v).astype(np.float32) for v in ids], axis=-1)
        names = names or {}
        return cls(maps, affine, names=[names.get(int(v), str(int(v))) for v in ids],
                   outline=labels != 0, **kwargs)

    def _colors(self):
        from .._resources import read_colormap

        table = np.asarray(read_colormap("regions"), dtype=float)[:, :3]
        return [table[k % len(table)] for k in range(self.n_regions)]

    def plot(self, ax=None):
        """Draw every region's thumbnail and name (in a new figure, or over ``ax``'s area)."""
        import matplotlib
        from matplotlib.colors import ListedColormap

        with self._style():
            ncols = self.ncols
            nrows = int(np.ceil(self.n_regions / ncols))
            if ax is None:
                self.figure_, _ = _new_axes(None, (1.9 * ncols, 1.15 * nrows + 0.4), self.font,
                                            self.dark)
                self.figure_.clear()
                grid = self.figure_.add_gridspec(nrows, ncols)
            else:
                self.figure_ = ax.figure
                grid = ax.get_subplotspec().subgridspec(nrows, ncols)
                ax.remove()
            self.axes_, self.titles_, self._images = [], [], []
            outline_cmap = ListedColormap([(0, 0, 0, 0), (0.6, 0.6, 0.6, 0.35)])
            for k, color in enumerate(self._colors()):
                sub = self.figure_.add_subplot(grid[k // ncols, k % ncols])
                sub.set_axis_off()
                # side view (y horizontal, anterior on the right) and top view side by side
                side, top = self._side[k], self._top[k]
                ny = side.shape[1]
                gap = max(2, ny // 12)
                h = max(side.shape[0], top.shape[0] * 1)
                canvas_w = ny + gap + top.shape[1]
                cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
                    "region", [(1, 1, 1, 0), (*color, 1.0)])
                views = ((side, self._outline_side, 0, self._aspect_side),
                         (top, self._outline_top, ny + gap, self._aspect_top))
                for pic, outline, x0, aspect in views:
                    extent = (x0, x0 + pic.shape[1], 0, pic.shape[0] * aspect)
                    sub.imshow(outline > 0, cmap=outline_cmap, origin="lower", extent=extent,
                               interpolation="nearest", vmin=0, vmax=1)
                    peak = float(pic.max()) or 1.0
                    self._images.append(sub.imshow(pic, cmap=cmap, origin="lower", extent=extent,
                                                   vmin=0, vmax=peak, interpolation="nearest"))
                sub.set_xlim(0, canvas_w)
                sub.set_ylim(0, h * max(self._aspect_side, self._aspect_top))
                sub.set_aspect("equal")
                # the region's colour, in a shade that reads on the background (the pale
                # ones of the table were near-white on white)
                ink = readable_color(color, (0.0, 0.0, 0.0) if self.dark else (1.0, 1.0, 1.0))
                self.titles_.append(sub.set_title(self.names[k], fontsize=8, color=ink,
                                                  fontweight="bold"))
                self.axes_.append(sub)
            if self.title:
                self.figure_.suptitle(self.title)
            self.ax_ = self.axes_[0] if self.axes_ else None
            self.selected_ = None
        return self

    def region_at(self, axes):
        """The region index whose thumbnail is ``axes`` (a click's ``inaxes``), or None."""
        try:
            return self.axes_.index(axes)
        except (ValueError, AttributeError):
            return None

    def select(self, k):
        """Frame region ``k``'s thumbnail (``None``: no region is framed)."""
        if self.figure_ is None:
            self.plot()
        for i, sub in enumerate(self.axes_):
            on = k is not None and i == k
            sub.set_frame_on(on)
            sub.set_axis_on() if on else sub.set_axis_off()
            if on:
                sub.set_xticks([])
                sub.set_yticks([])
                for spine in sub.spines.values():
                    spine.set_edgecolor("#00c000")
                    spine.set_linewidth(2)
        self.selected_ = k
        return self


# --- results -> figures -----------------------------------------------------------------
def decoding_title(result):
    """A readable name for a decoding result: "face vs house, svc"."""
    classes = [str(c) for c in (result.classes_ or [])]
    what = " vs ".join(classes) if len(classes) <= 3 else f"{len(classes)} classes"
    estimator = result.params.get("estimator", "")
    return f"{what}, {estimator}" if estimator else what


def default_edge_percentile(n_nodes):
    """The percentile of the absolute weights a connectome's edges open cut at: 95 (the top
    5%), or for more than 41 nodes (where 5% would be more edges than nodes: 1,736 for
    Power's 264 spheres, a hairball) about as many edges as nodes, the strongest (99.23
    for 264 nodes), as nilearn's examples cut large atlases."""
    n = int(n_nodes)
    if n <= 41:
        return 95.0
    top = 200.0 / (n - 1)  # n of the n (n - 1) / 2 edges, in percent
    step = 10.0 ** (np.floor(np.log10(top)) - 1)  # two significant digits, rounded up:
    top = np.ceil(round(top / step, 9)) * step  # at least n edges
    return float(f"{100.0 - top:.6g}")


def default_edge_threshold(n_nodes):
    """:func:`default_edge_percentile` as the threshold a layer holds (``"99.23%"``)."""
    return f"{default_edge_percentile(n_nodes):g}%"


def result_headline(result):
    """One line for the job list: the mean score and chance, the edges above threshold, the
    number of regions, or a searchlight's best sphere."""
    kind = getattr(result, "_kind", "")
    if kind == "decoding":
        scoring = result.params.get("scoring", "accuracy").replace("_", " ")
        text = (f"{scoring} {result.mean_score_:.3f} (chance {result.chance_level_:.3f})")
        if result.pvalue_ is not None:
            text += f", p = {result.pvalue_:.3g}"
        return text
    if kind == "connectivity":
        # the same cut as the connectome layer a result opens as
        matrix = np.asarray(result.matrix_)
        if matrix.ndim == 3:
            matrix = matrix.mean(axis=0)
        n = len(matrix)
        upper = np.abs(matrix[np.triu_indices(n, k=1)])
        pct = default_edge_percentile(n)
        threshold = float(np.percentile(upper, pct)) if upper.size else 0.0
        count = int(np.sum(upper >= threshold)) if upper.size else 0
        return (f"{count} edges with |weight| >= {threshold:.3g} (top {100 - pct:.3g}%), "
                f"{n} nodes")
    if kind == "regions":
        img = result.regions_img_ if result.regions_img_ is not None else result.components_img_
        n = img.shape[3] if len(img.shape) == 4 else 1
        return f"{n} regions"
    if kind == "searchlight":
        scoring = result.params.get("scoring", "accuracy").replace("_", " ")
        x, y, z = (float(v) for v in result.best_coords_)
        return (f"best {scoring} {result.best_score_:.3f} at ({x:.0f}, {y:.0f}, {z:.0f}) mm "
                f"(chance {result.chance_level_:.3f})")
    return ""


def _displays_for(result, font=None, dark=False, normalize=None):
    kind = getattr(result, "_kind", "")
    style = dict(font=font, dark=dark)
    if kind == "decoding":
        return {"scores": ScoresDisplay.from_result(result, **style),
                "confusion": ConfusionDisplay.from_result(result, normalize=normalize,
                                                          **style)}
    if kind == "connectivity":
        return {"matrix": MatrixDisplay.from_result(result, **style)}
    if kind == "regions":
        return {"regions": RegionsDisplay.from_result(result, **style)}
    if kind == "searchlight":
        return {"searchlight": SearchlightDisplay.from_result(result, **style)}
    return {}


def save_result_figures(result, folder, formats=("png", "svg"), dpi=150, font=None, dark=False,
                        normalize=None):
    """Write the result's views into ``folder``: ``scores`` and ``confusion`` (decoding),
    ``matrix`` (connectivity), ``regions`` (regions) or ``searchlight``, once per format.
    ``normalize``: what the confusion's cells show (:class:`ConfusionDisplay`; None: the
    counts). A folder that is not there yet is made.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    # res.save_figures("figures") into a folder not made yet failed with matplotlib's
    # "No such file or directory: 'figures/.scores.bvtmp_....png'"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, display in _displays_for(result, font=font, dark=dark,
                                       normalize=normalize).items():
        display.plot()
        for fmt in formats:
            written.append(display.savefig(folder / f"{stem}.{fmt}", dpi=dpi))
    return written
