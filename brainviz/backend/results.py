"""Result objects and their folder format (NIfTI + TSV + JSON, never pickle).

A saved result is a folder::

    result.json            kind, parameters, scalar fields, inputs with sha256,
                           package versions, and a manifest of the files below
    <field>.nii.gz         images (weight maps, component maps, regions)
    <field>.tsv            matrices and vectors (tab-separated, full precision)

:func:`save_result` writes into a temporary sibling folder and renames it into
place, so an interrupted save never leaves a half-written result.
:func:`load_result` reads the folder back with nibabel, numpy.loadtxt and
json only: nothing is unpickled.
"""
import datetime
import hashlib
import importlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._version import __version__
from ..exceptions import ResultError

__all__ = ["Result", "save_result", "load_result", "result_fingerprint"]

_FORMAT_VERSION = 1

# result kind -> module defining the class (resolved lazily)
_RESULT_CLASSES = {
    "decoding": ("decoding", "DecodingResult"),
    "regions": ("regions", "RegionResult"),
    "connectivity": ("connectivity", "ConnectivityResult"),
    "searchlight": ("searchlight", "SearchlightResult"),
}


class Result:
    """Base of the job results: named fields plus parameters and inputs.

    Subclasses declare ``_fields``: field name -> storage kind, one of
    ``"json"`` (numbers, strings, lists), ``"array"`` (numpy array, TSV),
    ``"arrays"`` (list of 2D arrays), ``"image"`` (nibabel image),
    ``"images"`` (dict name -> nibabel image).

    Parameters
    ----------
    params : dict
        The job parameters (``job.get_params()``, JSON-able ones).
    inputs : list of str
        Input file names (or descriptions of in-memory inputs).
    **fields
        Values of the declared fields.
    """

    _kind = "result"
    _fields = {}

    def __init__(self, params=None, inputs=None, **fields):
        unknown = set(fields) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown fields {sorted(unknown)}")
        self.params = dict(params or {})
        self.inputs = list(inputs or [])
        for name in self._fields:
            setattr(self, name, fields.get(name))

    def __repr__(self):
        shown = []
        for name, kind in self._fields.items():
            value = getattr(self, name)
            if kind == "json" and isinstance(value, (int, float, str)) or value is None:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        if _normalise(self.params) != _normalise(other.params):
            return False
        for name, kind in self._fields.items():
            if not _equal(getattr(self, name), getattr(other, name), kind):
                return False
        return True

    __hash__ = None

    def plot(self, **kwargs):
        """Draw the result's view (matplotlib, see ``brainviz.backend.displays``) and return
        the display; ``save_figures`` writes every view into a folder."""
        raise NotImplementedError(f"{type(self).__name__} has no view")

    def save_figures(self, folder, formats=("png", "svg"), **kwargs):
        """Write the result's views (PNG and SVG) into ``folder``; return the paths written
        (see :func:`brainviz.backend.displays.save_result_figures`)."""
        from .displays import save_result_figures

        return save_result_figures(self, folder, formats=formats, **kwargs)

    @property
    def headline(self):
        """One line: the mean score and chance, the edges kept, or the number of regions."""
        from .displays import result_headline

        return result_headline(self)

    def _table_names(self, name):
        """Names for the TSV table of field ``name``, or None for a bare table.

        A dict with ``columns`` (header of the number columns), optionally
        ``rows`` (a first column of row names, headed ``corner``) and ``extra``
        (column name -> strings, written after the numbers).
        """
        return None


def _normalise(value):
    return json.loads(json.dumps(_to_json(value)))


def _image_equal(a, b):
    return (
        a.shape == b.shape
        and np.allclose(a.affine, b.affine)
        and np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj), equal_nan=True)
    )


def _equal(a, b, kind):
    if a is None or b is None:
        return a is None and b is None
    if kind == "json":
        return _normalise(a) == _normalise(b)
    if kind == "array":
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        return a.shape == b.shape and np.array_equal(a, b)
    if kind == "arrays":
        return len(a) == len(b) and all(_equal(x, y, "array") for x, y in zip(a, b))
    if kind == "image":
        return _image_equal(a, b)
    if kind == "images":
        return list(a) == list(b) and all(_image_equal(a[k], b[k]) for k in a)
    raise ValueError(kind)


def _to_json(value):
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-") or "x"


def _write_array(path, array):
    array = np.asarray(array)
    if array.ndim > 2:
        raise ResultError(f"cannot write a {array.ndim}D array to {path.name}")
    if array.dtype.kind in "iub":
        fmt = "%d"
    elif array.dtype.kind == "f":
        fmt = "%.17g"
    else:
        fmt = "%s"
    np.savetxt(path, np.atleast_1d(array), fmt=fmt, delimiter="\t")


def _write_table(path, array, names):
    """A TSV with a header row of names (and a first column of row names)."""
    array = np.asarray(array)
    table = array[:, None] if array.ndim == 1 else array.reshape(array.shape[0], -1)
    columns = [str(c) for c in names.get("columns") or []]
    if len(columns) != table.shape[1]:
        columns = [f"{i}" for i in range(table.shape[1])]
    rows = names.get("rows")
    if rows is not None and len(rows) != table.shape[0]:
        rows = None
    extra = {k: list(v) for k, v in (names.get("extra") or {}).items() if len(v) == table.shape[0]}
    if array.dtype.kind in "iub":
        fmt = "%d"
    elif array.dtype.kind == "f":
        fmt = "%.17g"
    else:
        fmt = "%s"

    def clean(text):
        return str(text).replace("\t", " ").replace("\n", " ")

    header = ([clean(names.get("corner") or "")] if rows is not None else []) + columns + list(extra)
    lines = ["\t".join(clean(h) for h in header)]
    for i, row in enumerate(table):
        cells = [fmt % v for v in row]
        if rows is not None:
            cells.insert(0, clean(rows[i]))
        cells += [clean(extra[k][i]) for k in extra]
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return {"header": True, "row_names": rows is not None, "n_columns": int(table.shape[1])}


def _read_table(path, dtype, shape, layout):
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()][1:]
    start = 1 if layout.get("row_names") else 0
    stop = start + int(layout["n_columns"])
    try:
        values = [[float(c) for c in ln.split("\t")[start:stop]] for ln in lines]
        arr = np.asarray(values, dtype=float).astype(np.dtype(dtype))
    except ValueError as exc:
        raise ResultError(f"{path} holds a cell that is not a number: {exc}") from None
    return arr.reshape(shape)


def _read_array(path, dtype, shape):
    if dtype.startswith("<U") or dtype.startswith("|S") or dtype == "object":
        lines = path.read_text().splitlines()
        arr = np.array(lines, dtype=object if dtype == "object" else dtype)
    else:
        arr = np.loadtxt(path, dtype=np.dtype(dtype), delimiter="\t", ndmin=2)
    return arr.reshape(shape)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions():
    out = {"brainviz": __version__}
    for name in ("numpy", "scipy", "nibabel", "sklearn", "nilearn", "joblib"):
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:  # noqa: BLE001 - a version is informative only
            pass
    return out


def result_fingerprint(result):
    """A short hex digest of what a result holds (kind, parameters, inputs and every field):
    equal results (an identical rerun, a cache hit) have equal fingerprints, so the window
    saves them once."""
    h = hashlib.sha256()
    h.update(json.dumps([result._kind, _to_json(result.params), [str(i) for i in result.inputs]],
                        sort_keys=True).encode())
    for name, kind in result._fields.items():
        value = getattr(result, name)
        h.update(name.encode())
        if value is None:
            h.update(b"none")
        elif kind == "json":
            h.update(json.dumps(_to_json(value), sort_keys=True).encode())
        elif kind in ("array", "arrays"):
            for arr in (value if kind == "arrays" else [value]):
                arr = np.ascontiguousarray(arr)
                h.update(str((arr.dtype.str, arr.shape)).encode())
                h.update(arr.tobytes() if arr.dtype.kind != "O" else repr(arr.tolist()).encode())
        elif kind in ("image", "images"):
            items = value.items() if kind == "images" else [("", value)]
            for key, img in items:
                h.update(str(key).encode())
                h.update(np.asarray(img.affine, dtype=float).tobytes())
                h.update(np.ascontiguousarray(np.asanyarray(img.dataobj)).tobytes())
    return h.hexdigest()[:16]


def save_result(result, folder, overwrite=False):
    """Save a result to ``folder`` (NIfTI images, TSV matrices, result.json).

    Parameters
    ----------
    result : Result
    folder : str or path-like
        Created; must not exist unless ``overwrite``.
    overwrite : bool, default=False

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import nibabel as nib

    if not isinstance(result, Result):
        raise ResultError(f"save_result expects a brainviz result; got {type(result).__name__}.")
    folder = Path(folder)
    if folder.exists() and not overwrite:
        if not folder.is_dir() or any(folder.iterdir()):
            raise ResultError(
                f"The result folder {folder} already exists and is not empty "
                "(pass overwrite=True to replace it)."
            )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        manifest = {}
        scalars = {}
        for name, kind in result._fields.items():
            value = getattr(result, name)
            base = _safe(name.rstrip("_"))
            if value is None:
                scalars[name] = None
            elif kind == "json":
                scalars[name] = _to_json(value)
            elif kind == "array":
                arr = np.asarray(value)
                names = result._table_names(name)
                layout = None
                if arr.ndim <= 2:
                    files = [f"{base}.tsv"]
                    if names and arr.dtype.kind in "biuf":
                        layout = _write_table(tmp / files[0], arr, names)
                    else:
                        _write_array(tmp / files[0], arr)
                else:
                    files = []
                    for i, sub in enumerate(arr.reshape((-1,) + arr.shape[-2:])):
                        files.append(f"{base}_{i:03d}.tsv")
                        if names and arr.dtype.kind in "biuf":
                            layout = _write_table(tmp / files[-1], sub, names)
                        else:
                            _write_array(tmp / files[-1], sub)
                manifest[name] = {"kind": kind, "files": files, "dtype": arr.dtype.str,
                                  "shape": list(arr.shape)}
                if layout:
                    manifest[name]["table"] = layout
            elif kind == "arrays":
                entries = []
                names = result._table_names(name)
                for i, arr in enumerate(value):
                    arr = np.asarray(arr)
                    fname = f"{base}_{i:03d}.tsv"
                    entry = {"file": fname, "dtype": arr.dtype.str, "shape": list(arr.shape)}
                    if names and arr.dtype.kind in "biuf" and arr.ndim <= 2:
                        entry["table"] = _write_table(tmp / fname, arr, names)
                    else:
                        _write_array(tmp / fname, arr)
                    entries.append(entry)
                manifest[name] = {"kind": kind, "items": entries}
            elif kind == "image":
                fname = f"{base}.nii.gz"
                nib.save(value, tmp / fname)
                manifest[name] = {"kind": kind, "file": fname}
            elif kind == "images":
                entries = []
                for i, (key, img) in enumerate(value.items()):
                    fname = f"{base}_{i:02d}_{_safe(key)}.nii.gz"
                    nib.save(img, tmp / fname)
                    entries.append({"key": _to_json(key), "file": fname})
                manifest[name] = {"kind": kind, "items": entries}
        inputs = []
        for name in result.inputs:
            entry = {"name": str(name)}
            if os.path.isfile(str(name)):
                entry["sha256"] = _sha256(name)
                entry["size"] = os.path.getsize(name)
            inputs.append(entry)
        doc = {
            "format": "brainviz-result",
            "format_version": _FORMAT_VERSION,
            "kind": result._kind,
            "class": type(result).__name__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "parameters": _to_json(result.params),
            "fields": scalars,
            "files": manifest,
            "inputs": inputs,
            "versions": _versions(),
        }
        (tmp / "result.json").write_text(json.dumps(doc, indent=2))
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_result(folder):
    """Load a result saved by :func:`save_result` (no recomputation, no pickle).

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    Result
        A DecodingResult, RegionResult or ConnectivityResult equal to the
        one saved.
    """
    import nibabel as nib

    folder = Path(folder)
    doc_path = folder / "result.json"
    if not doc_path.is_file():
        raise ResultError(f"{folder} is not a brainviz result folder (no result.json).")
    try:
        doc = json.loads(doc_path.read_text())
    except ValueError as exc:
        raise ResultError(f"{doc_path} is not valid JSON: {exc}") from None
    if doc.get("format") != "brainviz-result" or doc.get("kind") not in _RESULT_CLASSES:
        raise ResultError(f"{doc_path} is not a brainviz result (kind {doc.get('kind')!r}).")
    module, cls_name = _RESULT_CLASSES[doc["kind"]]
    cls = getattr(importlib.import_module(f"{__package__}.{module}"), cls_name)

    def image(fname):
        path = folder / fname
        if not path.is_file():
            raise ResultError(f"The result folder {folder} lacks {fname}.")
        img = nib.load(path)
        return nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine, img.header)

    def array(fname, dtype, shape, table=None):
        path = folder / fname
        if not path.is_file():
            raise ResultError(f"The result folder {folder} lacks {fname}.")
        if table:
            return _read_table(path, dtype, shape, table)
        return _read_array(path, dtype, shape)

    fields = {}
    for name, kind in cls._fields.items():
        if name in doc["fields"]:
            fields[name] = doc["fields"][name]
            continue
        entry = doc["files"].get(name)
        if entry is None:
            fields[name] = None
        elif kind == "array":
            shape = tuple(entry["shape"])
            table = entry.get("table")
            if len(entry["files"]) == 1:
                fields[name] = array(entry["files"][0], entry["dtype"], shape, table)
            else:
                parts = [array(f, entry["dtype"], shape[-2:], table) for f in entry["files"]]
                fields[name] = np.stack(parts).reshape(shape)
        elif kind == "arrays":
            fields[name] = [array(e["file"], e["dtype"], tuple(e["shape"]), e.get("table"))
                            for e in entry["items"]]
        elif kind == "image":
            fields[name] = image(entry["file"])
        elif kind == "images":
            fields[name] = {e["key"]: image(e["file"]) for e in entry["items"]}
    result = cls(params=doc.get("parameters"), inputs=[i["name"] for i in doc.get("inputs", [])],
                 **fields)
    result.saved_inputs = doc.get("inputs", [])
    result.versions = doc.get("versions", {})
    return result
