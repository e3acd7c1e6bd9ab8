"""What the visuals share: the Visual base class and its layer handlers, colour tables,
image grids placed in world mm, slices through the cursor, colour bars.

Every visual is a :class:`Visual`: drawn once into a Mayavi figure and restyled in
place through its traits. :attr:`Visual.layer_handlers` says, for each display
trait of the layer kind the visual draws (:mod:`brainviz.model`), which attribute
of the visual applies it: a trait set to the layer's value, or a method called
with it. :mod:`brainviz.scene.binding` uses that table and nothing else, so a
layer trait without a handler is an error a test finds, never a silent no-op.
"""
import textwrap
import weakref

import numpy as np
from traits.api import Any, Bool, HasTraits, Instance, Str, TraitType

from ..exceptions import DimensionError
from ._figure import _register, disable_render, get_figure, render

__all__ = [
    "Visual",
    "GridVisual",
    "VolumeGrid",
    "Colormap",
    "ThresholdTrait",
    "MappedRange",
    "lut_table",
    "update_lut",
    "display_range",
    "as_points",
    "to_volume",
    "scalar_source",
    "SlicePlane",
    "make_slices",
    "reset_clipping",
    "set_slice_positions",
    "threshold_table",
    "resolve_threshold",
    "make_colorbar",
    "update_colorbar",
    "sync_colorbar",
]

_AXES = ("x", "y", "z")
N_COLORS = 512

def lut_table(name, n=256):
    """Return the colour table ``name`` as an (n, 4) uint8 RGBA array (see
    :func:`brainviz.scene.colors.get_lut`)."""
    from .colors import get_lut

    return np.asarray(get_lut(name, n=n), dtype=np.uint8)


def two_map_lut(cmap, neg_cmap, lo, hi, n=256):
    """The (n, 4) uint8 colours of the range ``lo..hi``: ``cmap`` alone, or with ``neg_cmap``
    (FSLeyes' negative colour map) positive values from 0 to ``hi`` through ``cmap`` and
    negative ones from 0 down to ``lo`` through ``neg_cmap``."""
    base = lut_table(cmap, n)
    if not neg_cmap:
        return base
    values = lo + (np.arange(n) + 0.5) * (hi - lo) / n
    neg = lut_table(neg_cmap, n)
    out = np.empty((n, 4), dtype=np.uint8)
    top = hi if hi > 0 else 1.0
    bottom = -lo if lo < 0 else 1.0
    up = values >= 0
    out[up] = base[np.clip((values[up] / top * (n - 1)).astype(int), 0, n - 1)]
    out[~up] = neg[np.clip((-values[~up] / bottom * (n - 1)).astype(int), 0, n - 1)]
    return out


class Colormap(TraitType):
    """A colour map name, checked on assignment: a bad name raises ParameterError at once."""

    default_value_type = 0
    info_text = "a colour map name"

    def __init__(self, default_value="cold_hot", **metadata):
        super().__init__(default_value, **metadata)

    def validate(self, obj, name, value):
        from .colors import check_colormap

        return check_colormap(value, parameter=f"The {name!r} parameter: colour map")


class Visual(HasTraits):
    """Base class of brainviz visuals: drawn once into a figure, restyled through traits.

    Subclasses build their Mayavi/TVTK pipeline in ``_build`` with rendering
    disabled and update it in place from trait handlers.

    A visual drawn for a layer (:mod:`brainviz.scene.binding`) is made by
    :meth:`from_layer` and kept in step through :attr:`layer_handlers`.
    """

    #: For each display trait of the layer kind this visual draws, the attribute of
    #: the visual that applies it: a trait (set to the layer's value) or a method
    #: (called with it). Every display trait must have one (a test checks).
    layer_handlers = {"visible": "visible"}

    #: True for visuals with slices: the binding keeps their ``cursor`` on the session's.
    follows_cursor = False

    #: The Mayavi figure (Scene) the visual draws into.
    figure = Any()

    #: Show or hide the whole visual.
    visible = Bool(True)

    #: A name for legends and the GUI.
    name = Str()

    @classmethod
    def from_layer(cls, layer, figure, **extra):
        """Draw ``layer`` (a :class:`brainviz.model.Layer`) into ``figure`` with all its settings
        (``extra``: keywords of the view, such as a 2D view's axis)."""
        visual = cls(*cls.layer_data(layer), figure=figure, name=layer.name,
                     **cls.layer_traits(layer), **extra)
        for name in layer.display_trait_names():
            handler = cls.layer_handlers[name]
            if callable(getattr(cls, handler, None)):
                getattr(visual, handler)(getattr(layer, name))
        return visual

    @classmethod
    def layer_data(cls, layer):
        """The positional arguments that give the visual the layer's data."""
        return (layer.data,)

    @classmethod
    def layer_traits(cls, layer):
        """Constructor keywords: the layer settings whose handler is a trait of the visual."""
        out = {}
        for name in layer.display_trait_names():
            handler = cls.layer_handlers[name]
            if cls.class_traits().get(handler) is not None:
                value = getattr(layer, name)
                out[handler] = list(value) if isinstance(value, tuple) else value
        return out

    def apply_layer_trait(self, layer, name):
        """Apply the layer's display trait ``name`` (its handler in :attr:`layer_handlers`)."""
        handler = self.layer_handlers[name]
        value = getattr(layer, name)
        target = getattr(type(self), handler, None)
        if callable(target):
            getattr(self, handler)(value)
        else:
            setattr(self, handler, list(value) if isinstance(value, tuple) else value)

    def _setup(self, figure):
        self.figure = get_figure(figure)
        _register(self.figure, self)

    def render(self):
        """Render the figure (no-op while rendering is disabled)."""
        render(self.figure)

    @property
    def bounds(self):
        """World bounds in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        raise NotImplementedError

    @property
    def content_bounds(self):
        """World bounds of what is drawn, which views frame (an anatomy's head, not the
        whole field of view of its image); :attr:`bounds` unless a visual knows better."""
        return self.bounds

    def value_at(self, xyz_mm):
        """Return the visual's value(s) at world point(s) ``xyz_mm`` (mm); NaN outside."""
        raise NotImplementedError

    def _actors(self):
        return []

    def remove(self):
        """Remove the visual's objects from its figure."""
        from ._figure import _unregister

        with disable_render(self.figure):
            for obj in self._pipeline_roots():
                try:
                    obj.remove()
                except Exception:  # already removed with its parent
                    pass
            for actor in self._actors():
                self.figure.scene.remove_actor(actor)
        _unregister(self.figure, self)

    def _pipeline_roots(self):
        return []


def display_range(vmin, vmax, symmetric, data_min, data_max):
    """The (low, high) values a map's colour map spans.

    ``vmin``/``vmax`` None means "from the data". A symmetric range is
    ``[-top, top]`` with ``top = |vmax|`` or the data's largest absolute value;
    otherwise ``[vmin, vmax]`` with the data's minimum and maximum filling in.
    """
    if symmetric:
        top = abs(float(vmax)) if vmax is not None else max(abs(data_min), abs(data_max))
        top = top or 1.0
        return -top, top
    lo = float(vmin) if vmin is not None else float(data_min)
    hi = float(vmax) if vmax is not None else float(data_max)
    if not hi > lo:
        hi = lo + max(1e-6 * abs(lo), 1e-12)
    return lo, hi


def resolve_threshold(value, data):
    """A threshold as a number: ``value`` itself, or for ``"95%"`` that percentile of the
    finite non-zero absolute values of ``data`` (:func:`brainviz.model.map_threshold`)."""
    from ..model import map_threshold

    return map_threshold(value, data)


class MappedRange:
    """The colour range of a mapped visual (statistical map, surface): ``vmin``/``vmax`` set by
    the user, or automatic (from the data: symmetric or not) and kept automatic when
    ``symmetric`` changes. Needs ``_data_min``, ``_data_max`` and ``_abs_max``."""

    def _init_range(self, traits):
        """Fill ``vmin``/``vmax`` in the constructor's traits; None (or absent) is automatic."""
        symmetric = traits.get("symmetric", True)
        self._auto = {"vmin": traits.get("vmin") is None, "vmax": traits.get("vmax") is None}
        if self._auto["vmax"]:
            traits["vmax"] = self._abs_max if symmetric else self._data_max
        if self._auto["vmin"]:
            traits["vmin"] = -traits["vmax"] if symmetric else self._data_min

    def _auto_limit(self, name):
        if self.symmetric:
            return -self._abs_max if name == "vmin" else self._abs_max
        return self._data_min if name == "vmin" else self._data_max

    def set_vmin(self, value):
        """Low end of the colour range (ignored while symmetric); None: the data's minimum."""
        self._auto["vmin"] = value is None
        self.vmin = self._auto_limit("vmin") if value is None else float(value)

    def set_vmax(self, value):
        """High end of the colour range; None: the largest |value| (symmetric) or the maximum."""
        self._auto["vmax"] = value is None
        self.vmax = self._auto_limit("vmax") if value is None else float(value)

    def _symmetric_changed(self):
        for name in ("vmin", "vmax"):
            if getattr(self, "_auto", {}).get(name):
                setattr(self, name, self._auto_limit(name))


class ThresholdTrait(TraitType):
    """A threshold as a layer holds it: a number >= 0 or a percentile string ("95%")."""

    default_value_type = 0
    info_text = 'a finite number >= 0 or a percentile such as "95%"'

    def __init__(self, default_value=0.0, **metadata):
        super().__init__(default_value, **metadata)

    def validate(self, obj, name, value):
        from traits.api import TraitError

        from ..exceptions import ParameterError
        from ..model import Threshold

        try:
            return Threshold().validate(obj, name, value)
        except TraitError:
            raise ParameterError(
                f"threshold must be a finite number >= 0 or a percentile such as \"95%\"; "
                f"got {value!r}") from None


def as_points(xyz_mm):
    """Return ``xyz_mm`` as an (n, 3) float array and whether a single point was given."""
    pts = np.asarray(xyz_mm, dtype=float)
    single = pts.ndim == 1
    pts = np.atleast_2d(pts)
    if pts.shape[-1] != 3:
        raise DimensionError(
            f"xyz_mm must be (3,) or (n, 3) world coordinates in mm; got shape {pts.shape}"
        )
    return pts, single


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

    #: grids in use, by (volume, frame): the views of one layer share one grid (its float32
    #: copy, its statistics and its head mask) instead of each reading and copying the image
    _shared = weakref.WeakValueDictionary()

    @classmethod
    def shared(cls, volume, frame=0):
        """The grid of ``volume``'s ``frame`` that the visuals drawing it already use (a new
        one when none is alive). A grid holds its volume, so the key cannot outlive it.
        The grid's data must be treated as read-only."""
        key = (id(volume), int(frame))
        grid = cls._shared.get(key)
        if grid is None or grid.volume is not volume:
            grid = cls(volume, frame=frame)
            cls._shared[key] = grid
        return grid

    def memo(self, key, compute):
        """``compute()``, once per grid and ``key`` (statistics of the values, masks)."""
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    #: each volume's range over all its frames (see map_range), kept as long as the volume
    _ranges = weakref.WeakKeyDictionary()

    @classmethod
    def map_range(cls, volume):
        """``(min, max, max |v|)`` of the finite values of all of ``volume``'s frames (None
        when it has none), read one frame at a time and computed once per volume: a 4D
        map's colours and colour bar then hold for every frame (the first frame's range
        saturated the stronger frames after it), in the 3D scene, the 2D views and the
        frames of a movie alike.

        Kept with the volume, not with a frame's grid: a grid nothing holds any more (a
        layer opened at another frame) is gone, and each view read every frame again
        (a 100-frame 2 mm ``.nii.gz``: seconds each).
        """
        try:
            return cls._ranges[volume]
        except KeyError:
            pass
        except TypeError:  # cannot be referenced weakly: computed each time
            return cls._frames_range(volume)
        out = cls._ranges[volume] = cls._frames_range(volume)
        return out

    @classmethod
    def _frames_range(cls, volume):
        ras = volume.as_ras()
        n = int(getattr(ras, "n_frames", 1)) if getattr(ras, "ndim", 3) == 4 else 1
        low, high, top = np.inf, -np.inf, 0.0
        for k in range(n):
            grid = cls._shared.get((id(volume), k))
            data = grid.data if grid is not None and grid.volume is volume else (
                ras.get_frame(k) if n > 1 else cls.shared(volume, 0).data)
            if not data.size:
                continue
            # min and max first (two passes): a non-finite value shows in them as nan or
            # inf, and only then are the finite values copied out
            lo, hi = float(data.min()), float(data.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                finite = data[np.isfinite(data)]
                if not finite.size:
                    continue
                lo, hi = float(finite.min()), float(finite.max())
            low, high = min(low, lo), max(high, hi)
            top = max(top, abs(lo), abs(hi))
        return None if low > high else (low, high, top)

    def finite(self):
        """The finite values (a 1D copy, computed once per grid)."""
        return self.memo("finite", lambda: self.data[np.isfinite(self.data)])

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

    def voxel_box(self, mask):
        """``(lo, hi)`` voxel indices (hi exclusive) of the box around the voxels where
        ``mask`` (the grid's shape) is true; the whole grid when it is empty or None."""
        shape = np.asarray(self.data.shape[:3])
        if mask is None or mask.shape[:3] != tuple(shape) or not mask.any():
            return np.zeros(3, dtype=int), shape.astype(int)
        lo, hi = [], []
        for axis in range(3):
            others = tuple(a for a in range(3) if a != axis)
            hit = np.flatnonzero(mask.any(axis=others))
            lo.append(hit[0])
            hi.append(hit[-1] + 1)
        return np.asarray(lo, dtype=int), np.asarray(hi, dtype=int)

    def mask_bounds(self, mask):
        """(xmin, xmax, ...) in mm of the voxel centres where ``mask`` (the grid's shape) is
        true; the grid's :attr:`bounds` when it is empty or None."""
        lo, hi = self.voxel_box(mask)
        lo = self.origin + self.spacing * lo
        hi = self.origin + self.spacing * (hi - 1)
        return tuple(float(v) for pair in zip(lo, hi) for v in pair)

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


class SlicePlane:
    """One slice of a volume in the 3D scene, across ``axis`` at ``position`` (mm).

    The image is resampled on the plane (linearly between voxel planes, at the voxel
    centres within it), coloured by a lookup table and drawn as a textured quad that
    spans the voxels' edges. It replaces Mayavi's image plane widget: nobody grabs a
    slice (they move with the session's cursor), and the widget's machinery (a Mayavi
    module, five actors, interactor observers, TVTK's copy of every trait after each
    change) took about 15 ms to make per plane, six planes per map, and part of every
    cursor move. A position outside the image's voxels hides the plane, as in the 2D
    views (vtkImagePlaneWidget restricted its plane to the volume: the edge slice).
    """

    def __init__(self, src, figure, axis, position, name="", force_opaque=False):
        from vtkmodules.vtkCommonMath import vtkMatrix4x4
        from vtkmodules.vtkFiltersSources import vtkPlaneSource
        from vtkmodules.vtkImagingCore import vtkImageMapToColors, vtkImageReslice
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

        self.axis = int(axis)
        self.name = name
        self._figure = figure
        output = src.outputs[0]  # Mayavi's ArraySource: its image placed in world mm
        output = getattr(output, "_vtk_obj", output)
        if output.IsA("vtkAlgorithm"):
            output.Update()
            image = output.GetOutputDataObject(0)
        else:
            image = output
        self._shape = tuple(int(v) for v in image.GetDimensions())
        self._spacing = np.array(image.GetSpacing(), dtype=float)
        self._origin = np.array(image.GetOrigin(), dtype=float)
        k = self.axis
        self._inplane = [a for a in range(3) if a != k]
        a1, a2 = self._inplane
        axes = vtkMatrix4x4()  # output (u, v) -> input: u along a1, v along a2
        for row in range(3):
            axes.SetElement(row, 0, float(row == a1))
            axes.SetElement(row, 1, float(row == a2))
            axes.SetElement(row, 2, float(row == k))
        self._axes = axes
        reslice = vtkImageReslice()
        if output.IsA("vtkAlgorithm"):
            reslice.SetInputConnection(output.GetOutputPort())
        else:
            reslice.SetInputData(output)
        reslice.SetResliceAxes(axes)
        reslice.SetOutputDimensionality(2)
        reslice.SetInterpolationModeToLinear()
        reslice.SetOutputSpacing(self._spacing[a1], self._spacing[a2], 1.0)
        reslice.SetOutputOrigin(self._origin[a1], self._origin[a2], 0.0)
        reslice.SetOutputExtent(0, self._shape[a1] - 1, 0, self._shape[a2] - 1, 0, 0)
        reslice.SetBackgroundLevel(float("nan"))
        self._reslice = reslice
        colors = vtkImageMapToColors()
        colors.SetInputConnection(reslice.GetOutputPort())
        colors.SetOutputFormatToRGBA()
        colors.PassAlphaToOutputOn()
        self._colors = colors
        texture = vtkTexture()
        texture.SetInputConnection(colors.GetOutputPort())
        texture.InterpolateOn()
        texture.RepeatOff()
        texture.SetColorModeToDirectScalars()
        self._texture = texture
        plane = vtkPlaneSource()
        self._plane = plane
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(plane.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.SetTexture(texture)
        prop = actor.GetProperty()
        prop.SetAmbient(1.0)  # the image's own colours: no shading (as the widget drew them)
        prop.SetDiffuse(0.0)
        prop.SetSpecular(0.0)
        prop.SetInterpolationToFlat()
        # and no lights computed for nothing: the scene's five (its light kit) cost each of
        # the slices' fragments a loop over them; the colours are the same without
        prop.LightingOff()
        self.actor = actor
        self._cutout = False
        self.set_opaque(force_opaque)
        self._visible = True
        self._inside = True
        self._position = None
        self.position = position
        figure.scene.renderer._vtk_obj.AddActor(actor)

    # -- what the visuals set ------------------------------------------------------------
    @property
    def position(self):
        """Where the plane cuts, in mm along its axis."""
        return self._position

    @position.setter
    def position(self, value):
        # to a nanometre: a position reached by sums (a figure panel's shift) draws the
        # same pixels as the same position set directly
        value = round(float(value), 6)
        if value == self._position:
            return
        self._position = value
        k = self.axis
        first = self._origin[k]
        last = first + (self._shape[k] - 1) * self._spacing[k]
        half = 0.5 * self._spacing[k]
        self._inside = bool(first - half <= value <= last + half)
        # sampled within the voxels' centres (a plane within half a voxel of the edge shows
        # the edge voxels), drawn exactly at the cursor
        self._axes.SetElement(k, 3, min(max(value, first), last))
        self._axes.Modified()
        a1, a2 = self._inplane
        lo = self._origin - 0.5 * self._spacing
        hi = self._origin + (np.array(self._shape) - 0.5) * self._spacing
        corner = lo.copy()
        corner[k] = value
        point1, point2 = corner.copy(), corner.copy()
        point1[a1] = hi[a1]
        point2[a2] = hi[a2]
        self._plane.SetOrigin(*corner)
        self._plane.SetPoint1(*point1)
        self._plane.SetPoint2(*point2)
        self._show()

    def set_opaque(self, opaque):
        """Draw the plane in the opaque pass, as a cut-out: a texel is drawn where the
        table's alpha, filtered between texels, is at least one half, in the colour of the
        drawn texels around it; elsewhere nothing. Three crossing opaque planes need no
        sorting, and the head's edge has no fringe: drawn opaque, the filtered texels
        between the head and the cleared voxels around it (partly transparent, mixed with
        the colour of those voxels) made a stair-stepped line of that colour around the
        head. The table's colour for the cleared voxels must then be transparent black
        (filtered colours are divided by their alpha). Not opaque: blended as any
        translucent actor."""
        opaque = bool(opaque)
        self.actor.SetForceOpaque(opaque)
        if opaque == self._cutout:
            return
        shaders = self.actor.GetShaderProperty()
        if opaque:
            shaders.AddFragmentShaderReplacement(
                "//VTK::TCoord::Impl", True,
                "//VTK::TCoord::Impl\n"
                "  if (gl_FragData[0].a < 0.5) { discard; }\n"
                "  gl_FragData[0] = vec4(gl_FragData[0].rgb / gl_FragData[0].a, 1.0);\n",
                False)
        else:
            shaders.ClearFragmentShaderReplacement("//VTK::TCoord::Impl", True)
        self._cutout = opaque

    @property
    def cutout(self):
        """Whether the plane is drawn as a cut-out (:meth:`set_opaque`)."""
        return self._cutout

    @property
    def visible(self):
        return self._visible

    @visible.setter
    def visible(self, value):
        self._visible = bool(value)
        self._show()

    def _show(self):
        self.actor.SetVisibility(int(self._visible and self._inside))

    @property
    def opacity(self):
        return float(self.actor.GetProperty().GetOpacity())

    @opacity.setter
    def opacity(self, value):
        self.actor.GetProperty().SetOpacity(float(value))

    @property
    def lookup_table(self):
        return self._colors.GetLookupTable()

    @lookup_table.setter
    def lookup_table(self, lut):
        lut = getattr(lut, "_vtk_obj", lut)
        self._colors.SetLookupTable(lut)

    def resliced(self):
        """The values on the plane (vtkImageData), as the texture's colours are mapped from."""
        self._reslice.Update()
        return self._reslice.GetOutput()

    def remove(self):
        self._figure.scene.renderer._vtk_obj.RemoveActor(self.actor)


def make_slices(src, figure, cursor, name, force_opaque=False):
    """Three :class:`SlicePlane` (x, y, z) of the Mayavi source ``src`` through ``cursor`` (mm).

    With ``force_opaque`` the planes are drawn in the opaque pass: voxels made fully
    transparent by the lookup table (background) are discarded, everything else hides
    what lies behind it, so three crossing planes sort correctly without depth peeling.
    """
    return [SlicePlane(src, figure, axis, pos, name=f"{name} {_AXES[axis]}",
                       force_opaque=force_opaque)
            for axis, pos in enumerate(cursor)]


def set_slice_positions(planes, positions):
    """Move each slice of ``planes`` to its position (mm).

    The camera's clipping range is the caller's: a slice moved towards the camera may
    leave the range computed before (see :func:`reset_clipping`)."""
    for plane, pos in zip(planes, positions):
        plane.position = pos


def reset_clipping(figure):
    """Fit the camera's near and far planes to what is drawn now (slices moved)."""
    figure.scene.renderer._vtk_obj.ResetCameraClippingRange()


class GridVisual(Visual):
    """Base of the visuals of one image on a voxel grid (anatomy, statistical map):
    world bounds and values come from the grid; the pipeline hangs from one source."""

    grid = Instance(VolumeGrid)
    source = Instance(object)

    @property
    def bounds(self):
        """World bounds of the image in mm: (xmin, xmax, ymin, ymax, zmin, zmax)."""
        return self.grid.bounds

    @property
    def content_bounds(self):
        """Bounds of the finite non-zero voxels (a map's brain, a label image's regions)."""
        return nonzero_bounds(self)

    def value_at(self, xyz_mm):
        """Image value at world point(s) ``xyz_mm`` (nearest voxel; a map's value is not
        thresholded); NaN outside the volume."""
        return self.grid.sample(xyz_mm, order=0)

    def _pipeline_roots(self):
        return [self.source] if self.source is not None else []

    def remove(self):
        with disable_render(self.figure):
            for plane in [*getattr(self, "slices", []), *getattr(self, "back_slices", [])]:
                plane.remove()
        super().remove()




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
    lo, hi = visual.data_range
    cmap = visual.colorbar_lut() if hasattr(visual, "colorbar_lut") else visual.cmap
    update_colorbar(visual.scalar_bar, cmap, lo, hi, visual.threshold_value, visual.two_sided,
                    visual.colorbar_title or visual.name, visual.visible and visual.show_colorbar)
    visual.render()


def update_colorbar(bar, cmap, vmin, vmax, threshold, two_sided, title, visible):
    """Restyle a colour bar in place: colours, range, title, and the threshold marked.

    The band hidden by the threshold is drawn light grey (those colours are
    not shown in the scene) and the threshold values are annotated.
    """
    table = lut_table(cmap, N_COLORS) if isinstance(cmap, str) else np.asarray(cmap, np.uint8)
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


def nonzero_bounds(visual):
    """World bounds of the finite non-zero voxels of ``visual.grid`` (kept per grid)."""
    grid = visual.grid
    kept = getattr(visual, "_nonzero_bounds", None)
    if kept is None or kept[0] is not grid:
        data = grid.data
        kept = (grid, grid.mask_bounds(np.isfinite(data) & (data != 0)))
        visual._nonzero_bounds = kept
    return kept[1]
