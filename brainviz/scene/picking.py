"""Picking: what is under the mouse, in millimetres, layer values, nodes and edges.

A click becomes a :class:`PickInfo`:

- ``position_mm``: the world point (mm, RAS+) on the surface that was hit
  (a slice, an isosurface, a tube...), or the picked node's centre when the
  click hit a node, or None when nothing was hit;
- ``values``: ``{layer name: value}`` from every registered layer that has a
  ``value_at(xyz_mm)`` method (the brainviz visuals do), NaN outside a layer;
- ``node``: ``(index, label, (x, y, z))`` of the node under the click, or None;
- ``edge``: ``(i, j, weight)`` of the drawn edge under the click, or None.

Nodes and edges are found in display space (pixels) from the connectome
visuals of the figure, so a click near a thin line still finds it: a node
when the click falls inside its projected sphere (plus a few pixels), else an
edge within a few pixels of its projected segment (nearest first).

The logic is reachable without a mouse: :func:`pick_at` picks at a display
position, and :func:`nearest_node` / :func:`nearest_edge` are pure numpy.
:func:`on_pick` wires a callback to left clicks in an interactive window.
"""
from collections import namedtuple

import numpy as np

from ..exceptions import ParameterError, SceneError

__all__ = ["PickInfo", "nearest_node", "nearest_edge", "pick_at", "on_pick", "remove_pick_callbacks",
           "world_to_display"]

#: Result of a pick; see the module docstring.
PickInfo = namedtuple("PickInfo", ["position_mm", "values", "node", "edge"])

# How close (pixels) a click must be to a projected node rim or an edge.
PIXEL_TOLERANCE = 4.0


def _points(values, name):
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2:
        raise ParameterError(f"{name} must be an (n, d) array of points; got shape {arr.shape}")
    return arr


def nearest_node(position, coords, max_distance=None, *, return_distance=False):
    """Index of the point of ``coords`` nearest to ``position``.

    Works in any dimension (world mm or display pixels).

    Parameters
    ----------
    position : array-like of shape (d,)
    coords : array-like of shape (n, d)
    max_distance : float or array of shape (n,), optional
        Only nodes within this distance (per node when an array) count.
    return_distance : bool, default=False
        Return ``(index, distance)`` instead of the index.

    Returns
    -------
    index : int or None
        None when there is no node (within ``max_distance``).

    Examples
    --------
    >>> from brainviz.scene.picking import nearest_node
    >>> nearest_node((1, 0, 0), [(0, 0, 0), (10, 0, 0)]), nearest_node((5, 5, 5), [(0, 0, 0)], max_distance=2)
    (0, None)
    """
    coords = _points(coords, "coords")
    pos = np.asarray(position, dtype=float).ravel()
    if len(coords) == 0:
        return None
    dist = np.linalg.norm(coords - pos, axis=1)
    ok = np.ones(len(dist), dtype=bool) if max_distance is None else dist <= np.asarray(max_distance, float)
    if not ok.any():
        return None
    # Among nodes in reach, the one whose centre is closest.
    idx = int(np.flatnonzero(ok)[np.argmin(dist[ok])])
    return (idx, float(dist[idx])) if return_distance else idx


def _segment_distances(pos, a, b):
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    t = np.where(denom > 0, np.einsum("ij,ij->i", pos - a, ab) / np.where(denom > 0, denom, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a + t[:, None] * ab
    return np.linalg.norm(closest - pos, axis=1)


def nearest_edge(position, coords, edges, max_distance=None, *, return_distance=False):
    """Index (into ``edges``) of the segment nearest to ``position``.

    Parameters
    ----------
    position : array-like of shape (d,)
    coords : array-like of shape (n, d)
        Node positions (world mm or display pixels).
    edges : array-like of shape (m, 2)
        Node index pairs ``(i, j)``.
    max_distance : float, optional
        Only segments within this distance count.
    return_distance : bool, default=False
        Return ``(index, distance)`` instead of the index.

    Returns
    -------
    index : int or None

    Examples
    --------
    >>> from brainviz.scene.picking import nearest_edge
    >>> coords = [(0, 0), (10, 0), (0, 10)]
    >>> nearest_edge((5, 1), coords, [(0, 2), (0, 1)])
    1
    """
    coords = _points(coords, "coords")
    edges = np.asarray(edges, dtype=int).reshape(-1, 2)
    pos = np.asarray(position, dtype=float).ravel()
    if len(edges) == 0:
        return None
    if edges.min() < 0 or edges.max() >= len(coords):
        raise ParameterError(f"edges refer to node indices outside 0..{len(coords) - 1}")
    dist = _segment_distances(pos, coords[edges[:, 0]], coords[edges[:, 1]])
    idx = int(np.argmin(dist))
    if max_distance is not None and dist[idx] > max_distance:
        return None
    return (idx, float(dist[idx])) if return_distance else idx


def _scene(figure):
    if figure is None:
        from mayavi import mlab

        figure = mlab.gcf()
    scene = getattr(figure, "scene", None)
    if scene is None or getattr(scene, "renderer", None) is None:
        raise SceneError(f"figure must be an open Mayavi figure (mlab.figure()); got {figure!r}")
    return figure, scene


def world_to_display(figure, xyz_mm):
    """Project world points (mm) to display pixels ``(x, y)`` (origin bottom-left, as VTK)."""
    _, scene = _scene(figure)
    pts = np.atleast_2d(np.asarray(xyz_mm, dtype=float))
    renderer = scene.renderer._vtk_obj if hasattr(scene.renderer, "_vtk_obj") else scene.renderer
    width, height = renderer.GetSize()
    # The composite matrix maps world to normalized view coordinates in one product.
    matrix = renderer.GetActiveCamera().GetCompositeProjectionTransformMatrix(renderer.GetTiledAspectRatio(), -1, 1)
    m = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    homog = np.column_stack([pts, np.ones(len(pts))]) @ m.T
    ndc = homog[:, :2] / homog[:, 3:4]
    x0, y0 = renderer.GetOrigin()
    display = np.column_stack([(ndc[:, 0] + 1) / 2 * width + x0, (ndc[:, 1] + 1) / 2 * height + y0])
    return display


def _layers(figure, layers):
    if layers is not None:
        return list(layers)
    from ._figure import figure_visuals

    return figure_visuals(figure)


def _layer_name(layer, k):
    return getattr(layer, "name", "") or f"{type(layer).__name__} {k}"


def _pixels_per_mm(figure, point):
    """Approximate pixels per mm at a world point (for the projected node radius)."""
    _, scene = _scene(figure)
    cam = scene.camera
    renderer = scene.renderer
    height = max(renderer.size[1], 1)
    if cam.parallel_projection:
        return height / (2.0 * cam.parallel_scale)
    dist = np.linalg.norm(np.asarray(point) - np.asarray(cam.position), axis=-1)
    return height / (2.0 * np.maximum(dist, 1e-6) * np.tan(np.radians(cam.view_angle) / 2.0))


def _graph_hit(figure, visual, display_xy):
    """(node, edge, node_depth) for one connectome visual at a display point."""
    if not getattr(visual, "visible", True) or not hasattr(visual, "shown_edges"):
        return None, None
    coords = visual.coords
    disp = world_to_display(figure, coords)
    node = None
    if getattr(visual, "show_nodes", True):
        size = np.broadcast_to(np.asarray(visual.node_size, float), (len(coords),))
        radius_px = size / 2 * _pixels_per_mm(figure, coords) + PIXEL_TOLERANCE
        idx = nearest_node(display_xy, disp, max_distance=radius_px)
        if idx is not None:
            node = (idx, visual.labels[idx], tuple(float(v) for v in coords[idx]))
    edge = None
    if node is None:
        i, j, w = visual.shown_edges()
        k = nearest_edge(display_xy, disp, np.column_stack([i, j]), max_distance=PIXEL_TOLERANCE + 2)
        if k is not None:
            edge = (int(i[k]), int(j[k]), float(w[k]))
    return node, edge


def pick_at(figure=None, display_xy=(0, 0), *, layers=None):
    """Pick at a display position, as a click there would.

    Parameters
    ----------
    figure : mayavi Scene, optional
        The figure; the current one by default.
    display_xy : (float, float)
        Pixel position, VTK display coordinates (origin at the bottom-left
        corner of the render window).
    layers : list of visuals, optional
        The layers whose ``value_at`` is reported; by default every brainviz
        visual drawn in the figure.

    Returns
    -------
    PickInfo
    """
    figure, scene = _scene(figure)
    xy = np.asarray(display_xy, dtype=float).ravel()
    if xy.size != 2 or not np.all(np.isfinite(xy)):
        raise ParameterError(f"display_xy must be two finite pixel coordinates (x, y); got {display_xy!r}")
    from tvtk.api import tvtk

    picker = tvtk.CellPicker(tolerance=0.002)
    hit = picker.pick(float(xy[0]), float(xy[1]), 0.0, scene.renderer)
    position = tuple(float(v) for v in picker.pick_position) if hit else None

    node = edge = None
    all_layers = _layers(figure, layers)
    best_depth = np.inf
    for layer in all_layers:
        n, e = _graph_hit(figure, layer, xy)
        if n is not None:
            # The node nearest to the camera wins when several visuals overlap.
            depth = np.linalg.norm(np.asarray(n[2]) - np.asarray(scene.camera.position))
            if depth < best_depth:
                node, edge, best_depth = n, None, depth
        elif e is not None and node is None and edge is None:
            edge = e
    if node is not None:
        position = node[2]

    values = {}
    if position is not None:
        for k, layer in enumerate(all_layers):
            if hasattr(layer, "value_at") and not hasattr(layer, "shown_edges"):
                try:
                    value = float(np.asarray(layer.value_at(np.asarray(position))).ravel()[0])
                except NotImplementedError:
                    continue
                values[_layer_name(layer, k)] = value
    return PickInfo(position, values, node, edge)


# id(figure) -> [(interactor, observer ids)] added by on_pick
_CALLBACKS = {}

_EVENTS = {"Left": "LeftButton", "Middle": "MiddleButton", "Right": "RightButton"}


def on_pick(figure=None, callback=None, *, layers=None, button="Left"):
    """Call ``callback(info: PickInfo)`` for every click on ``figure``.

    A click is a button press and release at the same pixel (a drag that
    rotates the camera is not a click). Observers are added to the figure's
    VTK interactor, so this works in the window, in IPython (``%gui qt``) and
    on offscreen figures driven by synthetic events.

    Parameters
    ----------
    figure : mayavi Scene, optional
        The figure; the current one by default.
    callback : callable
        Receives a :class:`PickInfo`. Exceptions it raises propagate to the
        event loop, as in any VTK observer.
    layers : list of visuals, optional
        Layers reported in ``values``; every brainviz visual of the figure
        (at the time of the click) by default.
    button : {"Left", "Middle", "Right"}, default="Left"

    Returns
    -------
    remove : callable
        Call it to stop this callback; :func:`remove_pick_callbacks` removes
        them all.

    Raises
    ------
    ParameterError
        ``callback`` not callable, unknown ``button``.
    SceneError
        The figure has no interactor.
    """
    figure, scene = _scene(figure)
    if not callable(callback):
        raise ParameterError(f"callback must be callable (it receives a PickInfo); got {callback!r}")
    if button not in _EVENTS:
        raise ParameterError(f"button must be one of 'Left', 'Middle', 'Right'; got {button!r}")
    interactor = getattr(scene, "interactor", None)
    if interactor is None:
        raise SceneError("figure has no interactor to receive clicks; use pick_at(figure, (x, y)) instead")
    vtk_interactor = interactor._vtk_obj if hasattr(interactor, "_vtk_obj") else interactor
    pressed = {}

    def _press(obj, event):
        pressed["xy"] = obj.GetEventPosition()

    def _release(obj, event):
        # The camera styles grab the interactor's focus on press, so the
        # release event may never reach us; they send EndInteractionEvent
        # instead (as Mayavi's own pick dispatcher relies on). Whichever
        # comes first ends the click.
        start = pressed.pop("xy", None)
        if start is not None and obj.GetEventPosition() == start:
            callback(pick_at(figure, start, layers=layers))

    # Before the interactor style, which may abort the event once it starts rotating.
    ids = [vtk_interactor.AddObserver(f"{_EVENTS[button]}PressEvent", _press, 10.0),
           vtk_interactor.AddObserver(f"{_EVENTS[button]}ReleaseEvent", _release, 10.0),
           vtk_interactor.AddObserver("EndInteractionEvent", _release, 10.0)]
    entry = (vtk_interactor, ids)
    _CALLBACKS.setdefault(id(figure), []).append(entry)

    def remove():
        for observer in ids:
            vtk_interactor.RemoveObserver(observer)
        entries = _CALLBACKS.get(id(figure), [])
        if entry in entries:
            entries.remove(entry)

    return remove


def remove_pick_callbacks(figure=None):
    """Remove every callback registered with :func:`on_pick` on ``figure``."""
    figure, _ = _scene(figure)
    for vtk_interactor, ids in _CALLBACKS.pop(id(figure), []):
        for observer in ids:
            vtk_interactor.RemoveObserver(observer)
