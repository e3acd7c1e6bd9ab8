"""Connectome inputs: a matrix file and node coordinates (a file or a named atlas).

What ``brainviz render --connectome`` and the window's file dialog read.
"""
import os
from pathlib import Path

import numpy as np

from ..exceptions import ParameterError

__all__ = ["load_matrix", "load_coords", "COORDINATE_ATLASES"]

#: Named coordinate atlases accepted by :func:`load_coords`.
COORDINATE_ATLASES = ("power", "dosenbach", "seitzman")


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
        160 nodes), ``"seitzman"`` (Seitzman 2018, 300 nodes), a CSV/TSV file
        with x, y, z (and optional label, network) columns, or an (n, 3) array.
    """
    if not isinstance(coords, (str, os.PathLike)):
        arr = np.asarray(coords, dtype=float)
        return arr, None, None
    from .atlases import load_coordinate_atlas
    from .templates import load_dosenbach_2010, load_power_2011, load_seitzman_2018

    name = str(coords).lower()
    if name == "power":
        atlas = load_power_2011()
    elif name == "dosenbach":
        atlas = load_dosenbach_2010()
    elif name == "seitzman":
        atlas = load_seitzman_2018()
    else:
        path = _check_file(coords, "connectome coordinates")
        try:
            atlas = load_coordinate_atlas(path)
        except (OSError, ValueError) as exc:
            raise ParameterError(f"connectome coordinates {str(path)!r} cannot be read: {exc}") from None
    return np.asarray(atlas.coords, dtype=float), list(atlas.labels), atlas.networks


