"""Anatomy: three orthogonal slices through a cursor, optional volume rendering and brain surface.

Every volume is placed in world millimetres (RAS+) from its affine: the image
is reoriented to RAS+ (:meth:`brainviz.data.Volume.as_ras`: flips only for an
axis-aligned affine, a resampling for an oblique one) and handed to Mayavi as
an image whose ``origin`` is the world position of voxel (0, 0, 0) and whose
``spacing`` is the voxel size. A volume stored LAS and the same volume stored
RAS therefore draw the same picture.
"""
import numpy as np
from traits.api import Array, Bool, Float, Instance, Int, List, Property, Range, on_trait_change

from ._base import (
    Colormap, GridVisual, VolumeGrid, lut_table, make_slices, scalar_source, set_slice_positions,
    to_volume, update_lut,
)
from ._figure import disable_render

__all__ = ["AnatomyVisual", "SeriesVisual", "clear_outside_head", "grey_range", "grey_table"]


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

    layer_handlers = {"visible": "visible", "opacity": "opacity", "cmap": "cmap",
                      "vmin": "set_vmin", "vmax": "set_vmax", "show_slices": "show_slices"}
    follows_cursor = True

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
        vol, grid = self._make_grid(img, traits)
        finite = grid.finite()
        if finite.size == 0:
            from ..exceptions import DataValueError

            raise DataValueError(f"The anatomy image {grid.name!r} holds no finite value.")
        # computed once per grid: the 2D views drawing the same image share them
        self._data_min = grid.memo("background", lambda: _background_level(finite))
        self._auto_window = grid.memo("robust window", lambda: _robust_window(vol, finite))
        for name, value in zip(("vmin", "vmax"), self._auto_window):
            if traits.get(name) is None:
                traits[name] = value
        traits.setdefault("name", grid.name or "anatomy")
        traits.setdefault("isosurface_level", grid.memo("brain level",
                                                        lambda: _brain_level(finite)))
        super().__init__(grid=grid, cursor=np.asarray(cursor, dtype=float), **traits)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()

    def _make_grid(self, img, traits):
        vol = to_volume(img, "img")
        return vol, VolumeGrid.shared(vol)

    def set_vmin(self, value):
        """Low end of the grey window; None: the robust window's (2nd percentile of the tissue)."""
        self.vmin = self._auto_window[0] if value is None else float(value)

    def set_vmax(self, value):
        """High end of the grey window; None: the robust window's (98th percentile of the
        tissue)."""
        self.vmax = self._auto_window[1] if value is None else float(value)

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
        cutoff = self._lut_range()[0]
        head = getattr(self, "_head", None)
        if head is None or head[0] != cutoff:
            from ..data._masks import head_mask

            # one mask per window: a new frame of a series reuses it (no new hash, no ndimage)
            self._head = head = (cutoff, self.grid.memo(("head mask", cutoff),
                                                        lambda: head_mask(data, cutoff)))
        return clear_outside_head(data, cutoff, self._data_min, mask=head[1]) \
            if head[1] is not None else data

    @property
    def content_bounds(self):
        """The head's bounds (the voxels drawn), not the image's whole field of view."""
        head = getattr(self, "_head", None)
        mask = head[1] if head is not None else None
        kept = getattr(self, "_head_bounds", None)
        if kept is None or kept[0] is not mask or kept[1] is not self.grid:
            kept = self._head_bounds = (mask, self.grid, self.grid.mask_bounds(mask))
        return kept[2]

    def _window(self):
        lo, hi = float(self.vmin), float(self.vmax)
        if hi <= lo:
            hi = lo + 1e-6 * max(1.0, abs(lo))
        return lo, hi

    def _lut_range(self):
        return grey_range(self._window(), self._data_min, self.transparent_background)

    def _lut_table(self, n=256):
        return grey_table(self.cmap, self._window(), self._lut_range(), n)

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
        if self.lut is None:
            self.lut = lut
            for plane in self.slices:
                plane.lookup_table = lut
        self._update_below_range()
        self.render()

    @on_trait_change("cursor")
    def _update_cursor(self):
        if not self.slices:
            return
        set_slice_positions(self.slices, self.cursor)
        self.render()

    @on_trait_change("opacity")
    def _update_opacity(self):
        for plane in self.slices:
            plane.opacity = float(self.opacity)
            # opaque pass (a cut-out) only while fully opaque: translucent slices must blend
            plane.set_opaque(self.opacity >= 1.0)
        self._update_below_range()
        self.render()

    def _update_below_range(self):
        """The colour of the voxels cleared outside the head, which texture filtering mixes
        with the head's edge texels: transparent black for opaque slices (cut-outs, which
        divide the filtered colour by its alpha: the edge keeps the tissue's colour);
        the figure's background colour, transparent, for translucent ones (no dark fringe
        blended around the brain)."""
        if self.lut is None:
            return
        if self.opacity >= 1.0:
            self.lut.below_range_color = (0.0, 0.0, 0.0, 0.0)
        else:
            bg = tuple(getattr(self.figure.scene, "background", (0.0, 0.0, 0.0)))
            self.lut.below_range_color = (*bg[:3], 0.0)

    @on_trait_change("visible, show_slices")
    def _update_visibility(self):
        for plane in self.slices:
            plane.visible = bool(self.visible and self.show_slices)
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


def grey_range(window, background, transparent=True):
    """Value range of an anatomy's table: the window, extended down to the transparency cutoff.

    With a transparent background, values below the cutoff (a quarter of the
    way from the background to the window's low end) are not drawn; values
    between the cutoff and the window draw as the window's darkest colour.
    """
    lo, hi = window
    if not transparent:
        return lo, hi
    if lo > background:
        return background + 0.25 * (lo - background), hi
    return background + 1e-3 * (hi - background), hi  # window starts at the background


def grey_table(cmap, window, lut_range, n=256):
    """(n, 4) uint8 table over ``lut_range`` showing ``window`` in the colour map ``cmap``."""
    base = lut_table(cmap, n)
    lo, hi = window
    start, stop = lut_range
    values = start + (np.arange(n) + 0.5) * (stop - start) / n
    t = np.clip((values - lo) / (hi - lo), 0, 1)
    return base[np.round(t * (n - 1)).astype(int)]


def clear_outside_head(data, cutoff, background, cache=True, mask=None):
    """Return a copy of ``data`` where voxels outside the head are set below ``cutoff``.

    The head is :func:`brainviz.data._masks.head_mask` (the largest connected
    component above ``cutoff``, holes filled: ventricles stay drawn), kept in the
    on-disk store when ``cache`` is true; or ``mask`` when given (the frames of a
    series share the first frame's).
    """
    from ..data._masks import head_mask

    if mask is None:
        mask = head_mask(data, cutoff, store=cache)
    if mask is None or np.shape(mask) != np.shape(data):
        return data
    # floats: the cleared value is far outside an integer type's range. In Fortran order:
    # Mayavi hands the array to VTK as ravel(transpose(data)), a view of a Fortran array
    # but a second whole copy of a C one.
    out = np.array(data, dtype=np.float32 if data.dtype.kind in "iub" else data.dtype,
                   order="F")
    out[~mask & np.isfinite(out)] = cleared_value(cutoff, background)
    return out


#: How far below the transparency cutoff cleared voxels go, in units of the cutoff's distance
#: from the background (:func:`cleared_value`).
_CLEARED_DEPTH = 1e6


def cleared_value(cutoff, background):
    """The value of the voxels cleared outside the head: far below ``cutoff``.

    The slices are resampled linearly (between voxel planes, and in the plane): a sample
    between an edge voxel of the head and a cleared one takes a value between the two.
    One voxel below the cutoff, about a sixth of those samples fell between the cutoff and
    the grey window, the band drawn as the window's darkest colour: a black stair-stepped
    line along every edge of the head. A million times further down, the samples go from
    tissue to transparent within a millionth of a voxel.
    """
    cutoff, background = float(cutoff), float(background)
    low = min(background, cutoff)
    return low - _CLEARED_DEPTH * max(abs(cutoff - background), 1e-3 * max(abs(low), 1.0))


def _robust_window(vol, finite):
    """A 2-98 percentile grey window; over the non-background voxels when a background dominates.

    A skull-stripped template is mostly zeros: the window then starts at the
    darkest tissue, and the soft rim between tissue and background falls below
    it (transparent) instead of drawing a black fringe.

    ``finite`` holds the finite values of the frame drawn. A 4D series' window is that
    frame's (kept when another frame is shown), not every frame's: those would be read
    from the file before the series is drawn, the whole file of a compressed one (0.8 s
    for 200 volumes of 64 x 64 x 36, seconds for longer runs), and the window would
    move by little (the frames of a run share their range).
    """
    background = _background_level(finite)
    tissue = finite[finite > background]
    if tissue.size and tissue.size < 0.8 * finite.size:
        lo, hi = (float(v) for v in np.percentile(tissue, (2, 98)))
    elif getattr(vol, "ndim", 3) == 4 and getattr(vol, "n_frames", 1) > 1:
        lo, hi = (float(v) for v in np.percentile(finite, (2, 98)))
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


class SeriesVisual(AnatomyVisual):
    """One frame of a 4D series on three slices through the cursor; :attr:`frame` picks it
    and is redrawn in place (same grid, same grey window)."""

    layer_handlers = dict(AnatomyVisual.layer_handlers, frame="frame")

    frame = Int(0)

    def __init__(self, img, cursor=(0.0, 0.0, 0.0), figure=None, frame=0, **traits):
        self._frame0 = int(frame)
        super().__init__(img, cursor=cursor, figure=figure, frame=int(frame), **traits)

    def _make_grid(self, img, traits):
        from ..data import load_volume

        vol = load_volume(img)
        self._series = vol
        return vol, VolumeGrid.shared(vol, frame=self._frame0)

    def _frame_changed(self, old, new):
        if self.source is None:
            return
        frame = int(min(max(new, 0), max(getattr(self._series, "n_frames", 1) - 1, 0)))
        self.grid = VolumeGrid.shared(self._series, frame=frame)
        with disable_render(self.figure):
            self.source.scalar_data = self._display_data()
            self._update_lut()
