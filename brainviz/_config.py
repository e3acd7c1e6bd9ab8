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
memory for one read    ``BRAINVIZ_MAX_MEMORY``     half the available memory
=====================  ==========================  =====================================
"""
import os
from pathlib import Path

__all__ = [
    "get_cache_dir",
    "get_data_dir",
    "get_cache_max_bytes",
    "get_n_jobs",
    "get_parallel_backend",
    "get_max_memory",
    "available_memory",
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


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30,
          "t": 2**40, "tb": 2**40, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


def available_memory():
    """Bytes of memory available now (Linux: MemAvailable, within the cgroup limit)."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 * 2**30
    # a container's own limit (cgroup v2, then v1)
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit = _read_int(limit_file)
        if limit is not None and limit < 2**60:
            usage = _read_int(usage_file) or 0
            avail = min(avail, max(limit - usage, 0))
            break
    return int(avail)


def get_max_memory(max_memory=None):
    """Most bytes one read of image data may allocate.

    Parameters
    ----------
    max_memory : int, str or None, default=None
        Bytes, text with a unit (``"512M"``, ``"8G"``, ``"1.5GB"``) or a
        percentage of the memory available now (``"25%"``). ``None`` falls
        back to ``BRAINVIZ_MAX_MEMORY``, then to half the available memory.
    """
    value = _from_env(max_memory, "BRAINVIZ_MAX_MEMORY")
    if value is None:
        return max(available_memory() // 2, 64 * 2**20)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, text = float(value), None
    else:
        text = str(value).strip().lower().replace(" ", "")
        number = None
    try:
        if text is not None and text.endswith("%"):
            fraction = float(text[:-1]) / 100.0
            if not 0 < fraction <= 1:
                raise ValueError
            return int(available_memory() * fraction)
        if text is not None:
            digits = text.rstrip("kmgtibB")
            number = float(digits) * _UNITS[text[len(digits):]]
        if not (number > 0 and number < 2**62):
            raise ValueError
        return int(number)
    except (ValueError, KeyError):
        from .exceptions import ParameterError

        raise ParameterError(
            "The memory limit (BRAINVIZ_MAX_MEMORY) must be a number of bytes, a size such as "
            f"'512M' or '8G', or a percentage of the available memory such as '25%'; got {value!r}."
        ) from None
