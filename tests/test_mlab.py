"""brainviz.mlab: every function's docstring example runs offscreen; mixing with mayavi.mlab."""
import doctest
import warnings

import numpy as np
import pytest

import brainviz.mlab as bv
from brainviz.data import load_motor_activation
from brainviz.exceptions import EmptyOverlayWarning, ParameterError
from brainviz.scene.binding import binding_for

pytestmark = pytest.mark.render


@pytest.fixture(autouse=True)
def offscreen():
    from mayavi import mlab

    old = mlab.options.offscreen
    mlab.options.offscreen = True
    yield mlab
    mlab.close(all=True)
    mlab.options.offscreen = old


@pytest.mark.parametrize("name", bv.__all__)
def test_docstring_example_runs(name):
    func = getattr(bv, name)
    doc = func.__doc__ or ""
    assert "Examples\n    --------" in doc, f"brainviz.mlab.{name} has no Examples section"
    assert "Parameters" in doc or name == "show"
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(func, f"brainviz.mlab.{name}", globs={})
    assert tests and tests[0].examples, f"no runnable example in brainviz.mlab.{name}"
    for test in tests:
        # an example draws something: a figure it leaves empty warns, and fails here
        with warnings.catch_warnings():
            warnings.simplefilter("error", EmptyOverlayWarning)
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) of brainviz.mlab.{name} failed"


def test_mix_with_mayavi_mlab_and_restyle_in_place(offscreen):
    from brainviz.data import load_motor_activation
    from brainviz.scene._figure import screenshot

    fig = bv.figure(size=(150, 150))
    a = bv.anatomy(cursor=(-38, -20, 58))
    m = bv.stat_map(load_motor_activation(), threshold=3)  # current figure: fig
    assert bv.session(fig).layers == [a, m]
    binding = binding_for(fig)
    # a plain mayavi.mlab marker in the same figure
    pts = offscreen.points3d([0], [0], [100], scale_factor=10, color=(0, 1, 0), figure=fig)
    bv.view("superior", figure=fig)
    img = screenshot(fig)
    green = (img[..., 1].astype(int) - img[..., 0] > 100) & (img[..., 2] < 80)
    assert green.any()  # the mayavi.mlab marker
    hot_before = ((img[..., 0].astype(int) - img[..., 2]) > 100).sum()
    visual = binding.visual_for(m)
    lut = visual.lut
    m.threshold = 7.5
    img = screenshot(fig)
    hot_after = ((img[..., 0].astype(int) - img[..., 2]) > 100).sum()
    assert hot_after < hot_before
    assert binding.visual_for(m) is visual and visual.lut is lut  # restyled, not rebuilt
    bv.cursor((0, 0, 0))
    np.testing.assert_allclose(visual.cursor, (0, 0, 0))  # every slice follows the cursor
    np.testing.assert_allclose(binding.visual_for(a).cursor, (0, 0, 0))
    del pts


def test_colorbar_needs_a_colour_mapped_visual():
    fig = bv.figure(size=(100, 100))
    a = bv.anatomy(figure=fig)
    with pytest.raises(ParameterError, match="colorbar\\(\\) needs a layer with a colour map"):
        bv.colorbar(a)


def test_figures_use_fxaa_and_exports_still_multisample(tmp_path):
    """Interactive frames use FXAA (4x multisampling is too slow in software);
    savefig anti-aliases the written image itself and restores the window."""
    from PIL import Image

    fig = bv.figure(size=(120, 120))
    assert fig.scene.render_window.multi_samples == 0
    assert fig.scene.renderer.use_fxaa
    bv.glass_brain(load_motor_activation(), threshold=3, figure=fig)  # not empty: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyOverlayWarning)
        out = bv.savefig(tmp_path / "aa.png", figure=fig)
    pixels = np.asarray(Image.open(out).convert("L"), dtype=int)
    assert pixels.shape == (120, 120)
    assert len(np.unique(pixels)) > 8  # smooth edges, not just two levels
    assert fig.scene.render_window.multi_samples == 0
    assert fig.scene.renderer.use_fxaa
