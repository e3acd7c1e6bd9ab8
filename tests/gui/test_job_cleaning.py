"""Cleaning in the window's job forms: confounds files picked as the file picker does,
load_confounds' strategies as choices, events.tsv as labels; the job gets what the API gets."""
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.gui]

_MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]


def _fmriprep_table(path, n, rng):
    """A small fMRIPrep-style confounds table (motion with its expansions, WM, CSF, global,
    FD, a cosine), as load_confounds reads it."""
    cols, values = [], []
    motion = np.cumsum(rng.standard_normal((n, 6)), axis=0)
    for i, name in enumerate(_MOTION):
        d = np.r_[np.nan, np.diff(motion[:, i])]
        cols += [name, f"{name}_derivative1", f"{name}_power2", f"{name}_derivative1_power2"]
        values += [motion[:, i], d, motion[:, i] ** 2, d ** 2]
    for name in ("white_matter", "csf", "global_signal"):
        cols.append(name)
        values.append(rng.standard_normal(n))
    cols += ["framewise_displacement", "cosine00"]
    values += [np.r_[np.nan, np.abs(rng.standard_normal(n - 1)) * 0.1],
               np.cos(np.pi * (np.arange(n) + 0.5) / n)]
    rows = ["\t".join(cols)]
    for row in np.array(values).T:
        rows.append("\t".join("n/a" if np.isnan(v) else f"{v:.6f}" for v in row))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def demo_form(window):
    names = {lay.name for lay in window.session.layers}
    if "decoding demo" not in names:
        assert window.load_decoding_demo() is not None, window.errors.errors
    panel = window.jobs_panel
    panel.kind = "decoding"
    form = panel.decoding
    form.images = "decoding demo"
    form.mask = "decoding demo mask"
    form.labels_file = ""
    form.more_runs = []
    form.events_files = []
    form.params.reset()
    form.cleaning.set_files([])
    form.cleaning.fmriprep = False
    form.cleaning.strategy = []
    return form


def _pick(monkeypatch, form, paths):
    """Choose files as the "Confounds..." button does (its dialog answers ``paths``)."""
    from brainviz.gui import dialogs

    monkeypatch.setattr(dialogs, "ask_confounds_files", lambda parent=None, directory="": paths)
    form.cleaning.choose = True  # the button


def test_fmriprep_confounds_picked_in_the_form_clean_the_job_as_the_api_does(
        window, demo_form, qtbot, tmp_path, monkeypatch):
    from brainviz.backend import DecodingJob, load_result

    form = demo_form
    series = window.session.get_layer("decoding demo")
    runs = np.asarray(series.runs)
    rng = np.random.default_rng(0)
    paths = [str(_fmriprep_table(tmp_path / f"sub-01_run-{r}_desc-confounds_timeseries.tsv",
                                 int((runs == r).sum()), rng)) for r in np.unique(runs)]
    _pick(monkeypatch, form, paths)
    assert form.cleaning.files == paths
    # an fMRIPrep table is read through load_confounds, with its default strategy to start
    assert form.cleaning.fmriprep
    assert form.cleaning.strategy == ["motion", "high_pass", "wm_csf"]
    assert form.problem == "", form.problem
    form.cleaning.strategy = ["motion"]
    form.cleaning.motion = "basic"
    for name, value in {"estimator": "logistic_l2", "cv": "kfold", "n_folds": 3}.items():
        setattr(form.params, name, value)
    assert form.validate() == "", form.problem
    assert form.cleaning.info == "6 files, 6 regressors each"
    assert form.tr_info == "TR 2.5 s, from the series' header"

    state = _run_from_the_panel(window, qtbot)
    doc = json.loads((Path(state.result_folder) / "result.json").read_text())
    recorded = doc["parameters"]["cleaning"]
    assert recorded["confounds_strategy"] == ["motion"]
    assert recorded["confounds_params"] == {"motion": "basic"}
    assert recorded["t_r"] == 2.5
    assert recorded["confounds"] == [str(Path(p).resolve()) for p in paths]
    in_window = load_result(state.result_folder)

    # the same job called directly, as a script (or the CLI's --confounds-strategy motion
    # --confounds-param motion=basic) writes it
    img = series.data.to_image()
    mask = window.session.get_layer("decoding demo mask").data.to_image()
    direct = DecodingJob(estimator="logistic_l2", cv="kfold", n_folds=3,
                         confounds_strategy="motion", confounds_params=["motion=basic"]).run(
        img, series.labels, runs=series.runs, mask=mask, confounds=paths)
    assert direct.params["cleaning"] == in_window.params["cleaning"]
    np.testing.assert_allclose(in_window.scores_, direct.scores_)
    for cls in direct.weight_maps_:
        np.testing.assert_allclose(in_window.weight_maps_[cls].get_fdata(),
                                   direct.weight_maps_[cls].get_fdata(), atol=1e-6)
    # and the confounds changed the model
    plain = DecodingJob(estimator="logistic_l2", cv="kfold", n_folds=3).run(
        img, series.labels, runs=series.runs, mask=mask)
    assert plain.params["cleaning"]["confounds"] == [None] * 6
    diff = max(np.abs(plain.weight_maps_[c].get_fdata() - direct.weight_maps_[c].get_fdata()).max()
               for c in direct.weight_maps_)
    assert diff > 1e-3
    for layer in [lay for lay in window.session.layers if lay.group == state.title]:
        window.session.remove_layer(layer)


def test_plain_confounds_and_bad_files_get_one_line_in_the_form(demo_form, tmp_path, monkeypatch):
    form = demo_form
    runs = np.asarray(form.session.get_layer("decoding demo").runs)
    rng = np.random.default_rng(1)
    paths = []
    for r in np.unique(runs):
        p = tmp_path / f"run-{r}_motion.tsv"
        np.savetxt(p, rng.standard_normal(((runs == r).sum(), 3)), delimiter="\t")
        paths.append(str(p))
    _pick(monkeypatch, form, paths)
    assert not form.cleaning.fmriprep  # a plain table is an array of regressors
    assert form.problem == "" and form.cleaning.info == "6 files, 3 regressors each"
    assert form.params.values()["confounds_strategy"] is None
    args, kwargs = form.run_args()
    assert kwargs["confounds"] == paths

    # one file too few: the form says so and cannot run
    _pick(monkeypatch, form, paths[:5])
    assert form.problem == "5 confounds files for 6 runs: choose one per run, in order."
    assert not window_can_run(form)
    # a table with the wrong number of rows names the run and what was expected
    short = tmp_path / "short.tsv"
    np.savetxt(short, rng.standard_normal((10, 3)), delimiter="\t")
    _pick(monkeypatch, form, paths[:5] + [str(short)])
    assert form.problem == ("The confounds of run 5 have 10 rows but the run has 24 volumes: "
                            "give one row per volume.")
    # text in a numeric table
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n" * 3)
    _pick(monkeypatch, form, paths[:5] + [str(bad)])
    assert "\n" not in form.problem and str(bad) in form.problem
    # a cancelled dialog keeps the files; "Clear" removes them
    _pick(monkeypatch, form, [])
    assert form.cleaning.files[-1] == str(bad)
    form.cleaning.clear = True
    assert form.cleaning.files == [] and form.problem == ""


def window_can_run(form):
    return form.valid


def test_events_tsv_as_the_labels_file_shows_the_volumes_per_label(demo_form, tmp_path):
    from brainviz.backend import events_to_labels, read_events

    form = demo_form
    series = form.session.get_layer("decoding demo")
    # one block per condition every 30 s in a 144-volume run at TR 2.5 s
    lines = ["onset\tduration\ttrial_type"]
    for k in range(10):
        lines.append(f"{10 + 35 * k}\t15\t{('face', 'house', 'shoe')[k % 3]}")
    events = tmp_path / "sub-01_task-x_events.tsv"
    events.write_text("\n".join(lines) + "\n")
    form.labels_file = str(events)
    assert form.is_events()
    expected = events_to_labels(read_events(events), series.n_frames, 2.5, 5.0, "rest")
    names, counts = np.unique(expected.astype(str), return_counts=True)
    shown = ", ".join(f"{n} {c}" for n, c in zip(names, counts))
    assert form.labels_info == f"144 volumes from the events (TR 2.5 s, delay 5.0 s): {shown}"
    # one run: leave-one-run-out cannot split it, and the form says so
    assert "at least two runs" in form.problem
    form.params.cv = "kfold"
    form.params.no_event_label = ""  # volumes under no event left out
    assert form.problem == "", form.problem
    assert "(left out)" in form.labels_info
    args, kwargs = form.run_args()
    assert args[1] is None and kwargs["events"] == [str(events)] and "runs" not in kwargs
    form.labels_file = ""


def _pick_events(monkeypatch, form, paths):
    """Choose events files as the "Events..." button does (its dialog answers ``paths``)."""
    from brainviz.gui import dialogs

    monkeypatch.setattr(dialogs, "ask_events_files", lambda parent=None, directory="": paths)
    form.choose_events = True  # the button


def test_several_runs_with_their_events_decode_as_the_api_does(
        window, demo_form, qtbot, tmp_path, monkeypatch):
    """Issue 13 item 2 in the window: one 4D series per run, each with its BIDS events.tsv,
    gives the job what ``DecodingJob.run(runs, events=[...])`` gets."""
    import nibabel as nib

    from brainviz.backend import DecodingJob, events_to_labels, load_result, read_events

    form = demo_form
    demo = window.session.get_layer("decoding demo")
    img = demo.data.to_image()
    data = np.asanyarray(img.dataobj)
    bolds, events = [], []
    for r in range(3):  # the demo's 144 volumes as three runs of 48, TR 2.5 s in the header
        part = nib.Nifti1Image(np.array(data[..., 48 * r:48 * (r + 1)]), img.affine)
        part.header.set_xyzt_units("mm", "sec")
        part.header["pixdim"][4] = 2.5
        bolds.append(tmp_path / f"sub-01_task-x_run-{r + 1}_bold.nii.gz")
        nib.save(part, bolds[-1])
        # the run's blocks from the demo's own labels (onsets 5 s before: the delay)
        labels = np.asarray(demo.labels)[48 * r:48 * (r + 1)]
        lines, start = ["onset\tduration\ttrial_type"], 0
        for i in range(1, 49):
            if i == 48 or labels[i] != labels[start]:
                if labels[start] != "rest":
                    lines.append(f"{start * 2.5 - 5.0:g}\t{(i - start) * 2.5:g}\t{labels[start]}")
                start = i
        events.append(tmp_path / f"sub-01_task-x_run-{r + 1}_events.tsv")
        events[-1].write_text("\n".join(lines) + "\n")
    runs = window.open_files([str(b) for b in bolds])
    names = [lay.name for lay in runs]
    assert len(names) == 3
    try:
        form.images = names[0]
        assert set(names[1:]) <= set(form.other_series_names) and names[0] not in \
            form.other_series_names
        form.more_runs = names[:0:-1]  # ticked in any order: the runs keep the layers' order
        assert form.run_names() == names
        # the boxes say the layers' names as the layer list does (TraitsUI capitalised them)
        from pyface.qt import QtGui

        qtbot.wait(50)
        boxes = [b.text() for b in window.ui.docks["Jobs"].findChildren(QtGui.QCheckBox)
                 if b.isVisible()]
        assert set(names[1:]) <= set(boxes), boxes
        assert form.problem == (f"0 events files for 3 runs ({', '.join(names)}): choose one "
                                "events.tsv per run, in order.")
        _pick_events(monkeypatch, form, [str(e) for e in events[:2]])
        assert form.problem.startswith("2 events files for 3 runs")
        # the dialog's order does not matter: BIDS names sort by run
        _pick_events(monkeypatch, form, [str(e) for e in events[::-1]])
        assert form.events_files == [str(e) for e in events]
        assert form.events_text == f"3 files: {events[0].name}, ..."
        assert form.problem == "", form.problem
        expected = np.concatenate([events_to_labels(read_events(e), 48, 2.5, 5.0, "rest")
                                   for e in events]).astype(str)
        np.testing.assert_array_equal(expected, np.asarray(demo.labels))  # made from them
        names_, counts = np.unique(expected, return_counts=True)
        shown = ", ".join(f"{n} {c}" for n, c in zip(names_, counts))
        assert form.labels_info == f"144 volumes from 3 runs' events (TR 2.5 s, delay 5.0 s): " \
                                   f"{shown}"
        assert form.confounds_frames() == [48, 48, 48]
        form.labels_file = str(events[0])  # a labels file as well: one line says which
        assert "either a labels file" in form.problem
        form.labels_file = ""
        _pick_events(monkeypatch, form, [str(tmp_path / "missing_events.tsv")] * 3)
        assert "missing_events.tsv does not exist" in form.problem
        _pick_events(monkeypatch, form, [str(e) for e in events])
        form.params.estimator = "logistic_l2"
        assert form.validate() == "", form.problem

        state = _run_from_the_panel(window, qtbot)
        in_window = load_result(state.result_folder)
        mask = window.session.get_layer("decoding demo mask").data.to_image()
        direct = DecodingJob(estimator="logistic_l2").run(
            [str(b) for b in bolds], events=[str(e) for e in events], mask=mask)
        assert len(direct.scores_) == 3  # leave-one-run-out over the three runs
        np.testing.assert_allclose(in_window.scores_, direct.scores_)
        for layer in [lay for lay in window.session.layers if lay.group == state.title]:
            window.session.remove_layer(layer)
    finally:
        form.more_runs = []
        form.events_files = []
        for layer in runs:
            window.session.remove_layer(layer)


def _run_from_the_panel(window, qtbot):
    """Press the panel's Run button; return the job's state once it is done and shown."""
    n = len(window.session.jobs)
    window.jobs_panel.run = True
    qtbot.waitUntil(lambda: len(window.session.jobs) == n + 1, timeout=5000)
    state = window.session.jobs[-1]
    qtbot.waitUntil(lambda: state.state in ("done", "failed", "cancelled"), timeout=180_000)
    assert state.state == "done", (state.message, state.traceback)
    qtbot.waitUntil(lambda: state.shown, timeout=20_000)
    return state
