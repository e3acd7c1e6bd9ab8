"""DecodingJob: contract, accuracy on ground truth and real data, bad input."""
import numpy as np
import pytest
from sklearn.base import clone

from brainviz.backend import DecodingJob
from brainviz.exceptions import DataValueError, ParameterError, ShapeMismatchError


def _run(data, **params):
    params.setdefault("memory", False)
    job = DecodingJob(**params)
    return job, job.run(data["img"], data["labels"], runs=data["runs"], mask=data["mask"])


def test_estimator_contract():
    job = DecodingJob(estimator="ridge", C=0.5)
    assert job.get_params()["estimator"] == "ridge"
    copy = clone(job).set_params(C=2.0)
    assert copy.C == 2.0 and job.C == 0.5
    assert not hasattr(job, "scores_")
    with pytest.raises(ValueError,
                       match=r"Invalid parameter 'foo'.*Valid parameters are.*estimator"):
        job.set_params(foo=1)


def test_unknown_estimator_lists_allowed(decoding_data):
    with pytest.raises(
        ParameterError,
        match=r"The 'estimator' parameter of DecodingJob must be one of \{'svc', 'logistic_l1', "
        r"'logistic_l2', 'ridge', 'tv-l1', 'graph-net'\}; got 'svm'\.",
    ):
        _run(decoding_data, estimator="svm")
    with pytest.raises(ParameterError,
                       match=r"'cv' parameter .* one of \{'leave-one-run-out', 'kfold'\}"):
        _run(decoding_data, cv="loo")


def test_weight_maps_overlap_true_regions(decoding_data):
    job, res = _run(decoding_data, classes=["face", "house"], C=0.1)
    assert res.classes_ == ["face", "house"]
    assert res.mean_score_ >= 0.9
    assert res.chance_level_ == 0.5
    assert len(res.scores_) == 4 and res.confusion_.sum() == 32
    assert job.mean_score_ == res.mean_score_  # results also on the job, '_' suffix
    for cls, region in decoding_data["truth"].items():
        w = res.weight_maps_[cls].get_fdata()
        assert w.shape == (7, 8, 9)
        top = w >= np.percentile(w, 100 * (1 - region.sum() / w.size))
        overlap = (top & region).sum() / region.sum()
        assert overlap >= 0.6, (cls, overlap)
        other = decoding_data["truth"]["house" if cls == "face" else "face"]
        assert w[region].mean() > 0 > w[other].mean()


@pytest.mark.parametrize("estimator", ["logistic_l1", "logistic_l2", "ridge"])
def test_other_estimators_decode(decoding_data, estimator):
    _, res = _run(decoding_data, estimator=estimator, classes=["face", "house"])
    assert res.mean_score_ >= 0.8


@pytest.mark.parametrize("estimator", ["tv-l1", "graph-net"])
def test_spacenet_estimators(decoding_data, estimator):
    _, res = _run(decoding_data, estimator=estimator, classes=["face", "house"],
                  spacenet_max_iter=30)
    assert res.mean_score_ >= 0.8
    w = res.weight_maps_["house"].get_fdata()
    assert w[decoding_data["truth"]["house"]].mean() > w[decoding_data["truth"]["face"]].mean()


def test_kfold_screening_three_classes_and_permutation(decoding_data):
    _, res = _run(decoding_data, cv="kfold", n_folds=3, screening_percentile=30,
                  estimator="logistic_l1",
                  n_permutations=10)
    assert len(res.scores_) == 3 and res.classes_ == ["face", "house", "rest"]
    assert res.confusion_.shape == (3, 3) and res.confusion_.sum() == 48
    assert set(res.weight_maps_) == {"face", "house", "rest"}
    assert res.mean_score_ > 0.6
    assert 0 < res.pvalue_ <= 0.1 and res.permutation_scores_.shape == (10,)


def test_list_of_3d_images_matches_4d(decoding_data):
    import nibabel as nib

    img = decoding_data["img"]
    frames = [nib.Nifti1Image(img.get_fdata()[..., t].astype(np.float32), img.affine)
              for t in range(img.shape[3])]
    job = DecodingJob(classes=["face", "house"], memory=False)
    a = job.run(frames, decoding_data["labels"], runs=decoding_data["runs"],
                mask=decoding_data["mask"])
    _, b = _run(decoding_data, classes=["face", "house"])
    np.testing.assert_allclose(a.scores_, b.scores_)


# --- bad input --------------------------------------------------------------
def test_labels_count_differs(decoding_data):
    job = DecodingJob(memory=False)
    with pytest.raises(ShapeMismatchError, match=r"There are 47 labels but 48 volumes"):
        job.run(decoding_data["img"], decoding_data["labels"][:-1], runs=decoding_data["runs"])


def test_single_class(decoding_data):
    with pytest.raises(DataValueError,
                       match=r"at least two classes; the labels hold only \['face'\]"):
        _run(decoding_data, classes=["face"])


def test_one_run_with_leave_one_run_out(decoding_data):
    job = DecodingJob(memory=False)
    with pytest.raises(DataValueError, match=r"leave-one-run-out' needs at least two runs.*kfold"):
        job.run(decoding_data["img"], decoding_data["labels"], runs=np.zeros(48, int))
    with pytest.raises(ParameterError, match=r"needs the run of each volume"):
        job.run(decoding_data["img"], decoding_data["labels"])


def test_mask_on_another_grid_is_an_error(decoding_data):
    import nibabel as nib

    mask = nib.Nifti1Image(np.ones((7, 8, 10), np.uint8), decoding_data["img"].affine)
    job = DecodingJob(memory=False)
    with pytest.raises(ShapeMismatchError, match=r"mask .*shape \(7, 8, 10\).* not on the grid .*"
                       r"shape \(7, 8, 9\).*resample_to_img"):
        job.run(decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
                mask=mask)


def test_images_of_different_shapes(decoding_data):
    import nibabel as nib

    a = nib.Nifti1Image(np.zeros((7, 8, 9), np.float32), np.eye(4))
    b = nib.Nifti1Image(np.zeros((7, 9, 9), np.float32), np.eye(4))
    with pytest.raises(ShapeMismatchError, match=r"share one grid.*\(7, 8, 9\).*\(7, 9, 9\)"):
        DecodingJob(memory=False, cv="kfold").run([a, b], ["x", "y"])


def test_unknown_classes_named(decoding_data):
    with pytest.raises(ParameterError, match=r"absent from the data: \['cat'\]"):
        _run(decoding_data, classes=["face", "cat"])


# --- real data ---------------------------------------------------------------
@pytest.mark.shared_data
def test_haxby_face_vs_house_and_eight_categories(haxby, tmp_path):
    bold, mask, labels, runs = haxby
    job = DecodingJob(classes=["face", "house"], C=0.01, memory=tmp_path)
    res = job.run(bold, labels, runs=runs, mask=mask)
    assert len(res.scores_) == 12 and res.n_voxels_ == 530
    assert res.mean_score_ >= 0.9
    cats = sorted(set(labels) - {"rest"})
    res8 = job.set_params(classes=cats).run(bold, labels, runs=runs, mask=mask)
    assert res8.chance_level_ == 0.125 and len(res8.classes_) == 8
    assert res8.mean_score_ >= 0.4


@pytest.mark.shared_data
def test_logistic_l1_is_sparse_on_every_supported_scikit_learn(haxby):
    """An L1 model whatever scikit-learn's LogisticRegression defaults are (penalty spelled
    out): CI also runs this on the lowest supported scikit-learn."""
    bold, mask, labels, runs = haxby
    res = DecodingJob(estimator="logistic_l1", C=0.1, classes=["face", "house"],
                      memory=False).run(bold, labels, runs=runs, mask=mask)
    w = res.weight_maps_["house"].get_fdata()
    assert 0 < (w != 0).sum() <= 50  # of 530 voxels (an L2 model: all 530)
    assert res.mean_score_ >= 0.9
    l2 = DecodingJob(estimator="logistic_l2", C=0.1, classes=["face", "house"],
                     memory=False).run(bold, labels, runs=runs, mask=mask)
    assert (l2.weight_maps_["house"].get_fdata() != 0).sum() == 530


@pytest.mark.parametrize("estimator", ["ridge", "tv-l1"])
def test_screening_percentile_is_a_percent_of_the_mask_for_every_estimator(decoding_data,
                                                                          estimator):
    _, res = _run(decoding_data, estimator=estimator, classes=["face", "house"],
                  screening_percentile=10, spacenet_max_iter=30)
    w = res.weight_maps_["house"].get_fdata()
    n_mask = int(decoding_data["mask"].get_fdata().sum())  # 503 voxels
    # each of the 4 folds keeps 10 % of the mask; their union is at most 4 x 10 %
    assert 0 < (w != 0).sum() <= 4 * int(np.ceil(0.1 * n_mask))
    assert res.mean_score_ >= 0.8


def test_a_run_is_masked_a_block_at_a_time(decoding_data, tmp_path, monkeypatch):
    """A BIDS run as .nii.gz (int16, scaled or not) or a scaled .nii is read a few volumes
    at a time into the masked data, never whole through nibabel (whose whole series scaled
    at once is float64: four times an int16 file); the masked data are nilearn's
    apply_mask of the run, bit for bit."""
    import nibabel as nib
    from nibabel.arrayproxy import ArrayProxy
    from nilearn.masking import apply_mask

    from brainviz.backend import _inputs
    from brainviz.backend import decoding as dec

    d = decoding_data
    data = np.round(np.asanyarray(d["img"].dataobj) * 10).astype(np.int16)
    paths = {}
    for name, slope, inter in (("sub-01_run-1_bold.nii.gz", 1, 0),
                               ("scaled.nii.gz", 0.5, 1.0), ("scaled.nii", 0.03, -2.5)):
        run = nib.Nifti1Image(data, d["img"].affine)
        run.header.set_slope_inter(slope, inter)
        paths[name] = tmp_path / name
        nib.save(run, paths[name])
    refs = {name: apply_mask(nib.load(path), d["mask"]) for name, path in paths.items()}
    assert refs["scaled.nii"].dtype == np.float64  # what nibabel gives: float64 numbers
    real_array, real_item = ArrayProxy.__array__, ArrayProxy.__getitem__

    def whole(self, *a, **k):  # a proxy of the file itself, not of a part in memory
        if isinstance(self.file_like, str):
            raise AssertionError(f"{self.file_like} was read whole through nibabel")
        return real_array(self, *a, **k)

    def sliced(self, *a, **k):
        if isinstance(self.file_like, str):
            raise AssertionError(f"{self.file_like} was read through nibabel")
        return real_item(self, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(ArrayProxy, "__array__", whole)
        m.setattr(ArrayProxy, "__getitem__", sliced)
        for name, path in paths.items():
            X, _ = dec._mask_step(None, [_inputs.as_image(path)], None, d["mask"])
            np.testing.assert_array_equal(X, refs[name].astype(np.float32))
        # a scaled 3D image (one volume): the same, in one piece
        one = nib.Nifti1Image(data[..., 0], d["img"].affine)
        one.header.set_slope_inter(0.03, -2.5)
        nib.save(one, tmp_path / "one.nii")
        X, _ = dec._mask_step(None, [_inputs.as_image(tmp_path / "one.nii")], None, d["mask"])
    np.testing.assert_array_equal(
        X, apply_mask(nib.load(tmp_path / "one.nii"), d["mask"])[None].astype(np.float32))


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_a_scaled_run_never_takes_its_whole_float64_series_in_memory(tmp_path, suffix):
    """Memory stays bounded by the work, not by the file: masking a scaled int16 run (SPM
    and many scanners store them so) holds a few volumes scaled at a time, not nibabel's
    float64 series (four times the file); and what it gives is apply_mask's."""
    import tracemalloc

    import nibabel as nib
    from nilearn.masking import apply_mask

    from brainviz.backend import _inputs
    from brainviz.backend import decoding as dec

    rng = np.random.default_rng(0)
    shape, n_t = (30, 30, 30), 120
    run = nib.Nifti1Image(rng.integers(-2000, 2000, shape + (n_t,)).astype(np.int16),
                          np.diag([3.0, 3.0, 3.0, 1.0]))
    run.header.set_slope_inter(0.1, 7.0)
    path = tmp_path / f"run{suffix}"
    nib.save(run, path)
    del run
    mask = np.zeros(shape, bool)
    mask[5:25, 5:25, 5:25] = True
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), np.diag([3.0, 3.0, 3.0, 1.0]))
    whole_float64 = np.prod(shape) * n_t * 8  # 26 MB
    masked = int(mask.sum()) * n_t * 4  # the float32 output itself: 3.8 MB
    img = _inputs.as_image(path)
    tracemalloc.start()
    try:
        X, _ = dec._mask_step(None, [img], None, mask_img)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < masked + whole_float64 / 4, (peak, masked, whole_float64)
    np.testing.assert_array_equal(X, apply_mask(nib.load(path), mask_img).astype(np.float32))
