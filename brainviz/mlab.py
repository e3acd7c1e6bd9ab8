"""brainviz.mlab: script brain figures the way you script Mayavi.

Functions in the style of :mod:`mayavi.mlab`. Every figure is bound to a
:class:`brainviz.model.Session` (the window's, in the window's shell): each
function adds a *layer* to it, draws it, and returns the layer, whose
attributes restyle the drawing in place::

    import brainviz.mlab as bv
    fig = bv.figure()
    bv.anatomy()                                 # MNI template slices
    m = bv.stat_map("zmap.nii.gz", threshold=3)
    m.threshold = 4                              # no rebuild, no reload
    bv.cursor((38, -24, 58))                     # every slice moves there
    bv.view("superior")
    bv.savefig("figure.png")

What a script adds is a layer like any other: the window's layers panel lists
it, a saved session keeps it, an export draws it. The figures are Mayavi
figures: ``mayavi.mlab`` calls can be mixed freely on them. In IPython use
``%gui qt``; in scripts without a display set
``mayavi.mlab.options.offscreen = True`` (or pass ``offscreen=True`` to
:func:`figure`).

Keyword arguments a function does not know raise :class:`TypeError` naming the
ones it accepts; so does assigning an attribute a layer does not have. Where
nilearn's plotting functions use a name for the same thing, it is accepted:
``colorbar=``, ``title=``, ``symmetric_cbar=``, ``vmin=``/``vmax=``,
``threshold="95%"``, ``edge_threshold=`` (connectomes).
"""
import numbers
import warnings

__all__ = [
    "figure",
    "session",
    "anatomy",
    "stat_map",
    "surface",
    "glass_brain",
    "regions",
    "connectome",
    "colorbar",
    "cursor",
    "view",
    "title",
    "show",
    "on_pick",
    "savefig",
    "montage",
    "movie",
]

#: nilearn's plotting names accepted here -> the layer setting they mean.
_NILEARN_NAMES = {"colorbar": "show_colorbar", "symmetric_cbar": "symmetric"}

#: node_size above this many mm hides the brain (nilearn's node_size is in points^2: 50).
_LARGE_NODE_MM = 20.0


def _binding(figure):
    from .model import Session
    from .scene._figure import get_figure
    from .scene.binding import bind, binding_for

    fig = get_figure(figure)
    found = binding_for(fig)
    return found if found is not None else bind(Session(), fig)


def _layer_settings(func_name, layer_cls, settings, extra=()):
    """Check ``settings`` against the layer's display traits and nilearn's names; return the
    layer settings and the figure-level ones (``title``)."""
    accepted = set(layer_cls.display_trait_names()) | set(_NILEARN_NAMES) | {"title"} | set(extra)
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise TypeError(
            f"{func_name}() got an unexpected keyword argument {unknown[0]!r}; it accepts "
            f"{', '.join(sorted(accepted | {'figure'}))}")
    out = {}
    for name, value in settings.items():
        if name in _NILEARN_NAMES:
            name = _NILEARN_NAMES[name]
            if name == "symmetric" and value == "auto":
                continue
        out[name] = value
    title_text = out.pop("title", None)
    return out, title_text


def _add(func_name, layer, settings, figure, extra=()):
    from traits.api import TraitError

    from .exceptions import ParameterError

    settings, title_text = _layer_settings(func_name, type(layer), settings, extra)
    binding = _binding(figure)
    for name, value in settings.items():
        try:
            setattr(layer, name, tuple(value) if isinstance(value, list) else value)
        except TraitError:
            raise ParameterError(
                f"{func_name}(): {name}={value!r} is not valid; expected "
                f"{layer.trait(name).info()}") from None
    binding.add_layer(layer)
    if title_text is not None:
        binding.session.title = str(title_text)
    return layer


def figure(size=(600, 600), bgcolor=(1, 1, 1), figure=None, offscreen=None, session=None):
    """Create a figure bound to a session (or make an existing one current), as
    :func:`mayavi.mlab.figure`.

    Parameters
    ----------
    size : (int, int), default=(600, 600)
        Width and height in pixels.
    bgcolor : (float, float, float), default=(1, 1, 1)
        Background colour (white), each channel in [0, 1].
    figure : Scene, int or str, default=None
        An existing figure or its mlab name/number to reuse.
    offscreen : bool, default=None
        Render without a window (scripts, servers); None keeps
        ``mayavi.mlab.options.offscreen``.
    session : brainviz.model.Session, default=None
        Draw this session (e.g. one read with :func:`brainviz.session.read_session`);
        a new empty one by default. A figure that is already bound keeps its own.

    Returns
    -------
    figure : mayavi.core.scene.Scene
        The same object :func:`mayavi.mlab.figure` returns.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(120, 100))
    >>> [int(v) for v in fig.scene.get_size()]
    [120, 100]
    >>> len(bv.session(fig).layers)
    0
    """
    from .scene._figure import new_figure
    from .scene.binding import bind, binding_for

    fig = new_figure(size=size, bgcolor=bgcolor, figure=figure, offscreen=offscreen)
    if session is not None or binding_for(fig) is None:
        from .model import Session

        bind(session if session is not None else Session(), fig)
    return fig


def session(figure=None):
    """The :class:`~brainviz.model.Session` a figure draws (its layers, cursor and camera).

    Parameters
    ----------
    figure : Scene, default=None
        The figure (the current one if None); a figure not yet bound gets a new session.

    Returns
    -------
    session : Session

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> a = bv.anatomy(figure=fig)
    >>> [layer.name for layer in bv.session(fig).layers]
    ['MNI152 template']
    """
    return _binding(figure).session


def anatomy(img=None, cursor=None, figure=None, **settings):
    """Add an anatomical image drawn as three orthogonal grey-scale slices through the cursor.

    Parameters
    ----------
    img : str, path, nibabel image or Volume, default=None
        A 3D image; None draws the MNI152 template (2 mm).
    cursor : (float, float, float), default=None
        Move the session's cursor there (mm, RAS+): every slice passes through it.
    figure : Scene, default=None
        Figure to draw into (the current one if None).
    **settings
        Display settings of :class:`~brainviz.model.AnatomyLayer`: ``cmap``,
        ``vmin``, ``vmax`` (None: a robust window), ``opacity``, ``visible``,
        ``show_slices``.

    Returns
    -------
    layer : AnatomyLayer

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> a = bv.anatomy(cursor=(0, -20, 10), figure=fig)
    >>> a.cmap = "bone"
    >>> bv.session(fig).cursor
    (0.0, -20.0, 10.0)
    """
    from .data import load_template, load_volume
    from .model import AnatomyLayer

    if img is None:
        layer = AnatomyLayer(name="MNI152 template", source="builtin:template")
        layer.set_volume(load_template())
    else:
        layer = AnatomyLayer().set_volume(load_volume(img))
    _add("anatomy", layer, settings, figure)
    if cursor is not None:
        _binding(figure).session.move_cursor(cursor)
    return layer


def stat_map(img, threshold=None, cmap="cold_hot", figure=None, **settings):
    """Add a statistical map, drawn on the slices through the cursor and/or as 3D blobs.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D map; its own grid and affine are used (no resampling).
    threshold : float or str, default=None
        Hide ``|value| < threshold``; ``"95%"`` is that percentile of the non-zero
        absolute values; None (or 0) hides only zeros.
    cmap : str, default="cold_hot"
        Colour map (diverging by default).
    figure : Scene, default=None
        Figure to draw into (the current one if None).
    **settings
        Display settings of :class:`~brainviz.model.StatMapLayer`: ``vmin``,
        ``vmax``, ``symmetric`` (nilearn: ``symmetric_cbar``), ``two_sided``,
        ``opacity``, ``show_slices``, ``show_isosurface``, ``isosurface_opacity``,
        ``show_colorbar`` (nilearn: ``colorbar``), ``colorbar_title``; and
        ``title`` (the figure's).

    Returns
    -------
    layer : StatMapLayer
        ``layer.threshold = 4`` restyles it in place.

    Notes
    -----
    The first map of a figure whose cursor was never moved puts the cursor (where
    the slices cross) at its peak (:func:`brainviz.session.peak_cursor`), as
    ``brainviz render`` does; :func:`cursor` moves it anywhere.

    Warns
    -----
    EmptyOverlayWarning
        When the threshold hides every voxel.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> from brainviz.data import load_motor_activation
    >>> fig = bv.figure(size=(100, 100))
    >>> m = bv.stat_map(load_motor_activation(), threshold=3, figure=fig)
    >>> m.threshold = "95%"
    >>> m.show_isosurface = True
    >>> m.treshold = 5
    Traceback (most recent call last):
    ...
    AttributeError: StatMapLayer has no attribute 'treshold'; its display settings are ...
    """
    from .data import load_volume
    from .model import StatMapLayer
    from .scene.colors import check_colormap

    layer = StatMapLayer(cmap=check_colormap(cmap, parameter="cmap")).set_volume(load_volume(img))
    settings["threshold"] = 0.0 if threshold is None else threshold
    session = _binding(figure).session
    first = not [lay for lay in session.layers if isinstance(lay, StatMapLayer)]
    _add("stat_map", layer, settings, figure)
    if first and tuple(session.cursor) == (0.0, 0.0, 0.0):
        # the first map of a figure whose cursor was never moved: slices through its peak,
        # as brainviz render and the window place them
        from .session import peak_cursor

        session.move_cursor(peak_cursor(layer))
    return layer


def surface(img=None, surf_mesh=None, hemi="both", figure=None, **settings):
    """Add a cortical surface with per-vertex values: fsaverage5 by default, or your own mesh.

    Parameters
    ----------
    img : str, path, array or Volume, default=None
        The values: a volume map (projected onto the mesh with
        :func:`brainviz.data.project_to_surface`), per-vertex data (GIfTI
        func/shape, FreeSurfer curv/sulc/thickness, .mgh) or an array of one value
        per vertex. None: the mesh alone, shaded by sulcal depth.
    surf_mesh : str or path, default=None
        A GIfTI or FreeSurfer mesh; None: fsaverage5 (pial and inflated).
    hemi : {"both", "left", "right"}, default="both"
        fsaverage5 only: the hemispheres drawn.
    figure : Scene, default=None
    **settings
        Display settings of :class:`~brainviz.model.SurfaceLayer`: ``mesh``
        ("inflated", "pial" for fsaverage5), ``threshold``, ``cmap``, ``vmin``,
        ``vmax``, ``symmetric``, ``two_sided``, ``opacity`` (of the map),
        ``surface_opacity``, ``show_colorbar``, ``colorbar_title``.

    Returns
    -------
    layer : SurfaceLayer

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> s = bv.surface(hemi="left", mesh="pial", figure=fig)
    >>> s.mesh = "inflated"
    >>> s.mesh_names
    ['pial', 'inflated']
    """
    from .session import open_surface

    settings.setdefault("mesh", "inflated" if surf_mesh is None else "")
    layer = open_surface(mesh=surf_mesh, values=img, hemi=hemi)
    return _add("surface", layer, settings, figure)


def glass_brain(img=None, threshold=None, figure=None, **settings):
    """Add a translucent brain, optionally with a statistical map inside as 3D blobs.

    Parameters
    ----------
    img : str, path, nibabel image or Volume, default=None
        A 3D map drawn inside as isosurfaces (positive and negative parts).
    threshold : float or str, default=None
        Threshold of the blobs; None: half the map's largest absolute value.
    figure : Scene, default=None
    **settings
        Display settings of :class:`~brainviz.model.GlassBrainLayer`: ``opacity``
        (of the outline, 0.15), ``color``, ``shell`` ("pial" or "mask"), ``cmap``,
        ``vmax``, ``show_colorbar`` (nilearn: ``colorbar``), ``colorbar_title``.

    Returns
    -------
    layer : GlassBrainLayer
        Draw a connectome inside with :func:`connectome` on the same figure.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> from brainviz.data import load_motor_activation
    >>> fig = bv.figure(size=(100, 100))
    >>> g = bv.glass_brain(load_motor_activation(), threshold=3, figure=fig)
    >>> g.opacity = 0.1
    """
    from .data import load_volume
    from .model import GlassBrainLayer

    layer = GlassBrainLayer().set_volume(None if img is None else load_volume(img))
    settings["threshold"] = threshold
    return _add("glass_brain", layer, settings, figure)


def regions(img, labels=None, figure=None, **settings):
    """Add regions from a label image or a 4D stack of components, each in its own colour.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D label image (integer labels, 0 = background) or a 4D image of
        components (ICA / dictionary learning maps, one per frame, numbered from 0).
    labels : dict of int -> str or list of str, default=None
        Region names (a list names labels 1, 2, ... of a label image; components 0, 1, ...).
    figure : Scene, default=None
    **settings
        Display settings of :class:`~brainviz.model.LabelLayer`: ``region`` (one
        region alone; -1: all), ``cmap`` ("regions", "tab20", "Set1"),
        ``opacity``, ``show_legend``; for components also ``threshold``.

    Returns
    -------
    layer : LabelLayer or ComponentsLayer

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> import brainviz.mlab as bv
    >>> labels = np.zeros((20, 20, 20), dtype=np.int16)
    >>> labels[2:8, 5:15, 5:15] = 1
    >>> labels[12:18, 5:15, 5:15] = 2
    >>> fig = bv.figure(size=(100, 100))
    >>> r = bv.regions(nib.Nifti1Image(labels, np.eye(4)), labels=["left", "right"], figure=fig)
    >>> r.region_ids
    [1, 2]
    >>> r.region = 2    # only region 2
    """
    from .data import load_volume
    from .model import ComponentsLayer, LabelLayer

    vol = load_volume(img)
    cls = ComponentsLayer if vol.ndim == 4 and vol.n_frames > 1 else LabelLayer
    layer = cls().set_volume(vol)
    if labels is not None:
        first = 0 if cls is ComponentsLayer else 1
        items = labels.items() if isinstance(labels, dict) else enumerate(labels, start=first)
        layer.names = {int(k): str(v) for k, v in items}
    return _add("regions", layer, settings, figure)


def connectome(matrix, coords, labels=None, networks=None, threshold=None, figure=None,
               **settings):
    """Add a connectome: spheres at mm coordinates, edges coloured by weight, width by |weight|.

    All edges are one polydata (tubes, or lines past a few thousand edges),
    so a 264-node graph with every edge draws in well under a second.

    Parameters
    ----------
    matrix : array-like of shape (n, n)
        Adjacency matrix; symmetric. Zeros are no edge, the diagonal is ignored,
        NaN weights are no edge (with a warning).
    coords : array-like of shape (n, 3)
        Node positions in MNI millimetres. Nodes outside the brain are drawn
        with a warning naming them.
    labels, networks : sequence of n str, optional
        Node names, and each node's network (nodes are coloured by network).
    threshold : None, float or str, default=None
        Show ``|weight| >= threshold``; ``"95%"`` is a percentile of the absolute
        weights, as nilearn's ``edge_threshold`` (also accepted).
    figure : Scene, default=None
        Figure to draw into (the current one if None).
    **settings
        Display settings of :class:`~brainviz.model.ConnectomeLayer`:
        ``node_size`` (sphere diameter in mm, 6; nilearn's ``node_size`` is an area
        in points, so its 50 would hide the brain and warns), ``cmap``, ``vmax``,
        ``edge_width`` (mm), ``edge_mode``, ``show_nodes``, ``show_labels``,
        ``show_legend``, ``opacity``, ``show_in_2d`` (the window's 2D views draw the
        graph projected onto them; False: in the 3D scene only).

    Returns
    -------
    layer : ConnectomeLayer
        ``layer.threshold = "99%"`` restyles it in place.

    Warns
    -----
    EmptyOverlayWarning
        When the threshold hides every edge.

    Examples
    --------
    >>> import numpy as np
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> coords = np.array([[-40.0, 0, 0], [40, 0, 0], [0, 40, 20]])
    >>> w = np.array([[0, 1, -0.5], [1, 0, 0.2], [-0.5, 0.2, 0]])
    >>> c = bv.connectome(w, coords, networks=["a", "a", "b"], figure=fig)
    >>> c.threshold = "50%"
    >>> c.node_size = 8
    """
    from .model import ConnectomeLayer

    if "edge_threshold" in settings:
        if threshold is not None:
            raise TypeError("connectome() got both threshold and edge_threshold (nilearn's name "
                            "for it); give one")
        threshold = settings.pop("edge_threshold")
    size = settings.get("node_size")
    if isinstance(size, numbers.Number) and size > _LARGE_NODE_MM:
        from .exceptions import BrainvizWarning

        warnings.warn(f"node_size={size} is a sphere diameter in mm: spheres this large hide the "
                      "brain (nilearn's node_size is an area in points); try 4-8 mm.",
                      BrainvizWarning, stacklevel=2)
    layer = ConnectomeLayer().set_graph(matrix, coords, labels, networks=networks)
    settings["threshold"] = 0.0 if threshold is None else threshold
    return _add("connectome", layer, settings, figure)


def colorbar(layer, title=None, figure=None):
    """Show the colour bar of a layer with a colour map (statistical map, surface, glass brain).

    The band hidden by the threshold is drawn grey and the threshold values
    are marked on the bar.

    Parameters
    ----------
    layer : StatMapLayer, SurfaceLayer or GlassBrainLayer
    title : str, default=None
        Title above the bar (the layer's name when None).
    figure : Scene, default=None
        Unused (the layer's figure draws it); accepted for mlab symmetry.

    Returns
    -------
    layer : the same layer (``show_colorbar`` is now True)

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> from brainviz.data import load_motor_activation
    >>> fig = bv.figure(size=(100, 100))
    >>> m = bv.stat_map(load_motor_activation(), threshold=3, figure=fig)
    >>> _ = bv.colorbar(m, title="z score")
    >>> m.show_colorbar, m.colorbar_title
    (True, 'z score')
    """
    del figure
    if layer.trait("show_colorbar") is None:
        from .exceptions import ParameterError

        raise ParameterError(
            f"colorbar() needs a layer with a colour map (statistical map, surface, glass brain); "
            f"got {type(layer).__name__}.")
    if title is not None:
        layer.colorbar_title = str(title)
    layer.show_colorbar = True
    return layer


def cursor(xyz=None, figure=None):
    """Get, or move, the cursor: the world point (mm, RAS+) every slice passes through.

    Parameters
    ----------
    xyz : (float, float, float), default=None
        Where to move it; None only returns it.
    figure : Scene, default=None

    Returns
    -------
    xyz : tuple of 3 floats

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> a = bv.anatomy(figure=fig)
    >>> bv.cursor((10, -20, 30), figure=fig)
    (10.0, -20.0, 30.0)
    """
    current = _binding(figure).session
    if xyz is not None:
        current.move_cursor(xyz)
    return current.cursor


def title(text, figure=None):
    """Put a title at the top of the figure ("" removes it); kept in the session.

    Parameters
    ----------
    text : str
    figure : Scene, default=None

    Returns
    -------
    text : str

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> bv.title("Motor task", figure=fig)
    'Motor task'
    """
    _binding(figure).session.title = str(text)
    return str(text)


def show(func=None, stop=False):
    """Start the GUI event loop so figures can be used interactively (as :func:`mayavi.mlab.show`).

    Does nothing offscreen (scripts, tests), so a script can end with ``show()``.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> bv.show()   # offscreen: returns at once
    """
    from mayavi import mlab

    if mlab.options.offscreen:
        return func
    return mlab.show(func, stop=stop)


def view(name=None, azimuth=None, elevation=None, distance=None, roll=None, focalpoint=None,
         figure=None):
    """Point the camera: a named side framing the whole scene, or angles as
    :func:`mayavi.mlab.view`. The camera is kept in the session.

    Parameters
    ----------
    name : str, default=None
        "left", "right", "anterior", "posterior", "superior", "inferior",
        "medial-left" or "medial-right" (medial views clip the other
        hemisphere away until the next view). The camera is never mirrored:
        the superior and posterior views show the subject's left on the image
        left (neurological); the anterior and inferior views, seen from in
        front / below, show it on the image right. None with no angle given: "left".
    azimuth, elevation : float, default=None
        Degrees, as in :func:`mayavi.mlab.view`: azimuth in the x-y plane from +x
        (the subject's right), elevation from +z (0: from above, 90: level); applied
        after ``name`` when both are given; those not given keep their current value.
    roll : float, default=None
        Degrees about the view axis; 0 keeps +z up on the image.
    distance : float, default=None
        From the camera to the focal point, in mm.
    focalpoint : (float, float, float), default=None
        The point looked at, in mm.
    figure : Scene, default=None

    Returns
    -------
    camera : dict
        The session's camera (position, focal_point, view_up, ...).

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> cam = bv.view("superior", figure=fig)
    >>> [round(v) for v in cam["view_up"]]
    [0, 1, 0]
    >>> cam = bv.view(azimuth=180, elevation=90, distance=400, figure=fig)  # from the left
    >>> round(cam["focal_point"][0] - cam["position"][0])
    400
    """
    from .scene.views import set_view

    binding = _binding(figure)
    angles = dict(azimuth=azimuth, elevation=elevation, distance=distance, roll=roll)
    given = {k: v for k, v in angles.items() if v is not None}
    if name is not None or (not given and focalpoint is None):
        if "distance" in given:
            set_view(binding.figure, name or "left", distance=given.pop("distance"))
        else:  # framed as the window and `brainviz render` frame it
            binding.show_view(name or "left")
    if given or focalpoint is not None:
        from .session import camera_with_angles

        binding.apply_camera(camera_with_angles(binding.current_camera(), focal_point=focalpoint,
                                                **given))
    return binding.store_camera()


def on_pick(callback, figure=None, **kwargs):
    """Call ``callback(info)`` for every click on the figure.

    ``info`` is a :class:`brainviz.scene.picking.PickInfo`: ``position_mm``,
    ``values`` (each layer's value there), ``node`` ``(index, label, coords)``
    and ``edge`` ``(i, j, weight)`` (None when none is under the click).

    Parameters
    ----------
    callback : callable
    figure : Scene, default=None
    **kwargs
        ``layers`` and ``button`` of :func:`brainviz.scene.picking.on_pick`.

    Returns
    -------
    remove : callable
        Call it to stop picking.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> remove = bv.on_pick(print, figure=fig)
    >>> remove()
    """
    from .scene.picking import on_pick as _on_pick

    return _on_pick(_binding(figure).figure, callback, **kwargs)


def savefig(path, size=None, figure=None, decorate=True, **kwargs):
    """Save the figure to ``path`` (PNG, JPEG, TIFF, PDF, SVG, EPS) as ``brainviz render`` does.

    The brain is autocropped to fill the frame, with a colour bar per shown map, the
    facing slice's coordinate and L/R over it, legends and the title outside it
    (:func:`brainviz.scene.figures.compose_figure`); ``decorate=False`` writes the bare
    scene at the window's framing (:func:`brainviz.scene.export.savefig`).

    Parameters
    ----------
    path : str or path-like
    size : (int, int), default=None
        Pixels; the window's size by default.
    figure : Scene, default=None
    decorate : bool, default=True
    **kwargs
        ``width_mm``, ``dpi``, ``transparent``, ``dark``, ``margin``, ``zoom``, ``font``,
        ``colorbar`` (None for none), ``title``... of
        :func:`~brainviz.scene.figures.compose_figure`; with ``decorate=False`` those of
        :func:`brainviz.scene.export.savefig`.

    Returns
    -------
    path : pathlib.Path

    Warns
    -----
    EmptyOverlayWarning
        When the figure would show nothing of a layer (a map with no slices and no
        isosurface, a glass brain with nothing inside): the warning names what to add.

    Examples
    --------
    >>> import os, tempfile
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> a = bv.anatomy(figure=fig)
    >>> path = bv.savefig(os.path.join(tempfile.mkdtemp(), "anatomy.png"), figure=fig)
    >>> path.name
    'anatomy.png'
    """
    binding = _binding(figure)
    if not decorate:
        from .scene.export import savefig as _savefig

        return _savefig(path, figure=binding.figure, size=size, **kwargs)
    from .scene.figures import save_figure

    _warn_empty(binding.session)
    if size is None and "width_mm" not in kwargs:
        size = tuple(int(v) for v in binding.figure.scene.render_window.size)
    return save_figure(path, binding.figure, views=None, size=size, **kwargs)


def _warn_empty(session):
    from .exceptions import EmptyOverlayWarning
    from .session import describe_empty

    for note in describe_empty(session):
        warnings.warn(note, EmptyOverlayWarning, stacklevel=3)


def movie(path, kind="rotate", figure=None, n_frames=36, fps=12, **kwargs):
    """Write a movie of the figure: a full turn about the vertical axis (``kind="rotate"``) or
    the frames of its 4D map or series (``kind="frames"``), as MP4 or GIF.

    Parameters
    ----------
    path : str or path-like
        ``.mp4`` or ``.gif``.
    kind : {"rotate", "frames"}, default="rotate"
    figure : Scene, default=None
    n_frames : int, default=36
        Frames of a turn.
    fps : float, default=12
    **kwargs
        As for :func:`savefig`: ``size``, ``dark``, ``colorbar``, ``margin``, ``zoom``,
        ``title``, ``font``; ``views`` (a named view to start from); ``layer`` (the 4D
        layer of a frames movie).

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(80, 80))
    >>> c = bv.connectome(np.array([[0, 1.0], [1.0, 0]]), [(-40, 0, 0), (40, 0, 0)], figure=fig)
    >>> out = bv.movie(os.path.join(tempfile.mkdtemp(), "turn.gif"), n_frames=4, figure=fig)
    >>> import imageio.v3 as iio
    >>> iio.imread(out, index=None).shape[:3]
    (4, 80, 80)
    """
    from .scene.movies import save_movie

    binding = _binding(figure)
    if "size" not in kwargs and "width_mm" not in kwargs:
        kwargs["size"] = tuple(int(v) for v in binding.figure.scene.render_window.size)
    return save_movie(path, binding.figure, kind=kind, n_frames=n_frames, fps=fps, **kwargs)


def montage(path, views=("left", "right", "superior"), figure=None, **kwargs):
    """Save several named views of the figure in a grid with one colour bar; see
    :func:`brainviz.scene.export.save_montage`.

    Parameters
    ----------
    path : str or path-like
        Output file (.png, .tif/.tiff, .jpg/.jpeg).
    views : sequence of str or str, default=("left", "right", "superior")
        View names, e.g. ``("left", "medial-left", "right", "medial-right")``.
    figure : Scene, default=None
    **kwargs
        ``ncols``, ``size``, ``width_mm``, ``dpi``, ``transparent``, ``dark``,
        ``colorbar`` (a layer, e.g. the one :func:`stat_map` returned; by
        default one colour bar per shown map),
        ``colorbar_title``, ``title``, ``panel_labels``.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import os, tempfile
    >>> import brainviz.mlab as bv
    >>> from brainviz.data import load_motor_activation
    >>> fig = bv.figure(size=(100, 100))
    >>> g = bv.glass_brain(load_motor_activation(), threshold=3, figure=fig)
    >>> out = bv.montage(os.path.join(tempfile.mkdtemp(), "m.png"), views="left,superior",
    ...                  size=(200, None), figure=fig)
    >>> out.name
    'm.png'
    """
    from .model import Layer
    from .scene.export import save_montage

    binding = _binding(figure)
    bar = kwargs.get("colorbar", "auto")
    if isinstance(bar, Layer):
        bar = binding.visual_for(bar)
    kwargs["colorbar"] = bar
    _warn_empty(binding.session)
    return save_montage(path, figure=binding.figure, views=views, **kwargs)
