"""Cortical surface meshes and per-vertex data (GIfTI and FreeSurfer).

A :class:`Surface` is a triangle mesh in world millimetres (RAS+) with any
number of per-vertex arrays attached (sulcal depth, curvature, a projected
statistical map...). :func:`load_surface` reads the mesh, :func:`load_surface_data`
reads one per-vertex array.

Supported files
---------------
===================================  ===========================================
mesh (:func:`load_surface`)          GIfTI ``.gii`` / ``.gii.gz`` holding a
                                     POINTSET and a TRIANGLE array; FreeSurfer
                                     geometry (``lh.pial``, ``rh.white``,
                                     ``lh.inflated``, ``*.sphere``...)
per-vertex data                      GIfTI ``.gii`` / ``.gii.gz`` data arrays
(:func:`load_surface_data`)          (func, shape, label); FreeSurfer morphometry
                                     (``.sulc``, ``.curv``, ``.thickness``,
                                     ``.area``, ...); FreeSurfer ``.mgh`` /
                                     ``.mgz`` holding one value per vertex;
                                     FreeSurfer ``.annot`` (the label of each vertex)
===================================  ===========================================

FreeSurfer geometry is stored in "surface RAS" (tkr) coordinates; when the file
carries the volume geometry block, its centre (``cras``) is added so that the
mesh lands in scanner RAS, the space of the subject's volumes (as
``mris_convert --to-scanner`` and Freeview do).
"""
import warnings
from pathlib import Path

import numpy as np

from ..exceptions import (
    DataValueError,
    DimensionError,
    EmptyFileError,
    ImageNotFoundError,
    NotAFileError,
    ShapeMismatchError,
    UnsupportedFormatError,
)

__all__ = ["Surface", "load_surface", "load_surface_data"]

# FreeSurfer per-vertex ("morph" / "curv") files, named like lh.sulc, rh.thickness
_MORPH_SUFFIXES = {
    ".sulc", ".curv", ".thickness", ".area", ".volume", ".jacobian_white",
    ".avg_curv", ".inflated_H", ".inflated_K", ".w-g.pct", ".mid",
}
_GIFTI_POINTSET = 1008  # NIFTI_INTENT_POINTSET
_GIFTI_TRIANGLE = 1009  # NIFTI_INTENT_TRIANGLE
_CURV_MAGIC = b"\xff\xff\xff"


def _check_readable(path, what):
    """Return ``path`` as a Path after checking it is a non-empty file.

    Raises the brainviz error that says what is wrong, naming the file and
    what was expected (``what``, e.g. "a surface file").
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ImageNotFoundError(f"No such file: '{path}' (expected {what}).")
    if path.is_dir():
        raise NotAFileError(f"'{path}' is a directory, not a file (expected {what}).")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"'{path}' is empty (0 bytes); expected {what}.")
    return path


def _stem(path):
    """File name without its (possibly double) image extension."""
    name = Path(path).name
    for ext in (".gii.gz", ".gii", ".mgz", ".mgh", ".nii.gz", ".nii"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def _is_gifti(path):
    name = str(path).lower()
    return name.endswith(".gii") or name.endswith(".gii.gz")


class Surface:
    """A triangle mesh in world millimetres with per-vertex data.

    Parameters
    ----------
    vertices : array-like, shape (n_vertices, 3)
        Vertex coordinates in mm (RAS+). Must be finite.
    faces : array-like of int, shape (n_faces, 3)
        Triangles as indices into ``vertices`` (0-based).
    data : dict of str -> array-like, default=None
        Per-vertex arrays, each of length ``n_vertices`` (shape (n,) or (n, k)).
    name : str, default=None
        Display name; defaults to ``"surface"``.
    path : path-like, default=None
        File the mesh was read from, used in messages.
    geometry : str, default="mesh"
        Name of the geometry ``vertices`` are (``"pial"``, ``"white"``...): other
        geometries of the same mesh (same faces, vertex i the same point of
        cortex) can be added with :meth:`add_geometry`.
    hemi : {"left", "right"} or None, default=None
        The hemisphere the mesh covers, when known.

    Attributes
    ----------
    vertices : ndarray of float64, shape (n_vertices, 3)
    faces : ndarray of int64, shape (n_faces, 3)
    data : dict of str -> ndarray
        Per-vertex arrays. ``data["values"]`` is the map a surface layer shows;
        ``data["sulc"]`` (or ``"curv"``) shades the mesh.
    geometries : dict of str -> ndarray
        Every geometry of the mesh, ``vertices`` under ``geometry``.
    name : str
    path : pathlib.Path or None
    """

    def __init__(self, vertices, faces, *, data=None, name=None, path=None, geometry="mesh",
                 hemi=None):
        self.path = None if path is None else Path(path)
        self.name = str(name) if name is not None else (_stem(path) if path else "surface")
        where = self._where()
        vertices = np.asarray(vertices, dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or vertices.shape[0] == 0:
            raise DimensionError(
                f"The vertices of {where} must be an (n, 3) array of coordinates with n > 0; "
                f"got shape {vertices.shape}."
            )
        if not np.all(np.isfinite(vertices)):
            n_bad = int(np.count_nonzero(~np.all(np.isfinite(vertices), axis=1)))
            raise DataValueError(
                f"{where} has {n_bad} vertices with non-finite (NaN or infinite) coordinates; "
                "expected finite coordinates in mm."
            )
        faces = np.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise DimensionError(
                f"The faces of {where} must be an (m, 3) array of vertex indices (triangles); "
                f"got shape {faces.shape}."
            )
        if faces.size and not np.issubdtype(faces.dtype, np.integer):
            if not np.all(np.isfinite(faces)) or np.any(faces != np.round(faces)):
                raise DataValueError(
                    f"The faces of {where} must hold whole vertex indices; got dtype {faces.dtype}."
                )
        faces = faces.astype(np.int64)
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise DataValueError(
                f"The faces of {where} index vertices {int(faces.min())}..{int(faces.max())}, "
                f"but the mesh has {len(vertices)} vertices (valid indices 0..{len(vertices) - 1})."
            )
        self.vertices = vertices
        self.faces = faces
        self.geometry = str(geometry)
        self.geometries = {self.geometry: vertices}
        self.hemi = hemi
        self.data = {}
        for key, values in (data or {}).items():
            self.add_data(key, values)

    @property
    def values(self):
        """The per-vertex map a surface layer shows (``data["values"]``), or None."""
        values = self.data.get("values")
        if values is not None and values.ndim == 2:
            return values[:, 0]
        return values

    def add_geometry(self, name, vertices):
        """Add another geometry of the same mesh (e.g. ``"inflated"``): (n_vertices, 3) mm."""
        vertices = np.asarray(vertices, dtype=np.float64)
        if vertices.shape != self.vertices.shape or not np.all(np.isfinite(vertices)):
            raise ShapeMismatchError(
                f"Geometry {name!r} of {self._where()} must be {self.vertices.shape} finite "
                f"coordinates (one per vertex); got shape {vertices.shape}.")
        self.geometries[str(name)] = vertices
        return vertices

    def copy(self):
        """A new Surface sharing the (read-only) arrays, with its own data and geometry dicts."""
        out = Surface.__new__(Surface)
        out.__dict__.update(self.__dict__)
        out.data = dict(self.data)
        out.geometries = dict(self.geometries)
        return out

    def _where(self):
        if self.path is not None:
            return f"surface '{self.name}' ({self.path})"
        return f"surface '{self.name}'"

    @property
    def n_vertices(self):
        """Number of vertices."""
        return len(self.vertices)

    @property
    def n_faces(self):
        """Number of triangles."""
        return len(self.faces)

    @property
    def bounds(self):
        """World-mm bounding box as ``(xmin, xmax, ymin, ymax, zmin, zmax)``."""
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return tuple(float(v) for pair in zip(lo, hi) for v in pair)

    def add_data(self, name, values):
        """Attach a per-vertex array (or a file holding one) under ``name``.

        Parameters
        ----------
        name : str
            Key in :attr:`data`.
        values : array-like or path-like
            ``n_vertices`` values (shape (n,) or (n, k)), or a file readable by
            :func:`load_surface_data`.

        Returns
        -------
        ndarray
            The stored array.

        Raises
        ------
        ShapeMismatchError
            When the number of values differs from the number of vertices.
        """
        source = None
        if isinstance(values, (str, Path)):
            source = Path(values)
            values = load_surface_data(source)
        values = np.asarray(values)
        if values.ndim == 0 or values.ndim > 2 or len(values) != self.n_vertices:
            what = f"'{source}'" if source is not None else f"data '{name}'"
            raise ShapeMismatchError(
                f"{what} has {values.shape[0] if values.ndim else 0} values "
                f"(shape {values.shape}), but {self._where()} has {self.n_vertices} vertices; "
                "expected one value per vertex."
            )
        self.data[str(name)] = values
        return values

    def __repr__(self):
        keys = ", ".join(sorted(self.data)) or "none"
        return (
            f"<Surface '{self.name}': {self.n_vertices} vertices, {self.n_faces} faces, "
            f"data: {keys}>"
        )


def load_surface(path, *, name=None):
    """Read a surface mesh from a GIfTI or FreeSurfer geometry file.

    Parameters
    ----------
    path : str or path-like
        ``.gii`` / ``.gii.gz`` with a POINTSET and a TRIANGLE array, or a
        FreeSurfer geometry file (``lh.pial``, ``rh.white``, ...).
    name : str, default=None
        Display name; defaults to the file name without extension.

    Returns
    -------
    Surface
        Vertices in world mm. For FreeSurfer files carrying the volume geometry
        block, the scanner centre (``cras``) is added to the surface-RAS
        coordinates so that the mesh sits on the subject's volumes.

    Raises
    ------
    ImageNotFoundError, NotAFileError, EmptyFileError
        Missing path, a directory, an empty file.
    UnsupportedFormatError
        The file is not a mesh (e.g. per-vertex data) or cannot be parsed.
    """
    path = _check_readable(path, "a surface mesh (GIfTI .gii/.gii.gz or FreeSurfer geometry)")
    if _is_gifti(path):
        vertices, faces = _read_gifti_mesh(path)
    else:
        vertices, faces = _read_freesurfer_mesh(path)
    return Surface(vertices, faces, name=name, path=path)


def _load_gifti(path):
    import nibabel as nib

    try:
        return nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for broken XML or gzip
        raise UnsupportedFormatError(
            f"Cannot read '{path}' as GIfTI: {exc}. Expected a valid .gii or .gii.gz file."
        ) from exc


def _read_gifti_mesh(path):
    img = _load_gifti(path)
    points = [d for d in img.darrays if d.intent == _GIFTI_POINTSET]
    triangles = [d for d in img.darrays if d.intent == _GIFTI_TRIANGLE]
    if not points or not triangles:
        missing = "POINTSET" if not points else "TRIANGLE"
        raise UnsupportedFormatError(
            f"'{path}' has no {missing} array, so it is not a surface mesh "
            "(a GIfTI mesh holds a POINTSET and a TRIANGLE array). "
            "If it holds per-vertex values, read it with load_surface_data."
        )
    return points[0].data, triangles[0].data


def _read_freesurfer_mesh(path):
    from nibabel.freesurfer import read_geometry

    if path.suffix in _MORPH_SUFFIXES:
        raise UnsupportedFormatError(
            f"'{path}' is a FreeSurfer per-vertex data file ({path.suffix}), not a mesh; "
            "read it with load_surface_data and attach it to a Surface."
        )
    try:
        with warnings.catch_warnings():
            # files without the optional volume-geometry block are normal
            warnings.filterwarnings("ignore", "No volume information")
            warnings.filterwarnings("ignore", "Unknown extension code")
            coords, faces, meta = read_geometry(str(path), read_metadata=True)
    except Exception as exc:
        raise UnsupportedFormatError(
            f"Cannot read '{path}' as a surface mesh: it is neither GIfTI (.gii/.gii.gz) "
            f"nor FreeSurfer geometry ({exc})."
        ) from exc
    cras = meta.get("cras") if isinstance(meta, dict) else None
    if cras is not None:
        coords = coords + np.asarray(cras, dtype=np.float64)
    return coords, faces


def load_surface_data(path, *, n_vertices=None):
    """Read per-vertex values from a surface data file.

    Parameters
    ----------
    path : str or path-like
        GIfTI (``.gii``/``.gii.gz``) data arrays, FreeSurfer morphometry
        (``.sulc``, ``.curv``, ``.thickness``...), FreeSurfer ``.mgh``/``.mgz``
        with one value per vertex, or a FreeSurfer ``.annot`` (label of each vertex).
    n_vertices : int, default=None
        When given, the number of values must equal it (the vertex count of
        the mesh the data belongs to).

    Returns
    -------
    ndarray, shape (n_vertices,) or (n_vertices, n_maps)
        One column per GIfTI data array or MGH frame.

    Raises
    ------
    ImageNotFoundError, NotAFileError, EmptyFileError
        Missing path, a directory, an empty file.
    UnsupportedFormatError
        The file holds a mesh or is not a known per-vertex format.
    ShapeMismatchError
        ``n_vertices`` is given and the file holds another number of values.
    """
    path = _check_readable(
        path, "per-vertex surface data (GIfTI, FreeSurfer .sulc/.curv/.thickness, .mgh/.mgz)"
    )
    lower = path.name.lower()
    if _is_gifti(path):
        values = _read_gifti_data(path)
    elif lower.endswith(".mgh") or lower.endswith(".mgz"):
        values = _read_mgh_data(path)
    elif lower.endswith(".annot"):
        values = _read_annot(path)
    else:
        values = _read_morph(path)
    if n_vertices is not None and len(values) != int(n_vertices):
        raise ShapeMismatchError(
            f"'{path}' has {len(values)} values per map, but the mesh has {int(n_vertices)} "
            "vertices; expected one value per vertex."
        )
    return values


def _read_gifti_data(path):
    img = _load_gifti(path)
    arrays = [d for d in img.darrays if d.intent not in (_GIFTI_POINTSET, _GIFTI_TRIANGLE)]
    if not arrays:
        if img.darrays:
            raise UnsupportedFormatError(
                f"'{path}' holds a mesh (POINTSET/TRIANGLE arrays), not per-vertex values; "
                "read it with load_surface."
            )
        raise UnsupportedFormatError(f"'{path}' holds no data arrays; expected per-vertex values.")
    columns = [np.asarray(d.data) for d in arrays]
    lengths = {c.shape[0] for c in columns}
    if len(lengths) != 1 or any(c.ndim > 2 for c in columns):
        raise UnsupportedFormatError(
            f"'{path}' holds data arrays of different lengths or ranks "
            f"({[c.shape for c in columns]}); expected one value per vertex in each array."
        )
    if len(columns) == 1:
        return columns[0]
    return np.column_stack(columns)


def _read_mgh_data(path):
    import nibabel as nib

    try:
        img = nib.load(str(path))
        values = np.asarray(img.dataobj)
    except Exception as exc:
        raise UnsupportedFormatError(f"Cannot read '{path}' as MGH/MGZ: {exc}.") from exc
    # Per-vertex MGH files store (n_vertices, 1, 1[, n_frames]).
    if values.ndim < 3 or values.shape[1:3] != (1, 1):
        raise UnsupportedFormatError(
            f"'{path}' has shape {values.shape}; a per-vertex MGH/MGZ file has shape "
            "(n_vertices, 1, 1) or (n_vertices, 1, 1, n_frames). Is it a volume? "
            "Open volumes with load_volume."
        )
    values = values.reshape(values.shape[0], -1)
    return values[:, 0] if values.shape[1] == 1 else values


def _read_annot(path):
    from nibabel.freesurfer import read_annot

    try:
        labels, _, _ = read_annot(str(path))
    except Exception as exc:
        raise UnsupportedFormatError(f"Cannot read '{path}' as a FreeSurfer .annot: {exc}.") from exc
    return labels


def _read_morph(path):
    from nibabel.freesurfer import read_morph_data

    with open(path, "rb") as fobj:
        magic = fobj.read(3)
    # Only the "new" curv format has a magic number; refuse anything else rather
    # than read arbitrary bytes as values.
    if magic != _CURV_MAGIC:
        raise UnsupportedFormatError(
            f"Cannot read '{path}' as per-vertex data: not GIfTI (.gii/.gii.gz), MGH (.mgh/.mgz), "
            "FreeSurfer .annot, or FreeSurfer morphometry (.sulc, .curv, .thickness, ...)."
        )
    if not path.suffix or path.suffix not in _MORPH_SUFFIXES:
        # Surface geometry files of the quad type share this magic number.
        looks_like_mesh = path.suffix in {".pial", ".white", ".inflated", ".sphere", ".orig"}
        if looks_like_mesh:
            raise UnsupportedFormatError(
                f"'{path}' is a FreeSurfer mesh, not per-vertex data; read it with load_surface."
            )
    try:
        return read_morph_data(str(path))
    except Exception as exc:
        raise UnsupportedFormatError(
            f"Cannot read '{path}' as FreeSurfer morphometry data: {exc}."
        ) from exc
