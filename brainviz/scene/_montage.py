"""Montages: several named views of one figure in a grid, one colour bar in its own strip.

The panels and their text are laid out by :func:`brainviz.scene.figures.compose_figure`
(every panel at the same zoom; title, panel labels, colour bars and legends in strips of
their own, outside every panel: they never overlap a brain). This module keeps the
colour bar descriptions and the camera geometry of the named views.
"""
import numpy as np

from ..exceptions import ParameterError
from ._writers import check_output_path

__all__ = ["render_montage", "save_montage", "colorbar_spec", "DEFAULT_MONTAGE_WIDTH",
           "DEFAULT_FIGURE_SIZE"]

#: A montage's width in pixels when neither a size nor a width in mm is given
#: (``brainviz render`` and the window's export dialog).
DEFAULT_MONTAGE_WIDTH = 1200
#: A single view's size in pixels when none is given (``brainviz render``); the window's
#: export dialog keeps the 3D view's shape at least this wide.
DEFAULT_FIGURE_SIZE = (800, 600)

# Room left around the scene bounds in each panel (1.0 = touching the edges).
_MARGIN = 1.04

# Font sizes in points (converted with the DPI) for labels and the title.
_LABEL_PT = 8.0
_TITLE_PT = 10.0

_PANEL_LABELS = {
    "left": "Left", "right": "Right", "anterior": "Anterior", "posterior": "Posterior",
    "superior": "Superior", "inferior": "Inferior", "medial-left": "Left, medial",
    "medial-right": "Right, medial",
}


# --------------------------------------------------------------------------- colour bar
def colorbar_spec(colorbar, title=None):
    """Return ``dict(lut=(n, 4) uint8, vmin, vmax, threshold, title)`` for a colour bar.

    Parameters
    ----------
    colorbar : dict, visual or Mayavi module
        - a dict with ``cmap`` (a colour map name or an (n, 3|4) table),
          ``vmin``, ``vmax`` and optionally ``threshold``, ``two_sided`` and ``title``;
        - a brainviz visual with ``cmap``/``colormap``, ``vmin``/``vmax`` (or
          ``vmax`` alone, symmetric; a connectome's ``edge_vmax`` or edge
          colour range) and optionally ``threshold``/``threshold_value``;
        - any Mayavi object with a ``module_manager.scalar_lut_manager``.
    title : str, optional
        Overrides the title found in ``colorbar``.
    """
    spec = _spec_from(colorbar)
    lut = np.asarray(spec["lut"])
    if lut.ndim != 2 or lut.shape[1] not in (3, 4) or len(lut) < 2:
        raise ParameterError(f"colorbar colour table must be (n, 3|4) with n >= 2; got shape {lut.shape}")
    if lut.dtype.kind == "f":
        lut = np.round(np.clip(lut, 0, 1) * 255)
    lut = lut.astype(np.uint8)[:, :3]
    vmin, vmax = float(spec["vmin"]), float(spec["vmax"])
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmax <= vmin:
        raise ParameterError(f"colorbar range must be finite with vmin < vmax; got {vmin}, {vmax}")
    threshold = spec.get("threshold")
    threshold = None if threshold is None or not np.isfinite(float(threshold)) or float(threshold) <= 0 \
        else float(threshold)
    return {"lut": lut, "vmin": vmin, "vmax": vmax, "threshold": threshold,
            "two_sided": bool(spec.get("two_sided", True)),
            "title": title if title is not None else spec.get("title")}


def _lut_from_name(name):
    from .colors import get_lut

    return get_lut(name, 256)


def _spec_from(obj):
    if isinstance(obj, dict):
        try:
            cmap = obj.get("cmap", obj.get("lut", "cold_hot"))
            lut = _lut_from_name(cmap) if isinstance(cmap, str) else cmap
            return {"lut": lut, "vmin": obj["vmin"], "vmax": obj["vmax"],
                    "threshold": obj.get("threshold"), "two_sided": obj.get("two_sided", True),
                    "title": obj.get("title")}
        except KeyError as exc:
            raise ParameterError(f"colorbar dict needs 'vmin' and 'vmax'; missing {exc}") from None
    # A brainviz visual with a colour map: its range and threshold as drawn.
    cmap = getattr(obj, "cmap", None)
    if isinstance(cmap, str) and hasattr(obj, "data_range"):
        vmin, vmax = obj.data_range
        title = getattr(obj, "colorbar_title", None) or getattr(obj, "name", None) or None
        lut = obj.colorbar_lut(256) if hasattr(obj, "colorbar_lut") else _lut_from_name(cmap)
        return {"lut": lut, "vmin": vmin, "vmax": vmax,
                "threshold": getattr(obj, "threshold_value", None),
                "two_sided": bool(getattr(obj, "two_sided", True)), "title": title}
    # Any Mayavi module: its scalar LUT manager.
    manager = getattr(getattr(obj, "module_manager", None), "scalar_lut_manager", None)
    if manager is None:
        manager = getattr(obj, "scalar_lut_manager", None)
    if manager is not None:
        table = manager.lut.table.to_array()
        low, high = manager.data_range
        return {"lut": table, "vmin": low, "vmax": high, "threshold": None,
                "title": manager.data_name or None}
    raise ParameterError(
        "colorbar must be a dict(cmap=, vmin=, vmax=[, threshold=, title=]), a brainviz visual "
        f"with a colour map and range, or a Mayavi module; got {type(obj).__name__}"
    )


# --------------------------------------------------------------------------- cameras
def _view_extents(views, bounds, view_angle):
    """Per view: the half width, half height and depth offset the view needs."""
    from .views import view_direction

    box = np.asarray(bounds, dtype=float)
    center = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2, (box[4] + box[5]) / 2])
    corners = np.array([[x, y, z] for x in box[:2] for y in box[2:4] for z in box[4:]]) - center
    out = []
    for name in views:
        direction, up = (np.asarray(v, dtype=float) for v in view_direction(name))
        right = np.cross(-direction, up)
        out.append((corners @ right, corners @ up, corners @ direction))
    return out


def _shared_distance(extents, aspect, view_angle):
    # Perspective: a corner at depth z (towards the camera) and screen offset
    # (x, y) fits when |y| / (D - z) <= tan(angle / 2), and likewise for x
    # with the panel's aspect. The largest D over every corner of every view
    # gives all panels the same zoom with the widest view just fitting.
    tan_v = np.tan(np.radians(view_angle) / 2.0)
    tan_h = tan_v * aspect
    distance = 0.0
    for x, y, z in extents:
        need = np.maximum(_MARGIN * np.abs(y) / tan_v, _MARGIN * np.abs(x) / tan_h) + z
        distance = max(distance, float(need.max()))
    return max(distance, 1e-3)


def _shared_parallel_scale(extents, aspect):
    return max(max(_MARGIN * np.abs(y).max(), _MARGIN * np.abs(x).max() / aspect)
               for x, y, _ in extents)


def _auto_aspect(extents):
    width = max(np.abs(x).max() for x, _, _ in extents)
    height = max(np.abs(y).max() for _, y, _ in extents)
    return float(np.clip(width / max(height, 1e-6), 0.75, 1.6))


# --------------------------------------------------------------------------- montage
def _check_views(views):
    from .views import VIEWS

    if isinstance(views, str):
        views = [v.strip() for v in views.split(",") if v.strip()]
    views = list(views)
    if not views:
        raise ParameterError("views must name at least one view")
    for name in views:
        if name not in VIEWS:
            raise ParameterError(
                f"Unknown view {name!r}: views must be among {', '.join(VIEWS)}"
            )
    return views


def render_montage(figure=None, views=("left", "right", "superior"), ncols=None, size=None,
                   width_mm=None, dpi=None, transparent=False, colorbar=None, colorbar_title=None,
                   title=None, panel_labels=True, panel_aspect=None, multisamples=4, fit="content",
                   **kwargs):
    """Render a montage and return ``(pixels, layout)``; see :func:`save_montage` and
    :func:`brainviz.scene.figures.compose_figure` (which draws it)."""
    from .figures import compose_figure, figure_pixels

    fig, layout = compose_figure(
        figure, views, ncols=ncols, size=size, width_mm=width_mm, dpi=dpi,
        transparent=transparent, colorbar=colorbar, colorbar_title=colorbar_title,
        title=title, panel_labels=panel_labels, panel_aspect=panel_aspect,
        multisamples=multisamples, fit=fit, **kwargs)
    return figure_pixels(fig, transparent=transparent), layout


def save_montage(path, figure=None, views=("left", "right", "superior"), ncols=None, size=None,
                 width_mm=None, dpi=None, transparent=False, colorbar=None, colorbar_title=None,
                 title=None, panel_labels=True, panel_aspect=None, multisamples=4, fit="content",
                 **kwargs):
    """Write several named views of ``figure`` in a grid, with one colour bar per map.

    Parameters
    ----------
    path : str or path-like
        Output file: ``.png``, ``.tif``/``.tiff``, ``.jpg``/``.jpeg`` (raster), or ``.pdf``,
        ``.svg``, ``.eps`` (vector: the panels embedded as images at ``dpi``, the colour
        bars, ticks and text as vectors).
    figure : mayavi Scene, optional
        The figure; the current one when None. Its window and camera are left
        as they were.
    views : sequence of str or str, default=("left", "right", "superior")
        Names from :data:`brainviz.scene.views.VIEWS` (or one comma-separated
        string), e.g. ``("left", "medial-left", "right", "medial-right")``.
    ncols : int, optional
        Panels per row; all in one row up to 3 views, else two rows.
    size : (int, int) or (int, None), optional
        Total size in pixels; with a height of None (or without ``size``,
        the width from ``width_mm`` and ``dpi``) the height follows the layout.
    width_mm, dpi : float, optional
        Physical width and resolution (DPI written into the file); fonts are
        sized in points with this DPI (labels 8 pt, title 10 pt).
    transparent : bool, default=False
        Transparent background (PNG, TIFF); the text is outlined in white.
    colorbar : "auto", dict, visual, list or None, default=None
        What the colour bar shows (see :func:`colorbar_spec`; "auto": every shown map);
        drawn in its own strip under the panels, so it never overlaps a brain.
    colorbar_title : str, optional
        Title over the colour bar (default: the one found in ``colorbar``).
    title : str, optional
        Figure title, in a strip above the panels.
    panel_labels : bool, default=True
        Write each view's name above its panel (with the facing slice's coordinate and
        L/R where they apply).
    panel_aspect : float, optional
        Width / height of a panel; by default from the scene bounds.
    multisamples : int, default=4
        Anti-aliasing samples per pixel.
    fit : {"content", "bounds"}, default="content"
        "content" centres what is drawn in each panel and zooms, by the same factor in
        every panel, until it fills the widest one up to the margin; "bounds" frames the
        actors' bounding box.
    **kwargs
        ``dark``, ``margin``, ``zoom``, ``font``, ``legend``, ``annotate`` of
        :func:`brainviz.scene.figures.compose_figure`.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ParameterError
        Unknown view name, bad size; see also :func:`brainviz.scene.export.savefig`.
    ExportError
        Unwritable path or unknown extension.
    """
    from .figures import save_figure

    check_output_path(path, transparent=transparent, montage=True)
    return save_figure(path, figure, views=_check_views(views), ncols=ncols, size=size,
                       width_mm=width_mm, dpi=dpi, transparent=transparent, colorbar=colorbar,
                       colorbar_title=colorbar_title, title=title, panel_labels=panel_labels,
                       panel_aspect=panel_aspect, multisamples=multisamples, fit=fit, **kwargs)
