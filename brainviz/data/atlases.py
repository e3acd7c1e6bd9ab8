"""Coordinate atlases (nodes in mm) and label images (parcellations) with their names.

* :class:`CoordinateAtlas` / :func:`load_coordinate_atlas`: a table of node
  coordinates (CSV/TSV with ``x``, ``y``, ``z`` columns, optional ``label`` and
  ``network`` columns), what a connectome is drawn on.
* :class:`LabelImage` / :func:`load_label_image`: a 3D image of whole numbers
  (0 = background) and the name of each value, read from a dict or from a label
  table file: TSV/CSV (``index``, ``name``), FSL atlas XML, or a FreeSurfer
  colour look-up table (``index name r g b a``).
* :func:`region_centroids`: the centre of mass of each region in world mm.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import (
    DataValueError,
    DimensionError,
    ParameterError,
    ShapeMismatchError,
    UnsupportedFormatError,
)
from .surfaces import _check_readable

__all__ = [
    "CoordinateAtlas",
    "load_coordinate_atlas",
    "LabelImage",
    "load_label_image",
    "region_centroids",
]

_LABEL_COLUMNS = ("label", "labels", "name", "names", "region", "roi_name")
_NETWORK_COLUMNS = ("network", "networks", "net", "system")


# --------------------------------------------------------------------------
# coordinate atlases
# --------------------------------------------------------------------------
@dataclass
class CoordinateAtlas:
    """Nodes at world-mm coordinates, with names and optional network names.

    Parameters
    ----------
    coords : array-like, shape (n_nodes, 3)
        Node centres in mm (MNI / RAS+). Must be finite.
    labels : list of str, default=None
        One name per node; defaults to ``"<name> 1"``, ``"<name> 2"``, ...
    networks : list of str or None, default=None
        The network (system) each node belongs to.
    name : str, default="atlas"
    """

    coords: np.ndarray
    labels: list = None
    networks: list = None
    name: str = "atlas"

    def __post_init__(self):
        coords = np.asarray(self.coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] != 3:
            raise DimensionError(
                f"The coordinates of atlas '{self.name}' must be an (n, 3) array of x, y, z in mm; "
                f"got shape {coords.shape}."
            )
        if not np.all(np.isfinite(coords)):
            raise DataValueError(
                f"Atlas '{self.name}' has non-finite coordinates; expected finite x, y, z in mm."
            )
        self.coords = coords
        n = len(coords)
        if self.labels is None:
            self.labels = [f"{self.name} {i + 1}" for i in range(n)]
        self.labels = [str(v) for v in self.labels]
        if len(self.labels) != n:
            raise ShapeMismatchError(
                f"Atlas '{self.name}' has {n} coordinates but {len(self.labels)} labels; "
                "expected one label per node."
            )
        if self.networks is not None:
            self.networks = [str(v) for v in self.networks]
            if len(self.networks) != n:
                raise ShapeMismatchError(
                    f"Atlas '{self.name}' has {n} coordinates but {len(self.networks)} network "
                    "names; expected one per node."
                )

    def __len__(self):
        return len(self.coords)

    @property
    def n_nodes(self):
        """Number of nodes."""
        return len(self.coords)

    @property
    def network_names(self):
        """Distinct network names in order of first appearance (empty if none)."""
        return list(dict.fromkeys(self.networks)) if self.networks is not None else []

    def select(self, network):
        """The nodes of one network (or of a list of networks) as a new atlas."""
        if self.networks is None:
            raise ParameterError(f"Atlas '{self.name}' has no network names to select from.")
        wanted = {network} if isinstance(network, str) else set(network)
        unknown = wanted - set(self.networks)
        if unknown:
            raise ParameterError(
                f"Unknown network(s) {sorted(unknown)} in atlas '{self.name}'; "
                f"allowed: {self.network_names}."
            )
        keep = [i for i, net in enumerate(self.networks) if net in wanted]
        return CoordinateAtlas(
            self.coords[keep], labels=[self.labels[i] for i in keep],
            networks=[self.networks[i] for i in keep], name=self.name,
        )


def _read_table(path):
    """Read a small delimited text file into (header, rows) of strings."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return [], [], None
    name = path.name.lower()
    if name.endswith(".csv"):
        delimiter = ","
    elif name.endswith(".tsv") or "\t" in lines[0]:
        delimiter = "\t"
    elif "," in lines[0]:
        delimiter = ","
    else:
        delimiter = None  # any run of whitespace
    if delimiter is None:
        rows = [ln.split() for ln in lines]
    else:
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO("\n".join(lines)),
                                                            delimiter=delimiter)]
    return rows[0], rows[1:], delimiter


def load_coordinate_atlas(path, *, name=None):
    """Read node coordinates from a CSV or TSV file.

    Parameters
    ----------
    path : str or path-like
        A table with a header row holding ``x``, ``y`` and ``z`` columns
        (case-insensitive), in mm; optionally a label column (``label`` or
        ``name``) and a ``network`` column. ``.csv`` is comma-separated,
        ``.tsv`` tab-separated; other extensions are sniffed (tab, comma, spaces).
    name : str, default=None
        Atlas name; defaults to the file name without extension.

    Returns
    -------
    CoordinateAtlas

    Raises
    ------
    ImageNotFoundError, NotAFileError, EmptyFileError
        Missing path, a directory, an empty file.
    DataValueError
        No rows, a missing x/y/z column, or a coordinate that is not a number.
    """
    path = _check_readable(path, "a CSV/TSV table of node coordinates with x, y, z columns")
    header, rows, _ = _read_table(path)
    if not header:
        raise DataValueError(f"'{path}' holds no table; expected a header with x, y, z columns.")
    lower = [h.strip().lower() for h in header]
    missing = [c for c in ("x", "y", "z") if c not in lower]
    if missing:
        raise DataValueError(
            f"'{path}' has no {', '.join(missing)} column(s); expected a header with x, y, z "
            f"columns (any case). Found columns: {header}."
        )
    if not rows:
        raise DataValueError(f"'{path}' has a header but no rows; expected one row per node.")
    idx = {c: lower.index(c) for c in ("x", "y", "z")}
    coords = np.empty((len(rows), 3))
    for r, row in enumerate(rows):
        for j, c in enumerate("xyz"):
            cell = row[idx[c]] if idx[c] < len(row) else ""
            try:
                value = float(cell)
            except ValueError:
                value = np.nan
            if not np.isfinite(value):
                raise DataValueError(
                    f"'{path}', data row {r + 1}: column {c!r} holds {cell!r}, which is not a "
                    "finite number; expected coordinates in mm."
                )
            coords[r, j] = value

    def column(candidates):
        for cand in candidates:
            if cand in lower:
                k = lower.index(cand)
                return [row[k] if k < len(row) else "" for row in rows]
        return None

    name = name if name is not None else path.name.split(".")[0]
    return CoordinateAtlas(
        coords, labels=column(_LABEL_COLUMNS), networks=column(_NETWORK_COLUMNS), name=name
    )


# --------------------------------------------------------------------------
# label images
# --------------------------------------------------------------------------
@dataclass
class LabelImage:
    """A parcellation: a 3D image of whole numbers and the name of each value.

    Parameters
    ----------
    volume : Volume
        3D image whose values are region ids (0 = background).
    labels : dict of int -> str
        Region names. Ids present in the image but absent here are named ``"region <id>"``.
    colors : dict of int -> tuple of 4 int, default=None
        RGBA colours (0-255) from the label table, when it has them.
    """

    volume: object
    labels: dict
    colors: dict = field(default=None)

    def __post_init__(self):
        self._ids = None

    @property
    def name(self):
        return self.volume.name

    def _array(self):
        return np.asarray(self.volume.get_data())

    @property
    def region_ids(self):
        """Sorted ids of the regions present in the image (background 0 excluded)."""
        if self._ids is None:
            ids = np.unique(self._array())
            self._ids = [int(i) for i in ids if i != 0]
        return list(self._ids)

    @property
    def region_names(self):
        """Names of :attr:`region_ids`, in the same order."""
        return [self.labels.get(i, f"region {i}") for i in self.region_ids]

    def centroids(self):
        """Centre of mass of each region in world mm, shape (n_regions, 3).

        Rows follow :attr:`region_ids`. A region split across hemispheres has its
        centroid between its parts.
        """
        return region_centroids(self)[1]

    def to_image(self):
        """The label image as a nibabel image (for nilearn)."""
        return self.volume.to_image()


def load_label_image(path, labels=None, *, name=None):
    """Read a label image (parcellation) and its label table.

    Parameters
    ----------
    path : str, path-like, nibabel image or Volume
        3D image of whole numbers (0 = background).
    labels : dict or str or path-like, default=None
        ``{id: name}``, or a label table file:

        * TSV/CSV/TXT with an index and a name per line (a header naming
          ``index`` and ``name`` columns is optional; a BIDS ``color`` column
          ``#rrggbb`` is read);
        * FSL atlas XML (``<label index="..">name</label>``): a ``value``
          attribute is the image value when present; otherwise, following FSL's
          convention for label atlases, the image value is ``index + 1``;
        * FreeSurfer colour LUT (``index name r g b a`` per line, ``#`` comments).

        ``None``: regions are named ``"region <id>"``.
    name : str, default=None
        Display name of the volume.

    Returns
    -------
    LabelImage

    Raises
    ------
    DimensionError
        The image is not 3D.
    DataValueError
        The image holds values that are not whole numbers, or the table is empty.
    UnsupportedFormatError
        The label table cannot be parsed.
    """
    from .volumes import load_volume, require_3d

    volume = load_volume(path, name=name) if name is not None else load_volume(path)
    require_3d(volume, "a label image (parcellation)")
    data = np.asarray(volume.get_data())
    finite = data[np.isfinite(data)]
    if finite.size != data.size or np.any(finite != np.round(finite)):
        where = volume.path if volume.path is not None else volume.name
        raise DataValueError(
            f"'{where}' holds values that are not whole numbers (e.g. "
            f"{_first_bad(data)}); a label image holds integer region ids (0 = background)."
        )
    colors = None
    if labels is None:
        table = {}
    elif isinstance(labels, dict):
        table = {int(k): str(v) for k, v in labels.items()}
    elif isinstance(labels, (str, Path)):
        table, colors = read_label_table(labels)
    else:
        raise ParameterError(
            "The 'labels' parameter of load_label_image must be None, a dict {id: name}, or "
            f"the path of a label table; got {type(labels).__name__}."
        )
    return LabelImage(volume=volume, labels=table, colors=colors)


def _first_bad(data):
    bad = data[~np.isfinite(data) | (data != np.round(np.nan_to_num(data)))]
    return float(bad.flat[0]) if bad.size else None


def read_label_table(path):
    """Read a label table file into ``({id: name}, {id: (r, g, b, a)} or None)``.

    See :func:`load_label_image` for the formats.
    """
    path = _check_readable(
        path, "a label table (TSV/CSV 'index name', FSL atlas XML, or FreeSurfer LUT)"
    )
    if path.suffix.lower() == ".xml":
        table, colors = _read_fsl_xml(path)
    else:
        table, colors = _read_text_table(path)
    if not table:
        raise DataValueError(f"Label table '{path}' holds no labels; expected 'index name' rows.")
    return table, colors


def _read_fsl_xml(path):
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError as exc:
        raise UnsupportedFormatError(f"Cannot parse '{path}' as XML: {exc}.") from exc
    kind = (root.findtext("header/type") or "label").strip().lower()
    table = {}
    for node in root.iter("label"):
        text = (node.text or "").strip()
        try:
            if "value" in node.attrib:
                value = int(node.attrib["value"])
            else:
                index = int(node.attrib["index"])
                # FSL label atlases store region i at image value i + 1.
                value = index + 1 if kind == "label" else index
        except (KeyError, ValueError) as exc:
            raise UnsupportedFormatError(
                f"'{path}': a <label> element has no whole-number 'index' attribute "
                f"({node.attrib}); expected FSL atlas XML (<label index=\"0\">name</label>)."
            ) from exc
        table[value] = text
    return table, None


_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def _read_text_table(path):
    header, rows, delimiter = _read_table(path)
    if not header:
        return {}, None
    first_is_header = not _is_int(header[0])
    if first_is_header:
        lower = [h.lower() for h in header]
        i_col = next((lower.index(c) for c in ("index", "id", "value") if c in lower), 0)
        n_col = next((lower.index(c) for c in ("name", "label", "region", "labels")
                      if c in lower and lower.index(c) != i_col), 1 if i_col != 1 else 0)
        c_col = lower.index("color") if "color" in lower else None
    else:
        rows = [header] + rows
        i_col, n_col, c_col = 0, 1, None
    table, colors = {}, {}
    for line_no, row in enumerate(rows, start=2 if first_is_header else 1):
        if len(row) <= max(i_col, n_col):
            raise UnsupportedFormatError(
                f"'{path}', row {line_no}: {row!r} has too few columns; expected an index and a name."
            )
        if not _is_int(row[i_col]):
            raise UnsupportedFormatError(
                f"'{path}', row {line_no}: index {row[i_col]!r} is not a whole number; "
                "expected 'index name' rows."
            )
        index = int(row[i_col])
        if index in table:
            raise DataValueError(f"'{path}', row {line_no}: index {index} appears twice.")
        if first_is_header or delimiter is not None:
            table[index] = row[n_col]
        elif len(row) >= 6 and all(_is_int(v) for v in row[-4:]):
            # FreeSurfer LUT: index name r g b a
            table[index] = " ".join(row[1:-4])
            colors[index] = tuple(int(v) for v in row[-4:])
        else:
            # "index name with spaces", split on whitespace
            table[index] = " ".join(row[1:])
        if c_col is not None and c_col < len(row):
            match = _HEX.match(row[c_col].strip())
            if match:
                rgb = bytes.fromhex(match.group(1))
                colors[index] = (rgb[0], rgb[1], rgb[2], 255)
    return table, (colors or None)


def _is_int(text):
    try:
        int(str(text).strip())
    except ValueError:
        return False
    return True


def region_centroids(label_volume_or_image):
    """Centre of mass of each labelled region, in world mm.

    Parameters
    ----------
    label_volume_or_image : LabelImage, Volume, nibabel image or path
        3D image of region ids (0 = background).

    Returns
    -------
    ids : ndarray of int, shape (n_regions,)
        Sorted region ids (0 excluded).
    coords : ndarray of float, shape (n_regions, 3)
        Centre of mass of each region's voxels mapped through the affine (mm).
    """
    from scipy import ndimage

    if isinstance(label_volume_or_image, LabelImage):
        volume = label_volume_or_image.volume
    else:
        from .volumes import load_volume, require_3d

        volume = load_volume(label_volume_or_image)
        require_3d(volume, "a label image (parcellation)")
    data = np.asarray(volume.get_data())
    data = np.where(np.isfinite(data), data, 0).astype(np.int64)
    ids = np.unique(data)
    ids = ids[ids != 0]
    if ids.size == 0:
        return ids, np.empty((0, 3))
    ijk = np.asarray(ndimage.center_of_mass(np.ones(data.shape), labels=data, index=ids))
    affine = np.asarray(volume.affine, dtype=np.float64)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    return ids, xyz
