"""Result objects and their folder format (NIfTI + TSV + JSON, never pickle).

A saved result is a folder::

    result.json            kind, parameters, scalar fields, inputs with sha256,
                           package versions, and a manifest of the files below
    <field>.nii.gz         images (weight maps, component maps, regions)
    <field>.tsv            matrices and vectors (tab-separated, full precision)

:func:`save_result` checks the place first (writable, room for the result),
writes into a temporary sibling folder and renames it into place, so an
interrupted save never leaves a half-written result; a temporary folder left by
a killed save is removed by the next save next to it. Without ``overwrite`` the
rename never replaces a result another process saved meanwhile. Folders and
files get the user's umask, like any file the user creates.

:func:`load_result` reads the folder back with nibabel, numpy.loadtxt and
json only: nothing is unpickled. ``result.json`` is checked against its schema
first (types, keys, sizes, nesting), and every file it names must be a plain
file inside the folder (no ``..``, no absolute path, no symbolic link).
"""
import datetime
import errno
import hashlib
import importlib
import json
import os
import re
import stat
from pathlib import Path

import numpy as np

from .. import _schema
from .._files import check_output_folder, remove_stale, remove_tree, save_image, temp_name
from .._version import __version__
from ..exceptions import BrainvizError, OutputExistsError, ResultError

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


def estimate_result_bytes(result):
    """Upper bound of the bytes :func:`save_result` writes for ``result``."""
    total = 64 * 1024
    for name, kind in result._fields.items():
        value = getattr(result, name)
        if value is None or kind == "json":
            continue
        if kind == "array":
            total += 26 * int(np.asarray(value).size)
        elif kind == "arrays":
            total += sum(26 * int(np.asarray(a).size) for a in value)
        elif kind == "image":
            total += _image_bytes(value)
        elif kind == "images":
            total += sum(_image_bytes(img) for img in value.values())
    return total


def _image_bytes(img):
    shape = getattr(img, "shape", ())
    n = 1
    for size in shape:
        n *= int(size)
    try:
        itemsize = np.dtype(img.get_data_dtype()).itemsize
    except Exception:  # noqa: BLE001 - an estimate
        itemsize = 8
    return 352 + n * itemsize


def save_result(result, folder, overwrite=False):
    """Save a result to ``folder`` (NIfTI images, TSV matrices, result.json).

    Parameters
    ----------
    result : Result
    folder : str or path-like
        Created; must not exist (or be empty) unless ``overwrite``.
    overwrite : bool, default=False

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    OutputExistsError
        The folder holds something and ``overwrite`` is false, or another
        process saved a result there while this one was being written.
    ResultError
        The folder cannot be written (read-only, a file in the way, full
        disk); nothing is left behind.
    """
    if not isinstance(result, Result):
        raise ResultError(f"save_result expects a brainviz result; got {type(result).__name__}.")
    folder = Path(folder)
    check_output_folder(folder, overwrite, need_bytes=estimate_result_bytes(result))
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultError(f"Cannot create the result folder {folder}: "
                          f"{exc.strerror or exc}.") from None
    remove_stale(folder.parent, base=folder.name)  # left by a save that was killed
    tmp = folder.parent / temp_name(folder.name)
    try:
        os.mkdir(tmp)  # the user's umask, unlike tempfile.mkdtemp's 0700
        _write_result(result, tmp)
        _move_into_place(tmp, folder, overwrite)
    except BaseException as exc:
        remove_tree(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrainvizError):
            raise ResultError(f"Could not save the result to {folder}: "
                              f"{exc.strerror or exc}") from exc
        raise
    return folder


def _move_into_place(tmp, folder, overwrite):
    if overwrite and (folder.exists() or folder.is_symlink()):
        old = folder.parent / temp_name(folder.name, ".old")
        try:
            os.rename(folder, old)
        except FileNotFoundError:
            old = None
        os.rename(tmp, folder)
        if old is not None:
            remove_tree(old)
        return
    try:
        # rename(2) replaces at most an empty folder: a result saved meanwhile
        # by another process makes it fail instead of being replaced
        os.rename(tmp, folder)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise OutputExistsError(
                f"The result folder {folder} was filled by another process while this result "
                "was being saved (pass overwrite=True to replace it).", path=folder) from None
        raise


def _write_result(result, tmp):
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
            save_image(value, tmp / fname)  # the result's image is not the file
            manifest[name] = {"kind": kind, "file": fname}
        elif kind == "images":
            entries = []
            for i, (key, img) in enumerate(value.items()):
                fname = f"{base}_{i:02d}_{_safe(key)}.nii.gz"
                save_image(img, tmp / fname)
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


# --- reading back: the schema of result.json ----------------------------------------
_FILE_NAME = _schema.Pattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}",
                             "a plain file name inside the folder (letters, digits, '_', '.', '-')")
_SHAPE = _schema.List(_schema.Int(0, 2**31), max_len=4)
_DTYPE = _schema.Str(16, allow_empty=False)
#: How a table with a header row is laid out (see ``_write_table``).
_TABLE = _schema.Dict({"header": _schema.Bool(), "row_names": _schema.Bool(),
                       "n_columns": _schema.Int(0, 2**31)},
                      required=("n_columns",), max_len=10)
_FILE_ENTRIES = {
    "array": _schema.Dict({"kind": _schema.Enum("array"),
                           "files": _schema.List(_FILE_NAME, max_len=100_000),
                           "dtype": _DTYPE, "shape": _SHAPE, "table": _TABLE},
                          required=("kind", "files", "dtype", "shape")),
    "arrays": _schema.Dict({"kind": _schema.Enum("arrays"),
                            "items": _schema.List(_schema.Dict(
                                {"file": _FILE_NAME, "dtype": _DTYPE, "shape": _SHAPE,
                                 "table": _TABLE},
                                required=("file", "dtype", "shape")), max_len=100_000)},
                           required=("kind", "items")),
    "image": _schema.Dict({"kind": _schema.Enum("image"), "file": _FILE_NAME},
                          required=("kind", "file")),
    "images": _schema.Dict({"kind": _schema.Enum("images"),
                            "items": _schema.List(_schema.Dict(
                                {"key": _schema.Str(1000), "file": _FILE_NAME},
                                required=("key", "file")), max_len=10_000)},
                           required=("kind", "items")),
}
_NUMBER = _schema.Num(finite=False)
_TEXTS = _schema.List(_schema.AnyOf(_schema.Str(1000), _NUMBER), max_len=1_000_000)
#: Types of the JSON fields the result classes hold (others: any JSON, depth-checked).
_JSON_FIELDS = {
    "mean_score_": _NUMBER,
    "chance_level_": _NUMBER,
    "pvalue_": _schema.AnyOf(_schema.Null(), _NUMBER),
    "classes_": _TEXTS,
    "n_samples_": _schema.Int(0),
    "n_voxels_": _schema.Int(0),
    "region_labels_": _TEXTS,
    "labels_": _schema.AnyOf(_schema.Null(), _TEXTS),
    "kind_": _schema.Str(100),
}
_RESULT_SCHEMA = _schema.Dict(
    {
        "format": _schema.Enum("brainviz-result"),
        "format_version": _schema.Int(1, _FORMAT_VERSION),
        "kind": _schema.Enum(*_RESULT_CLASSES),
        "class": _schema.Str(100),
        "created": _schema.Str(100),
        "parameters": _schema.Dict(max_len=1000),
        "fields": _schema.Dict(max_len=1000),
        "files": _schema.Dict(max_len=1000),
        "inputs": _schema.List(_schema.Dict({"name": _schema.Str(4096),
                                             "sha256": _schema.Str(64),
                                             "size": _schema.Int(0)},
                                            required=("name",)), max_len=100_000),
        "versions": _schema.Dict(values=_schema.Str(200), max_len=100),
    },
    required=("format", "format_version", "kind", "fields", "files"),
)
_MAX_ELEMENTS = 2**31  # per array: a bigger shape is a corrupt or hostile record


def _check_dtype(text, label, where):
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        dtype = None
    # every table a result holds is numeric (scores, matrices, coordinates, indices)
    if dtype is None or dtype.kind not in "biuf":
        raise ResultError(f"{label}: {where}.dtype: expected a numeric data type (bool, int, "
                          f"uint, float); got {text!r}.")
    return text


def _check_shape(shape, label, where):
    n = 1
    for size in shape:
        n *= size
    if n > _MAX_ELEMENTS:
        raise ResultError(f"{label}: {where}.shape: expected at most {_MAX_ELEMENTS} values; "
                          f"got shape {shape}.")
    return tuple(shape)


def _validate_document(doc, cls, label):
    """Check everything result.json says against what ``cls`` holds; one line on failure."""
    for name, value in doc["fields"].items():
        if name in cls._fields and value is not None:
            _schema.validate(value, _JSON_FIELDS.get(name, _schema.Json()), label,
                             where=f"fields.{name}")
    for name, entry in doc["files"].items():
        kind = cls._fields.get(name)
        if kind is None:
            continue  # a field this version does not know: not read
        if kind not in _FILE_ENTRIES:
            raise ResultError(f"{label}: files.{name}: expected no file entry (the field is "
                              f"stored in 'fields'); got {_schema._describe(entry)}.")
        _schema.validate(entry, _FILE_ENTRIES[kind], label, where=f"files.{name}")
        items = entry.get("items", [entry])
        for i, item in enumerate(items):
            where = f"files.{name}" + (f".items[{i}]" if "items" in entry else "")
            if "dtype" in item:
                _check_dtype(item["dtype"], label, where)
                shape = _check_shape(item["shape"], label, where)
                if kind == "array":
                    expected = 1 if len(shape) <= 2 else int(np.prod(shape[:-2]))
                    if len(item["files"]) != expected:
                        raise ResultError(
                            f"{label}: {where}.files: expected {expected} file(s) for shape "
                            f"{list(shape)}; got {len(item['files'])}.")


def _inside(folder, fname, label):
    """The path of ``fname`` in ``folder``: a plain file there, never a link out of it."""
    path = folder / fname
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ResultError(f"The result folder {folder} lacks {fname}.") from None
    except OSError as exc:
        raise ResultError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if stat.S_ISLNK(st.st_mode):
        raise ResultError(f"{label}: {fname} is a symbolic link; a result folder holds its own "
                          "files only.")
    if not stat.S_ISREG(st.st_mode):
        raise ResultError(f"{label}: {fname} is not a regular file.")
    return path


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

    Raises
    ------
    ResultError
        The folder is not a result, or ``result.json`` does not follow its
        schema (one line naming the file and the key), or a file it names is
        missing, outside the folder, a link, or unreadable.
    MemoryLimitError
        An image or table is bigger than the memory brainviz allows.
    """
    folder = Path(folder)
    doc_path = folder / "result.json"
    if not folder.is_dir() or not (doc_path.is_file() or doc_path.is_symlink()):
        raise ResultError(f"{folder} is not a brainviz result folder (no result.json).")
    label = str(doc_path)
    _inside(folder, "result.json", label)
    doc = _schema.read_json(doc_path, label, max_bytes=256 << 20)
    if not isinstance(doc, dict) or doc.get("format") != "brainviz-result" or \
            doc.get("kind") not in _RESULT_CLASSES:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        raise ResultError(f"{doc_path} is not a brainviz result (kind {kind!r}).")
    _schema.validate(doc, _RESULT_SCHEMA, label)
    module, cls_name = _RESULT_CLASSES[doc["kind"]]
    cls = getattr(importlib.import_module(f"{__package__}.{module}"), cls_name)
    _validate_document(doc, cls, label)

    def image(fname):
        return _read_image(_inside(folder, fname, label))

    def array(fname, dtype, shape, table=None):
        return _read_array_checked(_inside(folder, fname, label), dtype, shape, table)

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


def _read_array_checked(path, dtype, shape, table=None):
    from ..data._volume_io import check_allocation

    n = 1
    for size in shape:
        n *= size
    check_allocation(max(os.path.getsize(path), n * np.dtype(dtype).itemsize), str(path),
                     "reading this table")
    try:
        if table:
            return _read_table(path, dtype, shape, table)
        return _read_array(path, dtype, shape)
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultError(f"{path}: expected a table of shape {list(shape)} and type {dtype}; "
                          f"{reason}.") from None


def _read_image(path):
    import nibabel as nib

    from ..data import _volume_io

    try:
        img = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for bad files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultError(f"{path}: not a readable NIfTI image ({reason}).") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)) or \
            type(img).__name__.startswith("Cifti"):
        raise ResultError(f"{path}: expected a NIfTI image; got {type(img).__name__}.")
    label = str(path)
    _volume_io.check_header_size(img, label)
    _volume_io.check_data_size(img, label)
    _volume_io.check_allocation(_volume_io.data_bytes(img), label, "reading this image")
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # noqa: BLE001 - a damaged body
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultError(f"{path}: its image data cannot be read ({reason}).") from None
    return nib.Nifti1Image(data, img.affine, img.header)
