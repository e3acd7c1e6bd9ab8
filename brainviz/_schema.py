"""Small schemas for the JSON brainviz reads back: result folders and sessions.

A file written by brainviz may have been edited, truncated or crafted by
someone else before it is read again. Everything read is checked here, before
anything is built from it or replaced by it: a wrong type, a missing key, a
number out of range or not finite, text or lists too long, nesting too deep
each give one line naming the file and the key, e.g.::

    session.json: layers[2].opacity: expected a number in [0, 1]; got 7.

Specs are plain objects (:class:`Str`, :class:`Int`, :class:`Num`,
:class:`Bool`, :class:`Enum`, :class:`List`, :class:`Dict`, :class:`Json`,
:class:`AnyOf`) checked by :func:`validate`. No Qt, no numpy: the session
loader and the result loader both use it.
"""
import json
import math
import os

from .exceptions import ResultError

__all__ = [
    "Str", "Pattern", "Int", "Num", "Bool", "Null", "Enum", "List", "Dict", "Json", "AnyOf",
    "validate", "read_json", "SESSION_SCHEMA", "check_session",
]

#: Deepest nesting accepted anywhere (documents brainviz writes need 6).
MAX_DEPTH = 32
#: Largest number accepted where no range is given.
MAX_ABS = 1e300


class _Invalid(Exception):
    def __init__(self, where, expected, value):
        super().__init__(where)
        self.where = where
        self.expected = expected
        self.value = value


def _describe(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 24 else text[:12] + "..." + f" ({len(text)} digits)"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    return type(value).__name__


def _key(where, key):
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


class Spec:
    description = "a value"

    def check(self, value, where, depth):  # pragma: no cover - interface
        raise NotImplementedError


class Str(Spec):
    def __init__(self, max_len=4096, allow_empty=True):
        self.max_len = max_len
        self.allow_empty = allow_empty
        self.description = f"text of at most {max_len} characters"

    def check(self, value, where, depth):
        if not isinstance(value, str) or len(value) > self.max_len or (
                not self.allow_empty and not value):
            raise _Invalid(where, self.description if self.allow_empty else
                           "non-empty " + self.description, value)
        return value


class Pattern(Str):
    """Text matching a regular expression (e.g. a plain file name)."""

    def __init__(self, regex, description, max_len=255):
        import re

        super().__init__(max_len, allow_empty=False)
        self.regex = re.compile(regex)
        self.description = description

    def check(self, value, where, depth):
        if not isinstance(value, str) or len(value) > self.max_len or not self.regex.fullmatch(value):
            raise _Invalid(where, self.description, value)
        return value


class Bool(Spec):
    description = "true or false"

    def check(self, value, where, depth):
        if not isinstance(value, bool):
            raise _Invalid(where, self.description, value)
        return value


class Null(Spec):
    description = "null"

    def check(self, value, where, depth):
        if value is not None:
            raise _Invalid(where, self.description, value)
        return value


def _range_text(lo, hi):
    if lo is not None and hi is not None:
        return f" in [{lo:g}, {hi:g}]"
    if lo is not None:
        return f" >= {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""


class Int(Spec):
    def __init__(self, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        self.description = "a whole number" + _range_text(lo, hi)

    def check(self, value, where, depth):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(where, self.description, value)
        if abs(value) > MAX_ABS or (self.lo is not None and value < self.lo) or (
                self.hi is not None and value > self.hi):
            raise _Invalid(where, self.description, value)
        return value


class Num(Spec):
    def __init__(self, lo=None, hi=None, finite=True):
        self.lo, self.hi, self.finite = lo, hi, finite
        self.description = ("a finite number" if finite else "a number") + _range_text(lo, hi)

    def check(self, value, where, depth):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, self.description, value)
        if isinstance(value, int) and abs(value) > MAX_ABS:
            raise _Invalid(where, self.description, value)
        if math.isnan(value):
            if self.finite:
                raise _Invalid(where, self.description, value)
            return value
        if math.isinf(value) and self.finite:
            raise _Invalid(where, self.description, value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise _Invalid(where, self.description, value)
        return value


class Enum(Spec):
    def __init__(self, *values):
        self.values = values
        self.description = "one of " + "{" + ", ".join(repr(v) for v in values) + "}"

    def check(self, value, where, depth):
        if isinstance(value, bool) or value not in self.values:
            raise _Invalid(where, self.description, value)
        return value


class AnyOf(Spec):
    def __init__(self, *specs):
        self.specs = specs
        self.description = " or ".join(s.description for s in specs)

    def check(self, value, where, depth):
        deepest = None
        for spec in self.specs:
            try:
                return spec.check(value, where, depth)
            except _Invalid as bad:
                if len(bad.where) > len(where) and (deepest is None or
                                                    len(bad.where) > len(deepest.where)):
                    deepest = bad  # the right kind of value, wrong inside: say where
        if deepest is not None:
            raise deepest
        raise _Invalid(where, self.description, value)


class List(Spec):
    def __init__(self, item, max_len=100_000, length=None):
        self.item, self.max_len, self.length = item, max_len, length
        count = f"{length}" if length is not None else f"at most {max_len}"
        self.description = f"a list of {count} items ({item.description})"

    def check(self, value, where, depth):
        if depth > MAX_DEPTH:
            raise _Invalid(where, f"nesting at most {MAX_DEPTH} deep", value)
        if not isinstance(value, list) or len(value) > self.max_len or (
                self.length is not None and len(value) != self.length):
            raise _Invalid(where, self.description, value)
        for i, item in enumerate(value):
            self.item.check(item, _key(where, i), depth + 1)
        return value


class Dict(Spec):
    """An object with known keys; ``required`` must be present; others are free JSON.

    Parameters
    ----------
    fields : dict
        key -> spec.
    required : iterable of str
    values : Spec or None
        Spec of the keys not in ``fields`` (``None``: any JSON, depth-checked).
    max_len : int
        Most keys allowed.
    """

    def __init__(self, fields=None, required=(), values=None, max_len=10_000):
        self.fields = dict(fields or {})
        self.required = tuple(required)
        self.values = values
        self.max_len = max_len
        self.description = "an object"

    def check(self, value, where, depth):
        if depth > MAX_DEPTH:
            raise _Invalid(where, f"nesting at most {MAX_DEPTH} deep", value)
        if not isinstance(value, dict) or len(value) > self.max_len:
            raise _Invalid(where, f"an object with at most {self.max_len} keys", value)
        for name in self.required:
            if name not in value:
                raise _Invalid(_key(where, name), "a value (the key is missing)", _MISSING)
        for name, item in value.items():
            spec = self.fields.get(name, self.values)
            (spec or _ANY).check(item, _key(where, name), depth + 1)
        return value


class _Missing:
    pass


_MISSING = _Missing()


class Json(Spec):
    """Any JSON value, nesting at most ``max_depth`` deep, numbers within ``MAX_ABS``."""

    description = "a JSON value"

    def __init__(self, max_depth=MAX_DEPTH, max_str=1_000_000):
        self.max_depth = max_depth
        self.max_str = max_str

    def check(self, value, where, depth):
        stack = [(value, where, depth)]
        while stack:
            item, here, level = stack.pop()
            if level > self.max_depth:
                raise _Invalid(here, f"nesting at most {self.max_depth} deep", item)
            if isinstance(item, dict):
                stack.extend((v, _key(here, k), level + 1) for k, v in item.items())
            elif isinstance(item, list):
                stack.extend((v, _key(here, i), level + 1) for i, v in enumerate(item))
            elif isinstance(item, str):
                if len(item) > self.max_str:
                    raise _Invalid(here, f"text of at most {self.max_str} characters", item)
            elif isinstance(item, int) and not isinstance(item, bool):
                if abs(item) > MAX_ABS:
                    raise _Invalid(here, f"a number of magnitude at most {MAX_ABS:g}", item)
            elif not (item is None or isinstance(item, (bool, float))):
                raise _Invalid(here, self.description, item)
        return value


_ANY = Json()


def validate(doc, spec, label, error=ResultError, where=""):
    """Check ``doc`` against ``spec``; raise ``error`` naming ``label`` and the key.

    ``where`` is the key of ``doc`` inside its file (``""`` for the whole file).
    Returns ``doc`` unchanged.
    """
    try:
        spec.check(doc, where, 0)
    except _Invalid as bad:
        got = "nothing" if bad.value is _MISSING else _describe(bad.value)
        where = bad.where or "the document"
        raise error(f"{label}: {where}: expected {bad.expected}; got {got}.") from None
    return doc


def read_json(path, label=None, error=ResultError, max_bytes=64 << 20):
    """Read a JSON file written by brainviz, refusing what is too big or too deep.

    Raises ``error`` with one line naming the file for a missing, unreadable,
    oversized, invalid or too deeply nested document.
    """
    label = label or str(path)
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise error(f"{label}: the file holds {size} bytes, more than the {max_bytes} "
                        "a brainviz document may hold.")
        with open(path, "rb") as f:
            text = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{label} does not exist.") from None
    except IsADirectoryError:
        raise error(f"{label} is a folder, not a file.") from None
    except OSError as exc:
        raise error(f"Cannot read {label}: {exc.strerror or exc}.") from None
    try:
        return json.loads(text.decode("utf-8"))
    except RecursionError:
        raise error(f"{label} is not a valid brainviz document: nesting too deep.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{label} is not valid JSON: {reason}") from None


# --- sessions ----------------------------------------------------------------------
_VEC3 = List(Num(-1e9, 1e9), length=3)
_NAME = Str(1000)
_PATH = Str(4096)
_SCALAR = AnyOf(Null(), Bool(), Num(-1e30, 1e30), Str(1000))
#: A display setting: a scalar or a short list of scalars (its meaning is the layer's to check).
_DISPLAY = AnyOf(_SCALAR, List(_SCALAR, max_len=64))

_LAYER = Dict(
    fields={
        "type": Str(64, allow_empty=False),   # version 2: a layer class name
        "kind": Str(64, allow_empty=False),   # version 1: a layer label
        "name": _NAME,
        "path": _PATH,
        "source": _PATH,
        "result_folder": _PATH,
        "result_key": _NAME,
        "coords_source": _PATH,
        "values_path": _PATH,
        "hemi": Str(16),
        "names": Dict(values=Str(1000), max_len=100_000),
        "matrix": List(List(Num(finite=False), max_len=20_000), max_len=20_000),
        "coords": List(_VEC3, max_len=20_000),
        "labels": AnyOf(Null(), List(AnyOf(Str(1000), Num(finite=False)), max_len=20_000)),
        "networks": AnyOf(Null(), List(AnyOf(Str(1000), Null()), max_len=20_000)),
    },
    values=_DISPLAY,
    max_len=200,
)

_JOB = Dict(
    fields={
        # every kind of brainviz.model.JobState (a test holds them equal)
        "kind": Enum("decoding", "searchlight", "regions", "connectivity"),
        "title": Str(1000),
        "params": Dict(max_len=1000),
        "inputs": List(Str(4096), max_len=100_000),
        "state": Str(32),
        "result_folder": _PATH,
        "from_cache": Bool(),
        "headline": Str(1000),
    },
    max_len=200,
)

_CAMERA = Dict(
    fields={
        "position": _VEC3,
        "focal_point": _VEC3,
        "view_up": _VEC3,
        "view_angle": Num(0.01, 179.99),
        "parallel_scale": Num(1e-9, 1e9),
        "parallel_projection": Bool(),
        "clip": Int(-1, 1),
    },
    max_len=50,
)

#: What a session file (``brainviz-session``, versions 1 and 2) may hold.
SESSION_SCHEMA = Dict(
    fields={
        "format": Enum("brainviz-session"),
        "version": Int(1, 2),
        "layers": List(_LAYER, max_len=1000),
        "jobs": List(_JOB, max_len=10_000),
        "cursor": _VEC3,
        "camera": AnyOf(Null(), _CAMERA),
        "title": Str(1000),
        # how the result view shows results (brainviz.model.Session.confusion)
        "views": Dict(fields={"confusion": Enum("counts", "true", "pred", "all")},
                      max_len=100),
    },
    required=("format", "layers"),
    max_len=100,
)


def check_session(doc, label, error=ResultError, layer_types=None):
    """Validate a session document (one line naming ``label`` and the key on failure).

    ``layer_types``: the names a layer's ``type`` (version 2) or ``kind``
    (version 1) may take, when given.
    """
    validate(doc, SESSION_SCHEMA, label, error)
    key = "type" if doc.get("version", 1) >= 2 else "kind"
    for i, layer in enumerate(doc["layers"]):
        if key not in layer:
            raise error(f"{label}: layers[{i}].{key}: expected a value (the key is missing); "
                        "got nothing.")
        if layer_types is not None:
            validate(layer[key], Enum(*layer_types), label, error, where=f"layers[{i}].{key}")
    camera = doc.get("camera") or {}
    if "view_up" in camera and not any(camera["view_up"]):
        raise error(f"{label}: camera.view_up: expected a non-zero vector; got "
                    f"{camera['view_up']}.")
    if "position" in camera and "focal_point" in camera and \
            camera["position"] == camera["focal_point"]:
        raise error(f"{label}: camera.position: expected a point other than camera.focal_point; "
                    f"got {camera['position']} for both.")
    return doc
