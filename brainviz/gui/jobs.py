"""The jobs panel: forms for decoding, region-learning and connectivity jobs, and the job list.

A form's parameters are read from the job class itself (``get_params()``
defaults, ``_choices`` for the allowed values), so the window offers exactly
what the backend accepts; the form checks them as they are typed and shows the
problem inline. Inputs are chosen from the loaded layers.
"""
import functools

import numpy as np
from traits.api import (
    Any, Bool, Button, Enum, File, Float, HasTraits, Instance, Int, List, Property, Str, observe,
)
from traitsui.api import (
    CheckListEditor, EnumEditor, Handler, HGroup, InstanceEditor, Item, TableEditor, VGroup, View,
)
from traitsui.table_column import ObjectColumn

from ..model import JobState, LabelLayer, MaskLayer, SeriesLayer, Session, time_left

__all__ = ["JobForm", "DecodingForm", "SearchlightForm", "RegionForm", "ConnectivityForm",
           "JobsPanel", "jsonable",
           "input_names"]

# parameters the window sets itself (the cache, where the work runs) rather than the form;
# how many cores ("Cores", n_jobs) is the form's, under Advanced: empty is BRAINVIZ_N_JOBS or 1
_HIDDEN_PARAMS = {"memory", "backend", "scheduler", "verbose"}
# set by the form's confounds panel (choices, not text): see Cleaning
_CONFOUNDS_PARAMS = {"confounds_strategy", "confounds_params"}
_NONE = "(none)"
# shorter labels where the parameter's own name would widen the form past the panel
# (the tooltip gives the name, as a script would write it)
_LABELS = {"screening_percentile": "Screening %", "spacenet_max_iter": "Max. iter.",
           "no_event_label": "Rest label", "hrf_delay": "HRF delay", "individual_maps": "Own maps",
           "extract_regions": "Regions", "min_region_size": "Min. region",
           "cov_estimator": "Covariance", "high_pass": "High-pass", "low_pass": "Low-pass",
           "n_permutations": "Permutations", "random_state": "Random seed", "cv": "CV",
           "n_folds": "Folds", "n_components": "Components", "n_jobs": "Cores",
           "tr": "TR (s)", "t_r": "TR (s)", "fwhm": "FWHM (mm)", "smoothing_fwhm": "FWHM (mm)",
           "dpi": "DPI", "alpha": "Alpha", "l1_ratio": "L1 ratio"}


class _Params(HasTraits):
    """Job parameters as traits, built from a job class (defaults and allowed values)."""

    #: the form's confounds panel (Cleaning): its choices join the values
    cleaning = Any()

    def __init__(self, job_class, **traits):
        super().__init__(**traits)
        self._job_class = job_class
        self._names = []
        choices = getattr(job_class, "_choices", {})
        for name, default in job_class().get_params(deep=False).items():
            if name in _HIDDEN_PARAMS or name in _CONFOUNDS_PARAMS:
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
        if self.cleaning is not None:
            out.update(self.cleaning.values())
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


# --- confounds: files (one per run or subject) and load_confounds' strategies ---------------
# nilearn.interfaces.fmriprep.load_confounds' strategies, as the window offers them
_STRATEGIES = ("motion", "high_pass", "wm_csf", "global_signal", "scrub", "compcor",
               "non_steady_state", "ica_aroma", "tedana")
_LEVELS = ("basic", "power2", "derivatives", "full")
#: load_confounds' main parameters: their choices, and the strategy each belongs to
_STRATEGY_PARAMS = {
    "motion": ("motion", _LEVELS), "wm_csf": ("wm_csf", _LEVELS),
    "global_signal": ("global_signal", _LEVELS),
    "scrub": ("scrub", int), "fd_threshold": ("scrub", float),
    "std_dvars_threshold": ("scrub", float),
    "compcor": ("compcor", ("anat_combined", "anat_separated", "temporal",
                            "temporal_anat_combined", "temporal_anat_separated")),
    "n_compcor": ("compcor", str),
    "ica_aroma": ("ica_aroma", ("full", "basic")),
    "tedana": ("tedana", ("aggressive", "non-aggressive")),
    "demean": (None, bool),
}
_STRATEGY_LABELS = {"fd_threshold": "FD max", "std_dvars_threshold": "DVARS max",
                    "n_compcor": "N CompCor", "global_signal": "Global",
                    "wm_csf": "WM/CSF", "ica_aroma": "AROMA", "compcor": "CompCor",
                    "motion": "Motion", "scrub": "Scrub", "tedana": "Tedana", "demean": "Demean"}
# the strategies' names in the check list (short enough for two columns in the dock)
_STRATEGY_SHORT = {"motion": "motion", "high_pass": "high-pass", "wm_csf": "WM/CSF",
                   "global_signal": "global", "scrub": "scrub", "compcor": "CompCor",
                   "non_steady_state": "non-steady", "ica_aroma": "AROMA", "tedana": "tedana"}
_FMRIPREP_NAMES = ("_desc-confounds_timeseries.tsv", "_desc-confounds_regressors.tsv")


def _load_confounds_defaults():
    """load_confounds' own defaults (strategy included), read from its signature."""
    return dict(_confounds_signature_defaults())


@functools.lru_cache(maxsize=1)
def _confounds_signature_defaults():
    import inspect

    from nilearn.interfaces.fmriprep import load_confounds

    return {name: p.default for name, p in inspect.signature(load_confounds).parameters.items()
            if p.default is not inspect.Parameter.empty}


def is_fmriprep_confounds(path):
    """True for an fMRIPrep confounds table (by its BIDS name, or its trans_x column)."""
    name = str(path)
    if name.endswith(_FMRIPREP_NAMES):
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            header = f.readline()
    except OSError:
        return False
    return "trans_x" in header.split("\t")


class Cleaning(HasTraits):
    """The confounds of a job: one table per run (decoding) or subject, read as plain arrays
    (CSV/TSV/.1D/.npy) or through nilearn's ``load_confounds`` with a strategy.

    :meth:`values` gives the job's ``confounds_strategy`` and ``confounds_params``
    as the API and the CLI take them: only the parameters that differ from
    ``load_confounds``' own defaults are passed.
    """

    #: the chosen confounds files, one per run or subject, in order
    files = List(Str)
    choose = Button("Confounds...")
    clear = Button("Clear")
    #: read the files with nilearn's load_confounds (fMRIPrep tables)
    fmriprep = Bool(False)
    strategy = List(Str)
    #: what the files hold (or the one-line problem), for the form
    info = Str()
    files_text = Property(Str, observe="files.items")
    #: the widget the file dialog is parented to (the window's), or None
    parent = Any()

    def __init__(self, **traits):
        defaults = _load_confounds_defaults()
        self._defaults = defaults
        # the parameters this nilearn's load_confounds has (older ones lack tedana)
        self._offered = [n for n in _STRATEGY_PARAMS if n in defaults]
        for name in self._offered:
            kind = _STRATEGY_PARAMS[name][1]
            default = defaults[name]
            if isinstance(kind, tuple):
                self.add_trait(name, Enum(default, list(kind)))
            elif kind is bool:
                self.add_trait(name, Bool(bool(default)))
            elif kind is int:
                self.add_trait(name, Int(int(default)))
            elif kind is float:
                self.add_trait(name, Float(float(default)))
            else:
                self.add_trait(name, Str(str(default)))
        super().__init__(**traits)

    def _get_files_text(self):
        if not self.files:
            return "(none)"
        from pathlib import Path

        names = [Path(f).name for f in self.files]
        return names[0] if len(names) == 1 else f"{len(names)} files: {names[0]}, ..."

    def _choose_fired(self):
        from .dialogs import ask_confounds_files

        directory = ""
        if self.files:
            from pathlib import Path

            directory = str(Path(self.files[0]).parent)
        paths = ask_confounds_files(self.parent, directory)
        if paths:  # cancelled: the files stay
            self.set_files(paths)

    def _clear_fired(self):
        self.set_files([])

    def set_files(self, paths):
        """Take the files the picker returned (nothing changes when it was cancelled)."""
        paths = [str(p) for p in paths or []]
        if paths and all(is_fmriprep_confounds(p) for p in paths) and not self.fmriprep:
            # fMRIPrep's tables have hundreds of columns: read them as nilearn does
            self.fmriprep = True
            if not self.strategy:
                self.strategy = list(self._defaults.get("strategy") or ())
        self.files = paths

    def values(self):
        """``confounds_strategy`` and ``confounds_params`` for the job."""
        if not self.fmriprep:
            return {"confounds_strategy": None, "confounds_params": None}
        strategy = [s for s in _STRATEGIES if s in self.strategy]
        params = {}
        for name in self._offered:
            owner = _STRATEGY_PARAMS[name][0]
            if owner is not None and owner not in strategy:
                continue
            value = getattr(self, name)
            if name == "n_compcor":
                value = value.strip()
                value = int(value) if value.isdigit() else value
            if value != self._defaults.get(name):
                params[name] = value
        return {"confounds_strategy": strategy, "confounds_params": params or None}

    def view_items(self, prefix="", when=""):
        """The panel's items, for a form's own groups (``prefix``: "object.cleaning.";
        ``when``: that trait's name in the form's visible_when expressions)."""
        def vis(expr):
            return expr.replace("$", when)

        params = [Item(f"{prefix}{name}",
                       label=_STRATEGY_LABELS.get(name, name.replace("_", " ").capitalize()),
                       tooltip=f"load_confounds({name}=...)",
                       visible_when=vis("$fmriprep" if owner is None
                                        else f"$fmriprep and {owner!r} in $strategy"))
                  for name, (owner, _) in _STRATEGY_PARAMS.items() if name in self._offered]
        return [
            VGroup(Item(f"{prefix}files_text", style="readonly", label="Confounds",
                        tooltip="confounds=[...]: one table per run (decoding) or subject, in "
                                "order: CSV/TSV/.1D/.npy, or fMRIPrep's "
                                "*_desc-confounds_timeseries.tsv"),
                   Item(f"{prefix}info", style="readonly", show_label=False,
                        visible_when=vis("$info"))),
            HGroup(Item(f"{prefix}choose", show_label=False,
                        tooltip="choose the confounds files: one per run or subject, in order"),
                   Item(f"{prefix}clear", show_label=False, enabled_when=vis("$files"))),
            VGroup(Item(f"{prefix}fmriprep", label="fMRIPrep",
                        tooltip="read the files with nilearn.interfaces.fmriprep.load_confounds "
                                "(confounds_strategy=...)")),
            VGroup(Item(f"{prefix}strategy", editor=CheckListEditor(
                values=[(v, _STRATEGY_SHORT[v]) for v in _STRATEGIES], cols=1),
                style="custom", tooltip="load_confounds(strategy=...)"),
                show_labels=False, visible_when=vis("$fmriprep")),
            VGroup(*params),
        ]

    def traits_view(self):
        return View(VGroup(*self.view_items()))


def _layer_names_editor(name):
    """Check boxes for the layers named in the trait ``name``, labelled with the names as
    the layer list writes them (TraitsUI capitalises plain strings)."""
    return CheckListEditor(name=name, format_func=str)


def _stat(path):
    import os

    try:
        st = os.stat(path)
    except OSError:
        return (None, None)
    return (st.st_size, st.st_mtime_ns)


def _confounds_summary(out, frames):
    """"6 regressors per run", "24 regressors, 3 of 600 volumes scrubbed"."""
    widths = sorted({0 if v is None else v.shape[1] for v, _ in out})
    width = str(widths[0]) if len(widths) == 1 else f"{widths[0]}-{widths[-1]}"
    text = f"{len(out)} file{'s' if len(out) != 1 else ''}, {width} regressors each"
    if frames is not None:
        dropped = sum(n - len(sm) for (_, sm), n in zip(out, frames) if sm is not None)
        if dropped:
            text += f", {dropped} of {sum(frames)} volumes scrubbed"
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
    #: whether a multi-subject form has chosen its first subjects (see _follow_series)
    _looked = Bool(False)
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

    def _follow_series(self, event):
        """Keep a multi-subject form's ``subjects`` to the session's 4D series: every series
        at first, each series added later (another subject: the resting-state demo adds
        three, one after another, and only the first was ticked), none removed from the
        session; a series the user unticked stays unticked."""
        names = self.series_names
        if not self._looked:  # the form's first look: every series there is
            self._looked = True
            if not self.subjects and names:
                self.subjects = list(names)
                return
        if not hasattr(event, "added"):  # the user's own choice, or another input
            return
        added = [lay.name for lay in event.added if lay.name in names]
        kept = [n for n in self.subjects if n in names]
        chosen = kept + [n for n in added if n not in kept]
        if chosen != self.subjects:
            self.subjects = chosen

    #: parameters shown first; the rest are under "More parameters"
    basic_params = ()
    #: the cleaning parameters shown with the confounds
    cleaning_params = ("t_r", "high_pass", "low_pass")
    cleaning = Instance(Cleaning)
    #: show the advanced parameters (a collapsible group)
    advanced = Bool(False)
    #: the TR the job will use when "TR (s)" is empty (from the series' header)
    tr_info = Str()

    def param_items(self, names=None):
        """The parameters as items of the form itself (one label column with the inputs):
        short labels, the parameter's name in the tooltip."""
        cls = self.job_class().__name__
        names = self.params.names if names is None else [n for n in names if n in self.params.names]
        return [Item(f"object.params.{name}", label=_LABELS.get(name, name.replace("_", " ").capitalize()),
                     tooltip=f"{cls}({name}=...)")
                for name in names]

    def advanced_names(self):
        shown = set(self.basic_params) | set(self.cleaning_params)
        return [n for n in self.params.names if n not in shown]

    def form_items(self):
        """Basic parameters, cleaning (confounds, TR, filters), then the advanced ones."""
        return [
            VGroup(*self.param_items(self.basic_params)),
            VGroup(*self.param_items(self.cleaning_params),
                   Item("tr_info", style="readonly", show_label=False, visible_when="tr_info"),
                   *self.cleaning.view_items("object.cleaning.", "cleaning."),
                   label="Cleaning", show_border=False),
            VGroup(Item("advanced", label="Advanced",
                        tooltip="the job's other parameters (their defaults are the job's)"),
                   VGroup(*self.param_items(self.advanced_names()), visible_when="advanced")),
        ]

    #: the confounds panel's choices, mirrored so that the form's visible_when
    #: expressions (strategies, their parameters) are evaluated again when they change
    _cleaning_shown = Any()

    def _cleaning_changed_shown(self, event):
        self._cleaning_shown = (self.cleaning.fmriprep, tuple(self.cleaning.strategy),
                                bool(self.cleaning.files), bool(self.cleaning.info))
        self.validate()

    def _cleaning_default(self):
        cleaning = Cleaning()
        cleaning.observe(self._cleaning_changed_shown,
                         "files.items, fmriprep, strategy.items, info")
        cleaning.observe(lambda event: self.validate(),
                         ",".join(cleaning._offered))
        return cleaning

    def _params_default(self):
        params = _Params(self.job_class(), cleaning=self.cleaning)
        params.on_trait_change(lambda: self.validate())
        return params

    def make_job(self):
        """Return the job built from the parameters (checked)."""
        from .._config import get_n_jobs

        job = self.job_class()(**self.params.values())
        check = getattr(job, "_check_params", None)
        if check is not None:
            check()
        get_n_jobs(job.n_jobs)  # "Cores" 0 said in the form's line, not when the job starts
        return job

    def validate(self):
        """Set :attr:`problem` from the inputs and parameters; return it."""
        try:
            problem = self.check_inputs()
            if not problem:
                job = self.make_job()
                problem = self.check_confounds(job)
        except Exception as exc:
            problem = str(exc)
        self.problem = problem or ""
        self.tr_info = self._describe_tr()
        return self.problem

    # --- cleaning ---------------------------------------------------------------------
    #: what one confounds file goes with
    confounds_unit = "subject"

    def confounds_frames(self):
        """Volumes of each run/subject the confounds go with (None when unknown)."""
        return None

    def _frames_of(self, names):
        """Volumes of each named series layer (None when one is not loaded)."""
        try:
            return [self._layer(n).n_frames for n in names]
        except KeyError:
            return None

    def _series_tr(self):
        """The first chosen series' TR from its header (s), or None."""
        return None

    def _describe_tr(self):
        if self.params is None or self.params.values().get("t_r") is not None:
            return ""
        tr = self._series_tr()
        if tr:
            return f"TR {tr:g} s, from the series' header"
        return ""

    def check_confounds(self, job):
        """The confounds files, read as the job will read them: one line when they do not fit.
        Sets the panel's ``info`` (regressors per file, scrubbed volumes)."""
        cleaning = self.cleaning
        files = list(cleaning.files)
        if not files:
            cleaning.info = ("confounds found beside each fMRIPrep image" if cleaning.fmriprep
                             else "")
            return ""
        frames = self.confounds_frames()
        unit = self.confounds_unit
        if frames is not None and len(files) != len(frames):
            cleaning.info = ""
            return (f"{len(files)} confounds file{'s' if len(files) != 1 else ''} for "
                    f"{len(frames)} {unit}{'s' if len(frames) != 1 else ''}: choose one per "
                    f"{unit}, in order.")
        from ..backend import _cleaning

        key = (tuple((f, *_stat(f)) for f in files), repr(cleaning.values()),
               None if frames is None else tuple(frames))
        cached = getattr(self, "_confounds_checked", None)
        if cached is None or cached[0] != key:
            try:
                if frames is None:
                    out = [(_cleaning.read_table(f, "confounds")[0], None) for f in files]
                else:
                    out, _ = _cleaning.resolve_confounds(job, files, None, frames, what=unit)
                info, problem = _confounds_summary(out, frames), ""
            except Exception as exc:  # noqa: BLE001 - one line in the form
                info, problem = "", " ".join(str(exc).split())
            cached = self._confounds_checked = (key, info, problem)
        cleaning.info = cached[1]
        return cached[2]

    def confounds_kwargs(self):
        files = list(self.cleaning.files)
        return {"confounds": files} if files else {}

    def check_inputs(self):
        return ""

    def _layer(self, name):
        return self.session.get_layer(name)

    def _series_tr_of(self, names):
        for name in names:
            try:
                tr = getattr(self._layer(name), "tr", 0.0)
            except KeyError:
                continue
            if tr and tr > 0:
                return float(tr)
        return None

    def _image(self, layer):
        vol = layer.data
        return vol.to_image() if hasattr(vol, "to_image") else vol

    def title(self):
        return self.kind


class DecodingForm(JobForm):
    """Decoding: one 4D series with its labels (and runs) or its BIDS events, or several
    runs (one 4D series each) with one events.tsv per run; an optional mask."""

    kind = "decoding"
    images = Str()
    labels_file = File(desc="labels (and runs) per volume, or the run's BIDS events.tsv; not "
                            "needed when the series carries its labels")
    mask = Str(_NONE)
    #: further runs of the task (series layers), after ``images``, in the layers' order
    more_runs = List(Str)
    other_series_names = Property(List(Str), observe="images, session.layers.items")
    #: one BIDS events.tsv per run (``images``' first, then ``more_runs``'), in order
    events_files = List(Str)
    choose_events = Button("Events...")
    clear_events = Button("Clear")
    events_text = Property(Str, observe="events_files.items")
    #: the widget the file dialog is parented to (the window's), or None
    parent = Any()
    basic_params = ("estimator", "cv", "n_folds", "C")
    confounds_unit = "run"

    def job_class(self):
        from ..backend import DecodingJob

        return DecodingJob

    #: Where the labels come from (the series itself, the labels file or the events) and how
    #: many volumes got each label, for the form.
    labels_info = Str()

    @observe("images, labels_file, mask, more_runs.items, events_files.items, "
             "session.layers.items")
    def _inputs_changed(self, event):
        if not self.images and self.series_names:
            self.images = self.series_names[-1]
        if self.images and self.mask == _NONE:
            # issue 12: a mask on the series' grid (the demo's) is chosen by itself
            self.mask = self._matching_mask() or _NONE
        self.validate()

    # --- runs and their events ---------------------------------------------------------
    def _get_other_series_names(self):
        return [n for n in self.series_names if n != self.images]

    def _get_events_text(self):
        if not self.events_files:
            return "(none)"
        from pathlib import Path

        names = [Path(f).name for f in self.events_files]
        return names[0] if len(names) == 1 else f"{len(names)} files: {names[0]}, ..."

    def _choose_events_fired(self):
        from pathlib import Path

        from . import dialogs

        directory = str(Path(self.events_files[0]).parent) if self.events_files else ""
        paths = dialogs.ask_events_files(self.parent, directory)
        if paths:  # cancelled: the files stay
            # BIDS names sort by run (run-1, run-2, ...): the order of the runs
            self.events_files = sorted(str(p) for p in paths)

    def _clear_events_fired(self):
        self.events_files = []

    def run_names(self):
        """The chosen runs' series layers: ``images``, then ``more_runs`` in layer order."""
        more = set(self.more_runs)
        return [self.images] + [n for n in self.other_series_names if n in more]

    def _runs_with_events(self):
        """True when the labels come from one events.tsv per run (the Events... files)."""
        return bool(self.events_files) or len(self.run_names()) > 1

    def _events_labels_runs(self):
        """Labels of every run's volumes from its events.tsv, and each volume's run."""
        from ..backend import events_to_labels, read_events

        layers = [self._layer(n) for n in self.run_names()]
        t_r = self._events_tr()
        if not t_r:
            raise ValueError(f"{layers[0].name} has no TR in its header: type the TR (s) for "
                             "the events.")
        p = self.params.values()
        labels = [events_to_labels(read_events(f), layer.n_frames, t_r,
                                   p.get("hrf_delay", 5.0), p.get("no_event_label"))
                  for f, layer in zip(self.events_files, layers)]
        runs = np.concatenate([np.full(layer.n_frames, i) for i, layer in enumerate(layers)])
        return np.concatenate(labels).astype(object), runs

    def validate(self):
        problem = super().validate()
        self.labels_info = self._describe_labels()
        return problem

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

    def is_events(self):
        """True when the labels file is a BIDS events.tsv (onset, duration, trial_type)."""
        if not self.labels_file:
            return False
        try:
            with open(self.labels_file, encoding="utf-8", errors="replace") as f:
                header = f.readline().lower()
        except OSError:
            return False
        cells = {c.strip() for c in header.replace(",", "\t").split("\t")}
        return {"onset", "duration"} <= cells

    def _describe_labels(self):
        if self._runs_with_events():
            try:
                if self.check_inputs():
                    return ""
                labels, _ = self._events_labels_runs()
            except Exception:  # noqa: BLE001 - shown by validate()
                return ""
            n = len(self.run_names())
            where = "the events" if n == 1 else f"{n} runs' events"
            return (f"{len(labels)} volumes from {where} (TR {self._events_tr():g} s, delay "
                    f"{self.params.values().get('hrf_delay')} s): {self._label_counts(labels)}")
        try:
            labels, runs = self._labels_runs(self._layer(self.images))
        except Exception:  # noqa: BLE001 - shown by validate()
            return ""
        if labels is None:
            return ""
        shown = self._label_counts(labels)
        if self.is_events():
            p = self.params.values()
            return (f"{len(labels)} volumes from the events (TR {self._events_tr():g} s, delay "
                    f"{p.get('hrf_delay')} s): {shown}")
        where = "the labels file" if self.labels_file else "the series"
        runs_text = f"; {len(set(np.asarray(runs).tolist()))} runs" if runs is not None else ""
        return f"{len(labels)} labels from {where}: {shown}{runs_text}"

    @staticmethod
    def _label_counts(labels):
        names, counts = np.unique(np.array(["(left out)" if v is None else str(v) for v in labels]),
                                  return_counts=True)
        pairs = [f"{n} {c}" for n, c in zip(names, counts)]
        return ", ".join(pairs[:6]) + (", ..." if len(pairs) > 6 else "")

    def _events_tr(self):
        t_r = self.params.values().get("t_r")
        return float(t_r) if t_r is not None else self._series_tr()

    def _series_tr(self):
        return self._series_tr_of(self.run_names() if self.images else [])

    def _labels_runs(self, layer):
        if self.labels_file and self.is_events():
            from ..backend import events_to_labels, read_events

            t_r = self._events_tr()
            if not t_r:
                raise ValueError(f"{layer.name} has no TR in its header: type the TR (s) for "
                                 "the events.")
            p = self.params.values()
            labels = events_to_labels(read_events(self.labels_file), layer.n_frames, t_r,
                                      p.get("hrf_delay", 5.0), p.get("no_event_label"))
            return np.asarray(labels, dtype=object), None
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
        if self._runs_with_events():
            return self._check_runs_with_events()
        layer = self._layer(self.images)
        labels, runs = self._labels_runs(layer)
        if labels is None:
            return (f"{layer.name} has no labels: choose a labels file (one label per volume) "
                    "or the run's events.tsv.")
        if len(labels) != layer.n_frames:
            return (f"{len(labels)} labels for {layer.n_frames} volumes in {layer.name}: "
                    "there must be one label per volume.")
        if self.params.values().get("cv") == "leave-one-run-out" and (
                runs is None or len(set(np.asarray(runs).tolist())) < 2):
            where = "the events give one run" if self.is_events() else f"{layer.name} has one run"
            return f"cv='leave-one-run-out' needs at least two runs; {where}: use cv='kfold'."
        return ""

    def _check_runs_with_events(self):
        names = self.run_names()
        n, k = len(names), len(self.events_files)
        if self.labels_file:
            return ("Choose either a labels file (one run) or one events.tsv per run "
                    "(Events...), not both.")
        if k != n:
            return (f"{k} events file{'s' if k != 1 else ''} for {n} run{'s' if n != 1 else ''}"
                    f" ({', '.join(names)}): choose one events.tsv per run, in order.")
        self._events_labels_runs()  # a file that is no events.tsv: its one line
        if self.params.values().get("cv") == "leave-one-run-out" and n < 2:
            return ("cv='leave-one-run-out' needs at least two runs; the events give one run: "
                    "add runs or use cv='kfold'.")
        return ""

    def confounds_frames(self):
        if self._runs_with_events():
            return self._frames_of(self.run_names())
        try:
            layer = self._layer(self.images)
            labels, runs = self._labels_runs(layer)
        except Exception:  # noqa: BLE001 - check_inputs says why
            return None
        if runs is None:
            return [layer.n_frames]
        runs = np.asarray(runs)
        return [int((runs == r).sum()) for r in dict.fromkeys(runs.tolist())]

    def run_args(self):
        """Return (args, kwargs) for ``DecodingJob.run``, as the API and the CLI give them."""
        layer = self._layer(self.images)
        kwargs = self.confounds_kwargs()
        if self._runs_with_events():  # one 4D image per run, the job reads each one's events
            kwargs["events"] = list(self.events_files)
            if self.mask and self.mask != _NONE:
                kwargs["mask"] = self._image(self._layer(self.mask))
            return ([self._image(self._layer(n)) for n in self.run_names()], None), kwargs
        if self.is_events():
            # the job reads the events itself (one events.tsv for the one run)
            kwargs["events"] = [self.labels_file]
            labels = None
        else:
            labels, runs = self._labels_runs(layer)
            kwargs["runs"] = runs
        if self.mask and self.mask != _NONE:
            kwargs["mask"] = self._image(self._layer(self.mask))
        return (self._image(layer), labels), kwargs

    def title(self):
        from ..session import job_title

        labels = None
        try:
            labels, _ = (self._events_labels_runs() if self._runs_with_events()
                         else self._labels_runs(self._layer(self.images)))
            labels = [v for v in labels if v is not None]
        except Exception:  # noqa: BLE001 - a title never fails a job
            pass
        return job_title(self.kind, self.params.values(), labels=labels)

    def traits_view(self):
        return View(VGroup(
            Item("images", editor=EnumEditor(name="series_names"), label="4D images"),
            Item("labels_file", label="Labels", width=-100,
                 tooltip="labels=... (one per volume, with runs) or events=[...] (BIDS "
                         "events.tsv: onset, duration, trial_type)"),
            # own group: the layers' names take the whole width, not the value column
            VGroup(Item("more_runs", editor=_layer_names_editor("other_series_names"),
                        style="custom", tooltip="further runs of the task, one 4D series each, "
                                                "with their events.tsv (Events...)"),
                   label="More runs", show_labels=False,
                   visible_when="len(other_series_names) > 0"),
            # the file names on their own line, the buttons below (as the confounds'), so
            # that the form fits a narrow dock
            Item("events_text", style="readonly", label="Events",
                 tooltip="events=[...]: one BIDS events.tsv per run (onset, duration, "
                         "trial_type), in the runs' order"),
            HGroup(Item("choose_events", show_label=False,
                        tooltip="choose the runs' events.tsv files: one per run"),
                   Item("clear_events", show_label=False, enabled_when="events_files")),
            Item("labels_info", style="readonly", show_label=False, visible_when="labels_info"),
            Item("mask", editor=EnumEditor(name="mask_names")),
            *self.form_items(),
        ))


class SearchlightForm(DecodingForm):
    """Searchlight: the decoding form's inputs, a sphere radius; a map of scores."""

    kind = "searchlight"
    basic_params = ("radius", "estimator", "cv", "n_folds")

    def job_class(self):
        from ..backend import SearchlightJob

        return SearchlightJob



class RegionForm(JobForm):
    """Region learning (CanICA / dictionary learning) over one or more 4D series."""

    kind = "regions"
    subjects = List(Str)
    basic_params = ("method", "n_components")

    def job_class(self):
        from ..backend import RegionJob

        return RegionJob

    @observe("subjects, session.layers.items")
    def _inputs_changed(self, event):
        self._follow_series(event)
        self.validate()

    def check_inputs(self):
        if not self.subjects:
            return "Choose at least one 4D series (one per subject)."
        return ""

    def confounds_frames(self):
        return self._frames_of(self.subjects)

    def _series_tr(self):
        return self._series_tr_of(self.subjects)

    def run_args(self):
        return ([self._image(self._layer(n)) for n in self.subjects],), self.confounds_kwargs()

    def title(self):
        from ..session import job_title

        return job_title("regions", self.params.values(), n_inputs=len(self.subjects))

    def traits_view(self):
        return View(VGroup(
            # own group: the layers' names take the whole width, not the value column
            VGroup(Item("subjects", editor=_layer_names_editor("series_names"), style="custom",
                        tooltip="one 4D series per subject"),
                   label="4D series", show_labels=False),
            *self.form_items(),
        ))


#: The coordinate atlases shipped with brainviz (spheres of the job's ``radius``), as the
#: connectivity form lists them, and their names for ``ConnectivityJob(coords=...)``
SPHERE_ATLASES = {
    "Power 2011 (264 spheres)": "power",
    "Dosenbach 2010 (160 spheres)": "dosenbach",
    "Seitzman 2018 (300 spheres)": "seitzman",
}


class ConnectivityForm(JobForm):
    """Connectivity: time series from 4D series inside an atlas (label image or components)
    or in spheres at a shipped atlas' coordinates (Power, Dosenbach, Seitzman)."""

    kind = "connectivity"
    subjects = List(Str)
    atlas = Str()
    basic_params = ("kind", "cov_estimator")

    def job_class(self):
        from ..backend import ConnectivityJob

        return ConnectivityJob

    def _get_atlas_names(self):
        # the session's label images and components, then the shipped coordinate atlases:
        # a first connectome needs no atlas file and no regions job
        return super()._get_atlas_names() + list(SPHERE_ATLASES)

    @observe("subjects, atlas, session.layers.items")
    def _inputs_changed(self, event):
        self._follow_series(event)
        added = [lay.name for lay in getattr(event, "added", None) or []
                 if isinstance(lay, LabelLayer)]
        if added:  # a label image opened, a regions job's components: the atlas to use
            self.atlas = added[-1]
        elif self.atlas not in self.atlas_names:  # none yet, or its layer was removed
            layers = [n for n in self.atlas_names if n not in SPHERE_ATLASES]
            self.atlas = layers[-1] if layers else next(iter(SPHERE_ATLASES))
        self.validate()

    def check_inputs(self):
        if not self.atlas:
            return "Choose an atlas: a label image, a components layer or a coordinate atlas."
        if not self.subjects and not self._atlas_has_timeseries():
            return "Choose at least one 4D series."
        return ""

    def _atlas_has_timeseries(self):
        if self.atlas in SPHERE_ATLASES:
            return False
        atlas = self._layer(self.atlas)
        return any(job.kind == "regions" and job.result is not None and atlas.result_folder
                   and job.result_folder == atlas.result_folder for job in self.session.jobs)

    def run_args(self):
        if self.atlas in SPHERE_ATLASES:
            imgs = [self._image(self._layer(n)) for n in self.subjects]
            return (), {"imgs": imgs, "coords": SPHERE_ATLASES[self.atlas],
                        **self.confounds_kwargs()}
        atlas = self._layer(self.atlas)
        # components from a regions job of this session: use the time series it extracted
        for job in self.session.jobs:
            if (job.kind == "regions" and job.result is not None and atlas.result_folder
                    and job.result_folder == atlas.result_folder):
                return (), {"inputs": job.result, **self.confounds_kwargs()}
        imgs = [self._image(self._layer(n)) for n in self.subjects]
        return (), {"imgs": imgs, "atlas": self._image(atlas), **self.confounds_kwargs()}

    def confounds_frames(self):
        if not self.atlas or self._atlas_has_timeseries():
            return None  # the regions job's subjects: the job checks them
        return self._frames_of(self.subjects)

    def _series_tr(self):
        return self._series_tr_of(self.subjects)

    def title(self):
        from ..session import job_title

        return job_title("connectivity", self.params.values(), n_inputs=len(self.subjects))

    def traits_view(self):
        return View(VGroup(
            # own group: the layers' names take the whole width, not the value column
            VGroup(Item("subjects", editor=_layer_names_editor("series_names"), style="custom",
                        tooltip="one 4D series per subject"),
                   label="4D series", show_labels=False),
            Item("atlas", editor=EnumEditor(name="atlas_names")),
            *self.form_items(),
        ))


class _FitTheDock(Handler):
    """Once the panel is built: texts wrap and drop-down lists stay narrow, so the forms fit
    a narrow dock (1280x800) without a horizontal scroll bar."""

    def init(self, info):
        from ._layout import box_follows, compact_combo_boxes, wrap_labels

        compact_combo_boxes(info.ui.control)
        wrap_labels(info.ui.control)
        for editor in info.ui.get_editors("form_problem"):
            box_follows(editor.control)  # no empty box once the form is complete
        return True

    def object_kind_changed(self, info):
        """Another kind's form was just built: fit it too (once it is laid out)."""
        if info.initialized and info.ui.control is not None:
            from pyface.api import GUI

            GUI.invoke_later(self.init, info)


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
    #: The selected job's status line, with the time a running job has left
    selected_message = Property(Str, observe="selected.message, selected.remaining")
    selected_log = Property(Str, observe="selected.log")
    selected_active = Property(Bool, observe="selected.state")

    def _get_form_problem(self):
        return self.form.problem

    def _get_form_valid(self):
        return not self.form.problem

    def _get_selected_message(self):
        if self.selected is None:
            return ""
        message, left = self.selected.message, self.selected.remaining
        if left is None:
            return message
        return f"{message} ({time_left(left)})" if message else time_left(left)

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
        state = event.new
        if panel is None or state is None or state.state != "done" or panel.job is state:
            return
        if state.result is None and state.result_folder:
            # a reopened session's job: its result read back from its folder
            from ..session import load_job_result

            try:
                load_job_result(state)
            except Exception as exc:  # noqa: BLE001 - the list and the layers still work
                report = getattr(self.window, "report_error", None)
                if report is None:
                    raise
                report(exc, f"Could not show the result of '{state.title}'")
                return
        if state.result is not None:
            panel.show_job(state)

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
            VGroup(Item("kind", label="New job")),
            # own group, no label column: the form's own labels line up the whole width
            # the chosen kind's form only: the four built at once took about a second of
            # the window's start-up in one event-loop turn; another kind's form is built
            # when it is chosen
            VGroup(Item("form", style="custom", editor=InstanceEditor(), show_label=False),
                   show_labels=False),
            Item("form_problem", style="readonly", show_label=False, visible_when="form_problem",
                 resizable=True),
            HGroup(Item("run", show_label=False, enabled_when="form_valid"),
                   Item("cancel", show_label=False, enabled_when="selected_active")),
            # own groups: the table and log span the panel, not the form's value column
            VGroup(Item("object.session.jobs", editor=table, height=120), show_labels=False),
            VGroup(Item("selected_message", style="readonly", label="Status", resizable=True)),
            VGroup(Item("selected_log", style="readonly", height=80), show_labels=False),
            scrollable=True,
        ), handler=_FitTheDock())


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
