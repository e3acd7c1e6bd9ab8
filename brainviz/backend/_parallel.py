"""Parallel execution: joblib backends, including a dask.distributed cluster."""
import contextlib

from .. import _config
from ..exceptions import ParameterError

__all__ = ["parallel_context", "check_backend"]

_BACKENDS = ("loky", "threading", "multiprocessing", "sequential", "dask")


def check_backend(owner, backend):
    backend = _config.get_parallel_backend(backend)
    if backend not in _BACKENDS:
        allowed = "{" + ", ".join(repr(b) for b in _BACKENDS) + "}"
        raise ParameterError(
            f"The 'backend' parameter of {owner} must be one of {allowed}; got {backend!r}."
        )
    return backend


@contextlib.contextmanager
def parallel_context(backend="loky", n_jobs=1, scheduler=None):
    """Context in which ``joblib.Parallel`` uses ``backend`` with ``n_jobs``.

    Parameters
    ----------
    backend : str
        A joblib backend name; ``"dask"`` needs the ``distributed`` extra.
    n_jobs : int
    scheduler : str, distributed.Client or None
        For ``backend="dask"``: a scheduler address (``"tcp://host:8786"``) or
        a Client. ``None`` uses the current default client.
    """
    import joblib

    if backend != "dask":
        with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
            yield
        return
    try:
        import distributed
    except ImportError:  # pragma: no cover - depends on the install
        raise ParameterError(
            "backend='dask' needs dask.distributed: pip install 'brainviz[distributed]'."
        ) from None
    own_client = None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    elif scheduler is not None:
        own_client = client = distributed.Client(scheduler, set_as_default=False)
    else:
        try:
            client = distributed.get_client()
        except ValueError:
            raise ParameterError(
                "backend='dask' needs a scheduler address (scheduler='tcp://host:port') "
                "or a running distributed.Client."
            ) from None
    try:
        with client.as_current():
            with joblib.parallel_config(backend="dask", n_jobs=n_jobs if n_jobs != 1 else -1):
                yield
    finally:
        if own_client is not None:
            own_client.close()
