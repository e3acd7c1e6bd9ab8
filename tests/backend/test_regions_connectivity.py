"""RegionJob and ConnectivityJob on ground-truth data, and their bad input."""
import numpy as np
import pytest

from brainviz.backend import ConnectivityJob, RegionJob
from brainviz.exceptions import DataValueError, ParameterError, ShapeMismatchError


def _best_match(maps, components_img):
    comps = components_img.get_fdata().reshape(-1, components_img.shape[3])
    best = []
    for m in maps:
        r = [abs(np.corrcoef(m.ravel(), comps[:, k])[0, 1]) for k in range(comps.shape[1])]
        best.append(max(r))
    return best


@pytest.mark.parametrize("method", ["canica", "dictlearning"])
def test_region_learning_recovers_networks(resting_data, method, tmp_path):
    job = RegionJob(method=method, n_components=3, smoothing_fwhm=None, memory=tmp_path)
    res = job.run(resting_data["imgs"], mask=resting_data["mask"])
    assert res.components_img_.shape == (10, 11, 9, 3)
    assert min(_best_match(resting_data["maps"], res.components_img_)) >= 0.6
    assert res.region_labels_ == ["component 0", "component 1", "component 2"]
    assert len(res.timeseries_) == 3 and res.timeseries_[0].shape == (80, 3)
    assert job.components_img_ is res.components_img_


def test_region_extraction_and_cache_reuse(resting_data, tmp_path, monkeypatch):
    from nilearn.decomposition import CanICA

    calls = []
    real_fit = CanICA.fit
    monkeypatch.setattr(CanICA, "fit",
                        lambda self, *a, **k: calls.append(1) or real_fit(self, *a, **k))
    job = RegionJob(n_components=3, smoothing_fwhm=None, memory=tmp_path, timeseries=False)
    job.run(resting_data["imgs"], mask=resting_data["mask"])
    assert calls == [1]
    res = job.set_params(extract_regions=True, min_region_size=100, threshold=0.5,
                         timeseries=True).run(resting_data["imgs"], mask=resting_data["mask"])
    assert calls == [1]  # the decomposition was reused from the cache
    assert res.regions_img_.shape[3] >= 3
    assert len(res.region_labels_) == res.regions_img_.shape[3] == len(res.region_index_)
    assert res.region_labels_[0].startswith("component ")
    assert res.timeseries_[0].shape == (80, res.regions_img_.shape[3])
    # the extracted regions feed a connectivity job with their centroids
    con = ConnectivityJob(memory=False).run(res)
    assert con.matrix_.shape == (len(res.region_labels_),) * 2
    assert np.isfinite(con.coords_).all() and con.labels_ == res.region_labels_


def test_region_bad_input(resting_data):
    import nibabel as nib

    other = nib.Nifti1Image(np.zeros((10, 11, 8, 80), np.float32), resting_data["affine"])
    with pytest.raises(ShapeMismatchError, match=r"share one grid.*\(10, 11, 9\).*\(10, 11, 8\)"):
        RegionJob(memory=False).run([resting_data["imgs"][0], other])
    with pytest.raises(ParameterError, match=r"'method' parameter of RegionJob must be one of "
                       r"\{'canica', 'dictlearning'\}; got 'ica'"):
        RegionJob(method="ica").run(resting_data["imgs"])
    with pytest.raises(ParameterError, match="'n_components' .* positive integer; got 0"):
        RegionJob(n_components=0).run(resting_data["imgs"])


def _coupled_series(rng, n_nodes=8, n_time=400):
    """Time series drawn from a sparse precision matrix; returns (series list, truth)."""
    truth = np.zeros((n_nodes, n_nodes), bool)
    for a, b in [(0, 1), (2, 3), (4, 5), (1, 6), (3, 7)]:
        truth[a, b] = truth[b, a] = True
    prec = np.eye(n_nodes) * 1.0 + np.where(truth, -0.4, 0.0)
    cov = np.linalg.inv(prec)
    return [rng.multivariate_normal(np.zeros(n_nodes), cov, size=n_time) for _ in range(3)], truth


@pytest.mark.parametrize("kind", ["correlation", "partial correlation", "tangent",
                                  "sparse inverse covariance"])
def test_connectivity_ranks_true_couplings(kind, rng):
    from sklearn.metrics import roc_auc_score

    series, truth = _coupled_series(rng)
    coords = rng.uniform(-50, 50, (8, 3))
    res = ConnectivityJob(kind=kind, memory=False).run(series, coords=coords)
    assert res.matrices_.shape == (3, 8, 8) and res.kind_ == kind
    np.testing.assert_allclose(res.coords_, coords)
    assert res.labels_ == [f"node {i}" for i in range(8)]
    iu = np.triu_indices(8, 1)
    mat = res.matrix_ if kind != "tangent" else res.matrices_.mean(0) + res.matrix_
    auc = roc_auc_score(truth[iu], np.abs(mat[iu]))
    if kind == "correlation":  # marginal correlation also sees 2-step paths
        assert auc >= 0.8
    else:
        assert auc >= 0.9, auc


def test_connectivity_from_images_with_atlas_and_spheres(resting_data, tmp_path):
    import nibabel as nib

    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(resting_data["maps"]):
        labels[m > 0.3] = i + 1
    atlas = nib.Nifti1Image(labels, resting_data["affine"])
    res = ConnectivityJob(kind="correlation", memory=tmp_path).run(resting_data["imgs"],
                                                                   atlas=atlas)
    assert res.labels_ == ["region 1", "region 2", "region 3"]
    # region 1 centre voxel (2.5, 3, 4) -> mm via the affine
    assert np.allclose(res.coords_[1], [7 * 4 - 20, 3 * 4 - 22, 4 * 4 - 18])
    off = res.matrix_[np.triu_indices(3, 1)]
    assert np.all(np.abs(off) < 0.3)  # independent networks
    spheres = ConnectivityJob(memory=tmp_path).run(
        resting_data["imgs"], coords=res.coords_, labels=["a", "b", "c"])
    assert spheres.labels_ == ["a", "b", "c"] and spheres.matrix_.shape == (3, 3)


def test_connectivity_bad_input(rng):
    short = [rng.standard_normal((5, 8))]
    # more regions than time points: shrinkage works, an inverse of the plain estimate cannot
    assert ConnectivityJob(kind="partial correlation", memory=False).run(short).matrix_.shape == (8, 8)
    with pytest.raises(DataValueError, match=r"5 time points for 8 regions: kind='partial "
                       r"correlation' with cov_estimator='empirical' needs more time points"):
        ConnectivityJob(kind="partial correlation", cov_estimator="empirical").run(short)
    with pytest.raises(ParameterError, match=r"'sparse_cv' parameter .* integer >= 2 or None"):
        ConnectivityJob(kind="sparse inverse covariance", sparse_cv=1).run(short)
    with pytest.raises(DataValueError, match="tangent' needs two or more subjects"):
        ConnectivityJob(kind="tangent").run(rng.standard_normal((50, 4)))
    with pytest.raises(ParameterError, match=r"'kind' parameter of ConnectivityJob must be one of "
                       r"\{'correlation', 'partial correlation', .*\}; got 'pearson'"):
        ConnectivityJob(kind="pearson").run(rng.standard_normal((50, 4)))
    with pytest.raises(ShapeMismatchError, match=r"subject 1 has shape \(50, 3\)"):
        ConnectivityJob().run([rng.standard_normal((50, 4)), rng.standard_normal((50, 3))])
    with pytest.raises(ParameterError, match="either atlas=.* or coords="):
        ConnectivityJob().run("x.nii.gz")


def test_connectivity_keyword_inputs_and_cache_log(resting_data, tmp_path):
    import nibabel as nib

    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(resting_data["maps"]):
        labels[m > 0.3] = i + 1
    atlas = nib.Nifti1Image(labels, resting_data["affine"])
    job = ConnectivityJob(memory=tmp_path)
    a = job.run(imgs=resting_data["imgs"], atlas=atlas)
    lines = []
    b = job.run(imgs=resting_data["imgs"], atlas=atlas, log=lines.append)
    # each subject's matrix comes from the cache, as its worker says
    assert a == b and lines == ["connectivity: correlation: loaded from the cache"] * 3
    lines.clear()
    job.set_params(kind="partial correlation").run(imgs=resting_data["imgs"], atlas=atlas,
                                                   log=lines.append)
    # new matrices from the cached time series (cleaning is redone: cheaper than its entry)
    assert lines == ["connectivity: time series: loaded from the cache"] * 3
    job.set_params(kind="correlation")
    c = ConnectivityJob(memory=False).run(timeseries=[np.asarray(t) for t in [
        np.random.default_rng(0).standard_normal((30, 3))]])
    assert c.matrix_.shape == (3, 3)
    with pytest.raises(ParameterError, match="exactly one of inputs, imgs=, timeseries="):
        job.run(resting_data["imgs"], imgs=resting_data["imgs"], atlas=atlas)


def _label_atlas_case(rng, tmp_path):
    """A (7, 8, 9) label atlas with gaps in its values, a one-voxel label and a label
    present only once, and 4D images in three storages (float32 in memory with a NaN
    and an inf, int16 with a scale factor in a file, float64 gzipped)."""
    import nibabel as nib

    shape = (7, 8, 9)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-10, -12, -13]
    labels = rng.choice(np.array([0, 2, 5, 40], np.int16), size=shape)
    labels[3, 4, 5] = 9  # one voxel
    atlas = nib.Nifti1Image(labels, affine)
    data = (100 + 10 * rng.standard_normal(shape + (20,))).astype(np.float32)
    data[3, 4, 5, 6] = np.nan
    data[1, 2, 3, 4] = np.inf
    floats = nib.Nifti1Image(data, affine)
    scaled = nib.Nifti1Image(np.round(np.nan_to_num(data, posinf=0) * 50).astype(np.int16),
                             affine)
    scaled.header.set_slope_inter(0.02, 1.5)
    nib.save(scaled, tmp_path / "scaled.nii")
    nib.save(nib.Nifti1Image(data.astype(np.float64), affine), tmp_path / "f64.nii.gz")
    # stored integers, unscaled (summed as int64): the full int16 range, and uint8
    ints = rng.integers(-32768, 32768, shape + (20,)).astype(np.int16)
    raw = nib.Nifti1Image(ints, affine)
    raw.header.set_slope_inter(1, 0)
    nib.save(raw, tmp_path / "int16.nii")
    small = nib.Nifti1Image(rng.integers(0, 256, shape + (20,)).astype(np.uint8), affine)
    # float32 with a NaN and an inf, uncompressed and unscaled (read a block at a time)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "f32.nii")
    imgs = [floats, nib.load(tmp_path / "scaled.nii"), nib.load(tmp_path / "f64.nii.gz"),
            nib.load(tmp_path / "int16.nii"), small, nib.load(tmp_path / "f32.nii")]
    return atlas, imgs


def test_label_atlas_signals_are_nilearns_to_the_last_bit(rng, tmp_path):
    """A label atlas on the images' grid is averaged without NiftiLabelsMasker's per-volume
    passes over the whole grid; the signals are its signals, bit for bit."""
    import warnings

    import nibabel as nib
    from nilearn.maskers import NiftiLabelsMasker

    from brainviz.backend import connectivity as con
    from brainviz.backend._cleaning import no_standardize

    atlas, imgs = _label_atlas_case(rng, tmp_path)
    for img in imgs:
        assert con._label_means_apply(atlas, None, img, None, None)
        with pytest.warns(UserWarning, match="Non-finite values") \
                if img in (imgs[0], imgs[2], imgs[5]) \
                else warnings.catch_warnings():
            ours = con._extract_step(None, atlas, None, 5.0, None, img, None, None, None)
        ref = NiftiLabelsMasker(atlas, standardize=no_standardize(),
                                detrend=False).fit_transform(img)
        # in nilearn's type too: float32 for float32 data, float64 otherwise
        assert ours.shape == (20, 4) and ours.dtype == ref.dtype
        assert ours.dtype == (np.float32 if np.asanyarray(img.dataobj).dtype == np.float32
                              else np.float64)
        np.testing.assert_array_equal(ours, ref)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for block in (1, 3):  # volumes read at a time: the same sums, bit for bit
                np.testing.assert_array_equal(con._label_means(img, atlas, block=block), ours)
            # as a job's tasks call it: the atlas' voxel order kept under its fingerprint
            np.testing.assert_array_equal(
                con._extract_step(("atlas", 1), atlas, None, 5.0, None, img, None, None, None),
                ours)
    assert ("atlas", 1) in con._PLANS
    # int16 sums in int32 where they cannot overflow it, int64 where they could: a label
    # of 65,600 voxels at 32,767 sums past 2**31
    big = np.ones((41, 40, 40), np.int16)
    big[0, 0, :10] = 2
    big_atlas = nib.Nifti1Image(big, atlas.affine)
    full = np.full(big.shape + (3,), 32767, np.int16)
    full[..., 1] = -32768
    full[3, 4, 5, 2] = 7
    full = nib.Nifti1Image(full, atlas.affine)
    full.header.set_slope_inter(1, 0)
    ref = NiftiLabelsMasker(big_atlas, standardize=no_standardize(),
                            detrend=False).fit_transform(full)
    np.testing.assert_array_equal(con._label_means(full, big_atlas), ref)
    assert ref[0, 0] == 32767 and ref[1, 0] == -32768
    huge = np.nan_to_num(np.asanyarray(imgs[2].dataobj), posinf=0.0)
    huge[np.asanyarray(atlas.dataobj) == 5, 7] = 1.5e308
    huge = nib.Nifti1Image(huge, atlas.affine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "overflow"
        warnings.filterwarnings("error", message="Non-finite")
        ours = con._label_means(huge, atlas)
    ref = NiftiLabelsMasker(atlas, standardize=no_standardize(),
                            detrend=False).fit_transform(huge)
    assert np.isposinf(ours[7, 1]) and np.isfinite(ours[6]).all()
    np.testing.assert_array_equal(ours, ref)
    # stored integers are gathered in memory order within each label (their sums do not
    # depend on the order): the same voxels per label, in increasing address
    voxels, by_address, starts, counts, _ = con._PLANS[("atlas", 1)]
    for a, b in zip(np.split(voxels, starts[1:]), np.split(by_address, starts[1:])):
        np.testing.assert_array_equal(np.sort(a), b)
    assert not np.array_equal(voxels, by_address)  # C order is not the images' order
    # another atlas under another fingerprint: its own voxel order, not the kept one
    other = nib.Nifti1Image(np.where(np.asanyarray(atlas.dataobj) == 5, 0,
                                     np.asanyarray(atlas.dataobj)).astype(np.int16),
                            atlas.affine)
    ref = NiftiLabelsMasker(other, standardize=no_standardize(),
                            detrend=False).fit_transform(imgs[3])
    ours = con._extract_step(("atlas", 2), other, None, 5.0, None, imgs[3], None, None, None)
    assert ours.shape == (20, 3)
    np.testing.assert_array_equal(ours, ref)
    # what it does not do goes through nilearn's masker: a mask, smoothing, another grid
    img = imgs[0]
    mask = nib.Nifti1Image((rng.random(atlas.shape) > 0.3).astype(np.uint8), atlas.affine)
    moved = atlas.affine.copy()
    moved[0, 3] += 3.0
    shifted = nib.Nifti1Image(np.asanyarray(atlas.dataobj), moved)
    assert not con._label_means_apply(atlas, None, img, mask, None)
    assert not con._label_means_apply(atlas, None, img, None, 6.0)
    assert not con._label_means_apply(shifted, None, img, None, None)
    assert not con._label_means_apply(nib.Nifti1Image(np.asanyarray(atlas.dataobj) * 1.0,
                                                      atlas.affine), None, img, None, None)


def test_uncompressed_volumes_are_read_a_block_at_a_time(rng, tmp_path, monkeypatch):
    """An uncompressed file's volumes come from reads into one buffer, not through the
    memory map (page faults, and unmapping flushes the other threads' TLBs); a file cut
    short meanwhile is one clear error naming it."""
    import os

    import nibabel as nib

    from brainviz.backend import connectivity as con

    _, imgs = _label_atlas_case(rng, tmp_path)
    for img in (imgs[3], imgs[5]):  # int16 and float32 files
        data = np.asanyarray(img.dataobj)
        assert isinstance(data, np.memmap)  # what nibabel gives for them
        whole = data.reshape((-1, 20), order="F").T
        for block in (1, 3, 20, 50):
            spans, buffers = [], set()
            for t0, t1, volumes in con._volume_blocks(data, block, "x"):
                assert not isinstance(volumes, np.memmap) and volumes.dtype == data.dtype
                np.testing.assert_array_equal(volumes, whole[t0:t1])
                spans.append((t0, t1))
                buffers.add(volumes.__array_interface__["data"][0])
            assert spans == [(t0, min(t0 + block, 20)) for t0 in range(0, 20, block)]
            assert len(buffers) == 1  # one buffer, reused for each block
    # the buffer holds at most _READ_BUFFER bytes: fewer volumes a block, one at least
    data = np.asanyarray(imgs[3].dataobj)
    volume = int(np.prod(data.shape[:3])) * data.itemsize
    for limit, per_block in ((2 * volume + 1, 2), (volume // 2, 1)):
        monkeypatch.setattr(con, "_READ_BUFFER", limit)
        assert [t1 - t0 for t0, t1, _ in con._volume_blocks(data, 8, "x")] == [per_block] * (
            20 // per_block)
    monkeypatch.undo()
    # in memory (or decompressed): views of the array itself
    data = np.asanyarray(imgs[2].dataobj)
    for t0, t1, volumes in con._volume_blocks(data, 7, "x"):
        assert np.shares_memory(volumes, data)
    # cut short after it was opened
    path = tmp_path / "short.nii"
    nib.save(nib.Nifti1Image(np.asanyarray(imgs[3].dataobj), imgs[3].affine), path)
    data = np.asanyarray(nib.load(path).dataobj)
    os.truncate(path, os.path.getsize(path) - 100)
    with pytest.raises(DataValueError, match="short.nii ends before its volume 19"):
        list(con._volume_blocks(data, 4, "short.nii"))


def test_a_gzipped_series_is_inflated_a_block_at_a_time(rng, tmp_path, monkeypatch):
    """A .nii.gz (int16 as fMRIPrep writes runs, big-endian float32, two gzip members as
    bgzip writes, a header extension before the data, int16 with a scale factor) is
    inflated into one buffer a block of volumes at a time, never read whole through
    nibabel; the signals are NiftiLabelsMasker's, bit for bit (scaled numbers: nibabel's
    scaling of each block's atlas voxels)."""
    import gzip
    import warnings

    import nibabel as nib
    from nibabel.arrayproxy import ArrayProxy
    from nilearn.maskers import NiftiLabelsMasker

    from brainviz.backend import _inputs
    from brainviz.backend import connectivity as con
    from brainviz.backend._cleaning import no_standardize

    shape = (7, 8, 9)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    atlas = nib.Nifti1Image(rng.choice(np.array([0, 2, 5, 40], np.int16), size=shape), affine)
    ints = nib.Nifti1Image(rng.integers(-3000, 3000, shape + (20,)).astype(np.int16), affine)
    ints.header.set_slope_inter(1, 0)
    big = nib.Nifti1Header(endianness=">")
    big.set_data_dtype(">f4")
    floats = nib.Nifti1Image((100 + rng.standard_normal(shape + (20,))).astype(">f4"), affine,
                             big)
    extended = nib.Nifti1Image(np.asanyarray(ints.dataobj), affine)
    extended.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"x" * 500))
    scaled = nib.Nifti1Image(np.asanyarray(ints.dataobj), affine)
    scaled.header.set_slope_inter(0.5, 2.0)
    paths = {}
    for name, img in (("int16", ints), ("big", floats), ("extended", extended),
                      ("scaled", scaled)):
        paths[name] = tmp_path / f"{name}.nii.gz"
        nib.save(img, paths[name])
    raw = gzip.decompress(paths["int16"].read_bytes())
    paths["members"] = tmp_path / "members.nii.gz"
    paths["members"].write_bytes(gzip.compress(raw[:5000]) + gzip.compress(raw[5000:]))
    refs = {}
    for name, path in paths.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refs[name] = NiftiLabelsMasker(atlas, standardize=no_standardize(),
                                           detrend=False).fit_transform(nib.load(path))
    real_array, real_item = ArrayProxy.__array__, ArrayProxy.__getitem__

    def whole(self, *a, **k):  # a proxy of the file itself, not of a part in memory
        if isinstance(self.file_like, str):
            raise AssertionError("the series was read whole through nibabel")
        return real_array(self, *a, **k)

    def sliced(self, *a, **k):
        if isinstance(self.file_like, str):
            raise AssertionError("the series was read through nibabel")
        return real_item(self, *a, **k)

    monkeypatch.setattr(ArrayProxy, "__array__", whole)
    monkeypatch.setattr(ArrayProxy, "__getitem__", sliced)
    for name in ("int16", "big", "extended", "members", "scaled"):
        img = _inputs.as_image(paths[name])
        spec = _inputs.gzip_stream_spec(img)
        assert spec is not None and (spec[4] is not None) == (name == "scaled")
        for block in (None, 3):
            ours = con._label_means(img, atlas, block=block)
            assert ours.dtype == refs[name].dtype
            np.testing.assert_array_equal(ours, refs[name])
    assert refs["scaled"].dtype == np.float64  # nibabel's scaled int16: float64 numbers


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_a_scaled_series_is_averaged_without_its_whole_float64_copy(tmp_path, suffix):
    """Memory stays bounded by the work, not by the file: a scaled int16 run's label means
    hold a few volumes at a time, never nibabel's float64 series (four times the file);
    they are NiftiLabelsMasker's, bit for bit."""
    import tracemalloc

    import nibabel as nib
    from nilearn.maskers import NiftiLabelsMasker

    from brainviz.backend import _inputs
    from brainviz.backend import connectivity as con
    from brainviz.backend._cleaning import no_standardize

    rng = np.random.default_rng(0)
    shape, n_t = (30, 30, 30), 240
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    run = nib.Nifti1Image(rng.integers(-2000, 2000, shape + (n_t,)).astype(np.int16), affine)
    run.header.set_slope_inter(0.1, 7.0)
    path = tmp_path / f"run{suffix}"
    nib.save(run, path)
    del run
    atlas = nib.Nifti1Image(rng.integers(0, 6, shape).astype(np.int16), affine)
    whole_float64 = np.prod(shape) * n_t * 8  # 52 MB
    img = _inputs.as_image(path)
    tracemalloc.start()
    try:
        ours = con._label_means(img, atlas)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < whole_float64 / 4, (peak, whole_float64)
    ref = NiftiLabelsMasker(atlas, standardize=no_standardize(),
                            detrend=False).fit_transform(nib.load(path))
    assert ours.dtype == ref.dtype == np.float64
    np.testing.assert_array_equal(ours, ref)


def test_connectivity_from_a_label_atlas_is_nilearns(rng, tmp_path):
    """The job on images + label atlas = NiftiLabelsMasker (detrend, z-score) +
    ConnectivityMeasure, per subject."""
    from nilearn.connectome import ConnectivityMeasure
    from nilearn.maskers import NiftiLabelsMasker

    atlas, imgs = _label_atlas_case(rng, tmp_path)
    imgs = imgs[1:]  # on disk: the job's inputs as a study gives them
    res = ConnectivityJob(memory=tmp_path / "cache", n_jobs=2).run(imgs, atlas=atlas)
    masker = NiftiLabelsMasker(atlas, standardize="zscore_sample", detrend=True)
    series = [masker.fit_transform(img) for img in imgs]
    ref = ConnectivityMeasure(kind="correlation").fit_transform(series)
    np.testing.assert_allclose(res.matrices_, ref, atol=1e-12)
    assert res.labels_ == ["region 2", "region 5", "region 9", "region 40"]
    assert res.coords_.shape == (4, 3) and np.isfinite(res.coords_).all()
    # names for the atlas' regions are counted before any subject's work
    named = ConnectivityJob(memory=tmp_path / "cache").run(imgs, atlas=atlas,
                                                          labels=["a", "b", "c", "d"])
    assert named.labels_ == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(named.coords_, res.coords_)
    with pytest.raises(ShapeMismatchError, match="There are 4 regions but 3 labels"):
        ConnectivityJob(memory=False).run(imgs, atlas=atlas, labels=["a", "b", "c"])


def test_the_multiprocessing_backend_is_run_not_refused(rng, decoding_data):
    """backend='multiprocessing' is one of the allowed values: joblib's multiprocessing
    backend gives no generator, so the jobs take its results as a list."""
    import joblib

    from brainviz.backend import DecodingJob
    from brainviz.backend._parallel import return_as

    for backend, expected in (("sequential", "generator"), ("threading", "generator"),
                              ("loky", "generator"), ("multiprocessing", "list")):
        with joblib.parallel_config(backend):  # results as they come wherever joblib can
            assert return_as() == return_as("threads") == expected
    series = [rng.standard_normal((40, 4)) for _ in range(3)]
    ref = ConnectivityJob(memory=False).run(series)
    res = ConnectivityJob(backend="multiprocessing", n_jobs=2, memory=False).run(series)
    np.testing.assert_allclose(res.matrices_, ref.matrices_)
    with joblib.parallel_config("multiprocessing", n_jobs=2):  # the caller's choice
        res = ConnectivityJob(memory=False).run(series)
    np.testing.assert_allclose(res.matrices_, ref.matrices_)
    d = decoding_data
    kw = dict(classes=["face", "house"], memory=False)
    one = DecodingJob(**kw).run(d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    two = DecodingJob(backend="multiprocessing", n_jobs=2, **kw).run(
        d["img"], d["labels"], runs=d["runs"], mask=d["mask"])
    np.testing.assert_allclose(two.scores_, one.scores_)
