"""Run-time configuration: folders, cache cap, parallelism.

Every setting follows one rule: an explicit argument wins, then the
environment variable (``BRAINVIZ_*``), then the default.

====================  =============================  ========================================
setting               environment variable           default
====================  =============================  ========================================
cache folder          ``BRAINVIZ_CACHE_DIR``         the platform's user cache folder
demo-data folder      ``BRAINVIZ_DATA_DIR``          ``<cache folder>/demo_data``
configuration folder  ``BRAINVIZ_CONFIG_DIR``        the platform's user configuration folder
results folder        ``BRAINVIZ_RESULTS_DIR``       ``results`` in the platform's data folder
cache size cap        ``BRAINVIZ_CACHE_MAX_BYTES``   no cap (``None``)
n_jobs                ``BRAINVIZ_N_JOBS``            1
parallel backend      ``BRAINVIZ_BACKEND``           ``"loky"``
memory for one read   ``BRAINVIZ_MAX_MEMORY``        half the available memory
====================  =============================  ========================================

The platform's folders come from platformdirs_ (application name
``brainviz``; ``~/L/AS`` stands for ``~/Library/Application Support``):

======  ===========================  =============================  ==============================
folder  Linux (XDG)                  macOS                          Windows, in ``%LOCALAPPDATA%``
======  ===========================  =============================  ==============================
cache   ``~/.cache/brainviz``        ``~/Library/Caches/brainviz``  ``brainviz/Cache``
config  ``~/.config/brainviz``       ``~/L/AS/brainviz``            ``brainviz``
data    ``~/.local/share/brainviz``  ``~/L/AS/brainviz``            ``brainviz``
======  ===========================  =============================  ==============================

On Linux the ``XDG_*_HOME`` variables move them, as the XDG specification says.
Before platformdirs, brainviz used the Linux folders on every system: when
such an old folder exists and the platform's folder does not, the old one is
still used, and a note (logged once, on the ``brainviz`` logger) says where it
is and where it could move. The demo datasets are regenerated from a seed
whenever they are missing, so they live in the cache folder.

A job given neither ``n_jobs``/``backend`` nor the environment variables leaves
joblib as the caller configured it (``with joblib.parallel_config(...)``), and
joblib's own default is sequential (see ``brainviz.backend._parallel``).

.. _platformdirs: https://platformdirs.readthedocs.io
"""
import logging
import os
from pathlib import Path

__all__ = [
    "get_cache_dir",
    "get_data_dir",
    "get_config_dir",
    "get_results_dir",
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


_APP = "brainviz"
_log = logging.getLogger("brainviz")
_NOTED = set()

# kind -> (XDG variable, the folder under HOME it defaults to): where brainviz
# wrote before it asked platformdirs, on every system.
_OLD_LOCATIONS = {
    "cache": ("XDG_CACHE_HOME", (".cache",)),
    "config": ("XDG_CONFIG_HOME", (".config",)),
    "data": ("XDG_DATA_HOME", (".local", "share")),
}


def _platform_dirs():
    """The platform's folders for brainviz (a ``platformdirs.PlatformDirs``).

    Made on each call, so that a changed HOME or ``XDG_*`` variable is seen.
    """
    import platformdirs

    return platformdirs.PlatformDirs(_APP, appauthor=False)


def _old_location(kind):
    variable, parts = _OLD_LOCATIONS[kind]
    xdg = os.environ.get(variable, "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home().joinpath(*parts)
    return base / _APP


def _platform_folder(kind):
    """The platform's ``kind`` folder, or the old one when only that exists (with a note)."""
    new = Path(getattr(_platform_dirs(), f"user_{kind}_dir"))
    old = _old_location(kind)
    if old != new and old.is_dir() and not new.exists():
        if (kind, old) not in _NOTED:
            _NOTED.add((kind, old))
            _log.warning(
                "brainviz: using the %s folder found at %s, where earlier versions put it; "
                "this system's place for it is %s (move the folder there to use that place).",
                kind, old, new,
            )
        return old
    return new


def get_cache_dir(cache_dir=None):
    """Return the cache folder as a :class:`pathlib.Path` (not created).

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Explicit folder. ``None`` falls back to ``BRAINVIZ_CACHE_DIR``, then
        to the platform's user cache folder (``~/.cache/brainviz`` on Linux,
        where ``XDG_CACHE_HOME`` moves it).
    """
    value = _from_env(cache_dir, "BRAINVIZ_CACHE_DIR")
    if value is not None:
        return Path(value).expanduser()
    return _platform_folder("cache")


def get_config_dir(config_dir=None):
    """Return the configuration folder (recent files) as a :class:`pathlib.Path` (not created).

    Parameters
    ----------
    config_dir : str or path-like, default=None
        Explicit folder. ``None`` falls back to ``BRAINVIZ_CONFIG_DIR``, then
        to the platform's user configuration folder (``~/.config/brainviz`` on
        Linux, where ``XDG_CONFIG_HOME`` moves it).
    """
    value = _from_env(config_dir, "BRAINVIZ_CONFIG_DIR")
    if value is not None:
        return Path(value).expanduser()
    return _platform_folder("config")


def get_results_dir(results_dir=None):
    """Return the folder where the window saves job results (not created).

    Parameters
    ----------
    results_dir : str or path-like, default=None
        Explicit folder. ``None`` falls back to ``BRAINVIZ_RESULTS_DIR``, then
        to ``results`` in the platform's user data folder
        (``~/.local/share/brainviz/results`` on Linux, where ``XDG_DATA_HOME``
        moves it).
    """
    value = _from_env(results_dir, "BRAINVIZ_RESULTS_DIR")
    if value is not None:
        return Path(value).expanduser()
    return _platform_folder("data") / "results"


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
