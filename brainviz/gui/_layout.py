"""Keep the docked forms narrow: drop-down lists do not widen to their longest entry."""

__all__ = ["compact_combo_boxes"]


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
