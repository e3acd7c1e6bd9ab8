"""The layers panel and the cache panel.

Panels are HasTraits objects with TraitsUI views; they act on the
:class:`~brainviz.model.Session` and call back into the window for anything
that opens files or reports errors, so the file dialog, drag and drop and the
recent-files list share one code path (:meth:`MainWindow.open_files`).
"""
import time

from traits.api import (
    Any, Button, Float, HasTraits, Instance, List, Str, observe,
)
from traits.trait_types import BaseRange
from traitsui.api import (
    EnumEditor, HGroup, InstanceEditor, Item, RangeEditor, TableEditor, TextEditor, VGroup,
    View, spring,
)
from traitsui.extras.checkbox_column import CheckboxColumn
from traitsui.table_column import ObjectColumn

from .. import model
from ..model import Layer, Session
from ..session import recent_files

__all__ = ["LayersPanel", "CachePanel", "layer_view", "control_names", "format_bytes"]


def format_bytes(n):
    """1536 -> '1.5 KiB'."""
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


#: What the layer panel calls each display setting (the setting's own name otherwise).
_CONTROL_LABELS = {
    "cmap": "Colour map", "vmin": "Min", "vmax": "Max", "show_slices": "Slices",
    "show_isosurface": "3D blobs", "isosurface_opacity": "Blob opacity",
    "show_colorbar": "Colour bar", "colorbar_title": "Colour bar title", "two_sided": "Two-sided",
    "symmetric": "Symmetric range", "node_size": "Node size (mm)", "edge_width": "Edge width (mm)",
    "edge_mode": "Edges as", "show_nodes": "Nodes", "show_labels": "Node labels",
    "show_legend": "Legend", "show_in_2d": "In 2D views", "surface_opacity": "Surface opacity",
    "mesh": "Mesh",
    "region": "Region", "frame": "Frame", "shell": "Outline", "color": "Outline colour",
}

_THRESHOLD_TIP = 'A number, or a percentile of the absolute values such as "95%"'


def _auto_or_float(text):
    text = str(text).strip()
    if text.lower() in ("", "auto", "none"):
        return None
    return float(text)


class CompactRangeEditor(RangeEditor):
    """A range slider and its text box, without the range's end labels: in the narrow Layers
    dock the two labels made each slider row wider than the dock. The range is in the
    slider's tooltip."""

    def _get_simple_editor_class(self):
        return _compact_slider_class()


def _compact_slider_class():
    from traitsui.qt.range_editor import SimpleSliderEditor

    global _CompactSlider
    if _CompactSlider is None:
        class CompactSlider(SimpleSliderEditor):
            def init(self, parent):
                super().init(parent)
                self._label_lo.hide()
                self._label_hi.hide()
                self._tip = self.control.slider.toolTip()
                self._show_range()

            def _show_range(self):
                if getattr(self, "_tip", None) is None:
                    return
                span = f"from {self.string_value(self.low)} to {self.string_value(self.high)}"
                self.control.slider.setToolTip(f"{self._tip} ({span})" if self._tip else span)

            def _low_changed(self, low):
                super()._low_changed(low)
                self._show_range()

            def _high_changed(self, high):
                super()._high_changed(high)
                self._show_range()

        _CompactSlider = CompactSlider
    return _CompactSlider


_CompactSlider = None


def _control(layer_cls, name):
    """The control(s) of one display setting: an Item, or a list of Items (threshold: text box
    and slider, both setting ``threshold``)."""
    label = _CONTROL_LABELS.get(name, name.replace("_", " ").capitalize())
    trait = layer_cls.class_traits()[name]
    if name == "threshold" and layer_cls.class_traits().get("threshold_high") is not None:
        return [
            Item("threshold", label="Threshold", tooltip=_THRESHOLD_TIP,
                 editor=TextEditor(auto_set=False, enter_set=True,
                                   evaluate=lambda t: _auto_or_float(t) if "%" not in t else t,
                                   # six digits, as Min and Max: a float32 map's threshold
                                   # showed as "0.40972220897674561", cut by the box
                                   format_func=lambda v: v if isinstance(v, str)
                                   else f"{v:.6g}")),
            Item("threshold_number", show_label=False, tooltip="Drag to set the threshold",
                 editor=CompactRangeEditor(low=0.0, high_name="threshold_high", mode="slider",
                                    format_str="%.4g")),
        ]
    if name in ("vmin", "vmax") or (name == "threshold" and trait.handler is not None
                                    and "Union" in type(trait.handler).__name__):
        return Item(name, label=label, tooltip="A number, or empty for automatic",
                    editor=TextEditor(auto_set=False, enter_set=True, evaluate=_auto_or_float,
                                      format_func=lambda v: "auto" if v is None else f"{v:.6g}"))
    if name == "threshold":  # glass brain: a number, a percentile, or empty for automatic
        return Item(name, label=label, tooltip=_THRESHOLD_TIP + "; empty: automatic",
                    editor=TextEditor(auto_set=False, enter_set=True,
                                      evaluate=lambda t: t if "%" in t else _auto_or_float(t),
                                      format_func=lambda v: "auto" if v is None else str(v)))
    if name == "frame":
        # a 3D map has no frame to choose: the slider shows for 4D images only
        return [Item(name, label=label, editor=CompactRangeEditor(low=0, high_name="frame_high",
                                                           mode="slider", is_float=False),
                     visible_when="n_frames > 1"),
                Item("frame_time", style="readonly", show_label=False,
                     visible_when="n_frames > 1")]
    if name == "mesh":
        return Item(name, label=label, editor=EnumEditor(name="mesh_names"))
    if name == "region":
        return Item(name, label=label, editor=EnumEditor(name="region_choices"))
    if name in ("opacity", "isosurface_opacity", "surface_opacity"):
        return Item(name, label=label, editor=CompactRangeEditor(low=0.0, high=1.0, mode="slider"))
    handler = trait.handler
    if isinstance(handler, BaseRange) and isinstance(handler._low, (int, float)) \
            and isinstance(handler._high, (int, float)):  # node size, edge width...
        return Item(name, label=label, editor=CompactRangeEditor(
            low=handler._low, high=handler._high, mode="slider",
            is_float=isinstance(handler._low, float) or isinstance(handler._high, float)))
    return Item(name, label=label)


def control_names(layer_cls):
    """The layer traits the panel's controls set (each a display setting, or the threshold slider)."""
    names = []
    for name in layer_cls.display_trait_names():
        items = _control(layer_cls, name)
        names += [item.name for item in (items if isinstance(items, list) else [items])
                  if item.style != "readonly"]
    return names


def layer_view(layer_cls):
    """The controls of a layer class: one per display setting, nothing else (each is drawn by
    the layer's visual: see :mod:`brainviz.scene.binding`)."""
    items = [Item("name"), Item("kind_label", style="readonly", label="Kind")]
    for name in layer_cls.display_trait_names():
        control = _control(layer_cls, name)
        items += control if isinstance(control, list) else [control]
    items.append(Item("summary_text", style="readonly", show_label=False, resizable=True,
                      editor=TextEditor(format_func=_breakable_path)))
    return View(VGroup(*items))


def _breakable_path(text):
    """``text`` with a line-break opportunity (a zero-width space) after each path separator:
    a file's path wraps in the narrow Layers dock instead of widening it."""
    return str(text).replace("/", "/\u200b").replace("\\", "\\\u200b")


def _register_views():
    """Give every layer class its controls view ("controls"), without traitsui in the model."""
    for cls in model.LAYER_TYPES.values():
        cls.class_trait_view("controls", layer_view(cls))


_register_views()


class LayersPanel(HasTraits):
    """Loaded layers: table (name, kind, visibility), properties of the selected one, add/remove."""

    session = Instance(Session)
    #: The window (open_files, report) this panel calls back into.
    window = Any()
    selected = Instance(Layer)

    add = Button("Add file...")
    remove = Button("Remove")
    recent = Str()
    recent_list = List(Str)
    open_recent = Button("Open recent")

    def __init__(self, **traits):
        super().__init__(**traits)
        self.refresh_recent()
        if self.session is not None and self.session.layers:
            self.selected = self.session.layers[-1]

    def refresh_recent(self):
        self.recent_list = recent_files()
        if self.recent_list and self.recent not in self.recent_list:
            self.recent = self.recent_list[0]

    def _add_fired(self):
        self.window.open_files_dialog()

    def _remove_fired(self):
        if self.selected is not None and self.selected in self.session.layers:
            self.session.remove_layer(self.selected)
            self.selected = self.session.layers[-1] if self.session.layers else None

    def _open_recent_fired(self):
        if self.recent:
            self.window.open_files([self.recent])

    @observe("session.layers.items")
    def _select_new(self, event):
        added = getattr(event, "added", None) or []
        shown = [lay for lay in added if getattr(lay, "visible", True)]
        if shown:
            self.selected = shown[-1]
        elif added:
            # a result's maps added hidden (a decoding's other classes'): its shown one
            # stays selected, so the settings and the voxel boxes are the map on screen
            # (a job's layers share its group; a result folder's opened, its folder)
            current = self.selected

            def together(lay):
                return any(getattr(current, key, "") and getattr(lay, key, "") ==
                           getattr(current, key) for key in ("group", "result_folder"))

            keep = (current is not None and current in self.session.layers
                    and current.visible and all(together(lay) for lay in added))
            if not keep:
                self.selected = added[-1]
        elif self.selected is not None and self.selected not in self.session.layers:
            self.selected = self.session.layers[-1] if self.session.layers else None

    def traits_view(self):
        table = TableEditor(
            columns=[
                CheckboxColumn(name="visible", label="Show", editable=True, width=0.15),
                ObjectColumn(name="name", label="Layer", editable=False, width=0.85,
                             tooltip="summary_text"),
            ],
            selected="selected",
            sortable=False,
            editable=True,
            auto_size=True,
            deletable=False,
            row_factory=None,
        )
        return View(
            VGroup(
                HGroup(Item("add", show_label=False), Item("remove", show_label=False,
                                                           enabled_when="selected is not None"),
                       spring),
                HGroup(Item("recent", editor=EnumEditor(name="recent_list"), show_label=False,
                            springy=True),
                       Item("open_recent", show_label=False, enabled_when="recent")),
                Item("object.session.layers", editor=table, show_label=False, height=160),
                Item("selected", style="custom", editor=InstanceEditor(view="controls"),
                     show_label=False, visible_when="selected is not None"),
                scrollable=True,
            ),
        )


class CacheEntryRow(HasTraits):
    """One cache entry as a table row."""

    entry = Any()
    kind = Str()
    #: the entry's input summary, whole (the column's tooltip)
    inputs = Str()
    #: the same, files by their names only and cut to one line (the column)
    inputs_short = Str()
    size = Str()
    last_use = Str()


#: the most characters of a cache entry's inputs the table shows
_INPUTS_CHARS = 48


def short_inputs(text, limit=_INPUTS_CHARS):
    """A cache entry's input summary for one table cell: each path by its file name, and
    at most ``limit`` characters (an ellipsis says the rest is in the tooltip)."""
    import re

    text = re.sub(r"(?:[A-Za-z]:)?(?:[^\s,;()\[\]'\"]*[/\\])+([^\s,;()\[\]'\"/\\]+)", r"\1",
                  " ".join(str(text).split()))
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


class _WholeTextColumn(ObjectColumn):
    """A column whose tooltip is the row's whole ``tooltip_name`` text."""

    tooltip_name = Str()

    def get_tooltip(self, object):
        return str(getattr(object, self.tooltip_name, "") or self.tooltip)


class CachePanel(HasTraits):
    """The job cache: entries, sizes, last use; remove one, clear all, size cap."""

    window = Any()
    folder = Str()
    total = Str()
    rows = List(CacheEntryRow)
    selected_row = Instance(CacheEntryRow)
    max_mb = Float(0.0, desc="size cap in MiB (0 = no cap)")
    refresh = Button("Refresh")
    remove = Button("Remove entry")
    clear = Button("Clear cache")
    apply_cap = Button("Apply cap")

    def _report(self, exc, context):
        if self.window is not None:
            self.window.report_error(exc, context)
        else:
            raise exc

    def update(self):
        """Re-read the cache folder."""
        from .._config import get_cache_dir, get_cache_max_bytes

        try:
            from ..backend import cache as cache_mod

            self.folder = str(get_cache_dir())
            entries = cache_mod.list_cache_entries()
            cap = get_cache_max_bytes()
            if cap and not self.max_mb:
                self.max_mb = cap / 2 ** 20
            self.rows = [
                CacheEntryRow(entry=e, kind=str(e.kind), inputs=str(e.inputs),
                              inputs_short=short_inputs(e.inputs), size=format_bytes(e.size),
                              last_use=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.last_use)))
                for e in entries
            ]
            self.total = f"{len(entries)} entries, {format_bytes(cache_mod.cache_size())}"
        except Exception as exc:
            self._report(exc, "Could not read the cache")

    def _refresh_fired(self):
        self.update()

    def _remove_fired(self):
        if self.selected_row is None:
            return
        from ..backend import cache as cache_mod

        try:
            cache_mod.remove_cache_entry(self.selected_row.entry)
        except Exception as exc:
            self._report(exc, "Could not remove the cache entry")
        self.update()

    def _clear_fired(self):
        from ..backend import cache as cache_mod

        try:
            cache_mod.clear_cache()
        except Exception as exc:
            self._report(exc, "Could not clear the cache")
        self.update()

    def _apply_cap_fired(self):
        from ..backend import cache as cache_mod

        try:
            if self.max_mb > 0:
                cache_mod.enforce_cache_limit(max_bytes=int(self.max_mb * 2 ** 20))
        except Exception as exc:
            self._report(exc, "Could not apply the cache size cap")
        self.update()

    def traits_view(self):
        table = TableEditor(
            columns=[
                ObjectColumn(name="kind", editable=False, width=0.3),
                # one line per entry: the files' names, the whole summary in the tooltip (a
                # job over three subjects' paths made one row a dozen lines tall)
                _WholeTextColumn(name="inputs_short", label="Inputs", tooltip_name="inputs",
                                 editable=False, width=0.3),
                ObjectColumn(name="size", editable=False, width=0.15),
                ObjectColumn(name="last_use", label="Last use", editable=False, width=0.25),
            ],
            selected="selected_row",
            sortable=True,
            editable=False,
            auto_size=True,
        )
        return View(
            VGroup(
                Item("folder", style="readonly", label="Folder", resizable=True),
                Item("total", style="readonly", label="Size"),
                Item("rows", editor=table, show_label=False),
                HGroup(Item("refresh", show_label=False), Item("remove", show_label=False),
                       Item("clear", show_label=False)),
                HGroup(Item("max_mb", label="Size cap (MiB, 0 = none)"),
                       Item("apply_cap", show_label=False)),
            ),
        )
