"""brainviz.mlab: script brain figures the way you script Mayavi.

Functions in the style of :mod:`mayavi.mlab`: each draws into a figure
(``figure=``, the current one by default) and returns an object whose traits
restyle what it drew in place::

    import brainviz.mlab as bv
    fig = bv.figure()
    bv.anatomy()                                 # MNI template slices
    m = bv.stat_map("zmap.nii.gz", threshold=3)
    m.threshold = 4                              # no rebuild, no reload
    bv.view("superior")
    bv.savefig("figure.png")

The figures are Mayavi figures: ``mayavi.mlab`` calls can be mixed freely on
them. In IPython use ``%gui qt``; in scripts without a display set
``mayavi.mlab.options.offscreen = True`` (or pass ``offscreen=True`` to
:func:`figure`).
"""
__all__ = [
    "figure",
    "anatomy",
    "stat_map",
    "surface",
    "glass_brain",
    "regions",
    "colorbar",
    "show",
    "connectome",
    "view",
    "on_pick",
    "savefig",
    "montage",
]


def _figure_of(figure):
    from .scene._figure import get_figure

    return get_figure(figure)


def figure(size=(600, 600), bgcolor=(1, 1, 1), figure=None, offscreen=None):
    """Create a figure (or make an existing one current), as :func:`mayavi.mlab.figure`.

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
    """
    from .scene._figure import new_figure

    return new_figure(size=size, bgcolor=bgcolor, figure=figure, offscreen=offscreen)


def anatomy(img=None, cursor=(0.0, 0.0, 0.0), figure=None, **traits):
    """Draw three orthogonal grey-scale slices of an anatomical image through ``cursor``.

    Parameters
    ----------
    img : str, path, nibabel image or Volume, default=None
        A 3D image; None draws the MNI152 template (2 mm).
    cursor : (float, float, float), default=(0, 0, 0)
        World position (mm, RAS+) the slices pass through.
    figure : Scene, default=None
        Figure to draw into (the current one if None).
    **traits
        Initial trait values of :class:`~brainviz.scene.volume.AnatomyVisual`:
        ``vmin``, ``vmax``, ``cmap``, ``opacity``, ``show_volume``,
        ``show_isosurface``, ...

    Returns
    -------
    visual : AnatomyVisual
        Set ``visual.cursor = (x, y, z)`` to move all three slices.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> a = bv.anatomy(cursor=(0, -20, 10), figure=fig)
    >>> a.cursor = (10, 0, 0)
    >>> [ipw.ipw.slice_position for ipw in a.slices]
    [10.0, 0.0, 0.0]
    """
    from .scene.volume import AnatomyVisual

    if img is None:
        from .data import load_template

        img = load_template()
    return AnatomyVisual(img, cursor=cursor, figure=_figure_of(figure), **traits)


def stat_map(img, threshold=None, cmap="cold_hot", opacity=1.0, figure=None, **traits):
    """Draw a statistical map on the slices through the cursor and/or as isosurfaces.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D map; its own grid and affine are used (no resampling).
    threshold : float, default=None
        Hide ``|value| < threshold``; None (or 0) hides only zeros.
    cmap : str, default="cold_hot"
        Diverging colour map (any name :func:`brainviz.scene.colors.get_lut` knows).
    opacity : float, default=1.0
        Opacity of the overlay on the slices.
    figure : Scene, default=None
        Figure to draw into (the current one if None). The map follows the
        cursor of the last anatomy drawn in that figure.
    **traits
        Initial trait values of :class:`~brainviz.scene.statmap.StatMapVisual`:
        ``vmax``, ``symmetric``, ``two_sided``, ``show_slices``,
        ``show_isosurface``, ``show_colorbar``, ``colorbar_title``, ...

    Returns
    -------
    visual : StatMapVisual
        ``visual.threshold = 4`` restyles it in place.

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
    >>> m.threshold = 4
    >>> m.show_isosurface = True
    >>> round(m.vmax, 2) == -round(m.vmin, 2)
    True
    """
    from .scene.statmap import StatMapVisual

    return StatMapVisual(img, threshold=threshold, cmap=cmap, opacity=opacity,
                         figure=_figure_of(figure), **traits)


def surface(stat_map=None, hemi="both", mesh="inflated", figure=None, **traits):
    """Draw the fsaverage5 cortical surface shaded by sulcal depth, optionally with a projected map.

    Parameters
    ----------
    stat_map : str, path, nibabel image or Volume, default=None
        A 3D volume map projected onto the surface with
        :func:`nilearn.surface.vol_to_surf` (sampled along the pial mesh).
    hemi : {"both", "left", "right"}, default="both"
    mesh : {"inflated", "pial"}, default="inflated"
        Inflated hemispheres are moved apart so they do not overlap.
    figure : Scene, default=None
    **traits
        ``threshold``, ``cmap``, ``vmax``, ``opacity``, ... of
        :class:`~brainviz.scene.surface.SurfaceVisual`.

    Returns
    -------
    visual : SurfaceVisual

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> s = bv.surface(hemi="left", mesh="pial", figure=fig)
    >>> s.bounds[0] < -60   # the left hemisphere reaches x = -60 mm and beyond
    True
    """
    from .scene.surface import SurfaceVisual

    return SurfaceVisual(stat_map=stat_map, hemi=hemi, mesh=mesh, figure=_figure_of(figure),
                         **traits)


def glass_brain(figure=None, opacity=0.15, stat_map=None, **traits):
    """Draw a translucent brain, optionally with statistical blobs inside.

    Parameters
    ----------
    figure : Scene, default=None
    opacity : float, default=0.15
        Opacity of the brain surface.
    stat_map : str, path, nibabel image or Volume, default=None
        Drawn inside as isosurfaces (positive and negative parts).
    **traits
        ``threshold``, ``cmap``, ``color``, ... of
        :class:`~brainviz.scene.glass.GlassBrainVisual`.

    Returns
    -------
    visual : GlassBrainVisual
        Draw a connectome inside with :func:`connectome` on the same figure.

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> g = bv.glass_brain(figure=fig, opacity=0.2)
    >>> g.opacity = 0.1
    """
    from .scene.glass import GlassBrainVisual

    return GlassBrainVisual(figure=_figure_of(figure), opacity=opacity, stat_map=stat_map,
                            **traits)


def regions(img, figure=None, **traits):
    """Draw regions from a label image or a 4D stack of components, each in its own colour.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D label image (integer labels, 0 = background) or a 4D image of
        components (ICA / dictionary learning maps, one per frame).
    figure : Scene, default=None
    **traits
        ``labels`` (names), ``threshold`` (for components), ``region``
        (show one region; 0 shows all), ``opacity``, ``show_legend``, ... of
        :class:`~brainviz.scene.regions.RegionsVisual`.

    Returns
    -------
    visual : RegionsVisual

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> import brainviz.mlab as bv
    >>> labels = np.zeros((20, 20, 20), dtype=np.int16)
    >>> labels[2:8, 5:15, 5:15] = 1
    >>> labels[12:18, 5:15, 5:15] = 2
    >>> fig = bv.figure(size=(100, 100))
    >>> r = bv.regions(nib.Nifti1Image(labels, np.eye(4)), figure=fig)
    >>> r.region_ids
    [1, 2]
    >>> r.region = 2    # only region 2
    """
    from .scene.regions import RegionsVisual

    return RegionsVisual(img, figure=_figure_of(figure), **traits)


def colorbar(visual, title=None, figure=None):
    """Show the colour bar of ``visual`` (a stat map, surface or glass brain), with a title.

    The band hidden by the threshold is drawn grey and the threshold values
    are marked on the bar.

    Parameters
    ----------
    visual : StatMapVisual, SurfaceVisual or GlassBrainVisual
    title : str, default=None
        Title above the bar (the visual's name when None).
    figure : Scene, default=None
        Unused (the visual's figure is used); accepted for mlab symmetry.

    Returns
    -------
    scalar_bar : tvtk.ScalarBarActor

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> from brainviz.data import load_motor_activation
    >>> fig = bv.figure(size=(100, 100))
    >>> m = bv.stat_map(load_motor_activation(), threshold=3, figure=fig)
    >>> bar = bv.colorbar(m, title="z score")
    >>> bar.title
    'z score'
    """
    del figure
    if not hasattr(visual, "show_colorbar"):
        from .exceptions import ParameterError

        raise ParameterError(
            f"colorbar() needs a visual with a colour map (stat map, surface, glass brain); "
            f"got {type(visual).__name__}."
        )
    if title is not None:
        visual.colorbar_title = str(title)
    visual.show_colorbar = True
    return visual.scalar_bar


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


# --- connectome / views: SCENE-GRAPH (brainviz.scene.connectome, brainviz.scene.views) ---------
def connectome(matrix, coords, edge_threshold=None, figure=None, **kwargs):
    """Draw a connectome: spheres at mm coordinates, edges coloured by weight, width by |weight|.

    All edges are one polydata (tubes, or lines past a few thousand edges),
    so a 264-node graph with every edge draws in well under a second.

    Parameters
    ----------
    matrix : array-like of shape (n, n)
        Adjacency matrix; symmetric unless ``directed=True``. Zeros are no
        edge, the diagonal is ignored, NaN weights are no edge (with a warning).
    coords : array-like of shape (n, 3)
        Node positions in MNI millimetres. Nodes outside the brain are drawn
        with a warning naming them.
    edge_threshold : None, float or str, default=None
        Show ``|weight| >= edge_threshold``; ``"95%"`` is a percentile of the
        absolute weights (as in nilearn's ``plot_connectome``).
    figure : Scene, default=None
        Figure to draw into (the current one if None).
    **kwargs
        ``node_size`` (mm, scalar or per node), ``node_color`` (colour, per
        node colours, values or labels), ``networks``, ``labels``,
        ``show_labels``, ``colormap`` (default "cold_hot"), ``edge_vmax``,
        ``edge_width``, ``edge_mode``, ``directed``, ``opacity``: see
        :class:`~brainviz.scene.connectome.ConnectomeVisual`.

    Returns
    -------
    visual : ConnectomeVisual
        ``visual.edge_threshold = "99%"`` restyles it in place.

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
    >>> c.edge_threshold = "50%"
    >>> c.n_edges_shown
    2
    """
    from .scene.connectome import ConnectomeVisual

    return ConnectomeVisual(matrix, coords, edge_threshold=edge_threshold,
                            figure=_figure_of(figure), **kwargs)


def view(name="left", figure=None, **kwargs):
    """Point the camera at the brain from a named side, framing the whole scene.

    Parameters
    ----------
    name : str, default="left"
        "left", "right", "anterior", "posterior", "superior", "inferior",
        "medial-left" or "medial-right" (medial views clip the other
        hemisphere away until the next view). The camera is never mirrored:
        the superior and posterior views show the subject's left on the image
        left (neurological); the anterior and inferior views, seen from in
        front / below, show it on the image right.
    figure : Scene, default=None
    **kwargs
        ``distance`` (mm) and ``bounds`` of :func:`brainviz.scene.views.set_view`.

    Returns
    -------
    camera : tvtk Camera

    Examples
    --------
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> cam = bv.view("superior", figure=fig)
    >>> [round(v) for v in cam.view_up]
    [0, 1, 0]
    """
    from .scene.views import set_view

    return set_view(_figure_of(figure), name, **kwargs)


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

    return _on_pick(_figure_of(figure), callback, **kwargs)
# --- end connectome / views ------------------------------------------------------------------


# --- savefig: EXPORT (brainviz.scene.export) ---------------------------------------------------
def savefig(path, size=None, figure=None, **kwargs):
    """Save the figure to ``path`` (PNG, JPEG, TIFF, ...); see :func:`brainviz.scene.export.savefig`.

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
    from .scene.export import savefig as _savefig

    return _savefig(path, figure=_figure_of(figure), size=size, **kwargs)


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
        ``ncols``, ``size``, ``width_mm``, ``dpi``, ``transparent``,
        ``colorbar`` (a visual, e.g. the one :func:`stat_map` returned),
        ``colorbar_title``, ``title``, ``panel_labels``.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import os, tempfile
    >>> import brainviz.mlab as bv
    >>> fig = bv.figure(size=(100, 100))
    >>> g = bv.glass_brain(figure=fig)
    >>> out = bv.montage(os.path.join(tempfile.mkdtemp(), "m.png"), views="left,superior",
    ...                  size=(200, None), figure=fig)
    >>> out.name
    'm.png'
    """
    from .scene.export import save_montage

    return save_montage(path, figure=_figure_of(figure), views=views, **kwargs)
# --- end savefig -------------------------------------------------------------------------------
