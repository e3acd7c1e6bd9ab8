"""Figures that need no editing: VTK renders the brains, matplotlib lays out everything else.

:func:`compose_figure` is the one way a finished figure is made, for
``brainviz render``, :func:`brainviz.mlab.savefig` / :func:`~brainviz.mlab.montage`
and the window's export dialog:

- each panel (one view, or several named views) is rendered by
  :func:`brainviz.scene.export.render_image` with the camera *autocropped*: a small
  probe render finds what is drawn, the camera is centred on it and zoomed so that
  it fills the panel up to ``margin`` (the same zoom in every panel of a montage);
- slices seen edge-on (the axial and coronal planes in a lateral view...) are hidden
  while the panels render, so no slice shows as a "needle";
- text and colour bars are matplotlib artists *outside* the panels: over each panel a
  strip with the view's name, the coordinate of the slice facing the camera
  (``x = 39``) and L/R on the sides where they apply; one colour bar per shown map
  (the threshold band greyed and its values marked); one legend per figure for the
  connectome networks and the named regions (never over a brain); the title on top;
- text is black on light backgrounds, white on dark ones (``dark``), and black with
  a white outline on transparent ones, so it reads on whatever the figure is put;
- raster files (PNG, TIFF, JPEG) are written with Pillow (DPI in the file); PDF, SVG
  and EPS by matplotlib, with the panels embedded as images at the requested DPI and
  the colour bars, ticks and text as vectors (SVG text stays text).
"""
import contextlib
from pathlib import Path

import numpy as np

from ..exceptions import ParameterError
from . import _montage
from ._base import reset_clipping, set_slice_positions
from ._render import _check_pixels, _scene, _WindowState, render_image, resolve_size
from ._writers import EXPORT_FORMATS, _replace, _temporary_path, check_output_path, write_image

__all__ = ["compose_figure", "save_figure", "figure_pixels", "colorbar_specs", "legend_entries",
           "DEFAULT_MARGIN"]

#: Room left around the drawn content of each panel, as a fraction of the panel.
DEFAULT_MARGIN = 0.05

# Font sizes in points.
_LABEL_PT = 8.0
_TITLE_PT = 10.0
_TICK_PT = 7.0

# A slice whose normal makes a larger angle than this with the view direction is
# seen (nearly) edge-on: hidden while the panels render.
_EDGE_ON_COS = 0.2


# --------------------------------------------------------------------------- scene state
def _binding(figure):
    from .binding import binding_for

    return binding_for(figure)


def _slice_visuals(binding):
    """Visuals with three slices (x, y, z) that are shown."""
    if binding is None:
        return []
    out = []
    for layer, visual in binding.visuals.items():
        slices = getattr(visual, "slices", None)
        if slices and getattr(visual, "visible", True) and getattr(visual, "show_slices", True) \
                and getattr(layer, "visible", True):
            out.append(visual)
    return out


def _view_direction(camera):
    pos = np.asarray(camera.position, dtype=float)
    focal = np.asarray(camera.focal_point, dtype=float)
    d = pos - focal
    return d / max(np.linalg.norm(d), 1e-12)


@contextlib.contextmanager
def _hidden(actors):
    """Hide VTK props for the renders of a figure (the composer draws them itself)."""
    saved = []
    for actor in actors:
        if actor is None:
            continue
        try:
            saved.append((actor, actor.visibility))
            actor.visibility = False
        except AttributeError:
            continue
    try:
        yield
    finally:
        for actor, visible in saved:
            actor.visibility = visible


def _overlay_actors(figure, binding):
    """The 2D props drawn in the scene that the figure draws itself: colour bars, legends,
    the title."""
    actors = []
    if binding is not None:
        actors.append(getattr(binding, "_title_actor", None))
        for visual in binding.visuals.values():
            for name in ("scalar_bar", "legend_actor", "legend"):
                actors.append(getattr(visual, name, None))
    return [a for a in actors if a is not None]


def _slice_actors(binding):
    """(axis, texture actor) of every slice of the shown slice visuals."""
    out = []
    for visual in _slice_visuals(binding):
        for group in (visual.slices, getattr(visual, "back_slices", []) or []):
            for plane in group:
                out.append((plane.axis, plane.actor))
    return out


@contextlib.contextmanager
def hide_edge_on_slices(figure, binding=None):
    """While inside, hide before every render the slices the camera sees (nearly) edge-on.

    Used for every panel of a figure and every frame of a movie, whatever the camera.
    """
    binding = _binding(figure) if binding is None else binding
    pairs = _slice_actors(binding)
    if not pairs:
        yield
        return
    from tvtk.api import tvtk

    renderer = tvtk.to_vtk(figure.scene.renderer)
    saved = [(actor, actor.GetVisibility()) for _, actor in pairs]

    def before_render(obj, event):
        direction = _view_direction(figure.scene.camera)
        for (axis, actor), (_, was) in zip(pairs, saved):
            actor.SetVisibility(int(bool(was) and abs(direction[axis]) >= _EDGE_ON_COS))

    tag = renderer.AddObserver("StartEvent", before_render)
    try:
        yield
    finally:
        renderer.RemoveObserver(tag)
        for actor, was in saved:
            actor.SetVisibility(was)


#: In a panel facing a map's slice with a connectome mostly in front of it, the nodes farther
#: than this (mm) in front of the slice are left out, with their edges.
GRAPH_SLAB_MM = 15.0


def _shows_map_on_slices(binding):
    from .. import model

    return any(isinstance(layer, model.StatMapLayer) and layer.visible and layer.show_slices
               and not isinstance(layer, model.MaskLayer) for layer in binding.session.layers)


def _mostly_in_front(coords, binding, direction):
    """Whether most of ``coords`` lie between the camera and the slice facing it."""
    axis = int(np.argmax(np.abs(direction)))
    side = np.sign(direction[axis])  # the camera is on this side of the slice
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    if not len(coords):
        return False
    ahead = side * (coords[:, axis] - _slice_position(binding, direction, axis)) > 0
    return bool(ahead.mean() > 0.5)


#: How far from the midline (mm) the cursor must be for a lateral view from the other side
#: to show the mirrored sagittal slice (:func:`_sagittal_for_view`).
MIDLINE_MM = 2.0


def _sagittal_for_view(binding, direction):
    """The x (mm) of the sagittal slices in a panel looking from ``direction``: the cursor's,
    or its mirror when the camera looks from the other hemisphere; None when the panel does
    not face the sagittal slice.

    A lateral view shows the hemisphere facing the camera, as nilearn's and MRIcroGL's
    left and right views do. With the cursor in the right hemisphere (the peak at x = 39),
    the left view would look through the whole left hemisphere (its blobs, its connectome)
    at a slice of the right one: it shows the slice at x = -39 instead, and says so.
    """
    if binding is None or not _slice_visuals(binding) or abs(direction[0]) < 0.9:
        return None
    x = float(binding.session.cursor[0])
    if x * direction[0] < 0 and abs(x) >= MIDLINE_MM:  # the camera and the slice on two sides
        return -x
    return x


def _slice_position(binding, direction, axis):
    """Where the panel looking from ``direction`` draws the slices across ``axis`` (mm)."""
    if axis == 0:
        x = _sagittal_for_view(binding, direction)
        if x is not None:
            return x
    return float(binding.session.cursor[axis])


@contextlib.contextmanager
def _sagittal_at(binding, x):
    """While inside, the sagittal slices are drawn at ``x`` mm (None: where they are); the
    session's cursor does not move, and the slices go back on the way out."""
    shift = 0.0 if binding is None or x is None else x - float(binding.session.cursor[0])
    if shift == 0.0:
        yield
        return
    saved = []
    for visual in _slice_visuals(binding):
        for group in (visual.slices, getattr(visual, "back_slices", []) or []):
            if group:  # x, y, z: a map's planes sit a hair off the cursor, kept
                plane = group[0]
                saved.append((plane, plane.position))
                set_slice_positions([plane], [saved[-1][1] + shift])
    if saved:
        reset_clipping(binding.figure)
    try:
        yield
    finally:
        for plane, position in saved:
            set_slice_positions([plane], [position])
        if saved:
            reset_clipping(binding.figure)


@contextlib.contextmanager
def _graphs_near_slice(binding, direction):
    """In a panel that faces a slice showing a map (the posterior view of a coronal slice
    through the motor cortex...), a connectome lying mostly between the camera and that
    slice hides the map behind a tangle of tubes. For that panel only, its nodes more than
    :data:`GRAPH_SLAB_MM` in front of the slice are left out, with their edges; the nodes
    near the slice and behind it stay as they are (the panels where the graph lies mostly
    behind the slice keep all of it).

    Drawing the whole graph see-through instead (the earlier rule) still left a faded
    tangle of nodes and tubes over the map, and the nodes near the slice, the ones that
    belong with it, faded with the rest."""
    if binding is None or not _facing_slice(binding, direction) or \
            not _shows_map_on_slices(binding):
        yield
        return
    from .connectome import ConnectomeVisual

    axis = int(np.argmax(np.abs(direction)))
    side = np.sign(direction[axis])  # the camera is on this side of the slice
    position = _slice_position(binding, direction, axis)
    with contextlib.ExitStack() as stack:
        for visual in binding.visuals.values():
            if not isinstance(visual, ConnectomeVisual) or \
                    not _mostly_in_front(visual.coords, binding, direction):
                continue
            ahead = side * (np.asarray(visual.coords, dtype=float)[:, axis] - position)
            stack.enter_context(visual.only_nodes(ahead <= GRAPH_SLAB_MM))
        yield


def _facing_slice(binding, direction):
    """``"x = 39"`` for the slice facing the camera (|cos| > 0.9), or ""."""
    if not _slice_visuals(binding):
        return ""
    axis = int(np.argmax(np.abs(direction)))
    if abs(direction[axis]) < 0.9:
        return ""
    value = _slice_position(binding, direction, axis)
    text = f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return f"{'xyz'[axis]} = {text}"


def _lr_sides(camera):
    """("L", "R") when the subject's left is on the image left, ("R", "L") when on the right,
    None for lateral views (the left-right axis points at the camera)."""
    direction = _view_direction(camera)
    up = np.asarray(camera.view_up, dtype=float)
    right = np.cross(-direction, up)
    right /= max(np.linalg.norm(right), 1e-12)
    if right[0] > 0.7:
        return ("L", "R")
    if right[0] < -0.7:
        return ("R", "L")
    return None


# --------------------------------------------------------------------------- colour bars, legends
def colorbar_specs(binding, selected=None):
    """Colour bar descriptions (:func:`brainviz.scene._montage.colorbar_spec`) of every shown map
    of a scene (statistical maps, surfaces and glass brains with values, in layer order), or of
    its shown connectome(s) when there is no map."""
    from .. import model

    if binding is None:
        return []
    specs = []
    for kinds in ((model.StatMapLayer, model.SurfaceLayer, model.GlassBrainLayer),
                  (model.ConnectomeLayer,)):
        for layer in binding.session.layers:
            if not isinstance(layer, kinds) or isinstance(layer, model.MaskLayer):
                continue
            visual = binding.visuals.get(layer)
            if visual is None or not layer.visible:
                continue
            if isinstance(layer, (model.SurfaceLayer, model.GlassBrainLayer)) \
                    and not binding._has_values(layer):
                continue
            if isinstance(layer, model.StatMapLayer) and not (layer.show_slices
                                                              or layer.show_isosurface):
                continue
            if isinstance(layer, model.ConnectomeLayer) and not visual.n_edges_shown:
                continue
            spec = _montage.colorbar_spec(visual)
            if isinstance(layer, model.ConnectomeLayer) and not spec.get("title"):
                spec["title"] = f"{layer.name}: edge weight"
            specs.append(spec)
        if specs:
            break
    return specs


def legend_entries(binding):
    """``[(heading, [(name, rgb), ...])]``: the networks of shown connectomes (nodes coloured by
    network) and the named regions of shown region layers."""
    from .. import model

    out = []
    if binding is None:
        return out
    for layer, visual in binding.visuals.items():
        if not layer.visible:
            continue
        if isinstance(layer, model.ConnectomeLayer) and layer.show_nodes:
            colors = dict(getattr(visual, "network_colors", {}) or {})
            if colors:
                out.append((f"{layer.name}: networks", list(colors.items())))
        elif isinstance(layer, model.LabelLayer):
            colors = visual.colors()
            ids = [i for i in visual.region_ids if visual.region in (-1, i)]
            entries = [(visual.names.get(i, str(i)), colors[i]) for i in ids if i in colors]
            if entries:
                out.append((layer.name, entries))
    return out


# --------------------------------------------------------------------------- cameras
def _probe_box(figure, width, height):
    """(x0, y0, x1, y1) of the drawn pixels of a small transparent render, or None."""
    drawn = render_image(figure, (width, height), transparent=True, multisamples=0,
                         _redraw=False)[..., 3] > 8
    ys, xs = np.nonzero(drawn)
    if xs.size == 0:
        return None
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def _pan(camera, dx_ndc, dy_ndc, aspect):
    """Move the camera in its view plane by a fraction of the half view (NDC units)."""
    position = np.asarray(camera.position, float)
    focal = np.asarray(camera.focal_point, float)
    direction = focal - position
    distance = np.linalg.norm(direction)
    direction /= max(distance, 1e-12)
    up = np.asarray(camera.view_up, float)
    right = np.cross(direction, up)
    right /= max(np.linalg.norm(right), 1e-12)
    # the screen's up: the camera's view-up need not be orthogonal to its direction
    # (a session may store (0, 0, 1) for an oblique view; VTK orthogonalises it to draw)
    up = np.cross(right, direction)
    if camera.parallel_projection:
        half_h = camera.parallel_scale
    else:
        half_h = distance * np.tan(np.radians(camera.view_angle) / 2)
    shift = right * dx_ndc * half_h * aspect + up * dy_ndc * half_h
    camera.position = tuple(position + shift)
    camera.focal_point = tuple(focal + shift)


def _zoom(camera, factor, base_angle, base_scale):
    if camera.parallel_projection:
        camera.parallel_scale = base_scale / factor
    else:
        camera.view_angle = float(np.degrees(2 * np.arctan(np.tan(np.radians(base_angle) / 2) / factor)))


# --------------------------------------------------------------------------- layout
def _text_width(text, px):
    """Width in pixels of ``text`` at ``px`` font size (a sans-serif average)."""
    return 0.58 * px * len(str(text))


def _ink(dark, transparent, background):
    from ..backend.displays import text_color_for

    if dark:
        return (1.0, 1.0, 1.0)
    if transparent:
        return (0.0, 0.0, 0.0)
    return text_color_for(background)


def _fmt(value):
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text


def _colorbar_ticks(spec, width_px, fs):
    """Tick values: the ends, zero and the threshold(s), leaving out any label that would
    touch one already placed (the ends first, then zero, then the threshold)."""
    vmin, vmax, thr = spec["vmin"], spec["vmax"], spec["threshold"]
    ticks = [vmin, vmax]
    if vmin < 0 < vmax:
        ticks.append(0.0)
    if thr is not None:
        ticks += [t for t in ((-thr, thr) if spec.get("two_sided", True) else (thr,))
                  if vmin < t < vmax]
    order = sorted(set(ticks), key=lambda v: (v not in (vmin, vmax), v != 0.0, v))
    placed, kept = [], []
    for value in order:
        x = (value - vmin) / (vmax - vmin) * width_px
        w = _text_width(_fmt(value), fs)
        left = x if value == vmin else (x - w if value == vmax else x - w / 2)
        if any(left < r + 0.4 * fs and l < left + w + 0.4 * fs for l, r in placed):
            continue
        placed.append((left, left + w))
        kept.append(value)
    return sorted(kept)


def _colorbar_row(spec, width):
    """The colour bar's colours along ``width`` samples, the threshold band grey."""
    lut = np.asarray(spec["lut"])[:, :3]
    vmin, vmax, thr = spec["vmin"], spec["vmax"], spec["threshold"]
    values = vmin + (np.arange(width) + 0.5) / width * (vmax - vmin)
    index = np.clip(((values - vmin) / (vmax - vmin) * len(lut)).astype(int), 0, len(lut) - 1)
    row = lut[index].astype(np.uint8)
    if thr is not None:
        hidden = (np.abs(values) if spec.get("two_sided", True) else values) < thr
        row[hidden] = (200, 200, 200)
    return row


# --------------------------------------------------------------------------- the figure
def compose_figure(figure=None, views=None, *, size=None, width_mm=None, dpi=None,
                   transparent=False, dark=False, colorbar="auto", colorbar_title=None,
                   legend=True, panel_labels=None, annotate=True, margin=DEFAULT_MARGIN,
                   zoom=1.0, fit="content", title=None, font=None, ncols=None,
                   panel_aspect=None, multisamples=4, release=False, render_panels=True):
    """Render the panels of a figure and lay them out with their text; see the module docstring.

    Parameters
    ----------
    figure : mayavi Scene, optional
        A figure drawing a session (``brainviz.mlab.figure()``, the window's,
        :func:`brainviz.scene.binding.draw_session`); the current one by default. A figure
        with no session still works (no slice labels, legends or automatic colour bars).
    views : sequence of str or str, optional
        Named views (:data:`brainviz.scene.views.VIEWS`), one panel each; None: one panel
        with the figure's own camera.
    size : (int, int) or (int, None), optional
        Total size in pixels; with a height of None the height follows the layout.
    width_mm, dpi : float, optional
        Physical width and resolution; fonts are sized in points at this DPI.
    transparent : bool, default=False
        Transparent background; the text gets a white outline so it reads on any colour.
    dark : bool, default=False
        Black background, white text.
    colorbar : "auto", None, dict, visual or list of them, default="auto"
        "auto": one colour bar per shown map (or for the connectome without maps).
    colorbar_title : str, optional
        Title of the (first) colour bar.
    legend : bool, default=True
        The networks of connectome nodes and the named regions, once per figure.
    panel_labels : bool, optional
        The view's name over each panel (default: with several views).
    annotate : bool, default=True
        Slice coordinates and L/R over the panels.
    margin : float, default=0.05
        Room around the content of each panel (a fraction of the panel).
    zoom : float, default=1.0
        Extra zoom after the autocrop (> 1 is closer).
    fit : {"content", "bounds", "none"}, default="content"
        "content": autocrop to what is drawn; "bounds": frame the actors' bounds (named
        views only); "none": the camera as it is (single view only).
    title : str, optional
        Figure title (default: the session's title).
    font : str, optional
        Font family (``brainviz.backend.displays.pick_font``).
    ncols, panel_aspect, multisamples
        As :func:`brainviz.scene._montage.save_montage`.
    render_panels : bool, default=True
        False: the panels are left the background's colour, for a caller that renders
        them itself (a movie renders its panel again for every frame).
    release : bool, default=False
        Free the graphics memory of the figure's window (its OpenGL context) once the
        panels are rendered, before the text is laid out: for a process that renders
        nothing more (``brainviz render``). The window renders again when asked, with a
        new context.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Its size in pixels is the figure's; its DPI the one fonts were sized with.
    layout : dict
        Boxes ``(x0, y0, x1, y1)`` in pixels (top-left origin, x1/y1 exclusive):
        ``"panels"``, ``"labels"`` (the strips over the panels), ``"title"``,
        ``"colorbar"`` (the first) and ``"colorbars"``, ``"legend"``; per panel
        ``"lr"`` (``{"L": box, "R": box}`` or None) and ``"slice_labels"``; plus
        ``"dpi"`` (asked, for the file), ``"figure_dpi"``, ``"zoom"``, ``"views"``,
        ``"cameras"`` (each panel's camera as rendered), ``"text_color"``.
    """
    from . import views as views_module

    figure, scene = _scene(figure)
    binding = _binding(figure)
    single = views is None
    if not single:
        views = _montage._check_views(views)
    if fit not in ("content", "bounds", "none"):
        raise ParameterError(f"fit must be 'content', 'bounds' or 'none'; got {fit!r}")
    margin = float(margin)
    if not 0 <= margin < 0.45:
        raise ParameterError(f"margin must be between 0 and 0.45 (a fraction of the panel); "
                             f"got {margin!r}")
    zoom = float(zoom)
    if not np.isfinite(zoom) or zoom <= 0:
        raise ParameterError(f"zoom must be a positive number; got {zoom!r}")
    n = 1 if single else len(views)
    if ncols is None:
        ncols = n if n <= 3 else int(np.ceil(n / 2))
    ncols = min(int(ncols), n)
    if ncols < 1:
        raise ParameterError(f"ncols must be at least 1; got {ncols}")
    nrows = int(np.ceil(n / ncols))
    if panel_labels is None:
        panel_labels = not single

    # -- what to draw around the panels
    if colorbar == "auto":
        specs = colorbar_specs(binding)
    elif colorbar is None or colorbar is False:
        specs = []
    else:
        items = colorbar if isinstance(colorbar, (list, tuple)) else [colorbar]
        specs = [_montage.colorbar_spec(item) for item in items]
    if specs and colorbar_title is not None:
        specs[0]["title"] = colorbar_title
    legends = legend_entries(binding) if legend else []
    if title is None and binding is not None:
        title = binding.session.title or None
    background = (0.0, 0.0, 0.0) if dark else tuple(scene.background)
    ink = _ink(dark, transparent, background)

    # -- sizes
    camera = scene.camera
    bounds = views_module.scene_bounds(figure)
    if single:
        win_w, win_h = (int(v) for v in scene.render_window.size)
        aspect_default = win_w / win_h if win_h else 4 / 3
    else:
        extents = _montage._view_extents(views, bounds, camera.view_angle)
        aspect_default = _montage._auto_aspect(extents)
    panel_aspect = float(panel_aspect or aspect_default)
    if not np.isfinite(panel_aspect) or panel_aspect <= 0:
        raise ParameterError(f"panel_aspect must be a positive number; got {panel_aspect!r}")
    # a montage's height follows its layout; a single view keeps the height asked for (or the
    # window's aspect ratio), so that its text and colour bar take room from the panel
    auto_height = size is None or size[1] is None
    if single and size is None and width_mm is not None:
        auto_height = False
    if size is not None and size[1] is None:
        width, _, dpi = resolve_size((size[0], 1), None, None, dpi)
    elif size is None and width_mm is None:
        width, dpi = (800 if n == 1 else _montage.DEFAULT_MONTAGE_WIDTH), dpi
        if dpi is not None:
            dpi = float(dpi)
    else:
        width, height, dpi = resolve_size(size, width_mm, None, dpi,
                                          aspect=ncols * panel_aspect / nrows)
    figure_dpi = float(dpi) if dpi is not None else float(np.clip(width / 8.0, 72.0, 200.0))
    px = figure_dpi / 72.0
    fs, title_fs, tick_fs = _LABEL_PT * px, _TITLE_PT * px, _TICK_PT * px
    pad = max(2, int(round(0.4 * fs)))

    # -- per panel: the cameras (named views or the figure's), texts over the panel
    state = _WindowState(scene)
    cameras = []  # dicts to restore per panel

    if not single:
        # one camera distance for every view: the same scale in every panel
        shared_distance = _montage._shared_distance(extents, panel_aspect, camera.view_angle)
        shared_scale = _montage._shared_parallel_scale(extents, panel_aspect)

    def name_camera(name):
        if name is not None:
            views_module.set_view(figure, name, distance=shared_distance, bounds=bounds,
                                  render=False)
            if camera.parallel_projection:
                camera.parallel_scale = shared_scale
        return {k: tuple(getattr(camera, k)) if k != "view_angle" and k != "parallel_scale"
                else getattr(camera, k)
                for k in ("position", "focal_point", "view_up", "view_angle", "parallel_scale")}

    def apply(cam):
        for key, value in cam.items():
            setattr(camera, key, value)
        tvtk_renderer = scene.renderer
        tvtk_renderer.reset_camera_clipping_range()

    names = [None] if single else list(views)
    strip_texts = []
    for name in names:
        cam = name_camera(name) if name is not None else name_camera(None)
        cameras.append(cam)
        apply(cam)
        direction = _view_direction(camera)
        label = _montage._PANEL_LABELS.get(name, name) if (panel_labels and name) else ""
        coord = _facing_slice(binding, direction) if annotate else ""
        lr = _lr_sides(camera) if annotate else None
        strip_texts.append((label, coord, lr))
    label_h = int(round(1.6 * fs)) if any(a or b or c for a, b, c in strip_texts) else 0
    title_h = int(round(1.8 * title_fs)) + pad if title else 0
    cbar_h = (int(round(1.4 * tick_fs)) + max(4, int(round(1.2 * fs))) + max(2, int(round(0.35 * fs)))
              + int(round(1.4 * tick_fs)) + 2 * pad) if specs else 0
    legend_rows, legend_layout = _legend_layout(legends, width, fs, pad)
    legend_h = int(round(legend_rows * 1.45 * fs)) + 2 * pad if legend_rows else 0
    col_edges = [int(round(i * width / ncols)) for i in range(ncols + 1)]
    panel_w = min(col_edges[i + 1] - col_edges[i] for i in range(ncols))
    if auto_height:
        panel_h = int(round(panel_w / panel_aspect))
        height = title_h + nrows * (label_h + panel_h) + legend_h + cbar_h
    else:
        panel_h = (height - title_h - legend_h - cbar_h) // nrows - label_h
        if legend_h and panel_h * nrows < 0.5 * height:
            # a figure too small for its legend keeps the brains (and says so)
            import warnings

            warnings.warn(f"The figure ({width} x {height} pixels) is too small for its legend: "
                          "left out; make it larger to have it", stacklevel=2)
            legend_h, legend_layout = 0, []
            panel_h = (height - title_h - cbar_h) // nrows - label_h
    _check_pixels(width, height, "figure size")
    if panel_h < 8 or panel_w < 8:
        raise ParameterError(f"The figure size {width} x {height} leaves no room for the panels "
                             "beside the text and colour bar; make it larger")

    # -- render the panels
    aspect = panel_w / panel_h
    panels = []
    used_zoom = 1.0
    try:
        with _hidden(_overlay_actors(figure, binding)), hide_edge_on_slices(figure, binding), \
                _background(scene, (0.0, 0.0, 0.0) if dark else None):
            # one probe per panel: the content's box; the panels share one zoom
            boxes = []
            probe_w = 192
            probe_h = max(8, int(round(probe_w / aspect)))
            if fit == "content":
                for cam in cameras:
                    apply(cam)
                    _zoom(camera, 1.0, cam["view_angle"], cam["parallel_scale"])
                    with _sagittal_at(binding, _sagittal_for_view(binding,
                                                                  _view_direction(camera))):
                        boxes.append(_probe_box(figure, probe_w, probe_h))
            need = 0.0
            for k, box in enumerate(boxes):
                if box is None:
                    continue
                x0, y0, x1, y1 = box
                # centre the content, then measure its half extent in NDC units
                cx = ((x0 + x1) / 2 - probe_w / 2) / (probe_w / 2)
                cy = -((y0 + y1) / 2 - probe_h / 2) / (probe_h / 2)
                apply(cameras[k])
                _pan(camera, cx, cy, aspect)
                cameras[k] = name_camera(None)
                half_w = (x1 - x0 + 1) / probe_w
                half_h = (y1 - y0 + 1) / probe_h
                need = max(need, half_w, half_h)
            if need > 0:
                used_zoom = float(np.clip((1 - 2 * margin) / need, 0.05, 50.0))
            used_zoom *= zoom
            final_cameras = []
            for cam in cameras:
                apply(cam)
                _zoom(camera, used_zoom, cam["view_angle"], cam["parallel_scale"])
                final_cameras.append(name_camera(None))
                if not render_panels:
                    fill = (0.0, 0.0, 0.0) if dark else background
                    panels.append(np.empty((panel_h, panel_w, 4 if transparent else 3), np.uint8))
                    panels[-1][...] = np.round(np.asarray(fill[:3] + ((0.0,) if transparent
                                                                      else ())) * 255)
                    continue
                direction = _view_direction(camera)
                with _sagittal_at(binding, _sagittal_for_view(binding, direction)), \
                        _graphs_near_slice(binding, direction):
                    panels.append(render_image(figure, (panel_w, panel_h),
                                               transparent=transparent,
                                               multisamples=multisamples, _redraw=False))
    finally:
        if any(name and name.startswith("medial") for name in names):
            views_module.set_view(figure, "superior", bounds=bounds, render=False)
        state.restore()

    if release:
        state.window.Finalize()  # see the docstring: a new OpenGL context at the next render

    # -- compose with matplotlib (imported only now: its memory comes after the renders')
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..backend.displays import _rc

    with matplotlib.rc_context(_rc(font, dark)):
        fig = Figure(figsize=(width / figure_dpi, height / figure_dpi), dpi=figure_dpi)
        FigureCanvasAgg(fig)
        fig.patch.set_facecolor((0, 0, 0, 0) if transparent else background)
        text_kw = _text_style(ink, transparent, px)
        layout = {"panels": [], "labels": [], "title": None, "colorbar": None, "colorbars": [],
                  "legend": None, "lr": [], "slice_labels": [], "dpi": dpi,
                  "figure_dpi": figure_dpi, "zoom": used_zoom, "views": names,
                  "cameras": final_cameras,
                  "text_color": ink, "size": (width, height)}

        def put_text(x, y, text, size, ha="center", va="center", weight="normal"):
            return fig.text(x / width, 1 - y / height, text, ha=ha, va=va, fontsize=size / px,
                            fontweight=weight, **text_kw)

        if title:
            put_text(width / 2, pad + title_fs * 0.7, str(title), title_fs, weight="bold")
            layout["title"] = (0, 0, width, title_h)
        for i, (pixels, (label, coord, lr)) in enumerate(zip(panels, strip_texts)):
            row, col = divmod(i, ncols)
            x0 = col_edges[col] + (col_edges[col + 1] - col_edges[col] - panel_w) // 2
            y0 = title_h + row * (label_h + panel_h)
            strip = (x0, y0, x0 + panel_w, y0 + label_h)
            middle = "   ".join(t for t in (label, coord) if t)
            if label_h:
                layout["labels"].append(strip)
                cy = y0 + label_h / 2
                if middle:
                    put_text(x0 + panel_w / 2, cy, middle, fs)
                boxes = None
                if lr is not None:
                    # over the left and right ends of what is drawn in the panel
                    left, right = _content_columns(pixels, background, transparent)
                    w = _text_width("L", fs) + 2
                    lx = int(np.clip(x0 + left, x0 + pad, x0 + panel_w - pad - 2 * w))
                    rx = int(np.clip(x0 + right, lx + 2 * w, x0 + panel_w - pad))
                    put_text(lx, cy, lr[0], fs, ha="left", weight="bold")
                    put_text(rx, cy, lr[1], fs, ha="right", weight="bold")
                    boxes = {lr[0]: (lx, y0, int(lx + w), y0 + label_h),
                             lr[1]: (int(rx - w), y0, rx, y0 + label_h)}
                layout["lr"].append(boxes)
            else:
                layout["lr"].append(None)
            layout["slice_labels"].append(coord)
            top = y0 + label_h
            _add_panel(fig, pixels, x0, height - top - panel_h)
            layout["panels"].append((x0, top, x0 + panel_w, top + panel_h))
        y = title_h + nrows * (label_h + panel_h)
        if legend_h:
            layout["legend"] = (0, y, width, y + legend_h)
            _draw_legend(fig, legend_layout, y + pad, width, height, fs, px, text_kw, transparent)
            y += legend_h
        if specs:
            layout["colorbars"] = _draw_colorbars(fig, specs, (0, y, width, y + cbar_h), width,
                                                  height, fs, tick_fs, pad, ink, text_kw, px)
            layout["colorbar"] = layout["colorbars"][0]
    return fig, layout


_PANEL_IMAGE = []


def _add_panel(fig, pixels, xo, yo):
    """``fig.figimage(pixels, xo=xo, yo=yo, origin="upper", zorder=1)``, drawn on a raster
    canvas as the panel's own bytes when they are opaque.

    A figure image is drawn 1:1, but matplotlib's raster path still resamples it through
    float RGBA copies: 45 MB at the peak for one 800 x 530 panel, more than the rest of
    the figure. Transparent panels, vector output and other DPIs take matplotlib's own
    path.
    """
    if not _PANEL_IMAGE:
        from matplotlib.image import FigureImage
        from matplotlib.transforms import IdentityTransform

        class PanelImage(FigureImage):
            def make_image(self, renderer, magnification=1.0, unsampled=False):
                a = self._A
                fig_w, fig_h = self.figure.canvas.get_width_height()
                if (unsampled or magnification != 1.0 or renderer.dpi != self.figure.dpi
                        or self.get_alpha() is not None or a.dtype != np.uint8 or a.ndim != 3
                        or a.shape[2] != 3 or self.ox < 0 or self.oy < 0
                        or self.ox + a.shape[1] > fig_w or self.oy + a.shape[0] > fig_h):
                    return super().make_image(renderer, magnification, unsampled)
                rgba = np.empty(a.shape[:2] + (4,), np.uint8)
                rgba[..., :3] = a[::-1]  # bottom row first, as Agg draws them
                rgba[..., 3] = 255
                return rgba, self.ox, self.oy, IdentityTransform()

        _PANEL_IMAGE.append(PanelImage)
    image = _PANEL_IMAGE[0](fig, offsetx=xo, offsety=yo, origin="upper", zorder=1)
    image.set_array(pixels)
    fig.images.append(image)  # as Figure.figimage does
    image._remove_method = fig.images.remove
    return image


def _content_columns(pixels, background, transparent):
    """First and last column (panel pixels) where something is drawn."""
    if transparent and pixels.shape[2] == 4:
        drawn = pixels[..., 3] > 8
    else:
        bg = np.round(np.asarray(background[:3]) * 255)
        drawn = np.abs(pixels[..., :3].astype(int) - bg).max(axis=2) > 12
    cols = np.flatnonzero(drawn.any(axis=0))
    if cols.size == 0:
        return 0, pixels.shape[1]
    return int(cols[0]), int(cols[-1]) + 1


@contextlib.contextmanager
def _background(scene, color):
    if color is None:
        yield
        return
    old = tuple(scene.background)
    scene.background = color
    try:
        yield
    finally:
        scene.background = old


def _text_style(ink, transparent, px):
    style = {"color": ink}
    if transparent:
        from matplotlib import patheffects

        # black text with a white outline: it reads on light and dark backgrounds alike
        style["path_effects"] = [patheffects.withStroke(linewidth=max(1.5, 0.9 * px),
                                                        foreground="white")]
    return style


def _legend_layout(legends, width, fs, pad):
    """Rows of legend items: ``(rows, [(row, x, text, rgb or None)])`` (a heading has no
    colour).

    As few rows as fit ``width``, filled evenly: the narrowest width that keeps that
    number of rows lays them out, so a wrapped legend does not end in one item alone.
    """
    if not legends:
        return 0, []
    rows, items = _legend_rows(legends, width, fs, pad)
    if rows > 1:
        lo, hi = 0.0, float(width)
        while hi - lo > 1.0:  # the row count only grows as the width shrinks
            mid = (lo + hi) / 2
            if _legend_rows(legends, mid, fs, pad)[0] == rows:
                hi = mid
            else:
                lo = mid
        rows, items = _legend_rows(legends, hi, fs, pad)
    # each row centred, as the colour bar under it is: at 400 px a wrapped legend left
    # aligned sat at the figure's left edge with a third of the width empty on its right
    ends = {}
    for row, x, text, rgb in items:
        end = x + _legend_item_width(text, rgb, fs)
        lo, hi_end = ends.get(row, (x, end))
        ends[row] = (min(lo, x), max(hi_end, end))
    shift = {row: (width - (end - start)) / 2 - start for row, (start, end) in ends.items()}
    return rows, [(row, x + max(0.0, shift[row]), text, rgb) for row, x, text, rgb in items]


def _legend_item_width(text, rgb, fs):
    """The drawn width of a legend item: a heading's bold text, or a marker and its name."""
    if rgb is None:
        return 1.15 * _text_width(text, fs)  # bold is wider
    return 1.1 * fs + 0.4 * fs + _text_width(text, fs)


def _legend_rows(legends, width, fs, pad):
    """:func:`_legend_layout`'s rows, each filled as far as ``width`` allows."""
    items = []
    row, x = 0, pad
    marker = 1.1 * fs
    for heading, entries in legends:
        if x > pad:
            row, x = row + 1, pad
        items.append((row, x, heading + ":", None))
        x += 1.15 * _text_width(heading + ":", fs) + 1.2 * fs  # bold is wider
        for name, rgb in entries:
            w = marker + 0.4 * fs + _text_width(name, fs) + fs
            if x + w > width - pad and x > pad:
                row, x = row + 1, pad + fs
            items.append((row, x, str(name), tuple(float(c) for c in rgb)))
            x += w
    return row + 1, items


def _draw_legend(fig, items, top, width, height, fs, px, text_kw, transparent):
    from matplotlib.patches import Circle

    marker = 1.1 * fs
    for row, x, text, rgb in items:
        cy = top + (row + 0.5) * 1.45 * fs
        if rgb is None:
            fig.text(x / width, 1 - cy / height, text, ha="left", va="center",
                     fontsize=fs / px, fontweight="bold", **text_kw)
            continue
        # in inches (the figure's DPI scale), so the marker stays round
        fig.add_artist(Circle(((x + marker / 2) / fig.dpi, (height - cy) / fig.dpi),
                              marker / 2 / fig.dpi, transform=fig.dpi_scale_trans,
                              facecolor=rgb, edgecolor="0.3", lw=0.5))
        fig.text((x + marker + 0.4 * fs) / width, 1 - cy / height, text, ha="left",
                 va="center", fontsize=fs / px, **text_kw)


def _draw_colorbars(fig, specs, box, width, height, fs, tick_fs, pad, ink, text_kw, px):
    """One horizontal colour bar per spec, side by side in ``box``; returns their boxes."""
    x0, y0, x1, y1 = box
    n = len(specs)
    slot = (x1 - x0) / n
    bar_w = int(round(min(slot * 0.8, width * 0.5)))
    title_h = int(round(1.4 * tick_fs))
    bar_h = max(4, int(round(1.2 * fs)))
    out = []
    for k, spec in enumerate(specs):
        bx0 = int(round(x0 + k * slot + (slot - bar_w) / 2))
        by0 = y0 + pad + title_h
        ax = fig.add_axes([bx0 / width, 1 - (by0 + bar_h) / height, bar_w / width, bar_h / height])
        row = _colorbar_row(spec, 512)
        ax.imshow(row[None], extent=(spec["vmin"], spec["vmax"], 0, 1), aspect="auto",
                  interpolation="nearest")
        ax.set_yticks([])
        ticks = _colorbar_ticks(spec, bar_w, tick_fs)
        ax.set_xticks(ticks, [_fmt(t) for t in ticks], fontsize=tick_fs / px)
        ax.tick_params(axis="x", colors=ink, length=max(2.0, 0.35 * fs) / px, width=0.6,
                       pad=1.0)
        for label in ax.get_xticklabels():
            if "path_effects" in text_kw:
                label.set_path_effects(text_kw["path_effects"])
        for spine in ax.spines.values():
            spine.set_edgecolor(ink)
            spine.set_linewidth(0.6)
        ax.set_xlim(spec["vmin"], spec["vmax"])
        if spec.get("title"):
            fig.text((bx0 + bar_w / 2) / width, 1 - (y0 + pad + title_h / 2) / height,
                     str(spec["title"]), ha="center", va="center", fontsize=tick_fs / px,
                     **text_kw)
        # the bar's slot of the strip: the bar, its tick labels and its title
        out.append((int(round(x0 + k * slot)), y0, int(round(x0 + (k + 1) * slot)), y1))
    return out


# --------------------------------------------------------------------------- output
def figure_pixels(fig, transparent=False):
    """The composed figure as an (h, w, 3|4) uint8 array."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba()).copy()
    return rgba if transparent else rgba[..., :3].copy()


def save_figure(path, figure=None, views=None, **kwargs):
    """Compose (:func:`compose_figure`) and write a figure: PNG, TIFF, JPEG with Pillow (DPI in the
    file), PDF, SVG, EPS with matplotlib (panels as images at the DPI, text and colour bars as
    vectors). Nothing half-written is left on failure.

    Returns
    -------
    path : pathlib.Path
    """
    transparent = bool(kwargs.get("transparent", False))
    path, ext = check_output_path(path, transparent=transparent)
    fig, layout = compose_figure(figure, views, **kwargs)
    return write_composed(fig, layout, path, ext, transparent)


def write_composed(fig, layout, path, ext, transparent=False):
    """Write a composed figure to ``path`` (raster with Pillow, vector with matplotlib)."""
    if EXPORT_FORMATS[ext].raster:
        pixels = figure_pixels(fig, transparent=transparent)
        return write_image(pixels, path, dpi=layout["dpi"])
    import matplotlib

    tmp = _temporary_path(path)
    try:
        # text stays text (SVG) and editable TrueType (PDF, EPS)
        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}):
            fig.savefig(tmp, format=ext.lstrip("."), dpi=layout["figure_dpi"],
                        transparent=transparent, facecolor=fig.get_facecolor())
        _replace(tmp, path)
    finally:
        if Path(tmp).exists():
            Path(tmp).unlink()
    return Path(path)
