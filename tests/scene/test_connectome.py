"""Connectome visual: input checks, thresholds, one polydata, restyling in place, pixels."""
import warnings

import numpy as np
import pytest

from brainviz.exceptions import (BrainvizWarning, DataValueError, DimensionError, EmptyOverlayWarning,
                                 ParameterError, ShapeMismatchError)
from brainviz.scene import _graph_input as gi

# Three nodes in the brain: left, right, front. Edge 0-1 strong positive,
# 0-2 strong negative, 1-2 weak positive.
COORDS = np.array([[-45.0, -10.0, 20.0], [45.0, -10.0, 20.0], [0.0, 50.0, 20.0]])
MATRIX = np.array([[0.0, 0.9, -0.8], [0.9, 0.0, 0.2], [-0.8, 0.2, 0.0]])


# ---------------------------------------------------------------- pure input rules
def test_check_graph_rejects_bad_shapes():
    with pytest.raises(DimensionError, match=r"matrix must be a square \(n, n\).*got shape \(3, 4\)"):
        gi.check_graph(np.zeros((3, 4)), COORDS)
    with pytest.raises(ShapeMismatchError, match="matrix is 2 x 2 but coords has 3 nodes"):
        gi.check_graph(np.zeros((2, 2)), COORDS)
    with pytest.raises(DimensionError, match=r"coords must be an \(n, 3\) array.*got shape \(3, 2\)"):
        gi.check_graph(MATRIX, COORDS[:, :2])
    with pytest.raises(DataValueError, match=r"coords must be finite; node\(s\) \[1\]"):
        gi.check_graph(MATRIX, np.where([[False] * 3, [True, False, False], [False] * 3], np.nan, COORDS))
    with pytest.raises(ShapeMismatchError, match=r"labels must have one entry per node \(3\); got 2"):
        gi.check_graph(MATRIX, COORDS, labels=["a", "b"])


def test_check_graph_symmetry_nan_and_inf():
    asym = MATRIX.copy()
    asym[0, 1] = 0.5
    with pytest.raises(DataValueError, match=r"matrix is not symmetric .*\[0, 1\].*pass directed=True"):
        gi.check_graph(asym, COORDS)
    m, _ = gi.check_graph(asym, COORDS, directed=True)
    assert m[0, 1] == 0.5 and m[1, 0] == 0.9
    inf = MATRIX.copy()
    inf[1, 2] = inf[2, 1] = np.inf
    with pytest.raises(DataValueError, match=r"infinite weights, e.g. at \[1, 2\]"):
        gi.check_graph(inf, COORDS)
    nan = MATRIX.copy()
    nan[0, 2] = nan[2, 0] = np.nan
    nan[1, 1] = np.nan  # the diagonal is ignored
    with pytest.warns(BrainvizWarning, match=r"matrix holds 1 NaN weight\(s\).*\[0, 2\].*drawn as no edge"):
        m, _ = gi.check_graph(nan, COORDS)
    assert m[0, 2] == 0 and m[1, 1] == 0
    i, j, w = gi.candidate_edges(m)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (1, 2)]


def test_candidate_edges_sorted_and_directed():
    i, j, w = gi.candidate_edges(MATRIX)
    assert w.tolist() == [0.2, -0.8, 0.9]  # by increasing |weight|
    d = np.array([[0, 1.0, 0], [0, 0, 0], [2.0, 0, 0]])
    i, j, w = gi.candidate_edges(d, directed=True)
    assert list(zip(i.tolist(), j.tolist(), w.tolist())) == [(0, 1, 1.0), (2, 0, 2.0)]


def test_resolve_threshold():
    assert gi.resolve_threshold(None, MATRIX) == 0.0
    assert gi.resolve_threshold(0.5, MATRIX) == 0.5
    # |upper triangle| = 0.9, 0.8, 0.2: the median is 0.8
    assert gi.resolve_threshold("50%", MATRIX) == pytest.approx(0.8)
    assert gi.resolve_threshold(" 100 % ", MATRIX) == pytest.approx(0.9)
    for bad, match in [("high", r"a percentile string such as '95%'; got 'high'"),
                       ("150%", r"within 0% and 100%; got '150%'"),
                       (-1, r"finite number >= 0 .*got -1"),
                       ([1], r"got \[1\]"),
                       (True, "got True")]:
        with pytest.raises(ParameterError, match=match):
            gi.resolve_threshold(bad, MATRIX)


def test_nodes_outside_brain_are_named():
    coords = np.vstack([COORDS, [[0.0, 0.0, 150.0]]])
    assert gi.nodes_outside_brain(coords).tolist() == [3]
    with pytest.warns(BrainvizWarning, match=r"1 node\(s\) lie outside the MNI brain: node 3 'far' at \(0.0, 0.0, 150.0\).*drawn anyway"):
        gi.warn_outside_brain(coords, ["a", "b", "c", "far"])


def test_resolve_node_colors_forms():
    from brainviz._resources import read_colormap

    palette = np.round(read_colormap("regions") * 255)
    rgba, legend = gi.resolve_node_colors("auto", 3, networks=["v", "d", "v"])
    assert list(legend) == ["v", "d"] and rgba[:, 3].tolist() == [255] * 3
    np.testing.assert_array_equal(rgba[:, :3], palette[[0, 1, 0]])
    rgba, legend = gi.resolve_node_colors("auto", 2, default=(0, 0, 1.0))
    assert legend == {} and rgba[:, :3].tolist() == [[0, 0, 255]] * 2
    # a tuple is one colour even for 3 nodes; a list of 3 numbers is one value per node
    assert gi.resolve_node_colors((1.0, 0.0, 0.0), 3)[0][:, :3].tolist() == [[255, 0, 0]] * 3
    values = gi.resolve_node_colors([0.0, 0.5, 1.0], 3, node_cmap="gray")[0]
    assert values[0, 0] == 0 and values[2, 0] == 255 and 120 < values[1, 0] < 135
    rows = gi.resolve_node_colors(np.eye(3), 3)[0]
    assert rows[:, :3].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    with pytest.raises(ParameterError, match="node_color 'nocolour' is not a colour"):
        gi.resolve_node_colors("nocolour", 3)


def test_style_checks():
    gi.check_node_size(3.0, 5)
    gi.check_node_size([1, 2, 3], 3)
    with pytest.raises(ParameterError, match="node_size must be a positive number of mm"):
        gi.check_node_size("big", 3)
    with pytest.raises(ParameterError, match="vmax must be None or a positive number; got -1"):
        gi.check_vmax(-1)
    gi.check_vmax(None)


# ---------------------------------------------------------------- rendering
RED = np.array([220, 40, 0])


@pytest.fixture
def fig():
    from mayavi import mlab

    mlab.options.offscreen = True
    figure = mlab.figure(size=(300, 300), bgcolor=(1, 1, 1))
    yield figure
    mlab.close(figure)


def _shot(fig):
    from mayavi import mlab

    fig.scene.render()
    return mlab.screenshot(figure=fig, mode="rgb", antialiased=False).astype(int)


def _count(img, predicate):
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return int(predicate(r, g, b).sum())


def _reddish(r, g, b):
    return (r > 150) & (b < 80)


def _bluish(r, g, b):
    return (b > 150) & (r < 80)


def _make(fig, **kwargs):
    from brainviz.scene.connectome import ConnectomeVisual
    from brainviz.scene.views import set_view

    kwargs.setdefault("node_color", "black")
    vis = ConnectomeVisual(MATRIX, COORDS, figure=fig, **kwargs)
    set_view(fig, "superior")
    return vis


@pytest.mark.render
def test_edges_coloured_by_sign_and_threshold_hides_them(fig):
    # a map without white ends (the default cold_hot is white at |weight| = max, as in nilearn)
    vis = _make(fig, edge_width=2.0, cmap="cyan_black_yellow")
    assert vis.n_edges_shown == 3 and vis.drawn_edge_mode == "tube"
    img = _shot(fig)
    assert _count(img, _reddish) > 200 and _count(img, _bluish) > 200
    edge_actor = vis.edge_actor
    vis.threshold = 0.85  # only the positive 0-1 edge is left
    assert vis.n_edges_shown == 1 and vis.threshold_value == 0.85
    img = _shot(fig)
    assert _count(img, _reddish) > 200 and _count(img, _bluish) < 20
    assert vis.edge_actor is edge_actor  # restyled in place
    vis.threshold = "50%"
    assert vis.n_edges_shown == 2
    assert _count(_shot(fig), _bluish) > 200


@pytest.mark.render
def test_threshold_hiding_everything_warns_and_draws_nothing(fig):
    vis = _make(fig)
    with pytest.warns(EmptyOverlayWarning, match=r"threshold=5.0 .*hides every edge; the largest \|weight\| is 0.9"):
        vis.threshold = 5.0
    assert vis.n_edges_shown == 0
    img = _shot(fig)
    assert _count(img, _reddish) == 0 and _count(img, _bluish) == 0
    assert _count(img, lambda r, g, b: (r < 100) & (g < 100) & (b < 100)) > 50  # black nodes still drawn
    from brainviz.scene.connectome import ConnectomeVisual

    with pytest.warns(EmptyOverlayWarning, match="no edge to draw"):
        ConnectomeVisual(MATRIX, COORDS, threshold=1.0, figure=fig)


@pytest.mark.render
def test_one_polydata_whatever_the_number_of_edges(fig):
    from brainviz.scene.connectome import ConnectomeVisual

    rng = np.random.default_rng(0)
    n = 40
    coords = rng.uniform(-40, 40, (n, 3)) + [0, -10, 15]
    m = rng.standard_normal((n, n))
    m = (m + m.T) / 2
    before = fig.scene.renderer.actors.__len__()
    vis = ConnectomeVisual(m, coords, figure=fig)
    assert vis.n_edges_shown == n * (n - 1) // 2
    # nodes + edges + labels + legend: 4 props for 780 edges
    assert len(fig.scene.renderer.view_props) - before <= 4
    assert vis._edge_pd.number_of_lines == n * (n - 1) // 2
    vis.threshold = "90%"
    assert vis._edge_pd.number_of_lines == vis.n_edges_shown == 78


@pytest.mark.render
def test_auto_mode_switches_between_tubes_and_lines(fig, monkeypatch):
    from brainviz.scene import connectome

    monkeypatch.setattr(connectome, "AUTO_TUBE_LIMIT", 2)
    vis = _make(fig)
    assert vis.drawn_edge_mode == "line"
    lines_shot = _shot(fig)
    vis.threshold = 0.85  # one edge left: tubes again, same actor
    assert vis.drawn_edge_mode == "tube"
    vis.threshold = None
    assert vis.drawn_edge_mode == "line"
    assert np.abs(_shot(fig) - lines_shot).sum() == 0
    with pytest.warns(EmptyOverlayWarning, match="no non-zero weight off the diagonal"):
        connectome.ConnectomeVisual(np.zeros((3, 3)), COORDS, figure=fig)


@pytest.mark.render
def test_node_colours_by_network_in_pixels(fig):
    from brainviz.scene.colors import qualitative_colors
    from brainviz.scene.picking import world_to_display

    with pytest.warns(EmptyOverlayWarning):
        vis = _make(fig, node_color="auto", networks=["DMN", "DMN", "Visual"], node_size=14, threshold=5.0)
    assert list(vis.network_colors) == ["DMN", "Visual"]
    palette = np.round(qualitative_colors(2) * 255)
    img = _shot(fig)
    disp = world_to_display(fig, COORDS)
    for k, expected in enumerate([palette[0], palette[0], palette[1]]):
        x, y = np.round(disp[k]).astype(int)
        pixel = img[img.shape[0] - 1 - y, x]
        assert np.abs(pixel - expected).max() < 40, (k, pixel, expected)
    # restyle: one colour for all nodes
    vis.node_color = (255, 0, 0)
    img = _shot(fig)
    x, y = np.round(disp[2]).astype(int)
    assert img[img.shape[0] - 1 - y, x].tolist()[0] > 200 and img[img.shape[0] - 1 - y, x].tolist()[2] < 60


@pytest.mark.render
def test_restyle_in_place_sizes_colormap_opacity_visibility_mode(fig):
    vis = _make(fig)
    actors = vis._actors()
    n_black = _count(_shot(fig), lambda r, g, b: (r < 60) & (g < 60) & (b < 60))
    vis.node_size = 20.0
    assert _count(_shot(fig), lambda r, g, b: (r < 60) & (g < 60) & (b < 60)) > 2 * n_black
    vis.node_size = [4.0, 4.0, 30.0]
    assert vis.bounds[4] == pytest.approx(20 - 15)
    vis.cmap = "Greens"
    img = _shot(fig)
    assert _count(img, _reddish) == 0 and _count(img, lambda r, g, b: (g > 100) & (g > r + 40)) > 100
    vis.edge_mode = "line"
    assert vis.drawn_edge_mode == "line"
    vis.opacity = 0.3
    assert vis.edge_actor.property.opacity == pytest.approx(0.3)
    vis.visible = False
    img = _shot(fig)
    assert (img > 250).all()  # nothing drawn on the white background
    vis.visible = True
    assert not (_shot(fig) > 250).all()
    assert vis._actors() == actors


@pytest.mark.render
def test_bad_restyle_values_raise(fig):
    vis = _make(fig)
    with pytest.raises(ParameterError, match="threshold must be a number >= 0 or a percentile"):
        vis.threshold = "lots"
    with pytest.raises(ParameterError, match="node_size must be a positive number of mm"):
        vis.node_size = -1
    with pytest.raises(ShapeMismatchError, match=r"node_size must have one entry per node \(3\); got 2"):
        vis.node_size = [1.0, 2.0]
    with pytest.raises(ParameterError, match="cmap .nope' is not a known colour map"):
        vis.cmap = "nope"
    with pytest.raises(ShapeMismatchError, match=r"node_color must be a colour or have one entry per node \(3\); got 5"):
        vis.node_color = ["a"] * 5
    assert vis.n_edges_shown == 3  # unchanged


@pytest.mark.render
def test_labels_toggle_and_outside_node_warning(fig):
    from brainviz.scene.connectome import ConnectomeVisual

    coords = np.vstack([COORDS[:2], [[0.0, 0.0, 160.0]]])
    with pytest.warns(BrainvizWarning, match=r"node 2 'PCC' at \(0.0, 0.0, 160.0\)"):
        vis = ConnectomeVisual(MATRIX, coords, labels=["L", "R", "PCC"], figure=fig)
    assert not vis.label_actor.visibility
    from brainviz.scene.views import set_view

    set_view(fig, "anterior")
    without = _shot(fig)
    vis.show_labels = True
    with_labels = _shot(fig)
    assert vis.label_actor.visibility
    assert np.abs(with_labels - without).sum() > 1000


@pytest.mark.render
def test_directed_graph_draws_arrows(fig):
    from brainviz.scene.connectome import ConnectomeVisual

    d = np.array([[0, 0.9, 0], [0, 0, 0], [-0.7, 0.5, 0]])
    with pytest.raises(DataValueError, match="not symmetric"):
        ConnectomeVisual(d, COORDS, figure=fig)
    vis = ConnectomeVisual(d, COORDS, directed=True, figure=fig, node_color="black")
    assert vis.n_edges_shown == 3 and vis.arrow_actor is not None
    assert sorted(zip(*[a.tolist() for a in vis.shown_edges()[:2]])) == [(0, 1), (2, 0), (2, 1)]
    from brainviz.scene.views import set_view

    set_view(fig, "superior")
    with_arrows = _count(_shot(fig), _reddish)
    vis.arrow_actor.visibility = False
    assert _count(_shot(fig), _reddish) < with_arrows  # the heads add red pixels near the targets


def test_only_nodes_draws_a_subset_and_puts_everything_back(fig):
    """A figure's panel leaves out part of a graph for one render: left-out nodes draw at
    size 0, edges (and arrow heads) only between kept nodes, labels hidden; then all is back."""
    from brainviz.scene.connectome import ConnectomeVisual

    d = np.array([[0, 0.9, 0], [0, 0, 0], [-0.7, 0.5, 0]])
    vis = ConnectomeVisual(d, COORDS, directed=True, figure=fig, show_labels=True,
                           labels=["a", "b", "c"])
    sizes = vis._node_size.to_array().copy()
    shown = vis._arrow_pd.point_data.get_array("shown").to_array().copy()
    with vis.only_nodes([True, True, False]):  # node 2 out: only 0 -> 1 stays
        assert vis._node_size.to_array().tolist() == [sizes[0], sizes[1], 0.0]
        assert vis._edge_pd.lines.number_of_cells == 1
        kept = vis._arrow_pd.point_data.get_array("shown").to_array()
        assert kept.sum() == 1 and kept[np.flatnonzero(shown)].sum() == 1
        assert not vis.label_actor.visibility
    assert (vis._node_size.to_array() == sizes).all()
    assert vis._edge_pd.lines.number_of_cells == 3
    assert (vis._arrow_pd.point_data.get_array("shown").to_array() == shown).all()
    assert vis.label_actor.visibility
    with pytest.raises(ValueError, match="one value per node"):
        with vis.only_nodes([True]):
            pass


@pytest.mark.render
def test_value_at_reports_edge_weight(fig):
    vis = _make(fig, edge_width=2.0)
    mid = (COORDS[0] + COORDS[2]) / 2
    out = vis.value_at(np.array([mid, [0.0, -90.0, -50.0]]))
    assert out[0] == pytest.approx(-0.8) and np.isnan(out[1])


@pytest.mark.render
@pytest.mark.slow
def test_example_script_renders_a_figure(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    script = Path(__file__).resolve().parents[2] / "examples" / "plot_connectome.py"
    out = tmp_path / "connectome.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    run = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, env=env,
                         timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "edges drawn" in run.stdout
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape[1] == 900
    # positive edges (orange/yellow) and negative ones (cyan/blue) are both visible
    assert _count(img, lambda r, g, b: (r > 200) & (g > 120) & (b < 60)) > 500
    assert _count(img, lambda r, g, b: (b > 180) & (r < 60)) > 200


@pytest.mark.render
def test_remove_takes_every_actor_out(fig):
    from brainviz.scene._figure import figure_visuals

    before = len(fig.scene.renderer.view_props)
    vis = _make(fig, show_labels=True)
    assert vis in figure_visuals(fig)
    assert len(fig.scene.renderer.view_props) == before + 4  # nodes, edges, labels, legend
    vis.remove()
    assert len(fig.scene.renderer.view_props) == before
    assert vis not in figure_visuals(fig)


@pytest.mark.render
def test_directed_edges_both_ways_are_drawn_side_by_side(fig):
    from brainviz.scene.connectome import ConnectomeVisual

    d = np.array([[0, 0.9, 0], [0.4, 0, 0], [0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nodes inside the brain, no NaN: no warning
        vis = ConnectomeVisual(d, COORDS, directed=True, edge_width=1.0, figure=fig)
    pts = vis._edge_pd.points.to_array().reshape(-1, 2, 3)
    i, j, _ = vis.shown_edges()
    forward, backward = pts[list(zip(i, j)).index((0, 1))], pts[list(zip(i, j)).index((1, 0))]
    # same direction of travel reversed, 2 x 1.3 mm apart, both off the node centres
    gap = np.linalg.norm(forward[0] - backward[1])
    assert gap == pytest.approx(2.6, abs=1e-6)
    assert np.linalg.norm(forward[0] - COORDS[0]) == pytest.approx(1.3, abs=1e-6)


@pytest.mark.render
def test_network_legend_toggles(fig):
    with pytest.warns(EmptyOverlayWarning):
        vis = _make(fig, node_color="auto", networks=["DMN", "DMN", "Visual"], threshold=5.0)
    assert vis.legend_actor.number_of_entries == 2 and not vis.legend_actor.visibility
    without = _shot(fig)
    vis.show_legend = True
    with_legend = _shot(fig)
    changed = np.any(with_legend != without, axis=-1)
    rows, cols = np.nonzero(changed)
    # drawn in the lower-left corner
    assert changed.sum() > 30 and rows.min() > 150 and cols.max() < 150
    vis.node_color = "black"  # one colour: nothing to explain
    assert vis.legend_actor.number_of_entries == 0 and not vis.legend_actor.visibility


def test_outside_brain_check_is_cached_on_disk_and_skips_nilearn(tmp_path, monkeypatch):
    """The window's start-up should not import nilearn just to check node positions."""
    import subprocess
    import sys

    monkeypatch.setenv("BRAINVIZ_DATA_DIR", str(tmp_path / "demo_data"))

    code = (
        "import sys, numpy as np\n"
        "from brainviz.scene._graph_input import nodes_outside_brain\n"
        "out = nodes_outside_brain(np.array([[0., 0., 0.], [-40., -20., 50.], [0., 0., 200.]]))\n"
        "print(out.tolist(), 'nilearn' in sys.modules)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split("\n")[-2] for _ in range(2)]
    assert runs[0] == "[2] True"  # first use: computed from nilearn's mask
    assert runs[1] == "[2] False"  # then read back from the demo-data folder
    assert len(list((tmp_path / "demo_data" / "brain_masks_v2").glob("*.npz"))) == 1


def _text_of(polydata):
    names = polydata.point_data.get_abstract_array("text")
    return names.get_value(0).strip()


@pytest.mark.render
def test_a_highlighted_edge_between_near_nodes_has_one_readable_label(fig):
    """The strongest edges often join neighbours: a name at each node and the weight at
    the middle were written over each other ("PowerPower 213"). The edge's label is one
    line at its middle, both names and the weight, drawn in the highlight's green."""
    from brainviz.scene.connectome import ConnectomeVisual
    from brainviz.scene.views import set_view

    coords = np.array([[-40.0, -10.0, 20.0], [40.0, -10.0, 20.0], [44.0, -6.0, 22.0]])
    matrix = np.array([[0.0, 0.1, 0.2], [0.1, 0.0, 0.7], [0.2, 0.7, 0.0]])
    vis = ConnectomeVisual(matrix, coords, labels=["left", "Power 208", "Power 213"],
                           node_color="black", figure=fig)
    set_view(fig, "superior")
    vis.highlight = (1, 2)
    text = vis._hl_text_pd
    assert text.number_of_points == 1
    np.testing.assert_allclose(text.points.to_array()[0], coords[[1, 2]].mean(axis=0))
    assert _text_of(text) == "Power 208 - Power 213: 0.7" == vis.highlight_text()
    img = _shot(fig)
    green = _count(img, lambda r, g, b: (r < 40) & (g > 60) & (g < 130) & (b < 50))
    # near the view's right edge the label runs leftwards from its point, into the view
    # (it ran off the edge: "Power" and no more)
    prop = vis._hl_text_mapper.label_text_property
    assert prop.justification == "right"
    assert green > 200
    seen = img[..., 1] > 60
    text_cols = np.flatnonzero(((img[..., 0] < 40) & seen & (img[..., 2] < 50)).any(axis=0))
    assert text_cols.max() < img.shape[1] - 2  # nothing of it at the edge
    set_view(fig, "inferior")  # seen from below the right hemisphere is on the left
    _shot(fig)
    assert prop.justification == "left"
    vis.highlight = (2, -1)  # a node alone: its name at the node
    assert text.number_of_points == 1
    assert _text_of(text) == "Power 213"
    np.testing.assert_allclose(text.points.to_array()[0], coords[2])
    renderer = fig.scene.renderer
    observers = renderer.has_observer("StartEvent")
    vis.remove()  # its renderer observer goes with it
    assert vis._hl_observer is None and observers
