"""Glass brain: a translucent brain surface with statistical blobs (or a connectome) inside.

The shell is a smoothed isosurface of the MNI152 brain mask (the whole brain:
cerebellum and brainstem included, so cerebellar nodes and blobs sit inside it) or
the fsaverage5 pial surface of both hemispheres (cortex only), in MNI mm. It is drawn in one
uniform colour, so its translucent layers blend the same in any order and no
depth peeling is needed; the blobs inside are opaque.
"""
import numpy as np
from traits.api import Array, Bool, Enum, Instance, Range, Str, on_trait_change

from ._base import Colormap, ThresholdTrait, Visual
from ._figure import disable_render
from .statmap import StatMapVisual

__all__ = ["GlassBrainVisual"]


class GlassBrainVisual(Visual):
    """A translucent brain with optional blobs of a statistical map inside.

    Parameters
    ----------
    img : str, path, nibabel image or Volume, default=None
        A map drawn inside as isosurfaces at ``±threshold`` (positive and negative
        parts in the colours of ``cmap``). Reach its traits through :attr:`blobs`.
    figure : Scene, default=None
    opacity : float, default=0.15
        Opacity of the brain shell.
    threshold : float or str, default=None
        Threshold of the blobs (None: half the maximum absolute value).
    shell : {"mask", "pial"}, default="mask"
        An isosurface of the MNI152 brain mask (whole brain), or the fsaverage5 pial
        meshes (cortex only).
    **traits
        ``color``, ``cmap``.

    Notes
    -----
    A connectome goes inside with :func:`brainviz.mlab.connectome` on the
    same figure; both are in MNI mm.
    """

    layer_handlers = {
        "visible": "visible", "opacity": "opacity", "color": "color", "shell": "shell",
        "threshold": "set_threshold", "cmap": "cmap", "vmax": "set_vmax",
        "show_colorbar": "show_colorbar", "colorbar_title": "colorbar_title",
    }

    opacity = Range(0.0, 1.0, 0.15)
    color = Array(dtype=float, shape=(3,), value=np.array([0.55, 0.55, 0.6]))
    shell = Enum("mask", "pial")
    threshold = ThresholdTrait(0.0)
    cmap = Colormap("cold_hot")
    show_colorbar = Bool(False)
    colorbar_title = Str()

    #: The blobs (a StatMapVisual drawn as isosurfaces), or None.
    blobs = Instance(StatMapVisual)

    def __init__(self, img=None, figure=None, opacity=0.15, threshold=None, shell="mask",
                 vmax=None, **traits):
        traits.setdefault("name", "glass brain")
        show_colorbar = traits.pop("show_colorbar", False)
        colorbar_title = traits.pop("colorbar_title", "")
        super().__init__(opacity=float(opacity), shell=shell, **traits)
        self._setup(figure)
        self._modules = []
        self._sources = []
        with disable_render(self.figure):
            self._build()
            if img is not None:
                from ._base import to_volume

                vol = to_volume(img, "img")
                self.blobs = StatMapVisual(
                    vol, threshold=0.0, figure=self.figure, show_slices=False,
                    show_isosurface=True, cmap=self.cmap,
                    colorbar_title=colorbar_title or vol.name or "",
                )
                if vmax is not None:
                    self.blobs.set_vmax(vmax)
            self.set_threshold(threshold)
            self.show_colorbar = bool(show_colorbar)

    def set_threshold(self, value):
        """Threshold of the blobs; None: half their largest absolute value."""
        if value is None:
            value = 0.5 * self.blobs._abs_max if self.blobs is not None else 0.0
        self.threshold = value

    def set_vmax(self, value):
        """Top of the blobs' colour range; None: from the data."""
        if self.blobs is not None:
            self.blobs.set_vmax(value)

    @property
    def data_range(self):
        return self.blobs.data_range if self.blobs is not None else (-1.0, 1.0)

    @property
    def threshold_value(self):
        return self.blobs.threshold_value if self.blobs is not None else 0.0

    def _shell_changed(self, old, new):
        if not getattr(self, "_modules", None):
            return
        with disable_render(self.figure):
            for obj in self._sources:
                try:
                    obj.remove()
                except Exception:  # already gone with its parent
                    pass
            self._modules, self._sources = [], []
            self._build()
            self._update_visibility()

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
        if self.blobs is not None:
            self.blobs.threshold = self.threshold

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

    @on_trait_change("show_colorbar, colorbar_title")
    def _update_colorbar(self):
        if self.blobs is None:
            if self.show_colorbar:
                from ..exceptions import ParameterError

                raise ParameterError("This glass brain has no map inside: it has no colour bar.")
            return
        if self.colorbar_title:
            self.blobs.colorbar_title = self.colorbar_title
        self.blobs.show_colorbar = bool(self.show_colorbar)

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
