"""How brainviz stands up to bad inputs, kills, lost dask workers and huge files.

Prints, in one run, the figures users ask of a tool they trust:

1. bad inputs tried / handled cleanly (goal: all): nibabel's own test files,
   non-volume files and odd headers, seeded NIfTI header mutants, tampered
   result folders and sessions, bad numbers on the command line, full /
   read-only / file-in-the-way outputs, and a hostile cache (full disk,
   planted pickle, symbolic link, read-only, empty entry name). "Cleanly": a
   summary or a result where the input is fine, else an error of one line
   (no traceback), nothing written, and nothing followed out of a folder;
2. kills survived with nothing half-written (goal: all): ``brainviz decode``
   (with a cache) and ``brainviz render`` killed with SIGKILL at seeded random
   times; after each, the result folder and the figure are absent or whole and
   every cache entry verifies; a last run leaves no temporary file behind;
3. jobs completed after a worker loss: a decoding job on a local 3-worker dask
   cluster whose worker holding the scattered data is SIGKILLed mid-job
   (scores compared with a run on one core);
4. peak memory of ``brainviz info`` on files of growing size (goal: under
   200 MB whatever the size), and the 32767x32767x10 header of the issue.

Every trial runs in a subprocess whose ``PYTHONPATH`` is ``--tree`` (default:
this checkout), so the same script measures another checkout too, e.g. the
code before this work::

    git worktree add /tmp/before <commit> && python benchmarks/bench_faults.py --tree /tmp/before

Usage::

    python benchmarks/bench_faults.py [--tree PATH] [--mutants 500] [--kills 12] [--huge]

Linux only (tmpfs mounts need root; without them those cases are skipped and
said so).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_TREE = HERE.parent
HAXBY = HERE.parent.parent / "shared" / "data" / "haxby2001-slice"

# Runs tasks in one process of the tree under test; reports each outcome as JSON.
_PROBE = textwrap.dedent('''
    import contextlib, io, json, sys, warnings
    warnings.simplefilter("ignore")
    tasks = json.load(open(sys.argv[1]))
    from brainviz.exceptions import BrainvizError
    out = []
    for task in tasks:
        o, e = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
                if task["kind"] == "cli":
                    from brainviz.cli import main
                    try:
                        rc = main(task["argv"])
                    except SystemExit as exc:
                        rc = exc.code
                elif task["kind"] == "load_result":
                    from brainviz.backend import load_result
                    load_result(task["path"])
                    rc = 0
                else:
                    try:
                        from brainviz.session import read_session
                    except ImportError:  # before session I/O left the gui package
                        from brainviz.gui.session import read_session
                    read_session(task["path"])
                    rc = 0
            out.append({"status": "ok" if rc == 0 else "error", "rc": rc, "out": o.getvalue(),
                        "err": e.getvalue()})
        except BaseException as exc:  # escaped: a crash, unless brainviz raised it on purpose
            out.append({"status": "raised", "type": type(exc).__name__,
                        "brainviz": isinstance(exc, BrainvizError),
                        "msg": str(exc)[:500], "err": e.getvalue()})
    json.dump(out, open(sys.argv[2], "w"))
''')


class Bench:
    def __init__(self, tree, work):
        self.tree = Path(tree)
        self.work = Path(work)
        self.env = dict(os.environ, PYTHONPATH=str(self.tree), QT_QPA_PLATFORM="offscreen",
                        BRAINVIZ_CACHE_DIR=str(self.work / "default-cache"),
                        XDG_CONFIG_HOME=str(self.work / "config"),
                        BRAINVIZ_DATA_DIR=str(self.work / "demo-data"))
        self.env.pop("DISPLAY", None)
        self.rows = []

    # --- running things --------------------------------------------------------------
    def probe(self, tasks):
        spec = self.work / "tasks.json"
        result = self.work / "outcomes.json"
        spec.write_text(json.dumps(tasks))
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(spec), str(result)],
                              env=self.env, capture_output=True, text=True, timeout=3600)
        if not result.exists():  # the whole process died (out of memory, a crash in C)
            return [{"status": "died", "msg": proc.stderr[-300:]}] * len(tasks)
        return json.loads(result.read_text())

    def cli(self, *argv, timeout=900):
        return subprocess.run([sys.executable, "-m", "brainviz", *map(str, argv)], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def unclean(self, label, outcome):
        """Say what was not handled cleanly (the first few of each group)."""
        text = outcome.get("msg") or outcome.get("err") or ""
        kind = outcome.get("type") or outcome["status"]
        print(f"    not clean: {label}: {kind}: {' '.join(text.split())[:160]}", flush=True)

    def row(self, section, name, tried, good, note=""):
        self.rows.append((section, name, tried, good, note))
        print(f"  {name}: {good}/{tried} {note}", flush=True)


def _one_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) == 1 and "Traceback" not in text


def clean_cli(outcome):
    """A summary (exit 0), or exit != 0 with one line of error and no traceback."""
    if outcome["status"] == "ok":
        return True
    if outcome["status"] == "error":
        return _one_line(outcome["err"])
    return False


def clean_loader(outcome, harmful):
    """A harmful document must raise a brainviz error of one line; a harmless one loads;
    either is clean for a questionable one (``harmful`` None)."""
    if outcome["status"] == "raised":
        return harmful is not False and outcome["brainviz"] and "\n" not in outcome["msg"].strip()
    return outcome["status"] == "ok" and not harmful


# --- inputs -----------------------------------------------------------------------------
def _nifti(path, data, affine=None, **header):
    import nibabel as nib

    img = nib.Nifti1Image(data, np.eye(4) if affine is None else affine)
    nib.save(img, path)
    return path


def _sparse_nifti(path, shape, dtype=np.uint8):
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape(shape)
    header["vox_offset"] = 352
    header.set_sform(np.eye(4), code=2)
    n = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    with open(path, "wb") as f:
        f.write(header.binaryblock)
        f.write(b"\0" * (352 - len(header.binaryblock)))
        f.seek(352 + n // 3)
        f.write(bytes(range(1, 250)) * 400)  # some values, the rest holes
        f.truncate(352 + n)
    return path


def mutate_header(raw, rng):
    fields = [(40, "<h", [-1, 0, 1, 2, 5, 8, 255, 32767, -32768]), (42, "<h", [-1, 0, 7, 32767]),
              (70, "<h", [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 2304, 999]),
              (72, "<h", [0, 8, 16, 32, -8]), (76, "<f", [0.0, 5.0, np.nan]),
              (80, "<f", [0.0, -2.0, np.nan, np.inf, 1e30]), (92, "<f", [np.nan, -1.0, 1e30]),
              (108, "<f", [0.0, -5.0, 353.0, 1e9, np.nan]), (112, "<f", [np.nan, np.inf, 1e38]),
              (116, "<f", [np.nan, 1e38]), (123, "<B", [7, 255]), (252, "<h", [-1, 999]),
              (254, "<h", [-1, 999]), (256, "<f", [np.nan, 2.0]), (280, "<f", [np.nan, 0.0, 1e30]),
              (344, "4s", [b"ni1\0", b"xxxx", b"n+2\0"]), (0, "<i", [0, 540, -1])]
    raw = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.65:
            offset, fmt, values = rng.choice(fields)
            struct.pack_into(fmt, raw, offset, rng.choice(values))
        else:
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(352)] = rng.randrange(256)
    if rng.random() < 0.1:
        raw = raw[: rng.randrange(len(raw))]
    return bytes(raw)


def bad_input_files(work, n_mutants, seed):
    """(name, list of (path, ...)) groups of files for `info`."""
    import nibabel as nib

    folder = work / "inputs"
    folder.mkdir()
    corpus = sorted(p for p in (Path(nib.__file__).parent / "tests" / "data").iterdir()
                    if p.is_file())
    odd = []
    from nibabel.gifti import GiftiDataArray, GiftiImage

    gii = GiftiImage(darrays=[GiftiDataArray(np.zeros((4, 3), np.float32),
                                             intent="NIFTI_INTENT_POINTSET")])
    nib.save(gii, folder / "lh.pial.gii")
    odd.append(folder / "lh.pial.gii")
    cifti = Path(nib.__file__).parent / "tests" / "data" / "row_major.dconn.nii"
    shutil.copy(cifti, folder / "renamed_cifti.nii")
    odd.append(folder / "renamed_cifti.nii")
    base = _nifti(folder / "base.nii", np.arange(504, dtype=np.float32).reshape(7, 8, 9))
    raw = base.read_bytes()
    units = bytearray(raw)
    units[123] = 0xFF
    (folder / "odd_units.nii").write_bytes(bytes(units))
    odd.append(folder / "odd_units.nii")
    n2 = folder / "n2.nii"
    nib.save(nib.Nifti2Image(np.zeros((7, 8, 9), np.float32), np.eye(4)), n2)
    n2raw = bytearray(n2.read_bytes())
    struct.pack_into("<8q", n2raw, 16, 3, 2**62, 2**62, 9, 1, 1, 1, 1)
    n2.write_bytes(bytes(n2raw))
    odd.append(n2)
    shutil.copy(Path(nib.__file__).parent / "tests" / "data" / "T1.PAR", folder / "T1.PAR")
    odd.append(folder / "T1.PAR")
    for ext in ("scaled+tlrc.HEAD", "scaled+tlrc.BRIK"):
        shutil.copy(Path(nib.__file__).parent / "tests" / "data" / ext, folder / ext)
    odd.append(folder / "scaled+tlrc.HEAD")
    rng = random.Random(seed)
    mutants = []
    sources = [raw, _nifti(folder / "base16.nii",
                           (np.arange(504) % 300).astype(np.int16).reshape(7, 8, 9)).read_bytes()]
    for i in range(n_mutants):
        path = folder / f"mutant{i:04d}.nii"
        path.write_bytes(mutate_header(sources[i % 2], rng))
        mutants.append(path)
    return [("nibabel's test files (info)", corpus), ("non-volumes, odd headers (info)", odd),
            (f"seeded header mutants (info, seed {seed})", mutants)]


def make_result(bench):
    """A decoding result folder made by the tree under test (haxby slice, or synthetic data)."""
    folder = bench.work / "base-result"
    bold, labels, mask = _job_inputs(bench.work)
    proc = bench.cli("decode", bold, "--labels", labels, "--mask", mask, "--classes", "face,house",
                     "--no-cache", "-q", "-o", folder)
    if proc.returncode != 0:
        raise SystemExit(f"cannot make a result folder to tamper with: {proc.stderr}")
    return folder


def _job_inputs(work):
    if (HAXBY / "bold.nii.gz").is_file():
        return HAXBY / "bold.nii.gz", HAXBY / "attributes_literal.txt", HAXBY / "mask.nii.gz"
    folder = work / "synthetic"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    labels = np.array((["face", "house", "rest"] * 6) * 4)
    runs = np.repeat(np.arange(4), 18)
    data = rng.standard_normal((9, 10, 11, len(labels))).astype(np.float32) + 100
    data[2:5, 2:5, 2:5] += 1.5 * (labels == "face")
    _nifti(folder / "bold.nii.gz", data, np.diag([3.0, 3, 3, 1]))
    _nifti(folder / "mask.nii.gz", np.ones((9, 10, 11), np.uint8), np.diag([3.0, 3, 3, 1]))
    (folder / "labels.txt").write_text("".join(f"{a} {r}\n" for a, r in zip(labels, runs)))
    return folder / "bold.nii.gz", folder / "labels.txt", folder / "mask.nii.gz"


def _deep(n):
    return json.loads("[" * n + "]" * n) if n < 500 else None


def tampered_results(base, work, rng):
    """(folder, harmful) mutants of a result folder."""
    doc0 = json.loads((base / "result.json").read_text())
    out = []

    def variant(edit, harmful, raw=None):
        folder = work / "tampered" / f"r{len(out):03d}"
        shutil.copytree(base, folder)
        doc = json.loads(json.dumps(doc0))
        text = edit(doc, folder)
        (folder / "result.json").write_text(text if isinstance(text, str) else json.dumps(doc))
        out.append((folder, harmful))

    fields = list(doc0["fields"])
    files = list(doc0["files"])
    junk = ["text", 3.5, [], {}, [{"a": 1}], {"a": 1}, True]
    for key in ("format", "format_version", "kind", "fields", "files"):
        variant(lambda d, f, k=key: d.pop(k) and None, True)
    for name in fields:
        # values of another JSON type than the field holds: wrong by construction
        kinds = [v for v in junk if _json_type(v) != _json_type(doc0["fields"][name])]
        for value in rng.sample(kinds, 3):
            if doc0["fields"][name] is None:
                continue
            variant(lambda d, f, n=name, v=value: d["fields"].__setitem__(n, v) and None, True)
    for name in files:
        entry = doc0["files"][name]
        for key in entry:
            if key == "kind":
                continue
            variant(lambda d, f, n=name, k=key: d["files"][n].pop(k) and None, True)
            variant(lambda d, f, n=name, k=key: d["files"][n].__setitem__(k, 7) and None, True)
    for target in ("../secret.nii.gz", "/etc/passwd", "sub/../../x.tsv", ".."):
        name = next(n for n in files if "file" in doc0["files"][n] or "files" in doc0["files"][n]
                    or "items" in doc0["files"][n])
        variant(lambda d, f, t=target: _set_first_file(d, t), True)
    variant(lambda d, f: d.update(parameters={"p": _deep(60)}), True)
    variant(lambda d, f: json.dumps(d)[:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}", True)
    variant(lambda d, f: d["files"][files[0]].update(shape=[10**12]), True)
    variant(lambda d, f: d["files"][files[0]].update(dtype="V16"), True)
    variant(lambda d, f: d["files"][files[0]].update(dtype="O"), True)

    def link_out(d, folder):
        victim = next(p for p in folder.iterdir() if p.name.endswith(".nii.gz"))
        outside = folder.parent / f"outside-{folder.name}.nii.gz"
        shutil.copy(victim, outside)
        victim.unlink()
        os.symlink(outside, victim)

    variant(link_out, True)
    variant(lambda d, f: [p.write_text("garbage\tx\n") for p in f.glob("*.tsv")] and None, True)
    variant(lambda d, f: [p.write_bytes(b"garbage") for p in f.glob("*.nii.gz")] and None, True)
    # harmless edits load
    variant(lambda d, f: d.update(created="yesterday"), False)
    variant(lambda d, f: d.update(comment={"free": "text"}), False)
    variant(lambda d, f: d["versions"].update(numpy="0.0"), False)
    return out


def _json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _set_first_file(doc, target):
    for entry in doc["files"].values():
        if "file" in entry:
            entry["file"] = target
            return
        if "items" in entry and entry["items"]:
            entry["items"][0]["file"] = target
            return
        if "files" in entry:
            entry["files"][0] = target
            return


def tampered_sessions(work, rng):
    base = {
        "format": "brainviz-session", "version": 1,
        "layers": [{"kind": "connectome", "name": "graph", "path": "", "source": "",
                    "result_folder": "", "result_key": "", "visible": True, "opacity": 1.0,
                    "colormap": "cold_hot", "threshold": 0.5, "frame": 0, "edge_percentile": "",
                    "node_size": 6.0, "matrix": [[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]],
                    "coords": [[0, 0, 0], [10, 0, 0], [0, 10, 0]], "labels": ["a", "b", "c"]}],
        "jobs": [{"kind": "decoding", "title": "t", "params": {"C": 1}, "inputs": ["x"],
                  "state": "done", "result_folder": "", "from_cache": False}],
        "cursor": [0, 0, 0],
        "camera": {"position": [0, -300, 0], "focal_point": [0, 0, 0], "view_up": [0, 0, 1],
                   "view_angle": 30.0, "parallel_scale": 100.0, "parallel_projection": False},
    }
    out = []

    def variant(edit, harmful):
        doc = json.loads(json.dumps(base))
        text = edit(doc)
        path = work / "sessions" / f"s{len(out):03d}.json"
        path.parent.mkdir(exist_ok=True)
        if isinstance(text, (list, dict)):
            text = json.dumps(text)
        path.write_text(text if isinstance(text, str) else json.dumps(doc))
        out.append((path, harmful))

    junk = ["text", -1e308, 10**30, [], {}, [1, 2], None, True]
    for key in ("format", "layers"):
        variant(lambda d, k=key: d.pop(k) and None, True)
    variant(lambda d: d["layers"][0].pop("kind") and None, True)
    for key, bad in (("opacity", 7), ("visible", "yes"), ("opacity", "high"), ("node_size", -1),
                     ("threshold", "high"), ("kind", "pickle"), ("name", 5), ("matrix", "x"),
                     ("coords", [[0, 0]]), ("labels", 3), ("colormap", ["x"])):
        variant(lambda d, k=key, b=bad: d["layers"][0].__setitem__(k, b) and None, True)
    for key in ("position", "focal_point", "view_up", "view_angle", "parallel_scale",
                "parallel_projection"):
        for value in rng.sample(junk, 2):
            variant(lambda d, k=key, v=value: d["camera"].__setitem__(k, v) and None, True)
    variant(lambda d: d.update(camera="front"), True)
    for value in (["a", 0, 0], [0, 0], 7, [1e999, 0, 0]):
        variant(lambda d, v=value: json.dumps(d).replace('"cursor": [0, 0, 0]',
                                                         '"cursor": ' + json.dumps(v).replace(
                                                             "Infinity", "1e999")), True)
    variant(lambda d: d["jobs"][0].update(kind="rm -rf"), True)
    variant(lambda d: d["jobs"][0].update(params={"p": _deep(60)}), True)
    variant(lambda d: json.dumps(d)[:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}", True)
    variant(lambda d: d["layers"][0].update(matrix=[[1, 2, 3], [1], [1, 2, 3]]), True)
    variant(lambda d: d.update(version=99), True)
    variant(lambda d: [1, 2], True)
    # harmless edits open
    variant(lambda d: d.update(note="hello"), False)
    # an unknown colour map: ignoring it or refusing it in one line are both clean
    variant(lambda d: d["layers"][0].update(colormap="no-such-map"), None)
    variant(lambda d: d.pop("jobs") and None, False)
    return out


# --- sections ---------------------------------------------------------------------------------
def section_inputs(bench, args):
    print("bad inputs", flush=True)
    for name, files in bad_input_files(bench.work, args.mutants, args.seed):
        outcomes = bench.probe([{"kind": "cli", "argv": ["info", str(p)]} for p in files])
        good = shown = 0
        for outcome, path in zip(outcomes, files):
            if clean_cli(outcome):
                good += 1
            elif shown < 12:
                shown += 1
                bench.unclean(path.name, outcome)
        bench.row("bad inputs", name, len(files), good)
    rng = random.Random(args.seed)
    base = make_result(bench)
    for name, kind, cases in (
            ("tampered result folders (load)", "load_result", tampered_results(base, bench.work, rng)),
            ("tampered sessions (open)", "read_session", tampered_sessions(bench.work, rng))):
        outcomes = bench.probe([{"kind": kind, "path": str(f)} for f, _ in cases])
        good = shown = 0
        for outcome, (path, harmful) in zip(outcomes, cases):
            if clean_loader(outcome, harmful):
                good += 1
            elif shown < 12:
                shown += 1
                what = {True: "harmful", False: "harmless", None: "either"}[harmful]
                bench.unclean(f"{path.name} ({what})", outcome)
        bench.row("bad inputs", name, len(cases), good)
    section_cli_numbers(bench)
    section_outputs(bench)
    section_cache(bench)


def section_cli_numbers(bench):
    stat = _nifti(bench.work / "zstat.nii.gz", np.ones((9, 10, 11), np.float32) * 3,
                  np.diag([8.0, 8, 8, 1]))
    huge_vox = _nifti(bench.work / "huge_voxels.nii.gz", np.ones((9, 10, 11), np.float32),
                      np.diag([1e30, 1e30, 1e30, 1]))
    out = bench.work / "numbers"
    out.mkdir()
    render = [["--threshold", "nan"], ["--threshold", "inf"], ["--cursor", "nan,0,0"],
              ["--cursor", "1e999,0,0"], ["--width-mm", "nan"], ["--width-mm", "50", "--dpi", "inf"],
              ["--edge-threshold", "nan%"]]
    tasks = [{"kind": "cli", "argv": ["render", "--stat", str(stat), "--no-anatomy", *a, "-o",
                                      str(out / f"f{i}.png")]} for i, a in enumerate(render)]
    tasks.append({"kind": "cli", "argv": ["render", "--stat", str(huge_vox), "--no-anatomy",
                                          "-o", str(out / "huge.png")]})
    bold, labels, _ = _job_inputs(bench.work)
    for opt in (["--C", "nan"], ["--C", "inf"], ["--folds", "0"], ["--screening", "nan"],
                ["--permutations", "-1"], ["--n-jobs", "0"]):
        tasks.append({"kind": "cli", "argv": ["decode", str(bold), "--labels", str(labels),
                                              "--no-cache", "-q", *opt, "-o", str(out / "res")]})
    outcomes = bench.probe(tasks)
    good = 0
    for outcome in outcomes:
        refused = outcome.get("rc") not in (0, None) and "Traceback" not in outcome.get("err", "")
        good += refused and not any(out.iterdir())
    bench.row("bad inputs", "non-finite / absurd numbers (render, decode)", len(tasks), good)


def _tmpfs(point, size, ro=False):
    point.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if ro else "")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
                        capture_output=True).returncode == 0
    return point if ok else None


def _umount(point):
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def section_outputs(bench):
    bold, labels, mask = _job_inputs(bench.work)
    base = ["decode", bold, "--labels", labels, "--mask", mask, "--classes", "face,house",
            "--no-cache", "-q"]
    trials, good, notes = 0, 0, []
    (bench.work / "afile").write_text("x")
    cases = [("parent is a file", bench.work / "afile" / "out", None)]
    ro = _tmpfs(bench.work / "ro", "1M", ro=True)
    full = _tmpfs(bench.work / "full", "64k")
    if ro is not None:
        cases.append(("read-only file system", ro / "out", None))
    if full is not None:
        (full / "filler").write_bytes(b"0" * 60_000)
        cases.append(("full disk", full / "out", None))
    if ro is None or full is None:
        notes.append("(no tmpfs: read-only and full-disk cases skipped)")
    for _, target, _ in cases:
        start = time.monotonic()
        proc = bench.cli(*base, "-o", target)
        elapsed = time.monotonic() - start
        trials += 1
        good += proc.returncode == 1 and _one_line(proc.stderr) and not target.exists()
        notes.append(f"{elapsed:.1f}s")
    for point in (ro, full):
        if point is not None:
            _umount(point)
    bench.row("bad inputs", "unwritable outputs (-o), --no-cache", trials, good,
              "time to the error: " + ", ".join(notes))


def section_cache(bench):
    bold, labels, mask = _job_inputs(bench.work)
    base = ["decode", bold, "--labels", labels, "--mask", mask, "--classes", "face,house", "-q"]
    trials = good = 0
    notes = []
    full = _tmpfs(bench.work / "cache-full", "3M")
    if full is not None:  # the issue's case: a cache disk that fills during the job
        proc = bench.cli(*base, "--cache-dir", full, "-o", bench.work / "cf-out")
        trials += 1
        warnings_ = [ln for ln in proc.stderr.splitlines() if "warning" in ln.lower()]
        good += proc.returncode == 0 and len(warnings_) <= 1 and "Traceback" not in proc.stderr
        again = bench.cli(*base, "--cache-dir", full, "-o", bench.work / "cf-out2")
        leftovers = [p for p in full.rglob("*") if ".bvtmp_" in p.name or
                     (len(p.name) > 33 and p.name[-1].isdigit() and "-" in p.name)]
        trials += 1
        good += again.returncode == 0 and not leftovers
        _umount(full)
    else:
        notes.append("(no tmpfs: full cache disk skipped)")
    cache_dir = bench.work / "cache"
    first = bench.cli(*base, "--cache-dir", cache_dir, "-o", bench.work / "c1")
    marker = bench.work / "code-ran"
    planted = max(cache_dir.rglob("output.pkl"), key=lambda p: "_fit_step" in str(p))
    import pickle

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    planted.write_bytes(pickle.dumps(Planted()))
    proc = bench.cli(*base, "--cache-dir", cache_dir, "-o", bench.work / "c2")
    trials += 1
    good += first.returncode == 0 and proc.returncode == 0 and not marker.exists()
    entries = len(list(cache_dir.rglob("output.pkl")))
    proc = bench.cli("cache", "clear", "--remove", "", "--cache-dir", cache_dir)
    trials += 1
    good += proc.returncode != 0 and len(list(cache_dir.rglob("output.pkl"))) == entries
    source = bench.work / "cache-src"
    bench.cli(*base, "--cache-dir", source, "-o", bench.work / "c-src")
    target = bench.work / "elsewhere"
    shutil.copytree(source / "joblib", target)
    linked = bench.work / "linked-cache"
    linked.mkdir()
    os.symlink(target, linked / "joblib")
    before = len(list(target.rglob("output.pkl")))
    some_id = next(target.rglob("output.pkl")).parent.relative_to(target).as_posix()
    bench.cli("cache", "clear", "--remove", some_id, "--cache-dir", linked)
    bench.cli(*base, "--cache-dir", linked, "-o", bench.work / "c3")
    bench.cli("cache", "clear", "--cache-dir", linked)
    trials += 1
    good += len(list(target.rglob("output.pkl"))) == before
    ro = _tmpfs(bench.work / "cache-ro", "8M")
    if ro is not None:
        bench.cli(*base, "--cache-dir", ro, "-o", bench.work / "c4")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True)
        proc = bench.cli("cache", "clear", "--cache-dir", ro)
        trials += 1
        good += proc.returncode != 0 and _one_line(proc.stderr)
        _umount(ro)
    bench.row("bad inputs", "hostile or failing cache (full, planted pickle, '', link, ro)",
              trials, good, " ".join(notes))


def section_kills(bench, args):
    print("kills", flush=True)

    rng = random.Random(args.seed)
    bold, labels, mask = _job_inputs(bench.work)
    cache_dir = bench.work / "kill-cache"
    out = bench.work / "kill-out"
    decode = ["decode", bold, "--labels", labels, "--mask", mask, "--classes", "face,house",
              "--C", "0.01", "--cache-dir", cache_dir, "-q", "--overwrite", "-o", out]
    stat = _nifti(bench.work / "kill-zstat.nii.gz",
                  np.random.default_rng(0).standard_normal((40, 48, 40)).astype(np.float32) * 3,
                  np.diag([4.0, 4, 4, 1]) + np.array([[0, 0, 0, -80], [0, 0, 0, -100],
                                                      [0, 0, 0, -70], [0, 0, 0, 0]]))
    fig = bench.work / "kill-fig.png"
    render = ["render", "--stat", stat, "--threshold", "2", "--size", "800x600", "-o", fig]
    results = {}
    for name, argv, check in (("brainviz decode (cache + result folder)", decode,
                               lambda: _decode_intact(bench, out, cache_dir)),
                              ("brainviz render (figure)", render, lambda: _figure_intact(fig))):
        start = time.monotonic()
        full = bench.cli(*argv)
        duration = time.monotonic() - start
        if full.returncode != 0:
            print(f"  {name}: the command itself failed: {full.stderr[-300:]}")
            continue
        n = args.kills if "decode" in name else max(2, args.kills // 2)
        survived = 0
        for _ in range(n):
            for target in (out, fig):
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            if "decode" in name and rng.random() < 0.5:
                shutil.rmtree(cache_dir, ignore_errors=True)  # kill cold runs too
            proc = subprocess.Popen([sys.executable, "-m", "brainviz", *map(str, argv)],
                                    env=bench.env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, duration * 1.05))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            survived += check()
        final = bench.cli(*argv)
        target = out if "decode" in name else fig
        # hidden temporaries next to the output (any naming), and in the cache
        leftovers = [p.name for p in target.parent.iterdir()
                     if p.name.startswith((f".{target.name}.", f".{target.stem}."))]
        if "decode" in name:
            leftovers += [str(p) for p in cache_dir.rglob("*") if ".bvtmp_" in p.name
                          or re.match(r"^.+\.[0-9a-f]{32}-\d+-\d+$", p.name)]
        note = (f"(full run {duration:.1f}s; after a last run: exit {final.returncode}, "
                f"{len(leftovers)} temporary files left)")
        bench.row("kills", name, n, survived, note)
        results[name] = (n, survived)
    return results


def _decode_intact(bench, out, cache_dir):
    check = textwrap.dedent(f'''
        import sys, warnings
        warnings.simplefilter("ignore")
        from pathlib import Path
        out = Path({str(out)!r})
        ok = True
        if out.exists():
            from brainviz.backend import load_result
            try:
                load_result(out)
            except Exception as exc:
                print("half-written result:", exc); ok = False
        try:
            from brainviz.backend import cache
            root = Path({str(cache_dir)!r}) / "joblib"
            for entry in cache.list_cache_entries({str(cache_dir)!r}):
                f, reason = cache._verify(root, entry.path)
                if f is None:
                    print("entry listed but not valid:", entry.id, reason); ok = False
                else:
                    from joblib import numpy_pickle
                    with f:
                        numpy_pickle.load(f)
        except AttributeError:
            pass  # a tree without signed entries: only the result folder is checked
        sys.exit(0 if ok else 1)
    ''')
    proc = subprocess.run([sys.executable, "-c", check], env=bench.env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        print("   ", proc.stdout.strip()[:200], proc.stderr.strip()[-200:])
    return proc.returncode == 0


def _figure_intact(fig):
    from PIL import Image

    if not fig.exists():
        return True
    try:
        with Image.open(fig) as img:
            img.load()
        return True
    except Exception:  # noqa: BLE001 - a half-written figure
        return False


def section_dask(bench, args):
    print("dask", flush=True)
    code = textwrap.dedent(f'''
        import json, os, signal, sys, threading, time, warnings
        warnings.simplefilter("ignore")
        import numpy as np
        import distributed
        from brainviz.backend import DecodingJob, read_labels
        bold, labels_file, mask = {[str(p) for p in _job_inputs(bench.work)]!r}
        labels, runs = read_labels(labels_file)
        kw = dict(classes=["face", "house"], memory=False, n_permutations={args.permutations},
                  C=0.01)
        ref = DecodingJob(n_jobs=1, **kw).run(bold, labels, runs=runs, mask=mask)
        cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1")
        client = distributed.Client(cluster)
        rows = []
        for trial in range({args.dask_trials}):
            client.wait_for_workers(3)
            pids = client.run(os.getpid)
            killed = []
            def killer():
                deadline = time.time() + 120
                while time.time() < deadline and not killed:
                    try:
                        held = client.has_what()
                    except Exception:
                        return
                    for addr, keys in held.items():
                        if any(str(k).startswith("ndarray") for k in keys) and addr in pids:
                            os.kill(pids[addr], signal.SIGKILL)
                            killed.append(addr)
                            return
                    time.sleep(0.01)
            t = threading.Thread(target=killer, daemon=True)
            t.start()
            lines = []
            try:
                res = DecodingJob(backend="dask", scheduler=cluster.scheduler_address, n_jobs=3,
                                  **kw).run(bold, labels, runs=runs, mask=mask, log=lines.append)
                same = bool(np.allclose(res.scores_, ref.scores_))
                outcome = "completed" if same else "wrong scores"
            except BaseException as exc:
                outcome = type(exc).__name__ + ": " + str(exc)[:120]
            killed.append("stop")
            t.join(5)
            rows.append({{"killed": len(killed) > 1, "outcome": outcome,
                          "retried": any("was lost" in l for l in lines)}})
        print(json.dumps(rows))
        client.close(); cluster.close()
    ''')
    proc = subprocess.run([sys.executable, "-c", code], env=bench.env, capture_output=True,
                          text=True, timeout=3600)
    try:
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print("  the dask trial failed:", proc.stderr[-500:])
        return
    lost = [r for r in rows if r["killed"]]
    done = sum(r["outcome"] == "completed" for r in lost)
    others = sorted({r["outcome"] for r in lost if r["outcome"] != "completed"})
    retried = sum(r["retried"] for r in lost)
    bench.row("dask", "decoding jobs whose data-holding worker was SIGKILLed mid-job",
              len(lost), done, f"({len(rows)} trials, {retried} step(s) run again; "
              + (f"failures: {others})" if others else "all completed, same scores)"))


def section_memory(bench, args):
    print("memory", flush=True)
    sizes = [(256, 256, 256), (1000, 1000, 500)]
    if args.huge:
        sizes.append((2000, 2000, 1000))
    for shape in sizes:
        path = _sparse_nifti(bench.work / f"big_{'x'.join(map(str, shape))}.nii", shape)
        code = ("import resource, subprocess, sys, time\n"
                "t = time.monotonic()\n"
                f"p = subprocess.run([sys.executable, '-m', 'brainviz', 'info', {str(path)!r}],"
                " capture_output=True, text=True)\n"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
                "time.monotonic() - t, p.returncode, repr(p.stderr[-200:]))")
        proc = subprocess.run([sys.executable, "-c", code], env=bench.env, capture_output=True,
                              text=True, timeout=7200)
        peak_kb, seconds, rc, err = proc.stdout.split(" ", 3)
        size = int(np.prod(shape, dtype=object))
        bench.row("memory", f"info on a {'x'.join(map(str, shape))} uint8 file "
                            f"({size / 2**20:.0f} MB of data)", 1, int(rc == "0"),
                  f"peak {int(peak_kb) / 1024:.0f} MB, {float(seconds):.1f}s")
        path.unlink()
    issue = _sparse_nifti(bench.work / "issue_32767x32767x10.nii", (32767, 32767, 10))
    code = ("import resource, subprocess, sys, time\n"
            "t = time.monotonic()\n"
            f"p = subprocess.run([sys.executable, '-m', 'brainviz', 'render', '--stat', "
            f"{str(issue)!r}, '--no-anatomy', '-o', {str(bench.work / 'issue.png')!r}],"
            " capture_output=True, text=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "time.monotonic() - t, p.returncode, repr(p.stderr.strip()[:160]))")
    proc = subprocess.run([sys.executable, "-c", code], env=bench.env, capture_output=True,
                          text=True, timeout=3600)
    peak_kb, seconds, rc, err = proc.stdout.split(" ", 3)
    bench.row("memory", "render --stat on the issue's 32767x32767x10 uint8 header (10 GB)", 1,
              int(rc == "1" and not (bench.work / "issue.png").exists()),
              f"refused in {float(seconds):.1f}s, peak {int(peak_kb) / 1024:.0f} MB: {err}")
    issue.unlink()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(DEFAULT_TREE),
                        help="brainviz checkout to measure (default: this one)")
    parser.add_argument("--mutants", type=int, default=500)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--dask-trials", type=int, default=3)
    parser.add_argument("--permutations", type=int, default=200,
                        help="permutations of the dask decoding job (keeps it busy to be killed)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--huge", action="store_true",
                        help="also a 2000x2000x1000 file (4 GB of data; minutes)")
    parser.add_argument("--only", default="inputs,kills,dask,memory")
    args = parser.parse_args(argv)
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="bench_faults_") as work:
        # every subprocess starts here: "python -m" and "-c" put the working folder first on
        # sys.path, which must not hold a brainviz other than --tree's
        os.chdir(work)
        bench = Bench(args.tree, work)
        used = subprocess.run([sys.executable, "-c", "import brainviz; print(brainviz.__file__)"],
                              env=bench.env, capture_output=True, text=True).stdout.strip()
        load = os.getloadavg()
        print(f"brainviz from {used}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"{os.cpu_count()} cores", flush=True)
        only = set(args.only.split(","))
        if "inputs" in only:
            section_inputs(bench, args)
        if "kills" in only:
            section_kills(bench, args)
        if "dask" in only:
            section_dask(bench, args)
        if "memory" in only:
            section_memory(bench, args)
        print()
        print(f"{'':64} {'tried':>6} {'clean':>6}")
        section = None
        for sec, name, tried, good, note in bench.rows:
            if sec != section:
                section = sec
                print({"bad inputs": "bad inputs (handled cleanly)",
                       "kills": "kills (nothing half-written)",
                       "dask": "worker losses (job completed)",
                       "memory": "huge files (summary / refusal, bounded memory)"}[sec])
            print(f"  {name:62} {tried:6d} {good:6d}  {note}")
        totals = {}
        for sec, _, tried, good, _ in bench.rows:
            t, g = totals.get(sec, (0, 0))
            totals[sec] = (t + tried, g + good)
        print("totals: " + "; ".join(f"{sec} {g}/{t}" for sec, (t, g) in totals.items()))
        load = os.getloadavg()
        print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        os.chdir(here)


if __name__ == "__main__":
    main()
