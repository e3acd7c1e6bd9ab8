"""Analysis backend: cached decoding, searchlight, region-learning and connectivity jobs.

Imports numpy, nibabel, nilearn, scikit-learn and joblib only (never
Enthought, VTK or Qt), so that jobs run on a cluster node without a display.
Public names resolve lazily: ``import brainviz.backend`` does not import
scikit-learn or nilearn until a job class or function is used.
"""
import lazy_loader as lazy

# sub-module -> the public names it defines
_SUBMOD_ATTRS = {
    "decoding": [
        "DecodingJob", "DecodingResult",
    ],
    "regions": [
        "RegionJob", "RegionResult",
    ],
    "connectivity": [
        "ConnectivityJob", "ConnectivityResult",
    ],
    "searchlight": [
        "SearchlightJob", "SearchlightResult",
    ],
    "jobs": [
        "JobRunner", "JobHandle", "BaseJob",
    ],
    "results": [
        "save_result", "load_result", "Result", "result_fingerprint",
    ],
    "cache": [
        "check_memory", "CacheEntry", "list_cache_entries", "remove_cache_entry", "clear_cache",
        "cache_size", "enforce_cache_limit",
    ],
    "displays": [
        "ScoresDisplay", "ConfusionDisplay", "MatrixDisplay", "RegionsDisplay",
        "SearchlightDisplay", "save_result_figures", "result_headline",
    ],
    "_inputs": [
        "read_labels", "read_runs", "read_events", "events_to_labels",
    ],
}

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs=_SUBMOD_ATTRS)
