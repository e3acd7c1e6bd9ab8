"""Open files into layers, build the demo session, save and reopen sessions (JSON).

No Qt here: the window, drag and drop, the recent-files list, the command
line and the tests all open files through :func:`open_path`, and sessions go
through :func:`save_session` / :func:`read_session`. Sessions are JSON, never
pickles; a session whose files moved opens what it can and names the rest.
"""
import json
import os
from pathlib import Path

import numpy as np

from ..exceptions import ImageFileError, ResultError, UnsupportedFormatError
from ..model import (
    ComponentsLayer, ConnectomeLayer, JobState, Session, find_missing_files,
    layer_class_for_kind, layer_from_volume,
)

__all__ = [
    "open_path",
    "layers_from_result",
    "make_demo_session",
    "save_session",
    "read_session",
    "SessionFileError",
    "recent_files",
    "add_recent_file",
]

SESSION_SUFFIX = ".json"
_VOLUME_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".mgh", ".mgz")


class SessionFileError(ResultError):
    """A session file cannot be read, or some of its files are gone."""

    def __init__(self, message, missing=()):
        super().__init__(message)
        self.missing = list(missing)


def _is_volume_path(path):
    name = path.name.lower()
    return any(name.endswith(s) for s in _VOLUME_SUFFIXES)


def open_path(path, kind=None):
    """Return the layers read from ``path``: a volume, or a saved job result folder.

    Parameters
    ----------
    path : str or Path
        A brain image (NIfTI, Analyze, MGH) or a result folder written by a job.
    kind : str, default=None
        Force the layer kind ("anatomy", "statistical map", ...); by default
        the volume's own guess.

    Returns
    -------
    list of Layer
    """
    from ..data import load_volume

    path = Path(path).expanduser()
    if path.is_dir():
        from ..backend import load_result

        result = load_result(path)
        return layers_from_result(result, folder=str(path))
    if path.exists() and not path.is_dir() and not _is_volume_path(path):
        raise UnsupportedFormatError(
            f"Cannot open {path.name}: expected a brain image ({', '.join(_VOLUME_SUFFIXES)}) "
            "or a job result folder.")
    volume = load_volume(path)
    # read the values once now, so a corrupt body fails here and not while drawing
    volume.get_frame(0)
    return [layer_from_volume(volume, kind=kind)]


def _volume(img, name):
    from ..data import load_volume

    return load_volume(img, name=name)


def layers_from_result(result, folder="", title=""):
    """Turn a job result into layers (weight maps, components, connectome)."""
    layers = []
    prefix = f"{title}: " if title else ""
    weight_maps = getattr(result, "weight_maps_", None)
    if weight_maps:
        for cls_name, img in weight_maps.items():
            layer = layer_from_volume(_volume(img, f"{prefix}weights {cls_name}"),
                                      kind="statistical map", result_folder=folder,
                                      result_key=f"weight_maps/{cls_name}")
            layers.append(layer)
    components = getattr(result, "components_img_", None)
    if components is not None:
        vol = _volume(components, f"{prefix}components")
        layer = ComponentsLayer(result_folder=folder, result_key="components_img")
        layer.set_volume(vol)
        layers.append(layer)
    matrix = getattr(result, "matrix_", None)
    if matrix is None:
        matrix = getattr(result, "matrix", None)
    coords = getattr(result, "coords_", getattr(result, "coords", None))
    if matrix is not None and coords is not None:
        matrix = np.asarray(matrix)
        if matrix.ndim == 3:  # one matrix per subject: show the mean
            matrix = matrix.mean(axis=0)
        labels = getattr(result, "labels_", getattr(result, "labels", None))
        layer = ConnectomeLayer(name=f"{prefix}connectome", result_folder=folder, result_key="matrix")
        layer.set_graph(matrix, coords, labels)
        layers.append(layer)
    for layer in layers:
        # a result is found again through its folder and key, never through the
        # (temporary) file names its images were written under
        layer.path = ""
    return layers


def make_demo_session(cache=True):
    """The built-in demo: MNI template, the sample motor map (3D blobs) and a demo connectome.

    The same scene as ``brainviz render --demo --demo-connectome`` (both take it from
    :func:`brainviz.scene.compose.demo_scene_kwargs`): the template's slices, nilearn's
    motor activation map thresholded with its isosurfaces, and a seeded graph on the
    Dosenbach 2010 nodes, coloured by network.

    Parameters
    ----------
    cache : bool, default=True
        Keep a copy of the demo's arrays in the demo-data folder, so the next start
        reads three small files instead of importing nilearn and resampling the
        template (the window opens seconds sooner). The arrays are the same.
    """
    from ..model import AnatomyLayer, StatMapLayer

    parts = _read_demo_cache() if cache else None
    if parts is None:
        parts = _demo_parts()
        if cache:
            _write_demo_cache(parts)
    template_vol, motor_vol, graph_kwargs, threshold = parts
    session = Session()
    template = AnatomyLayer(name="MNI152 template", source="builtin:template")
    template.set_volume(template_vol)
    template.path = ""  # rebuilt from its source, never from the cache file
    session.add_layer(template)
    motor = StatMapLayer(name="motor activation", source="builtin:motor_activation")
    motor.set_volume(motor_vol)
    motor.threshold = threshold
    motor.show_isosurface = True
    session.add_layer(motor)
    graph = ConnectomeLayer(name="demo connectome", source="builtin:demo_connectome")
    graph.set_graph(graph_kwargs["matrix"], graph_kwargs["coords"], graph_kwargs["labels"],
                    networks=graph_kwargs["networks"])
    graph.edge_percentile = graph_kwargs["edge_threshold"]
    session.add_layer(graph)
    return session


_DEMO_CACHE_VERSION = 1


def _demo_cache_dir():
    from .._config import get_data_dir

    return get_data_dir() / f"window_demo_v{_DEMO_CACHE_VERSION}"


def _demo_parts():
    from ..data import load_template
    from ..scene.compose import demo_scene_kwargs

    kwargs = demo_scene_kwargs(connectome=True)
    graph = {"matrix": np.asarray(kwargs["matrix"], dtype=float),
             "coords": np.asarray(kwargs["coords"], dtype=float),
             "labels": [str(v) for v in (kwargs.get("labels") or [])] or None,
             "networks": None if kwargs.get("networks") is None else [str(v) for v in kwargs["networks"]],
             "edge_threshold": str(kwargs.get("edge_threshold") or "")}
    return load_template(), kwargs["stat_map"], graph, float(kwargs["threshold"])


def _write_demo_cache(parts):
    """Best effort: a failure only means the next start is as slow as this one."""
    template_vol, motor_vol, graph, threshold = parts
    folder = _demo_cache_dir()
    try:
        import nibabel as nib

        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".template.nii.gz"
        nib.save(nib.Nifti1Image(np.asarray(template_vol.get_data(), dtype=np.float32),
                                 template_vol.affine), tmp)
        os.replace(tmp, folder / "template.nii.gz")
        np.savez(folder / ".graph.npz", matrix=graph["matrix"], coords=graph["coords"])
        os.replace(folder / ".graph.npz", folder / "graph.npz")
        meta = {"motor_path": str(motor_vol.path) if motor_vol.path else "",
                "labels": graph["labels"], "networks": graph["networks"],
                "edge_threshold": graph["edge_threshold"], "threshold": threshold,
                "template_name": template_vol.name}
        (folder / ".demo.json").write_text(json.dumps(meta))
        os.replace(folder / ".demo.json", folder / "demo.json")
    except OSError:
        pass


def _read_demo_cache():
    folder = _demo_cache_dir()
    try:
        meta = json.loads((folder / "demo.json").read_text())
        if not meta.get("motor_path") or not Path(meta["motor_path"]).is_file():
            return None
        from ..data import load_volume

        template = load_volume(folder / "template.nii.gz", name=meta.get("template_name"))
        motor = load_volume(meta["motor_path"], name="motor activation")
        with np.load(folder / "graph.npz") as arrays:
            graph = {"matrix": arrays["matrix"], "coords": arrays["coords"]}
        graph.update(labels=meta["labels"], networks=meta["networks"],
                     edge_threshold=meta["edge_threshold"])
        return template, motor, graph, float(meta["threshold"])
    except Exception:  # a missing or damaged cache is rebuilt
        return None


# --- session files -------------------------------------------------------------------
def save_session(session, path):
    """Write ``session`` as JSON to ``path`` (via a temporary file); return the Path."""
    path = Path(path).expanduser()
    if path.suffix.lower() != SESSION_SUFFIX:
        path = path.with_name(path.name + SESSION_SUFFIX)
    text = json.dumps(session.to_dict(), indent=2, default=_json_default)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    session.path = str(path)
    return path


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_session(path):
    """Read a session file; return ``(session, missing)``.

    ``missing`` lists the files and folders the session refers to that no
    longer exist; their layers are left out and everything else is opened.
    """
    path = Path(path).expanduser()
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise SessionFileError(f"Session file {path} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise SessionFileError(f"Cannot read session file {path.name}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != "brainviz-session":
        raise SessionFileError(
            f"{path.name} is not a brainviz session file (no \"format\": \"brainviz-session\").")
    missing = find_missing_files(doc)
    session = Session(path=str(path))
    results = {}
    for entry in doc.get("layers", []):
        if any(entry.get(k) in missing for k in ("path", "result_folder") if entry.get(k)):
            continue
        layer = _layer_from_entry(entry, results)
        if layer is None:
            continue
        layer.apply_display(entry)
        session.add_layer(layer)
    for job in doc.get("jobs", []):
        state = JobState(kind=job.get("kind", "decoding"), title=job.get("title", ""),
                         params=job.get("params", {}), inputs=job.get("inputs", []),
                         state=job.get("state", "done") if job.get("state") in
                         ("done", "failed", "cancelled") else "done",
                         result_folder=job.get("result_folder", ""),
                         from_cache=bool(job.get("from_cache", False)))
        session.jobs.append(state)
    cursor = doc.get("cursor")
    if cursor and len(cursor) == 3:
        session.cursor = tuple(float(c) for c in cursor)
    session.camera = dict(doc.get("camera") or {})
    return session, missing


def _builtin_volume(source):
    """The data of a built-in layer source; (volume, extra layer traits)."""
    from .. import data

    if source == "builtin:template":
        return data.load_template(), {}
    if source == "builtin:brain_mask":
        return data.load_brain_mask(), {}
    if source == "builtin:motor_activation":
        return data.load_motor_activation(), {}
    if source in ("builtin:decoding_demo", "builtin:decoding_demo_mask"):
        demo = data.make_decoding_demo()  # cached on disk: quick after the first time
        if source.endswith("_mask"):
            return data.load_volume(demo.mask, name="decoding demo mask"), {}
        return (data.load_volume(demo.img, name="decoding demo"),
                {"labels": list(demo.labels), "runs": list(demo.runs)})
    if source.startswith("builtin:rest_subject_"):
        k = int(source.rsplit("_", 1)[1])
        demo = data.make_resting_state_demo()
        return data.load_volume(demo.imgs[k - 1], name=f"rest subject {k}"), {}
    return None, {}


def _layer_from_entry(entry, results):
    kind = entry.get("kind", "anatomy")
    name = entry.get("name", "")
    source = entry.get("source") or ""
    if source == "builtin:demo_connectome":
        from ..scene.compose import demo_scene_kwargs

        kwargs = demo_scene_kwargs(connectome=True)
        layer = ConnectomeLayer(name=name, source=source)
        layer.set_graph(kwargs["matrix"], kwargs["coords"], kwargs.get("labels"),
                        networks=kwargs.get("networks"))
        return layer
    volume, extra = _builtin_volume(source) if source.startswith("builtin:") else (None, {})
    if volume is not None:
        # built-in data is made again (it carries labels and runs a file does not)
        layer = layer_class_for_kind(kind)(name=name, source=source)
        layer.set_volume(volume)
        for key, value in extra.items():
            setattr(layer, key, value)
        return layer
    if entry.get("path"):
        from ..data import load_volume

        cls = layer_class_for_kind(kind)
        layer = cls(name=name)
        if kind == "connectome":
            return None
        layer.set_volume(load_volume(entry["path"]))
        return layer
    if entry.get("result_folder"):
        folder = entry["result_folder"]
        if folder not in results:
            from ..backend import load_result

            results[folder] = layers_from_result(load_result(folder), folder=folder)
        for layer in results[folder]:
            if layer.result_key == entry.get("result_key"):
                layer.name = name or layer.name
                return layer
        return None
    if kind == "connectome" and "matrix" in entry:
        layer = ConnectomeLayer(name=name)
        layer.set_graph(entry["matrix"], entry["coords"], entry.get("labels"),
                        networks=entry.get("networks"))
        return layer
    return None


# --- recent files ----------------------------------------------------------------
def _recent_file():
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "brainviz" / "recent.json"


def recent_files(limit=10):
    """Return the most recently opened paths (newest first) that still exist."""
    try:
        items = json.loads(_recent_file().read_text())
    except (OSError, ValueError):
        return []
    return [p for p in items if isinstance(p, str) and Path(p).exists()][:limit]


def add_recent_file(path, limit=10):
    """Put ``path`` first in the recent-files list (best effort: never raises)."""
    path = str(Path(path).expanduser().resolve())
    items = [p for p in recent_files(limit=100) if p != path]
    items.insert(0, path)
    try:
        target = _recent_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(items[:limit]))
    except OSError:
        pass
    return items[:limit]


def check_openable(path):
    """Raise ImageFileError naming ``path`` if it does not exist."""
    path = Path(path)
    if not path.exists():
        raise ImageFileError(f"{path} does not exist.")
