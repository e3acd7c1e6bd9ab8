"""Glass brain: a translucent brain surface with statistical blobs (or a connectome) inside.

The shell is either the fsaverage5 pial surface of both hemispheres or a
smoothed isosurface of the MNI152 brain mask, in MNI mm. It is drawn in one
uniform colour, so its translucent layers blend the same in any order and no
depth peeling is needed; the blobs inside are opaque.
"""
import numpy as np
from traits.api import Any, Array, Enum, Instance, Range, on_trait_change

from ._figure import Colormap, Visual, disable_render
from .statmap import StatMapVisual

__all__ = ["GlassBrainVisual"]


class GlassBrainVisual(Visual):
    """A translucent brain with optional blobs of a statistical map inside.

    Parameters
    ----------
    figure : Scene, default=None
    opacity : float, default=0.15
        Opacity of the brain shell.
    stat_map : str, path, nibabel image or Volume, default=None
        Drawn inside as isosurfaces at ``±threshold`` (positive and negative parts
        in the colours of ``cmap``). Reach its traits through :attr:`blobs`.
    threshold : float, default=None
        Threshold of the blobs (None: half the maximum absolute value).
    shell : {"pial", "mask"}, default="pial"
        The fsaverage5 pial meshes, or an isosurface of the MNI152 brain mask.
    **traits
        ``color``, ``cmap``.

    Notes
    -----
    A connectome goes inside with :func:`brainviz.mlab.connectome` on the
    same figure; both are in MNI mm.
    """

    opacity = Range(0.0, 1.0, 0.15)
    color = Array(dtype=float, shape=(3,), value=np.array([0.55, 0.55, 0.6]))
    shell = Enum("pial", "mask")
    threshold = Any()
    cmap = Colormap("cold_hot")

    #: The blobs (a StatMapVisual drawn as isosurfaces), or None.
    blobs = Instance(StatMapVisual)

    def __init__(self, figure=None, opacity=0.15, stat_map=None, threshold=None, shell="pial",
                 **traits):
        traits.setdefault("name", "glass brain")
        super().__init__(opacity=float(opacity), shell=shell, **traits)
        self._setup(figure)
        self._modules = []
        self._sources = []
        with disable_render(self.figure):
            self._build()
            if stat_map is not None:
                from .volume import to_volume

                self.blobs = StatMapVisual(
                    to_volume(stat_map, "stat_map"), threshold=0.0, figure=self.figure,
                    anatomy=None,
                    show_slices=False, show_isosurface=True, cmap=self.cmap,
                )
                self.blobs.anatomy = None
                self.threshold = (float(threshold) if threshold is not None
                                  else 0.5 * self.blobs._abs_max)

    def _build(self):
        from mayavi import mlab

        if self.shell == "pial":
            from ..data import load_fsaverage5

            fs = load_fsaverage5()
            meshes = [(h, fs[h]["pial"]) for h in ("left", "right")]
            for h, surf in meshes:
                v = np.asarray(surf.vertices)
                src = mlab.pipeline.triangular_mesh_source(
                    v[:, 0], v[:, 1], v[:, 2], np.asarray(surf.faces), figure=self.figure,
                    name=f"glass brain {h}",
                )
                normals = mlab.pipeline.poly_data_normals(src, figure=self.figure)
                normals.filter.splitting = False
                module = mlab.pipeline.surface(normals, figure=self.figure)
                self._sources.append(src)
                self._modules.append(module)
        else:
            from ..data import load_brain_mask
            from .volume import VolumeGrid, scalar_source

            grid = VolumeGrid(load_brain_mask())
            src = scalar_source(self.figure, grid, name="glass brain mask")
            smooth = mlab.pipeline.user_defined(src, filter="ImageGaussianSmooth",
                                                figure=self.figure)
            smooth.filter.standard_deviations = (1.5, 1.5, 1.5)
            iso = mlab.pipeline.iso_surface(smooth, contours=[0.5], figure=self.figure)
            self._sources.append(src)
            self._modules.append(iso)
        for module in self._modules:
            module.actor.mapper.scalar_visibility = False
            prop = module.actor.property
            prop.specular = 0.0
            prop.ambient = 0.3
            prop.diffuse = 0.7
            prop.backface_culling = False
        self._update_style()

    @on_trait_change("opacity, color")
    def _update_style(self):
        for module in getattr(self, "_modules", []):
            module.actor.property.opacity = float(self.opacity)
            module.actor.property.color = tuple(float(c) for c in self.color)
        self.render()

    @on_trait_change("threshold")
    def _update_threshold(self):
        if self.blobs is not None and self.threshold is not None:
            self.blobs.threshold = float(self.threshold)

    @on_trait_change("cmap")
    def _update_cmap(self):
        if self.blobs is not None:
            self.blobs.cmap = self.cmap

    @on_trait_change("visible")
    def _update_visibility(self):
        for module in getattr(self, "_modules", []):
            module.visible = bool(self.visible)
        if self.blobs is not None:
            self.blobs.visible = bool(self.visible)
        self.render()

    # colour bar: the blobs' (so mlab.colorbar(glass) works)
    @property
    def show_colorbar(self):
        return bool(self.blobs is not None and self.blobs.show_colorbar)

    @show_colorbar.setter
    def show_colorbar(self, value):
        if self.blobs is None:
            from ..exceptions import ParameterError

            raise ParameterError("This glass brain has no stat_map: it has no colour bar.")
        self.blobs.show_colorbar = bool(value)

    @property
    def colorbar_title(self):
        return self.blobs.colorbar_title if self.blobs is not None else ""

    @colorbar_title.setter
    def colorbar_title(self, value):
        if self.blobs is not None:
            self.blobs.colorbar_title = str(value)

    @property
    def scalar_bar(self):
        return self.blobs.scalar_bar if self.blobs is not None else None

    # -- queries ---------------------------------------------------------
    @property
    def bounds(self):
        """World bounds of the shell in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        b = np.array([m.actor.actor.bounds for m in self._modules])
        return (float(b[:, 0].min()), float(b[:, 1].max()), float(b[:, 2].min()),
                float(b[:, 3].max()), float(b[:, 4].min()), float(b[:, 5].max()))

    def value_at(self, xyz_mm):
        """Value of the blobs' map at world point(s) (NaN without a map or outside it)."""
        if self.blobs is None:
            from ._figure import as_points

            pts, single = as_points(xyz_mm)
            out = np.full(len(pts), np.nan)
            return out[0] if single else out
        return self.blobs.value_at(xyz_mm)

    def _pipeline_roots(self):
        return list(self._sources)

    def remove(self):
        if self.blobs is not None:
            self.blobs.remove()
        super().remove()
