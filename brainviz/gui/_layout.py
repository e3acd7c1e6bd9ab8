"""Keep the docked forms narrow: drop-down lists do not widen to their longest entry."""

__all__ = ["compact_combo_boxes", "fit_to_width", "wrap_labels"]


def compact_combo_boxes(widget, chars=10):
    """Let the drop-down lists in ``widget`` keep a modest width whatever they list.

    By default a combo box widens to its longest entry, so loading a layer with a
    long name would widen the job form past its column; the entries are elided
    in the box instead (the open list shows them whole).
    """
    from pyface.qt import QtGui

    for combo in widget.findChildren(QtGui.QComboBox):
        combo.setSizeAdjustPolicy(QtGui.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(chars)
        # Qt keeps the minimum size hint it computed from the entries: a minimum
        # width of our own replaces it, so the layout may narrow the box
        combo.setMinimumWidth(combo.fontMetrics().averageCharWidth() * 6)


def fit_to_width(widget, chars=10, long_label=60):
    """Let a docked form narrow to its dock: drop-down lists keep a modest width
    (:func:`compact_combo_boxes`) and long read-only texts (a layer's kind, where it
    comes from) wrap onto more lines instead of widening the form."""
    from pyface.qt import QtGui

    compact_combo_boxes(widget, chars)
    for edit in widget.findChildren(QtGui.QLineEdit):
        if not edit.hasFocus():  # a long layer name shows its start, not its end
            edit.setCursorPosition(0)
    for label in widget.findChildren(QtGui.QLabel):
        item_label = label.text().rstrip().endswith(":")  # "Colour map:": one line if it can
        if not label.wordWrap() and label.minimumSizeHint().width() > 2 * long_label:
            label.setWordWrap(True)
        if item_label:
            continue
        if not label.wordWrap() and label.minimumSizeHint().width() > long_label:
            label.setWordWrap(True)
        if label.wordWrap():
            # a wrapped text's own minimum is a guess from its longest line: a small
            # minimum of our own lets the dock decide, the text taking more lines
            label.setMinimumWidth(min(label.minimumSizeHint().width(), 4 * chars))


def wrap_labels(widget):
    """Let the read-only texts in ``widget`` (a job's label counts, the confounds summary)
    wrap onto more lines rather than widen their panel. Item labels ("Mask:") stay whole."""
    from pyface.qt import QtGui

    for label in widget.findChildren(QtGui.QLabel):
        if not label.text().rstrip().endswith(":"):
            label.setWordWrap(True)
            label.setMinimumWidth(0)
