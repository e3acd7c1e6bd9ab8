"""Left is never right: the MNI template stored RAS, LAS, LPS and oblique gives the same world values.

The RAS file is the MNI152 template nilearn ships; the LAS / LPS copies flip
data axes and compensate in the affine (same world geometry); the oblique
copy is the template resampled onto a grid rotated by 15 degrees about z.

The template nilearn ships is exactly left-right symmetric (ICBM 2009
symmetric), so a flip would go unseen: the test stamps a marker (value 2, the
template's maximum is about 1) in a 4 mm ball around MNI (-40, -20, 50) before
making the copies. The sample motor activation map nilearn ships (stored LAS,
asymmetric) is checked as well.
"""
import nibabel as nib
import numpy as np
import pytest

from brainviz.data.volumes import load_volume

LEFT_POINT = (-40.0, -20.0, 50.0)  # MNI: left hemisphere, precentral / postcentral region
MARKER = 2.0


def _flipped(img, axes):
    """Same image stored with the given voxel axes reversed (world geometry unchanged)."""
    data = np.asarray(img.dataobj)
    affine = img.affine.copy()
    for axis in axes:
        data = np.flip(data, axis=axis)
        flip = np.eye(4)
        flip[axis, axis] = -1
        flip[axis, 3] = img.shape[axis] - 1
        affine = affine @ flip
    return nib.Nifti1Image(np.ascontiguousarray(data), affine, img.header)


def _rotation_z(degrees):
    theta = np.deg2rad(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    return rot


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    from nilearn.datasets import load_mni152_template
    from nilearn.image import resample_img

    folder = tmp_path_factory.mktemp("orientation")
    template = load_mni152_template(resolution=2)
    data = np.asarray(template.get_fdata(), dtype=np.float32)
    ijk = np.indices(data.shape).reshape(3, -1).T
    distance = np.linalg.norm(nib.affines.apply_affine(template.affine, ijk) - LEFT_POINT, axis=1)
    data[tuple(ijk[distance <= 4.0].T)] = MARKER
    ras = nib.Nifti1Image(data, template.affine)
    copies = {"RAS": ras, "LAS": _flipped(ras, [0]), "LPS": _flipped(ras, [0, 1])}
    oblique_affine = _rotation_z(15) @ ras.affine
    copies["oblique"] = resample_img(
        ras, target_affine=oblique_affine, target_shape=ras.shape,
        interpolation="continuous", force_resample=True, copy_header=True,
    )
    paths = {}
    for name, img in copies.items():
        paths[name] = folder / f"mni_{name}.nii.gz"
        nib.save(img, paths[name])
    return paths


@pytest.fixture(scope="module")
def brain_points(stored):
    """1000 seeded world positions inside the brain (template value > 0.3)."""
    ras = load_volume(stored["RAS"])
    data = ras.get_data()
    ijk = np.argwhere(data > 0.3)
    ijk = ijk[np.random.default_rng(0).choice(len(ijk), 1000, replace=False)]
    jitter = np.random.default_rng(1).uniform(-0.4, 0.4, ijk.shape)
    return nib.affines.apply_affine(ras.affine, ijk + jitter)


def test_copies_are_stored_in_the_claimed_orientation(stored):
    assert load_volume(stored["RAS"]).orientation == ("R", "A", "S")
    assert load_volume(stored["LAS"]).orientation == ("L", "A", "S")
    assert load_volume(stored["LPS"]).orientation == ("L", "P", "S")
    for name in ("RAS", "LAS", "LPS"):
        assert not load_volume(stored[name]).is_oblique
    assert load_volume(stored["oblique"]).is_oblique


@pytest.mark.parametrize("name", ["LAS", "LPS"])
def test_same_values_at_same_mm_positions(stored, brain_points, name):
    ras = load_volume(stored["RAS"])
    other = load_volume(stored[name])
    expected = ras.values_at(brain_points)
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(other.values_at(brain_points), expected, rtol=1e-5, atol=1e-6)
    # The marker is in the left hemisphere only
    assert other.values_at(LEFT_POINT)[0] == pytest.approx(MARKER)
    assert other.values_at((40.0, -20.0, 50.0))[0] < 1.0


@pytest.mark.parametrize("name", ["RAS", "LAS", "LPS", "oblique"])
def test_left_point_lands_in_left_hemisphere(stored, name):
    vol = load_volume(stored[name])
    ras = vol.as_ras()
    assert ras.orientation == ("R", "A", "S") and not ras.is_oblique
    assert np.all(np.diag(ras.affine)[:3] > 0)
    inv = np.linalg.inv(ras.affine)
    i_point = nib.affines.apply_affine(inv, LEFT_POINT)[0]
    i_midline = nib.affines.apply_affine(inv, (0.0, LEFT_POINT[1], LEFT_POINT[2]))[0]
    assert i_point < i_midline - 15  # 40 mm left of the midline at 2 mm voxels
    # the left-hemisphere marker is found there, and not at the mirrored position
    tolerance = 0.25 if name == "oblique" else 1e-5
    i, j, k = np.round(nib.affines.apply_affine(inv, LEFT_POINT)).astype(int)
    assert ras.get_data()[i, j, k] == pytest.approx(MARKER, abs=tolerance)
    assert ras.values_at(LEFT_POINT)[0] == pytest.approx(MARKER, abs=tolerance)
    assert vol.values_at(LEFT_POINT)[0] == pytest.approx(MARKER, abs=tolerance)
    assert vol.values_at((40.0, -20.0, 50.0))[0] < 1.0


def test_las_stored_voxel_index_runs_right_to_left(stored):
    """Sanity check that the LAS copy really stores x reversed: its raw index of the left point is high."""
    las = load_volume(stored["LAS"])
    inv = np.linalg.inv(las.affine)
    assert nib.affines.apply_affine(inv, LEFT_POINT)[0] > las.shape[0] / 2 + 15


@pytest.mark.parametrize("name", ["LAS", "LPS"])
def test_as_ras_gives_identical_arrays(stored, name):
    ras = load_volume(stored["RAS"])
    converted = load_volume(stored[name]).as_ras()
    np.testing.assert_allclose(converted.affine, ras.affine, atol=1e-4)
    np.testing.assert_array_equal(converted.get_data(), ras.get_data())
    assert converted.affine_source == "sform" and not converted.resampled
    assert not converted.img.in_memory  # flipped lazily, not loaded and copied


def test_oblique_values_agree_within_interpolation_error(stored, brain_points):
    ras = load_volume(stored["RAS"])
    oblique = load_volume(stored["oblique"])
    expected = ras.values_at(brain_points)
    for vol in (oblique, oblique.as_ras()):
        got = vol.values_at(brain_points)
        ok = np.isfinite(got)
        assert ok.mean() > 0.95
        assert np.corrcoef(got[ok], expected[ok])[0, 1] > 0.95
        assert np.median(np.abs(got[ok] - expected[ok])) < 0.05


def test_oblique_is_resampled_never_treated_as_axis_aligned(stored):
    oblique = load_volume(stored["oblique"])
    ras = oblique.as_ras()
    assert ras is not oblique and ras.resampled and not ras.is_oblique
    np.testing.assert_allclose(ras.affine[:3, :3], np.diag(oblique.voxel_size), atol=1e-6)
    # Treating the rotated grid as axis-aligned would put the left point elsewhere:
    naive = np.diag(list(oblique.voxel_size) + [1.0])
    naive[:3, 3] = oblique.affine[:3, 3]
    naive_ijk = nib.affines.apply_affine(np.linalg.inv(naive), LEFT_POINT)
    true_ijk = nib.affines.apply_affine(np.linalg.inv(oblique.affine), LEFT_POINT)
    assert np.linalg.norm(naive_ijk - true_ijk) > 3
    assert "oblique" in oblique.summary()


def test_as_ras_of_4d_las_file_stays_lazy(tmp_path, img_4d, monkeypatch):
    las = _flipped(img_4d, [0])
    nib.save(las, tmp_path / "las_bold.nii")
    vol = load_volume(tmp_path / "las_bold.nii")
    assert vol.orientation == ("L", "A", "S")

    def no_full_read(self, *args, **kwargs):
        raise AssertionError("the whole array was read")

    monkeypatch.setattr(nib.arrayproxy.ArrayProxy, "__array__", no_full_read)
    ras = vol.as_ras()
    assert ras.orientation == ("R", "A", "S") and ras.shape == (7, 8, 9, 5)
    np.testing.assert_allclose(ras.affine, img_4d.affine)
    np.testing.assert_array_equal(ras.get_frame(2), img_4d.get_fdata()[..., 2].astype(np.float32))
    assert ras.tr == pytest.approx(2.0)
    assert ras.robust_range() == load_volume(img_4d).robust_range()


def test_motor_activation_map_stored_las_keeps_its_hemisphere(tmp_path):
    """nilearn's sample motor activation map is stored LAS and is asymmetric."""
    from nilearn.datasets import load_sample_motor_activation_image

    path = load_sample_motor_activation_image()
    raw = nib.load(path)
    data = np.asarray(raw.dataobj, dtype=np.float32)
    # Reference from nibabel alone: centre (mm) of the strong positive activation.
    centre = nib.affines.apply_affine(raw.affine, np.argwhere(data > 5)).mean(axis=0)
    assert abs(centre[0]) > 15  # clearly in one hemisphere
    vol = load_volume(path)
    assert vol.orientation[0] == "L" and vol.kind == "statistical map"
    ras = vol.as_ras()
    ras_data = ras.get_data()
    ras_centre = nib.affines.apply_affine(ras.affine, np.argwhere(ras_data > 5)).mean(axis=0)
    np.testing.assert_allclose(ras_centre, centre, atol=1e-4)
    strong = nib.affines.apply_affine(raw.affine, np.argwhere(data > 5))
    for v in (vol, ras):
        assert np.all(v.values_at(strong) > 5)
        assert np.nanmean(v.values_at(strong * [-1, 1, 1])) < 1  # not mirrored
    # re-stored RAS with nibabel: same values at the same mm positions
    nib.save(nib.as_closest_canonical(raw), tmp_path / "motor_ras.nii.gz")
    canonical = load_volume(tmp_path / "motor_ras.nii.gz")
    assert canonical.orientation == ("R", "A", "S")
    points = nib.affines.apply_affine(raw.affine, np.argwhere(np.abs(data) > 2))
    np.testing.assert_allclose(canonical.values_at(points), vol.values_at(points), rtol=1e-5, atol=1e-5)


def test_reoriented_image_works_with_nilearn_and_saves(tmp_path, img_4d):
    from nilearn.image import mean_img

    nib.save(_flipped(img_4d, [0, 1]), tmp_path / "lps_bold.nii")
    ras = load_volume(tmp_path / "lps_bold.nii").as_ras()
    mean = mean_img(ras.to_image(), copy_header=True)
    np.testing.assert_allclose(mean.get_fdata(), img_4d.get_fdata().mean(axis=3), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean.affine, img_4d.affine)
    nib.save(ras.to_image(), tmp_path / "ras_bold.nii")
    saved = load_volume(tmp_path / "ras_bold.nii")
    assert saved.orientation == ("R", "A", "S") and saved.tr == pytest.approx(2.0)
    np.testing.assert_array_equal(saved.get_frame(4), img_4d.get_fdata()[..., 4].astype(np.float32))
