"""Application state as traits: the session, its layers and its jobs.

Nothing here draws or imports Qt or VTK. A :class:`Session` holds an ordered
list of layers, the cursor and the camera; :mod:`brainviz.scene` draws a
session (:func:`brainviz.scene.binding.bind`) and every door (the window,
``brainviz.mlab``, ``brainviz render``) edits one.

Each kind of data is a :class:`Layer` subclass; its *display traits* (the
traits marked ``display=True``: visibility, colour map, threshold...) are
everything a user can change about how it is drawn, and each one has a
handler in the layer's visual (a test walks them all). The same concept has
the same name everywhere: ``cmap``, ``threshold`` (a number or a percentile
such as ``"95%"``), ``vmin``/``vmax`` (``None``: from the data), ``region``
(``-1``: all).

Layers and sessions serialise to plain JSON (:meth:`Layer.to_dict`,
:meth:`Session.to_dict`): sessions are never pickled.
"""
import re
import time
from pathlib import Path

import numpy as np
from traits.api import (
    Any, Bool, Dict, Enum, Event, Float, HasStrictTraits, HasTraits, Instance, Int, List,
    Property, Range, Str, TraitType, Tuple, Union, observe,
)

__all__ = [
    "Layer",
    "VolumeLayer",
    "AnatomyLayer",
    "SeriesLayer",
    "StatMapLayer",
    "MaskLayer",
    "LabelLayer",
    "ComponentsLayer",
    "ConnectomeLayer",
    "SurfaceLayer",
    "GlassBrainLayer",
    "LAYER_TYPES",
    "JobState",
    "time_left",
    "Session",
    "layer_class",
    "layer_from_volume",
    "parse_percentile",
    "map_threshold",
    "graph_threshold",
]

#: Colour maps offered for each kind, first one is the default.
SEQUENTIAL_CMAPS = ["gray", "hot", "viridis", "bone", "Blues", "Reds"]
DIVERGING_CMAPS = ["cold_hot", "cyan_black_yellow", "RdBu_r", "coolwarm", "bwr", "seismic"]
REGION_CMAPS = ["regions", "tab20", "Set1"]

_PERCENTILE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


def parse_percentile(value):
    """Return the number in a percentile string such as ``"95%"``, or None if ``value`` is not one."""
    if not isinstance(value, str):
        return None
    match = _PERCENTILE.match(value)
    return float(match.group(1)) if match else None


def map_threshold(value, values):
    """A map's threshold as a number: ``value``, or for ``"95%"`` that percentile of the finite
    non-zero absolute values of ``values``."""
    if value is None:
        return 0.0
    pct = parse_percentile(value)
    if pct is None:
        return float(value)
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.percentile(a, pct)) if a.size else 0.0


def graph_threshold(value, matrix, directed=False):
    """An edge threshold as a number: ``value``, or for ``"95%"`` that percentile of the absolute
    off-diagonal weights (the upper triangle unless ``directed``), zeros included, as in
    nilearn's ``plot_connectome``."""
    if value is None:
        return 0.0
    pct = parse_percentile(value)
    if pct is None:
        return float(value)
    matrix = np.asarray(matrix, dtype=float)
    n = matrix.shape[0]
    if directed:
        weights = np.abs(matrix[~np.eye(n, dtype=bool)])
    else:
        weights = np.abs(matrix[np.triu_indices(n, k=1)])
    return float(np.percentile(weights, pct)) if weights.size else 0.0


class Threshold(TraitType):
    """A threshold: a finite number >= 0, or a percentile of the data's absolute values ("95%")."""

    default_value_type = 0
    info_text = 'a finite number >= 0 or a percentile such as "95%"'

    def __init__(self, default_value=0.0, allow_none=False, **metadata):
        self.allow_none = allow_none
        super().__init__(default_value, **metadata)

    def validate(self, obj, name, value):
        if value is None and self.allow_none:
            return None
        pct = parse_percentile(value)
        if pct is not None:
            if pct > 100:
                self.error(obj, name, value)
            return value.strip()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            self.error(obj, name, value)
        value = float(value)
        if not np.isfinite(value) or value < 0:
            self.error(obj, name, value)
        return value


class Layer(HasStrictTraits):
    """One thing shown in the scene, with its display settings.

    Subclasses add the display traits of their kind; ``data`` holds what is
    drawn. Assigning an attribute a layer does not have raises, naming the
    ones it has.
    """

    #: What the layers panel calls this kind (a label only: kinds are classes).
    label = "layer"

    #: Name shown in the layers panel.
    name = Str()
    #: File the layer was read from ("" for data made in the session).
    path = Str()
    #: Result folder of the job that produced it ("" if none).
    result_folder = Str()
    #: Which output of the result (e.g. "weight_maps/face").
    result_key = Str()
    #: The group the layer belongs to ("" for none): a job's layers share its title.
    group = Str()
    #: Built-in data the layer was made from ("builtin:template", ...), for layers
    #: with no file behind them; sessions reopen them from this.
    source = Str()
    #: The loaded data (a brainviz Volume, Surface list or graph dict).
    data = Any(transient=True)

    visible = Bool(True, display=True)
    opacity = Range(0.0, 1.0, 1.0, display=True)

    #: Fired when the data itself changed (not only a display setting).
    data_changed = Event()

    #: The kind as a trait, for tables.
    kind_label = Property(Str)
    summary_text = Property(Str, observe="name, path, result_folder, source")

    def __setattr__(self, name, value):
        if not name.startswith("_") and self.trait(name) is None:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}; its display settings are "
                f"{', '.join(self.display_trait_names())}")
        super().__setattr__(name, value)

    @classmethod
    def display_trait_names(cls):
        """Names of the display traits of this layer class, base classes' first."""
        traits = cls.class_traits()
        names = []
        for klass in reversed(cls.__mro__):
            for name in getattr(klass, "__class_traits__", {}):
                trait = traits.get(name)
                if trait is not None and trait.display and name not in names and name[0] != "_":
                    names.append(name)
        return names

    def display_settings(self):
        """The display traits and their values, as a dict."""
        return {name: getattr(self, name) for name in self.display_trait_names()}

    def _get_kind_label(self):
        return self.label

    def _get_summary_text(self):
        return self.summary()

    def summary(self):
        """One line describing the layer, for tool tips and logs."""
        if self.path:
            where = self.path
        elif self.result_folder:
            where = f"a job result in {self.result_folder}"
        elif str(self.source).startswith("builtin:"):
            where = "brainviz's built-in demo data"
        else:
            where = "data made in this session"
        return f"{self.name} ({self.label}), from {where}"

    # --- serialisation -------------------------------------------------
    def to_dict(self):
        """Return a JSON-compatible dict: where the data lives + display settings."""
        out = {"type": type(self).__name__, "name": self.name, "path": self.path,
               "source": self.source, "result_folder": self.result_folder,
               "result_key": self.result_key}
        if self.group:
            out["group"] = self.group
        for name, value in self.display_settings().items():
            out[name] = _jsonable(value)
        return out

    def apply_display(self, settings):
        """Set display traits from a dict such as :meth:`to_dict` gives.

        Keys that are not display traits of this layer are ignored; a value the
        trait refuses raises :class:`~brainviz.exceptions.ParameterError` naming
        the layer, the setting and the value.
        """
        from traits.api import TraitError

        from .exceptions import ParameterError

        for name in self.display_trait_names():
            if name not in settings:
                continue
            value = settings[name]
            if isinstance(value, list):
                value = tuple(value)
            try:
                setattr(self, name, value)
            except TraitError:
                raise ParameterError(
                    f"Layer {self.name!r}: {name}={value!r} is not valid; expected "
                    f"{self.trait(name).info()}") from None


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


class VolumeLayer(Layer):
    """A layer backed by a brainviz Volume (a 3D or 4D image)."""

    #: Number of frames (1 for a 3D image).
    n_frames = Int(1)

    def set_volume(self, volume):
        """Attach a :class:`brainviz.data.Volume`."""
        self.data = volume
        self.n_frames = int(getattr(volume, "n_frames", 1) or 1)
        if not self.name:
            self.name = volume.name or self.label
        if not self.path and getattr(volume, "path", None) is not None:
            self.path = str(volume.path)
        self._set_ranges(volume)
        self.data_changed = True
        return self

    def _set_ranges(self, volume):
        pass


class AnatomyLayer(VolumeLayer):
    """An anatomical image drawn as three orthogonal grey-scale slices through the cursor."""

    label = "anatomy"
    cmap = Enum(SEQUENTIAL_CMAPS[0], SEQUENTIAL_CMAPS, display=True)
    #: Grey-scale window; None: a robust window from the data.
    vmin = Union(None, Float, display=True)
    vmax = Union(None, Float, display=True)
    show_slices = Bool(True, display=True)


class SeriesLayer(AnatomyLayer):
    """A 4D series (an fMRI run): one frame at a time on the slices."""

    label = "4D series"
    frame = Int(0, display=True)

    #: Per-volume labels and run ids when known (decoding inputs).
    labels = Any(transient=True)
    runs = Any(transient=True)
    #: Repetition time in seconds (from the header; 0 when unknown).
    tr = Float(0.0)

    frame_high = Property(Int, observe="n_frames")
    #: The frame as the slider shows it: its index and its time.
    frame_time = Property(Str, observe="frame, tr, n_frames")

    def _set_ranges(self, volume):
        self.tr = float(getattr(volume, "tr", None) or 0.0)

    def _get_frame_time(self):
        if self.tr > 0:
            return f"frame {self.frame} of {self.n_frames}, t = {self.frame * self.tr:.1f} s"
        return f"frame {self.frame} of {self.n_frames} (no TR in the header)"

    def _get_frame_high(self):
        return max(self.n_frames - 1, 0)

    @observe("frame, n_frames")
    def _clip_frame(self, event):
        clipped = int(min(max(self.frame, 0), max(self.n_frames - 1, 0)))
        if clipped != self.frame:
            self.frame = clipped


class StatMapLayer(VolumeLayer):
    """A statistical map: a thresholded overlay on the slices, and optional 3D blobs."""

    label = "statistical map"
    cmap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS + SEQUENTIAL_CMAPS, display=True)
    #: |value| >= threshold is shown (value >= threshold when not two-sided).
    threshold = Threshold(0.0, display=True)
    #: Colour range; None: from the data (symmetric: [-max|v|, max|v|]).
    vmin = Union(None, Float, display=True)
    vmax = Union(None, Float, display=True)
    #: Symmetric colour range about 0 (nilearn's ``symmetric_cbar``).
    symmetric = Bool(True, display=True)
    two_sided = Bool(True, display=True)
    show_slices = Bool(True, display=True)
    #: Also draw the thresholded map as 3D isosurfaces ("blobs").
    show_isosurface = Bool(False, display=True)
    isosurface_opacity = Range(0.0, 1.0, 1.0, display=True)
    show_colorbar = Bool(False, display=True)
    colorbar_title = Str(display=True)
    #: A colour map of its own for the negative values ("" for none; e.g. "Blues" under a
    #: "hot" ``cmap``): positive values go from 0 to the top through ``cmap``, negative
    #: ones from 0 to the bottom through ``neg_cmap``.
    neg_cmap = Str(display=True)
    #: The frame shown of a 4D map.
    frame = Int(0, display=True)

    frame_high = Property(Int, observe="n_frames")
    #: The frame as the slider shows it.
    frame_time = Property(Str, observe="frame, n_frames")

    #: Largest |value| (the threshold slider's upper end).
    threshold_high = Float(1.0)
    #: The threshold as a number (a percentile resolved on the data), for sliders; setting
    #: it sets ``threshold``.
    threshold_number = Property(Float, observe="threshold, data_changed")

    def _get_threshold_number(self):
        if self.data is None:
            return float(self.threshold) if parse_percentile(self.threshold) is None else 0.0
        return map_threshold(self.threshold, self.data.get_frame(0))

    def _set_threshold_number(self, value):
        self.threshold = float(value)

    def _get_frame_high(self):
        return max(self.n_frames - 1, 0)

    def _get_frame_time(self):
        return f"frame {self.frame} of {self.n_frames}"

    @observe("frame, n_frames")
    def _clip_frame(self, event):
        clipped = int(min(max(self.frame, 0), max(self.n_frames - 1, 0)))
        if clipped != self.frame:
            self.frame = clipped

    def _set_ranges(self, volume):
        data = volume.get_frame(0)
        finite = np.abs(data[np.isfinite(data)])
        vmax = float(finite.max()) if finite.size else 1.0
        self.threshold_high = vmax if vmax > 0 else 1.0

    @observe("threshold")
    def _widen_range(self, event):
        # the text box accepts any number; the slider range grows to hold it
        if isinstance(self.threshold, float) and self.threshold > self.threshold_high:
            self.threshold_high = self.threshold

    def start_threshold(self):
        """A threshold that hides the weakest 90 % of the non-zero values (the window's start)."""
        data = np.abs(np.asarray(self.data.get_frame(0), dtype=float))
        nonzero = data[np.isfinite(data) & (data > 0)]
        return float(np.percentile(nonzero, 90)) if nonzero.size else 0.0


class MaskLayer(VolumeLayer):
    """A binary mask, drawn in one colour over the slices."""

    label = "mask"
    cmap = Enum("Blues", SEQUENTIAL_CMAPS, display=True)
    opacity = Range(0.0, 1.0, 0.5, display=True)
    show_slices = Bool(True, display=True)


class LabelLayer(VolumeLayer):
    """An integer label image: each region its own colour, with its name when known."""

    label = "label image"
    cmap = Enum(REGION_CMAPS[0], REGION_CMAPS, display=True)
    #: Show one region alone (its label value), or -1 for all.
    region = Int(-1, display=True)
    show_legend = Bool(True, display=True)

    #: Region names: label value -> name (from the label table, if any).
    names = Dict(Int, Str)

    region_ids = Property(List(Int), observe="data_changed")
    #: Region id -> what a region menu shows (-1: "all regions"), each label behind its
    #: place in the menu ("0003:2: DMN"): TraitsUI's EnumEditor sorts a dict's labels as
    #: text and cuts the width of such a prefix from every label. Without one, a name with
    #: a colon ("0: component 0") made it cut two letters from each ("l regions") and put
    #: region 10 before region 2.
    region_choices = Property(Dict, observe="data_changed, names")

    def _get_region_choices(self):
        labels = [(-1, "all regions")] + [
            (rid, f"{rid}: {self.names[rid]}" if rid in self.names else str(rid))
            for rid in self.region_ids]
        width = len(str(len(labels)))
        return {rid: f"{place:0{width}d}:{label}" for place, (rid, label) in enumerate(labels)}

    def to_dict(self):
        out = super().to_dict()
        if self.names and self.path:
            out["names"] = {str(k): v for k, v in self.names.items()}
        return out

    def _get_region_ids(self):
        if self.data is None:
            return []
        values = np.unique(np.asarray(self.data.get_frame(0)))
        return [int(v) for v in values if np.isfinite(v) and v != 0 and v == int(v)]


class ComponentsLayer(LabelLayer):
    """A 4D stack of components (ICA, dictionary learning): one region per component.

    Components are numbered from 0, as in the job's result and
    ``nilearn.image.index_img``; ``region`` shows one alone (-1: all).
    """

    label = "components"
    #: Component values below it are not drawn; None: a third of each component's peak.
    threshold = Union(None, Float, display=True)

    def _get_region_ids(self):
        return list(range(self.n_frames))


class ConnectomeLayer(Layer):
    """A connectome: nodes at mm coordinates and weighted edges.

    ``data`` is a dict with ``matrix`` (n, n), ``coords`` (n, 3) mm,
    ``labels`` (n names) and ``networks`` (n names or None).
    """

    label = "connectome"
    #: Edge colour map (diverging, symmetric range).
    cmap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS, display=True)
    #: Edges with |weight| >= threshold are drawn; "98%" is a percentile of |weights|.
    threshold = Threshold(0.0, display=True)
    #: Edge colour range: [-vmax, vmax]; None: the largest |weight|.
    vmax = Union(None, Float, display=True)
    #: Sphere diameter in mm.
    node_size = Range(0.5, 30.0, 6.0, display=True)
    #: Tube radius (mm) of the strongest edge.
    edge_width = Range(0.05, 10.0, 1.2, display=True)
    edge_mode = Enum("auto", "tube", "line", display=True)
    show_nodes = Bool(True, display=True)
    show_labels = Bool(False, display=True)
    show_legend = Bool(False, display=True)
    #: Whether the window's 2D views draw the graph projected onto them (as nilearn's
    #: ``plot_connectome``), at its place in the layers' stack; the 3D scene always does.
    show_in_2d = Bool(True, display=True)
    #: A highlighted edge ``(i, j)`` or node ``(i, -1)`` (drawn thick and bright with the
    #: nodes' names and the weight, whatever the threshold); ``(-1, -1)``: none. The matrix
    #: view and clicks in the scene set it.
    highlight = Tuple(Int(-1), Int(-1), display=True)

    #: Largest off-diagonal |weight| (the threshold slider's upper end).
    threshold_high = Float(1.0)
    #: Where the node coordinates come from (a file, or an atlas name such as "power"),
    #: when the matrix comes from a file (``path``).
    coords_source = Str()
    #: The threshold as a number (a percentile resolved on the weights), for sliders.
    threshold_number = Property(Float, observe="threshold, data_changed")

    def _get_threshold_number(self):
        if self.data is None:
            return float(self.threshold) if parse_percentile(self.threshold) is None else 0.0
        return graph_threshold(self.threshold, self.data["matrix"])

    def _set_threshold_number(self, value):
        self.threshold = float(value)

    def set_graph(self, matrix, coords, labels=None, networks=None):
        """Attach the graph; checks shapes."""
        from .exceptions import ShapeMismatchError

        matrix = np.asarray(matrix, dtype=float)
        coords = np.asarray(coords, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ShapeMismatchError(
                f"The connectome matrix of layer {self.name!r} must be square; got shape {matrix.shape}.")
        if coords.shape != (matrix.shape[0], 3):
            raise ShapeMismatchError(
                f"The connectome layer {self.name!r} has a {matrix.shape[0]}x{matrix.shape[0]} matrix "
                f"but coordinates of shape {coords.shape}; expected ({matrix.shape[0]}, 3).")
        if labels is None:
            labels = [f"node {i}" for i in range(matrix.shape[0])]
        self.data = {"matrix": matrix, "coords": coords, "labels": [str(v) for v in labels],
                     "networks": None if networks is None else [str(v) for v in networks]}
        off = np.abs(matrix[~np.eye(matrix.shape[0], dtype=bool)])
        off = off[np.isfinite(off)]
        self.threshold_high = float(off.max()) if off.size and off.max() > 0 else 1.0
        if not self.name:
            self.name = self.label
        self.data_changed = True
        return self

    def to_dict(self):
        out = super().to_dict()
        if self.coords_source:
            out["coords_source"] = self.coords_source
        # a graph with no file behind it (made in the shell) is stored inline
        if not self.path and not self.result_folder and not self.source and self.data is not None:
            out["matrix"] = np.asarray(self.data["matrix"]).tolist()
            out["coords"] = np.asarray(self.data["coords"]).tolist()
            out["labels"] = list(self.data["labels"])
            if self.data.get("networks") is not None:
                out["networks"] = list(self.data["networks"])
        return out


class SurfaceLayer(Layer):
    """A cortical mesh (one or more parts, e.g. two hemispheres) with per-vertex values.

    ``data`` is a list of :class:`brainviz.data.Surface`: each holds the
    vertices of one or more named geometries of the same mesh (``"pial"``,
    ``"inflated"``...), its faces, optional per-vertex ``values`` and an
    optional ``sulc`` array for shading.
    """

    label = "surface"
    cmap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS + SEQUENTIAL_CMAPS, display=True)
    threshold = Threshold(0.0, display=True)
    vmin = Union(None, Float, display=True)
    vmax = Union(None, Float, display=True)
    symmetric = Bool(True, display=True)
    two_sided = Bool(True, display=True)
    #: Which geometry is drawn, among those every part has ("" for the first).
    mesh = Str(display=True)
    #: Opacity of the whole surface (``opacity`` is the map's, over the shading).
    surface_opacity = Range(0.0, 1.0, 1.0, display=True)
    show_colorbar = Bool(False, display=True)
    colorbar_title = Str(display=True)

    #: Geometry names every part has (for the mesh choice).
    mesh_names = List(Str)
    threshold_high = Float(1.0)
    #: The per-vertex data file, or the volume projected onto the mesh ("" if none).
    values_path = Str()
    #: fsaverage5 only: the hemispheres drawn ("both", "left", "right").
    hemi = Str("both")
    #: The threshold as a number (a percentile resolved on the values), for sliders.
    threshold_number = Property(Float, observe="threshold, data_changed")

    def _get_threshold_number(self):
        values = [p.values for p in self.data or [] if p.values is not None]
        return map_threshold(self.threshold, np.concatenate(values) if values else [])

    def _set_threshold_number(self, value):
        self.threshold = float(value)

    def to_dict(self):
        out = super().to_dict()
        out.update(values_path=self.values_path, hemi=self.hemi)
        return out

    def set_surfaces(self, parts):
        """Attach a list of :class:`brainviz.data.Surface` (one per hemisphere or piece)."""
        parts = list(parts)
        if not parts:
            from .exceptions import ParameterError

            raise ParameterError(f"The surface layer {self.name!r} needs at least one mesh.")
        names = [set(p.geometries) for p in parts]
        common = [n for n in parts[0].geometries if all(n in s for s in names)]
        self.data = parts
        self.mesh_names = common
        if self.mesh not in common:
            self.mesh = common[0] if common else ""
        values = [np.asarray(p.values, float) for p in parts if p.values is not None]
        finite = np.abs(np.concatenate([v[np.isfinite(v)] for v in values])) if values else np.zeros(0)
        self.threshold_high = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        if not self.name:
            self.name = parts[0].name or self.label
        self.data_changed = True
        return self


class GlassBrainLayer(Layer):
    """A translucent brain outline, with a statistical map drawn inside as blobs (optional)."""

    label = "glass brain"
    opacity = Range(0.0, 1.0, 0.15, display=True)
    color = Tuple(Float(0.55), Float(0.55), Float(0.6), display=True)
    #: An isosurface of the MNI152 brain mask (the whole brain: cerebellum and brainstem
    #: included) or the fsaverage5 pial meshes (the cortex only).
    shell = Enum("mask", "pial", display=True)
    #: The blobs (only with a map in ``data``): threshold, colour map, range, colour bar.
    threshold = Threshold(None, allow_none=True, display=True)
    cmap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS + SEQUENTIAL_CMAPS, display=True)
    vmax = Union(None, Float, display=True)
    show_colorbar = Bool(False, display=True)
    colorbar_title = Str(display=True)

    def set_volume(self, volume):
        """Attach the map drawn inside (a 3D :class:`brainviz.data.Volume`), or None."""
        self.data = volume
        if not self.name:
            self.name = f"glass brain: {volume.name}" if volume is not None and volume.name \
                else self.label
        self.data_changed = True
        return self


#: Layer class name -> class (for session files: kinds are classes, not labels).
LAYER_TYPES = {cls.__name__: cls for cls in (
    AnatomyLayer, SeriesLayer, StatMapLayer, MaskLayer, LabelLayer, ComponentsLayer,
    ConnectomeLayer, SurfaceLayer, GlassBrainLayer)}

# Session files of version 1 named kinds by their labels.
_V1_KINDS = {"anatomy": "AnatomyLayer", "statistical map": "StatMapLayer",
             "4D series": "SeriesLayer", "label image": "LabelLayer", "mask": "MaskLayer",
             "components": "ComponentsLayer", "connectome": "ConnectomeLayer"}


def layer_class(type_name):
    """Return the :class:`Layer` subclass called ``type_name`` ("StatMapLayer", ...).

    The labels of session files written by brainviz 0.1 ("statistical map", ...)
    are accepted too.
    """
    name = _V1_KINDS.get(type_name, type_name)
    try:
        return LAYER_TYPES[name]
    except (KeyError, TypeError):
        from .exceptions import ParameterError

        raise ParameterError(
            f"Unknown layer type {type_name!r}; expected one of {sorted(LAYER_TYPES)}.") from None


def layer_from_volume(volume, layer_type=None, name=None, **traits):
    """Make the layer that fits ``volume``: ``layer_type`` (a Layer class or its name), or the
    volume's own guess (anatomy, statistical map, 4D series, label image, mask)."""
    if layer_type is None:
        guess = getattr(volume, "kind", None) or "anatomy"
        layer_type = _V1_KINDS.get(guess, "AnatomyLayer")
    cls = layer_type if isinstance(layer_type, type) else layer_class(layer_type)
    if not issubclass(cls, (VolumeLayer, GlassBrainLayer)):
        from .exceptions import ParameterError

        raise ParameterError(f"A volume cannot be shown as a {cls.label} layer.")
    layer = cls(name=name or "", **traits)
    layer.set_volume(volume)
    return layer


class JobState(HasTraits):
    """A job submitted from the window: parameters, progress, log and result."""

    #: "decoding", "searchlight", "regions" or "connectivity".
    kind = Enum("decoding", "searchlight", "regions", "connectivity")
    #: Short title for the job list.
    title = Str()
    #: Job parameters (JSON-compatible: what the form held).
    params = Dict()
    #: Names of the input layers or files.
    inputs = List(Str)
    state = Enum("queued", "running", "done", "failed", "cancelled")
    progress = Range(0.0, 1.0, 0.0)
    #: Progress in whole percent, for progress bars.
    percent = Property(Int, observe="progress")
    message = Str()
    log = Str()
    started = Float(0.0)
    finished = Float(0.0)
    #: Seconds since start (or total when finished); refreshed by the window's timer.
    elapsed = Property(Float, observe="started, finished, _tick")
    #: Seconds a running job has left, estimated from its progress so far at its pace so
    #: far (None until it has run 10 s and done 5 %, and once it is not running: before,
    #: a first step's slow start says little of the rest).
    remaining = Property(observe="progress, state, started, cancelling, _tick")
    #: True once a cancel was asked (the job stops at its next step: nothing is left)
    cancelling = Bool(False)
    _tick = Event()
    #: True once every layer made from the result is in the session.
    shown = Bool(False)
    #: True when the result came from the cache (nothing recomputed).
    from_cache = Bool(False)
    #: One line of what the job found (mean score and chance, edges kept, regions), when done.
    headline = Str()
    #: The result object and where it was saved.
    result = Any(transient=True)
    result_folder = Str()
    traceback = Str()
    #: The runner's handle (cancel() goes through it).
    handle = Any(transient=True)

    def _get_percent(self):
        return int(round(100 * self.progress))

    def _get_elapsed(self):
        if not self.started:
            return 0.0
        end = self.finished or time.time()
        return max(0.0, end - self.started)

    def _get_remaining(self):
        if self.state != "running" or not self.started or self.cancelling:
            return None
        done, spent = self.progress, self.elapsed
        if done < 0.05 or done >= 1.0 or spent < 10.0:
            return None
        return spent * (1.0 - done) / done

    def tick(self):
        """Refresh ``elapsed`` (called periodically by the window)."""
        self._tick = True

    def add_log(self, line):
        self.log = (self.log + "\n" + line) if self.log else line

    @property
    def active(self):
        return self.state in ("queued", "running")

    def to_dict(self):
        return {"kind": self.kind, "title": self.title, "params": dict(self.params),
                "inputs": list(self.inputs), "state": self.state,
                "result_folder": self.result_folder, "from_cache": self.from_cache,
                "headline": self.headline}


def time_left(seconds):
    """``seconds`` left as a person says it: "less than a minute left", "about 9 min
    left", "about 2.5 h left" (whole minutes up to 90: the estimate moves less than the
    seconds would)."""
    if seconds < 60:
        return "less than a minute left"
    if seconds < 90 * 60:
        return f"about {max(1, round(seconds / 60))} min left"
    return f"about {seconds / 3600:.1f} h left"


def _finite_point(value):
    point = tuple(float(v) for v in value)
    if len(point) != 3 or not all(np.isfinite(point)):
        from .exceptions import ParameterError

        raise ParameterError(f"The cursor must be three finite numbers (x, y, z in mm); got {value!r}")
    return point


class Session(HasTraits):
    """Everything a scene shows: layers (drawn in order), the cursor and the camera."""

    layers = List(Instance(Layer))
    jobs = List(Instance(JobState))
    #: World position (mm, RAS+) of the cursor: every slice passes through it.
    cursor = Tuple(0.0, 0.0, 0.0)
    #: Camera as a JSON-compatible dict (position, focal_point, view_up, view_angle...);
    #: empty: the scene picks its default view.
    camera = Dict()
    #: A title drawn at the top of the scene ("" for none).
    title = Str()
    #: What a decoding result's confusion matrix shows in the result view: the counts, or
    #: each class's share of its true class, of its predictions or of all (scikit-learn's
    #: ``normalize``: "true", "pred", "all"; ``brainviz decode --confusion`` says the same).
    confusion = Enum("counts", "true", "pred", "all")
    #: The session file this was last saved to or read from.
    path = Str()

    def move_cursor(self, xyz):
        """Set :attr:`cursor` to ``xyz`` (mm), checked to be three finite numbers."""
        self.cursor = _finite_point(xyz)

    def add_layer(self, layer, index=None):
        """Add ``layer`` (its name made unique) at the end, or at ``index``; return it."""
        names = {lay.name for lay in self.layers}
        base, i = layer.name or layer.label, 2
        name = base
        while name in names:
            name = f"{base} ({i})"
            i += 1
        layer.name = name
        if index is None:
            self.layers.append(layer)
        else:
            self.layers.insert(index, layer)
        return layer

    def remove_layer(self, layer):
        """Remove ``layer`` (a Layer or its name)."""
        layer = self.get_layer(layer) if isinstance(layer, str) else layer
        self.layers.remove(layer)

    def get_layer(self, name):
        """Return the layer called ``name``; KeyError lists the names."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"No layer named {name!r}; layers are {[lay.name for lay in self.layers]}.")

    def layers_of_type(self, *classes):
        """The layers that are instances of any of ``classes``, in order."""
        return [lay for lay in self.layers if isinstance(lay, classes)]

    def to_dict(self):
        """Return the session as a JSON-compatible dict."""
        return {
            "format": "brainviz-session",
            "version": 2,
            "layers": [lay.to_dict() for lay in self.layers],
            "jobs": [job.to_dict() for job in self.jobs if not job.active],
            "cursor": list(self.cursor),
            "camera": dict(self.camera),
            "title": self.title,
            "views": {"confusion": self.confusion},
        }


def find_missing_files(session_dict):
    """Return the files and folders a session dict refers to that do not exist."""
    missing = []
    for lay in session_dict.get("layers", []):
        for key in ("path", "result_folder"):
            value = lay.get(key)
            if value and not Path(value).exists():
                missing.append(value)
    return missing
