"""At 1280x800 the job forms fit their dock: no horizontal scroll bar, whatever is shown."""
import time

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
