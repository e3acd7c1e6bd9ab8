"""The job forms offer what the job classes accept, cleaning included, with no form code."""
import pytest

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("job_class", ["DecodingJob", "SearchlightJob", "RegionJob", "ConnectivityJob"])
def test_forms_pick_up_the_cleaning_parameters(job_class):
    from brainviz import backend
    from brainviz.gui.jobs import _Params

    from brainviz.gui.jobs import Cleaning

    cls = getattr(backend, job_class)
    cleaning = Cleaning()
    params = _Params(cls, cleaning=cleaning)
    # typed: the filters and TR; chosen: the confounds strategy and its parameters
    assert {"detrend", "standardize", "high_pass", "low_pass", "t_r"} <= set(params.names)
    assert not {"confounds_strategy", "confounds_params"} & set(params.names)
    params.high_pass = "0.01"
    params.t_r = "2.5"
    cleaning.fmriprep = True
    cleaning.strategy = ["wm_csf", "motion"]
    cleaning.fd_threshold = 0.4  # scrub's: not passed without scrub
    job = cls(**params.values())
    job._check_params()
    assert job.high_pass == 0.01 and job.t_r == 2.5
    assert job.confounds_strategy == ["motion", "wm_csf"] and job.confounds_params is None
    cleaning.strategy = ["motion", "scrub"]
    cleaning.motion = "basic"
    job = cls(**params.values())
    job._check_params()
    # only what differs from load_confounds' own defaults, as a script would pass it
    assert job.confounds_params == {"motion": "basic", "fd_threshold": 0.4}
    cleaning.strategy = []
    with pytest.raises(Exception, match="confounds_strategy"):
        cls(**params.values())._check_params()
    cleaning.fmriprep = False
    assert cls(**params.values()).confounds_strategy is None


def test_connectivity_form_offers_the_estimator_and_folds():
    from brainviz.backend import ConnectivityJob
    from brainviz.gui.jobs import _Params

    params = _Params(ConnectivityJob)
    assert list(params.trait("cov_estimator").handler.values) == ["ledoit_wolf", "empirical"]
    params.sparse_cv = "3"
    assert ConnectivityJob(**params.values()).sparse_cv == 3


def test_the_jobs_panel_offers_a_searchlight_form_with_its_radius():
    from brainviz.gui.jobs import JobsPanel, SearchlightForm
    from brainviz.model import Session

    panel = JobsPanel(session=Session())
    assert "searchlight" in panel.trait("kind").handler.values
    panel.kind = "searchlight"
    assert isinstance(panel.form, SearchlightForm)
    assert "radius" in panel.form.params.names and panel.form.params.radius == 6.0
    assert panel.form_problem.startswith("Load a 4D series")  # its inputs are the decoding form's


def test_the_confounds_panel_offers_what_the_installed_load_confounds_takes(monkeypatch):
    """An older nilearn's load_confounds has no tedana: the form offers it no parameter."""
    from brainviz.gui import jobs

    real = jobs._load_confounds_defaults()
    monkeypatch.setattr(jobs, "_load_confounds_defaults",
                        lambda: {k: v for k, v in real.items() if k != "tedana"})
    form = jobs.RegionForm()
    assert "tedana" not in form.cleaning._offered and "motion" in form.cleaning._offered
    form.cleaning.fmriprep = True
    form.cleaning.strategy = ["motion", "tedana"]
    form.cleaning.motion = "basic"  # observed: the form checks again
    assert form.params.values()["confounds_params"] == {"motion": "basic"}


@pytest.mark.parametrize("kind", ["regions", "connectivity"])
def test_a_multi_subject_form_ticks_each_series_added_and_drops_removed_ones(kind):
    """The resting-state demo adds three subjects one after another: only the first was
    ticked. Every series is ticked at first and each one added later; one the session no
    longer has is dropped; one the user unticked stays unticked."""
    import nibabel as nib
    import numpy as np

    from brainviz.data import load_volume
    from brainviz.gui.jobs import JobsPanel
    from brainviz.model import SeriesLayer, Session

    def series(name):
        data = np.random.default_rng(0).random((4, 4, 4, 10)).astype(np.float32)
        return SeriesLayer(name=name).set_volume(load_volume(nib.Nifti1Image(data, np.eye(4)),
                                                             name=name))

    session = Session()
    session.add_layer(series("sub 1"))
    panel = JobsPanel(session=session)
    panel.kind = kind
    form = panel.form
    assert form.subjects == ["sub 1"]
    for name in ("sub 2", "sub 3"):  # one after another, as the demo adds them
        session.add_layer(series(name))
    assert form.subjects == ["sub 1", "sub 2", "sub 3"]
    form.subjects = ["sub 1", "sub 3"]  # the user unticks subject 2
    session.add_layer(series("sub 4"))
    assert form.subjects == ["sub 1", "sub 3", "sub 4"]
    session.remove_layer("sub 3")
    assert form.subjects == ["sub 1", "sub 4"]
    form.subjects = []  # unticked all: stays so (a regions job's series can be enough)
    session.add_layer(series("sub 5"))
    assert form.subjects == ["sub 5"]


def test_connectivity_form_offers_the_shipped_coordinate_atlases_as_spheres():
    """With only 4D series loaded the form had no atlas to offer: a first connectome needed an
    atlas file or a regions job. It offers the shipped coordinate atlases (spheres of the
    job's radius), Power 2011 by default; a label image added later becomes the atlas."""
    import nibabel as nib
    import numpy as np

    from brainviz.data import load_volume
    from brainviz.gui.jobs import SPHERE_ATLASES, JobsPanel
    from brainviz.model import LabelLayer, SeriesLayer, Session

    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    data = np.random.default_rng(0).random((6, 6, 6, 20)).astype(np.float32)
    session = Session()
    session.add_layer(SeriesLayer(name="sub 1").set_volume(
        load_volume(nib.Nifti1Image(data, affine), name="sub 1")))
    panel = JobsPanel(session=session)
    panel.kind = "connectivity"
    form = panel.form
    assert form.atlas_names == list(SPHERE_ATLASES)
    assert form.atlas == "Power 2011 (264 spheres)" and form.validate() == ""
    args, kwargs = form.run_args()
    assert kwargs["coords"] == "power" and "atlas" not in kwargs and len(kwargs["imgs"]) == 1
    labels = np.zeros((6, 6, 6), np.int16)
    labels[:3], labels[3:] = 1, 2
    session.add_layer(LabelLayer(name="my atlas").set_volume(
        load_volume(nib.Nifti1Image(labels, affine), name="my atlas")))
    assert form.atlas == "my atlas" and form.atlas_names[0] == "my atlas"
    assert "atlas" in form.run_args()[1] and "coords" not in form.run_args()[1]
    form.atlas = "Dosenbach 2010 (160 spheres)"  # the user's choice stays
    assert form.run_args()[1]["coords"] == "dosenbach"
    session.remove_layer("my atlas")
    assert form.atlas == "Dosenbach 2010 (160 spheres)"


@pytest.mark.parametrize("kind", ["decoding", "searchlight", "regions", "connectivity"])
def test_every_form_offers_how_many_cores_its_job_uses(kind):
    """A searchlight on the decoding demo took a quarter of an hour on one core of two: the
    window ran every job with n_jobs=1 (or BRAINVIZ_N_JOBS) and no form offered more. Under
    Advanced, "Cores" is the job's n_jobs: empty for the default, 2, -1 for every core;
    0 is refused in the form's own line."""
    from brainviz.gui.jobs import JobsPanel
    from brainviz.model import Session

    panel = JobsPanel(session=Session())
    panel.kind = kind
    form = panel.form
    assert "n_jobs" in form.advanced_names()
    (item,) = [i for i in form.param_items(["n_jobs"])]
    assert item.label == "Cores" and item.tooltip.endswith("(n_jobs=...)")
    assert form.params.n_jobs == "" and form.params.values()["n_jobs"] is None
    for text, n_jobs in (("2", 2), ("-1", -1)):
        form.params.n_jobs = text
        assert form.make_job().n_jobs == n_jobs
    form.params.n_jobs = "0"
    with pytest.raises(Exception, match="n_jobs must be a non-zero integer"):
        form.make_job()
