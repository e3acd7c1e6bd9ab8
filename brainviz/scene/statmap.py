"""Statistical map overlay: thresholded slices through the cursor and isosurfaces.

The map keeps its own grid: it is placed in world mm from its own affine,
so a map whose grid and affine differ from the anatomy's lands exactly where
it belongs without resampling.

Threshold, colour map, range and opacity change lookup tables and contour
values in place: nothing is rebuilt and the data are never copied again.
"""
import textwrap
import warnings

import numpy as np
from traits.api import Array, Bool, Float, Instance, List, Range, Str, on_trait_change

from ..exceptions import DataValueError, EmptyOverlayWarning
from ._figure import Colormap, disable_render, display_range, lut_table
from .volume import (
    AnatomyVisual, GridVisual, VolumeGrid, make_slices, scalar_source, to_volume, update_lut,
)

__all__ = ["StatMapVisual", "threshold_table", "make_colorbar", "update_colorbar", "sync_colorbar"]

# Overlay planes sit this far (mm) in front of and behind the anatomy planes
# so that neither hides the other, whichever side the camera is on.
_PLANE_OFFSET = 0.1
_N_COLORS = 512


def threshold_table(table, vmin, vmax, threshold, two_sided=True):
    """Return ``table`` (n, 4 uint8) with the entries hidden by ``threshold`` made transparent.

    Entry ``i`` covers values ``[vmin + i w, vmin + (i + 1) w)``. It is kept only
    when every value it covers passes the threshold (``|v| >= threshold`` when
    ``two_sided``, ``v >= threshold`` otherwise), so no sub-threshold value is
    ever coloured. A threshold of 0 still hides exact zeros (no data).
    """
    table = np.array(table, dtype=np.uint8, copy=True)
    n = len(table)
    edges = np.linspace(vmin, vmax, n + 1)
    lo, hi = edges[:-1], edges[1:]
    t = float(threshold)
    if t <= 0:
        t = 1e-9 * max(abs(vmin), abs(vmax), 1e-30)
    keep = lo >= t
    if two_sided:
        keep |= hi <= -t
    table[~keep, 3] = 0
    return table


def make_colorbar(figure):
    """Add an empty vertical colour bar (tvtk ScalarBarActor with its own LUT) to ``figure``."""
    from tvtk.api import tvtk

    bar = tvtk.ScalarBarActor(
        lookup_table=tvtk.LookupTable(), orientation="vertical", number_of_labels=5,
        draw_annotations=True, annotation_text_scaling=False, unconstrained_font_size=True,
        maximum_width_in_pixels=90, maximum_height_in_pixels=400,
        # room between the title and the top label (which is centred on the bar's end)
        vertical_title_separation=10,
    )
    bar.position_coordinate.coordinate_system = "normalized_viewport"
    bar.position_coordinate.value = (0.86, 0.1, 0.0)
    bar.width, bar.height = 0.12, 0.8
    for prop in (bar.title_text_property, bar.label_text_property, bar.annotation_text_property):
        prop.color = (0.1, 0.1, 0.1)
        prop.shadow = False
        prop.italic = False
        prop.bold = False
        prop.font_size = 12
    bar.title_text_property.font_size = 14
    bar.title_text_property.bold = True
    bar.label_format = "%.3g"
    figure.scene.add_actor(bar)
    return bar


def sync_colorbar(visual):
    """Make, restyle or hide the colour bar of a mapped visual (stat map, surface) from
    its traits: ``show_colorbar``, ``colorbar_title``, ``cmap``, range and threshold.
    The bar is made the first time it is shown."""
    if not visual.show_colorbar and visual.scalar_bar is None:
        return
    if visual.scalar_bar is None:
        visual.scalar_bar = make_colorbar(visual.figure)
    lo, hi = visual._range()
    update_colorbar(visual.scalar_bar, visual.cmap, lo, hi, visual.threshold, visual.two_sided,
                    visual.colorbar_title or visual.name, visual.visible and visual.show_colorbar)
    visual.render()


def update_colorbar(bar, cmap, vmin, vmax, threshold, two_sided, title, visible):
    """Restyle a colour bar in place: colours, range, title, and the threshold marked.

    The band hidden by the threshold is drawn light grey (those colours are
    not shown in the scene) and the threshold values are annotated.
    """
    table = lut_table(cmap, _N_COLORS)
    hidden = threshold_table(table, vmin, vmax, threshold, two_sided)[:, 3] == 0
    table = table.copy()
    table[hidden, :3] = 200
    table[:, 3] = 255
    update_lut(bar.lookup_table, table, (vmin, vmax))
    bar.lookup_table.reset_annotations()
    t = float(threshold)
    if t > 0:
        for value in ([t, -t] if two_sided else [t]):
            if vmin <= value <= vmax:
                bar.lookup_table.set_annotation(float(value), f"{value:.3g}")
    # the title is centred on the bar at a fixed font size: wrapped, a long name
    # ("motor activation") stays inside the scene instead of running off its edge
    bar.title = textwrap.fill(str(title or ""), width=12, break_long_words=False)
    bar.visibility = bool(visible)
    bar.modified()


class StatMapVisual(GridVisual):
    """A statistical map drawn on the three slices through the cursor and as isosurfaces.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D map (4D raises :class:`~brainviz.exceptions.DimensionError`).
    threshold : float, default=0
        Values with ``|v| < threshold`` are not drawn (``v < threshold`` when
        ``two_sided`` is False). 0 draws every non-zero value.
    anatomy : AnatomyVisual, default=None
        Slices to follow: the overlay then shares its cursor. When None, the
        anatomy already drawn in ``figure`` (if any) is used.
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

    threshold = Float(0.0)
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

    anatomy = Instance(AnatomyVisual)
    slices = List()
    back_slices = List()
    isosurfaces = List()
    lut = Instance(object)
    scalar_bar = Instance(object)

    def __init__(self, img, threshold=0.0, anatomy=None, figure=None, **traits):
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
        symmetric = traits.get("symmetric", True)
        if symmetric:
            traits.setdefault("vmax", self._abs_max)
            traits.setdefault("vmin", -traits["vmax"])
        else:
            traits.setdefault("vmin", self._data_min)
            top = self._data_max if self._data_max > self._data_min else self._data_min + 1
            traits.setdefault("vmax", top)
        traits.setdefault("name", grid.name or "statistical map")
        traits.setdefault("colorbar_title", traits["name"])
        if threshold is None:
            threshold = 0.0
        super().__init__(grid=grid, threshold=float(threshold), **traits)
        self._setup(figure)
        if anatomy is None:
            from ._figure import figure_visuals

            found = figure_visuals(self.figure, AnatomyVisual)
            anatomy = found[-1] if found else None
        if anatomy is not None:
            self.cursor = anatomy.cursor.copy()
        with disable_render(self.figure):
            self._build()
            self.anatomy = anatomy
        self._check_empty()

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
        return display_range(self.vmin, self.vmax, self.symmetric, self._abs_max)

    def _table(self):
        lo, hi = self._range()
        base = lut_table(self.cmap, _N_COLORS)
        return threshold_table(base, lo, hi, self.threshold, self.two_sided)

    def color_at(self, value):
        """RGB (0-1 floats) the colour map gives ``value`` (ignoring the threshold)."""
        lo, hi = self._range()
        base = lut_table(self.cmap, _N_COLORS)
        i = int(np.clip((float(value) - lo) / (hi - lo) * _N_COLORS, 0, _N_COLORS - 1))
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
        t = float(self.threshold)
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
            offset = _PLANE_OFFSET if self.anatomy is not None else 0.0
            ipw.ipw.slice_position = float(pos) + offset
        for ipw, pos in zip(self.back_slices, self.cursor):
            ipw.ipw.slice_position = float(pos) - _PLANE_OFFSET
        self.render()

    def _anatomy_changed(self, old, new):
        if old is not None:
            old.on_trait_change(self._follow_anatomy, "cursor", remove=True)
        if new is not None:
            new.on_trait_change(self._follow_anatomy, "cursor")
            self.cursor = new.cursor.copy()
        self._update_cursor()
        self._update_visibility()

    def _follow_anatomy(self, cursor):
        self.cursor = np.asarray(cursor, dtype=float).copy()

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
            ipw.visible = show and self.anatomy is not None
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
        t = max(float(self.threshold), 1e-9 * self._abs_max)
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
