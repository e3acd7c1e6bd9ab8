"""Statistical map overlay: thresholded slices through the cursor and isosurfaces.

The map keeps its own grid: it is placed in world mm from its own affine,
so a map whose grid and affine differ from the anatomy's lands exactly where
it belongs without resampling.

Threshold, colour map, range and opacity change lookup tables and contour
values in place: nothing is rebuilt and the data are never copied again.
"""
import warnings
import weakref

import numpy as np
from traits.api import (
    Array, Bool, Float, Instance, Int, List, Property, Range, Str, on_trait_change,
)

from ..exceptions import DataValueError, EmptyOverlayWarning
from ._base import (
    N_COLORS, Colormap, GridVisual, MappedRange, ThresholdTrait, VolumeGrid, display_range, lut_table,
    make_slices, resolve_threshold, scalar_source, set_slice_positions, sync_colorbar,
    threshold_table, to_volume, update_lut,
)
from ._figure import disable_render

__all__ = ["StatMapVisual", "MaskVisual", "interactive_cutouts", "blend_for_export",
           "restore_cutouts"]

#: Every map visual made (weakly): an export finds the cut-out slices of its figure here.
_MAPS = weakref.WeakSet()
#: The scenes (weakly) whose opaque maps draw their slices as cut-outs: interactive ones.
_CUTOUT_SCENES = weakref.WeakSet()

# Overlay planes sit this far (mm) in front of and behind the anatomy planes
# so that neither hides the other, whichever side the camera is on.
_PLANE_OFFSET = 0.1


class StatMapVisual(MappedRange, GridVisual):
    """A statistical map drawn on the three slices through the cursor and as isosurfaces.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D map (4D raises :class:`~brainviz.exceptions.DimensionError`).
    threshold : float or str, default=0
        Values with ``|v| < threshold`` are not drawn (``v < threshold`` when
        ``two_sided`` is False). 0 draws every non-zero value; ``"95%"`` is that
        percentile of the non-zero absolute values.
    cursor : (float, float, float), default=(0, 0, 0)
        World position (mm) the slices pass through.
    over_anatomy : bool, default=False
        Opaque anatomy slices lie under the map: its slices are then drawn just in
        front of and just behind them, so that neither hides the other.
    figure : Scene, default=None
        Figure to draw into (the current mlab figure if None).
    **traits
        Initial values of the traits below (``cmap``, ``vmax``, ``opacity``,
        ``show_isosurface``, ...).

    Notes
    -----
    The colour range is symmetric, ``[-vmax, vmax]`` with ``vmax = max |v|``,
    unless ``symmetric=False`` (then ``[vmin, vmax]`` from the data). NaN voxels
    are transparent. A threshold that hides everything leaves an empty overlay
    and emits :class:`~brainviz.exceptions.EmptyOverlayWarning`.
    """

    layer_handlers = {
        "visible": "visible", "opacity": "opacity", "cmap": "cmap", "threshold": "threshold",
        "vmin": "set_vmin", "vmax": "set_vmax", "symmetric": "symmetric", "two_sided": "two_sided",
        "show_slices": "show_slices", "show_isosurface": "show_isosurface",
        "isosurface_opacity": "isosurface_opacity", "show_colorbar": "show_colorbar",
        "colorbar_title": "colorbar_title", "neg_cmap": "neg_cmap", "frame": "frame",
    }
    follows_cursor = True

    threshold = ThresholdTrait(0.0)
    #: The threshold in force, as a number (a percentile resolved on the data).
    threshold_value = Property(Float, observe="threshold")
    two_sided = Bool(True)
    cmap = Colormap("cold_hot")
    #: A colour map of its own for the negative values ("" for none): positive values then
    #: run through ``cmap`` from 0 to the top of the range, negative ones through
    #: ``neg_cmap`` from 0 down to the bottom (FSLeyes' negative colour map).
    neg_cmap = Str("")
    #: The frame drawn of a 4D map (the colour range stays the first frame's unless set).
    frame = Int(0)
    vmin = Float()
    vmax = Float()
    symmetric = Bool(True)
    opacity = Range(0.0, 1.0, 1.0)
    cursor = Array(dtype=float, shape=(3,), value=np.zeros(3))
    show_slices = Bool(True)
    show_isosurface = Bool(False)
    isosurface_opacity = Range(0.0, 1.0, 1.0)
    show_colorbar = Bool(False)
    colorbar_title = Str()

    over_anatomy = Bool(False)
    #: Draw the slices as cut-outs (in the opaque pass) while the map is fully opaque, in a
    #: scene given to interactive_cutouts (the window's): a scene with no translucent slice
    #: skips VTK's order-independent transparency pass on every frame. Exports turn it off
    #: for the images they write, whose slices blend.
    cutouts = Bool(True)
    slices = List()
    back_slices = List()
    isosurfaces = List()
    lut = Instance(object)
    scalar_bar = Instance(object)

    def __init__(self, img, threshold=0.0, cursor=(0.0, 0.0, 0.0), figure=None, frame=0,
                 **traits):
        self._iso_image = None
        self._iso_contours = []
        self._iso_has = []
        self._iso_outputs = []
        from ..data import load_volume

        vol = load_volume(img)
        if vol.ndim == 4 and vol.n_frames > 1:
            self._series = vol
            frame = int(min(max(int(frame), 0), vol.n_frames - 1))
            grid = VolumeGrid.shared(vol, frame=frame)
        else:
            self._series = None
            vol = to_volume(vol, "img")
            grid = VolumeGrid.shared(vol)
            frame = 0
        traits["frame"] = frame
        value_range = VolumeGrid.map_range(vol)  # every frame's
        if value_range is None:
            raise DataValueError(
                f"The statistical map {grid.name!r} holds no finite value (all NaN)."
            )
        self._data_min, self._data_max, self._abs_max = value_range
        self._abs_max = self._abs_max or 1.0
        if self._data_max <= self._data_min:
            self._data_max = self._data_min + 1
        self._init_range(traits)
        traits.setdefault("name", grid.name or "statistical map")
        if not traits.get("colorbar_title"):
            traits["colorbar_title"] = traits["name"]
        if threshold is None:
            threshold = 0.0
        super().__init__(grid=grid, threshold=threshold, cursor=np.asarray(cursor, dtype=float),
                         **traits)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()
        _MAPS.add(self)
        self._check_empty()

    def _get_threshold_value(self):
        return resolve_threshold(self.threshold, self.grid.data if self.grid is not None else [])

    @property
    def data_range(self):
        """(low, high) values the colour map spans."""
        return self._range()

    # -- building --------------------------------------------------------
    def _display_data(self):
        """What the slices show: the map with its exact zeros (no data) made NaN, so that the
        colour table never needs a transparent band around 0: an unthresholded map is drawn
        whole, with no hole where its values cross zero."""
        data = self.grid.data
        return np.where(data == 0, np.float32(np.nan), data).astype(np.float32, copy=False)

    def _build(self):
        self.source = scalar_source(self.figure, self.grid, data=self._display_data(),
                                    name=self.name)
        self.slices = make_slices(self.source, self.figure, self.cursor, self.name)
        self.back_slices = make_slices(self.source, self.figure, self.cursor, f"{self.name} (back)")
        self._update_lut()
        self._update_cursor()
        self._update_opacity()
        if self.show_isosurface:
            self._update_isosurfaces()
        self._update_visibility()
        if self.show_colorbar:
            self._update_colorbar()

    def _range(self):
        return display_range(self.vmin, self.vmax, self.symmetric, self._data_min, self._data_max)

    def colorbar_lut(self, n=N_COLORS):
        """The (n, 4) uint8 colours spanning the range, before thresholding: ``cmap``, or with
        ``neg_cmap`` the two maps meeting at 0.

        With isosurfaces shown, ends that fade to white take their last vivid colour
        (``brainviz.scene.colors.vivid_ends``: yellow and cyan for ``cold_hot``): a
        surface white at its peak reads as a highlight. The slices and the colour bar use
        the same table, so the colour bar stays the key to every colour drawn."""
        from ._base import two_map_lut

        lo, hi = self._range()
        lut = two_map_lut(self.cmap, self.neg_cmap, lo, hi, n)
        if self.show_isosurface:
            from .colors import vivid_ends

            lut = vivid_ends(lut)
        return lut

    def _table(self):
        lo, hi = self._range()
        base = self.colorbar_lut(N_COLORS)
        if self.threshold_value <= 0:
            return base  # zeros are NaN (transparent) in the data: no band is hidden
        table = threshold_table(base, lo, hi, self.threshold_value, self.two_sided)
        if self._opaque():  # cut-outs divide the filtered colour by its alpha
            table[table[:, 3] == 0, :3] = 0
        return table

    def _opaque(self):
        """Whether the slices are drawn as cut-outs in the opaque pass (see
        :meth:`SlicePlane.set_opaque`): while the layer is fully opaque, on screen. A
        scene whose slices are all cut-outs skips VTK's order-independent transparency
        pass, a fixed 3 ms of every frame under software rendering; a blob's edge is then
        the line where the filtered alpha crosses one half. Exports blend the slices
        (:func:`blend_for_export`): their multisampling smooths no cut-out's edge, and
        a blended edge fades."""
        figure = self.figure
        on_screen = figure is not None and figure.scene in _CUTOUT_SCENES
        return self.cutouts and on_screen and float(self.opacity) >= 1.0

    def _cutouts_changed(self):
        if self.slices:
            self._update_opacity()

    def color_at(self, value):
        """RGB (0-1 floats) the colour map gives ``value`` (ignoring the threshold)."""
        lo, hi = self._range()
        base = self.colorbar_lut(N_COLORS)
        i = int(np.clip((float(value) - lo) / (hi - lo) * N_COLORS, 0, N_COLORS - 1))
        return tuple(base[i, :3] / 255.0)

    def _neg_cmap_changed(self, old, new):
        if new:
            from .colors import check_colormap

            check_colormap(new, parameter="neg_cmap")
        self._update_lut()

    def _frame_changed(self, old, new):
        if self._series is None or self.source is None:
            return
        frame = int(min(max(int(new), 0), self._series.n_frames - 1))
        self.grid = VolumeGrid.shared(self._series, frame=frame)
        self._iso_image = None
        with disable_render(self.figure):
            self.source.scalar_data = self._display_data()
            self._update_lut()
        self.render()

    # -- trait handlers (in place) ---------------------------------------
    @on_trait_change("threshold, two_sided, cmap, vmin, vmax, symmetric, show_isosurface")
    def _update_lut(self):
        if self.grid is None:
            return
        if not self.slices:
            return
        with disable_render(self.figure):
            new = self.lut is None
            self.lut = update_lut(self.lut, self._table(), self._range())
            if new:
                for plane in self.slices + self.back_slices:
                    plane.lookup_table = self.lut
            self._update_isosurfaces()
            self._update_colorbar()

    @on_trait_change("threshold, two_sided")
    def _check_empty(self):
        if self.grid is None or self.figure is None:
            return
        data = self.grid.data
        t = self.threshold_value
        with np.errstate(invalid="ignore"):
            shown = (np.abs(data) >= t) if self.two_sided else (data >= t)
            if t <= 0:
                shown &= data != 0
        if not np.any(shown):
            side = "|value|" if self.two_sided else "value"
            warnings.warn(
                f"threshold={t:g} hides all of {self.name!r} (max {side} is "
                f"{self._abs_max if self.two_sided else self._data_max:g}): the overlay is empty.",
                EmptyOverlayWarning,
                stacklevel=3,
            )

    @on_trait_change("cursor")
    def _update_cursor(self):
        offset = _PLANE_OFFSET if self.over_anatomy else 0.0
        set_slice_positions(self.slices, [float(pos) + offset for pos in self.cursor])
        set_slice_positions(self.back_slices, [float(pos) - _PLANE_OFFSET for pos in self.cursor])
        self.render()

    def _over_anatomy_changed(self):
        if self.figure is None:
            return
        with disable_render(self.figure):
            self._update_cursor()
            self._update_visibility()

    @on_trait_change("opacity")
    def _update_opacity(self):
        planes = self.slices + self.back_slices
        opaque = self._opaque()
        changed = any(plane.cutout != opaque for plane in planes)
        for plane in planes:
            plane.opacity = float(self.opacity)
            plane.set_opaque(opaque)
        if changed:
            self._update_lut()  # the hidden entries' colour follows
        self.render()

    @on_trait_change("visible, show_slices, show_isosurface")
    def _update_visibility(self):
        show = bool(self.visible and self.show_slices)
        for plane in self.slices:
            plane.visible = show
        # Behind-the-plane copies only matter when opaque anatomy planes hide one side.
        for plane in self.back_slices:
            plane.visible = show and self.over_anatomy
        if self.show_isosurface and not self.isosurfaces and self.source is not None:
            self._update_isosurfaces()
        for actor, has in zip(self.isosurfaces, self._iso_has):
            actor.visibility = bool(self.visible and self.show_isosurface and has)
        if self.scalar_bar is not None:
            self.scalar_bar.visibility = bool(self.visible and self.show_colorbar)
        self.render()

    def _make_isosurface(self):
        """One smoothed isosurface: image -> flying edges -> windowed sinc -> normals; the
        actor draws a copy of the result coloured by value (:meth:`_color_surface`).

        Plain VTK (not an mlab module) so the contour level is the threshold itself
        and the surface is smoothed: coarse maps give staircase blobs otherwise.
        """
        from tvtk.api import tvtk

        contour = tvtk.FlyingEdges3D(compute_normals=False, compute_scalars=False)
        smooth = tvtk.WindowedSincPolyDataFilter(
            number_of_iterations=15, pass_band=0.1, boundary_smoothing=False,
            feature_edge_smoothing=False, non_manifold_smoothing=True, normalize_coordinates=True)
        smooth.input_connection = contour.output_port
        normals = tvtk.PolyDataNormals(splitting=False)
        normals.input_connection = smooth.output_port
        mapper = tvtk.PolyDataMapper(scalar_visibility=True, color_mode="map_scalars",
                                     use_lookup_table_scalar_range=False)
        mapper.lookup_table = tvtk.LookupTable()
        actor = tvtk.Actor(mapper=mapper)
        actor.property.specular = 0.3
        actor.property.specular_power = 20
        self.figure.scene.add_actor(actor)
        return contour, normals, actor

    def _iso_input(self):
        if self._iso_image is None:
            from tvtk.api import tvtk
            from vtkmodules.util.numpy_support import numpy_to_vtk

            data = np.nan_to_num(self.grid.data, nan=0.0)
            image = tvtk.ImageData(dimensions=data.shape, spacing=tuple(self.grid.spacing),
                                   origin=tuple(self.grid.origin))
            array = numpy_to_vtk(np.ascontiguousarray(data.ravel(order="F")), deep=True)
            array.SetName("values")
            image._vtk_obj.GetPointData().SetScalars(array)
            self._iso_image = image
            for contour in self._iso_contours:
                contour.set_input_data(image)
        return self._iso_image

    #: How deep under an isosurface (mm) its colour looks for the map's strongest value.
    ISO_DEPTH = 6.0

    def surface_values(self, points, normals, sign):
        """The value an isosurface shows at each vertex: the map's extreme (largest for the
        positive surface, smallest for the negative one) along the normal within
        :attr:`ISO_DEPTH` mm, so the blobs show where the map is strongest beneath them."""
        data = np.nan_to_num(self.grid.data, nan=0.0)
        steps = np.linspace(-self.ISO_DEPTH, self.ISO_DEPTH, 9)
        samples = []
        for d in steps:
            ijk = (points + d * normals - self.grid.origin) / self.grid.spacing
            samples.append(trilinear(data, ijk.T))
        samples = np.stack(samples)
        return samples.max(axis=0) if sign > 0 else samples.min(axis=0)

    def _color_surface(self, normals_filter, actor, sign):
        """Colour one isosurface by :meth:`surface_values` through the map's colours."""
        from tvtk.api import tvtk
        from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

        normals_filter.update()
        out = normals_filter.output
        polydata = tvtk.PolyData()
        polydata.deep_copy(out)
        n_points = polydata.number_of_points
        if n_points:
            pts = vtk_to_numpy(polydata._vtk_obj.GetPoints().GetData()).astype(float)
            nrm_array = polydata._vtk_obj.GetPointData().GetNormals()
            nrm = vtk_to_numpy(nrm_array).astype(float) if nrm_array is not None else \
                np.zeros_like(pts)
            values = self.surface_values(pts, nrm, sign).astype(np.float32)
            array = numpy_to_vtk(np.ascontiguousarray(values), deep=True)
            array.SetName("value")
            polydata._vtk_obj.GetPointData().SetScalars(array)
        actor.mapper.set_input_data(polydata)
        lo, hi = self._range()
        table = self.colorbar_lut(N_COLORS).copy()
        table[:, 3] = 255  # surfaces are opaque whatever the map's alpha ramp
        # an opaque NaN colour too: VTK treats a table with any transparent entry as
        # translucent, and unsorted translucent surfaces show through each other
        update_lut(actor.mapper.lookup_table, table, (lo, hi), nan_color=(0.5, 0.5, 0.5, 1.0))
        actor.mapper.scalar_range = (lo, hi)

    @on_trait_change("isosurface_opacity")
    def _update_isosurfaces(self):
        if self.grid is None or self.figure is None or not self.show_isosurface:
            return
        t = max(self.threshold_value, 1e-9 * self._abs_max)
        levels = [t, -t] if self.two_sided else [t, None]
        data_min = float(np.nanmin(self.grid.data)) if self._series is not None else self._data_min
        data_max = float(np.nanmax(self.grid.data)) if self._series is not None else self._data_max
        with disable_render(self.figure):
            if not self.isosurfaces:
                self._iso_contours, self._iso_outputs = [], []
                for _ in ("positive", "negative"):
                    contour, normals, actor = self._make_isosurface()
                    self._iso_contours.append(contour)
                    self._iso_outputs.append(normals)
                    self.isosurfaces.append(actor)
            self._iso_input()
            self._iso_has = []
            for contour, normals, actor, level in zip(self._iso_contours, self._iso_outputs,
                                                      self.isosurfaces, levels):
                has = level is not None and (
                    (level > 0 and data_max >= level) or (level < 0 and data_min <= level)
                )
                self._iso_has.append(has)
                if level is not None:
                    contour.number_of_contours = 1
                    contour.set_value(0, float(level))
                    if has:
                        # coloured by the map's values under the surface (not one flat colour)
                        self._color_surface(normals, actor, 1 if level > 0 else -1)
                actor.property.opacity = float(self.isosurface_opacity)
                actor.visibility = bool(self.visible and self.show_isosurface and has)

    @on_trait_change("show_colorbar, colorbar_title")
    def _update_colorbar(self):
        if self.figure is not None and self.slices:
            sync_colorbar(self)

    def _actors(self):
        return list(self.isosurfaces) + ([self.scalar_bar] if self.scalar_bar is not None else [])


def interactive_cutouts(figure):
    """Let the opaque maps of ``figure`` (the window's 3D scene) draw cut-out slices.

    Only a scene rendered frame after frame gains from them; a figure made only to be
    exported (``brainviz render``, a script) keeps blended slices, and its export does not
    switch shaders back and forth (a third of a second for the demo's left view)."""
    _CUTOUT_SCENES.add(figure.scene)
    for visual in list(_MAPS):
        if visual.figure is not None and visual.figure.scene is figure.scene and visual.slices:
            visual._update_opacity()


def blend_for_export(scene):
    """Blend the cut-out slices of the maps drawn in ``scene`` (a TVTK scene) for an
    export; returns what :func:`restore_cutouts` takes to put them back."""
    switched = []
    for visual in list(_MAPS):
        figure = visual.figure
        if visual._opaque() and figure is not None and figure.scene is scene:
            with disable_render(figure):
                visual.cutouts = False
            switched.append(visual)
    return switched


def restore_cutouts(switched):
    """Undo :func:`blend_for_export`."""
    for visual in switched:
        if visual.figure is not None and visual.figure.scene is not None:
            with disable_render(visual.figure):
                visual.cutouts = True


class MaskVisual(StatMapVisual):
    """A binary mask over the slices, in one colour (the top of its colour map)."""

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "show_slices": "show_slices"}

    def __init__(self, img, figure=None, **traits):
        traits.update(threshold=0.5, two_sided=False, symmetric=False, vmin=0.0, vmax=1.0)
        super().__init__(img, figure=figure, **traits)


def trilinear(data, ijk):
    """``scipy.ndimage.map_coordinates(data, ijk, order=1, mode="nearest")`` for a 3D array,
    the same values, with numpy alone.

    The isosurfaces of a figure sample their map at a few thousand points: importing
    scipy.ndimage for that cost ``brainviz render`` a third of a second and 19 MB. The
    eight corners are summed in double precision and the result cast to ``data``'s type:
    for a float32 map (a grid's data) the values are scipy's to the last bit; in float64
    they may differ from scipy's in the last bit.

    Parameters
    ----------
    data : ndarray, shape (nx, ny, nz)
    ijk : array-like, shape (3, n)
        Voxel coordinates; outside the grid they are clamped to its edge.

    Returns
    -------
    ndarray, shape (n,), of ``data``'s dtype
    """
    top = np.asarray(data.shape, dtype=np.intp)[:, None] - 1
    c = np.clip(np.asarray(ijk, dtype=np.float64), 0, top)
    lo = np.floor(c).astype(np.intp)
    t = c - lo
    corners = (lo, np.minimum(lo + 1, top))
    weights = (1.0 - t, t)
    out = np.zeros(c.shape[1])
    for a in (0, 1):
        for b in (0, 1):
            for k in (0, 1):
                value = data[corners[a][0], corners[b][1], corners[k][2]].astype(np.float64)
                out += value * weights[a][0] * weights[b][1] * weights[k][2]
    return out.astype(data.dtype)
