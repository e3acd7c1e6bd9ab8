"""Picking: pure nearest node/edge, world-to-display, pick_at on a rendered connectome, callbacks."""
import numpy as np
import pytest

from brainviz.exceptions import ParameterError, SceneError
from brainviz.scene.picking import PickInfo, nearest_edge, nearest_node

COORDS = np.array([[-45.0, -10.0, 20.0], [45.0, -10.0, 20.0], [0.0, 50.0, 20.0]])
MATRIX = np.array([[0.0, 0.9, -0.8], [0.9, 0.0, 0.2], [-0.8, 0.2, 0.0]])


def test_nearest_node_pure():
    coords = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0]])
    assert nearest_node((9, 1, 0), coords) == 1
    assert nearest_node((9, 1, 0), coords, max_distance=1.0) is None
    idx, dist = nearest_node((0, 8, 0), coords, return_distance=True)
    assert idx == 2 and dist == pytest.approx(2.0)
    # per-node reach: only node 0 has a large radius
    assert nearest_node((5, 4, 0), coords, max_distance=[10.0, 1.0, 1.0]) == 0
    assert nearest_node((1, 1), np.zeros((0, 2))) is None
    with pytest.raises(ParameterError, match=r"coords must be an \(n, d\) array"):
        nearest_node((0, 0), [1, 2])


def test_nearest_edge_pure():
    coords = np.array([[0.0, 0], [10, 0], [0, 10]])
    edges = [(0, 1), (0, 2), (1, 2)]
    assert nearest_edge((5, -1), coords, edges) == 0
    assert nearest_edge((-1, 5), coords, edges) == 1
    idx, dist = nearest_edge((6, 6), coords, edges, return_distance=True)
    assert idx == 2 and dist == pytest.approx(np.sqrt(2))
    # beyond the segment's end the distance is to the end point, not the infinite line
    idx, dist = nearest_edge((20, 0), coords, [(0, 1)], return_distance=True)
    assert dist == pytest.approx(10.0)
    assert nearest_edge((20, 0), coords, [(0, 1)], max_distance=5) is None
    assert nearest_edge((0, 0), coords, np.zeros((0, 2), int)) is None
    with pytest.raises(ParameterError, match=r"edges refer to node indices outside 0..2"):
        nearest_edge((0, 0), coords, [(0, 3)])


@pytest.fixture
def scene():
    from mayavi import mlab

    from brainviz.scene.connectome import ConnectomeVisual
    from brainviz.scene.views import set_view

    mlab.options.offscreen = True
    fig = mlab.figure(size=(300, 300), bgcolor=(1, 1, 1))
    vis = ConnectomeVisual(MATRIX, COORDS, labels=["L", "R", "F"], node_size=10, edge_width=2.0, figure=fig)
    set_view(fig, "superior")
    fig.scene.render()
    yield fig, vis
    mlab.close(fig)


class _ConstantLayer:
    """A stand-in for a volume layer: value = x coordinate inside |x| < 60 mm, NaN outside."""

    name = "x map"

    def value_at(self, xyz):
        xyz = np.atleast_2d(xyz)
        return np.where(np.abs(xyz[:, 0]) < 60, xyz[:, 0], np.nan)


@pytest.mark.render
def test_world_to_display_matches_vtk(scene):
    from brainviz.scene.picking import world_to_display

    fig, _ = scene
    ours = world_to_display(fig, COORDS)
    ren = fig.scene.renderer
    for point, got in zip(COORDS, ours):
        ren.world_point = tuple(point) + (1.0,)
        ren.world_to_display()
        np.testing.assert_allclose(got, ren.display_point[:2], atol=1e-6)
    # superior view, neurological: the left node is on the left of the image
    assert ours[0, 0] < 150 < ours[1, 0]


@pytest.mark.render
def test_pick_at_a_node_gives_node_position_and_layer_values(scene):
    from brainviz.scene.picking import pick_at, world_to_display

    fig, vis = scene
    disp = world_to_display(fig, COORDS)
    info = pick_at(fig, disp[0] + [2, 1], layers=[vis, _ConstantLayer()])
    assert isinstance(info, PickInfo)
    assert info.node == (0, "L", (-45.0, -10.0, 20.0))
    assert info.edge is None
    assert info.position_mm == (-45.0, -10.0, 20.0)
    assert info.values == {"x map": pytest.approx(-45.0)}
    # by default the figure's brainviz visuals are searched
    assert pick_at(fig, disp[2]).node[1] == "F"


@pytest.mark.render
def test_pick_at_an_edge_gives_its_weight_and_the_surface_point(scene):
    from brainviz.scene.picking import pick_at, world_to_display

    fig, vis = scene
    mid = (COORDS[0] + COORDS[2]) / 2
    info = pick_at(fig, world_to_display(fig, mid)[0], layers=[vis, _ConstantLayer()])
    assert info.node is None
    assert info.edge == (0, 2, pytest.approx(-0.8))
    # the cell picker hit the tube surface, within a tube radius of the axis
    assert info.position_mm is not None
    assert np.linalg.norm(np.subtract(info.position_mm, mid)) < 3.0
    assert info.values["x map"] == pytest.approx(info.position_mm[0])
    # hidden by the threshold: no edge any more
    vis.threshold = 0.85
    info = pick_at(fig, world_to_display(fig, mid)[0], layers=[vis])
    assert info.edge is None


@pytest.mark.render
def test_pick_in_empty_space(scene):
    from brainviz.scene.picking import pick_at

    fig, _ = scene
    info = pick_at(fig, (3, 3))
    assert info == PickInfo(None, {}, None, None)
    with pytest.raises(ParameterError, match=r"display_xy must be two finite pixel coordinates"):
        pick_at(fig, (1, 2, 3))


class _Clicker:
    """Sends button events as an enabled interactor does (an offscreen one is not enabled)."""

    def __init__(self, interactor):
        self._interactor = interactor

    def __setattr__(self, name, value):
        if name == "event_position":
            self._interactor.event_position = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        side, _, kind, _ = name.split("_")
        events = [f"{side.title()}Button{kind.title()}Event"]
        if kind == "release":
            # what a camera style holding the focus sends instead of the release
            events.append("EndInteractionEvent")
        return lambda: [self._interactor.invoke_event(e) for e in events]


@pytest.mark.render
def test_on_pick_callback_receives_pickinfo(scene):
    from brainviz.scene.picking import on_pick, remove_pick_callbacks, world_to_display

    fig, vis = scene
    got = []
    on_pick(fig, got.append)
    x, y = np.round(world_to_display(fig, COORDS[1])[0]).astype(int)
    interactor = _Clicker(fig.scene.interactor)
    # a click: press and release at the same place
    interactor.event_position = (int(x), int(y))
    interactor.left_button_press_event()
    interactor.left_button_release_event()
    assert len(got) == 1 and got[0].node[:2] == (1, "R")
    # a drag is not a click
    interactor.left_button_press_event()
    interactor.event_position = (int(x) + 20, int(y))
    interactor.left_button_release_event()
    assert len(got) == 1
    remove_pick_callbacks(fig)
    interactor.left_button_press_event()
    interactor.left_button_release_event()
    assert len(got) == 1
    # the returned function removes one callback
    remove = on_pick(fig, got.append, button="Right")
    interactor.right_button_press_event()
    interactor.right_button_release_event()
    assert len(got) == 2
    remove()
    interactor.right_button_press_event()
    interactor.right_button_release_event()
    assert len(got) == 2
    with pytest.raises(ParameterError, match="callback must be callable"):
        on_pick(fig, "not callable")
    with pytest.raises(SceneError, match="figure must be an open Mayavi figure"):
        on_pick(object(), got.append)


@pytest.mark.render
def test_pick_on_a_stat_map_slice_reports_its_value(img_3d):
    """Integration with a volume visual: the click lands on the axial slice through the cursor."""
    from mayavi import mlab

    from brainviz.scene.picking import pick_at, world_to_display
    from brainviz.scene.statmap import StatMapVisual
    from brainviz.scene.views import set_view

    mlab.options.offscreen = True
    fig = mlab.figure(size=(300, 300), bgcolor=(1, 1, 1))
    try:
        stat = StatMapVisual(img_3d, threshold=0.0, figure=fig, name="zmap")
        stat.cursor = (-1.0, 0.0, 2.0)
        set_view(fig, "superior")
        target = np.array([0.0, -3.0, 2.0])  # inside the (7, 8, 9) grid, on the axial slice
        info = pick_at(fig, world_to_display(fig, target)[0])
        assert info.node is None and info.edge is None
        assert info.position_mm is not None
        # the picked point is on the slice near the target (a voxel's worth of display rounding)
        assert np.abs(np.subtract(info.position_mm, target)).max() < 2.0
        assert set(info.values) == {"zmap"}
        assert info.values["zmap"] == pytest.approx(float(stat.value_at(np.array(info.position_mm))))
        assert np.isfinite(info.values["zmap"])
    finally:
        mlab.close(fig)
