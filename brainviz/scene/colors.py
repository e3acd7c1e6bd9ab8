"""Colour maps, lookup tables and qualitative palettes as plain numpy arrays.

Nothing here imports VTK, so colour logic is tested without rendering; the
visuals turn these arrays into VTK lookup tables themselves.

Colour map names
----------------
``"cold_hot"``
    the diverging map for signed statistics, exactly nilearn's ``cold_hot``
    (``nilearn.plotting.cm.cold_hot``): black at zero, blue then cyan below,
    red then yellow above, white at both ends; shipped as
    ``resources/cold_hot.csv`` (256 samples of nilearn's map, so that drawing
    it imports neither nilearn nor matplotlib).
``"cyan_black_yellow"``
    the same idea without the white ends (cyan, blue, black, red, yellow), the
    map brainviz called ``cold_hot`` before 0.1.0; ``resources/cyan_black_yellow.csv``.
``"regions"``
    the qualitative palette for regions and networks (``resources/regions.csv``),
    repeated cyclically to the requested length.
any matplotlib colour map name
    ``"viridis"``, ``"RdBu_r"``, ``"gray"``, ...

Every name also exists reversed with a ``"_r"`` suffix (``"cold_hot_r"``).
"""
import numpy as np

from .._resources import read_colormap
from ..exceptions import DataValueError, ParameterError

__all__ = [
    "BUILTIN_COLORMAPS",
    "list_colormaps",
    "check_colormap",
    "get_lut",
    "symmetric_range",
    "vivid_ends",
    "map_values_to_colors",
    "qualitative_colors",
    "colors_for_labels",
    "to_rgb",
]

BUILTIN_COLORMAPS = ("cold_hot", "cyan_black_yellow", "regions")

# Grey ramps built here: the anatomy's default map must not import matplotlib
# (a quarter of a second) before the window's first frame.
_GREY_RAMPS = ("gray", "grey")
# Names every matplotlib release since 1.5 ships: accepted by check_colormap without
# importing matplotlib (a default such as a connectome's node_cmap="viridis" is
# checked at start-up even when nodes are coloured by network). Their tables
# still come from matplotlib, when a visual draws with them.
_MATPLOTLIB_CORE = frozenset({"viridis", "plasma", "inferno", "magma", "hot", "jet", "coolwarm",
                              "RdBu", "bwr", "seismic", "Greys", "Reds", "Blues"})


def _builtin_table(name):
    return read_colormap(name)


def _matplotlib_cmap(name):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        return None


def list_colormaps():
    """Return the sorted names accepted by :func:`get_lut`.

    Returns
    -------
    names : list of str
        The brainviz maps first, then matplotlib's (when installed).
    """
    import matplotlib

    return list(BUILTIN_COLORMAPS) + sorted(n for n in matplotlib.colormaps if not n.endswith("_r"))


def check_colormap(name, *, parameter="colormap"):
    """Validate a colour map name; return it unchanged.

    Parameters
    ----------
    name : str
        A name accepted by :func:`get_lut`.
    parameter : str, default="colormap"
        The parameter name used in the error message.

    Raises
    ------
    ParameterError
        If the name is unknown; the message lists the brainviz maps and a few
        close matplotlib names.
    """
    if not isinstance(name, str):
        raise ParameterError(f"{parameter} must be a colour map name (str); got {name!r}")
    base = name[:-2] if name.endswith("_r") else name
    if (base in BUILTIN_COLORMAPS or base in _GREY_RAMPS or base in _MATPLOTLIB_CORE
            or _matplotlib_cmap(name) is not None):
        return name
    import difflib

    close = difflib.get_close_matches(name, list_colormaps(), n=5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ParameterError(
        f"{parameter} {name!r} is not a known colour map: use {', '.join(BUILTIN_COLORMAPS)} "
        f"or a matplotlib colour map name{hint}"
    )


def get_lut(name, n=256, *, alpha=1.0):
    """Return the colour map ``name`` sampled as an ``(n, 4)`` uint8 RGBA table.

    Parameters
    ----------
    name : str
        ``"cold_hot"``, ``"cyan_black_yellow"``, ``"regions"``, a matplotlib
        colour map name, or any of these with ``"_r"`` appended for the reversed map.
    n : int, default=256
        Number of entries (>= 2; >= 1 for ``"regions"``).
    alpha : float, default=1.0
        Opacity of every entry, in [0, 1].

    Returns
    -------
    lut : ndarray of shape (n, 4), dtype uint8
        Row 0 is the colour of the lowest value, row n - 1 the highest.

    Raises
    ------
    ParameterError
        Unknown name, ``n`` too small or ``alpha`` outside [0, 1].

    Examples
    --------
    >>> from brainviz.scene.colors import get_lut
    >>> lut = get_lut("cold_hot", 5)
    >>> lut.shape, lut.dtype.name
    ((5, 4), 'uint8')
    >>> lut[:, :3].tolist()  # white, blue, black, red, white: nilearn's cold_hot
    [[255, 255, 255], [0, 89, 255], [13, 0, 0], [255, 94, 0], [255, 255, 255]]
    """
    check_colormap(name)
    reverse = name.endswith("_r")
    base = name[:-2] if reverse else name
    n = int(n)
    if n < 1 or (n < 2 and base != "regions"):
        raise ParameterError(f"n must be at least 2 entries for colour map {name!r}; got {n}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ParameterError(f"alpha must be in [0, 1]; got {alpha!r}")
    if base == "regions":
        table = _builtin_table("regions")
        rgb = table[np.arange(n) % len(table)]
    elif base in BUILTIN_COLORMAPS:
        table = _builtin_table(base)
        # Sampled as matplotlib samples a colour map of len(table) entries
        # (cmap(np.linspace(0, 1, n)): the entry whose bin holds each point), so
        # "cold_hot" gives nilearn's colours for any n, not only 256.
        x = np.linspace(0.0, 1.0, n) * len(table)
        rgb = table[np.minimum(x.astype(int), len(table) - 1)]
    elif base in _GREY_RAMPS:
        rgb = np.repeat(np.linspace(0.0, 1.0, n)[:, None], 3, axis=1)
    else:
        cmap = _matplotlib_cmap(base)
        rgb = np.asarray(cmap(np.linspace(0.0, 1.0, n)))[:, :3]
    if reverse:
        rgb = rgb[::-1]
    lut = np.empty((n, 4), dtype=np.uint8)
    lut[:, :3] = np.round(np.clip(rgb, 0.0, 1.0) * 255)
    lut[:, 3] = round(float(alpha) * 255)
    return lut


def vivid_ends(lut, min_saturation=0.85, min_value=0.7):
    """``lut`` with its pale ends made the last vivid colour before them.

    Colour maps for signed statistics (nilearn's ``cold_hot``, ``hot``) fade to white at
    their ends: an isosurface coloured through them is white where the map is strongest,
    and white on a shaded surface reads as a highlight, not as a peak. The entries at
    either end that are light (HSV value >= ``min_value``) and pale (saturation below
    ``min_saturation``) are left out and the colours between them stretched over the whole
    table, so that it ends on its last vivid colours (yellow and cyan for ``cold_hot``), as
    the red-yellow and blue-cyan maps of MRIcroGL or FSLeyes end.
    Entries between the ends are kept, and so are ends that fade to grey or black
    (``gray``, ``viridis``).

    Parameters
    ----------
    lut : ndarray, shape (n, 3|4)
        Colours, uint8 (0-255) or float (0-1).

    Returns
    -------
    ndarray
        A copy of ``lut``, same shape and dtype.

    Examples
    --------
    >>> vivid_ends(get_lut("cold_hot", 256))[[0, 127, 128, 255], :3].tolist()  # cyan, yellow
    [[34, 255, 255], [0, 0, 13], [13, 0, 0], [255, 255, 34]]
    """
    lut = np.asarray(lut)
    out = lut.copy()
    rgb = lut[:, :3].astype(float) / (255.0 if lut.dtype.kind in "ui" else 1.0)
    top, bottom = rgb.max(axis=1), rgb.min(axis=1)
    saturated = (top - bottom) >= min_saturation * np.maximum(top, 1e-9)
    pale = (top >= min_value) & ~saturated
    rest = np.flatnonzero(~pale)
    if rest.size == 0:
        return out
    first, last = rest[0], rest[-1]
    # only a tail that ends on a vivid colour (not grey's white fading to dark grey)
    first = first if saturated[first] else 0
    last = last if saturated[last] else len(lut) - 1
    if first == 0 and last == len(lut) - 1:
        return out
    # the colours from the first to the last vivid one, stretched over the whole table: every
    # value keeps a colour of its own (a clamped tail would draw a range of values alike)
    index = np.round(np.linspace(first, last, len(lut))).astype(int)
    out[:, :3] = lut[index, :3]
    return out


def symmetric_range(values, vmax=None):
    """Return ``(-m, m)``, the range centred on zero that covers ``values``.

    Parameters
    ----------
    values : array-like
        Values; NaN and infinite entries are ignored.
    vmax : float, optional
        Use ``m = |vmax|`` instead of the largest absolute value.

    Returns
    -------
    vmin, vmax : float
        ``(-1.0, 1.0)`` when every value is zero (so a colour map still spans
        a non-empty range).

    Raises
    ------
    DataValueError
        If ``values`` holds no finite number and ``vmax`` is not given.

    Examples
    --------
    >>> from brainviz.scene.colors import symmetric_range
    >>> symmetric_range([-0.2, 0.5, float("nan")])
    (-0.5, 0.5)
    """
    if vmax is not None:
        m = abs(float(vmax))
    else:
        arr = np.asarray(values, dtype=float).ravel()
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            raise DataValueError("cannot compute a colour range: the values hold no finite number")
        m = float(np.max(np.abs(arr)))
    if m == 0.0:
        m = 1.0
    return -m, m


def map_values_to_colors(values, colormap="cold_hot", vmin=None, vmax=None, *, n=256,
                         nan_color=(0, 0, 0, 0)):
    """Map values to RGBA colours through a colour map.

    Parameters
    ----------
    values : array-like of shape (m,)
        Values to colour.
    colormap : str, default="cold_hot"
        A name accepted by :func:`get_lut`.
    vmin, vmax : float, optional
        Range mapped onto the colour map; values outside are clipped. When both
        are None the range is :func:`symmetric_range` of the values; when one is
        None it is taken from the finite values.
    n : int, default=256
        Number of lookup-table entries.
    nan_color : tuple of 4 int, default=(0, 0, 0, 0)
        RGBA for NaN values (transparent by default).

    Returns
    -------
    colors : ndarray of shape (m, 4), dtype uint8

    Examples
    --------
    >>> from brainviz.scene.colors import map_values_to_colors
    >>> c = map_values_to_colors([-1.0, 1.0, float("nan")])
    >>> c[2].tolist()
    [0, 0, 0, 0]
    """
    vals = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(vals)
    if vmin is None and vmax is None:
        vmin, vmax = symmetric_range(vals) if finite.any() else (-1.0, 1.0)
    elif vmin is None:
        vmin = float(np.min(vals[finite])) if finite.any() else float(vmax) - 1.0
    elif vmax is None:
        vmax = float(np.max(vals[finite])) if finite.any() else float(vmin) + 1.0
    vmin, vmax = float(vmin), float(vmax)
    if not vmax > vmin:
        raise ParameterError(f"vmax must be greater than vmin; got vmin={vmin}, vmax={vmax}")
    lut = get_lut(colormap, n)
    frac = (np.where(finite, vals, vmin) - vmin) / (vmax - vmin)
    idx = np.clip((frac * (n - 1) + 0.5).astype(int), 0, n - 1)
    colors = lut[idx]
    colors[~finite] = np.asarray(nan_color, dtype=np.uint8)
    return colors


def qualitative_colors(n):
    """Return ``n`` distinct colours from the ``"regions"`` palette, as (n, 3) floats in [0, 1].

    The palette repeats after its last entry (20 colours).

    Examples
    --------
    >>> from brainviz.scene.colors import qualitative_colors
    >>> qualitative_colors(3).shape
    (3, 3)
    """
    n = int(n)
    if n < 0:
        raise ParameterError(f"n must be >= 0; got {n}")
    table = _builtin_table("regions")
    return table[np.arange(n) % len(table)].copy()


def colors_for_labels(labels):
    """Give each distinct label (a network name, say) its own qualitative colour.

    Labels get colours in the order they first appear, so the same list always
    gets the same colours.

    Parameters
    ----------
    labels : sequence of hashable
        One label per item (node).

    Returns
    -------
    colors : ndarray of shape (len(labels), 3)
        Float RGB in [0, 1], one row per item.
    legend : dict
        Label -> (r, g, b) tuple, in first-appearance order.

    Examples
    --------
    >>> from brainviz.scene.colors import colors_for_labels
    >>> colors, legend = colors_for_labels(["DMN", "Visual", "DMN"])
    >>> list(legend), bool((colors[0] == colors[2]).all())
    (['DMN', 'Visual'], True)
    """
    labels = list(labels)
    unique = list(dict.fromkeys(labels))
    palette = qualitative_colors(len(unique))
    legend = {lab: tuple(float(v) for v in palette[i]) for i, lab in enumerate(unique)}
    colors = np.array([legend[lab] for lab in labels], dtype=float).reshape(len(labels), 3)
    return colors, legend


def to_rgb(color, *, parameter="color"):
    """Convert a colour given as a name, a hex string or an RGB(A) tuple to an (r, g, b) float tuple.

    Tuples with a value above 1 are read as 0-255 integers.

    Raises
    ------
    ParameterError
        If the colour cannot be read; the message names ``parameter``.

    Examples
    --------
    >>> from brainviz.scene.colors import to_rgb
    >>> to_rgb("red"), to_rgb((255, 128, 0))
    ((1.0, 0.0, 0.0), (1.0, 0.5019607843137255, 0.0))
    """
    if isinstance(color, str):
        from matplotlib.colors import to_rgb as mpl_to_rgb

        try:
            return tuple(float(v) for v in mpl_to_rgb(color))
        except ValueError:
            raise ParameterError(
                f"{parameter} {color!r} is not a colour: use a name ('red'), a hex string "
                "('#ff0000') or an (r, g, b) tuple"
            ) from None
    try:
        arr = np.asarray(color, dtype=float).ravel()
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.size not in (3, 4) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ParameterError(
            f"{parameter} must be a colour name or an (r, g, b) tuple of 3 values in [0, 1] "
            f"(or 0-255); got {color!r}"
        )
    if np.any(arr > 1):
        if np.any(arr > 255):
            raise ParameterError(f"{parameter} values must be in [0, 1] or [0, 255]; got {color!r}")
        arr = arr / 255.0
    return tuple(float(v) for v in arr[:3])
