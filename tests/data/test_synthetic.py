"""Demo datasets: shapes, determinism, disk cache, and ground truth that analyses can learn.

The default demos are generated once per test session (conftest points
BRAINVIZ_DATA_DIR at a session folder); tests that need fresh folders use
tiny parameters so that they stay fast.
"""
import time
import warnings

import numpy as np
import pytest

from brainviz.data import synthetic
from brainviz.data.synthetic import make_decoding_demo, make_resting_state_demo
from brainviz.exceptions import CacheWarning, ParameterError

TINY_DECODING = dict(n_runs=2, n_trials_per_class=2, classes=("face", "house"))
TINY_RESTING = dict(n_subjects=1, n_timepoints=20)


def _in_mask(mask, xyz):
    ijk = np.rint(np.linalg.solve(mask.affine, np.append(xyz, 1.0))[:3]).astype(int)
    return bool(np.asarray(mask.dataobj)[tuple(ijk)])


def _voxel(img, xyz):
    return tuple(np.rint(np.linalg.solve(img.affine, np.append(xyz, 1.0))[:3]).astype(int))


# --- decoding -----------------------------------------------------------------
@pytest.fixture(scope="module")
def decoding():
    return make_decoding_demo()


def test_decoding_demo_layout(decoding):
    d = decoding
    assert d.img.shape == (38, 47, 40, 144)
    assert d.mask.shape == d.img.shape[:3]
    np.testing.assert_allclose(d.img.affine, d.mask.affine)
    np.testing.assert_allclose(np.diag(d.img.affine)[:3], [4, 4, 4])  # RAS+, 4 mm
    assert 25_000 < int(np.asarray(d.mask.dataobj).sum()) < 32_000
    assert d.img.get_data_dtype() == np.float32
    assert d.img.header.get_zooms()[3] == d.tr == 2.5
    assert d.classes == ("face", "house", "shoe")
    assert d.labels.shape == d.runs.shape == (144,)
    assert sorted(set(d.runs.tolist())) == list(range(6))
    for run in range(6):  # balanced: 8 trials of each class in each run
        assert sorted(d.labels[d.runs == run].tolist()) == sorted(list(d.classes) * 8)
    assert set(d.patterns) == set(d.regions) == set(d.classes)
    assert d.regions["face"] == (40.0, -55.0, -15.0)
    for c in d.classes:
        pattern = d.patterns[c]
        assert pattern.shape == d.mask.shape
        assert _in_mask(d.mask, d.regions[c])
        # the pattern peaks at the region centre (within one voxel)
        peak = np.unravel_index(np.argmax(np.asarray(pattern.dataobj)), pattern.shape)
        assert np.abs(np.subtract(peak, _voxel(pattern, d.regions[c]))).max() <= 1
    for key in ("img", "mask", "patterns", "events", "meta"):
        assert d.paths[key].is_file()
    assert d.img.get_filename() == str(d.paths["img"])
    # outside the brain the data are zero
    outside = np.asarray(d.mask.dataobj) == 0
    assert np.all(np.asarray(d.img.dataobj)[outside] == 0)


def test_decoding_ground_truth_is_in_the_data(decoding):
    d = decoding
    data = np.asarray(d.img.dataobj)
    for c in d.classes:
        pattern = np.asarray(d.patterns[c].dataobj)
        region = pattern > 0.5 * pattern.max()
        series = data[region].mean(axis=0)  # mean signal in the region, per volume
        # remove each run's mean so run offsets do not blur the comparison
        for run in np.unique(d.runs):
            series[d.runs == run] -= series[d.runs == run].mean()
        diff = series[d.labels == c].mean() - series[d.labels != c].mean()
        expected = pattern[region].mean()  # what the class adds on average
        assert 0.7 * expected < diff < 1.3 * expected, (c, diff, expected)


def test_decoding_is_learnable_and_weights_hit_the_regions(decoding):
    """What the backend relies on: leave-one-run-out linear SVM well above chance."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
    from sklearn.svm import LinearSVC

    d = decoding
    mask = np.asarray(d.mask.dataobj) > 0
    X = np.asarray(d.img.dataobj)[mask].T.astype(np.float64)
    for run in np.unique(d.runs):  # per-run standardisation, as the backend does
        sel = d.runs == run
        X[sel] = (X[sel] - X[sel].mean(0)) / X[sel].std(0)
    scores = cross_val_score(LinearSVC(), X, d.labels, groups=d.runs, cv=LeaveOneGroupOut())
    assert scores.mean() >= 0.9
    clf = LinearSVC().fit(X, d.labels)
    for i, c in enumerate(clf.classes_):
        pattern = np.asarray(d.patterns[c].dataobj)[mask]
        top = np.argsort(-clf.coef_[i])[:50]
        assert np.mean(pattern[top] > 0.2 * pattern.max()) >= 0.7


def test_decoding_is_deterministic_and_seeded(tmp_path):
    a = make_decoding_demo(**TINY_DECODING, seed=3, data_dir=tmp_path / "a")
    b = make_decoding_demo(**TINY_DECODING, seed=3, data_dir=tmp_path / "b")
    c = make_decoding_demo(**TINY_DECODING, seed=4, data_dir=tmp_path / "a")
    np.testing.assert_array_equal(a.img.get_fdata(), b.img.get_fdata())
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.runs, b.runs)
    assert not np.array_equal(a.img.get_fdata(), c.img.get_fdata())
    assert a.paths["img"] != c.paths["img"]


def test_decoding_cache_reads_back_without_regenerating(tmp_path, monkeypatch):
    first = make_decoding_demo(**TINY_DECODING, data_dir=tmp_path)
    calls = []
    real = synthetic._generate_decoding
    monkeypatch.setattr(synthetic, "_generate_decoding",
                        lambda **kw: calls.append(kw) or real(**kw))
    start = time.perf_counter()
    second = make_decoding_demo(**TINY_DECODING, data_dir=tmp_path)
    assert time.perf_counter() - start < 2.0
    assert calls == []
    assert second.paths == first.paths
    np.testing.assert_array_equal(first.img.get_fdata(), second.img.get_fdata())
    # new parameters: a new folder, generated once
    third = make_decoding_demo(**{**TINY_DECODING, "n_runs": 3}, data_dir=tmp_path)
    assert len(calls) == 1
    assert third.paths["img"].parent != first.paths["img"].parent
    assert third.img.shape[3] == 3 * 2 * 2
    assert len([p for p in tmp_path.iterdir()]) == 2


def test_interrupted_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    real = synthetic._write_decoding

    def crash(tmp, params, arrays):
        (tmp / "bold.nii.gz").write_bytes(b"partial")
        raise KeyboardInterrupt  # as if the process was stopped mid-write

    monkeypatch.setattr(synthetic, "_write_decoding", crash)
    with pytest.raises(KeyboardInterrupt):
        make_decoding_demo(**TINY_DECODING, data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no final folder, no temporary one
    monkeypatch.setattr(synthetic, "_write_decoding", real)
    demo = make_decoding_demo(**TINY_DECODING, data_dir=tmp_path)
    assert demo.img.shape[3] == 8


def test_incomplete_folder_is_replaced_and_a_finished_one_kept(tmp_path, monkeypatch):
    import shutil

    params = dict(TINY_DECODING, classes=list(TINY_DECODING["classes"]), signal=2.0, noise=1.0,
                  seed=0)
    folder = synthetic._folder("decoding", params, tmp_path)
    folder.mkdir(parents=True)
    (folder / "bold.nii.gz").write_bytes(b"left by a crash")  # no meta.json
    demo = make_decoding_demo(**TINY_DECODING, data_dir=tmp_path)
    assert demo.paths["img"].parent == folder
    assert demo.img.shape[3] == 8 and (folder / "meta.json").is_file()

    # another process completes the same dataset while we write ours: keep theirs
    other = tmp_path / "other"
    real = synthetic._write_decoding

    def race(tmp, params, arrays):
        real(tmp, params, arrays)
        shutil.copytree(tmp, synthetic._folder("decoding", params, other))
        (synthetic._folder("decoding", params, other) / "theirs").write_text("")

    monkeypatch.setattr(synthetic, "_write_decoding", race)
    demo = make_decoding_demo(**TINY_DECODING, data_dir=other)
    assert (demo.paths["img"].parent / "theirs").is_file()
    assert [p.name for p in other.iterdir()] == [demo.paths["img"].parent.name]


def test_unwritable_data_dir_still_gives_the_data(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.warns(CacheWarning, match="Cannot write demo data"):
        demo = make_decoding_demo(**TINY_DECODING, data_dir=blocker / "data")
    assert demo.paths == {}
    reference = make_decoding_demo(**TINY_DECODING, data_dir=tmp_path / "ok")
    np.testing.assert_array_equal(demo.img.get_fdata(), reference.img.get_fdata())
    np.testing.assert_array_equal(demo.labels, reference.labels)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(classes=("face", "dog")), r"'classes'.*among \['chair', 'face'.*got \['face', 'dog'\]"),
        (dict(classes=("face",)), "at least two"),
        (dict(n_runs=1), "'n_runs'.*>= 2; got 1"),
        (dict(n_trials_per_class=0), "'n_trials_per_class'.*>= 1"),
        (dict(seed=-1), "'seed'.*non-negative"),
        (dict(noise=float("nan")), "'noise'.*finite"),
    ],
)
def test_decoding_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_decoding_demo(**kwargs)


# --- resting state --------------------------------------------------------------
@pytest.fixture(scope="module")
def resting():
    return make_resting_state_demo()


def test_resting_demo_layout(resting):
    r = resting
    assert len(r.imgs) == 3
    for img in r.imgs:
        assert img.shape == (38, 47, 40, 120)
        np.testing.assert_allclose(img.affine, r.mask.affine)
        assert img.header.get_zooms()[3] == r.tr == 2.0
    k = len(r.network_names)
    assert r.network_names == list(synthetic.NETWORK_NAMES) and k == 5
    assert r.network_maps.shape == r.mask.shape + (k,)
    assert r.network_coords.shape == (k, 3)
    assert r.coupling.shape == (k, k)
    np.testing.assert_array_equal(r.coupling, r.coupling.T)
    np.testing.assert_array_equal(np.diag(r.coupling), 0)
    assert np.count_nonzero(np.triu(r.coupling)) == 4
    assert [t.shape for t in r.timeseries] == [(120, k)] * 3
    assert len(r.paths["imgs"]) == 3 and all(p.is_file() for p in r.paths["imgs"])
    maps = np.asarray(r.network_maps.dataobj)
    for i, xyz in enumerate(r.network_coords):
        assert _in_mask(r.mask, xyz)
        # each network's map peaks (1) at its hub (nearest voxel: <= 3.5 mm off),
        # where the other maps are ~0
        values = maps[_voxel(r.network_maps, xyz)]
        assert values[i] > 0.8
        assert np.all(np.delete(values, i) < 0.05)


def test_networks_are_spatially_separated(resting):
    nodes = resting.node_coords
    for i in range(len(nodes)):
        for j in range(i + 1, len(nodes)):
            d = np.linalg.norm(nodes[i][:, None] - nodes[j][None], axis=-1)
            assert d.min() >= 25.0
    # maps of different networks barely overlap
    maps = np.asarray(resting.network_maps.dataobj).reshape(-1, len(nodes))
    overlap = np.corrcoef(maps.T)[np.triu_indices(len(nodes), 1)]
    assert np.all(overlap < 0.1)


def test_resting_ground_truth_is_in_the_data(resting):
    r = resting
    iu = np.triu_indices(len(r.network_names), 1)
    truth_corr = np.mean([np.corrcoef(t.T)[iu] for t in r.timeseries], axis=0)
    coupled = r.coupling[iu] > 0
    # the true time series follow the coupling
    assert truth_corr[coupled].min() > 0.25 and np.abs(truth_corr[~coupled]).max() < 0.25
    # the signal at each hub follows its network's time series
    for img, ts in zip(r.imgs, r.timeseries):
        data = np.asarray(img.dataobj)
        for k, xyz in enumerate(r.network_coords):
            assert np.corrcoef(data[_voxel(img, xyz)], ts[:, k])[0, 1] > 0.6


def test_resting_connectivity_ranks_true_couplings_first(resting):
    """What the backend relies on: plain correlation of region signals, AUC >= 0.9."""
    from sklearn.metrics import roc_auc_score

    r = resting
    mask = np.asarray(r.mask.dataobj) > 0
    maps = np.asarray(r.network_maps.dataobj)[mask]
    weights = maps / maps.sum(axis=0)
    iu = np.triu_indices(len(r.network_names), 1)
    truth = (r.coupling[iu] > 0).astype(int)
    estimates, partials = [], []
    for img in r.imgs:
        signals = np.asarray(img.dataobj)[mask].T @ weights  # (T, k) region means
        estimates.append(np.corrcoef(signals.T)[iu])
        assert roc_auc_score(truth, estimates[-1]) >= 0.9
        # the coupling is block-diagonal: partial correlation has the same true edges
        precision = np.linalg.inv(np.corrcoef(signals.T))
        d = np.sqrt(np.diag(precision))
        partials.append(-(precision / np.outer(d, d))[iu])
    assert roc_auc_score(truth, np.mean(estimates, axis=0)) >= 0.9
    assert roc_auc_score(truth, np.abs(np.mean(partials, axis=0))) >= 0.9


@pytest.mark.parametrize("method", ["canica", "dictlearning"])
def test_region_learning_recovers_each_network(resting, method):
    """What the backend relies on: best-matching component correlates >= 0.6."""
    from nilearn.decomposition import CanICA, DictLearning

    r = resting
    common = dict(n_components=5, mask=r.mask, random_state=0, n_jobs=1, memory_level=0)
    # DictLearning's default alpha=10 is tuned for large datasets; see the
    # make_resting_state_demo docstring
    ica = CanICA(**common) if method == "canica" else DictLearning(alpha=1, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ica.fit(r.imgs)
    mask = np.asarray(r.mask.dataobj) > 0
    truth = np.asarray(r.network_maps.dataobj)[mask]
    comps = ica.components_img_.get_fdata()[mask]
    k = truth.shape[1]
    corr = np.nan_to_num(np.corrcoef(truth.T, comps.T)[:k, k:])
    assert np.abs(corr).max(axis=1).min() >= 0.75  # promised: 0.6; measured >= 0.84


def test_resting_is_deterministic_and_cached(tmp_path, monkeypatch):
    a = make_resting_state_demo(**TINY_RESTING, seed=1, data_dir=tmp_path / "a")
    b = make_resting_state_demo(**TINY_RESTING, seed=1, data_dir=tmp_path / "b")
    np.testing.assert_array_equal(a.imgs[0].get_fdata(), b.imgs[0].get_fdata())
    np.testing.assert_array_equal(a.timeseries[0], b.timeseries[0])
    np.testing.assert_array_equal(a.network_maps.get_fdata(), b.network_maps.get_fdata())
    monkeypatch.setattr(synthetic, "_generate_resting",
                        lambda **kw: pytest.fail("regenerated a cached dataset"))
    again = make_resting_state_demo(**TINY_RESTING, seed=1, data_dir=tmp_path / "a")
    np.testing.assert_array_equal(again.imgs[0].get_fdata(), a.imgs[0].get_fdata())
    np.testing.assert_array_equal(again.coupling, a.coupling)
    assert again.paths == a.paths


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_subjects=0), "'n_subjects'.*>= 1"),
        (dict(n_timepoints=5), "'n_timepoints'.*>= 20; got 5"),
        (dict(signal=-1.0), "'signal'.*>= 0"),
    ],
)
def test_resting_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_resting_state_demo(**kwargs)
