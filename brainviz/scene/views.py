"""Named camera views that frame the whole brain.

Every view is a real (non-mirrored) camera placed outside the brain in world
millimetres (RAS+: x to the subject's right, y anterior, z superior):

==============  ==================  ========  =======================================
name            camera looks from   view up   subject's left appears on the image
==============  ==================  ========  =======================================
left            -x (left side)      +z        (lateral face of the left hemisphere)
right           +x (right side)     +z        (lateral face of the right hemisphere)
anterior        +y (the face)       +z        right
posterior       -y (the back)       +z        left
superior        +z (above)          +y        left  (neurological, nose up)
inferior        -z (below)          +y        right (nose up)
medial-left     +x, at the midline  +z        (medial face of the left hemisphere)
medial-right    -x, at the midline  +z        (medial face of the right hemisphere)
==============  ==================  ========  =======================================

Convention: the camera is never mirrored, so what you see is what a viewer
standing there would see. The superior view (the usual "axial" brain view)
therefore follows the neurological convention (subject's left on the image
left) and so does the posterior view; the anterior and inferior views show the
subject's left on the image right, as when facing the subject. Scripts that
need a left-on-left frontal view use ``"posterior"``.

Medial views: the camera looks at the medial face of one hemisphere from the
midline side. The other hemisphere would hide it, so every actor in the scene
gets a clipping plane at x = 0 that cuts the other hemisphere away (a whole
brain mesh, slices and connectome nodes alike). The planes are removed by the
next :func:`set_view` with another name or by :func:`reset_view`. Actors added
after the medial view was set are not clipped.
"""
import numpy as np

from ..exceptions import ParameterError, SceneError

__all__ = ["VIEWS", "DEFAULT_VIEW", "MNI_BRAIN_BOUNDS", "set_view", "reset_view", "frame_bounds",
           "view_direction", "scene_bounds", "clipped_hemisphere", "set_clipped_hemisphere"]

# name -> (direction from the focal point to the camera, view up, hemisphere kept (-1 left, +1 right) or 0)
_VIEW_TABLE = {
    "left": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), 0),
    "right": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), 0),
    "anterior": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0), 0),
    "posterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0), 0),
    "superior": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), 0),
    "inferior": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0), 0),
    "medial-left": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), -1),
    "medial-right": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), 1),
}

#: The names accepted by :func:`set_view`.
VIEWS = tuple(_VIEW_TABLE)

#: The view :func:`reset_view` returns to.
DEFAULT_VIEW = "superior"

#: (xmin, xmax, ymin, ymax, zmin, zmax) of the MNI152 brain, in mm: framed when the scene is empty.
MNI_BRAIN_BOUNDS = (-90.0, 90.0, -126.0, 90.0, -72.0, 108.0)

# How much room is left around the bounds (1.0 = touching the image edges).
_MARGIN = 1.08

# renderer address -> [(mapper, plane)] added by a medial view, removed by the next view.
_clip_state = {}



def _check_name(name):
    if name not in _VIEW_TABLE:
        raise ParameterError(
            f"view name must be one of {', '.join(map(repr, VIEWS))}; got {name!r}"
        )


def view_direction(name):
    """Return ``(direction_to_camera, view_up)`` unit vectors of the view ``name``.

    Examples
    --------
    >>> from brainviz.scene.views import view_direction
    >>> view_direction("superior")
    ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0))
    """
    _check_name(name)
    direction, up, _ = _VIEW_TABLE[name]
    return direction, up


def _get_scene(figure):
    if figure is None:
        from mayavi import mlab

        figure = mlab.gcf()
    scene = getattr(figure, "scene", figure)
    if getattr(scene, "renderer", None) is None:
        raise SceneError(f"figure must be a Mayavi scene (mlab.figure()) with a renderer; got {figure!r}")
    return scene


def _vtk(obj):
    from tvtk.api import tvtk

    return tvtk.to_vtk(obj) if hasattr(obj, "_vtk_obj") else obj


def scene_bounds(figure=None):
    """Return the world bounds (xmin, xmax, ymin, ymax, zmin, zmax) of the visible actors, in mm.

    Returns :data:`MNI_BRAIN_BOUNDS` when nothing visible is in the scene.
    """
    scene = _get_scene(figure)
    renderer = _vtk(scene.renderer)
    bounds = np.array(renderer.ComputeVisiblePropBounds(), dtype=float)
    if not np.all(np.isfinite(bounds)) or np.any(bounds[1::2] < bounds[0::2]) or abs(bounds).max() > 1e29:
        return MNI_BRAIN_BOUNDS
    return tuple(float(b) for b in bounds)


def _check_bounds(bounds):
    arr = np.asarray(bounds, dtype=float).ravel()
    if arr.size != 6 or not np.all(np.isfinite(arr)) or np.any(arr[1::2] < arr[0::2]):
        raise ParameterError(
            "bounds must be 6 finite numbers (xmin, xmax, ymin, ymax, zmin, zmax) with each min <= max; "
            f"got {bounds!r}"
        )
    return arr


def _clear_clipping(renderer):
    key = renderer.GetAddressAsString("vtkRenderer")
    for mapper, plane, _ in _clip_state.pop(key, []):
        mapper.RemoveClippingPlane(plane)


def _clip_hemisphere(renderer, keep):
    """Cut away the hemisphere opposite ``keep`` (-1 left, +1 right) on every prop's mapper."""
    import vtk

    key = renderer.GetAddressAsString("vtkRenderer")
    plane = vtk.vtkPlane()
    plane.SetOrigin(0.0, 0.0, 0.0)
    # VTK keeps the side the normal points to.
    plane.SetNormal(float(keep), 0.0, 0.0)
    added = []
    props = renderer.GetViewProps()
    props.InitTraversal()
    for _ in range(props.GetNumberOfItems()):
        prop = props.GetNextProp()
        mapper = prop.GetMapper() if hasattr(prop, "GetMapper") else None
        if mapper is not None and hasattr(mapper, "AddClippingPlane"):
            mapper.AddClippingPlane(plane)
            added.append((mapper, plane))
    _clip_state[key] = [(m, p, keep) for m, p in added]


def clipped_hemisphere(figure):
    """-1 or +1 when a medial view clips the other hemisphere away (the one kept), else 0."""
    renderer = _vtk(_get_scene(figure).renderer)
    state = _clip_state.get(renderer.GetAddressAsString("vtkRenderer"))
    return int(state[0][2]) if state else 0


def set_clipped_hemisphere(figure, keep):
    """Clip away the hemisphere opposite ``keep`` (-1 left, +1 right), or nothing (0)."""
    renderer = _vtk(_get_scene(figure).renderer)
    _clear_clipping(renderer)
    if keep:
        _clip_hemisphere(renderer, int(np.sign(keep)))


def set_view(figure=None, name="left", *, distance=None, bounds=None, render=True, fit="box"):
    """Point the camera of ``figure`` at the brain from the named side.

    Parameters
    ----------
    figure : mayavi Scene, optional
        The figure (``mlab.figure()``); the current figure when None.
    name : str, default="left"
        One of :data:`VIEWS`: ``"left"``, ``"right"``, ``"anterior"``,
        ``"posterior"``, ``"superior"``, ``"inferior"``, ``"medial-left"``,
        ``"medial-right"``. See the module docstring for the orientation of
        each (superior view: neurological, subject's left on the image left).
    distance : float, optional
        Distance from the camera to the centre of the bounds, in mm. By default
        it is computed so that the bounds fill the window with a small margin,
        whatever the window's aspect ratio.
    bounds : sequence of 6 floats, optional
        (xmin, xmax, ymin, ymax, zmin, zmax) in mm to frame. By default the
        visible actors' bounds, or the MNI brain (:data:`MNI_BRAIN_BOUNDS`) when
        the scene is empty.
    render : bool, default=True
        Render the scene after moving the camera.
    fit : {"box", "ellipsoid"}, default="box"
        What must fit in the view when ``distance`` is None: the whole bounding box
        (no corner is ever cut), or the ellipsoid inscribed in it, a brain's shape,
        which lets the brain fill the view (the window's views use it).

    Returns
    -------
    camera : tvtk Camera
        The scene's camera, already moved.

    Raises
    ------
    ParameterError
        Unknown view name (the message lists the allowed ones), bad bounds or
        a non-positive distance.

    Examples
    --------
    >>> from mayavi import mlab
    >>> from brainviz.scene.views import set_view
    >>> fig = mlab.figure(size=(200, 200))
    >>> cam = set_view(fig, "superior")
    >>> [round(v) for v in cam.view_up]
    [0, 1, 0]
    >>> mlab.close(fig)
    """
    _check_name(name)
    scene = _get_scene(figure)
    renderer = _vtk(scene.renderer)
    _clear_clipping(renderer)
    direction, up, keep = _VIEW_TABLE[name]
    box = _check_bounds(scene_bounds(scene) if bounds is None else bounds)
    if keep:
        # Only the kept hemisphere is shown: frame its half of the box.
        if keep < 0:
            box[1] = min(box[1], 0.0) if box[0] < 0 else box[1]
        else:
            box[0] = max(box[0], 0.0) if box[1] > 0 else box[0]
    center = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2, (box[4] + box[5]) / 2])
    direction = np.asarray(direction)
    up = np.asarray(up)
    right = np.cross(-direction, up)

    camera = _vtk(scene.camera)
    if distance is None:
        corners = np.array([[x, y, z] for x in box[:2] for y in box[2:4] for z in box[4:]]) - center
        half_w = np.abs(corners @ right).max()
        half_h = np.abs(corners @ up).max()
        half_d = np.abs(corners @ direction).max()
        width, height = (int(v) for v in renderer.GetSize())
        aspect = width / height if width > 0 and height > 0 else 1.0
        tan_half = np.tan(np.radians(camera.GetViewAngle()) / 2.0)
        half_extent = max(half_h, half_w / aspect, 1e-3)
        if fit == "ellipsoid":
            # the nearest distance from which every point of the inscribed ellipsoid is
            # inside the view's cone (with the margin)
            points = _unit_sphere() * ((box[1::2] - box[0::2]) / 2)
            lateral = np.maximum(np.abs(points @ up), np.abs(points @ right) / aspect)
            distance = float(np.max(points @ direction + _MARGIN * lateral / tan_half))
            distance = max(distance, 1e-3)
        elif fit == "box":
            distance = _MARGIN * half_extent / tan_half + half_d
        else:
            raise ParameterError(f"fit must be 'box' or 'ellipsoid'; got {fit!r}")
        if camera.GetParallelProjection():
            camera.SetParallelScale(_MARGIN * half_extent)
    else:
        distance = float(distance)
        if not np.isfinite(distance) or distance <= 0:
            raise ParameterError(f"distance must be a positive number of mm; got {distance!r}")

    camera.SetFocalPoint(*center)
    camera.SetPosition(*(center + direction * distance))
    camera.SetViewUp(*up)
    camera.OrthogonalizeViewUp()
    if keep:
        _clip_hemisphere(renderer, keep)
    renderer.ResetCameraClippingRange()
    if render:
        scene.render()
    return scene.camera


def _unit_sphere(n=2000):
    """``n`` points spread evenly on the unit sphere (a Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * k
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def reset_view(figure=None, *, bounds=None, render=True):
    """Remove any medial clipping and return to :data:`DEFAULT_VIEW` framing the whole brain.

    Parameters
    ----------
    figure : mayavi Scene, optional
        The figure; the current one when None.
    bounds : sequence of 6 floats, optional
        Bounds to frame; the visible actors' bounds by default.
    render : bool, default=True
        Render after moving the camera.

    Returns
    -------
    camera : tvtk Camera
    """
    return set_view(figure, DEFAULT_VIEW, bounds=bounds, render=render)


def frame_bounds(figure, bounds, *, render=True):
    """Keep the camera's direction and up, and move it so that ``bounds`` (xmin, xmax, ymin,
    ymax, zmin, zmax in mm) fill the view with a small margin (a job's maps, a layer)."""
    scene = _get_scene(figure)
    box = _check_bounds(bounds)
    camera = _vtk(scene.camera)
    renderer = _vtk(scene.renderer)
    direction = np.asarray(camera.GetPosition(), float) - np.asarray(camera.GetFocalPoint(), float)
    direction /= max(np.linalg.norm(direction), 1e-12)
    up = np.asarray(camera.GetViewUp(), float)
    right = np.cross(-direction, up)
    center = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2, (box[4] + box[5]) / 2])
    corners = np.array([[x, y, z] for x in box[:2] for y in box[2:4] for z in box[4:]]) - center
    width, height = (int(v) for v in renderer.GetSize())
    aspect = width / height if width > 0 and height > 0 else 1.0
    half = max(np.abs(corners @ up).max(), np.abs(corners @ right).max() / aspect, 5.0)
    tan_half = np.tan(np.radians(camera.GetViewAngle()) / 2.0)
    distance = _MARGIN * half / tan_half + np.abs(corners @ direction).max()
    camera.SetFocalPoint(*center)
    camera.SetPosition(*(center + direction * distance))
    if camera.GetParallelProjection():
        camera.SetParallelScale(_MARGIN * half)
    renderer.ResetCameraClippingRange()
    if render:
        scene.render()
    return scene.camera
