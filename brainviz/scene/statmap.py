"""Statistical map overlay: thresholded slices through the cursor and isosurfaces.

The map keeps its own grid: it is placed in world mm from its own affine,
so a map whose grid and affine differ from the anatomy's lands exactly where
it belongs without resampling.

Threshold, colour map, range and opacity change lookup tables and contour
values in place: nothing is rebuilt and the data are never copied again.
"""
import warnings

import numpy as np
from traits.api import Array, Bool, Float, Instance, List, Property, Range, Str, on_trait_change

from ..exceptions import DataValueError, EmptyOverlayWarning
from ._base import (
    N_COLORS, Colormap, GridVisual, MappedRange, ThresholdTrait, VolumeGrid, display_range, lut_table,
    make_slices, resolve_threshold, scalar_source, sync_colorbar, threshold_table, to_volume,
    update_lut,
)
from ._figure import disable_render

__all__ = ["StatMapVisual", "MaskVisual"]

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
        "colorbar_title": "colorbar_title",
    }
    follows_cursor = True

    threshold = ThresholdTrait(0.0)
    #: The threshold in force, as a number (a percentile resolved on the data).
    threshold_value = Property(Float, observe="threshold")
    two_sided = Bool(True)
    cmap = Colormap("cold_hot")
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
    slices = List()
    back_slices = List()
    isosurfaces = List()
    lut = Instance(object)
    scalar_bar = Instance(object)

    def __init__(self, img, threshold=0.0, cursor=(0.0, 0.0, 0.0), figure=None, **traits):
        self._iso_image = None
        self._iso_contours = []
        self._iso_has = []
        vol = to_volume(img, "img")
        grid = VolumeGrid(vol)
        finite = grid.data[np.isfinite(grid.data)]
        if finite.size == 0:
            raise DataValueError(
                f"The statistical map {grid.name!r} holds no finite value (all NaN)."
            )
        self._data_min = float(finite.min())
        self._data_max = float(finite.max())
        self._abs_max = float(np.abs(finite).max()) or 1.0
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
        self._check_empty()

    def _get_threshold_value(self):
        return resolve_threshold(self.threshold, self.grid.data if self.grid is not None else [])

    @property
    def data_range(self):
        """(low, high) values the colour map spans."""
        return self._range()

    # -- building --------------------------------------------------------
    def _build(self):
        self.source = scalar_source(self.figure, self.grid, name=self.name)
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

    def _table(self):
        lo, hi = self._range()
        base = lut_table(self.cmap, N_COLORS)
        return threshold_table(base, lo, hi, self.threshold_value, self.two_sided)

    def color_at(self, value):
        """RGB (0-1 floats) the colour map gives ``value`` (ignoring the threshold)."""
        lo, hi = self._range()
        base = lut_table(self.cmap, N_COLORS)
        i = int(np.clip((float(value) - lo) / (hi - lo) * N_COLORS, 0, N_COLORS - 1))
        return tuple(base[i, :3] / 255.0)

    # -- trait handlers (in place) ---------------------------------------
    @on_trait_change("threshold, two_sided, cmap, vmin, vmax, symmetric")
    def _update_lut(self):
        if not self.slices:
            return
        with disable_render(self.figure):
            new = self.lut is None
            self.lut = update_lut(self.lut, self._table(), self._range())
            if new:
                for ipw in self.slices + self.back_slices:
                    ipw.ipw.lookup_table = self.lut
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
        for ipw, pos in zip(self.slices, self.cursor):
            offset = _PLANE_OFFSET if self.over_anatomy else 0.0
            ipw.ipw.slice_position = float(pos) + offset
        for ipw, pos in zip(self.back_slices, self.cursor):
            ipw.ipw.slice_position = float(pos) - _PLANE_OFFSET
        self.render()

    def _over_anatomy_changed(self):
        if self.figure is None:
            return
        with disable_render(self.figure):
            self._update_cursor()
            self._update_visibility()

    @on_trait_change("opacity")
    def _update_opacity(self):
        for ipw in self.slices + self.back_slices:
            ipw.ipw.texture_plane_property.opacity = float(self.opacity)
        self.render()

    @on_trait_change("visible, show_slices, show_isosurface")
    def _update_visibility(self):
        show = bool(self.visible and self.show_slices)
        for ipw in self.slices:
            ipw.visible = show
        # Behind-the-plane copies only matter when opaque anatomy planes hide one side.
        for ipw in self.back_slices:
            ipw.visible = show and self.over_anatomy
        if self.show_isosurface and not self.isosurfaces and self.source is not None:
            self._update_isosurfaces()
        for actor, has in zip(self.isosurfaces, self._iso_has):
            actor.visibility = bool(self.visible and self.show_isosurface and has)
        if self.scalar_bar is not None:
            self.scalar_bar.visibility = bool(self.visible and self.show_colorbar)
        self.render()

    def _make_isosurface(self):
        """One smoothed isosurface: image -> flying edges -> windowed sinc -> normals -> actor.

        Plain VTK (not an mlab module) so the contour level is the threshold itself
        and the surface is smoothed: coarse maps give staircase blobs otherwise.
        """
        from tvtk.api import tvtk
        from tvtk.common import configure_input

        if self._iso_image is None:
            from vtkmodules.util.numpy_support import numpy_to_vtk

            data = np.nan_to_num(self.grid.data, nan=0.0)
            image = tvtk.ImageData(dimensions=data.shape, spacing=tuple(self.grid.spacing),
                                   origin=tuple(self.grid.origin))
            array = numpy_to_vtk(np.ascontiguousarray(data.ravel(order="F")), deep=True)
            array.SetName("values")
            image._vtk_obj.GetPointData().SetScalars(array)
            self._iso_image = image
        contour = tvtk.FlyingEdges3D(compute_normals=False, compute_scalars=False)
        configure_input(contour, self._iso_image)
        smooth = tvtk.WindowedSincPolyDataFilter(
            number_of_iterations=15, pass_band=0.1, boundary_smoothing=False,
            feature_edge_smoothing=False, non_manifold_smoothing=True, normalize_coordinates=True)
        smooth.input_connection = contour.output_port
        normals = tvtk.PolyDataNormals(splitting=False)
        normals.input_connection = smooth.output_port
        mapper = tvtk.PolyDataMapper(scalar_visibility=False)
        mapper.input_connection = normals.output_port
        actor = tvtk.Actor(mapper=mapper)
        actor.property.specular = 0.3
        actor.property.specular_power = 20
        self.figure.scene.add_actor(actor)
        return contour, actor

    @on_trait_change("isosurface_opacity")
    def _update_isosurfaces(self):
        if self.grid is None or self.figure is None or not self.show_isosurface:
            return
        lo, hi = self._range()
        t = max(self.threshold_value, 1e-9 * self._abs_max)
        levels = [t, -t] if self.two_sided else [t, None]
        with disable_render(self.figure):
            if not self.isosurfaces:
                self._iso_contours = []
                for _ in ("positive", "negative"):
                    contour, actor = self._make_isosurface()
                    self._iso_contours.append(contour)
                    self.isosurfaces.append(actor)
            self._iso_has = []
            for contour, actor, level in zip(self._iso_contours, self.isosurfaces, levels):
                has = level is not None and (
                    (level > 0 and self._data_max >= level)
                    or (level < 0 and self._data_min <= level)
                )
                self._iso_has.append(has)
                # An isosurface takes the colour halfway between the threshold and the range end,
                # so that it reads clearly at any threshold.
                if level is not None:
                    end = hi if level > 0 else lo
                    actor.property.color = self.color_at(0.5 * (level + end))
                    contour.number_of_contours = 1
                    contour.set_value(0, float(level))
                actor.property.opacity = float(self.isosurface_opacity)
                actor.visibility = bool(self.visible and self.show_isosurface and has)

    @on_trait_change("show_colorbar, colorbar_title")
    def _update_colorbar(self):
        if self.figure is not None and self.slices:
            sync_colorbar(self)

    def _actors(self):
        return list(self.isosurfaces) + ([self.scalar_bar] if self.scalar_bar is not None else [])


class MaskVisual(StatMapVisual):
    """A binary mask over the slices, in one colour (the top of its colour map)."""

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "show_slices": "show_slices"}

    def __init__(self, img, figure=None, **traits):
        traits.update(threshold=0.5, two_sided=False, symmetric=False, vmin=0.0, vmax=1.0)
        super().__init__(img, figure=figure, **traits)
