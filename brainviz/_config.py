"""Run-time configuration: cache folder, data folder, parallelism.

Every setting follows one rule: an explicit argument wins, then the
environment variable (``BRAINVIZ_*``), then the default.

=====================  ==========================  =====================================
setting                environment variable        default
=====================  ==========================  =====================================
cache folder           ``BRAINVIZ_CACHE_DIR``      ``$XDG_CACHE_HOME/brainviz`` or
                                                   ``~/.cache/brainviz``
demo-data folder       ``BRAINVIZ_DATA_DIR``       ``<cache folder>/demo_data``
cache size cap         ``BRAINVIZ_CACHE_MAX_BYTES`` no cap (``None``)
n_jobs                 ``BRAINVIZ_N_JOBS``         1
parallel backend       ``BRAINVIZ_BACKEND``        ``"loky"``
=====================  ==========================  =====================================

A job given neither ``n_jobs``/``backend`` nor the environment variables leaves
joblib as the caller configured it (``with joblib.parallel_config(...)``), and
joblib's own default is sequential (see ``brainviz.backend._parallel``).
"""
import os
from pathlib import Path

__all__ = [
    "get_cache_dir",
    "get_data_dir",
    "get_cache_max_bytes",
    "get_n_jobs",
    "get_parallel_backend",
]


def _from_env(value, env_name):
    if value is not None:
        return value
    env = os.environ.get(env_name)
    if env is not None and env.strip() != "":
        return env
    return None


def get_cache_dir(cache_dir=None):
    """Return the cache folder as a :class:`pathlib.Path` (not created).

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Explicit folder. ``None`` falls back to ``BRAINVIZ_CACHE_DIR``, then
        to ``$XDG_CACHE_HOME/brainviz`` (or ``~/.cache/brainviz``).
    """
    value = _from_env(cache_dir, "BRAINVIZ_CACHE_DIR")
    if value is not None:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "brainviz"


def get_data_dir(data_dir=None):
    """Return the folder where generated demo datasets are stored (not created).

    Parameters
    ----------
    data_dir : str or path-like, default=None
        Explicit folder. ``None`` falls back to ``BRAINVIZ_DATA_DIR``, then to
        ``<cache folder>/demo_data``.
    """
    value = _from_env(data_dir, "BRAINVIZ_DATA_DIR")
    if value is not None:
        return Path(value).expanduser()
    return get_cache_dir() / "demo_data"


def get_cache_max_bytes(max_bytes=None):
    """Return the cache size cap in bytes, or ``None`` for no cap."""
    value = _from_env(max_bytes, "BRAINVIZ_CACHE_MAX_BYTES")
    if value is None:
        return None
    try:
        value = int(value)
    except (TypeError, ValueError):
        from .exceptions import ParameterError

        raise ParameterError(
            f"The cache size cap must be a whole number of bytes; got {value!r}."
        ) from None
    return value if value > 0 else None


def get_n_jobs(n_jobs=None):
    """Return the number of parallel workers (joblib convention, -1 = all cores)."""
    value = _from_env(n_jobs, "BRAINVIZ_N_JOBS")
    if value is None:
        return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        from .exceptions import ParameterError

        raise ParameterError(f"n_jobs must be an integer; got {value!r}.") from None
    if value == 0:
        from .exceptions import ParameterError

        raise ParameterError("n_jobs must be a non-zero integer (-1 for all cores); got 0.")
    return value


def get_parallel_backend(backend=None):
    """Return the joblib backend name ("loky", "threading", "dask", ...)."""
    value = _from_env(backend, "BRAINVIZ_BACKEND")
    return "loky" if value is None else str(value)
