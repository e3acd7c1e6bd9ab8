"""Sessions in and out: open files as layers, results as layers, the demo, session JSON.

No Qt and no VTK: the window, drag and drop, the recent-files list, ``brainviz
render``, ``brainviz.mlab`` and the tests all open files through
:func:`open_path`, build the demo with :func:`make_demo_session` and read and
write sessions with :func:`save_session` / :func:`read_session`. Sessions are
JSON, never pickles; a session whose files moved opens what it can and names
the rest.
"""
import json
import os
from pathlib import Path

import numpy as np

from .exceptions import (
    BrainvizError, ImageFileError, ParameterError, ResultError, UnsupportedFormatError,
)
from .backend.displays import default_edge_threshold, result_headline
from .model import (
    AnatomyLayer, ComponentsLayer, ConnectomeLayer, GlassBrainLayer, JobState, LabelLayer,
    Session, StatMapLayer, SurfaceLayer, find_missing_files, layer_class, layer_from_volume,
)

__all__ = [
    "open_path",
    "open_surface",
    "surface_file_kind",
    "table_kind",
    "open_paths",
    "open_matrix",
    "attach_label_table",
    "attach_surface_values",
    "layers_from_result",
    "make_demo_session",
    "demo_connectome",
    "save_session",
    "read_session",
    "session_from_dict",
    "SessionFileError",
    "layer_from_spec",
    "layer_spec",
    "apply_setting",
    "render_command",
    "view_angles",
    "camera_from_angles",
    "camera_with_angles",
    "recent_files",
    "add_recent_file",
    "DEMO_THRESHOLD",
    "peak_cursor",
    "components_peak",
    "place_result",
    "behind_graph",
    "is_native_space",
    "layers_bounds",
    "job_title",
    "result_job",
    "open_result_folder",
    "load_job_result",
    "result_keys",
    "result_layer",
    "describe_empty",
    "readout",
    "format_readout",
    "place_new_layers",
]

SESSION_SUFFIX = ".json"
_VOLUME_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".mgh", ".mgz")

#: Threshold of the built-in motor activation map in the demo (z > 3).
DEMO_THRESHOLD = 3.0


class SessionFileError(ResultError):
    """A session file cannot be read, or some of its files are gone."""

    def __init__(self, message, missing=()):
        super().__init__(message)
        self.missing = list(missing)


def _has_suffix(path, suffixes):
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in suffixes)


_MESH_SUFFIXES = (".pial", ".white", ".inflated", ".sphere", ".orig", ".smoothwm")
_MORPH_SUFFIXES = (".sulc", ".curv", ".thickness", ".area", ".volume", ".annot", ".jacobian_white")


def surface_file_kind(path):
    """``"mesh"`` (GIfTI with a POINTSET, FreeSurfer geometry), ``"values"`` (per-vertex data:
    GIfTI func/shape/label, FreeSurfer morphometry or .annot, a per-vertex .mgh) or None."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".gii", ".gii.gz")):
        import nibabel as nib

        try:
            img = nib.load(str(path))
        except Exception:  # noqa: BLE001 - reported by the reader that follows
            return "mesh"
        return "mesh" if any(d.intent == 1008 for d in img.darrays) else "values"
    if name.endswith(_MESH_SUFFIXES):
        return "mesh"
    if name.endswith(_MORPH_SUFFIXES):
        return "values"
    if name.endswith((".mgh", ".mgz")):
        import nibabel as nib

        try:
            shape = nib.load(str(path)).shape
        except Exception:  # noqa: BLE001
            return None
        return "values" if len(shape) >= 3 and shape[1:3] == (1, 1) and shape[0] > 1 else None
    return None


def attach_surface_values(layer, path):
    """Show per-vertex data from ``path`` on a one-mesh :class:`SurfaceLayer` (its values)."""
    from .data import load_surface_data

    if len(layer.data) != 1:
        raise ParameterError(f"{Path(path).name} holds the values of one mesh; the layer "
                             f"{layer.name!r} has {len(layer.data)}: open the hemisphere's mesh.")
    part = layer.data[0]
    part.add_data("values", load_surface_data(path, n_vertices=part.n_vertices))
    layer.values_path = str(path)
    layer.set_surfaces([part])
    return layer


_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xml", ".npy", ".1d", ".lut")


def table_kind(path):
    """What a table file holds: ``"labels"`` (a label table: FSL atlas XML, FreeSurfer LUT,
    TSV/CSV ``index name``), ``"coords"`` (node coordinates: x, y, z columns), ``"matrix"``
    (a square table of numbers) or None."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(_TABLE_SUFFIXES):
        return None
    if name.endswith(".xml"):
        return "labels"
    from .data import load_coordinate_atlas, load_matrix, read_label_table

    if not name.endswith(".npy"):
        try:
            load_coordinate_atlas(path)
            return "coords"
        except Exception:  # noqa: BLE001 - not a coordinate table: try the others
            pass
    try:
        load_matrix(path)
        return "matrix"
    except Exception:  # noqa: BLE001
        pass
    try:
        table, _ = read_label_table(path)
        return "labels" if table else None
    except Exception:  # noqa: BLE001
        return None


def _sidecar(path, kinds, stems):
    """A file beside ``path`` named like it (``stems``) whose table kind is one of ``kinds``."""
    folder = Path(path).parent
    for stem in stems:
        for suffix in (".tsv", ".csv", ".txt", ".xml", "_LUT.txt", ".lut", ".npy"):
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file() and candidate != Path(path) and table_kind(candidate) in kinds:
                return candidate
    return None


def _volume_stem(path):
    name = Path(path).name
    for suffix in (".nii.gz", ".nii", ".mgz", ".mgh", ".hdr", ".img"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def open_matrix(path, coords=None):
    """A :class:`ConnectomeLayer` from a matrix file and its node coordinates: ``coords`` (a
    file or "power"/"dosenbach"), else a coordinates file beside it (``<name>_coords.tsv``,
    ``coords.tsv``...), else the named atlas with as many nodes (264: Power 2011, 160:
    Dosenbach 2010)."""
    from .data import COORDINATE_ATLASES, load_coords, load_matrix

    matrix = load_matrix(path)
    n = len(matrix)
    if coords is None:
        stem = Path(path).stem
        coords = _sidecar(path, ("coords",), (f"{stem}_coords", f"{stem}.coords", "coords",
                                              "nodes", "coordinates"))
    if coords is None:
        by_size = {264: "power", 160: "dosenbach"}
        coords = by_size.get(n)
    if coords is None:
        raise ParameterError(
            f"{Path(path).name} is a {n} x {n} connectivity matrix: give its node coordinates "
            f"(a CSV/TSV with x, y, z columns, opened with it, or one of "
            f"{', '.join(COORDINATE_ATLASES)}): brainviz {Path(path).name} COORDS.tsv")
    xyz, labels, networks = load_coords(coords)
    if len(xyz) != n:
        raise ParameterError(
            f"{Path(path).name} is {n} x {n} but its coordinates ({Path(str(coords)).name}) "
            f"have {len(xyz)} nodes; they must match.")
    layer = ConnectomeLayer(name=Path(path).name.split(".")[0], path=str(path),
                            coords_source=str(coords), threshold=default_edge_threshold(n))
    return layer.set_graph(matrix, xyz, labels, networks=networks)


def attach_label_table(layer, path):
    """Name the regions of a :class:`LabelLayer` from a label table file."""
    from .data import read_label_table

    table, _ = read_label_table(path)
    layer.names = {int(k): str(v) for k, v in table.items()}
    return layer


def open_paths(paths):
    """Open several files together: a connectivity matrix with the coordinates file among
    them, a label image with the label table among them; every other file as
    :func:`open_path` opens it. Returns the layers."""
    paths = [Path(p).expanduser() for p in paths]
    kinds = {p: table_kind(p) if p.is_file() else None for p in paths}
    coords = [p for p in paths if kinds[p] == "coords"]
    tables = [p for p in paths if kinds[p] == "labels"]
    layers = []
    for path in paths:
        kind = kinds[path]
        if kind == "matrix":
            layers.append(open_matrix(path, coords.pop(0) if coords else None))
        elif kind in ("coords", "labels"):
            continue
        else:
            new = open_path(path)
            for layer in new:
                if isinstance(layer, LabelLayer) and not isinstance(layer, ComponentsLayer) and tables:
                    attach_label_table(layer, tables.pop(0))
            layers += new
    for path in coords:  # coordinates alone: the nodes, as a graph without edges
        from .data import load_coords

        xyz, labels, networks = load_coords(path)
        layer = ConnectomeLayer(name=path.name.split(".")[0], coords_source=str(path))
        layers.append(layer.set_graph(np.zeros((len(xyz), len(xyz))), xyz, labels,
                                      networks=networks))
    if tables:
        raise ParameterError(
            f"{tables[0].name} is a label table: open it with its label image, or after it in "
            "the window (it names the regions of the selected label image).")
    return layers


def open_path(path, layer_type=None):
    """Return the layers read from ``path``: a volume, a surface mesh, or a job result folder.

    Parameters
    ----------
    path : str or Path
        A brain image (NIfTI, Analyze, MGH), a surface mesh (GIfTI, FreeSurfer
        geometry) or a result folder written by a job.
    layer_type : str or Layer class, default=None
        Force the layer class of a volume ("AnatomyLayer", StatMapLayer, ...); by
        default the volume's own guess.

    Returns
    -------
    list of Layer
    """
    from .data import load_volume

    path = Path(path).expanduser()
    if path.is_dir():
        return open_result_folder(path)[0]
    kind = surface_file_kind(path) if path.exists() else None
    if kind == "mesh":
        return [open_surface(mesh=path)]
    if kind == "values":
        raise ParameterError(
            f"{path.name} holds values for the vertices of a surface: open its mesh first, then "
            f"this file (in the window), or brainviz render --surface MESH --surface-data "
            f"{path.name}.")
    if path.exists() and not _has_suffix(path, _VOLUME_SUFFIXES + _TABLE_SUFFIXES):
        raise UnsupportedFormatError(
            f"Cannot open {path.name}: expected a brain image ({', '.join(_VOLUME_SUFFIXES)}), "
            "a surface mesh (.gii, FreeSurfer lh.pial...), a connectivity matrix or coordinates "
            "(.csv, .tsv, .npy), a label table, or a job result folder.")
    if path.exists() and _has_suffix(path, _TABLE_SUFFIXES):
        if table_kind(path) is None:
            raise UnsupportedFormatError(
                f"Cannot open {path.name}: it is not a square matrix of numbers, a table of node "
                "coordinates (x, y, z columns) or a label table (index, name).")
        return open_paths([path])
    volume = load_volume(path)
    # read the values once now, so a corrupt body fails here and not while drawing
    volume.get_frame(0)
    layer = layer_from_volume(volume, layer_type=layer_type)
    if isinstance(layer, StatMapLayer):
        layer.threshold = layer.start_threshold()
    if type(layer) is LabelLayer:  # its label table beside it: atlas.nii.gz + atlas.tsv
        stem = _volume_stem(path)
        table = _sidecar(path, ("labels",), (stem, f"{stem}_labels", f"{stem}_LUT"))
        if table is not None:
            attach_label_table(layer, table)
    return [layer]


def open_surface(mesh=None, values=None, hemi="both", name=None, **display):
    """A :class:`~brainviz.model.SurfaceLayer` from a mesh file and per-vertex values.

    Parameters
    ----------
    mesh : path, default=None
        A GIfTI or FreeSurfer mesh; None: fsaverage5 (both hemispheres, pial and
        inflated, shaded by sulcal depth).
    values : path, array or None, default=None
        Per-vertex data (GIfTI func/shape, FreeSurfer curv/sulc/thickness, .mgh),
        an array of one value per vertex, or a volume (NIfTI...), projected onto
        the mesh (:func:`brainviz.data.project_to_surface`).
    hemi : {"both", "left", "right"}, default="both"
        fsaverage5 only: which hemispheres.
    name : str, optional
    **display
        Display settings of the layer (``threshold``, ``cmap``...).
    """
    from . import data

    if mesh is None:
        parts = data.fsaverage5_surfaces(hemi)
    else:
        parts = [data.load_surface(mesh)]
    values_path = ""
    if isinstance(values, (str, os.PathLike)) and not _has_suffix(values, _VOLUME_SUFFIXES):
        values_path = str(values)
        if _has_suffix(values, (".npy",)):
            values = np.load(values, allow_pickle=False)
        else:
            if len(parts) != 1:
                raise ParameterError(
                    f"Per-vertex data {Path(values).name} belongs to one mesh; give the mesh "
                    "file of its hemisphere.")
            values = data.load_surface_data(values, n_vertices=parts[0].n_vertices)
    if isinstance(values, (np.ndarray, list, tuple)):
        values = np.asarray(values, dtype=float)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        n = sum(p.n_vertices for p in parts)
        if values.ndim != 1 or len(values) != n:
            raise ParameterError(
                f"The surface values have shape {values.shape}; the mesh has {n} vertices: give "
                "one value per vertex.")
        start = 0
        for part in parts:
            part.add_data("values", values[start:start + part.n_vertices])
            start += part.n_vertices
    elif values is not None:  # a volume (file, nibabel image or Volume): projected
        vol = data.load_volume(values)
        parts = data.project_to_surface(vol, parts)
        values_path = str(vol.path) if getattr(vol, "path", None) else ""
    if name is None:
        if values_path:
            name = Path(values_path).name.split(".")[0]
        elif mesh is not None:
            name = Path(mesh).name
        else:
            name = "fsaverage5"
    layer = SurfaceLayer(name=name, path=str(mesh) if mesh is not None else "",
                         source="" if mesh is not None else "builtin:fsaverage5",
                         values_path=values_path, hemi=hemi)
    layer.set_surfaces(parts)
    layer.trait_set(**display)
    return layer


def _volume(img, name):
    from .data import load_volume

    return load_volume(img, name=name)


def layers_from_result(result, folder="", title=""):
    """Turn a job result into layers: weight maps, regions (named), searchlight scores, a
    connectome.

    A binary decoding gives one weight map (positive weights favour the second class,
    negative ones the first: the other class's map would be its exact negative); a
    multi-class decoding one map per class, the first class's shown and the others
    hidden (one map over another is unreadable). A regions result gives its regions (the
    extracted ones when extraction was run) with their names. The layers share the
    ``group`` ``title``.

    A regions result's subjects' own maps (dual regression) are not added: they are 4D
    NIfTI files in the result folder, opened one by one as ComponentsLayer when wanted.
    """
    layers = []
    prefix = f"{title}: " if title else ""
    weight_maps = getattr(result, "weight_maps_", None)
    if weight_maps:
        classes = [str(c) for c in (getattr(result, "classes_", None) or list(weight_maps))]
        items = list(weight_maps.items())
        if len(classes) == 2 and len(items) == 2:
            negative, positive = classes
            img = weight_maps.get(positive, items[1][1])
            layer = layer_from_volume(_volume(img, f"{prefix}weights"), layer_type=StatMapLayer,
                                      result_folder=folder, result_key=f"weight_maps/{positive}")
            layer.colorbar_title = f"weights: {positive} (+) vs {negative} (-)"
            layer.threshold = layer.start_threshold()
            layers.append(layer)
        else:
            for k, (cls_name, img) in enumerate(items):
                layer = layer_from_volume(_volume(img, f"{prefix}weights {cls_name}"),
                                          layer_type=StatMapLayer, result_folder=folder,
                                          result_key=f"weight_maps/{cls_name}")
                layer.colorbar_title = f"weights: {cls_name}"
                layer.threshold = layer.start_threshold()
                # one class's map at a time: drawn over each other they were a speckle of
                # the three maps' colours (tick another in the layer list, or click its
                # row in the result view's confusion matrix)
                layer.visible = k == 0
                layers.append(layer)
    regions = getattr(result, "regions_img_", None)
    components = getattr(result, "components_img_", None)
    if regions is not None or components is not None:
        use_regions = regions is not None
        img = regions if use_regions else components
        vol = _volume(img, f"{prefix}regions" if use_regions else f"{prefix}components")
        layer = ComponentsLayer(result_folder=folder,
                                result_key="regions_img" if use_regions else "components_img")
        layer.set_volume(vol)
        names = getattr(result, "region_labels_", None) if use_regions else None
        if names is not None and len(names) == layer.n_frames:
            layer.names = {k: str(v) for k, v in enumerate(names)}
        layers.append(layer)
    scores = getattr(result, "scores_img_", None)
    if scores is not None:  # a searchlight's score map
        # "searchlight: face vs house, svc, 6 mm: scores", not "...: searchlight scores"
        name = (f"{prefix}scores" if title.lower().startswith("searchlight")
                else f"{prefix}searchlight scores")
        layer = layer_from_volume(_volume(scores, name),
                                  layer_type=StatMapLayer, result_folder=folder,
                                  result_key="scores_img")
        layer.threshold = layer.start_threshold()
        layers.append(layer)
    matrix = getattr(result, "matrix_", None)
    coords = getattr(result, "coords_", None)
    if coords is not None and not np.isfinite(np.asarray(coords, dtype=float)).all():
        coords = None  # time series given without node positions: no graph to draw
    if matrix is not None and coords is not None:
        matrix = np.asarray(matrix)
        if matrix.ndim == 3:  # one matrix per subject: show the mean
            matrix = matrix.mean(axis=0)
        layer = ConnectomeLayer(name=f"{prefix}connectome", result_folder=folder, result_key="matrix")
        layer.set_graph(matrix, coords, getattr(result, "labels_", None))
        layer.threshold = default_edge_threshold(len(matrix))
        layers.append(layer)
    for layer in layers:
        # a result is found again through its folder and key, never through the
        # (temporary) file names its images were written under
        layer.path = ""
        layer.group = title
    return layers


def result_keys(result):
    """The outputs of a result that open as layers: ``weight_maps/<class>``, ``regions_img``,
    ``components_img``, ``scores_img`` (a searchlight), ``matrix``."""
    keys = [f"weight_maps/{k}" for k in (getattr(result, "weight_maps_", None) or {})]
    for key in ("regions_img", "components_img", "scores_img"):
        if getattr(result, key + "_", None) is not None:
            keys.append(key)
    if getattr(result, "matrix_", None) is not None and getattr(result, "coords_", None) is not None:
        keys.append("matrix")
    return keys


def result_layer(result, key, folder="", title=""):
    """The layer of one output of a result (see :func:`result_keys`), or None when it has no
    such output. ``key`` may also be a class name of a decoding ("face")."""
    if key in (getattr(result, "weight_maps_", None) or {}):
        key = f"weight_maps/{key}"
    for layer in layers_from_result(result, folder=folder, title=title):
        if layer.result_key == key:
            layer.visible = True  # asked for by name: shown, whichever class it is
            return layer
    prefix = f"{title}: " if title else ""
    layer = None
    if key.startswith("weight_maps/") and key[12:] in (getattr(result, "weight_maps_", None) or {}):
        cls_name = key[12:]
        layer = layer_from_volume(_volume(result.weight_maps_[cls_name], f"{prefix}weights {cls_name}"),
                                  layer_type=StatMapLayer, result_folder=folder, result_key=key)
        layer.colorbar_title = f"weights: {cls_name}"
        layer.threshold = layer.start_threshold()
    elif key == "components_img" and getattr(result, "components_img_", None) is not None:
        layer = ComponentsLayer(result_folder=folder, result_key=key)
        layer.set_volume(_volume(result.components_img_, f"{prefix}components"))
    if layer is not None:
        layer.path = ""
        layer.group = title
    return layer


def job_title(kind, params, labels=None, n_inputs=1, inputs=()):
    """A readable job name: "decoding: face vs house, svc", "searchlight: face vs house, svc,
    6 mm", "regions: canica, 20 components on 3 series", "connectivity: correlation on 2
    series"."""
    params = dict(params or {})
    if kind in ("decoding", "searchlight"):
        classes = params.get("classes")
        if isinstance(classes, str):
            classes = [c.strip() for c in classes.split(",") if c.strip()]
        if not classes and labels is not None:
            classes = sorted({str(v) for v in labels})
        classes = [str(c) for c in classes or []]
        what = " vs ".join(classes) if 1 < len(classes) <= 4 else \
            (f"{len(classes)} classes" if classes else "")
        estimator = params.get("estimator", "")
        radius = params.get("radius") if kind == "searchlight" else None
        sphere = f"{float(radius):g} mm" if isinstance(radius, (int, float)) else ""
        return f"{kind}: " + ", ".join(v for v in (what, estimator, sphere) if v)
    series = f"{n_inputs} series" if n_inputs != 1 else "1 series"
    if kind == "regions":
        method = params.get("method", "")
        n = params.get("n_components")
        return f"regions: {method}{f', {n} components' if n else ''} on {series}"
    if kind == "connectivity":
        return f"connectivity: {params.get('kind', '')} on {series}"
    return kind


def result_job(result, folder):
    """The finished job a saved result records, for the window's job list and result view
    (a folder written by ``brainviz decode`` or ``connectivity``, opened in the window, shows
    its scores and confusion, or its matrix, as a job run there does; the layers opened
    from it are the job's, by folder)."""
    params = dict(getattr(result, "params", None) or {})
    kind = getattr(result, "_kind", "")
    classes = getattr(result, "classes_", None)
    inputs = [str(i) for i in getattr(result, "inputs", None) or []]
    title = job_title(kind, params, labels=classes, n_inputs=len(inputs) or 1, inputs=inputs)
    state = JobState(kind=kind, title=title, params=params, inputs=inputs, state="done",
                     result_folder=str(folder), headline=result_headline(result))
    state.result = result
    return state


def open_result_folder(path):
    """(layers, job) of a job's result folder, read once: its maps as layers
    (:func:`layers_from_result`) and the finished job it records (:func:`result_job`)."""
    from .backend import load_result

    path = Path(path).expanduser()
    result = load_result(path)
    try:
        layers = layers_from_result(result, folder=str(path))
    except BrainvizError as exc:  # a result whose parts do not fit together
        raise ResultError(f"{path}: {exc}") from None
    return layers, result_job(result, path)


def load_job_result(state):
    """A finished job's result read back from its folder (a reopened session's jobs keep
    only the folder), kept on the job; None when it has no folder. A folder that is gone
    or damaged raises :class:`~brainviz.exceptions.ResultError` naming it."""
    if state.result is None and state.state == "done" and state.result_folder:
        from .backend import load_result

        state.result = load_result(state.result_folder)
    return state.result


def is_native_space(volume):
    """True when an image says its coordinates are the scanner's (NIfTI sform and qform codes
    both "unknown" or "scanner"), so it is not in the MNI template's space."""
    img = getattr(volume, "img", volume)
    header = getattr(img, "header", None)
    if header is None or "sform_code" not in header or "qform_code" not in header:
        return False
    return max(int(header["sform_code"]), int(header["qform_code"])) <= 1


def layers_bounds(layers):
    """World bounds (xmin, xmax, ymin, ymax, zmin, zmax) in mm of what ``layers`` hold (the
    volumes' non-zero voxels, the nodes of graphs), or None."""
    lows, highs = [], []
    for layer in layers:
        data = layer.data
        if data is None:
            continue
        if isinstance(layer, ConnectomeLayer):
            pts = np.asarray(data["coords"], dtype=float)
        elif hasattr(data, "affine") and hasattr(data, "get_frame"):
            values = np.asarray(data.get_frame(0))
            ijk = np.argwhere(np.nan_to_num(values) != 0)
            if not len(ijk):
                continue
            corners = np.array([ijk.min(axis=0), ijk.max(axis=0)], dtype=float)
            box = np.array([[x, y, z, 1.0] for x in corners[:, 0] for y in corners[:, 1]
                            for z in corners[:, 2]])
            pts = (np.asarray(data.affine, dtype=float) @ box.T).T[:, :3]
        else:
            continue
        lows.append(pts.min(axis=0))
        highs.append(pts.max(axis=0))
    if not lows:
        return None
    lo, hi = np.min(lows, axis=0), np.max(highs, axis=0)
    return tuple(float(v) for pair in zip(lo, hi) for v in pair)


_OVERLAYS = (StatMapLayer, ConnectomeLayer, LabelLayer, SurfaceLayer)


def place_result(session, layers, anatomy=None, add=True):
    """Add a job's layers to ``session`` as a group the scene shows on its own.

    - the other overlays (maps, graphs, regions, surfaces) are hidden (not removed),
      so the new maps are not drawn over the demo's;
    - the anatomy is the one the job's images were in: a map in the MNI template's space
      is drawn over the template where it is shown, as nilearn draws it (its input
      series, ``anatomy``, stays as it was: frame 0 of a 3 mm BOLD series covered the
      template with a noisy, blocky backdrop); elsewhere ``anatomy`` is shown. A map in
      the scanner's native space (:func:`is_native_space`) hides the MNI template, and
      without an anatomy of its own it is drawn on nothing, with a note saying so;
    - the cursor goes to the first map's peak (:func:`peak_cursor`), to a regions
      result's strongest component's (:func:`components_peak`); for a graph without
      maps (a connectivity result), behind its nodes as the camera sees them
      (:func:`behind_graph`), so the anatomy's slices are a backdrop and not a wall
      through the graph.

    With ``add=False`` the caller adds the layers itself (the window adds one per
    event-loop turn); everything else is done here.

    Returns
    -------
    notes : list of str
        What the window's status line (or a script) should say.
    """
    notes = []
    volumes = _volume_layers(layers)
    native = any(is_native_space(lay.data) for lay in volumes)
    for lay in session.layers:
        if isinstance(lay, _OVERLAYS) and lay not in layers and lay is not anatomy:
            lay.visible = False
    templates = [lay for lay in session.layers_of_type(AnatomyLayer)
                 if lay is not anatomy and lay.source == "builtin:template"]
    if anatomy is not None and (native or not any(lay.visible for lay in templates)):
        anatomy.visible = True
    if native:
        for lay in templates:
            lay.visible = False
        if anatomy is None:
            notes.append("The result is in the scanner (native) space of its images, not in "
                         "the MNI template's: it is drawn without the template. Open the "
                         "images' anatomy to see it in place.")
        else:
            notes.append(f"The result is in the native space of its images: drawn over "
                         f"{anatomy.name!r}, not over the MNI template.")
    hidden = [lay for lay in layers if isinstance(lay, StatMapLayer) and not lay.visible]
    if hidden:
        # named up to three: nine classes' names ran past the window's status line
        names = (", ".join(lay.name.removeprefix(f"{lay.group}: ") for lay in hidden)
                 if len(hidden) <= 3 else f"the maps of {len(hidden)} other classes")
        notes.append(f"Also in the layer list, hidden: {names} (tick one, or click its row in "
                     "the confusion matrix).")
    if add:
        for layer in layers:
            session.add_layer(layer)
    maps = [lay for lay in layers if isinstance(lay, StatMapLayer) and lay.visible]
    graphs = [lay for lay in layers if isinstance(lay, ConnectomeLayer)]
    components = [lay for lay in layers if isinstance(lay, ComponentsLayer) and lay.visible
                  and lay.data is not None]
    if maps:
        session.move_cursor(peak_cursor(maps[0]))
    elif components:
        session.move_cursor(components_peak(components[0]))
    elif graphs:
        cursor = behind_graph(graphs[0], session.camera)
        if cursor is not None:
            session.move_cursor(cursor)
    return notes


def behind_graph(layer, camera=None):
    """A cursor (mm) whose slices lie behind a graph's nodes as ``camera`` sees them, and
    through their middle where the camera sees a slice edge-on.

    Along each axis the camera looks along (more than ``EDGE_ON_DEGREES`` (10) from edge-on),
    the slice goes to the far side of the nodes from the camera, half a node further: the
    anatomy's slices are then a floor and walls behind the graph, where at a map's peak or
    the centre they would cut through it and hide half its nodes and edges (a connectivity
    result on its subjects' own series). A slice the camera sees edge-on hides nothing
    wherever it lies, and at the far side it is seen askew (a grey sliver at the graph's
    edge, in perspective) and its 2D view shows the brain's rim: it goes through the middle
    of the nodes instead, where it is a line and its 2D view the middle of the brain (from
    the window's first view, looking down: the mid-sagittal and mid-coronal slices, the
    axial one under the nodes).

    Parameters
    ----------
    layer : ConnectomeLayer
    camera : dict, optional
        ``Session.camera`` (``position`` and ``focal_point``); looking down from above (the
        window's first view) when it has none.

    Returns
    -------
    (x, y, z) or None
        None when the layer has no finite node coordinates.
    """
    coords = np.asarray((layer.data or {}).get("coords", np.empty((0, 3))), dtype=float)
    coords = coords.reshape(-1, 3) if coords.size % 3 == 0 else np.empty((0, 3))
    coords = coords[np.all(np.isfinite(coords), axis=1)]
    if not len(coords):
        return None
    camera = camera or {}
    try:
        direction = np.asarray(camera["position"], float) - np.asarray(camera["focal_point"],
                                                                         float)
    except (KeyError, TypeError, ValueError):
        direction = np.array([0.0, 0.0, 1.0])
    if (direction.shape != (3,) or not np.all(np.isfinite(direction))
            or not np.any(direction)):
        direction = np.array([0.0, 0.0, 1.0])
    pad = float(getattr(layer, "node_size", 0.0)) / 2
    lo, hi = coords.min(axis=0) - pad, coords.max(axis=0) + pad
    # seen from the + side of an axis, the low end is the far one: the slice goes there
    behind = np.where(direction > 0, lo, hi)
    # the slice across axis k is seen edge-on when the view direction lies (nearly) in it
    edge_on = np.abs(direction) < np.sin(np.radians(EDGE_ON_DEGREES)) * np.linalg.norm(direction)
    middle = (coords.min(axis=0) + coords.max(axis=0)) / 2
    return tuple(float(v) for v in np.where(edge_on, middle, behind))


#: How near edge-on (degrees between the view direction and a slice's plane) a slice must
#: be seen for :func:`behind_graph` to put it through the nodes' middle.
EDGE_ON_DEGREES = 10.0


def describe_empty(session):
    """What a figure of ``session`` would not show, as sentences naming what to add: a map
    whose slices are off with no isosurface, a glass brain with nothing inside, a figure with
    nothing visible at all."""
    from .model import AnatomyLayer, MaskLayer

    notes = []
    drawn = []
    for layer in session.layers:
        if not layer.visible:
            continue
        if isinstance(layer, StatMapLayer) and not isinstance(layer, MaskLayer):
            if layer.show_slices or layer.show_isosurface:
                drawn.append(layer)
            else:
                notes.append(f"the map {layer.name!r} is not drawn: its slices are off "
                             "(--no-slices) and it has no isosurface; add --isosurface")
        elif isinstance(layer, (AnatomyLayer, MaskLayer)):
            if layer.show_slices:
                drawn.append(layer)
        elif isinstance(layer, GlassBrainLayer):
            if layer.data is not None:
                drawn.append(layer)
        else:
            drawn.append(layer)
    glass = [lay for lay in session.layers if isinstance(lay, GlassBrainLayer) and lay.visible]
    if not drawn:
        if glass:
            notes.append("the figure shows only an empty glass brain: add a map with "
                         "--stat FILE --isosurface, a connectome (--connectome, --coords) or "
                         "regions (--regions)")
        else:
            notes.append("the figure is empty: nothing visible is drawn; add a map (--stat), "
                         "an anatomy (--anatomy), a connectome or regions, or turn the slices "
                         "on")
    return notes


def peak_cursor(layer, frame=None):
    """The world position (mm, RAS+) of a map's peak: where the cursor goes so that the slices
    cut through the activation (``brainviz render --cursor peak``, the window, ``brainviz.mlab``).

    The peak is the largest ``|value|`` of the map's strongest cluster (the connected
    voxels above the 95th percentile of the non-zero ``|values|`` with the largest sum),
    so one stray voxel does not move the slices away from the activation.

    Parameters
    ----------
    layer : Layer, brainviz Volume, nibabel image or path
        A statistical map (or any volume layer), a glass brain with a map inside, or a
        surface layer with values (the peak vertex).
    frame : int, default=None
        Frame of a 4D image; the layer's own ``frame`` (or 0) when None.

    Returns
    -------
    (x, y, z) : tuple of float
        The voxel centre (or vertex) of the peak; ``(0, 0, 0)`` when the map holds no
        finite non-zero value.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> data = np.zeros((5, 6, 7), dtype=np.float32); data[1, 2, 3] = -4.0; data[3, 3, 3] = 2.0
    >>> peak_cursor(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])))
    (2.0, 4.0, 6.0)
    """
    from .model import Layer, SurfaceLayer

    data = layer.data if isinstance(layer, Layer) else layer
    if isinstance(layer, SurfaceLayer):
        best, where = 0.0, (0.0, 0.0, 0.0)
        for part in data or []:
            if part.values is None:
                continue
            values = np.abs(np.nan_to_num(np.asarray(part.values, dtype=float), nan=0.0))
            k = int(np.argmax(values))
            if values[k] > best:
                geometry = layer.mesh or next(iter(part.geometries))
                best, where = values[k], tuple(float(v) for v in part.geometries[geometry][k])
        return where
    if data is None:
        return (0.0, 0.0, 0.0)
    if not hasattr(data, "get_frame"):
        from .data import load_volume

        data = load_volume(data)
    if frame is None:
        frame = getattr(layer, "frame", 0) if isinstance(layer, Layer) else 0
    values = np.abs(np.nan_to_num(np.asarray(data.get_frame(frame), dtype=np.float32), nan=0.0))
    return _peak_mm(values, data.affine)


def _peak_mm(values, affine):
    """The voxel centre (mm) of :func:`_peak_voxel` of ``values``; (0, 0, 0) for none."""
    ijk = _peak_voxel(values)
    if ijk is None:
        return (0.0, 0.0, 0.0)
    xyz = np.asarray(affine, dtype=float) @ np.array([*ijk, 1.0])
    return tuple(float(v) for v in xyz[:3])


def components_peak(layer):
    """Where the cursor goes for a regions result (a :class:`ComponentsLayer`): the peak of
    its strongest component, the largest ``|value|`` over all its components in its
    strongest cluster (see :func:`peak_cursor`), so that the slices cut through a network.
    Without it the cursor stayed where the last result had put it (a graph's: slices
    through the cerebellum, under the regions).

    Returns (x, y, z) mm; ``(0, 0, 0)`` when no component holds a finite non-zero value.
    """
    data = layer.data
    top = None
    for k in range(max(1, int(getattr(data, "n_frames", 1) or 1))):
        frame = np.abs(np.nan_to_num(np.asarray(data.get_frame(k), dtype=np.float32),
                                     nan=0.0, posinf=0.0, neginf=0.0))
        top = frame if top is None else np.maximum(top, frame, out=top)
    return _peak_mm(top, data.affine)


def _peak_voxel(values):
    """The voxel of the largest value of ``values`` (>= 0) in its strongest cluster.

    A single stray voxel (or an edge artefact) must not win over an activation: the
    voxels above the 95th percentile of the non-zero values are grouped in connected
    clusters, the cluster with the largest summed value is kept, and its largest value
    is the peak. Ties (a map saturated at its maximum) go to the voxel nearest the
    centre of the tied ones.
    """
    nonzero = values[values > 0]
    if nonzero.size == 0:
        return None
    top_voxels = values >= np.percentile(nonzero, 95)
    if not top_voxels.any():
        return np.unravel_index(int(np.argmax(values)), values.shape)
    inside = _strongest_cluster(top_voxels, values)
    top = values[inside].max()
    ties = np.argwhere(inside & (values >= top * (1 - 1e-6)))
    centre = ties.mean(axis=0)
    return tuple(int(v) for v in ties[np.argmin(((ties - centre) ** 2).sum(axis=1))])


#: Above this many voxels the clusters of the peak are labelled by scipy.ndimage; below it,
#: by :func:`_face_clusters` (importing scipy.ndimage costs ``brainviz render`` a third of
#: a second and 30 MB, more than labelling the few thousand top voxels of a map).
_NDIMAGE_FROM = 200_000


def _strongest_cluster(mask, values):
    """The voxels of the cluster of ``mask`` (face-connected, as ``scipy.ndimage.label``'s
    default) with the largest summed ``values``; ties go to the first in array order."""
    if np.count_nonzero(mask) > _NDIMAGE_FROM:
        from scipy import ndimage

        labels, n = ndimage.label(mask)
        sums = ndimage.sum(values, labels, np.arange(1, n + 1))
        return labels == (int(np.argmax(sums)) + 1)
    flat = np.flatnonzero(mask)
    component = _face_clusters(flat, mask.shape)
    ids, members = np.unique(component, return_inverse=True)
    sums = np.bincount(members, weights=values.ravel()[flat])
    inside = np.zeros(mask.shape, dtype=bool)
    inside.ravel()[flat[members == int(np.argmax(sums))]] = True
    return inside


def _face_clusters(flat, shape):
    """For each voxel of ``flat`` (sorted flat indices into an array of ``shape``), the
    smallest flat position of its face-connected cluster: labels spread along the
    neighbour pairs to the smallest, with pointer jumping, until nothing changes."""
    n = flat.size
    ijk = np.unravel_index(flat, shape)
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    a_parts, b_parts = [], []
    for axis in range(len(shape)):
        has_next = np.flatnonzero(ijk[axis] < shape[axis] - 1)
        neighbour = flat[has_next] + strides[axis]
        pos = np.minimum(np.searchsorted(flat, neighbour), n - 1)
        hit = flat[pos] == neighbour
        a_parts.append(has_next[hit])
        b_parts.append(pos[hit])
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, label):
            return flat[label]
        label = new


# --- what lies under the cursor -----------------------------------------------------------
def readout(session, xyz_mm, selected=None):
    """What the readout says at a world point: a dict with ``mm`` (x, y, z), ``voxel``
    (i, j, k of ``selected``, or of the first volume layer, and its name), ``values``
    ([(layer name, value or None)] read from each volume's own voxels through its true
    affine, exact for oblique images; None outside it), ``regions`` ([(layer name, region
    name)] from label images with names) and ``node`` ((connectome name, index, label,
    network, distance mm) of the nearest node of a shown connectome within 15 mm), and
    ``scales`` ({layer name: largest absolute value}) for :func:`format_readout`.
    """
    from .model import VolumeLayer

    xyz = np.asarray(xyz_mm, dtype=float).reshape(3)
    out = {"mm": tuple(float(v) for v in xyz), "voxel": None, "values": [], "regions": [],
           "node": None, "scales": {}}
    volumes = [lay for lay in session.layers if isinstance(lay, VolumeLayer) and lay.data is not None]
    target = selected if selected in volumes else (volumes[0] if volumes else None)
    if target is not None:
        ijk = target.data.voxel_at(xyz)
        out["voxel"] = (target.name, ijk)
    for layer in volumes:
        vol = layer.data
        frame = getattr(layer, "frame", 0) if vol.n_frames > 1 and not isinstance(
            layer, ComponentsLayer) else 0
        if isinstance(layer, ComponentsLayer):
            ijk = vol.voxel_at(xyz)
            if ijk is None:
                out["values"].append((layer.name, None))
                continue
            series = vol.timecourse_at(xyz)
            best = int(np.nanargmax(series))
            out["values"].append((layer.name, float(series[best])))
            out["regions"].append((layer.name, layer.names.get(best, f"component {best}")))
            continue
        value = float(vol.values_at(xyz, frame=max(int(frame), 0), order=0)[0])
        value = None if not np.isfinite(value) else value
        out["values"].append((layer.name, value))
        out["scales"][layer.name] = _value_scale(vol)
        if isinstance(layer, LabelLayer) and value is not None and value != 0:
            name = layer.names.get(int(round(value)))
            out["regions"].append((layer.name, name or f"label {int(round(value))}"))
    best = None
    for layer in session.layers_of_type(ConnectomeLayer):
        if not layer.visible or layer.data is None:
            continue
        coords = np.asarray(layer.data["coords"], dtype=float)
        d = np.linalg.norm(coords - xyz, axis=1)
        k = int(np.argmin(d))
        if d[k] <= 15.0 and (best is None or d[k] < best[-1]):
            networks = layer.data.get("networks")
            best = (layer.name, k, layer.data["labels"][k],
                    networks[k] if networks is not None else None, float(d[k]))
    out["node"] = best
    return out


def format_readout(info):
    """The readout as one line of text."""
    x, y, z = info["mm"]
    parts = [f"({x:.1f}, {y:.1f}, {z:.1f}) mm"]
    if info["voxel"] is not None:
        name, ijk = info["voxel"]
        parts.append(f"voxel {ijk[0]}, {ijk[1]}, {ijk[2]} of {name}" if ijk is not None
                     else f"outside {name}")
    scales = info.get("scales") or {}
    for name, value in info["values"]:
        if value is None:
            parts.append(f"{name}: outside")
            continue
        # a resampled template's background holds float noise (1.4e-45, 7.2e-17 where the
        # image is 0 to 1): below a millionth of the image's largest value it reads 0
        scale = scales.get(name)
        if scale and abs(value) < READOUT_ZERO * scale:
            value = 0.0
        parts.append(f"{name}: {value:.4g}")
    for name, region in info["regions"]:
        parts.append(f"{region} ({name})")
    if info["node"] is not None:
        graph, k, label, network, distance = info["node"]
        parts.append(f"node {k}: {label}" + (f" [{network}]" if network else "")
                     + f", {distance:.0f} mm away")
    return "   ".join(parts)


#: A value read out is written 0 below this fraction of its image's largest absolute value.
READOUT_ZERO = 1e-6


def _value_scale(volume):
    """The largest absolute finite value of ``volume``, or None: a 3D image's range
    (computed once: 60 ms for a 1 mm brain), a series' only when already known (over all
    its frames it takes seconds, not for a readout on the GUI thread)."""
    try:
        known = volume.cached_range()
        if known is None and volume.n_frames == 1:
            known = volume.robust_range()
    except Exception:  # noqa: BLE001 - all NaN: no scale, the values are written as read
        return None
    if known is None:
        return None
    lo, hi = known[:2]
    scale = max(abs(float(lo)), abs(float(hi)))
    return scale if np.isfinite(scale) and scale > 0 else None


def place_new_layers(session, layers):
    """Add ``layers`` to ``session`` as the window and ``brainviz FILE`` open them: a
    statistical map opened with no anatomy gets the MNI152 template under it when it is
    in MNI space, and the cursor goes to the peak of the first map opened alone; a graph
    opened with no image at all gets the template too when its nodes are in the MNI box,
    the cursor behind its nodes."""
    from .data import load_template

    had_anatomy = bool(session.layers_of_type(AnatomyLayer))
    added = [session.add_layer(layer) for layer in layers]
    maps = [lay for lay in added if isinstance(lay, StatMapLayer) and lay.data is not None]
    graphs = [lay for lay in added if isinstance(lay, ConnectomeLayer) and lay.data is not None]
    alone = not had_anatomy and not session.layers_of_type(AnatomyLayer)
    if maps and alone:
        if maps[0].data.in_mni_space():
            _add_template(session, load_template())
        session.move_cursor(maps[0].data.peak("abs"))
    elif graphs and alone and not _volume_layers(session.layers) and _in_mni_box(graphs[0]):
        # a graph opened on its own (nodes in MNI mm, as the named atlases' are): the
        # template under it, as `brainviz render` draws one, the slices behind its nodes
        _add_template(session, load_template())
        cursor = behind_graph(graphs[0], session.camera)
        if cursor is not None:
            session.move_cursor(cursor)
    return added


def _add_template(session, volume):
    template = AnatomyLayer(name="MNI152 template", source="builtin:template")
    template.set_volume(volume)
    session.add_layer(template, index=0)


def _volume_layers(layers):
    """The layers holding an image (a Volume), not a graph or a mesh."""
    return [lay for lay in layers if lay.data is not None and hasattr(lay.data, "affine")]


def _in_mni_box(graph):
    """Whether a graph's (finite) nodes lie in the MNI152 template's box, as the nodes of
    an atlas in MNI space do: not those of a scanner's native space."""
    from .data.volumes import in_mni_box

    coords = np.asarray(graph.data["coords"], dtype=float)
    return in_mni_box(coords[np.isfinite(coords).all(axis=1)])


# --- the demo ------------------------------------------------------------------------
def demo_connectome():
    """The demo graph: a seeded matrix on the Dosenbach 2010 nodes, strong within networks.

    Returns ``(matrix, coords, labels, networks)``.
    """
    from .data import load_dosenbach_2010

    atlas = load_dosenbach_2010()
    rng = np.random.default_rng(0)
    n = len(atlas.coords)
    nets = np.asarray(atlas.networks if atlas.networks is not None else ["all"] * n)
    same = nets[:, None] == nets[None, :]
    m = np.where(same, rng.uniform(0.3, 1.0, (n, n)), rng.uniform(-0.6, 0.2, (n, n)))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0)
    networks = None if atlas.networks is None else [str(v) for v in atlas.networks]
    return m, np.asarray(atlas.coords, dtype=float), [str(v) for v in atlas.labels], networks


def make_demo_session(connectome=True, cache=True):
    """The built-in demo: the MNI152 template, nilearn's motor activation map (slices and 3D
    blobs at z > :data:`DEMO_THRESHOLD`) and, with ``connectome``, a seeded graph on the
    Dosenbach 2010 nodes coloured by network with its 160 strongest edges (as any graph of
    160 nodes opens).

    The window opens on it, ``brainviz render --demo`` draws it and the no-display
    start renders it: this is its only description.

    Parameters
    ----------
    connectome : bool, default=True
    cache : bool, default=True
        Keep the demo's arrays in the demo-data folder, so the next start reads two
        small files instead of importing nilearn and resampling the template.
    """
    template, motor, graph, peak = _demo_parts(cache)
    session = Session()
    anatomy = AnatomyLayer(name="MNI152 template", source="builtin:template")
    anatomy.set_volume(template)
    anatomy.path = ""  # rebuilt from its source, never from the cache file
    session.add_layer(anatomy)
    if connectome:
        # cut as any graph of its size opens (160 nodes: their 160 strongest edges); under
        # the map, so that the 2D views, where the graph is projected, show the activation
        # over it
        layer = ConnectomeLayer(name="demo connectome", source="builtin:demo_connectome",
                                threshold=default_edge_threshold(len(graph[1])))
        layer.set_graph(*graph)
        session.add_layer(layer)
    stat = StatMapLayer(name="motor activation", source="builtin:motor_activation",
                        threshold=DEMO_THRESHOLD, show_isosurface=True)
    stat.set_volume(motor)
    session.add_layer(stat)
    # the slices cut through the activation (the stored peak spares the start a scipy import)
    session.move_cursor(peak if peak is not None else peak_cursor(stat))
    return session


def _demo_parts(cache):
    from . import data

    if not cache:
        return data.load_template(), data.load_motor_activation(), demo_connectome(), None
    from .data._store import stored_arrays

    def compute():
        template = data.load_template()
        motor = data.load_motor_activation()
        matrix, coords, labels, networks = demo_connectome()
        return {"template": np.asarray(template.get_data(), dtype=np.float32),
                "affine": np.asarray(template.affine, dtype=float),
                "matrix": matrix, "coords": coords,
                "meta": {"motor_path": str(motor.path or ""), "labels": labels,
                         "networks": networks, "template_name": template.name,
                         "peak": list(peak_cursor(motor))}}

    stored = stored_arrays("window_demo_v3", "demo", compute)
    meta = stored["meta"]
    if not meta.get("motor_path") or not Path(meta["motor_path"]).is_file():
        return data.load_template(), data.load_motor_activation(), demo_connectome(), None
    import nibabel as nib

    template = data.load_volume(nib.Nifti1Image(stored["template"], stored["affine"]),
                                name=meta.get("template_name") or "MNI152 template")
    motor = data.load_volume(meta["motor_path"], name="motor activation")
    graph = (np.asarray(stored["matrix"], dtype=float), np.asarray(stored["coords"], dtype=float),
             meta["labels"], meta["networks"])
    peak = meta.get("peak")  # absent from a store written before it was kept
    return template, motor, graph, (tuple(float(v) for v in peak) if peak else None)


# --- session files -------------------------------------------------------------------
def save_session(session, path):
    """Write ``session`` as JSON to ``path`` (via a temporary file); return the Path.

    Layers made in a script or the shell (images and values with no file behind them)
    are written beside it, in ``<name>_data/``, so the session opens them again.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() != SESSION_SUFFIX:
        path = path.with_name(path.name + SESSION_SUFFIX)
    _write_layer_data(session, path.with_name(path.stem + "_data"))
    text = json.dumps(session.to_dict(), indent=2, default=_json_default)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    session.path = str(path)
    return path


def _write_layer_data(session, folder):
    """Give every layer whose data lives only in memory a file in ``folder``."""
    from ._files import save_image
    from .model import VolumeLayer

    for index, layer in enumerate(session.layers, start=1):
        if layer.result_folder or layer.data is None:
            continue
        stem = f"{index:02d}_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in layer.name)
        if isinstance(layer, SurfaceLayer):
            if not layer.path and not layer.source and len(layer.data) == 1:
                folder.mkdir(parents=True, exist_ok=True)
                layer.path = str(_write_gifti_mesh(layer.data[0], folder / f"{stem}.gii"))
            values = [p.values for p in layer.data if p.values is not None]
            if values and not layer.values_path and (layer.path or layer.source):
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{stem}_values.npy"
                np.save(target, np.concatenate(values))
                layer.values_path = str(target)
        elif isinstance(layer, (VolumeLayer, GlassBrainLayer)) and not (layer.path or layer.source):
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{stem}.nii.gz"
            tmp = folder / f".{stem}.tmp.nii.gz"
            save_image(layer.data.to_image(), tmp)  # the layer's image stays in memory
            os.replace(tmp, target)
            layer.path = str(target)


def _write_gifti_mesh(surface, target):
    import nibabel as nib

    img = nib.gifti.GiftiImage()
    img.add_gifti_data_array(nib.gifti.GiftiDataArray(
        surface.vertices.astype(np.float32), intent="NIFTI_INTENT_POINTSET"))
    img.add_gifti_data_array(nib.gifti.GiftiDataArray(
        surface.faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE"))
    tmp = target.with_name(f".{target.name}.tmp.gii")
    nib.save(img, tmp)
    os.replace(tmp, target)
    return target


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

    The document is checked against its schema first (``brainviz._schema``):
    a wrong type, a missing key, a huge number or deep nesting raises
    :class:`SessionFileError` with one line naming the file and the key, and so
    does a layer that cannot be built. Nothing is half-opened: no session is
    touched until this returns.
    """
    from . import _schema

    path = Path(path).expanduser()
    doc = _schema.read_json(path, f"Session file {path.name}", error=SessionFileError)
    if not isinstance(doc, dict) or doc.get("format") != "brainviz-session":
        raise SessionFileError(
            f"{path.name} is not a brainviz session file (no \"format\": \"brainviz-session\").")
    session, missing = session_from_dict(doc, label=path.name)
    session.path = str(path)
    return session, missing


def session_from_dict(doc, label="the session"):
    """Build a Session from a dict as :meth:`Session.to_dict` gives; ``(session, missing)``.

    Raises :class:`SessionFileError` naming ``label`` and the key when the dict
    does not follow the session schema or a layer cannot be built.
    """
    from . import _schema
    from .model import _V1_KINDS, LAYER_TYPES

    _schema.check_session(doc, label, error=SessionFileError,
                          layer_types=list(LAYER_TYPES) + list(_V1_KINDS))
    missing = find_missing_files(doc)
    session = Session()
    results = {}
    for i, entry in enumerate(doc.get("layers", [])):
        if any(entry.get(k) in missing for k in ("path", "result_folder") if entry.get(k)):
            continue
        entry = _migrate_v1(entry) if doc.get("version", 1) < 2 else entry
        try:
            layer = _layer_from_entry(entry, results)
            if layer is None:
                continue
            layer.apply_display(entry)
            layer.group = str(entry.get("group") or "")
        except Exception as exc:  # noqa: BLE001 - any layer that cannot be built, in one line
            reason = " ".join(str(exc).split()) or type(exc).__name__
            name = f" ({entry.get('name')})" if entry.get("name") else ""
            raise SessionFileError(f"{label}: layers[{i}]{name}: {reason}") from None
        session.add_layer(layer)
    for job in doc.get("jobs", []):
        state = JobState(kind=job.get("kind", "decoding"), title=job.get("title", ""),
                         params=job.get("params", {}), inputs=job.get("inputs", []),
                         state=job.get("state", "done") if job.get("state") in
                         ("done", "failed", "cancelled") else "done",
                         result_folder=job.get("result_folder", ""),
                         from_cache=bool(job.get("from_cache", False)),
                         headline=str(job.get("headline") or ""))
        session.jobs.append(state)
    cursor = doc.get("cursor")
    if cursor and len(cursor) == 3:
        session.move_cursor(cursor)
    session.camera = dict(doc.get("camera") or {})
    session.title = str(doc.get("title") or "")
    session.confusion = (doc.get("views") or {}).get("confusion", "counts")
    return session, missing


def _migrate_v1(entry):
    """Session files of brainviz 0.1 named some settings differently."""
    entry = dict(entry)
    entry["type"] = entry.pop("kind", "anatomy")
    if "colormap" in entry:
        entry["cmap"] = entry.pop("colormap")
    if entry.get("edge_percentile"):
        entry["threshold"] = entry.pop("edge_percentile")
    if entry["type"] == "components" and "frame" in entry:
        entry["region"] = entry.pop("frame")
    return entry


def _builtin_volume(source):
    """The data of a built-in layer source; (volume, extra layer traits)."""
    from . import data

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
    cls = layer_class(entry.get("type", "AnatomyLayer"))
    name = entry.get("name", "")
    source = entry.get("source") or ""
    if source == "builtin:demo_connectome":
        return ConnectomeLayer(name=name, source=source).set_graph(*demo_connectome())
    if issubclass(cls, SurfaceLayer):
        if source not in ("", "builtin:fsaverage5"):
            return None
        return open_surface(mesh=entry.get("path") or None, values=entry.get("values_path") or None,
                            hemi=entry.get("hemi") or "both", name=name)
    if issubclass(cls, GlassBrainLayer):
        layer = GlassBrainLayer(name=name, path=entry.get("path", ""), source=source)
        volume = None
        if entry.get("path"):
            from .data import load_volume

            volume = load_volume(entry["path"])
        elif source.startswith("builtin:"):
            volume = _builtin_volume(source)[0]
        return layer.set_volume(volume)
    volume, extra = _builtin_volume(source) if source.startswith("builtin:") else (None, {})
    if volume is not None:
        # built-in data is made again (it carries labels and runs a file does not)
        layer = cls(name=name, source=source)
        layer.set_volume(volume)
        for key, value in extra.items():
            setattr(layer, key, value)
        return layer
    if entry.get("path") and issubclass(cls, ConnectomeLayer):
        from .data import load_coords, load_matrix

        if not entry.get("coords_source"):
            raise ParameterError(f"The connectome {entry['path']} needs its node coordinates "
                                 "(a file, or an atlas name such as power).")
        coords, labels, networks = load_coords(entry["coords_source"])
        layer = ConnectomeLayer(name=name, path=str(entry["path"]),
                                coords_source=str(entry["coords_source"]))
        return layer.set_graph(load_matrix(entry["path"]), coords, labels, networks=networks)
    if entry.get("path") and not issubclass(cls, ConnectomeLayer):
        from .data import load_volume

        layer = cls(name=name)
        layer.set_volume(load_volume(entry["path"]))
        if isinstance(layer, LabelLayer) and entry.get("names"):
            layer.names = {int(k): str(v) for k, v in dict(entry["names"]).items()}
        return layer
    if entry.get("result_folder"):
        folder = entry["result_folder"]
        if folder not in results:
            from .backend import load_result

            results[folder] = load_result(folder)
        layer = result_layer(results[folder], entry.get("result_key", ""), folder=folder)
        if layer is not None:
            layer.name = name or layer.name
        return layer
    if issubclass(cls, ConnectomeLayer) and "matrix" in entry:
        layer = ConnectomeLayer(name=name)
        layer.set_graph(entry["matrix"], entry["coords"], entry.get("labels"),
                        networks=entry.get("networks"))
        return layer
    return None


# --- layers and settings as command-line words (brainviz render --layer / --set) -----
#: Extra words of a layer spec -> the session-file keys they fill.
_SPEC_KEYS = {"coords": "coords_source", "values": "values_path", "hemi": "hemi", "name": "name"}


def layer_from_spec(spec):
    """A layer from ``"TYPE=SOURCE[;key=value...]"`` (``brainviz render --layer``).

    TYPE is a layer class name ("StatMapLayer"...); SOURCE a file, ``builtin:NAME``
    or ``RESULT_DIR#KEY`` (one output of a job's result folder, e.g.
    ``out/#weight_maps/face``). Keys: ``coords`` (a connectome's node coordinates: a
    file or "power"/"dosenbach"), ``values`` (a surface's per-vertex data or a volume
    to project), ``hemi`` (fsaverage5), ``name``. Display settings are the class
    defaults: set them with :func:`apply_setting`.
    """
    head, *extras = str(spec).split(";")
    type_name, sep, source = head.partition("=")
    if not sep or not source:
        raise ParameterError(f"--layer expects TYPE=SOURCE (e.g. StatMapLayer=zmap.nii.gz); "
                             f"got {spec!r}")
    entry = {"type": layer_class(type_name.strip()).__name__}
    source = source.strip()
    if source.startswith("builtin:"):
        entry["source"] = source
    elif "#" in source and Path(source.split("#", 1)[0]).expanduser().is_dir():
        folder, key = source.split("#", 1)
        entry.update(result_folder=str(Path(folder).expanduser()), result_key=key)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise ImageFileError(f"--layer {spec!r}: no such file {str(path)!r}")
        entry["path"] = str(path)
    for word in extras:
        key, sep, value = word.partition("=")
        if not sep or key.strip() not in _SPEC_KEYS:
            raise ParameterError(f"--layer {spec!r}: unknown option {word!r}; expected "
                                 f"{', '.join(k + '=...' for k in _SPEC_KEYS)}")
        entry[_SPEC_KEYS[key.strip()]] = value.strip()
    if issubclass(layer_class(entry["type"]), SurfaceLayer) and entry.get("source") == "builtin:fsaverage5":
        entry.pop("source")
        entry["path"] = ""
        entry["source"] = "builtin:fsaverage5"
    layer = _layer_from_entry(entry, {})
    if layer is None:
        raise ParameterError(f"--layer {spec!r}: nothing to draw there "
                             "(unknown built-in, or no such output in the result folder)")
    return layer


def layer_spec(layer):
    """The ``--layer`` words that make ``layer`` again (see :func:`layer_from_spec`)."""
    if layer.result_folder:
        source = f"{layer.result_folder}#{layer.result_key}"
    elif layer.source:
        source = layer.source
    elif layer.path:
        source = layer.path
    else:
        raise ParameterError(
            f"Layer {layer.name!r} was made in a script or the shell and has no file: save the "
            "session (File > Save session) and render it with brainviz render --session FILE.")
    words = [f"{type(layer).__name__}={source}"]
    for key, attr in (("coords", "coords_source"), ("values", "values_path"), ("hemi", "hemi")):
        value = getattr(layer, attr, "")
        if value and not (attr == "hemi" and value == "both"):
            words.append(f"{key}={value}")
    return ";".join(words)


def apply_setting(session, text):
    """Apply ``"LAYER.SETTING=VALUE"`` (``brainviz render --set``): LAYER is a layer's name or its
    position from 1; SETTING one of its display settings (or ``name``); VALUE JSON (a number,
    true/false, null, a list) or else a string ("98%", "hot")."""
    key, sep, raw = str(text).partition("=")
    target, dot, setting = key.rpartition(".")
    if not sep or not dot or not target or not setting:
        raise ParameterError(f"--set expects LAYER.SETTING=VALUE (e.g. 2.threshold=3.5); got {text!r}")
    if target.isdigit() and 1 <= int(target) <= len(session.layers):
        layer = session.layers[int(target) - 1]
    else:
        try:
            layer = session.get_layer(target)
        except KeyError:
            raise ParameterError(
                f"--set {text!r}: no layer {target!r}; layers are "
                f"{', '.join(f'{k}: {lay.name}' for k, lay in enumerate(session.layers, 1))}") from None
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if setting == "name":
        layer.name = str(value)
        return layer
    if setting not in layer.display_trait_names():
        raise ParameterError(f"--set {text!r}: {type(layer).__name__} has no setting {setting!r}; "
                             f"its settings are {', '.join(layer.display_trait_names())}")
    layer.apply_display({setting: value})
    return layer


def _setting_words(index, layer):
    defaults = type(layer)()
    words = [f"{index}.name={layer.name}"]
    for name, value in layer.display_settings().items():
        if value != getattr(defaults, name):
            value = list(value) if isinstance(value, tuple) else value
            text = value if isinstance(value, str) and not _json_like(value) else json.dumps(value)
            words.append(f"{index}.{name}={text}")
    return words


def _json_like(text):
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def render_command(session, output="figure.png", size=None, camera=True):
    """The ``brainviz render`` command line (a list of words) that draws ``session`` again:
    every layer (``--layer``) with its settings (``--set``), the cursor and the camera.

    Raises ParameterError naming a layer that has no file behind it (made in a script).
    """
    words = ["brainviz", "render", "-o", str(output)]
    if size is not None:
        words += ["--size", f"{int(size[0])}x{int(size[1])}"]
    for index, layer in enumerate(session.layers, start=1):
        words += ["--layer", layer_spec(layer)]
    for index, layer in enumerate(session.layers, start=1):
        for word in _setting_words(index, layer):
            words += ["--set", word]
    words += ["--cursor", ",".join(f"{v:.6g}" for v in session.cursor)]
    if session.title:
        words += ["--title", session.title]
    if camera and session.camera:
        words += camera_words(session.camera)
    return words


def camera_words(camera):
    """``--azimuth/--elevation/--distance/--roll/--focal-point`` words for a camera dict
    (:meth:`brainviz.scene.binding.SceneBinding.current_camera`), as :func:`mayavi.mlab.view`
    angles."""
    position = np.asarray(camera["position"], dtype=float)
    focal = np.asarray(camera["focal_point"], dtype=float)
    up = np.asarray(camera["view_up"], dtype=float)
    azimuth, elevation, distance, roll = view_angles(position, focal, up)
    words = ["--azimuth", f"{azimuth:.6f}", "--elevation", f"{elevation:.6f}",
             "--distance", f"{distance:.6f}", "--roll", f"{roll:.6f}",
             "--focal-point", ",".join(f"{v:.6f}" for v in focal)]
    if camera.get("clip"):
        words += ["--clip", "left" if camera["clip"] < 0 else "right"]
    return words


def _reference_up(r):
    """The up vector of roll 0 for a camera looking along -r: +z projected on the view plane
    (+y when looking straight down or up)."""
    ref = np.array([0.0, 0.0, 1.0]) - r * r[2]
    if np.linalg.norm(ref) < 1e-6:
        ref = np.array([0.0, 1.0, 0.0]) - r * r[1]
    return ref / np.linalg.norm(ref)


def view_angles(position, focal, up):
    """``(azimuth, elevation, distance, roll)`` of a camera, in degrees and mm.

    Azimuth and elevation are :func:`mayavi.mlab.view`'s (azimuth in the x-y plane from
    +x, elevation from +z); roll turns the view about its axis, 0 keeping +z up (or +y
    when looking straight down). :func:`camera_from_angles` is the inverse.
    """
    d = np.asarray(position, float) - np.asarray(focal, float)
    distance = float(np.linalg.norm(d))
    r = d / distance
    elevation = float(np.degrees(np.arccos(np.clip(r[2], -1.0, 1.0))))
    azimuth = float(np.degrees(np.arctan2(r[1], r[0])))
    ref = _reference_up(r)
    u = np.asarray(up, float) - r * (np.asarray(up, float) @ r)
    u /= np.linalg.norm(u)
    roll = float(np.degrees(np.arctan2(np.cross(ref, u) @ r, ref @ u)))
    return azimuth, elevation, distance, roll


def camera_from_angles(azimuth, elevation, distance, roll=0.0, focal_point=(0.0, 0.0, 0.0)):
    """``{"position", "focal_point", "view_up"}`` of the camera :func:`view_angles` describes."""
    az, el = np.radians(float(azimuth)), np.radians(float(elevation))
    r = np.array([np.sin(el) * np.cos(az), np.sin(el) * np.sin(az), np.cos(el)])
    focal = np.asarray(focal_point, dtype=float)
    ref = _reference_up(r)
    # rotate ref about r by roll (Rodrigues; ref is perpendicular to r)
    t = np.radians(float(roll))
    up = ref * np.cos(t) + np.cross(r, ref) * np.sin(t)
    return {"position": (focal + float(distance) * r).tolist(), "focal_point": focal.tolist(),
            "view_up": up.tolist()}


def camera_with_angles(camera, azimuth=None, elevation=None, distance=None, roll=None,
                      focal_point=None):
    """``camera`` (a dict) moved to the given angles; the others keep their current value."""
    current = view_angles(camera["position"], camera["focal_point"], camera["view_up"])
    values = [current[k] if v is None else float(v)
              for k, v in enumerate((azimuth, elevation, distance, roll))]
    focal = camera["focal_point"] if focal_point is None else [float(v) for v in focal_point]
    return dict(camera, **camera_from_angles(*values, focal_point=focal))



# --- recent files ----------------------------------------------------------------
def _recent_file():
    from . import _config

    return _config.get_config_dir() / "recent.json"


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
