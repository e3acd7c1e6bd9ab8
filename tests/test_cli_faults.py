"""The command line under bad numbers, noisy libraries and killed writes."""
import os
import struct
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from brainviz.cli import main


@pytest.fixture
def stat(tmp_path):
    path = tmp_path / "zstat.nii.gz"
    data = np.zeros((9, 10, 11), np.float32)
    data[3:6, 3:7, 4:8] = 5
    affine = np.diag([8.0, 8.0, 8.0, 1.0])
    affine[:3, 3] = [-36, -40, -44]
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def _one_line(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


RENDER = {
    "nan threshold": (["--threshold", "nan"], "--threshold must be a finite number"),
    "infinite threshold": (["--threshold", "inf"], "--threshold must be a finite number"),
    "nan cursor": (["--cursor", "nan,0,0"], "--cursor must be X,Y,Z: three finite numbers of mm"),
    "overflowing cursor": (["--cursor", "1e999,0,0"], "--cursor must be X,Y,Z: three finite"),
    "far cursor": (["--cursor", "1e30,0,0"], "--cursor must be X,Y,Z: three finite numbers"),
    "nan dpi": (["--width-mm", "50", "--dpi", "nan"], "--dpi must be a positive finite number"),
    "infinite dpi": (["--width-mm", "50", "--dpi", "inf"], "--dpi must be a positive finite"),
    "nan width": (["--width-mm", "nan"], "--width-mm must be a positive finite number"),
    "nan distance": (["--distance", "nan"], "--distance must be a positive finite number"),
    "nan percentile": (["--edge-threshold", "nan%"], "--edge-threshold must be a finite number"),
    "percentile over 100": (["--threshold", "150%"], "percentile must be at most 100%"),
}


@pytest.mark.parametrize("case", sorted(RENDER))
def test_render_refuses_numbers_that_draw_a_blank_figure(case, stat, tmp_path, capsys):
    argv, words = RENDER[case]
    out = tmp_path / "fig.png"
    status = main(["render", "--stat", str(stat), "--no-anatomy", *argv, "-o", str(out)])
    line = _one_line(capsys)
    assert status == 1 and words in line and line.startswith("brainviz render: error: ")
    assert not out.exists()


def test_render_refuses_an_image_with_absurd_voxel_sizes(stat, tmp_path, capsys):
    img = nib.load(stat)
    huge = tmp_path / "huge_voxels.nii.gz"
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj), np.diag([1e30, 1e30, 1e30, 1.0])), huge)
    out = tmp_path / "fig.png"
    assert main(["render", "--stat", str(huge), "--no-anatomy", "-o", str(out)]) == 1
    line = _one_line(capsys)
    assert "huge_voxels.nii.gz' has voxels of 1e+30 x 1e+30 x 1e+30 mm" in line
    assert "expected a brain-sized image" in line and not out.exists()
    assert main(["info", str(huge)]) == 0  # still described: only drawing it is refused


JOBS = {
    "C nan": (["--C", "nan"], "argument --C: must be a positive finite number; got 'nan'"),
    "C inf": (["--C", "inf"], "argument --C: must be a positive finite number; got 'inf'"),
    "C zero": (["--C", "0"], "argument --C: must be a positive finite number"),
    "folds one": (["--folds", "1"], "argument --folds: must be a whole number in [2, 10000]"),
    "screening zero": (["--screening", "0"], "argument --screening: must be a finite number in (0, 100]"),
    "permutations negative": (["--permutations", "-1"], "argument --permutations: must be"),
    "n-jobs fraction": (["--n-jobs", "1.5"], "argument --n-jobs: must be a whole number"),
}


@pytest.mark.parametrize("case", sorted(JOBS))
def test_job_options_must_be_finite_and_in_range(case, stat, tmp_path, capsys):
    argv, words = JOBS[case]
    labels = tmp_path / "labels.txt"
    labels.write_text("a 0\nb 1\n")
    with pytest.raises(SystemExit) as info:
        main(["decode", str(stat), "--labels", str(labels), *argv, "-o", str(tmp_path / "o")])
    assert info.value.code == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, words", [
    (["regions", "x.nii", "--n-components", "0"], "argument --n-components: must be a whole number"),
    (["regions", "x.nii", "--smoothing", "nan"], "argument --smoothing: must be a finite number"),
    (["regions", "x.nii", "--min-region-size", "-5"], "argument --min-region-size: must be"),
    (["connectivity", "x.nii", "--coords", "c.csv", "--radius", "inf"], "argument --radius: must be"),
])
def test_other_job_options_must_be_finite(argv, words, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([*argv, "-o", str(tmp_path / "o")])
    assert words in capsys.readouterr().err


def test_nibabel_log_lines_stay_off_the_terminal_unless_verbose(tmp_path):
    path = tmp_path / "offset.nii"
    nib.save(nib.Nifti1Image(np.ones((7, 8, 9), np.float32), np.eye(4)), path)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<f", raw, 108, -5.0)  # vox_offset: nibabel logs a fix-up line
    path.write_bytes(bytes(raw))
    env = dict(os.environ)

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "brainviz", *extra, "info", str(path)],
                              capture_output=True, text=True, env=env, timeout=120)

    quiet = run()
    lines = quiet.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("brainviz info: "), quiet.stderr
    loud = run("--verbose")
    assert loud.stderr.startswith("vox offset -5 too low for single file nifti1")


def test_a_warning_is_one_line_in_the_commands_words(tmp_path, capsys, monkeypatch):
    import warnings

    from brainviz.cli import _info

    def warn_then_fail(args):
        warnings.warn("The cache folder X cannot be written (full): running uncached.",
                      UserWarning)
        return 0

    monkeypatch.setattr(_info, "run", warn_then_fail)
    main(["info", "x.nii"])
    assert capsys.readouterr().err == ("brainviz info: warning: The cache folder X cannot be "
                                       "written (full): running uncached.\n")


def test_a_figure_temporary_left_by_a_killed_export_is_removed_by_the_next(tmp_path):
    from brainviz.scene._writers import write_image

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    import socket
    import re

    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())
    left = tmp_path / f".fig.bvtmp_{host}_{done.stdout.strip()}_0badf00d.png.part"
    left.write_bytes(b"half a png")
    other = tmp_path / f".other.bvtmp_{host}_{done.stdout.strip()}_0badf00d.png.part"
    other.write_bytes(b"another figure's: left to its own next write")
    write_image(np.zeros((4, 5, 3), np.uint8), tmp_path / "fig.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "fig.png"]
