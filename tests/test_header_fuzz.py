"""A seeded header fuzzer: a few hundred mutants of a small NIfTI through `info` and `render`.

Every mutant gives either a summary or one clean line (never a traceback), in
bounded memory, and a failed render leaves no file behind.
"""
import contextlib
import io
import struct
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from brainviz.cli import build_parser, main
from brainviz.exceptions import BrainvizError

N_MUTANTS = 300
SEED = 20240614
MAX_PEAK = 64 * 2**20  # the source image is 4 KB; nothing may allocate more than this

# (offset, struct format, interesting values) of NIfTI-1 header fields
_FIELDS = [
    (0, "<i", [0, 348, 540, -1, 2**31 - 1]),                          # sizeof_hdr
    (40, "<h", [-1, 0, 1, 2, 3, 4, 5, 7, 8, 255, 32767, -32768]),     # dim[0]
    (42, "<h", [-1, 0, 1, 7, 255, 32767, -32768]),                   # dim[1]
    (44, "<h", [0, 1, 8, 32767]),                                    # dim[2]
    (46, "<h", [0, 1, 9, 32767]),                                    # dim[3]
    (48, "<h", [0, 1, 2, 32767]),                                    # dim[4]
    (50, "<h", [0, 1, 2, 32767]),                                    # dim[5]
    (70, "<h", [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792,
                2048, 2304, 999, -1]),                               # datatype
    (72, "<h", [0, 1, 8, 16, 32, 64, 128, -8]),                      # bitpix
    (76, "<f", [0.0, 1.0, -1.0, 5.0, np.nan]),                       # pixdim[0] (qfac)
    (80, "<f", [0.0, -2.0, np.nan, np.inf, 1e30, 1e-30]),            # pixdim[1]
    (84, "<f", [0.0, np.nan, 1e30]),                                 # pixdim[2]
    (92, "<f", [0.0, np.nan, -1.0, 1e30]),                           # pixdim[4] (TR)
    (108, "<f", [0.0, -5.0, 352.0, 353.0, 1e9, np.nan, np.inf]),     # vox_offset
    (112, "<f", [0.0, np.nan, np.inf, -np.inf, 1e38, -1.0]),         # scl_slope
    (116, "<f", [np.nan, np.inf, 1e38]),                             # scl_inter
    (123, "<B", [0, 2, 7, 8, 255]),                                  # xyzt_units
    (252, "<h", [0, 1, 2, 4, 5, -1, 999]),                           # qform_code
    (254, "<h", [0, 1, 2, 4, -1, 999]),                              # sform_code
    (256, "<f", [np.nan, 2.0, -2.0, 1e30]),                          # quatern_b
    (268, "<f", [np.nan, np.inf, 1e30]),                             # qoffset_x
    (280, "<f", [np.nan, np.inf, 0.0, 1e30, -1e-30]),                # srow_x[0]
    (296, "<f", [np.nan, 0.0]),                                      # srow_y[0]
    (344, "4s", [b"n+1\0", b"ni1\0", b"n+2\0", b"xxxx", b"\0\0\0\0"]),  # magic
]


def _source(tmp_path, dtype):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((7, 8, 9)) * 100).astype(dtype)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-7, -12, -18]
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    path = tmp_path / f"source_{np.dtype(dtype).name}.nii"
    nib.save(img, path)
    return path.read_bytes()


def _mutate(raw, rng):
    raw = bytearray(raw)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.65:
            offset, fmt, values = _FIELDS[int(rng.integers(len(_FIELDS)))]
            struct.pack_into(fmt, raw, offset, values[int(rng.integers(len(values)))])
        else:
            for _ in range(int(rng.integers(1, 5))):
                raw[int(rng.integers(0, 352))] = int(rng.integers(0, 256))
    if rng.random() < 0.1:  # and sometimes the file stops early
        raw = raw[: int(rng.integers(0, len(raw)))]
    return bytes(raw)


def _mutants(tmp_path):
    rng = np.random.default_rng(SEED)
    sources = [_source(tmp_path, np.float32), _source(tmp_path, np.int16)]
    folder = tmp_path / "mutants"
    folder.mkdir()
    paths = []
    for i in range(N_MUTANTS):
        raw = _mutate(sources[i % 2], rng)
        path = folder / f"m{i:03d}.nii"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def _call(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_fuzzed_headers_give_a_summary_or_one_clean_line(tmp_path):
    paths = _mutants(tmp_path)
    tracemalloc.start()
    try:
        # one command for all of them, as a user would: a summary per good file, one
        # line per bad file, and the good ones still reported
        status, out, err = _call(["info", *map(str, paths)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK, peak
    assert "Traceback" not in err and "warning" not in err, err
    failed = err.strip().splitlines()
    named = {line.split(": ", 2)[1] for line in failed}
    assert all(line.startswith("brainviz info: ") for line in failed)
    assert len(named) == len(failed)  # one line per bad file, no more
    summaries = out.count("  file:          ")
    assert summaries + len(failed) == len(paths)
    assert status == (1 if failed else 0)
    # the fuzzer reaches both sides
    assert summaries > 30 and len(failed) > 30, (summaries, len(failed))


def test_fuzzed_headers_never_leave_a_partial_figure(tmp_path):
    from brainviz.cli._render import build_session, plan
    from brainviz.model import StatMapLayer

    parser = build_parser()
    out_dir = tmp_path / "figures"
    out_dir.mkdir()
    drawable = []
    tracemalloc.start()
    try:
        for path in _mutants(tmp_path):
            tracemalloc.reset_peak()
            args = parser.parse_args(["render", "--stat", str(path), "--no-anatomy", "--size",
                                      "64x48", "-o", str(out_dir / f"{path.stem}.png")])
            try:
                session = build_session(args, plan(args))
                # what drawing reads: the frame, and its range for the colour map
                volume = session.layers_of_type(StatMapLayer)[0].data
                volume.get_frame(0)
                volume.robust_range()
            except BrainvizError as exc:
                assert "\n" not in str(exc) and path.name in str(exc), (path.name, str(exc))
            else:
                drawable.append(path)
            assert tracemalloc.get_traced_memory()[1] < MAX_PEAK, path.name
    finally:
        tracemalloc.stop()
    assert list(out_dir.iterdir()) == []  # checking wrote nothing
    assert len(drawable) > 30
    # a few drawn for real: a figure, or one line and no file
    pytest.importorskip("mayavi")
    for path in drawable[:2]:
        target = out_dir / f"{path.stem}.png"
        status, out, err = _call(["render", "--stat", str(path), "--no-anatomy", "--size",
                                  "64x48", "-o", str(target)])
        if status == 0:
            assert target.stat().st_size > 0
        else:
            assert len(err.strip().splitlines()) == 1 and not target.exists(), err
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")]
