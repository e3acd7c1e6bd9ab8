"""Scaling out: a decoding job on a local dask.distributed cluster."""
import numpy as np
import pytest

from brainviz.backend import DecodingJob
from brainviz.backend import decoding as dec
from brainviz.exceptions import ParameterError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )
    yield cluster
    cluster.close()


def test_decoding_on_local_dask_cluster(decoding_data, cluster, tmp_path, monkeypatch):
    record = tmp_path / "workers.txt"
    real = dec._fit_fold

    def fold_on_worker(*a, **k):
        with open(record, "a") as f:
            f.write(distributed.get_worker().address + "\n")
        return real(*a, **k)

    monkeypatch.setattr(dec, "_fit_fold", fold_on_worker)
    job = DecodingJob(classes=["face", "house"], memory=False, backend="dask",
                      scheduler=cluster.scheduler_address, n_jobs=2)
    res = job.run(decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
                  mask=decoding_data["mask"])
    workers = record.read_text().split()
    assert len(workers) == 4  # every fold ran on a dask worker
    assert set(workers) <= {w for w in cluster.scheduler_info["workers"]}
    monkeypatch.setattr(dec, "_fit_fold", real)
    ref = DecodingJob(classes=["face", "house"], memory=False, n_jobs=1).run(
        decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
        mask=decoding_data["mask"])
    np.testing.assert_allclose(res.scores_, ref.scores_)


def test_unknown_backend_lists_allowed(decoding_data):
    with pytest.raises(ParameterError, match=r"'backend' parameter of DecodingJob must be one "
                       r"of \{'loky', 'threading', 'multiprocessing', 'sequential', 'dask'\}; "
                       r"got 'spark'"):
        DecodingJob(backend="spark").run(decoding_data["img"], decoding_data["labels"],
                                         runs=decoding_data["runs"])


def test_a_cluster_of_one_single_threaded_worker_runs_every_fold(decoding_data, tmp_path,
                                                                 monkeypatch):
    """joblib runs the tasks in this process when the backend has one worker, and counts the
    dask cluster's cores: every fold used to run here, none on the cluster chosen."""
    record = tmp_path / "where.txt"
    real = dec._fit_fold

    def fold_recorded(*a, **k):
        try:
            where = distributed.get_worker().address
        except ValueError:  # not on a worker: in this process
            where = "driver"
        with open(record, "a") as f:
            f.write(where + "\n")
        return real(*a, **k)

    monkeypatch.setattr(dec, "_fit_fold", fold_recorded)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as one:
        with distributed.Client(one) as client:
            client.wait_for_workers(1, timeout=60)
        worker = next(iter(one.scheduler_info["workers"]))
        DecodingJob(classes=["face", "house"], memory=False, backend="dask",
                    scheduler=one.scheduler_address).run(
            decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
            mask=decoding_data["mask"])
    assert record.read_text().split() == [worker] * 4
