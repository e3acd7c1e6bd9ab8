"""Keep the docked forms narrow: drop-down lists do not widen to their longest entry."""

__all__ = ["compact_combo_boxes", "fit_to_width", "keep_wrapped_height", "one_line_tables",
           "wrap_labels", "box_follows"]


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
            keep_wrapped_height(label)


def keep_wrapped_height(label):
    """Give a word-wrapped ``label`` the height its lines take at its width, whenever it is
    resized or drawn with another text.

    The forms' layouts do not ask a label its height for a width: a text that wraps onto
    three lines in a narrow dock kept the height of two, its last line cut off ("TR 2 s,
    from the series' header" lost "header").

    Measured once for each text, width and font: measuring a selectable label (its
    text laid out again at that width) while it is drawn asks for another drawing, and a
    label that measured itself at every drawing was drawn again and again, 3,000 times a
    second, a core kept busy while the window sat idle.
    """
    from pyface.qt import QtCore

    measured = [None]  # (text, width, font) of the last measure

    def fit(obj):
        if obj.wordWrap() and obj.width() > 0:
            key = (obj.text(), obj.width(), obj.font().key())
            if key == measured[0]:
                return
            measured[0] = key
            needed = obj.heightForWidth(obj.width())
            if needed > 0 and obj.minimumHeight() != needed:
                obj.setMinimumHeight(needed)  # the layout makes room

    if getattr(label, "_brainviz_wrap_height", None) is None:
        label._brainviz_wrap_height = _watch(
            label, (QtCore.QEvent.Resize, QtCore.QEvent.Paint), fit)


def _watch(widget, events, react):
    """Call ``react(widget)`` after each of ``events`` it gets (an event filter, owned by the
    widget; a widget deleted meanwhile is left alone). Returns the filter."""
    if not _FILTER_CLASS:
        from pyface.qt import QtCore

        class Watch(QtCore.QObject):
            def __init__(self, parent, events, react):
                super().__init__(parent)
                self._events, self._react = tuple(events), react

            def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
                if event.type() in self._events:
                    try:
                        self._react(obj)
                    except RuntimeError:  # the widget was deleted meanwhile
                        pass
                return False

        _FILTER_CLASS.append(Watch)
    watcher = _FILTER_CLASS[0](widget, events, react)
    widget.installEventFilter(watcher)
    return watcher


_FILTER_CLASS = []


def one_line_tables(widget):
    """Keep each row of the tables in ``widget`` (the cache browser) one line tall: a cell's
    text is cut with an ellipsis in its middle, not wrapped (a summary of three subjects'
    paths made one row a dozen lines tall in the narrow dock); its tooltip has it whole."""
    from pyface.qt import QtCore, QtGui

    for table in widget.findChildren(QtGui.QTableView):
        table.setWordWrap(False)
        table.setTextElideMode(QtCore.Qt.ElideMiddle)
        # each column as wide as its texts (the table scrolls sideways in a narrow dock)
        # rather than all squeezed into the dock's width, each text cut to a few letters
        table.horizontalHeader().setSectionResizeMode(QtGui.QHeaderView.ResizeToContents)
        table.resizeRowsToContents()


def box_follows(control):
    """Show and hide the scroll area that TraitsUI puts around a read-only text with
    ``control`` (the text), which ``visible_when`` hides alone: the jobs panel's problem
    line left an empty framed box above "Run job" once the form was complete."""
    from pyface.qt import QtCore, QtGui

    area = control.parent() if control is not None else None
    while area is not None and not isinstance(area, QtGui.QScrollArea):
        area = area.parent()
    if area is None or getattr(control, "_brainviz_box", None) is not None:
        return
    control._brainviz_box = _watch(
        control, (QtCore.QEvent.ShowToParent, QtCore.QEvent.HideToParent),
        lambda obj: area.setVisible(not obj.isHidden()))
    area.setVisible(not control.isHidden())
