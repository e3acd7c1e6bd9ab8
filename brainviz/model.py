"""Application state as traits: the session, its layers and its jobs.

Nothing here draws or imports Qt: the window (:mod:`brainviz.gui`) observes
these objects and keeps the Mayavi scene in step with them, so the same
session can be driven from a test, the shell or the window.

A :class:`Session` holds an ordered list of layers (one subclass of
:class:`Layer` per kind of data) and a list of :class:`JobState` records.
Every layer and job serialises to plain JSON (:meth:`Layer.to_dict`,
:meth:`Session.to_dict`): sessions are never pickled.
"""
import time
from pathlib import Path

import numpy as np
from traits.api import (
    Any, Bool, Dict, Enum, Event, Float, HasTraits, Instance, Int, List, Property,
    Range, Str, Tuple, observe,
)

__all__ = [
    "LAYER_KINDS",
    "Layer",
    "AnatomyLayer",
    "StatMapLayer",
    "SeriesLayer",
    "LabelLayer",
    "MaskLayer",
    "ComponentsLayer",
    "ConnectomeLayer",
    "JobState",
    "Session",
    "layer_class_for_kind",
    "layer_from_volume",
]

#: Colour maps offered for each kind, first one is the default.
SEQUENTIAL_CMAPS = ["gray", "hot", "viridis", "bone", "Blues", "Reds"]
DIVERGING_CMAPS = ["cold_hot", "RdBu_r", "coolwarm", "bwr", "seismic"]
REGION_CMAPS = ["regions", "tab20", "Set1"]


class Layer(HasTraits):
    """One thing shown in the scene, with its display settings.

    Display traits (``visible``, ``opacity``, ``colormap``, ``threshold``,
    ``frame``) are what the window binds to the scene visual; changing one
    restyles the visual in place.
    """

    #: Kind shown in the layers panel (class constant).
    kind = "anatomy"

    #: Name shown in the layers panel.
    name = Str()
    #: File the layer was read from ("" for generated data).
    path = Str()
    #: Result folder of the job that produced it ("" if none).
    result_folder = Str()
    #: Which output of the result (e.g. "weight_maps/face").
    result_key = Str()
    #: Built-in data the layer was made from ("builtin:template", ...), for layers
    #: with no file behind them; sessions reopen them from this.
    source = Str()
    #: The loaded data: a brainviz Volume, or a dict for connectomes.
    data = Any(transient=True)

    visible = Bool(True)
    opacity = Range(0.0, 1.0, 1.0)
    colormap = Enum(SEQUENTIAL_CMAPS[0], SEQUENTIAL_CMAPS + DIVERGING_CMAPS + REGION_CMAPS)

    #: Lower and upper limits of the threshold slider (set from the data).
    threshold_low = Float(0.0)
    threshold_high = Float(1.0)
    #: Display threshold (|value| >= threshold is shown for maps).
    threshold = Float(0.0)
    #: Whether this kind of layer has a threshold at all.
    has_threshold = Bool(False)

    #: Frame index for 4D data, and the number of frames.
    n_frames = Int(1)
    frame = Int(0)

    #: Connectome only: edge threshold as a percentile string ("95%") when not
    #: empty (it overrides ``threshold`` until the slider moves), and node size.
    edge_percentile = Str()
    node_size = Range(0.5, 20.0, 6.0)
    #: Statistical maps only: also draw the thresholded map as 3D isosurfaces ("blobs"),
    #: and draw the map's colour bar in the scene.
    show_isosurface = Bool(False)
    show_colorbar = Bool(False)

    #: Fired when the data itself changed (not only a display setting).
    data_changed = Event()

    #: Display settings written to session files.
    _display_traits = ("visible", "opacity", "colormap", "threshold", "frame")

    #: Read-only helpers for views: the kind as a trait, the frame slider range, a summary.
    kind_label = Property(Str, observe="name")
    frame_low = Property(Int, observe="n_frames")
    frame_high = Property(Int, observe="n_frames")
    summary_text = Property(Str, observe="name, path, result_folder, source")

    def _get_kind_label(self):
        return self.kind

    def _get_frame_low(self):
        return 0

    def _get_frame_high(self):
        return max(self.n_frames - 1, 0)

    def _get_summary_text(self):
        return self.summary()

    @observe("frame")
    def _clip_frame(self, event):
        clipped = int(min(max(self.frame, 0), max(self.n_frames - 1, 0)))
        if clipped != self.frame:
            self.frame = clipped

    @observe("threshold")
    def _clip_threshold(self, event):
        # the text box accepts any number; the slider range grows to hold it
        if self.threshold > self.threshold_high:
            self.threshold_high = self.threshold
        if self.threshold < self.threshold_low:
            self.threshold_low = self.threshold

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
        return f"{self.name} ({self.kind}), from {where}"

    # --- serialisation -------------------------------------------------
    def to_dict(self):
        """Return a JSON-compatible dict: where the data lives + display settings."""
        out = {"kind": self.kind, "name": self.name, "path": self.path, "source": self.source,
               "result_folder": self.result_folder, "result_key": self.result_key}
        for name in self._display_traits:
            out[name] = getattr(self, name)
        return out

    def apply_display(self, settings):
        """Set display traits from a dict such as :meth:`to_dict` gives (unknown keys ignored)."""
        for name in self._display_traits:
            if name in settings and settings[name] is not None:
                value = settings[name]
                if name == "colormap" and value not in self.trait("colormap").handler.values:
                    continue
                setattr(self, name, value)


class _VolumeLayer(Layer):
    """A layer backed by a brainviz Volume."""

    def set_volume(self, volume):
        """Attach a :class:`brainviz.data.Volume` and set ranges from its values."""
        self.data = volume
        self.n_frames = int(getattr(volume, "n_frames", 1) or 1)
        if not self.name:
            self.name = volume.name or "volume"
        if not self.path and getattr(volume, "path", None) is not None:
            self.path = str(volume.path)
        self._set_ranges(volume)
        self.data_changed = True

    def _set_ranges(self, volume):
        pass


class AnatomyLayer(_VolumeLayer):
    """An anatomical image drawn as grey-scale orthogonal slices."""

    kind = "anatomy"


class StatMapLayer(_VolumeLayer):
    """A statistical map: thresholded two-sided overlay on a diverging colour map."""

    kind = "statistical map"
    colormap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS + SEQUENTIAL_CMAPS)
    has_threshold = Bool(True)
    _display_traits = Layer._display_traits + ("show_isosurface", "show_colorbar")

    def _set_ranges(self, volume):
        data = volume.get_frame(0)
        finite = np.abs(data[np.isfinite(data)])
        vmax = float(finite.max()) if finite.size else 1.0
        self.threshold_low = 0.0
        self.threshold_high = vmax if vmax > 0 else 1.0
        if self.threshold == 0.0 and finite.size:
            # a sensible start: hide the weakest 90 % of non-zero values
            nonzero = finite[finite > 0]
            if nonzero.size:
                self.threshold = float(np.percentile(nonzero, 90))


class SeriesLayer(StatMapLayer):
    """A 4D series (fMRI run): one frame at a time, chosen by the frame slider."""

    kind = "4D series"
    colormap = Enum(SEQUENTIAL_CMAPS[0], SEQUENTIAL_CMAPS + DIVERGING_CMAPS)
    has_threshold = Bool(False)

    #: Per-volume labels and run ids when known (decoding inputs).
    labels = Any(transient=True)
    runs = Any(transient=True)


class LabelLayer(_VolumeLayer):
    """An integer label image: each region in its own colour."""

    kind = "label image"
    colormap = Enum(REGION_CMAPS[0], REGION_CMAPS)


class MaskLayer(_VolumeLayer):
    """A binary mask."""

    kind = "mask"
    colormap = Enum("Blues", SEQUENTIAL_CMAPS)
    opacity = Range(0.0, 1.0, 0.5)


class ComponentsLayer(_VolumeLayer):
    """A 4D stack of components (ICA, dictionary learning): one region per frame."""

    kind = "components"
    colormap = Enum(REGION_CMAPS[0], REGION_CMAPS)
    # each component is cut at a third of its own peak by the visual: no global slider
    #: -1 shows all components, otherwise the frame index shown alone.
    frame = Int(-1)

    def _get_frame_low(self):
        return -1

    @observe("frame")
    def _clip_frame(self, event):
        clipped = int(min(max(self.frame, -1), self.n_frames - 1))
        if clipped != self.frame:
            self.frame = clipped



class ConnectomeLayer(Layer):
    """A connectome: nodes at mm coordinates and weighted edges.

    ``data`` is a dict with ``matrix`` (n, n), ``coords`` (n, 3) mm and
    ``labels`` (n names). ``threshold`` is the edge threshold on |weight|.
    """

    kind = "connectome"
    colormap = Enum(DIVERGING_CMAPS[0], DIVERGING_CMAPS)
    has_threshold = Bool(True)
    _display_traits = Layer._display_traits + ("edge_percentile", "node_size")

    def set_graph(self, matrix, coords, labels=None, networks=None):
        """Attach the graph; checks shapes and sets the threshold range."""
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
        self.data = {"matrix": matrix, "coords": coords, "labels": list(labels),
                     "networks": None if networks is None else list(networks)}
        off = np.abs(matrix[~np.eye(matrix.shape[0], dtype=bool)])
        off = off[np.isfinite(off)]
        self.threshold_low = 0.0
        self.threshold_high = float(off.max()) if off.size and off.max() > 0 else 1.0
        if self.threshold == 0.0 and off.size:
            self.threshold = float(np.percentile(off, 80))
        self.data_changed = True

    def to_dict(self):
        out = super().to_dict()
        # a graph with no file behind it (demo, job result without a folder) is stored inline
        if not self.path and not self.result_folder and not self.source and self.data is not None:
            out["matrix"] = np.asarray(self.data["matrix"]).tolist()
            out["coords"] = np.asarray(self.data["coords"]).tolist()
            out["labels"] = list(self.data["labels"])
            if self.data.get("networks") is not None:
                out["networks"] = list(self.data["networks"])
        return out


_KIND_CLASSES = {cls.kind: cls for cls in (
    AnatomyLayer, StatMapLayer, SeriesLayer, LabelLayer, MaskLayer, ComponentsLayer, ConnectomeLayer)}

#: All layer kinds, in panel order.
LAYER_KINDS = tuple(_KIND_CLASSES)


def layer_class_for_kind(kind):
    """Return the :class:`Layer` subclass for ``kind`` ("anatomy", "statistical map", ...)."""
    try:
        return _KIND_CLASSES[kind]
    except KeyError:
        from .exceptions import ParameterError

        raise ParameterError(
            f"Unknown layer kind {kind!r}; expected one of {sorted(_KIND_CLASSES)}.") from None


def layer_from_volume(volume, kind=None, name=None, **traits):
    """Make the layer that fits ``volume`` (its ``kind`` unless ``kind`` is given)."""
    kind = kind or getattr(volume, "kind", None) or "anatomy"
    cls = layer_class_for_kind(kind)
    if cls is ConnectomeLayer:
        from .exceptions import ParameterError

        raise ParameterError("A volume cannot be shown as a connectome layer.")
    layer = cls(name=name or "", **traits)
    layer.set_volume(volume)
    return layer


class JobState(HasTraits):
    """A job submitted from the window: parameters, progress, log and result."""

    #: "decoding", "regions" or "connectivity".
    kind = Enum("decoding", "regions", "connectivity")
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
    _tick = Event()
    #: True once every layer made from the result is in the session.
    shown = Bool(False)
    #: True when the result came from the cache (nothing recomputed).
    from_cache = Bool(False)
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
                "result_folder": self.result_folder, "from_cache": self.from_cache}


class Session(HasTraits):
    """Everything the window shows: layers, jobs, cursor and camera."""

    layers = List(Instance(Layer))
    jobs = List(Instance(JobState))
    #: World position (mm) of the cursor.
    cursor = Tuple(0.0, 0.0, 0.0)
    #: Camera as a JSON-compatible dict (position, focal_point, view_up, view_angle...).
    camera = Dict()
    #: The session file this was last saved to or read from.
    path = Str()

    def add_layer(self, layer):
        """Append ``layer`` (name made unique) and return it."""
        names = {lay.name for lay in self.layers}
        base, i = layer.name or layer.kind, 2
        name = base
        while name in names:
            name = f"{base} ({i})"
            i += 1
        layer.name = name
        self.layers.append(layer)
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

    def layers_of_kind(self, *kinds):
        return [lay for lay in self.layers if lay.kind in kinds]

    def to_dict(self):
        """Return the session as a JSON-compatible dict."""
        return {
            "format": "brainviz-session",
            "version": 1,
            "layers": [lay.to_dict() for lay in self.layers],
            "jobs": [job.to_dict() for job in self.jobs if not job.active],
            "cursor": list(self.cursor),
            "camera": dict(self.camera),
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
