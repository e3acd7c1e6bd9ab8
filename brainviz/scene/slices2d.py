"""Orthogonal 2D views (sagittal, coronal, axial): each volume layer as one plane through the
cursor, a graph projected onto the view.

The window's 2D views draw the same session as its 3D scene, through the same
binding (:mod:`brainviz.scene.binding`) with :data:`SLICE_VISUALS` as registry:
each volume layer becomes a :class:`PlaneVisual` that shows its voxels on the
plane through the cursor, with the layer's colour map, threshold and opacity,
in world mm from the affine (the image is reoriented to RAS+ as for 3D, so a
slice is a range of voxel indices: moving the cursor changes an extent, nothing
is resampled). Layers later in the list are drawn on top. Settings that only
concern the 3D scene (3D blobs, colour bars) are named in
:data:`PlaneVisual.three_d_only` (a test checks every display trait is either
handled or listed there). A graph layer is drawn projected onto each view, as
nilearn's ``plot_connectome`` draws it (:class:`GraphProjection`); meshes and glass
brains are not drawn in 2D views.

:func:`setup_view` points a parallel camera along the view's axis (neurological:
the subject's left on the image left in coronal and axial views; anterior on the
left in the sagittal view, as FSLeyes), draws the cursor cross and the L/R
(A/P, S/I) labels, and :func:`display_to_world` turns a click into mm.
"""
import numpy as np
from traits.api import Any, Array, Bool, Float, Instance, Int, Range, on_trait_change

from .. import model
from ._base import (
    N_COLORS, Colormap, MappedRange, ThresholdTrait, Visual, VolumeGrid, display_range, lut_table,
    threshold_table, two_map_lut,
)
from ._figure import disable_render
from .connectome import ConnectomeVisual

__all__ = ["SLICE_VISUALS", "AXES", "PlaneVisual", "GreyPlane", "MapPlane", "LabelPlane",
           "GraphProjection", "setup_view", "stack_planes", "display_to_world", "view_frame",
           "CursorCross"]

#: name -> (axis, direction from the focal point to the camera, view up)
AXES = {
    "sagittal": (0, (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "coronal": (1, (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "axial": (2, (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
}
# Labels at (left, right, bottom, top) of each view.
_EDGE_LABELS = {"sagittal": ("A", "P", "I", "S"), "coronal": ("L", "R", "I", "S"),
                "axial": ("L", "R", "P", "A")}
# How far (mm) each later layer sits towards the camera, so it is drawn on top.
_DEPTH_STEP = 0.05


class PlaneVisual(Visual):
    """A volume layer on the plane through the cursor perpendicular to ``axis`` (0 x, 1 y, 2 z)."""

    follows_cursor = True
    #: Layer settings that only the 3D scene draws (handled by doing nothing here, on purpose).
    three_d_only = ("show_isosurface", "isosurface_opacity", "show_colorbar", "colorbar_title",
                    "show_legend")

    axis = Int(2)
    cursor = Array(dtype=float, shape=(3,), value=np.zeros(3))
    opacity = Range(0.0, 1.0, 1.0)
    show_slices = Bool(True)
    #: Stacking order: later layers are drawn nearer the camera.
    depth = Int(0)
    #: The side of the plane the camera is on (+1 or -1 along ``axis``).
    toward = Float(1.0)

    grid = Instance(VolumeGrid)
    actor = Instance(object)

    def __init__(self, volume, figure=None, axis=2, frame=0, **traits):
        from ..data import load_volume

        self._volume = load_volume(volume)
        toward = AXES[("sagittal", "coronal", "axial")[axis]][1][axis]
        super().__init__(axis=int(axis), toward=toward, **self._prepare(traits))
        if self.trait("frame") is not None:  # the frame drawn, known before it is drawn
            self.trait_setq(frame=int(frame))
        self.grid = VolumeGrid.shared(self._volume, frame=frame)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()

    def _prepare(self, traits):
        return traits

    def _values(self):
        """The 3D array the plane shows slices of (the grid's values, or a display version)."""
        return self.grid.data

    def _slice(self, index):
        """The 2D values of the plane at voxel ``index`` along the view's axis (a view),
        within :meth:`_crop`."""
        return self._shown[self._where(index)]

    def _where(self, index):
        lo, hi = self._crop()
        where = [slice(int(a), int(b)) for a, b in zip(lo, hi)]
        where[self.axis] = index
        return tuple(where)

    def _content_mask(self):
        """Where the layer has something to draw: its finite non-zero voxels (kept per grid)."""
        kept = getattr(self, "_nonzero", None)
        if kept is None or kept[0] is not self.grid:
            data = self.grid.data
            kept = self._nonzero = (self.grid, np.isfinite(data) & (data != 0))
        return kept[1]

    def _crop(self):
        """``(lo, hi)`` voxel box of :meth:`_content_mask`: a slice is drawn within it, so an
        image's empty margin is neither copied to VTK nor textured on every cursor move."""
        mask = self._content_mask()
        key = (self.grid, mask)
        kept = getattr(self, "_crop_kept", None)
        if kept is None or kept[0][0] is not key[0] or kept[0][1] is not key[1]:
            kept = self._crop_kept = (key, self.grid.voxel_box(mask))
        return kept[1]

    def _table(self):
        """(n, 4) uint8 colour table and its value range."""
        raise NotImplementedError

    def _build(self):
        from tvtk.api import tvtk

        from vtkmodules.vtkCommonDataModel import vtkImageData

        self._shown = self._values()
        self._index = None
        # Plain VTK images, changed on every cursor move (TVTK's wrappers would relay each
        # change to Python): the slice's values, placed in the world (one voxel thick along
        # the view's axis); the same values as a flat image (rows along the first in-plane
        # axis: VTK maps colours row by row, and a sagittal slice's rows along x are one
        # pixel long: 1.2 ms a slice instead of 0.2); their colours, placed as the values.
        self._image, self._flat, self._rgba = vtkImageData(), vtkImageData(), vtkImageData()
        self._lut = tvtk.LookupTable()
        self._colors = tvtk.ImageMapToColors(lookup_table=self._lut, output_format="rgba")
        self._colors._vtk_obj.SetInputData(self._flat)
        self.actor = tvtk.ImageActor(interpolate=False)
        mapper = self.actor.mapper._vtk_obj
        mapper.SetInputData(self._rgba)
        # each voxel drawn whole, to its edges, as the 3D scene's slices draw it (by
        # default the quad ends at the edge voxels' centres: half of each is cut off, and
        # a one-voxel-thick image is not drawn at all across its thin axis)
        mapper.BorderOn()
        self._update_table()
        self._update_plane()
        self.figure.scene.add_actor(self.actor)

    def _set_values(self):
        """The shown array changed (a new frame, a new threshold): show its slice again."""
        self._shown = self._values()
        self._index = None
        self._update_plane()

    def _load_slice(self, index):
        """Hand VTK the one slice on display: a cursor move or a new frame copies a 2D slice,
        never the volume."""
        from vtkmodules.util.numpy_support import numpy_to_vtk

        k = self.axis
        plane = np.asarray(self._slice(index), dtype=np.float32)
        lo, hi = self._crop()
        dims = [int(v) for v in hi - lo]
        dims[k] = 1
        origin = np.array(self.grid.origin, dtype=float) + lo * self.grid.spacing
        origin[k] = self.grid.origin[k] + index * self.grid.spacing[k]
        array = numpy_to_vtk(np.expand_dims(plane, k).ravel(order="F"), deep=True)
        array.SetName("values")
        for image in (self._image, self._rgba):
            image.SetDimensions(*dims)
            image.SetSpacing(*self.grid.spacing)
            image.SetOrigin(*origin)
        self._image.GetPointData().SetScalars(array)
        self._image.Modified()
        flat = self._flat  # the same memory order: x, then y, then z
        flat.SetDimensions(*[n for a, n in enumerate(dims) if a != k], 1)
        flat.GetPointData().SetScalars(array)
        flat.Modified()
        self._index = index
        self._fit_extent()

    def _fit_extent(self):
        """Draw only the box of the slice's coloured (not transparent) pixels.

        The colours are mapped once per slice anyway; their alpha channel gives the box,
        and the image actor's display extent limits the textured quad to it. A software
        renderer pays for every pixel a quad covers, transparent or not: a thresholded map
        is a small blob, not a brain-sized quad, and a slice with nothing drawn is hidden.
        """
        from vtkmodules.util.numpy_support import vtk_to_numpy

        colors = self._colors._vtk_obj
        colors.Update()
        rgba = colors.GetOutput().GetPointData().GetScalars()
        shown = self._rgba
        shown.GetPointData().SetScalars(rgba)  # shared, placed as the values are
        shown.Modified()
        dims = shown.GetDimensions()
        alpha = vtk_to_numpy(rgba)[:, 3]
        drawn = (alpha.reshape(dims[::-1]) > 0).transpose()  # (x, y, z) as the image's extent
        extent = []
        for axis in range(3):
            hits = np.flatnonzero(drawn.any(axis=tuple(a for a in range(3) if a != axis)))
            if hits.size == 0:
                break
            extent += [int(hits[0]), int(hits[-1])]
        self._drawn = len(extent) == 6
        if not self._drawn:  # nothing coloured: keep a valid extent, the actor is hidden
            extent = [v for n in dims for v in (0, n - 1)]
        self.actor._vtk_obj.SetDisplayExtent(*extent)
        # which way the slice faces: the image actor guesses it from the collapsed axis of
        # the extent, z first, and a one-voxel-thick image also collapses along z
        mapper = self.actor.mapper._vtk_obj
        mapper.SetOrientation(self.axis)
        mapper.SetSliceNumber(extent[2 * self.axis])

    @on_trait_change("cursor, depth, visible, show_slices")
    def _update_plane(self):
        """Per cursor move: straight VTK calls, with TVTK's re-reading of every trait of the
        objects touched turned off (it was a third of the Python time of a move). The image
        data, the actor's position, visibility and display extent are only ever set here."""
        from tvtk.tvtk_base import global_disable_update

        if self.actor is None:
            return
        with global_disable_update():
            self._place_plane()
        self.render()

    @property
    def shown(self):
        """Whether the plane is drawn now (visible, slices on, the cursor inside the image)."""
        return self.actor is not None and bool(self.actor._vtk_obj.GetVisibility())

    def _place_plane(self):
        k = self.axis
        index = int(round((float(self.cursor[k]) - self.grid.origin[k]) / self.grid.spacing[k]))
        inside = 0 <= index < self.grid.shape[k]
        if inside and index != self._index:
            self._load_slice(index)
        # the plane sits exactly at the cursor (not at its voxel's centre), each layer a step
        # nearer the camera than the one before
        at = self.grid.origin[k] + index * self.grid.spacing[k]
        position = [0.0, 0.0, 0.0]
        position[k] = float(self.cursor[k]) - at + self.toward * _DEPTH_STEP * (self.depth + 1)
        actor = self.actor._vtk_obj
        actor.SetPosition(*position)
        drawn = getattr(self, "_drawn", True)
        actor.SetVisibility(int(bool(self.visible and self.show_slices and inside and drawn)))

    @on_trait_change("opacity")
    def _update_opacity(self):
        if self.actor is not None:
            self.actor.property.opacity = float(self.opacity)
            self.render()

    def _update_table(self):
        from .volume import update_lut

        if self.actor is None:
            return
        table, value_range = self._table()
        update_lut(self._lut, table, value_range)
        self._colors.modified()
        self.actor.property.opacity = float(self.opacity)
        if self._index is not None:  # a new table colours other pixels: draw their box
            self._fit_extent()
            self._place_plane()
        self.render()

    def ignore(self, value):
        """Handler of the settings listed in :attr:`three_d_only`: nothing to draw in 2D."""

    # -- queries -----------------------------------------------------------
    @property
    def bounds(self):
        return self.grid.bounds

    @property
    def content_bounds(self):
        """Bounds of what is drawn (:meth:`_content_mask`): a map's brain, a label image's
        regions, an anatomy's head, to its voxels' outer edges (each voxel is drawn whole)."""
        lo, hi = self._crop()  # kept: the 2D views ask on every cursor move
        grid = self.grid
        half = np.abs(grid.spacing) / 2
        lo = grid.origin + grid.spacing * lo - half
        hi = grid.origin + grid.spacing * (hi - 1) + half
        return tuple(float(v) for pair in zip(lo, hi) for v in pair)

    def value_at(self, xyz_mm):
        return self.grid.sample(xyz_mm, order=0)

    def _actors(self):
        return [self.actor] if self.actor is not None else []


class GreyPlane(PlaneVisual):
    """An anatomy (or one frame of a 4D series) on a plane: grey window, background transparent."""

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "vmin": "set_vmin", "vmax": "set_vmax", "show_slices": "show_slices",
                      "frame": "frame"}

    cmap = Colormap("gray")
    vmin = Float()
    vmax = Float()
    frame = Int(0)

    def _prepare(self, traits):
        from .volume import _background_level, _robust_window

        grid = VolumeGrid.shared(self._volume, frame=int(traits.get("frame", 0)))
        finite = grid.finite()
        if finite.size == 0:
            from ..exceptions import DataValueError

            raise DataValueError(f"The image {self._volume.name!r} holds no finite value.")
        # computed once per grid: the three views (and the 3D scene) share them
        self._background = grid.memo("background", lambda: _background_level(finite))
        self._auto_window = grid.memo("robust window",
                                      lambda: _robust_window(self._volume, finite))
        for name, value in zip(("vmin", "vmax"), self._auto_window):
            if traits.get(name) is None:
                traits[name] = value
        return traits

    def set_vmin(self, value):
        self.vmin = self._auto_window[0] if value is None else float(value)

    def set_vmax(self, value):
        self.vmax = self._auto_window[1] if value is None else float(value)

    def _window(self):
        lo, hi = float(self.vmin), float(self.vmax)
        return lo, (hi if hi > lo else lo + 1e-6 * max(1.0, abs(lo)))

    def _values(self):
        return self.grid.data

    def _content_mask(self):
        """The head (the voxels drawn), not the image's whole field of view."""
        return self._head_mask()[1]

    def _head_mask(self):
        """The head in the first frame (one per grey window; the other frames reuse it)."""
        from .volume import grey_range

        cutoff = grey_range(self._window(), self._background)[0]
        head = getattr(self, "_head", None)
        if head is None or head[0] != cutoff:
            from ..data._masks import head_mask

            grid = self.grid
            self._head = head = (cutoff, grid.memo(("head mask", cutoff),
                                                   lambda: head_mask(grid.data, cutoff)))
        return head

    def _slice(self, index):
        """The slice, with what lies outside the head below the table (not drawn)."""
        where = self._where(index)
        plane = self._shown[where]
        cutoff, mask = self._head_mask()
        if mask is None:
            return plane
        out = np.array(plane, dtype=np.float32)
        outside = ~mask[where] & np.isfinite(out)
        out[outside] = min(float(self._background), float(cutoff)) - 1.0
        return out

    def _table(self):
        from .volume import grey_range, grey_table

        value_range = grey_range(self._window(), self._background)
        return grey_table(self.cmap, self._window(), value_range), value_range

    @on_trait_change("cmap, vmin, vmax")
    def _restyle(self):
        if self.actor is not None:
            with disable_render(self.figure):
                self._index = None  # the head cut follows the window's low end
                self._update_table()
                self._update_plane()

    def _frame_changed(self, old, new):
        if self.actor is None:
            return
        frame = int(min(max(new, 0), max(getattr(self._volume, "n_frames", 1) - 1, 0)))
        ras = self._volume.as_ras()
        # the whole series in memory once (when it fits): then a frame is a view, no copy
        series = ras._series() if getattr(ras, "n_frames", 1) > 1 else None
        with disable_render(self.figure):
            if series is not None:  # the series is in memory: a view of the frame, no copy
                self._shown = series[..., frame]
                self._index = None
                self._update_plane()
            else:
                self.grid = VolumeGrid.shared(self._volume, frame=frame)
                self._set_values()


class MapPlane(MappedRange, PlaneVisual):
    """A statistical map (or a mask) on a plane: thresholded, diverging colours by default."""

    layer_handlers = {
        "visible": "visible", "opacity": "opacity", "cmap": "cmap", "threshold": "threshold",
        "vmin": "set_vmin", "vmax": "set_vmax", "symmetric": "symmetric", "two_sided": "two_sided",
        "show_slices": "show_slices", "show_isosurface": "ignore", "isosurface_opacity": "ignore",
        "show_colorbar": "ignore", "colorbar_title": "ignore", "neg_cmap": "neg_cmap",
        "frame": "frame",
    }

    cmap = Colormap("cold_hot")
    #: A colour map of its own for the negative values ("": none), as the 3D scene draws.
    neg_cmap = Any("")
    frame = Int(0)
    threshold = ThresholdTrait(0.0)
    vmin = Float()
    vmax = Float()
    symmetric = Bool(True)
    two_sided = Bool(True)

    def _prepare(self, traits):
        # every frame's range, computed once for the three views and the 3D scene
        low, high, absolute = VolumeGrid.map_range(self._volume) or (0.0, 1.0, 1.0)
        self._data_min, self._data_max = low, high
        if self._data_max <= self._data_min:
            self._data_max = self._data_min + 1
        self._abs_max = absolute or 1.0
        self._init_range(traits)
        return traits

    def _table(self):
        from ._base import resolve_threshold

        lo, hi = display_range(self.vmin, self.vmax, self.symmetric, self._data_min, self._data_max)
        t = resolve_threshold(self.threshold, self.grid.data)
        table = two_map_lut(self.cmap, self.neg_cmap, lo, hi, N_COLORS)
        return threshold_table(table, lo, hi, t, self.two_sided), (lo, hi)

    @on_trait_change("cmap, neg_cmap, threshold, vmin, vmax, symmetric, two_sided")
    def _restyle(self):
        self._update_table()

    def _frame_changed(self, old, new):
        """A 4D map shows one frame (the colour range stays the first frame's unless set)."""
        if self.actor is None or getattr(self._volume, "n_frames", 1) <= 1:
            return
        frame = int(min(max(new, 0), self._volume.n_frames - 1))
        with disable_render(self.figure):
            self.grid = VolumeGrid.shared(self._volume, frame=frame)
            self._update_table()  # a percentile threshold follows the frame's values
            self._set_values()


class MaskPlane(MapPlane):
    """A binary mask on a plane, in one colour."""

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "show_slices": "show_slices"}

    def _prepare(self, traits):
        traits.update(threshold=0.5, two_sided=False, symmetric=False, vmin=0.0, vmax=1.0)
        return super()._prepare(traits)


class LabelPlane(PlaneVisual):
    """A label image (or components, each voxel its strongest component) on a plane: each
    region in its own colour, one region alone with ``region``."""

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "region": "region", "show_legend": "ignore", "threshold": "threshold"}

    cmap = Colormap("regions")
    region = Int(-1)
    threshold = Any()

    def _prepare(self, traits):
        self._components = self._volume.ndim == 4 and self._volume.n_frames > 1
        return traits

    def _labels(self):
        if not self._components:
            return np.nan_to_num(self.grid.data)
        from .regions import components_to_labels

        ras = self._volume.as_ras()
        maps = np.stack([ras.get_frame(i) for i in range(ras.n_frames)], axis=-1)
        return components_to_labels(maps, self.threshold).astype(np.float32) - 1.0  # 0-based, -1 none

    def _values(self):
        labels = self._labels()
        if not self._components:
            labels = np.where(labels == 0, -1.0, labels)
        return labels

    def _table(self):
        from .regions import _region_colors

        values = getattr(self, "_shown", None)
        values = self._values() if values is None else values
        top = int(max(np.nanmax(values), 0))
        colors = _region_colors(self.cmap, top + 1)
        table = np.zeros((top + 2, 4), dtype=np.uint8)  # entry 0: none (-1)
        table[1:, :3] = colors[:, :3]
        table[1:, 3] = 255
        if self.region != -1 and 0 <= self.region <= top:
            keep = table[self.region + 1].copy()
            table[1:, 3] = 0
            table[self.region + 1] = keep
        return table, (-1.0, float(top))

    @on_trait_change("cmap, region")
    def _restyle(self):
        self._update_table()

    def _threshold_changed(self):
        if self.actor is not None and self._components:
            with disable_render(self.figure):
                self._set_values()
                self._update_table()


# A graph is drawn in the layers' stack where its layer's plane would be (later layers on
# top): its edges a little under that place, its nodes a little over it (over its edges),
# both over the plane of the layer under it and under the next one's (_DEPTH_STEP apart)
_GRAPH_LIFT = -0.3 * _DEPTH_STEP
_NODE_LIFT = 0.3 * _DEPTH_STEP
# A graph's depth along the view's axis is squeezed to this fraction (within a thousandth
# of a millimetre for a whole head): its nodes and edges lie flat at their place in it.
_GRAPH_SQUEEZE = 1e-5
# Text on a 2D view's black background: node names, and the highlight's names and weight
_GRAPH_TEXT_COLOR = (0.92, 0.92, 0.92)
_GRAPH_HIGHLIGHT_TEXT_COLOR = (0.45, 1.0, 0.5)
# Nodes without a colour of their own ("auto", no networks): the 3D scene's dark grey was
# lost on a grey slice; a colour no anatomy slice or cold_hot edge has
_GRAPH_NODE_COLOR = (0.8, 0.4, 0.9)


class GraphProjection(ConnectomeVisual):
    """A graph layer in a 2D view: every node and drawn edge projected onto the view's
    plane, as nilearn's ``plot_connectome`` draws a graph in its sagittal, coronal and axial
    views, over the slices of the layers listed before it (a map listed after it is drawn
    over it, as planes are stacked).

    The 3D visual's actors, with their depth along the view's axis squeezed flat and moved
    to the graph's place in the stack of planes at the cursor (they move with it): the same
    threshold, colours, sizes, names and highlight as the 3D scene, drawn unlit (flat discs
    and bands, as 2D markers). The legend box stays in the 3D scene (:attr:`three_d_only`).
    """

    follows_cursor = True
    three_d_only = ("show_legend",)
    #: No texture plane (:func:`stack_planes` orders planes' actors only): its actors are
    #: opaque, placed in depth at their layer's place in the stack.
    actor = None
    layer_handlers = dict(ConnectomeVisual.layer_handlers, show_legend="ignore",
                          show_in_2d="show_in_2d")
    two_d_only = ()
    # flat discs and bands: fewer facets draw the same picture, faster
    _SPHERE_RESOLUTION = (12, 8)
    _TUBE_SIDES = 6

    axis = Int(2)
    cursor = Array(dtype=float, shape=(3,), value=np.zeros(3))
    #: Stacking order, as a plane's: a layer listed after the graph is drawn over it.
    depth = Int(0)
    #: The layer's "In 2D views": False hides the projection (the 3D scene keeps the graph).
    show_in_2d = Bool(True)

    def __init__(self, matrix, coords, axis=2, **traits):
        import warnings

        from ..exceptions import BrainvizWarning

        self._axis = int(axis)
        show_in_2d = bool(traits.pop("show_in_2d", True))
        with warnings.catch_warnings():  # the 3D scene's visual of the layer warns once
            warnings.simplefilter("ignore", BrainvizWarning)
            super().__init__(matrix, coords, **traits)
        self.trait_setq(axis=self._axis, show_in_2d=show_in_2d)
        # names in light grey: the 3D scene's dark text is lost on a 2D view's black
        self._label_mapper.label_text_property.color = _GRAPH_TEXT_COLOR
        self._place()
        self._update_visibility()
        self.on_trait_change(self._place, "cursor, depth")
        self.on_trait_change(self._show_in_2d_changed, "show_in_2d")

    def ignore(self, value):
        """A setting only the 3D scene draws (:attr:`three_d_only`)."""

    def _node_colors_for(self, node_color):
        from . import _graph_input as gi

        return gi.resolve_node_colors(node_color, self.n_nodes, networks=self.networks,
                                      node_cmap=self.node_cmap, default=_GRAPH_NODE_COLOR)

    def _update_edges(self, warn_stacklevel=4):
        import warnings

        from ..exceptions import EmptyOverlayWarning

        with warnings.catch_warnings():  # said once, by the 3D scene's visual
            warnings.simplefilter("ignore", EmptyOverlayWarning)
            super()._update_edges(warn_stacklevel)

    def _build_highlight(self):
        """The 3D scene's highlight actors, flat, and a caption in the view's top-left
        corner instead of the label at the edge's middle: in a view a few hundred pixels
        wide, that label (two names and the weight) ran off the view's edge."""
        from tvtk.api import tvtk

        actors = super()._build_highlight()
        caption = tvtk.TextActor(input="")
        caption.position_coordinate.coordinate_system = "normalized_viewport"
        caption.position_coordinate.value = (0.02, 0.98, 0.0)
        caption.text_property.trait_set(font_size=13, bold=True, italic=False, shadow=False,
                                        color=_GRAPH_HIGHLIGHT_TEXT_COLOR,
                                        justification="left", vertical_justification="top")
        self._hl_caption = caption
        self.highlight_actors.append(caption)
        self._place()
        return [*actors, caption]

    def _turn_highlight_text(self):
        """The highlight's text is the caption here, in its corner."""

    def _update_highlight(self):
        super()._update_highlight()
        caption = getattr(self, "_hl_caption", None)
        if caption is not None:
            caption.input = self.highlight_text()

    def _update_visibility(self):
        super()._update_visibility()
        if getattr(self, "_hl_caption", None) is not None:
            self._hl_text_actor.visibility = False  # the caption says it
        if not self.show_in_2d:
            for actor in self._actors():
                actor.visibility = False

    def _show_in_2d_changed(self):
        self._update_visibility()
        self.render()

    def _flat_actors(self):
        return [a for a in (self.node_actor, self.edge_actor, self.arrow_actor,
                            getattr(self, "_hl_edge_actor", None),
                            getattr(self, "_hl_node_actor", None)) if a is not None]

    def _place(self):
        """Squeeze new actors flat (once each) and put every one at the graph's place in the
        stack at the cursor: on a cursor move, one position per actor, and only when the
        cursor moved along the view's axis."""
        from tvtk.tvtk_base import global_disable_update

        axis = self._axis
        toward = AXES[("sagittal", "coronal", "axial")[axis]][1][axis]
        flat = self.__dict__.setdefault("_flattened", set())
        nodes = {self.node_actor, getattr(self, "_hl_node_actor", None)}
        for actor in self._flat_actors():
            if actor not in flat:
                scale = [1.0, 1.0, 1.0]
                scale[axis] = _GRAPH_SQUEEZE
                actor.scale = scale
                actor.property.lighting = False
                flat.add(actor)
            # the nodes over the edges (flat, an edge's band ran over the discs it joins)
            lift = (self.depth + 1) * _DEPTH_STEP + (_NODE_LIFT if actor in nodes else _GRAPH_LIFT)
            position = [0.0, 0.0, 0.0]
            position[axis] = float(self.cursor[axis]) + toward * lift
            vtk_actor = actor._vtk_obj
            if tuple(vtk_actor.GetPosition()) != tuple(position):
                with global_disable_update():  # straight VTK: no TVTK trait re-reading
                    vtk_actor.SetPosition(*position)
        self.render()


#: Layer class -> the visual that draws it in a 2D view; None: not drawn in 2D views.
SLICE_VISUALS = {
    model.AnatomyLayer: GreyPlane,
    model.SeriesLayer: GreyPlane,
    model.StatMapLayer: MapPlane,
    model.MaskLayer: MaskPlane,
    model.LabelLayer: LabelPlane,
    model.ConnectomeLayer: GraphProjection,
    model.SurfaceLayer: None,
    model.GlassBrainLayer: None,
}


# --------------------------------------------------------------------------- the view itself
class CursorCross:
    """Two lines through the cursor in a 2D view (FSLeyes green), and the edge labels."""

    def __init__(self, figure, view):
        from tvtk.api import tvtk

        self.figure, self.view = figure, view
        self.axis = AXES[view][0]
        self._source = tvtk.PolyData(points=np.zeros((4, 3)), lines=np.array([[0, 1], [2, 3]]))
        self._points = self._source._vtk_obj.GetPoints()
        mapper = tvtk.PolyDataMapper()
        mapper.set_input_data(self._source)
        self.actor = tvtk.Actor(mapper=mapper)
        self.actor.property.trait_set(color=(0.1, 0.85, 0.1), line_width=1.0, lighting=False)
        figure.scene.add_actor(self.actor)
        self.labels = []
        left, right, bottom, top = _EDGE_LABELS[view]
        for text, (x, y), just in ((left, (0.02, 0.5), "left"), (right, (0.98, 0.5), "right"),
                                   (bottom, (0.5, 0.02), "centered"), (top, (0.5, 0.98), "centered")):
            actor = tvtk.TextActor(input=text)
            actor.position_coordinate.coordinate_system = "normalized_viewport"
            actor.position_coordinate.value = (x, y, 0.0)
            actor.text_property.trait_set(font_size=14, bold=True, color=(0.55, 0.7, 1.0),
                                          justification=just, vertical_justification="centered",
                                          shadow=False)
            figure.scene.add_actor(actor)
            self.labels.append(actor)
        self.coord_text = tvtk.TextActor(input="")
        self.coord_text.position_coordinate.coordinate_system = "normalized_viewport"
        self.coord_text.position_coordinate.value = (0.02, 0.02, 0.0)
        self.coord_text.text_property.trait_set(font_size=11, color=(0.85, 0.85, 0.85),
                                                shadow=False)
        figure.scene.add_actor(self.coord_text)

    def update(self, cursor, bounds):
        """Lines across ``bounds`` (xmin, xmax, ...) through ``cursor``, just nearer the camera."""
        k = self.axis
        direction = np.asarray(AXES[self.view][1])
        c = np.asarray(cursor, dtype=float) + direction * 5.0
        lo, hi = np.asarray(bounds[0::2]), np.asarray(bounds[1::2])
        pts = []
        for axis in range(3):
            if axis == k:
                continue
            a, b = c.copy(), c.copy()
            a[axis], b[axis] = lo[axis] - 20, hi[axis] + 20
            pts += [a, b]
        from tvtk.tvtk_base import global_disable_update

        # straight VTK calls on every cursor move (no TVTK trait re-reading); the
        # points and the text are only ever set here
        with global_disable_update():
            points = self._points
            for i, p in enumerate(pts):
                points.SetPoint(i, *p)
            points.Modified()
            self._source._vtk_obj.Modified()
            self.coord_text._vtk_obj.SetInput(f"{'xyz'[k]} = {float(cursor[k]):.1f} mm")


def view_frame(bounds, view, margin=1.08):
    """``(focal point, parallel scale)`` framing ``bounds`` in a 2D view."""
    axis = AXES[view][0]
    b = np.asarray(bounds, dtype=float)
    centre = (b[0::2] + b[1::2]) / 2
    extents = (b[1::2] - b[0::2]) / 2
    others = [a for a in range(3) if a != axis]
    up_axis = int(np.argmax(np.abs(AXES[view][2])))
    across = [a for a in others if a != up_axis][0]
    return centre, extents, up_axis, across


def stack_planes(figure, planes):
    """Draw ``planes`` (bottom layer first) in that order.

    A 2D view blends its planes without order-independent transparency (see
    :func:`setup_view`), in the renderer's order of its props; a layer drawn anew (an
    undone removal put back under others) goes to the end of that order, so the order
    is set again here. The prop collection is reordered in place: removing a prop from
    the renderer would also free its texture and shaders.
    """
    props = figure.scene.renderer._vtk_obj.GetViewProps()
    actors = [p.actor._vtk_obj for p in planes if p.actor is not None]
    actors = [a for a in actors if props.IsItemPresent(a)]
    places = [props.IsItemPresent(a) for a in actors]
    if places == sorted(places):
        return
    for actor in actors:
        props.RemoveItem(actor)
        props.AddItem(actor)
    figure.scene.renderer._vtk_obj.Modified()


def setup_view(figure, view, bounds, aspect=1.0, margin=1.06):
    """Point a parallel camera at ``bounds`` along the view's axis, framing them.

    The view's planes are parallel, one per layer, at known depths: they are blended in
    the order :func:`stack_planes` keeps, without VTK's order-independent transparency
    pass: that pass costs a software renderer a fixed 3 ms per frame and view, more than
    the planes themselves (one 182 x 218 image actor in a 400 x 234 view: 4.8 ms a frame
    with it, 1.4 ms without, on this 2-core machine).
    """
    figure.scene.renderer.use_oit = False
    _, direction, up = AXES[view]
    centre, extents, up_axis, across = view_frame(bounds, view)
    cam = figure.scene.camera
    cam.parallel_projection = True
    cam.focal_point = tuple(centre)
    cam.position = tuple(centre + np.asarray(direction) * 1000.0)
    cam.view_up = up
    cam.parallel_scale = float(margin * max(extents[up_axis], extents[across] / max(aspect, 1e-6), 1.0))
    # the planes move with the cursor: a fixed, generous depth range keeps them in view
    # (the camera is 1000 mm away, the layers within a few hundred mm of the focal point)
    cam.clipping_range = (1.0, 3000.0)


def display_to_world(figure, view, xy, cursor):
    """The world point (mm) under display pixel ``xy`` on the view's plane through ``cursor``."""
    renderer = figure.scene.renderer
    renderer.display_point = (float(xy[0]), float(xy[1]), 0.0)
    renderer.display_to_world()
    wx, wy, wz, w = renderer.world_point
    point = np.array([wx, wy, wz]) / (w if w else 1.0)
    axis = AXES[view][0]
    point[axis] = float(cursor[axis])
    return point
