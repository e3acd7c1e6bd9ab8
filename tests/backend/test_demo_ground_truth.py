"""Done-when checks on the built-in demo data (brainviz.data.synthetic)."""
import numpy as np
import pytest

from brainviz.backend import ConnectivityJob, DecodingJob, RegionJob


@pytest.fixture(scope="module")
def decoding_demo():
    from brainviz.data import make_decoding_demo

    return make_decoding_demo()


@pytest.fixture(scope="module")
def resting_demo():
    from brainviz.data import make_resting_state_demo

    return make_resting_state_demo()


def test_decoding_weight_maps_overlap_true_patterns(decoding_demo, tmp_path):
    d = decoding_demo
    res = DecodingJob(C=0.01, memory=tmp_path).run(d.img, d.labels, runs=d.runs, mask=d.mask)
    assert res.mean_score_ > 1.5 * res.chance_level_
    mask = d.mask.get_fdata() > 0
    for cls, pattern in d.patterns.items():
        truth = np.abs(pattern.get_fdata()[mask]) > 0.5 * np.abs(pattern.get_fdata()).max()
        w = res.weight_maps_[cls].get_fdata()[mask]
        top = w >= np.sort(w)[-truth.sum()]  # as many top voxels as the true region
        overlap = (top & truth).sum() / truth.sum()
        assert overlap >= 0.3, (cls, overlap)
        assert w[truth].mean() > 3 * np.abs(w[~truth]).mean(), cls


def test_region_learning_recovers_true_networks(resting_demo, tmp_path):
    r = resting_demo
    n = r.network_maps.shape[3]
    res = RegionJob(method="dictlearning", n_components=n, smoothing_fwhm=None, alpha=3,
                    memory=tmp_path, timeseries=False).run(r.imgs, mask=r.mask)
    mask = r.mask.get_fdata() > 0
    comps = res.components_img_.get_fdata()[mask]
    truth = r.network_maps.get_fdata()[mask]
    for k in range(n):
        best = max(abs(np.corrcoef(truth[:, k], comps[:, c])[0, 1]) for c in range(n))
        assert best >= 0.6, (r.network_names[k], best)


def test_connectivity_ranks_true_couplings(resting_demo, tmp_path):
    from sklearn.metrics import roc_auc_score

    r = resting_demo
    res = ConnectivityJob(kind="partial correlation", memory=tmp_path).run(
        r.imgs, atlas=r.network_maps, labels=r.network_names)
    iu = np.triu_indices(len(r.network_names), 1)
    auc = roc_auc_score(r.coupling[iu] != 0, np.abs(res.matrix_[iu]))
    assert auc >= 0.9
    # each node sits on one of its network's true regions (within a voxel or two)
    for k, nodes in enumerate(r.node_coords):
        assert np.linalg.norm(np.asarray(nodes) - res.coords_[k], axis=1).min() < 10
    assert res.labels_ == list(r.network_names)
