"""Montages: several named views of one figure in a grid, one colour bar in its own strip.

Every panel is rendered by :func:`brainviz.scene.export.render_image` with the
camera at the same distance from the scene (computed from the scene bounds so
that the widest view fits), so the brain has the same size in every panel.
Title, panel labels and the colour bar are drawn with Pillow in strips of
their own, outside every panel: they can never overlap a brain.
"""
import numpy as np

from ..exceptions import ParameterError
from ._render import _check_pixels, _scene, _WindowState, render_image, resolve_size
from ._writers import check_output_path, write_image

__all__ = ["render_montage", "save_montage", "colorbar_spec", "DEFAULT_MONTAGE_WIDTH"]

#: A montage's width in pixels when neither a size nor a width in mm is given
#: (``brainviz render`` and the window's export dialog).
DEFAULT_MONTAGE_WIDTH = 1200

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
        return {"lut": _lut_from_name(cmap), "vmin": vmin, "vmax": vmax,
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


def _font(px):
    from PIL import ImageFont

    # Pillow's embedded font: the same glyphs on every machine, so montages
    # are reproducible pixel for pixel.
    return ImageFont.load_default(size=max(6, int(round(px))))


def _fmt(value):
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text


def _draw_colorbar(canvas, draw, spec, box, font, color):
    """Draw a horizontal colour bar with ticks and title inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    fs = font.size
    title_h = int(round(1.4 * fs)) if spec["title"] else 0
    bar_h = max(4, int(round(1.1 * fs)))
    tick = max(2, int(round(0.35 * fs)))
    top = y0 + title_h
    if spec["title"]:
        draw.text(((x0 + x1) / 2, y0), str(spec["title"]), fill=color, font=font, anchor="ma")
    width = x1 - x0
    lut = spec["lut"]
    vmin, vmax, thr = spec["vmin"], spec["vmax"], spec["threshold"]
    values = vmin + (np.arange(width) + 0.5) / width * (vmax - vmin)
    index = np.clip(((values - vmin) / (vmax - vmin) * len(lut)).astype(int), 0, len(lut) - 1)
    row = lut[index].astype(np.uint8)
    two_sided = spec.get("two_sided", True)
    if thr is not None:
        # Values hidden by the threshold are shown as a neutral grey.
        row[(np.abs(values) if two_sided else values) < thr] = (200, 200, 200)
    from PIL import Image

    strip = Image.fromarray(np.repeat(row[None], bar_h, axis=0), mode="RGB")
    canvas.paste(strip, (x0, top))
    draw.rectangle((x0, top, x1 - 1, top + bar_h - 1), outline=color, width=1)
    ticks = [vmin, vmax]
    if vmin < 0 < vmax:
        ticks.append(0.0)
    if thr is not None:
        ticks += [t for t in ((-thr, thr) if two_sided else (thr,)) if vmin < t < vmax]
    label_y = top + bar_h + tick + 1
    placed = []  # (left, right) pixel extents of the labels drawn
    gap = fs * 0.3
    # The ends first, then zero, then the threshold: a label that would touch
    # one already drawn is skipped (its tick stays).
    order = sorted(set(ticks), key=lambda v: (v not in (vmin, vmax), v != 0.0, v))
    for value in order:
        x = x0 + int(round((value - vmin) / (vmax - vmin) * (width - 1)))
        draw.line((x, top + bar_h, x, top + bar_h + tick), fill=color, width=1)
        text = _fmt(value)
        length = draw.textlength(text, font=font)
        anchor = "la" if value == vmin else ("ra" if value == vmax else "ma")
        left = {"la": x, "ra": x - length, "ma": x - length / 2}[anchor]
        right = left + length
        if any(left < r + gap and l < right + gap for l, r in placed):
            continue
        draw.text((x, label_y), text, fill=color, font=font, anchor=anchor)
        placed.append((left, right))


def _colorbar_height(spec, fs):
    return (int(round(1.4 * fs)) if spec["title"] else 0) + max(4, int(round(1.1 * fs))) \
        + max(2, int(round(0.35 * fs))) + 1 + int(round(1.3 * fs))


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


def _content_zoom(figure, views, point_camera, aspect, probe_width=192):
    """The zoom that makes the drawn content of the widest view just fit its panel.

    The bounds-based distance frames every actor's box, which for slices and
    padded templates is much larger than what is drawn. A small transparent
    probe render of each view finds the drawn pixels; one zoom for all views
    keeps the same scale in every panel.
    """

    width = probe_width
    height = max(8, int(round(width / aspect)))
    half = np.array([width / 2.0, height / 2.0])
    coverage = 0.0
    for name in views:
        point_camera(name, 1.0)
        drawn = render_image(figure, (width, height), transparent=True, multisamples=0,
                             _redraw=False)[..., 3] > 0
        ys, xs = np.nonzero(drawn)
        if xs.size == 0:
            continue
        # One probe pixel of slack: the probe is coarse.
        fx = (max(abs(xs.min() - half[0]), abs(xs.max() + 1 - half[0])) + 1) / half[0]
        fy = (max(abs(ys.min() - half[1]), abs(ys.max() + 1 - half[1])) + 1) / half[1]
        coverage = max(coverage, fx, fy)
    if coverage <= 0:
        return 1.0
    return float(np.clip(1.0 / (coverage * _MARGIN), 1.0, 20.0))


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
                   title=None, panel_labels=True, panel_aspect=None, multisamples=4, fit="content"):
    """Render a montage and return ``(pixels, layout)``; see :func:`save_montage`.

    Returns
    -------
    pixels : ndarray (height, width, 3 or 4) uint8
    layout : dict
        Boxes ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive): ``"panels"``
        (one per view), ``"labels"``, ``"title"`` and ``"colorbar"`` (None when
        absent), plus ``"dpi"``, ``"distance"`` (shared camera distance, mm)
        and ``"views"``.
    """
    from PIL import Image, ImageDraw

    from . import views as views_module

    views = _check_views(views)
    if fit not in ("content", "bounds"):
        raise ParameterError(f"fit must be 'content' or 'bounds'; got {fit!r}")
    figure, scene = _scene(figure)
    n = len(views)
    if ncols is None:
        ncols = n if n <= 3 else int(np.ceil(n / 2))
    ncols = int(ncols)
    if ncols < 1:
        raise ParameterError(f"ncols must be at least 1; got {ncols}")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    spec = None if colorbar is None else colorbar_spec(colorbar, colorbar_title)

    bounds = views_module.scene_bounds(figure)
    camera = scene.camera
    extents = _view_extents(views, bounds, camera.view_angle)
    if panel_aspect is None:
        panel_aspect = _auto_aspect(extents)
    panel_aspect = float(panel_aspect)
    if not np.isfinite(panel_aspect) or panel_aspect <= 0:
        raise ParameterError(f"panel_aspect must be a positive number; got {panel_aspect!r}")

    # The total size: a width from size or width_mm/dpi, and the height from
    # the layout unless size gives it.
    grid_aspect = ncols * panel_aspect / nrows
    auto_height = size is None or size[1] is None
    if size is not None and size[1] is None:
        width, _, dpi = resolve_size((size[0], 1), None, None, dpi)
    else:
        width, height, dpi = resolve_size(size, width_mm, None, dpi, aspect=grid_aspect)
    if dpi is not None:
        fs = _LABEL_PT * dpi / 72.0
        title_fs = _TITLE_PT * dpi / 72.0
    else:
        fs = max(10.0, width / 70.0)
        title_fs = fs * _TITLE_PT / _LABEL_PT
    font, title_font = _font(fs), _font(title_fs)
    fs, title_fs = font.size, title_font.size
    pad = max(2, int(round(0.4 * fs)))
    title_h = int(round(1.6 * title_fs)) + pad if title else 0
    label_h = int(round(1.5 * fs)) if panel_labels else 0
    cbar_h = _colorbar_height(spec, fs) + 2 * pad if spec is not None else 0
    col_edges = [int(round(i * width / ncols)) for i in range(ncols + 1)]
    panel_w = min(col_edges[i + 1] - col_edges[i] for i in range(ncols))
    if auto_height:
        panel_h = int(round(panel_w / panel_aspect))
        height = title_h + nrows * (label_h + panel_h) + cbar_h
    else:
        panel_h = (height - title_h - cbar_h) // nrows - label_h

    _check_pixels(width, height, "montage size")
    if panel_h < 1 or panel_w < 1:
        raise ParameterError(
            f"The montage size {width} x {height} leaves no room for {nrows} row(s) of panels; "
            "make it larger"
        )

    # One camera distance for every view, for the panels' aspect ratio.
    aspect = panel_w / panel_h
    distance = _shared_distance(extents, aspect, camera.view_angle)
    parallel = _shared_parallel_scale(extents, aspect)

    state = _WindowState(scene)
    had_medial = any(name.startswith("medial") for name in views)
    view_angle = float(camera.view_angle)

    def point_camera(name, zoom):
        views_module.set_view(figure, name, distance=distance, bounds=bounds, render=False)
        if camera.parallel_projection:
            camera.parallel_scale = parallel / zoom
        else:
            # A narrower view angle scales the image exactly (a dolly would
            # also change the perspective), the same for every panel.
            camera.view_angle = float(np.degrees(2 * np.arctan(np.tan(np.radians(view_angle) / 2) / zoom)))

    panels = []
    try:
        zoom = _content_zoom(figure, views, point_camera, aspect) if fit == "content" else 1.0
        for name in views:
            point_camera(name, zoom)
            panels.append(render_image(figure, (panel_w, panel_h), transparent=transparent,
                                       multisamples=multisamples, _redraw=False))
    finally:
        if had_medial:
            # A medial view clips the other hemisphere until the next view is set.
            views_module.set_view(figure, "superior", bounds=bounds, render=False)
        state.restore()

    bg = tuple(int(round(255 * c)) for c in scene.background)
    light_bg = transparent or (0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]) > 127
    ink = (0, 0, 0, 255) if light_bg else (255, 255, 255, 255)
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0) if transparent else bg + (255,))
    draw = ImageDraw.Draw(canvas)
    layout = {"panels": [], "labels": [], "title": None, "colorbar": None, "dpi": dpi,
              "distance": distance, "zoom": zoom, "views": views}
    if title:
        draw.text((width / 2, pad), str(title), fill=ink, font=title_font, anchor="ma")
        layout["title"] = (0, 0, width, title_h)
    for i, (name, pixels) in enumerate(zip(views, panels)):
        row, col = divmod(i, ncols)
        x0 = col_edges[col] + (col_edges[col + 1] - col_edges[col] - panel_w) // 2
        y0 = title_h + row * (label_h + panel_h)
        if panel_labels:
            label = _PANEL_LABELS.get(name, name)
            draw.text((x0 + panel_w / 2, y0 + label_h / 2), label, fill=ink, font=font, anchor="mm")
            layout["labels"].append((x0, y0, x0 + panel_w, y0 + label_h))
        tile = Image.fromarray(pixels, mode="RGBA" if pixels.shape[2] == 4 else "RGB").convert("RGBA")
        canvas.paste(tile, (x0, y0 + label_h))
        layout["panels"].append((x0, y0 + label_h, x0 + panel_w, y0 + label_h + panel_h))
    if spec is not None:
        bar_w = int(round(width * 0.5))
        cx0 = (width - bar_w) // 2
        cy0 = height - cbar_h + pad
        box = (cx0, cy0, cx0 + bar_w, height - pad)
        _draw_colorbar(canvas, draw, spec, box, font, ink)
        layout["colorbar"] = box
    mode = "RGBA" if transparent else "RGB"
    return np.asarray(canvas.convert(mode)), layout


def save_montage(path, figure=None, views=("left", "right", "superior"), ncols=None, size=None,
                 width_mm=None, dpi=None, transparent=False, colorbar=None, colorbar_title=None,
                 title=None, panel_labels=True, panel_aspect=None, multisamples=4, fit="content"):
    """Write several named views of ``figure`` in a grid, with one shared colour bar.

    Parameters
    ----------
    path : str or path-like
        Output file: ``.png``, ``.tif``/``.tiff`` or ``.jpg``/``.jpeg``.
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
        Transparent background (PNG, TIFF), text in black.
    colorbar : dict, visual or Mayavi module, optional
        What the shared colour bar shows (see :func:`colorbar_spec`); drawn in
        its own strip under the panels, so it never overlaps a brain.
    colorbar_title : str, optional
        Title over the colour bar (default: the one found in ``colorbar``).
    title : str, optional
        Figure title, in a strip above the panels.
    panel_labels : bool, default=True
        Write each view's name above its panel.
    panel_aspect : float, optional
        Width / height of a panel; by default from the scene bounds.
    multisamples : int, default=4
        Anti-aliasing samples per pixel.
    fit : {"content", "bounds"}, default="content"
        "bounds" frames the actors' bounding box (slices included, however
        transparent their background); "content" then zooms in, by the same
        factor in every panel, until what is drawn in the widest view just
        fits (found with a small probe render of each view).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ParameterError
        Unknown view name, bad size; see also :func:`brainviz.scene.export.savefig`.
    ExportError
        Unwritable path or unknown/vector extension (montages are raster).

    Notes
    -----
    Every panel uses the same camera distance, view angle (and parallel
    scale), computed from the scene bounds and, with ``fit="content"``, the
    drawn pixels, so that the widest view just fits: the brain has the same
    size in every panel.
    """
    path, ext = check_output_path(path, transparent=transparent, montage=True)
    pixels, layout = render_montage(
        figure, views, ncols=ncols, size=size, width_mm=width_mm, dpi=dpi,
        transparent=transparent, colorbar=colorbar, colorbar_title=colorbar_title, title=title,
        panel_labels=panel_labels, panel_aspect=panel_aspect, multisamples=multisamples, fit=fit,
    )
    return write_image(pixels, path, dpi=layout["dpi"])
