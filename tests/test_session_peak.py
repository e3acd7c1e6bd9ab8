"""brainviz.session.peak_cursor: where the slices go by default (the map's peak), Qt- and VTK-free."""
import nibabel as nib
import numpy as np
import pytest

from brainviz import model
from brainviz.data import load_volume
from brainviz.session import peak_cursor


def _affine():
    affine = np.diag([-3.0, 3.0, 3.0, 1.0])  # stored LAS: the x axis is flipped
    affine[:3, 3] = (30.0, -20.0, -10.0)
    return affine


def test_peak_is_the_strongest_cluster_not_a_stray_voxel():
    data = np.zeros((12, 13, 14), dtype=np.float32)
    data[8:11, 4:8, 5:9] = 3.0           # a 48-voxel activation...
    data[9, 6, 7] = 4.0                  # ...with its peak here
    data[1, 1, 1] = -6.0                 # one stray voxel, larger in |value|
    img = nib.Nifti1Image(data, _affine())
    expected = tuple(nib.affines.apply_affine(_affine(), (9, 6, 7)))
    assert peak_cursor(img) == pytest.approx(expected)
    layer = model.StatMapLayer().set_volume(load_volume(img))
    assert peak_cursor(layer) == pytest.approx(expected)


def test_negative_activation_and_frames():
    data = np.zeros((6, 7, 8, 2), dtype=np.float32)
    data[1:3, 1:3, 1:3, 0] = -5.0
    data[4, 5, 6, 1] = 2.0
    img = nib.Nifti1Image(data, np.eye(4))
    assert peak_cursor(img) == pytest.approx((1.0, 1.0, 1.0))  # the tie nearest the centre
    assert peak_cursor(img, frame=1) == pytest.approx((4.0, 5.0, 6.0))


def test_empty_map_gives_the_origin():
    img = nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.float32), _affine())
    assert peak_cursor(img) == (0.0, 0.0, 0.0)


def test_motor_map_peak_is_in_the_motor_cortex():
    # nilearn's find_xyz_cut_coords gives about (37.6, -24.9, 58.7) on this map
    from brainviz.data import load_motor_activation

    x, y, z = peak_cursor(load_motor_activation())
    assert np.linalg.norm(np.subtract((x, y, z), (37.6, -24.9, 58.7))) < 6


def test_demo_session_starts_at_the_motor_peak_from_the_store_and_without():
    """The window's demo keeps its peak in its store (no scipy import at start); the stored
    peak is the one peak_cursor finds, on the first start and on the next."""
    from brainviz import data
    from brainviz.session import make_demo_session

    expected = peak_cursor(data.load_motor_activation())
    first = make_demo_session(connectome=False)     # computes and stores
    again = make_demo_session(connectome=False)     # reads the store
    plain = make_demo_session(connectome=False, cache=False)
    for session in (first, again, plain):
        assert tuple(session.cursor) == pytest.approx(expected)


def test_the_demo_graph_opens_cut_as_any_graph_of_its_size():
    """The demo's 160 nodes keep their 160 strongest edges, as a 160-node matrix opened from
    a file or a job does (it used to cut at 98%: 254 edges)."""
    from brainviz.session import make_demo_session

    graphs = [lay for lay in make_demo_session().layers if isinstance(lay, model.ConnectomeLayer)]
    assert len(graphs) == 1 and len(graphs[0].data["coords"]) == 160
    graph = graphs[0]
    assert graph.threshold == "98.7%"
    upper = np.abs(graph.data["matrix"][np.triu_indices(160, k=1)])
    shown = int(np.sum(upper >= np.percentile(upper, 98.7)))
    assert 160 <= shown < 180


def test_a_graph_opened_alone_gets_the_template_behind_its_nodes():
    """`brainviz graph_result/` (or a matrix with its coordinates) with no image: the MNI
    template under the graph, as `brainviz render` draws one, the slices behind the nodes;
    a graph in a scanner's native space, or opened beside an image, gets none."""
    from brainviz.data import load_power_2011
    from brainviz.session import behind_graph, place_new_layers

    coords = load_power_2011().coords
    n = len(coords)
    matrix = np.random.default_rng(0).uniform(-1, 1, (n, n))
    graph = model.ConnectomeLayer(name="g").set_graph((matrix + matrix.T) / 2, coords)
    session = model.Session()
    place_new_layers(session, [graph])
    anatomy, = session.layers_of_type(model.AnatomyLayer)
    assert anatomy.source == "builtin:template" and session.layers[0] is anatomy
    assert session.cursor == pytest.approx(behind_graph(graph, session.camera))

    native = model.ConnectomeLayer(name="n").set_graph(matrix, coords + [0.0, 200.0, 150.0])
    session = model.Session()
    place_new_layers(session, [native])
    assert not session.layers_of_type(model.AnatomyLayer)

    session = model.Session()
    data = np.zeros((6, 7, 8), np.float32)
    data[3, 3, 3] = 1
    place_new_layers(session, [model.LabelLayer(name="atlas").set_volume(
        load_volume(nib.Nifti1Image(data.astype(np.int16), _affine())))])
    place_new_layers(session, [model.ConnectomeLayer(name="g2").set_graph(matrix, coords)])
    assert not session.layers_of_type(model.AnatomyLayer)


def test_a_lone_graph_slices_go_behind_it_or_through_its_middle_when_seen_edge_on():
    """Seen from above (the window's first view), the axial slice is a floor under the
    nodes and the sagittal and coronal ones, seen edge-on, go through the nodes' middle:
    the 2D views show the middle of the brain, not its rim (they were at the nodes' far
    edges: x = 69, y = 70 mm for the Power atlas, slivers of cortex in the 2D views). A
    camera that sees every slice askew gets all three behind the nodes."""
    from brainviz.data import load_power_2011
    from brainviz.session import behind_graph

    coords = load_power_2011().coords
    matrix = np.eye(len(coords))
    graph = model.ConnectomeLayer(name="g").set_graph(matrix, coords)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    middle = (lo + hi) / 2
    pad = graph.node_size / 2
    for camera in ({}, {"position": (0.0, -18.0, 500.0), "focal_point": (0.0, -18.0, 18.0)}):
        x, y, z = behind_graph(graph, camera)
        assert (x, y) == pytest.approx(middle[:2]) and abs(x) < 5 and -40 < y < 0
        assert z == pytest.approx(lo[2] - pad)
    # from the left (camera at -x): the sagittal slice behind, on the right; the others through
    x, y, z = behind_graph(graph, {"position": (-500.0, 3.0, -2.0), "focal_point": (0, 0, 0)})
    assert x == pytest.approx(hi[0] + pad) and (y, z) == pytest.approx(middle[1:])
    # askew (from the front, right and above): a floor and two walls behind the nodes
    oblique = {"position": (300.0, 300.0, 300.0), "focal_point": (0.0, 0.0, 0.0)}
    assert behind_graph(graph, oblique) == pytest.approx(tuple(lo - pad))


def test_a_searchlight_map_says_searchlight_once():
    """Its layer is "<job title>: scores" (it was "searchlight: ...: searchlight scores"),
    and "searchlight scores" where the result has no title."""
    from brainviz.backend.searchlight import SearchlightResult
    from brainviz.session import layers_from_result

    scores = np.zeros((5, 5, 5), np.float32)
    scores[2, 2, 2] = 0.9
    res = SearchlightResult(params={"radius": 6.0, "scoring": "accuracy"},
                            scores_img_=nib.Nifti1Image(scores, _affine()), best_score_=0.9,
                            best_coords_=[0.0, 0.0, 0.0], chance_level_=0.5,
                            classes_=["face", "house"],
                            mask_img_=nib.Nifti1Image(np.ones((5, 5, 5), np.uint8), _affine()))
    title = "searchlight: face vs house, svc, 6 mm"
    layer, = layers_from_result(res, title=title)
    assert layer.name == f"{title}: scores"
    layer, = layers_from_result(res)
    assert layer.name == "searchlight scores"


def test_readout_writes_a_templates_float_noise_as_zero_and_small_values_as_read():
    """A resampled template's background holds float noise (the MNI152 template's has
    1.4e-45 and 7.2e-17 where it is 0): the readout wrote "7.188e-17". Below a millionth of
    the image's largest value it says 0; a small value that is real is written as read."""
    from brainviz.session import Session, format_readout, readout

    data = np.zeros((5, 5, 5), dtype=np.float32)
    data[1, 1, 1] = 7.188e-17
    data[2, 2, 2] = 1e-3
    data[3, 3, 3] = 0.988
    data[4, 4, 4] = -2.5e-7   # a millionth of 0.988 is 9.9e-7: noise, whatever its sign
    session = Session()
    layer = model.AnatomyLayer(name="t1").set_volume(
        load_volume(nib.Nifti1Image(data, np.eye(4))))
    session.add_layer(layer)
    texts = {ijk: format_readout(readout(session, ijk)) for ijk in
             [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)]}
    assert texts[(1, 1, 1)].endswith("t1: 0") and texts[(4, 4, 4)].endswith("t1: 0")
    assert texts[(2, 2, 2)].endswith("t1: 0.001") and texts[(3, 3, 3)].endswith("t1: 0.988")
    # the values themselves are the image's, unrounded
    assert readout(session, (1, 1, 1))["values"] == [("t1", pytest.approx(7.188e-17))]


def test_readout_never_passes_over_all_frames_of_a_series():
    """The readout's scale for a 4D series is its range only when already known: computing
    it reads every frame (seconds for a long run), on the GUI thread at a cursor move."""
    from brainviz.session import Session, format_readout, readout

    data = np.random.default_rng(0).standard_normal((5, 5, 5, 30)).astype(np.float32)
    session = Session()
    layer = model.SeriesLayer(name="bold").set_volume(
        load_volume(nib.Nifti1Image(data, np.eye(4))))
    session.add_layer(layer)
    text = format_readout(readout(session, (2, 2, 2)))
    assert text.endswith(f"bold: {data[2, 2, 2, 0]:.4g}")
    assert layer.data.cached_range() is None
    layer.data.robust_range()
    assert layer.data.cached_range() is not None


@pytest.mark.parametrize("n_classes", [3, 9])
def test_a_multi_class_results_hidden_maps_are_named_in_one_short_note(n_classes):
    """The first class's map is shown, the others hidden and said so: named up to three,
    counted beyond (the Haxby slice's nine classes' names ran past the status line)."""
    from brainviz.session import Session, place_result

    data = np.zeros((6, 7, 8), dtype=np.float32)
    data[3, 3, 3] = 2.0
    layers = []
    for k in range(n_classes):
        layer = model.StatMapLayer(name=f"dec: weights c{k}", group="dec")
        layer.set_volume(load_volume(nib.Nifti1Image(data, _affine())))
        layer.visible = k == 0
        layers.append(layer)
    notes = place_result(Session(), layers)
    (note,) = [n for n in notes if "hidden" in n]
    if n_classes == 3:
        assert note.startswith("Also in the layer list, hidden: weights c1, weights c2 (")
    else:
        assert note.startswith("Also in the layer list, hidden: the maps of 8 other classes (")


@pytest.mark.parametrize("case", ["mni", "native", "no template"])
def test_a_result_in_mni_space_is_drawn_over_the_template_not_its_input_series(case):
    """A decoding or searchlight job run from the window on MNI-space series (the decoding
    demo) drew its map over the series' first frame, 3 mm and noisy, which covered the
    template. In the template's space the template is the backdrop and the series stays
    hidden; in the scanner's space (or with no template shown) the series is the
    backdrop, as before."""
    from brainviz.session import Session, place_result

    native = case == "native"
    affine = _affine()

    def image(data):
        img = nib.Nifti1Image(data, affine)
        img.set_sform(affine, code=1 if native else 4)
        img.set_qform(affine, code=1 if native else 4)
        return img

    session = Session()
    template = model.AnatomyLayer(name="MNI152 template", source="builtin:template")
    template.set_volume(load_volume(image(np.ones((6, 7, 8), np.float32))))
    template.visible = case != "no template"
    series = model.SeriesLayer(name="bold")
    series.set_volume(load_volume(image(np.ones((6, 7, 8, 3), np.float32))))
    series.visible = False
    session.add_layer(template)
    session.add_layer(series)
    data = np.zeros((6, 7, 8), np.float32)
    data[3, 3, 3] = 2.0
    result = model.StatMapLayer(name="searchlight: scores", group="searchlight")
    result.set_volume(load_volume(image(data)))
    place_result(session, [result], anatomy=series)
    assert result.visible
    assert series.visible == (case != "mni")
    assert template.visible == (case == "mni")


def test_a_regions_result_puts_the_cursor_on_its_strongest_component():
    """A regions job run after a connectivity job left the cursor where the graph had put
    it (slices through the cerebellum, under none of the regions). The cursor goes to the
    peak of the strongest component, in its strongest cluster (one stray voxel elsewhere
    does not win)."""
    from brainviz.session import Session, components_peak, place_result

    data = np.zeros((10, 11, 12, 3), np.float32)
    data[2:4, 2:4, 2:4, 0] = 1.0  # a weak network
    data[6:9, 7:10, 8:11, 2] = 2.0  # the strongest one, peaking at (7, 8, 9)
    data[7, 8, 9, 2] = -3.0
    data[0, 10, 0, 1] = 2.5  # a stray voxel, stronger than the network but alone
    layer = model.ComponentsLayer(name="regions", group="regions")
    layer.set_volume(load_volume(nib.Nifti1Image(data, _affine())))
    expected = tuple(float(v) for v in (_affine() @ [7, 8, 9, 1])[:3])
    assert components_peak(layer) == expected
    session = Session()
    session.move_cursor((-1.0, -15.5, -42.0))  # where a graph had put it
    place_result(session, [layer])
    assert tuple(session.cursor) == expected
