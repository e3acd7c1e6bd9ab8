"""Surfaces: any triangle mesh with per-vertex values, shaded by sulcal depth.

A surface is drawn from one or more parts (:class:`brainviz.data.Surface`, e.g.
the two hemispheres of fsaverage5), each with its faces, one or more named
geometries (``"pial"``, ``"inflated"``: vertex i is the same point of cortex
on each), optional per-vertex ``values`` (the map) and an optional ``sulc``
or ``curv`` array for shading. A volume map is projected onto meshes before
drawing (:func:`brainviz.data.project_to_surface`), not here.

Colours are computed per vertex (the shading grey, then the thresholded map
blended on top) and written into each mesh's colour array in place when the
threshold, colour map, range or opacity change; switching geometry rewrites
the points in place.
"""
import numpy as np
from traits.api import Bool, Float, Instance, List, Property, Range, Str, TraitType, on_trait_change

from ..exceptions import ParameterError
from ._base import (
    N_COLORS, Colormap, MappedRange, ThresholdTrait, Visual, as_points, display_range, lut_table,
    resolve_threshold, sync_colorbar,
)
from ._figure import disable_render

__all__ = ["SurfaceVisual", "sulcal_shading"]


def sulcal_shading(sulc, light=0.78, dark=0.45):
    """Grey level per vertex from sulcal depth: gyri (sulc < 0) light, sulci (sulc > 0) dark."""
    sulc = np.asarray(sulc, dtype=float)
    scale = np.nanstd(sulc) or 1.0
    t = 0.5 * (1 + np.tanh(np.nan_to_num(sulc) / scale * 1.5))
    return light + (dark - light) * t


def _rgba_array(n):
    from vtkmodules.util.numpy_support import numpy_to_vtk

    arr = numpy_to_vtk(np.zeros((n, 4), dtype=np.uint8), deep=True)
    arr.SetName("colors")
    return arr


def _shading(part):
    for key in ("sulc", "curv"):
        values = part.data.get(key)
        if values is not None:
            values = np.asarray(values, dtype=float)
            return sulcal_shading(values if values.ndim == 1 else values[:, 0])
    return np.full(part.n_vertices, 0.75)


class _MeshName(TraitType):
    """The geometry drawn: a name every part has (checked on assignment)."""

    default_value_type = 0

    def __init__(self, **metadata):
        super().__init__("", **metadata)

    def validate(self, obj, name, value):
        value = str(value)
        if obj.parts:
            obj._check_mesh(obj.parts, value)
        return value


class SurfaceVisual(MappedRange, Visual):
    """Triangle meshes with per-vertex values over a sulcal shading.

    Parameters
    ----------
    surfaces : Surface or list of Surface
        The parts drawn (see the module docstring); ``data["values"]`` of each
        part is the map (parts without values are drawn shaded only).
    figure : Scene, default=None
    **traits
        ``threshold`` (a number or ``"95%"``), ``cmap``, ``vmin``, ``vmax``,
        ``symmetric``, ``two_sided``, ``opacity`` (of the map over the shading),
        ``surface_opacity``, ``mesh`` (the geometry drawn), ``show_colorbar``,
        ``colorbar_title``.
    """

    layer_handlers = {
        "visible": "visible", "opacity": "opacity", "cmap": "cmap", "threshold": "threshold",
        "vmin": "set_vmin", "vmax": "set_vmax", "symmetric": "symmetric",
        "two_sided": "two_sided", "mesh": "mesh", "surface_opacity": "surface_opacity",
        "show_colorbar": "show_colorbar", "colorbar_title": "colorbar_title",
    }

    threshold = ThresholdTrait(0.0)
    threshold_value = Property(Float, observe="threshold")
    two_sided = Bool(True)
    cmap = Colormap("cold_hot")
    vmin = Float()
    vmax = Float()
    symmetric = Bool(True)
    #: Opacity of the map over the shading.
    opacity = Range(0.0, 1.0, 1.0)
    #: Opacity of the whole surface.
    surface_opacity = Range(0.0, 1.0, 1.0)
    #: The geometry drawn (a name every part has).
    mesh = _MeshName()
    show_colorbar = Bool(False)
    colorbar_title = Str()

    #: The parts drawn.
    parts = List()
    sources = List()
    surfaces = List()
    scalar_bar = Instance(object)

    @classmethod
    def layer_data(cls, layer):
        return (layer.data,)

    def __init__(self, surfaces, figure=None, **traits):
        from ..data import Surface

        if isinstance(surfaces, Surface):
            parts = [surfaces]
        elif isinstance(surfaces, (list, tuple)):
            parts = list(surfaces)
        else:
            parts = []
        if not parts or not all(isinstance(p, Surface) for p in parts):
            raise ParameterError(
                "The 'surfaces' parameter expected a brainviz.data.Surface or a list of them "
                f"(see brainviz.data.load_surface, project_to_surface); got {surfaces!r}.")
        values = [np.asarray(p.values, dtype=float) for p in parts if p.values is not None]
        finite = (np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0))
        if values and finite.size == 0:
            from ..exceptions import DataValueError

            raise DataValueError(f"The surface map {parts[0].name!r} has no finite value.")
        self._data_min = float(finite.min()) if finite.size else 0.0
        self._data_max = float(finite.max()) if finite.size else 1.0
        self._abs_max = float(np.abs(finite).max()) if finite.size else 1.0
        self._abs_max = self._abs_max or 1.0
        self._has_values = bool(values)
        self._init_range(traits)
        traits.setdefault("name", parts[0].name or "surface")
        if not traits.get("colorbar_title"):
            traits["colorbar_title"] = traits["name"]
        if not traits.get("mesh"):
            traits["mesh"] = parts[0].geometry
        self._check_mesh(parts, traits["mesh"])
        super().__init__(parts=parts, **traits)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()

    @staticmethod
    def _check_mesh(parts, name):
        missing = [p.name for p in parts if name not in p.geometries]
        if missing:
            raise ParameterError(
                f"mesh={name!r} is not a geometry of {', '.join(missing)}; expected one of "
                f"{sorted(set.intersection(*(set(p.geometries) for p in parts)))}.")

    def _get_threshold_value(self):
        values = [p.values for p in self.parts if p.values is not None]
        return resolve_threshold(self.threshold, np.concatenate(values) if values else [])

    # -- building --------------------------------------------------------
    def _build(self):
        from mayavi import mlab

        self._base = []
        for part in self.parts:
            v = part.geometries[self.mesh]
            src = mlab.pipeline.triangular_mesh_source(
                v[:, 0], v[:, 1], v[:, 2], np.asarray(part.faces), figure=self.figure,
                name=f"{self.name} {part.name}",
            )
            src.data._vtk_obj.GetPointData().SetScalars(_rgba_array(len(v)))
            normals = mlab.pipeline.poly_data_normals(src, figure=self.figure)
            normals.filter.splitting = False
            module = mlab.pipeline.surface(normals, figure=self.figure)
            mapper = module.actor.mapper
            mapper.scalar_visibility = True
            mapper.color_mode = "direct_scalars"
            # by name: mayavi's sources may reset the active scalars
            mapper.scalar_mode = "use_point_field_data"
            mapper.select_color_array("colors")
            prop = module.actor.property
            prop.specular = 0.1
            prop.specular_power = 10
            prop.ambient = 0.15
            prop.diffuse = 0.85
            prop.backface_culling = False
            self._base.append(_shading(part))
            self.sources.append(src)
            self.surfaces.append(module)
        self._update_colors()
        self._update_opacity()
        self._update_visibility()
        if self.show_colorbar:
            self._update_colorbar()

    def _range(self):
        return display_range(self.vmin, self.vmax, self.symmetric, self._data_min, self._data_max)

    @property
    def data_range(self):
        """(low, high) values the colour map spans."""
        return self._range()

    def vertex_colors(self, index=0):
        """(n, 4) uint8 colours of part ``index``'s vertices as drawn: shading under the map."""
        grey = self._base[index]
        rgb = np.repeat(grey[:, None], 3, axis=1)
        values = self.parts[index].values
        if values is not None:
            lo, hi = self._range()
            table = lut_table(self.cmap, N_COLORS)[:, :3] / 255.0
            t = self.threshold_value
            with np.errstate(invalid="ignore"):
                shown = np.abs(values) >= t if self.two_sided else values >= t
                shown &= np.isfinite(values) & (values != 0)
            idx = ((values[shown] - lo) / (hi - lo) * N_COLORS).astype(int)
            idx = np.clip(idx, 0, N_COLORS - 1)
            a = float(self.opacity)
            rgb[shown] = (1 - a) * rgb[shown] + a * table[idx]
        rgba = np.empty((len(grey), 4), dtype=np.uint8)
        rgba[:, :3] = np.round(rgb * 255)
        rgba[:, 3] = 255
        return rgba

    # -- trait handlers (in place) ---------------------------------------
    @on_trait_change("threshold, two_sided, cmap, vmin, vmax, symmetric, opacity")
    def _update_colors(self):
        if not self.sources:
            return
        from vtkmodules.util.numpy_support import vtk_to_numpy

        with disable_render(self.figure):
            for k, src in enumerate(self.sources):
                arr = src.data._vtk_obj.GetPointData().GetScalars()
                vtk_to_numpy(arr)[:] = self.vertex_colors(k)
                arr.Modified()
                src.data._vtk_obj.Modified()
                src.data_changed = True
            self._check_empty()
            self._update_colorbar()

    def _check_empty(self):
        if not self._has_values:
            return
        import warnings

        from ..exceptions import EmptyOverlayWarning

        t = self.threshold_value
        allv = np.concatenate([p.values for p in self.parts if p.values is not None])
        with np.errstate(invalid="ignore"):
            shown = np.abs(allv) >= t if self.two_sided else allv >= t
        if not np.any(shown & np.isfinite(allv) & (allv != 0)):
            warnings.warn(f"threshold={self.threshold!r} hides all of {self.name!r} on the "
                          "surface: the overlay is empty.", EmptyOverlayWarning, stacklevel=4)

    @on_trait_change("surface_opacity")
    def _update_opacity(self):
        for module in self.surfaces:
            module.actor.property.opacity = float(self.surface_opacity)
        self.render()

    def _mesh_changed(self, old, new):
        """Swap geometries in place: vertex i is the same point on each."""
        if not self.sources:
            return
        from vtkmodules.util.numpy_support import vtk_to_numpy

        with disable_render(self.figure):
            for part, src in zip(self.parts, self.sources):
                points = src.data._vtk_obj.GetPoints()
                vtk_to_numpy(points.GetData())[:] = part.geometries[new]
                points.Modified()
                src.data._vtk_obj.Modified()
                src.data_changed = True

    @on_trait_change("visible")
    def _update_visibility(self):
        for module in self.surfaces:
            module.visible = bool(self.visible)
        if self.scalar_bar is not None:
            self.scalar_bar.visibility = bool(self.visible and self.show_colorbar)
        self.render()

    @on_trait_change("show_colorbar, colorbar_title")
    def _update_colorbar(self):
        if self.figure is not None and self.sources and self._has_values:
            sync_colorbar(self)

    # -- queries ---------------------------------------------------------
    def _vertices(self):
        return [p.geometries[self.mesh] for p in self.parts]

    @property
    def bounds(self):
        """World bounds of the drawn meshes in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        v = np.concatenate(self._vertices())
        lo, hi = v.min(axis=0), v.max(axis=0)
        return tuple(float(x) for pair in zip(lo, hi) for x in pair)

    def value_at(self, xyz_mm, max_distance=5.0):
        """Map value at the vertex nearest each point (within ``max_distance`` mm); NaN else."""
        pts, single = as_points(xyz_mm)
        out = np.full(len(pts), np.nan)
        best = np.full(len(pts), np.inf)
        for part, v in zip(self.parts, self._vertices()):
            d2 = ((pts[:, None, :] - v[None, :, :]) ** 2).sum(-1)
            i = d2.argmin(axis=1)
            d = np.sqrt(d2[np.arange(len(pts)), i])
            better = (d < best) & (d <= max_distance)
            values = part.values
            out[better] = values[i[better]] if values is not None else np.nan
            best = np.where(better, d, best)
        return out[0] if single else out

    def _pipeline_roots(self):
        return list(self.sources)

    def _actors(self):
        return [self.scalar_bar] if self.scalar_bar is not None else []
