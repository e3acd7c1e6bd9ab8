"""At 1280x800 the job forms fit their dock: no horizontal scroll bar, whatever is shown."""
import time

import numpy as np
import pytest

pytestmark = [pytest.mark.gui]


@pytest.fixture
def window_1280(qapp, gui_env):
    from brainviz.gui import create_window

    win = create_window(demo=True, show_errors=False, window_size=(1280, 800))
    deadline = time.monotonic() + 120
    while (win.jobs_panel is None or win.cache_panel is None) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert win.jobs_panel is not None
    yield win
    win.errors.close_all()
    win.shutdown()
    win.ui.dispose()


def _pump(qapp, n=20):
    for _ in range(n):
        qapp.processEvents()
        time.sleep(0.005)


def test_job_forms_need_no_horizontal_scroll_bar_at_1280x800(window_1280, qapp):
    from pyface.qt import QtGui

    window = window_1280
    assert window.load_decoding_demo() is not None
    dock = window.ui.docks["Jobs"]
    dock.raise_()
    panel = window.jobs_panel
    for kind in ("decoding", "searchlight", "regions", "connectivity"):
        panel.kind = kind
        form = panel.form
        for everything in (False, True):
            # everything shown: the advanced parameters, and each load_confounds strategy
            # with its parameters
            form.advanced = everything
            form.cleaning.fmriprep = everything
            form.cleaning.strategy = ["motion", "wm_csf", "global_signal", "scrub", "compcor",
                                      "ica_aroma", "tedana"] if everything else []
            _pump(qapp)
            areas = [a for a in dock.findChildren(QtGui.QScrollArea) if a.isVisible()]
            assert areas
            for area in areas:
                bar = area.horizontalScrollBar()
                assert bar.maximum() == 0, (kind, everything, area.widget().minimumSizeHint())
                assert area.widget().minimumSizeHint().width() <= area.viewport().width(), \
                    (kind, everything)
            # the dock is the window's narrow right column, not widened to fit the form
            assert dock.width() <= 0.25 * window.ui.control.width()
            # ticking fMRIPrep shows the strategies (and unticking hides them) in every form
            shown = [b for b in dock.findChildren(QtGui.QCheckBox)
                     if b.text() == "non-steady" and b.isVisible()]
            assert len(shown) == (1 if everything else 0), (kind, everything)
        form.advanced = False
        form.cleaning.fmriprep = False
        form.cleaning.strategy = []


def test_layer_controls_need_no_horizontal_scroll_bar_at_1280x800(window_1280, qapp):
    """Every layer's controls (the threshold and opacity sliders are the widest rows) fit the
    Layers dock: the sliders carry their range in the tooltip, not as labels beside them."""
    from pyface.qt import QtGui

    window = window_1280
    dock = window.ui.docks["Layers"]
    for layer in window.session.layers:
        window.layers_panel.selected = layer
        _pump(qapp, 40)
        areas = [a for a in dock.findChildren(QtGui.QScrollArea) if a.isVisible()]
        assert areas
        for area in areas:
            assert area.horizontalScrollBar().maximum() == 0, (
                layer.name, area.widget().minimumSizeHint().width(), area.viewport().width())
        sliders = [s for s in dock.findChildren(QtGui.QSlider) if s.isVisible()]
        assert sliders, layer.name
        for slider in sliders:
            assert " to " in slider.toolTip(), slider.toolTip()


def test_wrapped_texts_of_the_forms_show_every_line(window_1280, qapp):
    """A read-only text that wraps in the narrow dock gets the height of all its lines: the
    forms' layouts gave "TR 2 s, from the series' header" (three lines there) the height of
    two, and its last word was cut off, in every form."""
    from pyface.qt import QtGui

    window = window_1280
    assert window.load_resting_state_demo()
    dock = window.ui.docks["Jobs"]
    dock.raise_()
    panel = window.jobs_panel
    seen = 0
    for kind in ("decoding", "searchlight", "regions", "connectivity"):
        panel.kind = kind
        _pump(qapp, 40)
        for label in dock.findChildren(QtGui.QLabel):
            if label.isVisible() and label.wordWrap() and label.text().strip():
                needed = label.heightForWidth(label.width())
                assert label.height() >= needed, (kind, label.text(), label.height(), needed)
                seen += label.text().startswith("TR 2 s")
    assert seen == 4  # the header's TR under every form


def test_the_problem_box_shows_only_with_a_problem(window_1280, qapp):
    """The jobs panel's problem line sits in a framed box; once the form was complete the
    text was hidden and the empty box stayed above "Run job". The box now goes and comes
    with its text."""
    from pyface.qt import QtGui

    window = window_1280
    dock = window.ui.docks["Jobs"]
    dock.raise_()
    panel = window.jobs_panel
    panel.kind = "decoding"
    _pump(qapp, 40)

    def box():
        """The scroll area around the label that says the form's problem."""
        found = [area for area in dock.findChildren(QtGui.QScrollArea)
                 if area.widget() is not None
                 and any(t.text() == panel.form_problem and t.parent() is area.widget()
                         for t in area.widget().findChildren(QtGui.QLabel))]
        assert len(found) == 1
        return found[0]

    assert panel.form_problem  # nothing loaded yet: the form says what is missing
    area = box()
    assert area.isVisible()
    assert window.load_decoding_demo() is not None
    _pump(qapp, 40)
    assert panel.form_problem == ""
    assert not area.isVisible()
    panel.kind = "connectivity"
    panel.form.subjects = []  # no subject ticked: a problem again
    _pump(qapp, 40)
    assert panel.form_problem and area.isVisible() and box() is area


def test_a_long_result_caption_is_drawn_once_not_again_and_again(window_1280, qapp):
    """The result view's caption (a searchlight's title and best sphere, on four lines in
    the dock) measured its height each time it was drawn; measuring it asked for another
    drawing, so an idle window drew it 3,000 times a second and kept a core busy. Now it
    is drawn when something changes, with all its lines."""
    import nibabel as nib
    from pyface.qt import QtCore, QtGui

    from brainviz.backend.searchlight import SearchlightResult
    from brainviz.model import JobState

    window = window_1280
    rng = np.random.default_rng(0)
    mask = np.zeros((12, 12, 8), bool)
    mask[2:10, 2:10, 2:6] = True
    scores = np.where(mask, np.clip(0.33 + 0.05 * rng.standard_normal(mask.shape), 0, 1), 0)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    result = SearchlightResult(
        params={"radius": 6.0, "scoring": "accuracy"},
        scores_img_=nib.Nifti1Image(scores.astype(np.float32), affine), best_score_=0.806,
        best_coords_=[34.0, -50.0, -16.0], chance_level_=1 / 3,
        classes_=["face", "house", "shoe"],
        mask_img_=nib.Nifti1Image(mask.astype(np.uint8), affine))
    state = JobState(kind="searchlight", title="searchlight: face vs house vs shoe, svc, 6 mm",
                     state="done", headline=result.headline)
    state.result = result
    dock = window.ui.docks["Result"]
    dock.raise_()
    panel = window.results_panel
    panel.prepare(state)
    panel.show_job(state)
    _pump(qapp, 60)
    caption = [label for label in dock.findChildren(QtGui.QLabel)
               if label.isVisible() and label.text() == panel.caption]
    assert len(caption) == 1, panel.caption
    caption = caption[0]
    assert caption.wordWrap() and caption.height() >= caption.heightForWidth(caption.width())
    assert caption.heightForWidth(caption.width()) > 2 * caption.fontMetrics().height()

    class Count(QtCore.QObject):
        paints = 0

        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QtCore.QEvent.Paint:
                Count.paints += 1
            return False

    counter = Count()
    caption.installEventFilter(counter)
    try:
        _pump(qapp, 120)  # 0.6 s with nothing to do
    finally:
        caption.removeEventFilter(counter)
    assert Count.paints <= 3, f"drawn {Count.paints} times in 0.6 s of idle"
