"""The jobs panel: forms for decoding, region-learning and connectivity jobs, and the job list.

A form's parameters are read from the job class itself (``get_params()``
defaults, ``_choices`` for the allowed values), so the window offers exactly
what the backend accepts; the form checks them as they are typed and shows the
problem inline. Inputs are chosen from the loaded layers.
"""
import numpy as np
from traits.api import (
    Any, Bool, Button, Enum, File, Float, HasTraits, Instance, Int, List, Property, Str, observe,
)
from traitsui.api import (
    CheckListEditor, EnumEditor, HGroup, InstanceEditor, Item, TableEditor, VGroup, View,
)
from traitsui.table_column import ObjectColumn

from ..model import JobState, LabelLayer, MaskLayer, SeriesLayer, Session

__all__ = ["JobForm", "DecodingForm", "SearchlightForm", "RegionForm", "ConnectivityForm",
           "JobsPanel", "jsonable",
           "input_names"]

# parameters the window sets itself (cache, parallelism) rather than the form
_HIDDEN_PARAMS = {"memory", "n_jobs", "backend", "scheduler", "verbose"}
_NONE = "(none)"
# shorter labels where the parameter's own name would widen the form past the panel
# (the tooltip gives the name, as a script would write it)
_LABELS = {"screening_percentile": "Screening %", "spacenet_max_iter": "Max. iterations",
           "n_permutations": "Permutations", "random_state": "Random seed", "cv": "CV",
           "n_folds": "Folds", "n_components": "Components", "n_jobs": "Jobs",
           "tr": "TR (s)", "t_r": "TR (s)", "fwhm": "FWHM (mm)", "smoothing_fwhm": "FWHM (mm)",
           "dpi": "DPI", "alpha": "Alpha", "l1_ratio": "L1 ratio"}


class _Params(HasTraits):
    """Job parameters as traits, built from a job class (defaults and allowed values)."""

    def __init__(self, job_class, **traits):
        super().__init__(**traits)
        self._job_class = job_class
        self._names = []
        choices = getattr(job_class, "_choices", {})
        for name, default in job_class().get_params(deep=False).items():
            if name in _HIDDEN_PARAMS:
                continue
            if name in choices:
                allowed = list(choices[name])
                if default not in allowed:
                    allowed.insert(0, default)
                self.add_trait(name, Enum(default, allowed))
            elif isinstance(default, bool):
                self.add_trait(name, Bool(default))
            elif isinstance(default, int):
                self.add_trait(name, Int(default))
            elif isinstance(default, float):
                self.add_trait(name, Float(default))
            else:
                # None or str: typed as text; "" means None
                self.add_trait(name, Str("" if default is None else str(default)))
            self._names.append(name)

    @property
    def names(self):
        return list(self._names)

    def reset(self):
        """Every parameter back to the job class's default."""
        defaults = _Params(self._job_class)
        self.trait_set(**{name: getattr(defaults, name) for name in self._names})

    def values(self):
        """Return the parameters as keyword arguments of the job class."""
        out = {}
        for name in self._names:
            value = getattr(self, name)
            if isinstance(value, str) and self.trait(name).handler.__class__.__name__ == "Str":
                value = _parse_text(value)
            out[name] = value
        return out

    def default_traits_view(self):
        return View(VGroup(*[Item(n) for n in self._names]))


def _parse_text(text):
    text = text.strip()
    if text == "" or text.lower() == "none":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if "," in text:
        return [t.strip() for t in text.split(",") if t.strip()]
    return text


class JobForm(HasTraits):
    """Base of the job forms: inputs (layer names) + parameters + inline validation."""

    kind = "job"
    session = Instance(Session)
    params = Instance(_Params)
    #: Inline validation message ("" when the form can run).
    problem = Str()
    valid = Property(Bool, observe="problem")

    series_names = Property(List(Str), observe="session.layers.items")
    mask_names = Property(List(Str), observe="session.layers.items")
    atlas_names = Property(List(Str), observe="session.layers.items")

    def _get_valid(self):
        return not self.problem

    def _get_series_names(self):
        return [lay.name for lay in self.session.layers_of_type(SeriesLayer)] if self.session else []

    def _get_mask_names(self):
        return [_NONE] + ([lay.name for lay in self.session.layers_of_type(MaskLayer)] if self.session else [])

    def _get_atlas_names(self):
        return [lay.name for lay in self.session.layers_of_type(LabelLayer)] \
            if self.session else []

    def job_class(self):
        raise NotImplementedError

    def param_items(self):
        """The parameters as items of the form itself (one label column with the inputs)."""
        cls = self.job_class().__name__
        return [Item(f"object.params.{name}", label=_LABELS.get(name, name.replace("_", " ").capitalize()),
                     tooltip=f"{cls}({name}=...)")
                for name in self.params.names]

    def _params_default(self):
        params = _Params(self.job_class())
        params.on_trait_change(lambda: self.validate())
        return params

    def make_job(self):
        """Return the job built from the parameters (checked)."""
        job = self.job_class()(**self.params.values())
        check = getattr(job, "_check_params", None)
        if check is not None:
            check()
        return job

    def validate(self):
        """Set :attr:`problem` from the inputs and parameters; return it."""
        try:
            problem = self.check_inputs()
            if not problem:
                self.make_job()
        except Exception as exc:
            problem = str(exc)
        self.problem = problem or ""
        return self.problem

    def check_inputs(self):
        return ""

    def _layer(self, name):
        return self.session.get_layer(name)

    def _image(self, layer):
        vol = layer.data
        return vol.to_image() if hasattr(vol, "to_image") else vol

    def title(self):
        return self.kind


class DecodingForm(JobForm):
    """Decoding: one 4D series, its labels (and runs), an optional mask."""

    kind = "decoding"
    images = Str()
    labels_file = File(desc="labels (and runs) per volume; not needed when the series carries them")
    mask = Str(_NONE)

    def job_class(self):
        from ..backend import DecodingJob

        return DecodingJob

    #: Where the labels come from (the series itself, or the labels file), for the form.
    labels_info = Str()

    @observe("images, labels_file, mask, session.layers.items")
    def _inputs_changed(self, event):
        if not self.images and self.series_names:
            self.images = self.series_names[-1]
        if self.images and self.mask == _NONE:
            # issue 12: a mask on the series' grid (the demo's) is chosen by itself
            self.mask = self._matching_mask() or _NONE
        self.labels_info = self._describe_labels()
        self.validate()

    def _matching_mask(self):
        try:
            series = self._layer(self.images)
        except KeyError:
            return ""
        vol = series.data
        for layer in reversed(self.session.layers_of_type(MaskLayer)):
            mask = layer.data
            if vol is not None and mask is not None and tuple(mask.shape[:3]) == tuple(vol.shape[:3]) \
                    and np.allclose(mask.affine, vol.affine):
                return layer.name
        return ""

    def _describe_labels(self):
        try:
            labels, runs = self._labels_runs(self._layer(self.images))
        except Exception:  # noqa: BLE001 - shown by validate()
            return ""
        if labels is None:
            return ""
        names = sorted({str(v) for v in labels})
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        where = "the labels file" if self.labels_file else "the series"
        runs_text = f", {len(set(np.asarray(runs).tolist()))} runs" if runs is not None else ""
        return f"{len(labels)} labels from {where}: {shown}{runs_text}"

    def _labels_runs(self, layer):
        if self.labels_file:
            from ..backend import read_labels

            out = read_labels(self.labels_file)
            if isinstance(out, tuple):
                return np.asarray(out[0]), (None if out[1] is None else np.asarray(out[1]))
            return np.asarray(out), getattr(layer, "runs", None)
        return getattr(layer, "labels", None), getattr(layer, "runs", None)

    def check_inputs(self):
        if not self.images:
            return "Load a 4D series (File > Open, or File > Decoding demo data) to decode."
        layer = self._layer(self.images)
        labels, _ = self._labels_runs(layer)
        if labels is None:
            return f"{layer.name} has no labels: choose a labels file (one label per volume)."
        if len(labels) != layer.n_frames:
            return (f"{len(labels)} labels for {layer.n_frames} volumes in {layer.name}: "
                    "there must be one label per volume.")
        return ""

    def run_args(self):
        """Return (args, kwargs) for ``DecodingJob.run``."""
        layer = self._layer(self.images)
        labels, runs = self._labels_runs(layer)
        kwargs = {"runs": runs}
        if self.mask and self.mask != _NONE:
            kwargs["mask"] = self._image(self._layer(self.mask))
        return (self._image(layer), labels), kwargs

    def title(self):
        from ..session import job_title

        labels = None
        try:
            labels, _ = self._labels_runs(self._layer(self.images))
        except Exception:  # noqa: BLE001 - a title never fails a job
            pass
        return job_title("decoding", self.params.values(), labels=labels)

    def traits_view(self):
        return View(VGroup(
            Item("images", editor=EnumEditor(name="series_names"), label="4D images"),
            Item("labels_file", width=-130),
            Item("labels_info", style="readonly", show_label=False, visible_when="labels_info"),
            Item("mask", editor=EnumEditor(name="mask_names")),
            *self.param_items(),
        ))


class SearchlightForm(DecodingForm):
    """Searchlight: the decoding form's inputs, a sphere radius; a map of scores."""

    kind = "searchlight"

    def job_class(self):
        from ..backend import SearchlightJob

        return SearchlightJob

    def title(self):
        return (f"searchlight {self.images} ({self.params.values().get('estimator', '')}, "
                f"{self.params.values().get('radius', '')} mm)")


class RegionForm(JobForm):
    """Region learning (CanICA / dictionary learning) over one or more 4D series."""

    kind = "regions"
    subjects = List(Str)

    def job_class(self):
        from ..backend import RegionJob

        return RegionJob

    @observe("subjects, session.layers.items")
    def _inputs_changed(self, event):
        if not self.subjects and self.series_names:
            self.subjects = list(self.series_names)
        self.validate()

    def check_inputs(self):
        if not self.subjects:
            return "Choose at least one 4D series (one per subject)."
        return ""

    def run_args(self):
        return ([self._image(self._layer(n)) for n in self.subjects],), {}

    def title(self):
        from ..session import job_title

        return job_title("regions", self.params.values(), n_inputs=len(self.subjects))

    def traits_view(self):
        return View(VGroup(
            Item("subjects", editor=CheckListEditor(name="series_names"), style="custom",
                 label="4D series"),
            *self.param_items(),
        ))


class ConnectivityForm(JobForm):
    """Connectivity: time series from 4D series inside an atlas (label image or components)."""

    kind = "connectivity"
    subjects = List(Str)
    atlas = Str()

    def job_class(self):
        from ..backend import ConnectivityJob

        return ConnectivityJob

    @observe("subjects, atlas, session.layers.items")
    def _inputs_changed(self, event):
        if not self.subjects and self.series_names:
            self.subjects = list(self.series_names)
        if not self.atlas and self.atlas_names:
            self.atlas = self.atlas_names[-1]
        self.validate()

    def check_inputs(self):
        if not self.atlas:
            return "Choose an atlas: a label image or a components layer (run a regions job first)."
        if not self.subjects and not self._atlas_has_timeseries():
            return "Choose at least one 4D series."
        return ""

    def _atlas_has_timeseries(self):
        atlas = self._layer(self.atlas)
        return any(job.kind == "regions" and job.result is not None and atlas.result_folder
                   and job.result_folder == atlas.result_folder for job in self.session.jobs)

    def run_args(self):
        atlas = self._layer(self.atlas)
        # components from a regions job of this session: use the time series it extracted
        for job in self.session.jobs:
            if (job.kind == "regions" and job.result is not None and atlas.result_folder
                    and job.result_folder == atlas.result_folder):
                return (), {"inputs": job.result}
        imgs = [self._image(self._layer(n)) for n in self.subjects]
        return (), {"imgs": imgs, "atlas": self._image(atlas)}

    def title(self):
        from ..session import job_title

        return job_title("connectivity", self.params.values(), n_inputs=len(self.subjects))

    def traits_view(self):
        return View(VGroup(
            Item("subjects", editor=CheckListEditor(name="series_names"), style="custom",
                 label="4D series"),
            Item("atlas", editor=EnumEditor(name="atlas_names")),
            *self.param_items(),
        ))


class JobsPanel(HasTraits):
    """New-job forms, the job list (state, progress, elapsed) and the selected job's log."""

    session = Instance(Session)
    window = Any()
    kind = Enum("decoding", "searchlight", "regions", "connectivity")
    decoding = Instance(DecodingForm)
    searchlight = Instance(SearchlightForm)
    regions = Instance(RegionForm)
    connectivity = Instance(ConnectivityForm)
    form = Property(Instance(JobForm), observe="kind")
    run = Button("Run job")
    cancel = Button("Cancel job")
    selected = Instance(JobState)
    #: Read-only mirrors for the view (TraitsUI items cannot follow a None link).
    form_problem = Property(Str, observe="kind, decoding.problem, searchlight.problem, "
                                         "regions.problem, connectivity.problem")
    form_valid = Property(Bool, observe="form_problem")
    selected_message = Property(Str, observe="selected.message")
    selected_log = Property(Str, observe="selected.log")
    selected_active = Property(Bool, observe="selected.state")

    def _get_form_problem(self):
        return self.form.problem

    def _get_form_valid(self):
        return not self.form.problem

    def _get_selected_message(self):
        return self.selected.message if self.selected is not None else ""

    def _get_selected_log(self):
        return self.selected.log if self.selected is not None else ""

    def _get_selected_active(self):
        return self.selected is not None and self.selected.active

    def _decoding_default(self):
        return DecodingForm(session=self.session)

    def _searchlight_default(self):
        return SearchlightForm(session=self.session)

    def _regions_default(self):
        return RegionForm(session=self.session)

    def _connectivity_default(self):
        return ConnectivityForm(session=self.session)

    def _get_form(self):
        return getattr(self, self.kind)

    def _run_fired(self):
        self.window.start_job(self.form)

    def _cancel_fired(self):
        if self.selected is not None:
            self.window.cancel_job(self.selected)

    @observe("selected")
    def _show_selected(self, event):  # issue 12: the result view follows the selection
        panel = getattr(self.window, "results_panel", None)
        if panel is not None and event.new is not None and event.new.state == "done" \
                and event.new.result is not None and panel.job is not event.new:
            panel.show_job(event.new)

    @observe("session.jobs.items")
    def _select_new(self, event):
        added = getattr(event, "added", None) or []
        if added:
            self.selected = added[-1]

    def traits_view(self):
        from traitsui.extras.progress_column import ProgressColumn

        table = TableEditor(
            columns=[
                ObjectColumn(name="title", label="Job", editable=False, width=0.3),
                ObjectColumn(name="state", editable=False, width=0.12),
                ProgressColumn(name="percent", label="Progress", editable=False, width=0.13),
                ObjectColumn(name="elapsed", label="Time (s)", format="%.1f", editable=False,
                             width=0.1),
                # issue 12: what the job found (mean score and chance, edges, regions)
                ObjectColumn(name="headline", label="Result", editable=False, width=0.35),
            ],
            selected="selected",
            sortable=False,
            editable=False,
            auto_size=True,
        )
        return View(VGroup(
            Item("kind", label="New job"),
            Item("decoding", style="custom", editor=InstanceEditor(), show_label=False,
                 visible_when="kind == 'decoding'"),
            Item("searchlight", style="custom", editor=InstanceEditor(), show_label=False,
                 visible_when="kind == 'searchlight'"),
            Item("regions", style="custom", editor=InstanceEditor(), show_label=False,
                 visible_when="kind == 'regions'"),
            Item("connectivity", style="custom", editor=InstanceEditor(), show_label=False,
                 visible_when="kind == 'connectivity'"),
            Item("form_problem", style="readonly", show_label=False, visible_when="form_problem",
                 resizable=True),
            HGroup(Item("run", show_label=False, enabled_when="form_valid"),
                   Item("cancel", show_label=False, enabled_when="selected_active")),
            # own groups: the table and log span the panel, not the form's value column
            VGroup(Item("object.session.jobs", editor=table, height=120), show_labels=False),
            VGroup(Item("selected_message", style="readonly", label="Status", resizable=True)),
            VGroup(Item("selected_log", style="readonly", height=80), show_labels=False),
            scrollable=True,
        ))


def jsonable(params):
    out = {}
    for key, value in params.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out


def input_names(form):
    names = []
    for trait in ("images", "subjects", "atlas", "mask", "labels_file"):
        value = getattr(form, trait, None)
        if isinstance(value, str) and value and value != "(none)":
            names.append(value)
        elif isinstance(value, list):
            names.extend(value)
    return names
