"""Analysis backend: cached decoding, region-learning and connectivity jobs.

Imports numpy, nibabel, nilearn, scikit-learn and joblib only (never
Enthought, VTK or Qt), so that jobs run on a cluster node without a display.
Public names resolve lazily: ``import brainviz.backend`` does not import
scikit-learn or nilearn until a job class or function is used.
"""
import importlib

# public name -> sub-module that defines it
_API = {
    "DecodingJob": "decoding",
    "DecodingResult": "decoding",
    "RegionJob": "regions",
    "RegionResult": "regions",
    "ConnectivityJob": "connectivity",
    "ConnectivityResult": "connectivity",
    "JobRunner": "jobs",
    "JobHandle": "jobs",
    "BaseJob": "jobs",
    "save_result": "results",
    "load_result": "results",
    "Result": "results",
    "check_memory": "cache",
    "CacheEntry": "cache",
    "list_cache_entries": "cache",
    "remove_cache_entry": "cache",
    "clear_cache": "cache",
    "cache_size": "cache",
    "enforce_cache_limit": "cache",
    "read_labels": "_inputs",
    "read_runs": "_inputs",
}

__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        module = importlib.import_module(f"{__name__}.{_API[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
