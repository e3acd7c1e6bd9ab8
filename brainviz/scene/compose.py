"""Build a whole scene from files in one call: the path shared by ``brainviz render`` and tests.

:func:`build_scene` creates the same visuals, with the same arguments, as the
equivalent :mod:`brainviz.mlab` calls (``figure``, ``anatomy``, ``stat_map``,
``glass_brain``, ``regions``, ``connectome``), so a figure rendered from the
command line is pixel for pixel the one a script makes. :func:`load_matrix`
and :func:`load_coords` read the connectome inputs the command line accepts.
"""
import os
from pathlib import Path

import numpy as np

from ..exceptions import ParameterError, ShapeMismatchError

__all__ = ["build_scene", "load_matrix", "load_coords", "COORDINATE_ATLASES", "DEMO_THRESHOLD",
           "demo_scene_kwargs"]

#: Named coordinate atlases accepted by ``coords``.
COORDINATE_ATLASES = ("power", "dosenbach")

#: Threshold of the built-in motor activation map in the demo (z > 3).
DEMO_THRESHOLD = 3.0


def _check_file(path, what):
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise ParameterError(f"{what}: no such file {str(path)!r}")
    if not path.is_file():
        raise ParameterError(f"{what}: {str(path)!r} is not a file")
    if not os.access(path, os.R_OK):
        raise ParameterError(f"{what}: cannot read {str(path)!r} (permission denied)")
    return path


def load_matrix(path):
    """Read a square connectivity matrix from ``.npy``, ``.csv``, ``.tsv`` or ``.txt``.

    Text files may have a header row and a first column of node names
    (``pandas.DataFrame.to_csv`` output); numbers only is fine too.

    Raises
    ------
    ParameterError
        Missing or unreadable file, unknown extension, or not a 2D square table of numbers.
    """
    path = _check_file(path, "connectome matrix")
    ext = path.suffix.lower()
    try:
        if ext == ".npy":
            matrix = np.load(path, allow_pickle=False)
        elif ext in (".csv", ".tsv", ".txt"):
            matrix = _read_text_matrix(path, ext)
        else:
            raise ParameterError(
                f"connectome matrix {str(path)!r}: unknown extension {path.suffix!r}; use .npy, .csv, .tsv or .txt"
            )
    except ParameterError:
        raise
    except (OSError, ValueError) as exc:
        raise ParameterError(f"connectome matrix {str(path)!r} cannot be read: {exc}".splitlines()[0]) from None
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.dtype.kind not in "biuf":
        raise ParameterError(
            f"connectome matrix {str(path)!r} must be a square table of numbers; got shape "
            f"{matrix.shape} of {matrix.dtype}"
        )
    return matrix.astype(float)


def _read_text_matrix(path, ext):
    import pandas as pd

    sep = "\t" if ext == ".tsv" else ("," if ext == ".csv" else r"\s+")
    table = pd.read_csv(path, sep=sep, header=None, engine="python")
    values = table.apply(pd.to_numeric, errors="coerce")
    # A header row and/or a first column of names: drop them when they are not numbers.
    if values.iloc[0].isna().sum() > len(values.columns) // 2:
        table, values = table.iloc[1:], values.iloc[1:]
    if len(values.columns) and values.iloc[:, 0].isna().sum() > len(values) // 2:
        values = values.iloc[:, 1:]
    if values.isna().to_numpy().any() and not table.isin(["nan", "NaN"]).to_numpy().any():
        raise ValueError("it holds cells that are not numbers")
    return values.to_numpy(dtype=float)


def load_coords(coords):
    """Return ``(coords (n, 3) mm, labels, networks)`` from a name or a CSV/TSV file.

    Parameters
    ----------
    coords : str, path or array
        ``"power"`` (Power 2011, 264 nodes), ``"dosenbach"`` (Dosenbach 2010,
        160 nodes), a CSV/TSV file with x, y, z (and optional label, network)
        columns, or an (n, 3) array.
    """
    if not isinstance(coords, (str, os.PathLike)):
        arr = np.asarray(coords, dtype=float)
        return arr, None, None
    from .. import data

    name = str(coords).lower()
    if name == "power":
        atlas = data.load_power_2011()
    elif name == "dosenbach":
        atlas = data.load_dosenbach_2010()
    else:
        path = _check_file(coords, "connectome coordinates")
        try:
            atlas = data.load_coordinate_atlas(path)
        except (OSError, ValueError) as exc:
            raise ParameterError(f"connectome coordinates {str(path)!r} cannot be read: {exc}") from None
    return np.asarray(atlas.coords, dtype=float), list(atlas.labels), atlas.networks


def demo_scene_kwargs(connectome=False):
    """The arguments of :func:`build_scene` for the built-in demo (``brainviz render --demo``).

    MNI template slices and the sample motor activation map (nilearn's), with
    its isosurfaces at z > :data:`DEMO_THRESHOLD`; with ``connectome=True`` also
    a seeded demo graph on the Dosenbach 2010 coordinates.
    """
    from .. import data

    kwargs = dict(anatomy="template", stat_map=data.load_motor_activation(),
                  threshold=DEMO_THRESHOLD, stat_isosurface=True)
    if connectome:
        atlas = data.load_dosenbach_2010()
        kwargs.update(matrix=_demo_matrix(atlas), coords=atlas.coords, labels=list(atlas.labels),
                      networks=atlas.networks, edge_threshold="98%")
    return kwargs


def _demo_matrix(atlas):
    # Seeded: within-network edges strong and positive, a few negative between.
    rng = np.random.default_rng(0)
    n = len(atlas.coords)
    nets = np.asarray(atlas.networks if atlas.networks is not None else ["all"] * n)
    same = nets[:, None] == nets[None, :]
    m = np.where(same, rng.uniform(0.3, 1.0, (n, n)), rng.uniform(-0.6, 0.2, (n, n)))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0)
    return m


def build_scene(anatomy="template", stat_map=None, threshold=None, cmap="cold_hot",
                stat_isosurface=False, slices=True, glass_brain=False, regions=None,
                matrix=None, coords=None, labels=None, networks=None, edge_threshold=None,
                cursor=(0.0, 0.0, 0.0), size=(600, 600), bgcolor=(1.0, 1.0, 1.0), figure=None):
    """Create a figure and draw the requested visuals in it, as the mlab calls would.

    Parameters
    ----------
    anatomy : "template", str, path, nibabel image or None, default="template"
        Anatomy drawn as three slices; ``"template"`` is the MNI152 template
        bundled with nilearn, None draws no anatomy.
    stat_map : str, path, nibabel image or Volume, optional
        Statistical map overlaid on the slices (and as isosurfaces with
        ``stat_isosurface``).
    threshold : float, optional
        ``|value| >= threshold`` is drawn.
    cmap : str, default="cold_hot"
        Colour map of the statistical map.
    stat_isosurface : bool, default=False
        Also draw the thresholded map as isosurfaces.
    slices : bool, default=True
        Show the anatomy and statistical-map slices.
    glass_brain : bool, default=False
        Add a translucent brain surface.
    regions : str, path or image, optional
        A label image or 4D stack of components drawn as coloured regions.
    matrix, coords : optional
        A connectome: (n, n) matrix and (n, 3) coordinates (or what
        :func:`load_matrix` / :func:`load_coords` accept).
    labels, networks : sequence of str, optional
        Node names and networks (for node colours).
    edge_threshold : float or str, optional
        Edge threshold (a value or a percentile such as ``"95%"``).
    cursor : (float, float, float), default=(0, 0, 0)
        Where the slices cross, in mm.
    size : (int, int), default=(600, 600)
        Window size; the view framing follows its aspect ratio.
    bgcolor : (float, float, float), default=(1, 1, 1)
    figure : mayavi Scene, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    figure : mayavi Scene
    visuals : dict
        ``"anatomy"``, ``"stat_map"``, ``"glass_brain"``, ``"regions"``,
        ``"connectome"`` -> the visual, or None when not drawn.

    Raises
    ------
    ParameterError, ShapeMismatchError, ImageFileError, DimensionError
        Unreadable files, a matrix that does not match the coordinates.
    """
    from ._figure import disable_render, new_figure

    # Read and check every input before drawing anything.
    if matrix is not None or coords is not None:
        if matrix is None or coords is None:
            raise ParameterError("A connectome needs both a matrix and coordinates")
        if isinstance(matrix, (str, os.PathLike)):
            matrix = load_matrix(matrix)
        coords, atlas_labels, atlas_networks = load_coords(coords)
        labels = atlas_labels if labels is None else labels
        networks = atlas_networks if networks is None else networks
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(coords):
            raise ShapeMismatchError(
                f"The connectome matrix is {matrix.shape[0]} x {matrix.shape[1] if matrix.ndim > 1 else ''} "
                f"but there are {len(coords)} node coordinates; they must match"
            )

    figure = new_figure(size=tuple(int(v) for v in size), bgcolor=tuple(bgcolor), figure=figure)
    visuals = dict.fromkeys(("anatomy", "stat_map", "glass_brain", "regions", "connectome"))
    with disable_render(figure):
        if anatomy is not None:
            from .volume import AnatomyVisual

            img = anatomy
            if isinstance(anatomy, str) and anatomy == "template":
                from ..data import load_template

                img = load_template()
            visuals["anatomy"] = AnatomyVisual(img, cursor=cursor, figure=figure, show_slices=bool(slices))
        if glass_brain:
            from .glass import GlassBrainVisual

            visuals["glass_brain"] = GlassBrainVisual(figure=figure)
        if stat_map is not None:
            from .statmap import StatMapVisual

            visuals["stat_map"] = StatMapVisual(
                stat_map, threshold=threshold, anatomy=visuals["anatomy"], figure=figure, cmap=cmap,
                show_slices=bool(slices), show_isosurface=bool(stat_isosurface),
            )
        if regions is not None:
            from .regions import RegionsVisual

            visuals["regions"] = RegionsVisual(regions, figure=figure)
        if matrix is not None:
            from .connectome import ConnectomeVisual

            visuals["connectome"] = ConnectomeVisual(
                matrix, coords, edge_threshold=edge_threshold, labels=labels, networks=networks,
                figure=figure,
            )
    return figure, visuals
