"""Region maps: a label image or a 4D stack of components, each region in its own colour.

All regions are one smoothed surface (discrete flying edges on the label
volume, one actor for every region) coloured through an indexed lookup table,
so showing one region or another, or changing colours, only edits the table.
A 4D stack of components (ICA / dictionary learning maps) is first turned
into labels: each voxel goes to the component with the largest value there,
if that value passes the component's threshold.
"""
import numpy as np
from traits.api import Any, Bool, Dict, Instance, Int, List, Property, Range, on_trait_change

from ..exceptions import DataValueError, ParameterError
from ._base import Colormap, Visual, VolumeGrid, lut_table, scalar_source, update_lut
from ._figure import disable_render

__all__ = ["RegionsVisual", "components_to_labels"]


def components_to_labels(maps, threshold=None):
    """Label volume (int32, 0 = none) from a 4D stack ``maps`` (x, y, z, n).

    ``threshold`` None keeps, per component, values at least a third of its
    maximum; a number is an absolute threshold for every component.
    """
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float32), nan=0.0)
    if threshold is None:
        peak = maps.reshape(-1, maps.shape[-1]).max(axis=0)
        thr = np.where(peak > 0, peak / 3.0, np.inf)
    else:
        thr = np.full(maps.shape[-1], float(threshold))
    passed = maps >= thr
    score = np.where(passed, maps, -np.inf)
    best = score.argmax(axis=-1)
    labels = np.where(passed.any(axis=-1), best + 1, 0).astype(np.int32)
    return labels


class RegionsVisual(Visual):
    """Regions of a label image or of 4D components, each in its own colour, with a legend.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D image of integer labels (0 is background) or a 4D stack of
        component maps (one region per frame).
    labels : dict of int -> str or list of str, default=None
        Region names for the legend: a dict keyed by region id, or a list (naming
        labels 1, 2, ... of a label image; components 0, 1, ...).
    threshold : float, default=None
        For components only: see :func:`components_to_labels`.
    figure : Scene, default=None
    **traits
        ``region`` (-1 shows all, else that region only), ``cmap``, ``opacity``,
        ``show_legend``, ``smoothing`` (iterations, 0 for raw voxels).

    Notes
    -----
    Regions are identified by their label value in a label image, and by the
    component's index (from 0, as in the job's result and
    ``nilearn.image.index_img``) in a stack of components.
    """

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "region": "region", "show_legend": "show_legend", "threshold": "threshold"}

    #: -1 shows every region; a region id shows that region only.
    region = Property(Int, depends_on="_region")
    _region = Int(-1)
    cmap = Colormap("regions")
    opacity = Range(0.0, 1.0, 1.0)
    show_legend = Bool(True)
    threshold = Any()
    smoothing = Int(15)

    #: Region id -> name.
    names = Dict()
    #: Region ids drawn, sorted.
    region_ids = List()
    grid = Instance(VolumeGrid)
    source = Instance(object)
    surface = Instance(object)
    lut = Instance(object)
    legend = Instance(object)

    @classmethod
    def layer_data(cls, layer):
        return (layer.data,)

    @classmethod
    def layer_traits(cls, layer):
        out = super().layer_traits(layer)
        out["labels"] = dict(layer.names) or None
        return out

    def __init__(self, img, labels=None, threshold=None, figure=None, **traits):
        from ..data import load_volume

        vol = load_volume(img)
        self._components = None
        self._offset = 0  # internal label value = region id + offset
        if vol.ndim == 4 and vol.n_frames > 1:
            ras = vol.as_ras()
            self._components = np.stack([ras.get_frame(i) for i in range(ras.n_frames)], axis=-1)
            label_data = components_to_labels(self._components, threshold)
            grid = VolumeGrid.from_array(label_data, ras.affine, name=vol.name)
            self._raw_affine = ras.affine
            self._offset = 1
            default_names = {i: f"component {i}" for i in range(vol.n_frames)}
        else:
            grid = VolumeGrid(vol)
            data = np.nan_to_num(grid.data)
            if not np.allclose(data, np.round(data)):
                raise DataValueError(
                    f"The 'img' parameter of regions expected integer labels or a 4D stack of "
                    f"components; {vol.name!r} is 3D with non-integer values."
                )
            grid.data = np.round(data).astype(np.float32)
            default_names = {int(v): f"region {int(v)}" for v in np.unique(grid.data) if v != 0}
        names = dict(default_names)
        if labels is not None:
            if isinstance(labels, dict):
                names.update({int(k): str(v) for k, v in labels.items()})
            else:
                first = 0 if self._offset else 1
                names.update({i + first: str(v) for i, v in enumerate(labels)})
        grid = _pad_thin_axes(grid)
        traits.setdefault("name", vol.name or "regions")
        super().__init__(grid=grid, names=names, threshold=threshold, **traits)
        self._palette_ids = sorted(names)  # colour i <-> i-th name, stable across thresholds
        self._setup(figure)
        self._refresh_ids()
        with disable_render(self.figure):
            self._build()

    def _refresh_ids(self):
        present = set(int(v) - self._offset for v in np.unique(self.grid.data) if v != 0)
        self.region_ids = sorted(present)
        if not self.region_ids:
            import warnings

            from ..exceptions import EmptyOverlayWarning

            warnings.warn(f"{self.name!r} has no region to draw (all background): "
                          "the overlay is empty.",
                          EmptyOverlayWarning, stacklevel=3)

    # -- building --------------------------------------------------------
    def _build(self):
        from mayavi import mlab
        from tvtk.api import tvtk

        self.source = scalar_source(self.figure, self.grid, name=self.name)
        contour = tvtk.DiscreteFlyingEdges3D(compute_scalars=True, compute_normals=False)
        self._contour = mlab.pipeline.user_defined(self.source, filter=contour, figure=self.figure)
        self._smoother = mlab.pipeline.user_defined(
            self._contour, figure=self.figure,
            filter=tvtk.WindowedSincPolyDataFilter(
                number_of_iterations=max(self.smoothing, 1), pass_band=0.05,
                boundary_smoothing=False, feature_edge_smoothing=False, non_manifold_smoothing=True,
                normalize_coordinates=True),
        )
        normals = mlab.pipeline.poly_data_normals(self._smoother, figure=self.figure)
        normals.filter.splitting = False
        self.surface = mlab.pipeline.surface(normals, figure=self.figure)
        prop = self.surface.actor.property
        prop.specular = 0.2
        prop.specular_power = 15
        self._update_contours()
        self._update_lut()
        self._update_visibility()

    def colors(self):
        """Region id -> RGB (0-1 floats) of every named region, from :attr:`cmap`.

        Qualitative maps ("regions", "tab20", "Set1") give region i their i-th colour
        (cycling); continuous ones are sampled evenly.
        """
        n = max(len(self._palette_ids), 1)
        table = _region_colors(self.cmap, n)
        return {lab: tuple(table[i, :3] / 255.0) for i, lab in enumerate(self._palette_ids)}

    # -- trait handlers (in place) ---------------------------------------
    def _update_contours(self):
        f = self._contour.filter
        f.number_of_contours = len(self.region_ids)
        for i, lab in enumerate(self.region_ids):
            f.set_value(i, float(lab + self._offset))
        f.modified()
        self._smoother.filter.number_of_iterations = max(self.smoothing, 1)
        # mayavi may hand the module manager's table back to the mapper on updates
        if self.lut is not None:
            self._attach_lut()

    def _attach_lut(self):
        mapper = self.surface.actor.mapper
        mapper.lookup_table = self.lut
        mapper.use_lookup_table_scalar_range = True
        mapper.scalar_visibility = True
        mapper.color_mode = "map_scalars"

    def _get_region(self):
        return self._region

    def _set_region(self, value):
        value = int(value)
        if value != -1 and value not in self.names:
            raise ParameterError(
                f"region={value} is not a region of {self.name!r}; expected -1 (all) or one of "
                f"{sorted(self.names)}."
            )
        self._region = value

    @on_trait_change("_region, opacity, cmap")
    def _update_lut(self):
        if self.surface is None:
            return
        colors = self.colors()
        ids = self._palette_ids
        table = np.zeros((max(len(ids), 1), 4), dtype=np.uint8)
        for i, lab in enumerate(ids):
            table[i, :3] = np.round(np.asarray(colors[lab]) * 255)
            shown = self.region in (-1, lab)
            table[i, 3] = 255 if shown else 0
        lo, hi = (min(ids) + self._offset, max(ids) + self._offset) if ids else (0, 1)
        lut = update_lut(self.lut, table, (lo, hi))
        lut.indexed_lookup = True
        lut.reset_annotations()
        for lab in ids:
            lut.set_annotation(float(lab + self._offset), self.names[lab])
        new = self.lut is None
        self.lut = lut
        if new:
            self._attach_lut()
        # Hidden regions are fully transparent fragments, discarded in the opaque pass;
        # a translucent visual goes through the (unsorted) translucent pass instead.
        self.surface.actor.actor.force_opaque = self.opacity >= 1.0
        self.surface.actor.property.opacity = float(self.opacity)
        self._update_legend()
        self.render()

    @on_trait_change("threshold, smoothing")
    def _update_labels(self):
        if self.surface is None:
            return
        if self._components is not None:
            labels = components_to_labels(self._components, self.threshold)
            self.grid.data = _pad_thin_axes(
                VolumeGrid.from_array(labels.astype(np.float32), self._raw_affine)).data
            self._refresh_ids()
            self.source.scalar_data = self.grid.data
        with disable_render(self.figure):
            self._update_contours()
            self._update_lut()

    @on_trait_change("show_legend, visible")
    def _update_visibility(self):
        if self.surface is None:
            return
        self.surface.visible = bool(self.visible)
        self._update_legend()
        self.render()

    def _update_legend(self):
        if self.figure is None or self.surface is None:
            return
        show = bool(self.visible and self.show_legend)
        if self.legend is None and not show:
            return
        from tvtk.api import tvtk

        ids = [lab for lab in self.region_ids if self.region in (-1, lab)]
        if self.legend is None:
            self.legend = tvtk.LegendBoxActor(border=False, use_background=False)
            self.legend.position_coordinate.coordinate_system = "normalized_viewport"
            self.legend.position_coordinate.value = (0.01, 0.01, 0)
            self.legend.entry_text_property.color = (0.1, 0.1, 0.1)
            self.legend.entry_text_property.shadow = False
            self.figure.scene.add_actor(self.legend)
            square = tvtk.PlaneSource()
            square.update()
            self._symbol = square.output
        legend = self.legend
        legend.number_of_entries = len(ids)
        colors = self.colors()
        for i, lab in enumerate(ids):
            legend._vtk_obj.SetEntry(i, self._symbol._vtk_obj, self.names[lab], colors[lab])
        rows = max(len(ids), 1)
        legend.width = 0.3
        legend.height = min(0.05 * rows, 0.9)
        legend.visibility = show and bool(ids)

    # -- queries ---------------------------------------------------------
    @property
    def bounds(self):
        """World bounds of the label grid in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        return self.grid.bounds

    def value_at(self, xyz_mm):
        """Region id at world point(s) (-1 where there is none; for a label image that is
        label 0); NaN outside the grid."""
        values = self.grid.sample(xyz_mm, order=0)
        return np.where(values == 0, -1.0, values - self._offset) if self._offset else values

    def name_at(self, xyz_mm):
        """Region name at one world point, or None."""
        v = float(self.grid.sample(np.asarray(xyz_mm, dtype=float).reshape(3), order=0))
        return self.names.get(int(v) - self._offset) if np.isfinite(v) and v != 0 else None

    def _pipeline_roots(self):
        return [self.source] if self.source is not None else []

    def _actors(self):
        return [self.legend] if self.legend is not None else []


def _pad_thin_axes(grid):
    """A label grid one voxel thick along an axis (a single slice) padded with a background
    voxel on both sides of that axis, so that its regions have a surface to draw (a slab
    one voxel thick) instead of none."""
    thin = [axis for axis, n in enumerate(grid.data.shape) if n < 2]
    if not thin:
        return grid
    pad = [(1, 1) if axis in thin else (0, 0) for axis in range(3)]
    data = np.pad(grid.data, pad, constant_values=0)
    affine = np.array(grid.affine, dtype=float)
    for axis in thin:
        affine[axis, 3] -= affine[axis, axis]
    return VolumeGrid.from_array(data, affine, name=grid.name)


def _region_colors(cmap, n):
    """(n, 4) uint8 colours for n regions from a colour map: qualitative tables cycle,
    continuous maps are sampled evenly."""
    if cmap in _QUALITATIVE:
        base = lut_table(cmap, _QUALITATIVE[cmap])
        return base[np.arange(n) % len(base)]
    return lut_table(cmap, max(n, 2))[:n]


#: Qualitative colour maps and their number of distinct colours.
_QUALITATIVE = {"tab20": 20, "Set1": 9, "tab10": 10, "Set2": 8, "Set3": 12, "Paired": 12}
