"""Widths of the main window's columns: the side panels get the room their content needs."""

__all__ = ["size_columns", "compact_combo_boxes"]


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


def _horizontal_overflow(widget):
    """How many pixels ``widget``'s widest scrolled content lacks (0 when all is in view)."""
    from pyface.qt import QtGui

    areas = [widget] if isinstance(widget, QtGui.QAbstractScrollArea) else []
    areas += widget.findChildren(QtGui.QAbstractScrollArea)
    overflow = 0
    for area in areas:
        if area.isVisibleTo(widget) or area is widget:
            bar = area.horizontalScrollBar()
            overflow = max(overflow, bar.maximum() - bar.minimum())
    return overflow


def size_columns(window):
    """Give the three columns (layers, scene, tabs) sensible widths.

    The side columns start at a quarter and a third of the window and then widen
    until their forms and tables fit without a horizontal scroll bar (fonts and
    styles differ between desktops), the scene keeping at least 35% of the width.
    """
    from pyface.qt import QtCore, QtGui

    for splitter in window.ui.control.findChildren(QtGui.QSplitter):
        if splitter.orientation() == QtCore.Qt.Horizontal and splitter.count() == 3:
            for k in (0, 2):
                compact_combo_boxes(splitter.widget(k))
            total = max(splitter.width(), sum(splitter.sizes()))
            left, right = int(total * 0.25), int(total * 0.34)
            for _ in range(4):
                splitter.setSizes([left, total - left - right, right])
                for k in (0, 2):
                    layout = splitter.widget(k).layout()
                    if layout is not None:
                        layout.activate()
                grow_left = _horizontal_overflow(splitter.widget(0))
                grow_right = _horizontal_overflow(splitter.widget(2))
                room = total - left - right - int(total * 0.35)
                if not (grow_left or grow_right) or room <= 0:
                    break
                grow_left, grow_right = min(grow_left, room), min(grow_right, room - min(grow_left, room))
                left, right = left + grow_left, right + grow_right
            break
