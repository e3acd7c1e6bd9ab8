"""Checks and edge selection for connectome input: pure numpy, no VTK.

Kept apart from :mod:`brainviz.scene.connectome` so that the rules (what is
an edge, what a percentile threshold means, which nodes lie outside the
brain) are tested without rendering.
"""
import re
import warnings

import numpy as np

from ..exceptions import (BrainvizWarning, DataValueError, DimensionError, ParameterError,
                          ShapeMismatchError)

__all__ = ["check_graph", "candidate_edges", "resolve_threshold", "nodes_outside_brain", "warn_outside_brain",
           "resolve_node_colors", "check_node_size", "check_vmax",
           "BRAIN_BOUNDING_BOX"]

#: MNI152 brain bounding box (xmin, xmax, ymin, ymax, zmin, zmax) in mm, used when no brain mask is available.
BRAIN_BOUNDING_BOX = (-90.0, 90.0, -126.0, 90.0, -72.0, 108.0)

# A node this close to the brain mask (mm) still counts as inside: atlas peaks
# near the cortical surface fall a voxel or two outside a 2 mm mask.
OUTSIDE_TOLERANCE_MM = 6.0

_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


def check_graph(matrix, coords, *, directed=False, labels=None, networks=None):
    """Validate a connectome's inputs; return float arrays ``(matrix, coords)``.

    Rules (each broken one raises, naming the parameter):

    - ``coords`` is (n, 3) finite millimetres.
    - ``matrix`` is square (n, n) with n the number of coordinates.
    - Without ``directed=True`` the matrix is symmetric (within ``np.allclose``).
    - Infinite weights are an error. NaN weights off the diagonal mean "no
      edge": they are set to 0 with a :class:`~brainviz.exceptions.BrainvizWarning`
      that counts them (a partial-correlation estimate can hold a few). The
      diagonal (self-connections) is ignored whatever it holds.
    - ``labels`` and ``networks``, when given, have one entry per node.

    Raises
    ------
    DimensionError, ShapeMismatchError, DataValueError
    """
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise DimensionError(f"coords must be an (n, 3) array of x, y, z in mm; got shape {coords.shape}")
    if not np.all(np.isfinite(coords)):
        bad = np.flatnonzero(~np.all(np.isfinite(coords), axis=1))
        raise DataValueError(f"coords must be finite; node(s) {bad[:10].tolist()} hold NaN or inf")
    try:
        matrix = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        raise DataValueError(f"matrix must be a numeric (n, n) array; got {type(matrix).__name__}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise DimensionError(f"matrix must be a square (n, n) adjacency matrix; got shape {matrix.shape}")
    n = matrix.shape[0]
    if n != coords.shape[0]:
        raise ShapeMismatchError(
            f"matrix is {n} x {n} but coords has {coords.shape[0]} nodes: "
            "the matrix needs one row and one column per coordinate"
        )
    np.fill_diagonal(matrix, 0.0)
    if np.any(np.isinf(matrix)):
        i, j = np.argwhere(np.isinf(matrix))[0]
        raise DataValueError(f"matrix holds infinite weights, e.g. at [{i}, {j}]; weights must be finite")
    nan = np.isnan(matrix)
    if nan.any():
        pairs = np.argwhere(nan)
        count = int(nan.sum()) if directed else int(np.triu(nan | nan.T).sum())
        warnings.warn(
            f"matrix holds {count} NaN weight(s) off the diagonal (first at [{pairs[0][0]}, {pairs[0][1]}]); "
            "they are drawn as no edge",
            BrainvizWarning,
            stacklevel=3,
        )
        matrix[nan] = 0.0
    if not directed and not np.allclose(matrix, matrix.T):
        diff = np.abs(matrix - matrix.T)
        i, j = np.unravel_index(np.argmax(diff), diff.shape)
        raise DataValueError(
            f"matrix is not symmetric (|matrix[{i}, {j}] - matrix[{j}, {i}]| = {diff[i, j]:.3g}); "
            "pass directed=True to draw a directed graph"
        )
    for name, values in (("labels", labels), ("networks", networks)):
        if values is not None and len(values) != n:
            raise ShapeMismatchError(f"{name} must have one entry per node ({n}); got {len(values)}")
    return matrix, coords


def candidate_edges(matrix, *, directed=False):
    """Return the drawable edges of a checked matrix as ``(i, j, weight)`` arrays.

    Undirected: pairs i < j; directed: every i != j (an edge from i to j).
    Zero weights are not edges. Edges are sorted by increasing ``|weight|`` so
    the strongest are drawn last.
    """
    if directed:
        i, j = np.nonzero(matrix)
    else:
        i, j = np.nonzero(np.triu(matrix, k=1))
    w = matrix[i, j]
    order = np.argsort(np.abs(w), kind="stable")
    return i[order], j[order], w[order]


def resolve_threshold(threshold, matrix, *, directed=False):
    """Turn ``threshold`` into a number: edges with ``|weight| >= value`` are shown.

    Parameters
    ----------
    threshold : None, float or str
        None shows every non-zero edge (returns 0). A number >= 0 is an
        absolute threshold on ``|weight|``. A string such as ``"95%"`` is a
        percentile of the absolute off-diagonal weights (the upper triangle,
        or every off-diagonal entry when directed), zeros included, as in
        nilearn's ``plot_connectome``.
    matrix : ndarray of shape (n, n)
        The checked matrix.

    Raises
    ------
    ParameterError
        Negative numbers, percentages outside [0, 100], other strings or types.

    Examples
    --------
    >>> import numpy as np
    >>> from brainviz.scene._graph_input import resolve_threshold
    >>> m = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], float)
    >>> resolve_threshold("50%", m), resolve_threshold(2.5, m)
    (2.0, 2.5)
    """
    if threshold is None:
        return 0.0
    if isinstance(threshold, str):
        match = _PERCENT.match(threshold)
        if match is None:
            raise ParameterError(
                f"threshold must be a number >= 0 or a percentile string such as '95%'; got {threshold!r}"
            )
        pct = float(match.group(1))
        if not 0.0 <= pct <= 100.0:
            raise ParameterError(f"threshold percentile must be within 0% and 100%; got {threshold!r}")
        from ..model import graph_threshold

        return graph_threshold(threshold, matrix, directed=directed)
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, float, np.number)):
        raise ParameterError(
            f"threshold must be None, a number >= 0 or a percentile string such as '95%'; got {threshold!r}"
        )
    value = float(threshold)
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"threshold must be a finite number >= 0 (a threshold on |weight|); got {threshold!r}")
    return value


def nodes_outside_brain(coords):
    """Return the indices of nodes outside the MNI brain (plus a small tolerance).

    Uses the MNI152 brain mask from :func:`brainviz.data.load_brain_mask`,
    dilated by about 6 mm, when it can be loaded, else the MNI brain bounding
    box :data:`BRAIN_BOUNDING_BOX` (with the same tolerance).
    """
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    from ..data._masks import dilated_brain_mask

    mask = dilated_brain_mask(OUTSIDE_TOLERANCE_MM)
    if mask is None:
        b = np.asarray(BRAIN_BOUNDING_BOX)
        lo, hi = b[0::2] - OUTSIDE_TOLERANCE_MM, b[1::2] + OUTSIDE_TOLERANCE_MM
        outside = np.any((coords < lo) | (coords > hi), axis=1)
        return np.flatnonzero(outside)
    data, inv = mask
    ijk = np.round(coords @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    inside_grid = np.all((ijk >= 0) & (ijk < np.array(data.shape)), axis=1)
    inside = np.zeros(len(coords), dtype=bool)
    ok = ijk[inside_grid]
    inside[inside_grid] = data[ok[:, 0], ok[:, 1], ok[:, 2]]
    return np.flatnonzero(~inside)


def warn_outside_brain(coords, labels=None, stacklevel=3):
    """Warn (BrainvizWarning) naming the nodes outside the brain; return their indices."""
    outside = nodes_outside_brain(coords)
    if outside.size:
        shown = []
        for k in outside[:5]:
            name = f" {labels[k]!r}" if labels is not None else ""
            x, y, z = coords[k]
            shown.append(f"node {k}{name} at ({x:.1f}, {y:.1f}, {z:.1f})")
        more = f" and {outside.size - 5} more" if outside.size > 5 else ""
        warnings.warn(
            f"coords: {outside.size} node(s) lie outside the MNI brain: {'; '.join(shown)}{more}; "
            "they are drawn anyway (are the coordinates in MNI millimetres?)",
            BrainvizWarning,
            stacklevel=stacklevel,
        )
    return outside


def check_node_size(value, n):
    """Validate ``node_size``: a positive number of mm, or one per node (``n`` of them)."""
    arr = np.asarray(value, dtype=float) if not isinstance(value, str) else np.array([np.nan])
    if arr.ndim > 1 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(
            f"node_size must be a positive number of mm or an array of them (one per node); got {value!r}"
        )
    if arr.ndim == 1 and n and arr.size != n:
        raise ShapeMismatchError(f"node_size must have one entry per node ({n}); got {arr.size}")


def check_vmax(value):
    """Validate ``vmax``: None or a positive number."""
    if value is not None and (not np.isscalar(value) or isinstance(value, str)
                              or not np.isfinite(float(value)) or float(value) <= 0):
        raise ParameterError(f"vmax must be None or a positive number; got {value!r}")


def resolve_node_colors(node_color, n, *, networks=None, node_cmap="viridis", default=(0.3, 0.3, 0.3)):
    """Turn a ``node_color`` value into (n, 4) uint8 RGBA colours and a legend.

    Parameters
    ----------
    node_color : "auto", colour, (n, 3|4) array, n numbers or n labels
        "auto": one qualitative colour per network when ``networks`` is given,
        else ``default``. A tuple of 3 or 4 numbers is always one colour
        (even for 3 or 4 nodes); a list/array of n numbers goes through
        ``node_cmap``; n strings get one qualitative colour per distinct label.
    n : int
        Number of nodes.

    Returns
    -------
    rgba : ndarray of shape (n, 4), dtype uint8
    legend : dict
        Label -> (r, g, b) for network/label colourings, else empty.

    Raises
    ------
    ParameterError, ShapeMismatchError
    """
    from .colors import colors_for_labels, map_values_to_colors, to_rgb

    legend = {}
    if isinstance(node_color, str) and node_color == "auto":
        if networks is not None:
            rgb, legend = colors_for_labels(networks)
        else:
            rgb = np.tile(default, (n, 1))
    elif isinstance(node_color, str) or (
            np.ndim(node_color) == 1 and len(node_color) in (3, 4)
            and (isinstance(node_color, tuple) or len(node_color) != n)
            and all(isinstance(v, (int, float, np.number)) for v in node_color)):
        rgb = np.tile(to_rgb(node_color, parameter="node_color"), (n, 1))
    else:
        values = list(node_color) if np.ndim(node_color) == 1 else node_color
        arr = np.asarray(values, dtype=object)
        if len(arr) != n:
            raise ShapeMismatchError(f"node_color must be a colour or have one entry per node ({n}); got {len(arr)}")
        if arr.ndim == 2:
            rgb = np.array([to_rgb(row, parameter="node_color") for row in arr])
        elif all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in arr):
            rgba = map_values_to_colors(np.asarray(arr, float), node_cmap,
                                        vmin=float(np.min(arr)), vmax=float(np.max(arr)) + 1e-12)
            rgb = rgba[:, :3] / 255.0
        else:
            rgb, legend = colors_for_labels([str(v) for v in arr])
    rgba = np.empty((n, 4), dtype=np.uint8)
    rgba[:, :3] = np.round(np.asarray(rgb, float) * 255)
    rgba[:, 3] = 255
    return rgba, legend
