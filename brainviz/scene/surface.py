"""Cortical surface: fsaverage5 pial or inflated, shaded by sulcal depth, with a projected map.

The volume map is sampled once along the pial mesh with
:func:`nilearn.surface.vol_to_surf`; vertex ``i`` is the same point of cortex
on the pial and inflated meshes, so the same values colour either. Colours are
computed per vertex (sulcal grey, then the thresholded map blended on top) and
written into the mesh's colour array in place when the threshold, colour map,
range or opacity change.
"""
import numpy as np
from traits.api import Bool, Enum, Float, Instance, List, Range, Str, on_trait_change

from ..exceptions import DataValueError, ParameterError
from ._figure import Colormap, Visual, as_points, disable_render, display_range, lut_table
from .statmap import _N_COLORS, sync_colorbar
from .volume import to_volume

__all__ = ["SurfaceVisual", "sulcal_shading"]

_HEMIS = {"both": ("left", "right"), "left": ("left",), "right": ("right",)}


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


class SurfaceVisual(Visual):
    """The fsaverage5 cortex shaded by sulcal depth, with an optional volume map projected onto it.

    Parameters
    ----------
    stat_map : str, path, nibabel image or Volume, default=None
        A 3D volume map in MNI space; 4D raises
        :class:`~brainviz.exceptions.DimensionError`.
    hemi : {"both", "left", "right"}, default="both"
    mesh : {"inflated", "pial"}, default="inflated"
        Inflated hemispheres are drawn side by side (they would overlap).
    figure : Scene, default=None
    radius : float, default=3.0
        Sampling radius (mm) of :func:`nilearn.surface.vol_to_surf`.
    **traits
        ``threshold``, ``cmap``, ``vmax``, ``symmetric``, ``two_sided``,
        ``opacity`` (of the map over the cortex), ``surface_opacity``,
        ``show_colorbar``, ``colorbar_title``.
    """

    hemi = Enum("both", "left", "right")
    mesh = Enum("inflated", "pial")
    threshold = Float(0.0)
    two_sided = Bool(True)
    cmap = Colormap("cold_hot")
    vmin = Float()
    vmax = Float()
    symmetric = Bool(True)
    #: Opacity of the map over the sulcal shading.
    opacity = Range(0.0, 1.0, 1.0)
    #: Opacity of the whole surface.
    surface_opacity = Range(0.0, 1.0, 1.0)
    show_colorbar = Bool(False)
    colorbar_title = Str()

    #: Per hemisphere: vertex values of the projected map (None without a map).
    values = Instance(dict, ())
    sources = List()
    surfaces = List()
    scalar_bar = Instance(object)

    def __init__(self, stat_map=None, hemi="both", mesh="inflated", figure=None, radius=3.0,
                 **traits):
        if hemi not in _HEMIS:
            raise ParameterError(
                f"The 'hemi' parameter must be one of 'both', 'left', 'right'; got {hemi!r}."
            )
        if mesh not in ("inflated", "pial"):
            raise ParameterError(
                f"The 'mesh' parameter must be 'inflated' or 'pial'; got {mesh!r}."
            )
        from ..data import load_fsaverage5

        fsaverage = load_fsaverage5()
        # Both hemispheres are always built: ``hemi`` and ``mesh`` then switch in place.
        self._meshes = {h: fsaverage[h] for h in ("left", "right")}
        values = {}
        name = "fsaverage5"
        if stat_map is not None:
            vol = to_volume(stat_map, "stat_map")
            name = vol.name or "surface map"
            values = self._project(vol, radius)
        finite = (np.concatenate([v[np.isfinite(v)] for v in values.values()])
                  if values else np.zeros(0))
        if values and finite.size == 0:
            raise DataValueError(f"The map {name!r} projects to no finite value on the surface.")
        self._abs_max = float(np.abs(finite).max()) if finite.size else 1.0
        self._abs_max = self._abs_max or 1.0
        if traits.get("symmetric", True):
            traits.setdefault("vmax", self._abs_max)
            traits.setdefault("vmin", -traits["vmax"])
        else:
            traits.setdefault("vmin", float(finite.min()) if finite.size else 0.0)
            traits.setdefault("vmax", float(finite.max()) if finite.size else 1.0)
        traits.setdefault("name", name)
        traits.setdefault("colorbar_title", traits["name"])
        super().__init__(hemi=hemi, mesh=mesh, values=values, **traits)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()

    def _project(self, vol, radius):
        from nilearn.surface import InMemoryMesh, vol_to_surf

        img = vol.to_image()
        out = {}
        for h, meshes in self._meshes.items():
            pial = meshes["pial"]
            mesh = InMemoryMesh(coordinates=np.asarray(pial.vertices), faces=np.asarray(pial.faces))
            out[h] = np.asarray(vol_to_surf(img, mesh, radius=radius), dtype=float)
        return out

    # -- building --------------------------------------------------------
    def _build(self):
        from mayavi import mlab

        self._base = {}
        for h, meshes in self._meshes.items():
            surf = meshes[self.mesh]
            v = np.asarray(surf.vertices)
            src = mlab.pipeline.triangular_mesh_source(
                v[:, 0], v[:, 1], v[:, 2], np.asarray(surf.faces), figure=self.figure,
                name=f"{self.name} {h} {self.mesh}",
            )
            pd = src.data._vtk_obj
            pd.GetPointData().SetScalars(_rgba_array(len(v)))
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
            self._base[h] = sulcal_shading(meshes["sulc"])
            self.sources.append(src)
            self.surfaces.append(module)
        self._update_colors()
        self._update_opacity()
        self._update_visibility()
        if self.show_colorbar:
            self._update_colorbar()

    def _range(self):
        return display_range(self.vmin, self.vmax, self.symmetric, self._abs_max)

    def vertex_colors(self, hemi):
        """(n, 4) uint8 colours of ``hemi``'s vertices as drawn: sulcal grey under the map."""
        grey = self._base[hemi]
        rgb = np.repeat(grey[:, None], 3, axis=1)
        values = self.values.get(hemi)
        if values is not None:
            lo, hi = self._range()
            table = lut_table(self.cmap, _N_COLORS)[:, :3] / 255.0
            t = float(self.threshold)
            with np.errstate(invalid="ignore"):
                shown = np.abs(values) >= t if self.two_sided else values >= t
                shown &= np.isfinite(values) & (values != 0)
            idx = ((values[shown] - lo) / (hi - lo) * _N_COLORS).astype(int)
            idx = np.clip(idx, 0, _N_COLORS - 1)
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
            for h, src in zip(self._meshes, self.sources):
                arr = src.data._vtk_obj.GetPointData().GetScalars()
                vtk_to_numpy(arr)[:] = self.vertex_colors(h)
                arr.Modified()
                src.data._vtk_obj.Modified()
                src.data_changed = True
            self._check_empty()
            self._update_colorbar()

    def _check_empty(self):
        if not self.values:
            return
        import warnings

        from ..exceptions import EmptyOverlayWarning

        t = float(self.threshold)
        allv = np.concatenate(list(self.values.values()))
        with np.errstate(invalid="ignore"):
            shown = np.abs(allv) >= t if self.two_sided else allv >= t
        if not np.any(shown & np.isfinite(allv) & (allv != 0)):
            warnings.warn(f"threshold={t:g} hides all of {self.name!r} on the surface: "
                          "the overlay is empty.",
                          EmptyOverlayWarning, stacklevel=4)

    @on_trait_change("surface_opacity")
    def _update_opacity(self):
        for module in self.surfaces:
            module.actor.property.opacity = float(self.surface_opacity)
        self.render()

    @on_trait_change("mesh")
    def _update_mesh(self):
        """Swap pial and inflated coordinates in place: vertex i is the same point on both."""
        if not self.sources:
            return
        from vtkmodules.util.numpy_support import vtk_to_numpy

        with disable_render(self.figure):
            for h, src in zip(self._meshes, self.sources):
                points = src.data._vtk_obj.GetPoints()
                vtk_to_numpy(points.GetData())[:] = np.asarray(self._meshes[h][self.mesh].vertices)
                points.Modified()
                src.data._vtk_obj.Modified()
                src.data_changed = True

    @on_trait_change("visible, hemi")
    def _update_visibility(self):
        for h, module in zip(self._meshes, self.surfaces):
            module.visible = bool(self.visible and h in _HEMIS[self.hemi])
        if self.scalar_bar is not None:
            self.scalar_bar.visibility = bool(self.visible and self.show_colorbar)
        self.render()

    @on_trait_change("show_colorbar, colorbar_title")
    def _update_colorbar(self):
        if self.figure is not None and self.sources and self.values:
            sync_colorbar(self)

    # -- queries ---------------------------------------------------------
    def _vertices(self):
        return {h: np.asarray(m[self.mesh].vertices) for h, m in self._meshes.items()
                if h in _HEMIS[self.hemi]}

    @property
    def bounds(self):
        """World bounds of the drawn meshes in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        v = np.concatenate(list(self._vertices().values()))
        lo, hi = v.min(axis=0), v.max(axis=0)
        return tuple(float(x) for pair in zip(lo, hi) for x in pair)

    def value_at(self, xyz_mm, max_distance=5.0):
        """Map value at the vertex nearest each point (within ``max_distance`` mm); NaN else."""
        pts, single = as_points(xyz_mm)
        out = np.full(len(pts), np.nan)
        best = np.full(len(pts), np.inf)
        for h, v in self._vertices().items():
            d2 = ((pts[:, None, :] - v[None, :, :]) ** 2).sum(-1)
            i = d2.argmin(axis=1)
            d = np.sqrt(d2[np.arange(len(pts)), i])
            better = (d < best) & (d <= max_distance)
            values = self.values.get(h)
            out[better] = values[i[better]] if values is not None else np.nan
            best = np.where(better, d, best)
        return out[0] if single else out

    def _pipeline_roots(self):
        return list(self.sources)

    def _actors(self):
        return [self.scalar_bar] if self.scalar_bar is not None else []
