"""The joint between model and scene, without Qt: layers bind to visuals by type, every display
trait has a handler that changes the pixels, the cursor is session state every slice follows."""
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainviz import model
from brainviz.exceptions import EmptyOverlayWarning
from brainviz.scene.binding import LAYER_VISUALS, bind, binding_for, draw_session, visual_class_for

pytestmark = pytest.mark.render

# --------------------------------------------------------------------------- small data
_AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])
_AFFINE[:3, 3] = (-38.0, -46.0, -38.0)  # 20 x 24 x 20 voxels centred on (0, 0, 0)
_SHAPE = (20, 24, 20)


def _grid():
    ijk = np.indices(_SHAPE).reshape(3, -1).T
    return nib.affines.apply_affine(_AFFINE, ijk).reshape(*_SHAPE, 3)


def _head():
    xyz = _grid()
    r = np.sqrt(((xyz / (36.0, 44.0, 36.0)) ** 2).sum(-1))
    return np.where(r < 1, 40 + 60 * (1 - r) + 10 * (xyz[..., 0] > 0), 0).astype(np.float32)


def _blobs():
    """+6 around (18, 0, 8), -5 around (-18, 0, 8): a two-sided map."""
    xyz = _grid()
    pos = np.exp(-((xyz - (18, 0, 8)) ** 2).sum(-1) / 150) * 6
    neg = np.exp(-((xyz - (-18, 0, 8)) ** 2).sum(-1) / 150) * -5
    return (pos + neg).astype(np.float32)


def _img(data):
    return nib.Nifti1Image(data, _AFFINE)


def _volume(data, name):
    from brainviz.data import load_volume

    return load_volume(_img(data), name=name)


def _octahedron():
    from brainviz.data import Surface

    v = 40.0 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    f = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5],
                  [0, 3, 5]])
    mesh = Surface(v, f, data={"values": [5.0, -2.0, 1.0, 0, 3.0, 0],
                               "sulc": [1.0, -1.0, 0.5, -0.5, 0, 0]},
                   name="octahedron", geometry="mesh")
    mesh.add_geometry("inflated", v * [1.0, 0.6, 1.2])
    return mesh


def make_layer(cls):
    """A small layer of each kind, named after its class."""
    if cls is model.AnatomyLayer:
        return cls(name="anat").set_volume(_volume(_head(), "anat"))
    if cls is model.SeriesLayer:
        frames = np.stack([_head(), _head()[::-1] * 1.5, _head() * 0.2], axis=-1)
        return cls(name="series").set_volume(_volume(frames, "series"))
    if cls is model.StatMapLayer:
        # two frames: the blobs, then the blobs moved and weaker (frame 1 looks different)
        frames = np.stack([_blobs(), np.roll(_blobs(), 4, axis=1) * 0.6], axis=-1)
        return cls(name="zmap", threshold=1.0).set_volume(_volume(frames, "zmap"))
    if cls is model.MaskLayer:
        return cls(name="mask", opacity=1.0).set_volume(
            _volume((np.abs(_blobs()) > 1).astype(np.float32), "mask"))
    if cls is model.LabelLayer:
        labels = (np.where(_blobs() > 1, 1, 0) + np.where(_blobs() < -1, 2, 0)).astype(np.float32)
        layer = cls(name="labels").set_volume(_volume(labels, "labels"))
        layer.names = {1: "right blob", 2: "left blob"}
        return layer
    if cls is model.ComponentsLayer:
        b = _blobs()
        comps = np.stack([np.clip(b, 0, None), np.clip(-b, 0, None), np.clip(b, 0, None) * 0.4],
                         axis=-1)
        return cls(name="components").set_volume(_volume(comps, "components"))
    if cls is model.ConnectomeLayer:
        coords = np.array([[-40, 0, 20], [40, 0, 20], [0, 40, 10], [0, -50, 20.0]])
        m = np.array([[0, 0.9, -0.4, 0.2], [0.9, 0, 0.3, -0.7], [-0.4, 0.3, 0, 0.5],
                      [0.2, -0.7, 0.5, 0]])
        return cls(name="graph").set_graph(m, coords, ["a", "b", "c", "d"],
                                           networks=["n1", "n1", "n2", "n2"])
    if cls is model.SurfaceLayer:
        return cls(name="surface", threshold=0.5).set_surfaces([_octahedron()])
    if cls is model.GlassBrainLayer:
        return cls(name="glass", opacity=0.3).set_volume(_volume(_blobs() * 2, "blobs"))
    raise AssertionError(f"no test data for {cls.__name__}")


#: For every display trait of every layer class: a value that must change the picture, and
#: the settings it needs to show (a colour bar's title needs the colour bar).
CHANGES = {
    model.AnatomyLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("hot", {}),
        "vmin": (80.0, {}), "vmax": (45.0, {}), "show_slices": (False, {}),
    },
    model.StatMapLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("viridis", {}),
        "threshold": (4.0, {}), "vmin": (-1.0, {"symmetric": False}), "vmax": (2.0, {}),
        "symmetric": (False, {}), "two_sided": (False, {}), "show_slices": (False, {}),
        "show_isosurface": (True, {}), "isosurface_opacity": (0.3, {"show_isosurface": True}),
        "show_colorbar": (True, {}), "colorbar_title": ("z score", {"show_colorbar": True}),
        "neg_cmap": ("Greens", {}), "frame": (1, {}),
    },
    model.MaskLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("Reds", {}),
        "show_slices": (False, {}),
    },
    model.LabelLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("Set1", {}), "region": (1, {}),
        "show_legend": (False, {}),
    },
    model.ConnectomeLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("RdBu_r", {}),
        "threshold": ("90%", {}), "vmax": (0.35, {}), "node_size": (14.0, {}),
        "edge_width": (3.0, {}), "edge_mode": ("line", {}), "show_nodes": (False, {}),
        "show_labels": (True, {}), "show_legend": (True, {}), "highlight": ((0, 3), {}),
        "show_in_2d": (False, {}),  # the 2D views' alone (test_2d_views_project_a_graph...)
    },
    model.SurfaceLayer: {
        "visible": (False, {}), "opacity": (0.3, {}), "cmap": ("viridis", {}),
        "threshold": (4.0, {}), "vmin": (-1.0, {"symmetric": False}), "vmax": (2.0, {}),
        "symmetric": (False, {}), "two_sided": (False, {}), "mesh": ("inflated", {}),
        "surface_opacity": (0.3, {}), "show_colorbar": (True, {}),
        "colorbar_title": ("t value", {"show_colorbar": True}),
    },
    model.GlassBrainLayer: {
        "visible": (False, {}), "opacity": (0.8, {}), "color": ((0.9, 0.2, 0.2), {}),
        "shell": ("pial", {}), "threshold": (9.0, {}), "cmap": ("viridis", {}),
        "vmax": (3.0, {}), "show_colorbar": (True, {}),
        "colorbar_title": ("z", {"show_colorbar": True}),
    },
}
CHANGES[model.SeriesLayer] = dict(CHANGES[model.AnatomyLayer], frame=(1, {}))
CHANGES[model.ComponentsLayer] = dict(CHANGES[model.LabelLayer], threshold=(4.0, {}))


@pytest.fixture
def offscreen():
    from mayavi import mlab

    old = mlab.options.offscreen
    mlab.options.offscreen = True
    yield mlab
    mlab.close(all=True)
    mlab.options.offscreen = old


def _shot(figure):
    from brainviz.scene._figure import screenshot

    return screenshot(figure).astype(int)


# --------------------------------------------------------------------------- registry
def test_every_layer_trait_has_a_handler_in_its_visual():
    """No silent no-op can exist: each display trait names an attribute of its visual."""
    assert set(model.LAYER_TYPES.values()) == set(CHANGES)
    for cls in model.LAYER_TYPES.values():
        visual_cls = visual_class_for(cls)
        for name in cls.display_trait_names():
            assert name in visual_cls.layer_handlers, f"{cls.__name__}.{name} has no handler"
            handler = visual_cls.layer_handlers[name]
            is_trait = visual_cls.class_traits().get(handler) is not None
            assert is_trait or callable(getattr(visual_cls, handler, None)), \
                f"{visual_cls.__name__} has no {handler!r} for {cls.__name__}.{name}"


def test_layers_bind_to_visuals_by_type_along_the_mro():
    from brainviz.scene.statmap import StatMapVisual
    from brainviz.scene.volume import SeriesVisual

    class ThresholdedTMap(model.StatMapLayer):
        label = "t map"

    assert visual_class_for(ThresholdedTMap) is StatMapVisual  # no entry of its own
    assert visual_class_for(model.SeriesLayer) is SeriesVisual  # its own, not its parent's
    assert model.StatMapLayer in LAYER_VISUALS

    class Unknown(model.Layer):
        pass

    with pytest.raises(TypeError, match="No visual draws Unknown layers"):
        visual_class_for(Unknown)


@pytest.mark.slow
@pytest.mark.parametrize("cls", list(CHANGES), ids=lambda c: c.__name__)
def test_every_display_trait_changes_the_pixels(offscreen, cls):
    """Each control the window offers for a layer (its display traits) changes the picture."""
    from brainviz.session import camera_from_angles

    assert set(CHANGES[cls]) == set(cls.display_trait_names()), "a display trait has no test value"
    layer = make_layer(cls)
    session = model.Session()
    session.add_layer(layer)
    session.move_cursor((4.0, 4.0, 8.0))
    figure, binding = draw_session(session, size=(220, 200), view=None)
    binding.apply_camera(camera_from_angles(-60, 55, 380, 0, (0, 0, 5)))
    visual = binding.visual_for(layer)
    for name, (value, needs) in CHANGES[cls].items():
        saved = {key: getattr(layer, key) for key in (name, *needs)}
        layer.trait_set(**needs)
        before = _shot(figure)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyOverlayWarning)
            setattr(layer, name, value)
        after = _shot(figure)
        changed = (np.abs(after - before).max(axis=-1) > 30).sum()
        if name in getattr(type(visual), "two_d_only", ()):  # the 2D views' setting
            assert changed == 0, f"{cls.__name__}.{name} changed the 3D scene"
        else:
            assert changed > 15, f"{cls.__name__}.{name} = {value!r} changed {changed} pixels"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyOverlayWarning)
            layer.trait_set(**saved)
        if name not in ("shell",):
            assert binding.visual_for(layer) is visual  # restyled in place, never rebuilt


# --------------------------------------------------------------------------- cursor
def _slice_positions(visual):
    return np.array([plane.position for plane in visual.slices])


@pytest.mark.parametrize("map_first", [True, False], ids=["map then anatomy", "anatomy then map"])
def test_every_slice_follows_the_cursor_whatever_the_order(offscreen, map_first):
    """The old defect: a map opened before its anatomy stayed at (0, 0, 0) when the cursor moved."""
    stat, anat = make_layer(model.StatMapLayer), make_layer(model.AnatomyLayer)
    session = model.Session()
    figure, binding = draw_session(session, size=(120, 120))
    for layer in ((stat, anat) if map_first else (anat, stat)):
        session.add_layer(layer)
    session.move_cursor((12.0, -8.0, 20.0))
    for layer in (stat, anat):
        np.testing.assert_allclose(binding.visual_for(layer).cursor, (12, -8, 20))
    np.testing.assert_allclose(_slice_positions(binding.visual_for(anat)), (12, -8, 20))
    # the map sits a hair in front of the opaque anatomy slices, and behind them
    assert binding.visual_for(stat).over_anatomy
    np.testing.assert_allclose(_slice_positions(binding.visual_for(stat)), (12.1, -7.9, 20.1))
    # removing the anatomy does not stop the map
    session.remove_layer(anat)
    session.move_cursor((-20.0, 4.0, 0.0))
    map_visual = binding.visual_for(stat)
    assert not map_visual.over_anatomy
    np.testing.assert_allclose(_slice_positions(map_visual), (-20, 4, 0))
    assert all(not ipw.visible for ipw in map_visual.back_slices)


def test_a_paused_binding_catches_up_once_on_resume(offscreen):
    """A view the window hides does no work per cursor move or frame; shown again it has
    the latest cursor and display settings, as if it had followed all along."""
    stat = make_layer(model.StatMapLayer)
    session = model.Session()
    session.add_layer(stat)
    _, binding = draw_session(session, size=(100, 100))
    visual = binding.visual_for(stat)
    session.move_cursor((4.0, 4.0, 4.0))
    binding.pause()
    calls = []
    original = visual.apply_layer_trait
    visual.apply_layer_trait = lambda layer, name: calls.append(name) or original(layer, name)
    for k in range(5):
        session.move_cursor((float(k), -8.0, 20.0))
        stat.threshold = 1.0 + k / 10
    np.testing.assert_allclose(visual.cursor, (4, 4, 4))  # nothing applied while paused
    assert calls == []
    binding.resume()
    np.testing.assert_allclose(visual.cursor, (4, -8, 20))
    assert calls == ["threshold"]  # once, with the last value
    assert visual.threshold == pytest.approx(1.4)
    session.move_cursor((1.0, 2.0, 3.0))  # and it follows again
    np.testing.assert_allclose(visual.cursor, (1, 2, 3))


def test_cursor_must_be_finite():
    from brainviz.exceptions import ParameterError

    with pytest.raises(ParameterError, match="three finite numbers"):
        model.Session().move_cursor((np.nan, 0, 0))


# --------------------------------------------------------------------------- one threshold
def test_a_connectome_has_one_threshold(offscreen):
    """The old defect: a 0.468 slider and a '98%' box, the scene drawing the 98th percentile."""
    layer = make_layer(model.ConnectomeLayer)
    layer.threshold = "60%"
    session = model.Session()
    session.add_layer(layer)
    _, binding = draw_session(session, size=(100, 100))
    visual = binding.visual_for(layer)
    m = layer.data["matrix"]
    expected = np.percentile(np.abs(m[np.triu_indices(4, 1)]), 60)
    assert visual.threshold_value == pytest.approx(expected)
    assert layer.threshold_number == pytest.approx(expected)  # what the slider shows
    layer.threshold_number = 0.45  # the slider sets the one threshold
    assert layer.threshold == 0.45 and visual.threshold_value == 0.45
    assert visual.n_edges_shown == int((np.abs(m[np.triu_indices(4, 1)]) >= 0.45).sum())
    assert "edge_percentile" not in model.ConnectomeLayer.class_trait_names()


# --------------------------------------------------------------------------- scripting door
def test_a_script_made_map_is_a_layer_and_survives_a_session_round_trip(offscreen, tmp_path):
    import brainviz.mlab as bv
    from brainviz.session import read_session, save_session

    fig = bv.figure(size=(160, 140))
    m = bv.stat_map(_img(_blobs()), threshold=2.5, cmap="RdBu_r", colorbar=True, figure=fig)
    g = bv.connectome(make_layer(model.ConnectomeLayer).data["matrix"],
                      make_layer(model.ConnectomeLayer).data["coords"], edge_threshold="50%",
                      figure=fig)
    bv.cursor((10, 0, 8), figure=fig)
    bv.view("superior", figure=fig)
    session = bv.session(fig)
    assert session.layers == [m, g] and binding_for(fig).visual_for(m) is not None
    with pytest.raises(TypeError, match="unexpected keyword argument 'treshold'; it accepts"):
        bv.stat_map(_img(_blobs()), treshold=3, figure=fig)
    path = save_session(session, tmp_path / "scene.json")
    assert (tmp_path / "scene_data").is_dir()  # the in-memory map written beside it
    again, missing = read_session(path)
    assert missing == []
    assert [type(lay) for lay in again.layers] == [model.StatMapLayer, model.ConnectomeLayer]
    assert again.layers[0].display_settings() == m.display_settings()
    assert again.layers[1].threshold == "50%"
    np.testing.assert_allclose(again.layers[0].data.get_data(), _blobs())
    assert again.cursor == (10.0, 0.0, 8.0) and again.camera == session.camera
    # drawn again, the same picture
    before = _shot(fig)
    fig2, _ = draw_session(again, size=(160, 140))
    np.testing.assert_array_equal(_shot(fig2), before)


def test_session_files_of_version_1_are_read(tmp_path):
    import json

    from brainviz.session import read_session

    path = tmp_path / "zmap.nii.gz"
    nib.save(_img(_blobs()), path)
    doc = {"format": "brainviz-session", "version": 1, "cursor": [1, 2, 3], "camera": {},
           "layers": [{"kind": "statistical map", "name": "z", "path": str(path),
                       "colormap": "hot", "threshold": 2.0, "visible": True},
                      {"kind": "connectome", "name": "g", "edge_percentile": "95%",
                       "matrix": [[0, 1], [1, 0]], "coords": [[0, 0, 0], [10, 0, 0]],
                       "labels": ["a", "b"]}]}
    (tmp_path / "old.json").write_text(json.dumps(doc))
    session, _ = read_session(tmp_path / "old.json")
    z, g = session.layers
    assert isinstance(z, model.StatMapLayer) and (z.cmap, z.threshold) == ("hot", 2.0)
    assert isinstance(g, model.ConnectomeLayer) and g.threshold == "95%"


def test_a_figure_has_one_binding(offscreen):
    import brainviz.mlab as bv

    fig = bv.figure(size=(80, 80))
    first = binding_for(fig)
    bv.anatomy(_img(_head()), figure=fig)
    second = bind(model.Session(), fig)
    assert binding_for(fig) is second and not first.visuals  # the old visuals were removed


# --------------------------------------------------------------------------- 2D views
def test_every_layer_trait_has_a_handler_in_its_2d_visual():
    """The 2D views bind the same layers through the same binding (another registry): each
    display trait is drawn, or is one the 3D scene alone draws, by name."""
    from brainviz.scene.slices2d import SLICE_VISUALS

    # every class is drawn, or said not to be (ComponentsLayer: its parent LabelLayer's visual)
    assert set(SLICE_VISUALS) | {model.ComponentsLayer} == set(model.LAYER_TYPES.values())
    for cls in model.LAYER_TYPES.values():
        visual_cls = visual_class_for(cls, SLICE_VISUALS)
        if visual_cls is None:
            assert cls in (model.SurfaceLayer, model.GlassBrainLayer)
            continue
        for name in cls.display_trait_names():
            handler = visual_cls.layer_handlers[name]
            if handler == "ignore":
                assert name in visual_cls.three_d_only, f"{cls.__name__}.{name} ignored in 2D"
            else:
                assert visual_cls.class_traits().get(handler) is not None or callable(
                    getattr(visual_cls, handler, None)), (cls.__name__, name)


@pytest.mark.parametrize("cls", [model.AnatomyLayer, model.SeriesLayer, model.StatMapLayer,
                                 model.MaskLayer, model.LabelLayer, model.ComponentsLayer],
                         ids=lambda c: c.__name__)
def test_2d_views_draw_each_volume_layer_and_follow_the_cursor(offscreen, cls):
    from brainviz.scene.slices2d import SLICE_VISUALS, setup_view

    layer = make_layer(cls)
    session = model.Session()
    session.add_layer(layer)
    session.move_cursor((16.0, 0.0, 8.0))
    figure = offscreen.figure(size=(160, 160), bgcolor=(0, 0, 0))
    binding = bind(session, figure, registry=SLICE_VISUALS, axis=2)
    setup_view(figure, "axial", binding.visual_for(layer).bounds)
    shot = _shot(figure)
    assert (shot.max(axis=-1) > 40).sum() > 100, "nothing drawn"
    changes = {name: value for name, (value, _) in CHANGES[cls].items()
               if name in ("visible", "opacity", "cmap", "frame", "threshold", "region")}
    for name, value in changes.items():
        before = _shot(figure)
        saved = getattr(layer, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyOverlayWarning)
            setattr(layer, name, value)
        assert (np.abs(_shot(figure) - before).max(axis=-1) > 30).sum() > 15, name
        setattr(layer, name, saved)
    plane = binding.visual_for(layer)
    session.move_cursor((16.0, 0.0, -30.0))  # another axial slice
    np.testing.assert_allclose(plane.cursor, (16, 0, -30))
    assert plane.actor.bounds[4] == pytest.approx(-30, abs=0.5)  # the plane is at the cursor


def _view_2d(offscreen, session, view, size):
    """(figure, binding, axis) of a black ``size`` x ``size`` 2D ``view`` of ``session``."""
    from brainviz.scene.slices2d import AXES, SLICE_VISUALS

    axis = AXES[view][0]
    figure = offscreen.figure(size=(size, size), bgcolor=(0, 0, 0))
    return figure, bind(session, figure, registry=SLICE_VISUALS, axis=axis), axis


@pytest.mark.parametrize("view", ["sagittal", "coronal", "axial"])
def test_2d_views_project_a_graph_over_the_slices_on_the_subjects_side(offscreen, view):
    """A graph layer is drawn in each 2D view projected onto it (as nilearn's
    plot_connectome): every node, in front of the opaque slice at the cursor even where it
    lies behind it, with the 3D scene's threshold and highlight, and on the subject's own
    side: nodes all left (x < 0) and anterior (y > 0) are drawn in the image's left half in
    the coronal and axial views (neurological), and in its left half in the sagittal view
    (anterior on the left)."""
    from brainviz.scene.slices2d import AXES, GraphProjection, setup_view

    coords = np.array([[-30.0, 25.0, 20.0], [-20.0, 10.0, -20.0], [-10.0, 30.0, 0.0]])
    m = np.array([[0, 0.8, 0.1], [0.8, 0, -0.6], [0.1, -0.6, 0]])
    graph = model.ConnectomeLayer(name="graph", node_size=8.0).set_graph(
        m, coords, ["a", "b", "c"], networks=["n1", "n1", "n2"])
    session = model.Session()
    session.add_layer(make_layer(model.AnatomyLayer))  # opaque slices
    session.add_layer(graph)
    session.move_cursor((0.0, 0.0, 0.0))
    size = 200
    figure, binding, axis = _view_2d(offscreen, session, view, size)
    projection = binding.visual_for(graph)
    assert isinstance(projection, GraphProjection)
    setup_view(figure, view, binding.content_bounds())

    def coloured():  # the anatomy is grey: colour is the graph's
        shot = _shot(figure)
        return (shot.max(axis=-1) - shot.min(axis=-1)) > 60

    def pixel(xyz):
        renderer = figure.scene.renderer
        renderer.world_point = (*map(float, xyz), 1.0)
        renderer.world_to_display()
        x, y = renderer.display_point[:2]
        return size - 1 - int(round(y)), int(round(x))  # (row, column) of the screenshot

    drawn = coloured()
    cols = np.flatnonzero(drawn.any(axis=0))
    assert cols.size, f"no graph drawn in the {view} view"
    assert cols.max() < size / 2, f"the left/anterior graph is drawn on the right ({view})"
    # every node, even the one behind the slice (b at z=-20 seen from above in the axial
    # view, a at x=-30 seen from the left... in the sagittal view, camera at -x)
    for node in coords:
        r, c = pixel(node)
        assert drawn[r - 1:r + 2, c - 1:c + 2].all(), (view, node)
    # the projection moves with the cursor, in front of the slice it faces
    session.move_cursor((-35.0, 40.0, -30.0))
    toward = AXES[view][1][axis]
    anatomy = binding.visual_for(session.layers[0]).actor.bounds[2 * axis]  # a flat plane
    edges, nodes = (a._vtk_obj.GetPosition()[axis]
                    for a in (projection.edge_actor, projection.node_actor))
    # over the anatomy's plane, the nodes over the edges, both a few steps from the cursor
    assert 0 < (edges - anatomy) * toward < (nodes - anatomy) * toward
    assert abs(nodes - session.cursor[axis]) < 0.5
    drawn = coloured()
    for node in coords:
        r, c = pixel(node)
        assert drawn[r - 1:r + 2, c - 1:c + 2].all(), (view, node, "after the cursor moved")
    # the 3D scene's settings
    graph.threshold = 0.5
    assert projection.n_edges_shown == 2
    graph.highlight = (0, 1)
    assert projection._hl_caption.input == "a - b: 0.8"
    assert projection._hl_caption.visibility and not projection._hl_text_actor.visibility
    graph.highlight = (-1, -1)
    # a layer listed after the graph is drawn over it, one listed before it under it
    from brainviz.data import load_volume

    r, c = pixel(coords[0])
    node_rgb = _shot(figure)[r, c]
    cover = model.MaskLayer(name="cover", cmap="Reds", opacity=1.0).set_volume(
        load_volume(nib.Nifti1Image(np.ones(_SHAPE, np.float32), _AFFINE), name="cover"))
    session.add_layer(cover)
    over = _shot(figure)[r, c]
    assert over[0] > over[2] + 60, (view, node_rgb, over)  # red, not the blue node
    session.remove_layer(cover)
    session.layers.insert(1, cover)  # under the graph
    np.testing.assert_allclose(_shot(figure)[r, c], node_rgb, atol=3)
    graph.visible = False
    assert np.abs(_shot(figure)[r, c] - node_rgb).max() > 60
    graph.visible = True
    graph.show_in_2d = False  # the layer's "In 2D views"
    assert np.abs(_shot(figure)[r, c] - node_rgb).max() > 60
    graph.show_in_2d = True
    np.testing.assert_allclose(_shot(figure)[r, c], node_rgb, atol=3)


def test_a_graph_without_networks_is_seen_over_a_grey_slice_in_2d_views(offscreen):
    """A connectivity result's graph has no networks: its nodes, dark grey in the 3D scene,
    were lost on the grey slices of the 2D views; there they have a colour of their own."""
    from brainviz.scene.slices2d import setup_view

    coords = np.array([[-20.0, 10.0, 0.0], [20.0, -10.0, 0.0]])
    graph = model.ConnectomeLayer(name="graph", node_size=10.0).set_graph(
        np.array([[0, 0.5], [0.5, 0]]), coords, ["a", "b"])
    session = model.Session()
    session.add_layer(make_layer(model.AnatomyLayer))
    session.add_layer(graph)
    session.move_cursor((0.0, 0.0, 0.0))
    figure, binding, _ = _view_2d(offscreen, session, "axial", 200)
    setup_view(figure, "axial", binding.content_bounds())
    renderer = figure.scene.renderer
    renderer.world_point = (*coords[0], 1.0)
    renderer.world_to_display()
    x, y = renderer.display_point[:2]
    rgb = _shot(figure)[199 - int(round(y)), int(round(x))]
    assert rgb.max() - rgb.min() > 60, rgb  # coloured, not grey like the slice


def test_2d_views_draw_the_later_layer_on_top_after_any_reordering(offscreen):
    """The planes are blended in the renderer's order (no order-independent transparency
    pass): a layer put back under another (an undone removal) is drawn under it, and a
    half-transparent layer over it shows it through."""
    from brainviz.data import load_volume
    from brainviz.scene.slices2d import SLICE_VISUALS, setup_view

    data = np.zeros(_SHAPE, dtype=np.float32)
    data[6:14, 8:16, 8:12] = 5.0  # the same block in both layers
    red, blue = (model.MaskLayer(name=name, cmap=cmap, opacity=opacity).set_volume(
        load_volume(nib.Nifti1Image(data, _AFFINE), name=name))
        for name, cmap, opacity in (("red", "Reds", 0.5), ("blue", "Blues", 1.0)))
    session = model.Session()
    session.add_layer(red)
    session.add_layer(blue)
    session.move_cursor((0.0, 0.0, 0.0))
    figure = offscreen.figure(size=(120, 120), bgcolor=(0, 0, 0))
    binding = bind(session, figure, registry=SLICE_VISUALS, axis=2)
    setup_view(figure, "axial", binding.visual_for(red).bounds)
    assert not figure.scene.renderer.use_oit

    def seen():
        r, _, b = _shot(figure)[50:70, 50:70].reshape(-1, 3).mean(axis=0)
        return {name for name, v in (("red", r), ("blue", b)) if v > 40}

    assert seen() == {"blue"}  # opaque blue on top
    session.remove_layer(blue)  # removed, then put back first (as undo does): under red
    session.layers.insert(0, blue)
    assert [lay.name for lay in session.layers] == ["blue", "red"]
    assert seen() == {"red", "blue"}  # half-transparent red over blue
    session.remove_layer(blue)  # and on top again
    session.add_layer(blue)
    assert seen() == {"blue"}


def test_a_2d_plane_hands_vtk_only_the_box_of_what_it_draws(offscreen):
    """A map with an empty margin: each cursor move copies (and textures) the slice within
    the box of its non-zero voxels, placed at their world position, with their values."""
    import nibabel as nib

    from brainviz.data import load_volume
    from brainviz.scene.slices2d import SLICE_VISUALS

    data = np.zeros((30, 32, 28), dtype=np.float32)
    data[8:20, 10:25, 5:22] = np.arange(12 * 15 * 17, dtype=np.float32).reshape(12, 15, 17) + 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (-30.0, -32.0, -20.0)
    layer = model.StatMapLayer(name="boxed", threshold=0.0).set_volume(
        load_volume(nib.Nifti1Image(data, affine)))
    session = model.Session()
    session.add_layer(layer)
    xyz = affine @ np.array([12, 14, 9, 1.0])
    session.move_cursor(xyz[:3])
    figure = offscreen.figure(size=(120, 120), bgcolor=(0, 0, 0))
    binding = bind(session, figure, registry=SLICE_VISUALS, axis=2)
    plane = binding.visual_for(layer)
    image = plane._image
    assert tuple(image.GetDimensions()) == (12, 15, 1)
    np.testing.assert_allclose(image.GetOrigin(), affine[:3, :3] @ (8, 10, 9) + affine[:3, 3])
    # to the outer edges of the box's voxels (2 mm: a millimetre beyond their centres)
    np.testing.assert_allclose(plane.content_bounds,
                               (-15.0, 9.0, -13.0, 17.0, -11.0, 23.0))
    from vtkmodules.util.numpy_support import vtk_to_numpy

    shown = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(15, 12)  # (j, i): x fastest
    expected = plane._shown[8:20, 10:25, 9]
    np.testing.assert_allclose(shown.T, expected)


def test_a_2d_plane_textures_only_its_coloured_pixels(offscreen):
    """The quad drawn is the box of the pixels the colour table makes visible: a blob above
    the threshold, not the map's whole box. A slice with nothing above it hides the plane;
    a lower threshold widens the box again."""
    import nibabel as nib

    from brainviz.data import load_volume
    from brainviz.scene.slices2d import SLICE_VISUALS, setup_view

    data = np.full((30, 32, 28), 1.0, dtype=np.float32)  # everywhere: 1 (below threshold)
    data[12:15, 20:24, 10] = 5.0  # a blob in slice k=10 only
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    layer = model.StatMapLayer(name="blob", threshold=3.0).set_volume(
        load_volume(nib.Nifti1Image(data, affine)))
    session = model.Session()
    session.add_layer(layer)
    session.move_cursor((26.0, 42.0, 20.0))  # voxel (13, 21, 10)
    figure = offscreen.figure(size=(120, 120), bgcolor=(0, 0, 0))
    binding = bind(session, figure, registry=SLICE_VISUALS, axis=2)
    plane = binding.visual_for(layer)
    setup_view(figure, "axial", plane.bounds)
    actor = plane.actor._vtk_obj
    assert tuple(actor.GetDisplayExtent()) == (12, 14, 20, 23, 0, 0)
    assert actor.GetVisibility() == 1
    shot = _shot(figure)
    assert (shot.max(axis=-1) > 40).sum() > 10, "the blob is not drawn"

    session.move_cursor((26.0, 42.0, 30.0))  # slice k=15: all below the threshold
    assert actor.GetVisibility() == 0
    assert (_shot(figure).max(axis=-1) > 40).sum() == 0

    layer.threshold = 0.5  # now every voxel is coloured: the whole slice
    assert actor.GetVisibility() == 1
    assert tuple(actor.GetDisplayExtent()) == (0, 29, 0, 31, 0, 0)


@pytest.mark.parametrize("view", ["sagittal", "coronal", "axial"])
def test_2d_views_draw_each_voxel_whole_and_a_one_slice_image_across_its_slice(offscreen,
                                                                              view):
    """A 2D view draws every voxel to its edges, as the 3D slices do, and frames those edges:
    a one-slice image (an axial slab) is a strip one voxel thick in the sagittal and coronal
    views, where VTK's image actor drew nothing (its quad spans the voxels' centres, and it
    took the image's thin z for the slice's own axis), and its edge voxels are whole."""
    import nibabel as nib

    from brainviz.data import load_volume
    from brainviz.scene.slices2d import setup_view

    data = np.full((10, 8, 1), 5.0, dtype=np.float32)  # every voxel above the threshold
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-18.0, -14.0, 0.0)  # voxel centres x -18..18, y -14..14, z 0
    layer = model.StatMapLayer(name="slab", threshold=1.0).set_volume(
        load_volume(nib.Nifti1Image(data, affine)))
    session = model.Session()
    session.add_layer(layer)
    session.move_cursor((2.0, 2.0, 0.0))
    size = 200
    figure, binding, axis = _view_2d(offscreen, session, view, size)
    plane = binding.visual_for(layer)
    bounds = np.asarray(plane.content_bounds)
    np.testing.assert_allclose(bounds, (-20, 20, -16, 16, -2, 2))  # the voxels' edges
    setup_view(figure, view, tuple(bounds))
    drawn = _shot(figure).max(axis=-1) > 40
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    assert rows.size and cols.size, f"nothing drawn in the {view} view"
    # the picture's size in mm from the camera's scale: the whole voxels' extent
    mm_per_pixel = 2 * figure.scene.camera.parallel_scale / size
    height = (rows[-1] - rows[0] + 1) * mm_per_pixel
    width = (cols[-1] - cols[0] + 1) * mm_per_pixel
    extent = bounds[1::2] - bounds[0::2]
    across, up = {"sagittal": (1, 2), "coronal": (0, 2), "axial": (0, 1)}[view]
    assert abs(width - extent[across]) <= 1.5 * mm_per_pixel, (view, width, extent)
    assert abs(height - extent[up]) <= 1.5 * mm_per_pixel, (view, height, extent)


def test_a_deferring_binding_draws_added_layers_when_its_call_runs(offscreen):
    """A window gives each 2D view its own event-loop turn for a new layer: the binding hands
    the drawing to ``defer`` and draws the layer, as it is then, when that call runs; a layer
    removed meanwhile is never drawn."""
    from brainviz.scene.slices2d import SLICE_VISUALS

    session = model.Session()
    session.add_layer(make_layer(model.AnatomyLayer))
    figure = offscreen.figure(size=(120, 120), bgcolor=(0, 0, 0))
    waiting = []
    binding = bind(session, figure, registry=SLICE_VISUALS, axis=2, defer=waiting.append)
    assert len(binding.visuals) == 1 and waiting == []  # what is there at once
    stat, gone = make_layer(model.StatMapLayer), make_layer(model.StatMapLayer)
    gone.name = "gone"
    session.add_layer(stat)
    session.add_layer(gone)
    stat.threshold = 2.5  # before it is drawn: not drawn early, applied when drawn
    assert stat not in binding.visuals and len(waiting) == 2
    session.remove_layer(gone)
    for call in waiting:
        call()
    assert binding.visual_for(stat).threshold == pytest.approx(2.5)
    assert gone not in binding.visuals


def test_the_views_of_a_layer_share_its_grid_and_head_mask(offscreen, monkeypatch):
    """The 3D scene and the three 2D views of one image read, copy and measure it once."""
    from brainviz.data import _masks
    from brainviz.scene.slices2d import SLICE_VISUALS

    calls = []
    original = _masks.head_mask
    monkeypatch.setattr(_masks, "head_mask", lambda *a, **k: calls.append(1) or original(*a, **k))
    anatomy = make_layer(model.AnatomyLayer)
    session = model.Session()
    session.add_layer(anatomy)
    _, binding = draw_session(session, size=(100, 100))
    bindings = [bind(session, offscreen.figure(size=(100, 100)), registry=SLICE_VISUALS, axis=a)
                for a in range(3)]
    grids = {id(b.visual_for(anatomy).grid) for b in [binding, *bindings]}
    assert len(grids) == 1
    assert len(calls) == 1
