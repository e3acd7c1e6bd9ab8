"""Anatomy: three orthogonal slices through a cursor, optional volume rendering and brain surface.

Every volume is placed in world millimetres (RAS+) from its affine: the image
is reoriented to RAS+ (:meth:`brainviz.data.Volume.as_ras`: flips only for an
axis-aligned affine, a resampling for an oblique one) and handed to Mayavi as
an image whose ``origin`` is the world position of voxel (0, 0, 0) and whose
``spacing`` is the voxel size. A volume stored LAS and the same volume stored
RAS therefore draw the same picture.
"""
import numpy as np
from traits.api import Array, Bool, Float, Instance, List, Property, Range, on_trait_change

from ..exceptions import DimensionError
from ._figure import Colormap, Visual, as_points, disable_render, lut_table

__all__ = ["AnatomyVisual", "VolumeGrid", "to_volume"]

_AXES = ("x", "y", "z")


def to_volume(img, what="img"):
    """Return ``img`` (path, nibabel image or Volume) as a 3D :class:`brainviz.data.Volume`.

    Raises
    ------
    DimensionError
        If the image is 4D with more than one frame; the message names ``what``.
    """
    from ..data import load_volume

    vol = load_volume(img)
    if getattr(vol, "ndim", 3) != 3 and getattr(vol, "n_frames", 1) != 1:
        raise DimensionError(
            f"The {what!r} parameter expected a 3D image; got a 4D image of shape "
            f"{tuple(vol.shape)} ({vol.name or 'unnamed'}). Pick one frame first, e.g. "
            "nilearn.image.index_img(img, 0)."
        )
    return vol


class VolumeGrid:
    """A 3D array on an axis-aligned RAS+ grid: what Mayavi draws, and how to sample it.

    Parameters
    ----------
    volume : Volume
        Any 3D volume; oblique ones are resampled by ``Volume.as_ras``.
    frame : int, default=0
        Frame to read from a 4D volume.
    """

    def __init__(self, volume, frame=0):
        ras = volume.as_ras()
        if getattr(ras, "ndim", 3) == 4:
            data = ras.get_frame(frame)
        else:
            data = ras.get_data()
        self.data = np.ascontiguousarray(np.asarray(data, dtype=np.float32))
        affine = np.asarray(ras.affine, dtype=float)
        self.affine = affine
        self.spacing = np.abs(np.diag(affine)[:3]).astype(float)
        self.origin = affine[:3, 3].astype(float)
        self.name = getattr(volume, "name", "") or ""
        self.volume = volume

    @classmethod
    def from_array(cls, data, affine, name=""):
        """Build a grid from an array already in RAS+ orientation (diagonal affine)."""
        self = cls.__new__(cls)
        self.data = np.ascontiguousarray(np.asarray(data, dtype=np.float32))
        self.affine = np.asarray(affine, dtype=float)
        self.spacing = np.abs(np.diag(self.affine)[:3]).astype(float)
        self.origin = self.affine[:3, 3].astype(float)
        self.name = name
        self.volume = None
        return self

    @property
    def shape(self):
        return self.data.shape

    @property
    def bounds(self):
        """(xmin, xmax, ymin, ymax, zmin, zmax) of the voxel centres, in mm."""
        hi = self.origin + self.spacing * (np.asarray(self.data.shape) - 1)
        return tuple(float(v) for pair in zip(self.origin, hi) for v in pair)

    def mm_to_voxel(self, xyz_mm):
        pts, _ = as_points(xyz_mm)
        return (pts - self.origin) / self.spacing

    def sample(self, xyz_mm, order=0):
        """Values at world points (nearest voxel by default); NaN outside the grid."""
        from scipy import ndimage

        pts, single = as_points(xyz_mm)
        ijk = self.mm_to_voxel(pts)
        inside = np.all((ijk >= -0.5) & (ijk <= np.asarray(self.data.shape) - 0.5), axis=1)
        out = np.full(len(pts), np.nan)
        if inside.any():
            if order == 0:
                idx = np.clip(np.round(ijk[inside]).astype(int), 0, np.asarray(self.data.shape) - 1)
                out[inside] = self.data[tuple(idx.T)]
            else:
                out[inside] = ndimage.map_coordinates(
                    self.data, ijk[inside].T, order=order, mode="nearest"
                )
        return out[0] if single else out


def scalar_source(figure, grid, data=None, name=None):
    """Add ``grid`` to ``figure`` as a Mayavi ArraySource placed in world mm."""
    from mayavi import mlab

    src = mlab.pipeline.scalar_field(grid.data if data is None else data, figure=figure,
                                     name=name or grid.name or "volume")
    src.spacing = tuple(grid.spacing)
    src.origin = tuple(grid.origin)
    src.update_image_data = True
    return src


def update_lut(lut, table, data_range, nan_color=(0.0, 0.0, 0.0, 0.0)):
    """Load an (n, 4) uint8 RGBA table and a value range into a tvtk LookupTable in place.

    brainviz keeps its own lookup tables rather than the module manager's:
    mlab factories reset that shared table whenever a module is added.
    """
    if lut is None:
        from tvtk.api import tvtk

        lut = tvtk.LookupTable()
    lo, hi = float(data_range[0]), float(data_range[1])
    if not hi > lo:
        hi = lo + 1e-6 * max(1.0, abs(lo))
    from vtkmodules.util.numpy_support import numpy_to_vtk

    # A deep VTK copy, not tvtk's ``lut.table = array``: tvtk caches that array
    # with a DeleteEvent observer that VTK 9.7 calls with the wrong arguments.
    array = numpy_to_vtk(np.ascontiguousarray(table, dtype=np.uint8), deep=True)
    lut.number_of_table_values = len(table)
    lut._vtk_obj.SetTable(array)
    lut.table_range = (lo, hi)
    lut.nan_color = tuple(float(c) for c in nan_color)
    lut.modified()
    return lut


def _texture_actor(renderer, widget):
    """The actor of an image plane widget (VTK keeps it private): the one sharing its property."""
    prop = widget._vtk_obj.GetTexturePlaneProperty()
    actors = renderer._vtk_obj.GetActors()
    actors.InitTraversal()
    for _ in range(actors.GetNumberOfItems()):
        actor = actors.GetNextActor()
        if actor.GetProperty() is prop:
            return actor
    return None


def make_slices(src, figure, cursor, name, force_opaque=False):
    """Three image plane widgets (x, y, z) through ``cursor`` (mm).

    With ``force_opaque`` the planes' texture actors are drawn in the opaque
    pass: voxels made fully transparent by the lookup table (background) are
    discarded, everything else hides what lies behind it, so three crossing
    planes sort correctly without depth peeling.
    """
    from mayavi import mlab

    planes = []
    renderer = figure.scene.renderer
    for axis, pos in zip(_AXES, cursor):
        ipw = mlab.pipeline.image_plane_widget(
            src, plane_orientation=f"{axis}_axes", figure=figure, name=f"{name} {axis}"
        )
        w = ipw.ipw
        w.margin_size_x = w.margin_size_y = 0.0
        w.display_text = False
        # The window is ours: a right-drag must not rewrite it.
        w.user_controlled_lookup_table = True
        w.texture_interpolate = True
        w.reslice_interpolate = "linear"
        w.plane_property.opacity = 0.0
        w.selected_plane_property.opacity = 0.0
        w.slice_position = float(pos)
        # vtkImagePlaneWidget keeps its texture actor private: find it in the renderer.
        actor = _texture_actor(renderer, w)
        ipw._brainviz_actor = actor
        if force_opaque and actor is not None:
            actor.SetForceOpaque(True)
        planes.append(ipw)
    return planes


class GridVisual(Visual):
    """Base of the visuals of one image on a voxel grid (anatomy, statistical map):
    world bounds and values come from the grid; the pipeline hangs from one source."""

    grid = Instance(VolumeGrid)
    source = Instance(object)

    @property
    def bounds(self):
        """World bounds of the image in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        return self.grid.bounds

    def value_at(self, xyz_mm):
        """Image value at world point(s) ``xyz_mm`` (nearest voxel; a map's value is not
        thresholded); NaN outside the volume."""
        return self.grid.sample(xyz_mm, order=0)

    def _pipeline_roots(self):
        return [self.source] if self.source is not None else []


class AnatomyVisual(GridVisual):
    """Three orthogonal grey-scale slices of an anatomical volume through a cursor in mm.

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D image. 4D images raise :class:`~brainviz.exceptions.DimensionError`.
    cursor : (float, float, float), default=(0, 0, 0)
        World position (mm, RAS+) the three slices pass through.
    figure : Scene, default=None
        Figure to draw into (the current mlab figure if None).
    **traits
        Initial values of the traits below.

    Notes
    -----
    Moving :attr:`cursor` moves all three slices; :attr:`vmin`/:attr:`vmax`
    (a robust 2-98 percentile window by default) set the grey-scale window.
    Volume rendering and a brain isosurface are drawn on demand
    (:attr:`show_volume`, :attr:`show_isosurface`): they are built the first
    time they are switched on, then only shown or hidden.
    """

    #: World position (mm) of the three slices.
    cursor = Array(dtype=float, shape=(3,), value=np.zeros(3))
    #: Grey-scale window.
    vmin = Float()
    vmax = Float()
    #: Colour map of the slices ("gray" by default).
    cmap = Colormap("gray")
    #: Slice opacity.
    opacity = Range(0.0, 1.0, 1.0)
    #: Draw voxels at the image minimum (the background) transparent.
    transparent_background = Bool(True)
    show_slices = Bool(True)
    #: Volume rendering of the anatomy (slow in software rendering).
    show_volume = Bool(False)
    #: Brain surface: an isosurface of the anatomy at :attr:`isosurface_level`.
    show_isosurface = Bool(False)
    isosurface_level = Float()
    isosurface_opacity = Range(0.0, 1.0, 0.3)
    isosurface_color = Array(dtype=float, shape=(3,), value=np.array([0.85, 0.8, 0.75]))

    #: Assign a new 3D image on the same grid (e.g. another frame of a series) to redraw
    #: the slices in place; the window is kept.
    img = Property()

    slices = List()
    lut = Instance(object)
    volume_module = Instance(object)
    isosurface_module = Instance(object)

    def __init__(self, img, cursor=(0.0, 0.0, 0.0), figure=None, **traits):
        vol = to_volume(img, "img")
        grid = VolumeGrid(vol)
        finite = grid.data[np.isfinite(grid.data)]
        if finite.size == 0:
            from ..exceptions import DataValueError

            raise DataValueError(f"The anatomy image {grid.name!r} holds no finite value.")
        self._data_min = _background_level(finite)
        lo, hi = _robust_window(vol, finite)
        traits.setdefault("vmin", lo)
        traits.setdefault("vmax", hi)
        traits.setdefault("name", grid.name or "anatomy")
        traits.setdefault("isosurface_level", _brain_level(finite))
        super().__init__(grid=grid, cursor=np.asarray(cursor, dtype=float), **traits)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()

    # -- building --------------------------------------------------------
    def _build(self):
        self.source = scalar_source(self.figure, self.grid, data=self._display_data(),
                                    name=self.name)
        self.slices = make_slices(self.source, self.figure, self.cursor, self.name,
                                  force_opaque=True)
        self._update_lut()
        self._update_opacity()
        self._update_visibility()
        if self.show_volume:
            self._update_volume()
        if self.show_isosurface:
            self._update_isosurface()

    def _display_data(self):
        """The array drawn on the slices: the image, with what lies outside the head cleared.

        With a transparent background, voxels outside the head (the largest
        connected component above the transparency cutoff, holes filled) are set
        below the lookup table's range, so they are not drawn. Without this, the
        faint noise around a skull-stripped template shows as black speckles.
        Picking (:meth:`value_at`) still reads the true values.
        """
        data = self.grid.data
        if not self.transparent_background:
            return data
        return clear_outside_head(data, self._lut_range()[0], self._data_min)

    def _window(self):
        lo, hi = float(self.vmin), float(self.vmax)
        if hi <= lo:
            hi = lo + 1e-6 * max(1.0, abs(lo))
        return lo, hi

    def _lut_range(self):
        """Value range of the table: the window, extended down to the transparency cutoff.

        With a transparent background, values below the cutoff (a quarter of the
        way from the background to the window's low end) are not drawn; values
        between the cutoff and the window draw as the window's darkest colour.
        """
        lo, hi = self._window()
        if not self.transparent_background:
            return lo, hi
        bg = self._data_min
        if lo > bg:
            return bg + 0.25 * (lo - bg), hi
        return bg + 1e-3 * (hi - bg), hi  # window starts at the background: cut just above it

    def _lut_table(self, n=256):
        base = lut_table(self.cmap, n)
        lo, hi = self._window()
        start, stop = self._lut_range()
        values = start + (np.arange(n) + 0.5) * (stop - start) / n
        t = np.clip((values - lo) / (hi - lo), 0, 1)
        return base[np.round(t * (n - 1)).astype(int)]

    # -- trait handlers (in place) ---------------------------------------
    @on_trait_change("transparent_background")
    def _update_display_data(self):
        if self.source is not None:
            with disable_render(self.figure):
                self.source.scalar_data = self._display_data()

    @on_trait_change("vmin, vmax, cmap, transparent_background")
    def _update_lut(self):
        if not self.slices:
            return
        lut = update_lut(self.lut, self._lut_table(), self._lut_range())
        lut.use_below_range_color = bool(self.transparent_background)
        # Texture filtering mixes edge texels with this colour: the figure's background
        # colour (fully transparent) leaves no dark fringe around the brain.
        bg = tuple(getattr(self.figure.scene, "background", (0.0, 0.0, 0.0)))
        lut.below_range_color = (*bg[:3], 0.0)
        if self.lut is None:
            self.lut = lut
            for ipw in self.slices:
                ipw.ipw.lookup_table = lut
        self.render()

    @on_trait_change("cursor")
    def _update_cursor(self):
        if not self.slices:
            return
        for ipw, pos in zip(self.slices, self.cursor):
            ipw.ipw.slice_position = float(pos)
        self.render()

    @on_trait_change("opacity")
    def _update_opacity(self):
        for ipw in self.slices:
            ipw.ipw.texture_plane_property.opacity = float(self.opacity)
            # opaque pass only while fully opaque: translucent slices must blend
            actor = getattr(ipw, "_brainviz_actor", None)
            if actor is not None:
                actor.SetForceOpaque(self.opacity >= 1.0)
        self.render()

    @on_trait_change("visible, show_slices")
    def _update_visibility(self):
        for ipw in self.slices:
            ipw.visible = bool(self.visible and self.show_slices)
        if self.volume_module is not None:
            self.volume_module.visible = bool(self.visible and self.show_volume)
        if self.isosurface_module is not None:
            self.isosurface_module.visible = bool(self.visible and self.show_isosurface)
        self.render()

    @on_trait_change("show_volume")
    def _update_volume(self):
        if self.source is None:
            return
        if self.show_volume and self.volume_module is None:
            from mayavi import mlab

            with disable_render(self.figure):
                lo, hi = self._lut_range()
                self.volume_module = mlab.pipeline.volume(
                    self.source, vmin=lo, vmax=hi, figure=self.figure, name=f"{self.name} volume"
                )
        self._update_visibility()

    @on_trait_change("show_isosurface, isosurface_level, isosurface_opacity, isosurface_color")
    def _update_isosurface(self):
        if self.source is None:
            return
        if self.show_isosurface and self.isosurface_module is None:
            from mayavi import mlab

            with disable_render(self.figure):
                self.isosurface_module = mlab.pipeline.iso_surface(
                    self.source, contours=[float(self.isosurface_level)],
                    color=tuple(self.isosurface_color), opacity=float(self.isosurface_opacity),
                    figure=self.figure, name=f"{self.name} surface",
                )
        iso = self.isosurface_module
        if iso is not None:
            iso.contour.contours = [float(self.isosurface_level)]
            iso.actor.property.opacity = float(self.isosurface_opacity)
            iso.actor.property.color = tuple(self.isosurface_color)
        self._update_visibility()

    def _get_img(self):
        return self.grid.volume

    def _set_img(self, img):
        from ..exceptions import ShapeMismatchError

        grid = VolumeGrid(to_volume(img, "img"))
        if grid.shape != self.grid.shape or not np.allclose(grid.affine, self.grid.affine):
            raise ShapeMismatchError(
                f"The new 'img' must be on the grid of {self.name!r}: shape {self.grid.shape} and "
                f"the same affine; got shape {grid.shape}. Draw it as a new anatomy instead."
            )
        self.grid = grid
        finite = grid.data[np.isfinite(grid.data)]
        if finite.size:
            self._data_min = _background_level(finite)
        with disable_render(self.figure):
            self.source.scalar_data = self._display_data()
            self._update_lut()


def _background_level(finite):
    """The background value: the minimum, or 0 when the minimum is a float32 denormal.

    nilearn's MNI template stores its background as a mixture of 0 and float32
    denormals (~1e-45); values within a millionth of the range of the minimum
    count as background.
    """
    lo, hi = float(finite.min()), float(finite.max())
    return lo if hi <= lo else lo + 1e-6 * (hi - lo)


def clear_outside_head(data, cutoff, background, cache=True):
    """Return a copy of ``data`` where voxels outside the head are set below ``cutoff``.

    The head is the largest connected component of ``data > cutoff`` after a
    one-voxel opening, with its holes filled (ventricles stay drawn); see
    :func:`head_mask`. With ``cache``, the mask of an image of 32**3 voxels or
    more is kept in the demo-data folder (``head_masks_v1/``, the 32 most
    recently used), keyed by a hash of the voxel values and ``cutoff``: the
    next start (or the next window on the same image) reads it instead of
    importing scipy.ndimage and computing it again, a quarter of a second for
    the MNI template.
    """
    mask = _stored_head_mask(data, cutoff) if cache else head_mask(data, cutoff)
    if mask is None:
        return data
    out = data.copy()
    out[~mask & np.isfinite(data)] = min(float(background), float(cutoff)) - 1.0
    return out


def head_mask(data, cutoff):
    """Boolean mask of the head in ``data`` (see :func:`clear_outside_head`), or None if empty."""
    from scipy import ndimage

    fg = np.isfinite(data) & (data > cutoff)
    fg = ndimage.binary_opening(fg)
    labels, n = ndimage.label(fg)
    if n == 0:
        return None
    if n > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        fg = labels == int(np.argmax(sizes))
    return ndimage.binary_fill_holes(fg)


_HEAD_MASKS = "head_masks_v1"
_HEAD_MASKS_KEPT = 32
_HEAD_MASK_MIN_VOXELS = 32 ** 3


def _stored_head_mask(data, cutoff):
    import hashlib
    import os

    from .._config import get_data_dir
    from ._mask_files import load_mask, save_mask

    data = np.ascontiguousarray(data)
    if data.size < _HEAD_MASK_MIN_VOXELS:
        return head_mask(data, cutoff)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{data.shape}|{data.dtype.str}|{float(cutoff)!r}".encode())
    digest.update(data.view(np.uint8).ravel())
    folder = get_data_dir() / _HEAD_MASKS
    path = folder / f"{digest.hexdigest()}.npz"
    stored = load_mask(path)
    if stored is not None and stored[0].shape == data.shape:
        try:
            os.utime(path)  # recently used: kept by the pruning below
        except OSError:
            pass
        return stored[0]
    mask = head_mask(data, cutoff)
    if mask is not None:
        save_mask(path, mask)
        _prune(folder, _HEAD_MASKS_KEPT)
    return mask


def _prune(folder, keep):
    """Delete all but the ``keep`` most recently used ``.npz`` files in ``folder`` (best effort)."""
    try:
        files = sorted(folder.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink()
    except OSError:
        pass


def _robust_window(vol, finite):
    """A 2-98 percentile grey window; over the non-background voxels when a background dominates.

    A skull-stripped template is mostly zeros: the window then starts at the
    darkest tissue, and the soft rim between tissue and background falls below
    it (transparent) instead of drawing a black fringe.
    """
    background = _background_level(finite)
    tissue = finite[finite > background]
    if tissue.size and tissue.size < 0.8 * finite.size:
        lo, hi = (float(v) for v in np.percentile(tissue, (2, 98)))
    else:
        try:
            rr = vol.robust_range()
            lo, hi = float(rr.low), float(rr.high)
        except Exception:  # a Volume without robust_range: compute it here
            lo, hi = (float(v) for v in np.percentile(finite, (2, 98)))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    return lo, hi


def _brain_level(finite):
    """A level separating head from background: half the robust mean of the non-zero voxels."""
    nz = finite[finite > finite.min()]
    if nz.size == 0:
        return float(finite.min())
    return float(0.5 * np.percentile(nz, 50))
