"""``brainviz info``: summaries for good files, one line per bad file, non-zero exit."""
import subprocess
import sys

import nibabel as nib
import numpy as np


def _info(*args):
    return subprocess.run([sys.executable, "-m", "brainviz", "info", *map(str, args)],
                          capture_output=True, text=True, timeout=240)


def test_info_reports_good_files_and_one_line_per_bad_file(tmp_path, img_3d, img_4d):
    nib.save(img_3d, tmp_path / "anat.nii.gz")
    nib.save(img_4d, tmp_path / "bold.nii")
    (tmp_path / "empty.nii").write_bytes(b"")
    (tmp_path / "noise.nii.gz").write_bytes(np.random.default_rng(0).bytes(500))
    result = _info(tmp_path / "anat.nii.gz", tmp_path / "empty.nii", tmp_path / "bold.nii",
                   tmp_path / "noise.nii.gz", tmp_path / "missing.mgz")
    assert result.returncode == 1
    out = result.stdout
    for part in ("anat.nii.gz", "7 x 8 x 9 (3D)", "2 x 3 x 4 mm", "RAS", "float32",
                 "bold.nii", "7 x 8 x 9 x 5 (4D, 5 frames)", "TR:            2 s",
                 "kind:          4D series", "value range:"):
        assert part in out, part
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3, result.stderr
    assert errors[0].startswith("brainviz info: ") and "empty.nii" in errors[0] and "empty (0 bytes)" in errors[0]
    assert "noise.nii.gz" in errors[1] and "not a NIfTI-1/2" in errors[1]
    assert "missing.mgz" in errors[2] and "no such file" in errors[2]


def test_info_all_good_exits_zero(tmp_path, img_3d):
    data = np.zeros((7, 8, 9), np.uint8)
    data[2:5, 2:6, 2:7] = 1
    nib.save(nib.Nifti1Image(data, img_3d.affine), tmp_path / "mask.nii.gz")
    result = _info(tmp_path / "mask.nii.gz")
    assert result.returncode == 0, result.stderr
    assert "kind:          mask" in result.stdout and result.stderr == ""


def test_info_template_and_usage_error():
    result = _info("--template")
    assert result.returncode == 0, result.stderr
    assert "MNI152" in result.stdout and "99 x 117 x 95 (3D)" in result.stdout
    assert "kind:          anatomy" in result.stdout and "RAS" in result.stdout
    result = _info()
    assert result.returncode == 2 and "give at least one FILE, or --template" in result.stderr
