"""Studies as researchers store them: BIDS events, confounds and filters, time-series
files, node names in every table, individual maps, searchlight.

Every comparison is with nilearn / scikit-learn called directly with their defaults.
"""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from brainviz.backend import (
    ConnectivityJob, DecodingJob, RegionJob, SearchlightJob, events_to_labels, load_result,
    read_events, save_result,
)
from brainviz.cli import main
from brainviz.exceptions import DataValueError, ParameterError


def _nitime_csv():
    """nitime's real resting-state series: 31 ROIs x 250 time points, a header of names."""
    spec = importlib.util.find_spec("nitime")
    if spec is None:  # a test dependency (pyproject [test]); say so plainly if absent
        pytest.skip("nitime (test dependency) is not installed: its fmri_timeseries.csv is "
                    "the 31-ROI resting series")
    return Path(spec.submodule_search_locations[0]) / "data" / "fmri_timeseries.csv"


@pytest.fixture
def roi_csv():
    return _nitime_csv()


@pytest.fixture
def roi_series(roi_csv):
    from brainviz.backend._cleaning import read_table

    series, names = read_table(roi_csv)
    assert series.shape == (250, 31) and names[:3] == ["WM", "Vent", "Brain"]
    return series, names


# --- BIDS events ---------------------------------------------------------------------
def _haxby_runs_as_bids(haxby, folder, t_r=2.5, hrf_delay=5.0):
    """One 4D file + events.tsv per run, made from the per-volume labels."""
    import nibabel as nib

    bold, _, labels, runs = haxby
    img = nib.load(bold)
    data = np.asanyarray(img.dataobj)
    imgs, events = [], []
    for r in np.unique(runs):
        rows = np.flatnonzero(runs == r)
        run_img = nib.Nifti1Image(data[..., rows], img.affine, img.header)
        imgs.append(folder / f"sub-1_task-objects_run-{r:02d}_bold.nii.gz")
        nib.save(run_img, imgs[-1])
        lab = labels[rows]
        lines = ["onset\tduration\ttrial_type"]
        start = 0
        for i in range(1, len(lab) + 1):
            if i == len(lab) or lab[i] != lab[start]:
                if lab[start] != "rest":  # a stimulus block: shown hrf_delay before
                    lines.append(f"{start * t_r - hrf_delay}\t{(i - start) * t_r}\t{lab[start]}")
                start = i
        events.append(folder / f"sub-1_task-objects_run-{r:02d}_events.tsv")
        events[-1].write_text("\n".join(lines) + "\n")
    return imgs, events


@pytest.mark.shared_data
def test_bids_runs_give_the_per_volume_labels_and_scores(haxby, tmp_path):
    bold, mask, labels, runs = haxby
    imgs, events = _haxby_runs_as_bids(haxby, tmp_path)
    made = np.concatenate([
        events_to_labels(read_events(ev), int((runs == r).sum()), 2.5, 5.0, "rest")
        for r, ev in zip(np.unique(runs), events)])
    np.testing.assert_array_equal(made.astype(str), labels)
    job = DecodingJob(classes=["face", "house"], C=0.01, memory=tmp_path / "cache")
    from_events = job.run(imgs, events=events, mask=mask)  # TR from the headers
    from_labels = job.run(bold, labels, runs=runs, mask=mask)
    np.testing.assert_array_equal(from_events.scores_, from_labels.scores_)
    assert from_events.mean_score_ >= 0.9 and len(from_events.scores_) == 12
    assert from_events.params["cleaning"]["t_r"] == 2.5  # read from the runs' headers
    # volumes under no event left out instead of labelled rest
    no_rest = events_to_labels(read_events(events[0]), int((runs == 0).sum()), 2.5, 5.0, None)
    assert set(no_rest) - {None} == set(labels[runs == 0]) - {"rest"}
    assert (no_rest == None).sum() == (labels[runs == 0] == "rest").sum()  # noqa: E711
    # the delay shifts labels by whole volumes: no delay, labels 2 volumes early
    early = events_to_labels(read_events(events[0]), int((runs == 0).sum()), 2.5, 0.0, "rest")
    np.testing.assert_array_equal(early[:-2].astype(str), labels[runs == 0][2:])


def test_events_cli_drop_rest_and_bad_events(decoding_data, tmp_path, capsys):
    import nibabel as nib

    img, labels, runs = decoding_data["img"], decoding_data["labels"], decoding_data["runs"]
    paths, events = [], []
    for r in np.unique(runs):
        rows = np.flatnonzero(runs == r)
        run_img = nib.Nifti1Image(img.get_fdata(dtype=np.float32)[..., rows], img.affine)
        paths.append(str(tmp_path / f"run-{r}_bold.nii.gz"))
        nib.save(run_img, paths[-1])
        lines = ["onset\tduration\ttrial_type"] + [
            f"{i * 2.0 - 4.0}\t2.0\t{lab}" for i, lab in enumerate(labels[rows]) if lab != "rest"]
        events.append(str(tmp_path / f"run-{r}_events.tsv"))
        Path(events[-1]).write_text("\n".join(lines) + "\n")
    out = tmp_path / "res"
    status = main(["decode", *paths, "--events", *events, "--t-r", "2", "--hrf-delay", "4",
                   "--drop-no-event", "-o", str(out), "-q", "--no-cache"])
    assert status == 0, capsys.readouterr().err
    res = load_result(out)
    ref = DecodingJob(classes=["face", "house"], memory=False).run(img, labels, runs=runs)
    assert res.classes_ == ["face", "house"] and res.n_samples_ == 32
    np.testing.assert_allclose(res.scores_, ref.scores_)
    bad = tmp_path / "bad_events.tsv"
    bad.write_text("onset\tduration\tcondition\n0\t2\tface\n")
    status = main(["decode", paths[0], "--events", str(bad), "--t-r", "2", "--cv", "kfold",
                   "-o", str(tmp_path / "r2"), "-q", "--no-cache"])
    err = capsys.readouterr().err
    assert status == 1 and "bad_events.tsv has no trial_type column" in err
    assert not (tmp_path / "r2").exists()


# --- cleaning ----------------------------------------------------------------------------
def test_confound_regression_removes_a_planted_signal(roi_series, tmp_path):
    from nilearn.connectome import ConnectivityMeasure
    from nilearn.signal import clean

    series, _ = roi_series
    rng = np.random.default_rng(3)
    confound = np.cumsum(rng.standard_normal((250, 1)), axis=0)  # a slow drift
    planted = series + confound @ rng.uniform(5, 30, (1, 31))
    conf_file = tmp_path / "confounds.tsv"
    np.savetxt(conf_file, confound, header="drift", comments="", delimiter="\t")
    job = ConnectivityJob(memory=False)
    raw = job.run(series).matrix_
    dirty = job.run(planted).matrix_
    cleaned = job.run(planted, confounds=[conf_file]).matrix_
    ref = ConnectivityMeasure(kind="correlation").fit_transform(
        [clean(planted, confounds=confound)])[0]
    np.testing.assert_allclose(cleaned, ref, atol=1e-12)
    # the planted drift dominates the raw matrix; regression takes it out again
    off = ~np.eye(31, dtype=bool)
    assert np.abs(dirty - raw)[off].mean() > 0.3
    truth = ConnectivityMeasure(kind="correlation").fit_transform(
        [clean(series, confounds=confound)])[0]
    np.testing.assert_allclose(cleaned, truth, atol=1e-5)
    # filters and the TR, recorded with the result
    filtered = ConnectivityJob(high_pass=0.01, low_pass=0.1, t_r=1.89, memory=False).run(
        planted, confounds=[confound])
    ref = ConnectivityMeasure(kind="correlation").fit_transform(
        [clean(planted, confounds=confound, high_pass=0.01, low_pass=0.1, t_r=1.89)])[0]
    np.testing.assert_allclose(filtered.matrix_, ref, atol=1e-12)
    doc = json.loads((save_result(filtered, tmp_path / "r") / "result.json").read_text())
    assert doc["parameters"]["high_pass"] == 0.01 and doc["parameters"]["t_r"] == 1.89
    # the message says where a TR could come from: series carry none (not "the images'
    # headers"), and the command line's flag
    with pytest.raises(ParameterError, match=r"high_pass/low_pass .* need the repetition "
                       r"time: give t_r=\.\.\. \(seconds; --t-r on the command line\); "
                       r"time series carry none\.$"):
        ConnectivityJob(high_pass=0.01, memory=False).run(planted)
    with pytest.raises(ParameterError, match=r"'high_pass' .* must be below 'low_pass'"):
        ConnectivityJob(high_pass=0.2, low_pass=0.1, t_r=2).run(planted)


def test_cleaning_changes_reuse_the_masked_data(decoding_data, tmp_path, monkeypatch):
    """Cleaning parameters key the cleaning step only: masking is not redone."""
    from brainviz.backend import decoding as dec

    d = decoding_data
    calls = []
    real = dec._mask_image
    monkeypatch.setattr(dec, "_mask_image", lambda *a: calls.append(1) or real(*a))
    job = DecodingJob(classes=["face", "house"], memory=tmp_path)
    job.run(d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    assert calls == [1]
    lines = []
    conf = [np.random.default_rng(r).standard_normal((12, 2)) for r in range(4)]
    res = job.set_params(detrend=False, t_r=2.0).run(
        d["img"], d["labels"], runs=d["runs"], mask=d["mask"], confounds=conf, log=lines.append)
    assert calls == [1]  # masked data reused, cleaning redone
    assert "decoding: cleaning: loaded from the cache" not in lines
    assert res.params["cleaning"]["detrend"] is False and res.params["cleaning"]["t_r"] == 2.0
    assert res.params["cleaning"]["confounds"] == ["array"] * 4
    # the cleaned data are nilearn's signal.clean of each run
    from nilearn.signal import clean

    from joblib import Memory

    X0, _ = dec._mask_step(None, [d["img"]], None, d["mask"])
    rows = d["runs"] == 1
    ours, _ = dec._clean_step(Memory(None), [("array", "x", "y", (7, 8, 9, 48))], [d["img"]], None,
                              d["mask"], d["runs"], (False, True, None, None, 2.0), [None] * 4,
                              conf, [None] * 4, 2.0)
    ref = clean(X0[rows], confounds=conf[1], detrend=False, standardize="zscore_sample",
                t_r=2.0)
    np.testing.assert_allclose(ours[rows], ref, atol=1e-4)


def test_fmriprep_confounds_strategy_equals_nilearn_load_confounds(tmp_path, rng):
    from nilearn.connectome import ConnectivityMeasure
    from nilearn.interfaces.fmriprep import load_confounds
    from nilearn.signal import clean

    src = (Path(importlib.util.find_spec("nilearn").submodule_search_locations[0])
           / "interfaces" / "fmriprep" / "data")
    tsv, sidecar = src / "test-v21_desc-confounds_timeseries.tsv", src / "test-v21_desc-confounds_timeseries.json"
    # as fMRIPrep writes them: the confounds beside the image (nilearn needs only the names)
    stem = tmp_path / "sub-01_task-rest"
    (tmp_path / f"{stem.name}_desc-confounds_timeseries.tsv").write_text(tsv.read_text())
    (tmp_path / f"{stem.name}_desc-confounds_timeseries.json").write_text(sidecar.read_text())
    bold = f"{stem}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz"
    conf, sample_mask = load_confounds(bold, strategy=("motion", "wm_csf"), motion="basic")
    assert len(sample_mask) == 27  # fMRIPrep's 3 non-steady-state volumes left out
    series = rng.standard_normal((30, 6)) + np.asarray(conf)[:, :1]
    job = ConnectivityJob(confounds_strategy="motion,wm_csf", confounds_params="motion=basic",
                          memory=False)
    res = job.run(series, confounds=[str(tmp_path / f"{stem.name}_desc-confounds_timeseries.tsv")])
    ref = ConnectivityMeasure(kind="correlation").fit_transform(
        [clean(series, confounds=np.asarray(conf), sample_mask=sample_mask)])[0]
    np.testing.assert_allclose(res.matrix_, ref, atol=1e-12)
    with pytest.raises(ParameterError, match=r"'confounds_strategy' .* among .*'motion'.*got"):
        ConnectivityJob(confounds_strategy="movement").run(series)
    with pytest.raises(ParameterError, match=r"'confounds_params' .* name=value pairs"):
        ConnectivityJob(confounds_strategy="motion", confounds_params="full").run(series)


# --- connectivity from time-series files -------------------------------------------------
@pytest.mark.parametrize("kind,estimator", [("correlation", "ledoit_wolf"),
                                            ("partial correlation", "ledoit_wolf"),
                                            ("correlation", "empirical")])
def test_cli_connectivity_from_the_31_roi_csv_equals_nilearn(roi_csv, roi_series, kind,
                                                             estimator, tmp_path, capsys):
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import EmpiricalCovariance

    series, names = roi_series
    out = tmp_path / "res"
    assert main(["connectivity", str(roi_csv), "--kind", kind, "--cov-estimator", estimator,
                 "-o", str(out), "-q"]) == 0, capsys.readouterr().err
    res = load_result(out)
    measure = ConnectivityMeasure(kind=kind) if estimator == "ledoit_wolf" else \
        ConnectivityMeasure(kind=kind, cov_estimator=EmpiricalCovariance())
    np.testing.assert_allclose(res.matrix_, measure.fit_transform([series])[0], atol=1e-6)
    assert res.labels_ == names and res.params["cov_estimator"] == estimator
    header = (out / "matrix.tsv").read_text().splitlines()[0].split("\t")
    assert header == ["node", *names]
    assert (out / "coords.tsv").read_text().splitlines()[0] == "x\ty\tz\tlabel"


def test_correlation_does_not_depend_on_the_series_scale(roi_series):
    from nilearn.connectome import ConnectivityMeasure

    series, _ = roi_series
    scaled = series * np.linspace(1, 10, 31)
    halves = [series[:125], series[125:]]
    res = ConnectivityJob(memory=False).run([scaled[:125], scaled[125:]])
    ref = ConnectivityMeasure(kind="correlation").fit_transform(halves)
    np.testing.assert_allclose(res.matrices_, ref, atol=1e-10)
    np.testing.assert_allclose(
        ConnectivityJob(memory=False).run(scaled).matrix_,
        ConnectivityJob(memory=False).run(series).matrix_, atol=1e-10)


def test_sparse_cv_default_is_scikit_learns_and_recorded(roi_series, tmp_path):
    from sklearn.covariance import GraphicalLassoCV

    series, _ = roi_series
    halves = [series[:125], series[125:]]
    res = ConnectivityJob(kind="sparse inverse covariance", memory=False).run(halves)
    z = (halves[0] - halves[0].mean(0)) / halves[0].std(0)
    assert res.estimator_["cv"] == 5
    assert res.estimator_["alphas"][0] == pytest.approx(GraphicalLassoCV().fit(z).alpha_)
    three = ConnectivityJob(kind="sparse inverse covariance", sparse_cv=3, memory=False).run(
        halves)
    assert three.estimator_["cv"] == 3
    assert three.estimator_["alphas"][0] == pytest.approx(GraphicalLassoCV(cv=3).fit(z).alpha_)
    doc = json.loads((save_result(three, tmp_path / "r") / "result.json").read_text())
    assert doc["parameters"]["sparse_cv"] == 3 and doc["fields"]["estimator_"]["cv"] == 3


def test_more_regions_than_time_points(rng):
    from nilearn.connectome import ConnectivityMeasure

    series = [rng.standard_normal((120, 160)) for _ in range(2)]
    for kind in ("correlation", "partial correlation", "tangent"):
        res = ConnectivityJob(kind=kind, memory=False).run(series)
        ref = ConnectivityMeasure(kind=kind).fit_transform(series)
        np.testing.assert_allclose(res.matrices_, ref, atol=1e-8)
    with pytest.raises(DataValueError, match=r"120 time points for 160 regions: kind='tangent' "
                       r"with cov_estimator='empirical'.*use cov_estimator='ledoit_wolf'"):
        ConnectivityJob(kind="tangent", cov_estimator="empirical").run(series)


def test_label_atlas_nodes_are_nilearns_cut_coords(resting_data):
    import nibabel as nib
    from nilearn.plotting import find_parcellation_cut_coords

    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(resting_data["maps"]):
        labels[m > 0.2] = i + 1
    labels[1:3, 8:10, 1:3] = 2  # a second part of label 2, far from its main blob
    labels[6:9, 8:10, 6:8] = 4  # a label straddling no hemisphere line: right only
    labels[3:7, 1:3, 6:8] = 5  # one crossing x = 0
    atlas = nib.Nifti1Image(labels, resting_data["affine"])
    res = ConnectivityJob(memory=False).run(resting_data["imgs"], atlas=atlas)
    np.testing.assert_allclose(res.coords_, find_parcellation_cut_coords(atlas), atol=1e-9)
    assert res.labels_ == [f"region {i}" for i in range(1, 6)]


def test_label_atlas_nodes_are_nilearns_on_atlases_with_ties_and_parts(rng):
    """Node placement for all labels at once (one connected-components pass) gives
    nilearn's coordinates: labels of many parts, equal-sized parts (the first in C order
    wins), labels on both sides of x = 0 or on one, flipped axes, a 4D atlas."""
    import warnings

    import nibabel as nib
    from nilearn.plotting import find_parcellation_cut_coords

    from brainviz.backend.connectivity import label_centroids

    for trial in range(24):
        shape = tuple(int(n) for n in rng.integers(3, 14, 3))
        data = rng.integers(0, int(rng.integers(2, 7)), shape).astype(np.int16)
        if trial % 3 == 0:
            data[data > 0] += 100  # label values with gaps
        affine = np.diag([rng.choice([-2.0, 2.0]), rng.choice([-3.0, 3.0]), 2.0, 1.0])
        affine[:3, 3] = [rng.uniform(-20, 20), -10.0, -10.0]
        if trial % 4 == 0:
            affine[:3, :3] = affine[:3, :3][[1, 0, 2]]  # axes in another order
        img = nib.Nifti1Image(data[..., None] if trial % 5 == 0 else data, affine)
        ids, coords = label_centroids(img)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = find_parcellation_cut_coords(img)
        assert [int(i) for i in ids] == sorted(int(v) for v in np.unique(data) if v != 0)
        np.testing.assert_allclose(coords, ref, atol=1e-9, err_msg=f"trial {trial}")


def test_render_reads_a_connectivity_result_back(roi_csv, tmp_path, capsys):
    from brainviz.cli import _render, build_parser
    from brainviz.data import load_dosenbach_2010
    from brainviz.model import ConnectomeLayer

    coords = load_dosenbach_2010().coords[:31]
    coords_file = tmp_path / "nodes.csv"
    coords_file.write_text("x,y,z\n" + "".join(f"{x},{y},{z}\n" for x, y, z in coords))
    out = tmp_path / "res"
    assert main(["connectivity", str(roi_csv), "--coords", str(coords_file), "-o", str(out),
                 "-q"]) == 0
    res = load_result(out)
    for argv in (["--connectome", str(out)],
                 ["--connectome", str(out / "matrix.tsv"), "--coords", str(out / "coords.tsv")]):
        args = build_parser().parse_args(["render", *argv, "-o", str(tmp_path / "g.png")])
        session = _render.build_session(args, _render.plan(args))
        layer, = session.layers_of_type(ConnectomeLayer)
        np.testing.assert_allclose(layer.data["matrix"], res.matrix_, atol=1e-12)
        np.testing.assert_allclose(layer.data["coords"], coords)
        assert list(layer.data["labels"]) == res.labels_
    no_coords = tmp_path / "res2"
    assert main(["connectivity", str(roi_csv), "-o", str(no_coords), "-q"]) == 0
    args = build_parser().parse_args(["render", "--connectome", str(no_coords), "-o",
                                      str(tmp_path / "g.png")])
    assert _render.run(args) == 1
    assert "has no node positions" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_decoding_tables_have_names(decoding_data, tmp_path):
    d = decoding_data
    res = DecodingJob(classes=["face", "house"], memory=False).run(
        d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    folder = save_result(res, tmp_path / "r")
    lines = (folder / "scores.tsv").read_text().splitlines()
    assert lines[0] == "fold\tscore" and len(lines) == 5
    assert float(lines[1].split("\t")[1]) == res.scores_[0]
    assert (folder / "confusion.tsv").read_text().splitlines()[0] == \
        "true \\ predicted\tface\thouse"
    back = load_result(folder)
    assert back == res


# --- individual maps ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def shifted_subjects():
    """Three subjects whose three networks sit at slightly different places (own maps)."""
    import nibabel as nib

    rng = np.random.default_rng(11)
    shape = (12, 12, 9)
    ii, jj, kk = np.indices(shape)
    base = [(3.0, 3.5, 4), (8.5, 3.5, 4), (5.5, 8.5, 4)]
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    imgs, truths = [], []
    for s in range(3):
        angle = rng.uniform(0, 2 * np.pi, 3)  # each network 2 voxels off, in its own direction
        shift = np.stack([2 * np.cos(angle), 2 * np.sin(angle), np.zeros(3)], axis=1)
        maps = []
        for c, d in zip(base, shift):
            d2 = sum((g - (ci + di)) ** 2 for g, ci, di in zip((ii, jj, kk), c, d))
            maps.append(np.exp(-d2 / (2 * 1.3**2)))
        t = rng.standard_normal((100, 3))
        data = np.einsum("xyzk,tk->xyzt", np.stack(maps, -1), t) * 3.0
        data += rng.standard_normal(shape + (100,)) + 50.0
        imgs.append(nib.Nifti1Image(data.astype(np.float32), affine))
        truths.append(maps)
    return imgs, truths, nib.Nifti1Image(np.ones(shape, np.uint8), affine)


def test_dual_regression_recovers_each_subjects_own_maps(shifted_subjects, tmp_path):
    imgs, truths, mask = shifted_subjects
    res = RegionJob(n_components=3, smoothing_fwhm=None, memory=False).run(imgs, mask=mask)
    group = res.components_img_.get_fdata().reshape(-1, 3)
    names = list(res.individual_maps_)
    assert len(names) == 3 and res.individual_maps_[names[0]].shape == (12, 12, 9, 3)
    idx = np.indices((12, 12, 9)).reshape(3, -1).T

    def centre(m):  # weighted centre of a map's 30 strongest voxels
        m = np.abs(m)
        top = m >= np.sort(m)[-30]
        return (idx[top] * m[top, None]).sum(0) / m[top].sum()

    r_group, r_own = [], []
    for s, name in enumerate(names):
        own = res.individual_maps_[name].get_fdata().reshape(-1, 3)
        err_group, err_own = [], []
        for truth in truths[s]:
            t = truth.ravel()
            k = int(np.argmax([abs(np.corrcoef(t, group[:, c])[0, 1]) for c in range(3)]))
            err_group.append(np.linalg.norm(centre(group[:, k]) - centre(t)))
            err_own.append(np.linalg.norm(centre(own[:, k]) - centre(t)))
            r_group.append(abs(np.corrcoef(t, group[:, k])[0, 1]))
            r_own.append(abs(np.corrcoef(t, own[:, k])[0, 1]))
        # each subject's networks: where that subject has them, not where the group has
        assert np.mean(err_own) < 0.7 * np.mean(err_group), (s, err_own, err_group)
    assert np.mean(r_own) > np.mean(r_group)
    assert res.individual_timeseries_[0].shape == (100, 3)
    folder = save_result(res, tmp_path / "r")
    files = sorted(p.name for p in folder.glob("individual_maps_*.nii.gz"))
    assert len(files) == 3
    import nibabel as nib

    assert nib.load(folder / files[0]).shape == (12, 12, 9, 3)  # one 4D image per subject
    from brainviz.model import ComponentsLayer
    from brainviz.session import open_path

    layer, = open_path(folder / files[0], layer_type="ComponentsLayer")  # opens as a layer
    assert isinstance(layer, ComponentsLayer) and layer.n_frames == 3


def test_dual_regression_equals_the_two_least_squares_stages(rng):
    from brainviz.backend.regions import dual_regression

    maps = rng.standard_normal((3, 200))
    ts_true = rng.standard_normal((50, 3))
    data = ts_true @ maps + 0.01 * rng.standard_normal((50, 200))
    ts, own = dual_regression(maps, data)
    g = maps - maps.mean(1, keepdims=True)
    y = data - data.mean(1, keepdims=True)
    np.testing.assert_allclose(ts, (np.linalg.pinv(g.T) @ y.T).T, atol=1e-4)
    z = (ts - ts.mean(0)) / ts.std(0)
    np.testing.assert_allclose(own, np.linalg.pinv(z) @ (data - data.mean(0)), atol=1e-3)


# --- searchlight -------------------------------------------------------------------------
def test_searchlight_peaks_in_the_true_regions_and_equals_nilearn(decoding_data, tmp_path):
    import nibabel as nib
    from nilearn.decoding import SearchLight
    from nilearn.masking import apply_mask, unmask
    from nilearn.signal import clean
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import LeaveOneGroupOut

    d = decoding_data
    slab = np.zeros((7, 8, 9), np.uint8)
    slab[:, :, [3, 6]] = 1  # the planes through both true regions' centres
    mask = nib.Nifti1Image(slab, d["img"].affine)
    job = SearchlightJob(radius=4.0, estimator="ridge", classes=["face", "house"],
                         memory=tmp_path, n_chunks=3)
    res = job.run(d["img"], d["labels"], runs=d["runs"], mask=mask)
    scores = res.scores_img_.get_fdata()
    inside = slab.astype(bool)
    truth = (d["truth"]["face"] | d["truth"]["house"]) & inside
    assert scores[truth].mean() > 0.85 > 0.65 > scores[inside & ~truth].mean()
    best = tuple(np.round(np.linalg.inv(d["img"].affine) @ [*res.best_coords_, 1])[:3].astype(int))
    assert truth[best]
    # nilearn's SearchLight on the same cleaned data, in one piece
    keep = np.isin(d["labels"], ["face", "house"])
    X = apply_mask(d["img"], mask)
    X = np.vstack([clean(X[d["runs"] == r], standardize="zscore_sample")
                   for r in range(4)])[keep]
    ref = SearchLight(mask, radius=4.0, estimator=RidgeClassifier(alpha=0.5), cv=LeaveOneGroupOut(),
                      scoring="accuracy").fit(unmask(X, mask), d["labels"][keep],
                                              groups=d["runs"][keep])
    np.testing.assert_allclose(scores[inside], ref.scores_[inside], atol=1e-12)
    out = tmp_path / "res"
    assert main(["searchlight", str(tmp_path / "bold.nii.gz"), "--labels", "x", "-o", str(out)]) \
        == 1  # missing files: one line, no result
    assert not out.exists()


def test_a_session_that_ran_a_searchlight_opens_again(decoding_data, tmp_path):
    """A searchlight's result folder opened in a session (its map a layer, the job in the
    job list), the session saved and read back: the job is there, and its result reads
    back from its folder (the session file was refused: "jobs[0].kind: expected one of
    {'decoding', 'regions', 'connectivity'}")."""
    import nibabel as nib

    from brainviz.model import Session
    from brainviz.session import (
        load_job_result, open_result_folder, read_session, save_session,
    )

    d = decoding_data
    slab = np.zeros((7, 8, 9), np.uint8)
    slab[:, :, 3] = 1
    res = SearchlightJob(radius=4.0, estimator="ridge", classes=["face", "house"],
                         memory=False).run(d["img"], d["labels"], runs=d["runs"],
                                           mask=nib.Nifti1Image(slab, d["img"].affine))
    folder = save_result(res, tmp_path / "searchlight")
    layers, job = open_result_folder(folder)
    assert job.kind == "searchlight"
    session = Session()
    for layer in layers:
        session.add_layer(layer)
    session.jobs.append(job)
    again, missing = read_session(save_session(session, tmp_path / "s.json"))
    assert missing == [] and [j.kind for j in again.jobs] == ["searchlight"]
    assert [lay.name for lay in again.layers] == [lay.name for lay in session.layers]
    reread = load_job_result(again.jobs[0])
    np.testing.assert_array_equal(reread.scores_img_.get_fdata(), res.scores_img_.get_fdata())


def test_time_series_as_afni_1d_and_npy_one_per_subject(roi_series, tmp_path, capsys):
    from nilearn.connectome import ConnectivityMeasure

    series, _ = roi_series
    one_d = tmp_path / "sub-01_rois.1D"
    one_d.write_text("# AFNI 3dROIstats-like output\n" + "\n".join(
        " ".join(f"{v:.10g}" for v in row) for row in series[:125]) + "\n")
    npy = tmp_path / "sub-02_rois.npy"
    np.save(npy, series[125:])
    out = tmp_path / "res"
    assert main(["connectivity", str(one_d), str(npy), "--coords", "dosenbach", "-o", str(out),
                 "-q"]) == 1  # 160 Dosenbach nodes for 31 regions: refused, clearly
    assert "31 regions but coords has shape (160, 3)" in capsys.readouterr().err
    assert main(["connectivity", str(one_d), str(npy), "-o", str(out), "-q"]) == 0
    res = load_result(out)
    ref = ConnectivityMeasure(kind="correlation").fit_transform(
        [np.loadtxt(one_d), series[125:]])
    np.testing.assert_allclose(res.matrices_, ref, atol=1e-9)
    assert res.labels_ == [f"node {i}" for i in range(31)]  # no header, no names
    doc = json.loads((out / "result.json").read_text())
    assert doc["parameters"]["cleaning"]["applied"] is False  # series used as given
    assert doc["inputs"][0]["name"] == str(one_d) and "sha256" in doc["inputs"][0]
