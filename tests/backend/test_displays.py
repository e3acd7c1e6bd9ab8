"""Result views (matplotlib, no VTK or Qt): what they print and paint is read back from the
files."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from brainviz.backend import (
    ConnectivityJob, DecodingJob, MatrixDisplay, RegionsDisplay, load_result, save_result,
)
from brainviz.backend.regions import RegionResult


def _svg_texts(path):
    """Every piece of text an SVG holds as text (matplotlib with svg.fonttype='none')."""
    root = ET.parse(path).getroot()
    return ["".join(el.itertext()).strip() for el in root.iter() if el.tag.endswith("}text")]


@pytest.fixture(scope="module")
def decoding_result(decoding_data):
    job = DecodingJob(cv="leave-one-run-out", classes=["face", "house"], n_permutations=5,
                      memory=False)
    return job.run(decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
                   mask=decoding_data["mask"])


def test_decoding_views_print_the_result_numbers(decoding_result, tmp_path):
    res = decoding_result
    save_result(res, tmp_path / "res")
    paths = load_result(tmp_path / "res").save_figures(tmp_path / "res")
    assert sorted(p.name for p in paths) == ["confusion.png", "confusion.svg", "scores.png",
                                             "scores.svg"]
    texts = _svg_texts(tmp_path / "res" / "scores.svg")
    means = [float(m.group(1)) for t in texts for m in [re.fullmatch(r"mean (\S+)", t)] if m]
    assert means == [pytest.approx(res.mean_score_, abs=5e-4)]
    assert f"chance {res.chance_level_:.3f}" in texts
    assert any(t.startswith("p = ") and float(t[4:]) == pytest.approx(res.pvalue_, rel=1e-2)
               for t in texts)
    # the confusion matrix: one integer per cell, summing to the samples tested
    texts = _svg_texts(tmp_path / "res" / "confusion.svg")
    cells = [int(t) for t in texts if t.isdigit()]
    assert len(cells) == 4 and sum(cells) == res.n_samples_ == int(res.confusion_.sum())
    assert {"face", "house", "predicted", "true"} <= set(texts)


def test_scores_display_keeps_its_handles(decoding_result):
    disp = decoding_result.plot()
    assert disp.figure_ is not None and disp.ax_ in disp.figure_.axes
    assert disp.mean_line_.get_ydata()[0] == pytest.approx(decoding_result.mean_score_)
    assert disp.chance_line_.get_ydata()[0] == pytest.approx(decoding_result.chance_level_)
    np.testing.assert_allclose(disp.folds_.get_ydata(), decoding_result.scores_)
    assert disp.null_ax_ is not None  # a permutation test was run
    conf = decoding_result.plot("confusion")
    assert conf.text_.shape == (2, 2) and conf.text_[0, 0].get_text() == str(
        decoding_result.confusion_[0, 0])
    with pytest.raises(Exception, match="what must be one of"):
        decoding_result.plot("roc")
    assert "accuracy" in decoding_result.headline and "chance 0.500" in decoding_result.headline


@pytest.mark.parametrize("scores, chance, size", [
    ([0.96, 1.0, 0.96, 1.0, 1.0, 1.0], 1 / 3, (2.7, 2.2)),  # a narrow result view
    ([0.96, 1.0, 0.96, 1.0, 1.0, 1.0], 1 / 3, (4.2, 3.0)),
    ([0.9, 0.85, 0.95, 0.9], 0.5, (2.7, 2.2)),
    ([0.3, 0.45, 0.5, 0.35, 0.4], 0.125, (2.7, 2.2)),
], ids=["3-class narrow", "3-class wide", "2-class narrow", "8-class narrow"])
def test_scores_legend_lies_on_no_line_and_no_fold(scores, chance, size):
    """The legend sits in an empty band: between the chance line and the lowest score, or
    under the chance line, whichever is taller (in a narrow view it sat on the chance line)."""
    import matplotlib.pyplot as plt

    from brainviz.backend.displays import ScoresDisplay

    fig, ax = plt.subplots(figsize=size, dpi=100, layout="constrained")
    try:
        d = ScoresDisplay(scores, chance, permutation_scores=np.linspace(0.1, 0.4, 20),
                          pvalue=0.05, title="face vs house").plot(ax=ax)
        fig.canvas.draw()
        box = d.legend_.get_window_extent()
        for level in (d.chance_level, d.mean_score):
            y = ax.transData.transform((1.0, level))[1]
            assert not box.y0 <= y <= box.y1, level
        for x, y in ax.transData.transform(np.c_[np.arange(1, len(scores) + 1), scores]):
            assert not (box.x0 - 4 <= x <= box.x1 + 4 and box.y0 - 4 <= y <= box.y1 + 4)
    finally:
        plt.close(fig)


def _overlapping(artists, renderer, pad=0.0):
    """Pairs of the visible ``artists`` whose drawn boxes overlap (by more than ``pad`` px)."""
    boxes = [(a, a.get_window_extent(renderer)) for a in artists
             if a.get_visible() and a.get_text()]
    out = []
    for i, (a, b) in enumerate(boxes):
        for c, d in boxes[i + 1:]:
            if min(b.x1, d.x1) - max(b.x0, d.x0) > pad and min(b.y1, d.y1) - max(b.y0, d.y0) > pad:
                out.append((a.get_text(), c.get_text()))
    return out


@pytest.mark.parametrize("size", [(2.7, 2.6), (7.0, 6.0)])
def test_a_confusion_matrix_fits_its_counts_and_names_to_its_cells(size, rng):
    """Nine classes in a side dock's width: the counts of neighbouring cells were written over
    each other and the slanted names ran together. Fitted, the counts that are shown never
    overlap (hidden in a narrow view, a size that fits in a wide one) and neither do the
    class names."""
    import matplotlib.pyplot as plt

    from brainviz.backend.displays import ConfusionDisplay

    classes = ["bottle", "cat", "chair", "face", "house", "rest", "scissors", "scrambledpix",
               "shoe"]
    confusion = rng.integers(0, 120, (9, 9))
    confusion[5, 5] = 588
    fig, ax = plt.subplots(figsize=size, dpi=100, layout="constrained")
    try:
        d = ConfusionDisplay(confusion, classes, title="confusion").plot(ax=ax)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        used = d.fit_counts()
        fig.canvas.draw()
        assert _overlapping(list(d.text_.ravel()), renderer, pad=0.5) == []
        names = ax.get_xticklabels()
        if names[0].get_rotation() == 90:  # upright: their boxes never overlap
            assert _overlapping(names, renderer, pad=0.5) == []
        else:  # slanted (45 degrees): the lines they stand on are a font's height apart
            step = np.diff(ax.transData.transform(np.c_[np.arange(9), np.zeros(9)])[:, 0])
            height = names[0].get_fontsize() * fig.dpi / 72
            assert names[0].get_rotation() == 45 and np.all(step * np.sqrt(0.5) >= height)
        shown = [t.get_visible() for t in d.text_.ravel()]
        if size[0] > 5:  # a wide view writes every count
            assert all(shown) and used >= d.MIN_COUNT_SIZE
            assert [t.get_text() for t in d.text_.ravel()] == [str(v) for v in confusion.ravel()]
        else:
            assert not any(shown) and used == 0.0
    finally:
        plt.close(fig)


def test_a_scores_plot_fits_its_fold_numbers_and_legend_to_a_narrow_view():
    """Twelve folds in a side dock's width: the fold numbers ran together ("9101112") and the
    legend hung below the axes over the tick labels. Fitted, the numbers shown never overlap,
    and the legend is inside the axes, clear of the lines and folds, or hidden."""
    import matplotlib.pyplot as plt

    from brainviz.backend.displays import ScoresDisplay

    scores = np.array([0.65, 0.75, 0.74, 0.69, 0.73, 0.78, 0.7, 0.74, 0.66, 0.75, 0.74, 0.75])
    fig, ax = plt.subplots(figsize=(2.6, 1.9), dpi=100, layout="constrained")
    try:
        d = ScoresDisplay(scores, 0.405, title="9 classes, ridge").plot(ax=ax)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        shown = d.fit()
        fig.canvas.draw()
        labels = [t for t in ax.get_xticklabels()
                  if 1 <= t.get_position()[0] <= len(scores)]
        assert _overlapping(labels, renderer) == []
        assert labels[0].get_text() == "1" and len(labels) < len(scores)
        if shown:
            box, frame = d.legend_.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 1
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1
            for level in (d.chance_level, d.mean_score):
                y = ax.transData.transform((1.0, level))[1]
                assert not box.y0 <= y <= box.y1, level
            assert d.mean_text_.get_text() == f"mean {scores.mean():.3f}"
        else:
            assert not d.legend_.get_visible()
    finally:
        plt.close(fig)


def test_matrix_image_pixel_has_the_cell_colour(tmp_path, rng):
    from PIL import Image

    ts = [rng.standard_normal((60, 5)) for _ in range(2)]
    res = ConnectivityJob(memory=False).run(inputs=ts)
    paths = res.save_figures(tmp_path, formats=("png",), dpi=100)
    assert [p.name for p in paths] == ["matrix.png"]
    disp = MatrixDisplay.from_result(res).plot()
    disp.figure_.canvas.draw()
    pixels = np.asarray(Image.open(paths[0]).convert("RGB"))
    height = pixels.shape[0]
    i, j = 1, 3
    x, y = disp.ax_.transData.transform(disp.position_of(i, j))
    value = np.asarray(res.matrix_)[i, j]
    expected = np.array(disp.im_.cmap(disp.im_.norm(value))[:3]) * 255
    got = pixels[int(round(height - y)), int(round(x))]
    np.testing.assert_allclose(got, expected, atol=3)


def test_matrix_ordered_by_network_and_clicks_map_back():
    m = np.arange(16, dtype=float).reshape(4, 4)
    m = m + m.T
    disp = MatrixDisplay(m, labels=list("abcd"), networks=["x", "y", "x", "y"]).plot()
    assert disp.order_.tolist() == [0, 2, 1, 3]
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["x", "y"]
    assert len(disp.boundaries_) == 2  # one line across, one down, between the two networks
    for i, j in [(0, 1), (2, 3), (3, 0)]:
        assert disp.cell_at(*disp.position_of(i, j)) == (i, j)
    assert disp.cell_at(-3, 0) is None
    disp.highlight(2, 1)
    assert disp.highlight_.get_xy() == (disp.position_of(2, 1)[0] - 0.5,
                                        disp.position_of(2, 1)[1] - 0.5)
    disp.highlight(None)
    assert disp.highlight_ is None


def test_regions_view_names_each_region(tmp_path):
    import nibabel as nib

    shape = (9, 10, 8, 3)
    maps = np.zeros(shape, dtype=np.float32)
    maps[1:3, 2:4, 2:4, 0] = 1
    maps[6:8, 2:4, 2:4, 1] = 2
    maps[4:6, 7:9, 5:7, 2] = 3
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    img = nib.Nifti1Image(maps, affine)
    res = RegionResult(components_img_=img, regions_img_=img,
                       region_labels_=["left blob", "right blob", "front blob"],
                       region_index_=np.arange(3), timeseries_=[np.zeros((5, 3))],
                       mask_img_=nib.Nifti1Image(np.ones(shape[:3], np.uint8), affine))
    disp = res.plot()
    assert [t.get_text() for t in disp.titles_] == ["left blob", "right blob", "front blob"]
    assert disp.region_at(disp.axes_[2]) == 2
    disp.select(1)
    assert disp.selected_ == 1 and disp.axes_[1].get_frame_on()
    res.save_figures(tmp_path)
    texts = _svg_texts(tmp_path / "regions.svg")
    assert {"left blob", "right blob", "front blob", "3 regions"} <= set(texts)
    assert res.headline == "3 regions"
    labels = RegionsDisplay.from_labels(np.argmax(maps, -1) * (maps.max(-1) > 0), affine,
                                        names={1: "one", 2: "two"}).plot()
    assert [t.get_text() for t in labels.titles_] == ["one", "two"]


@pytest.mark.parametrize("dark", [False, True])
def test_region_names_read_on_the_background_in_their_regions_hue(dark):
    """Twenty regions: the table's pale colours (light blue, light green...) wrote names
    near-white on white. Each name now has a WCAG contrast of 3 or more with the background,
    in a shade of its region's colour (the same hue)."""
    import colorsys

    from brainviz.backend.displays import RegionsDisplay, contrast_ratio

    maps = np.zeros((6, 6, 6, 20), dtype=np.float32)
    for k in range(20):
        maps[k % 6, (k // 6) % 6, k % 5, k] = 1.0
    disp = RegionsDisplay(maps, np.eye(4), names=[f"component {k}" for k in range(20)],
                          dark=dark).plot()
    background = (0.0, 0.0, 0.0) if dark else (1.0, 1.0, 1.0)
    colours = disp._colors()
    pale = 0
    for title, colour in zip(disp.titles_, colours):
        ink = np.asarray(matplotlib_rgb(title.get_color()))
        assert contrast_ratio(ink, background) >= 3.0, (title.get_text(), ink)
        pale += contrast_ratio(colour, background) < 3.0
        h0, l0, s0 = colorsys.rgb_to_hls(*colour)
        h1, l1, s1 = colorsys.rgb_to_hls(*ink)
        if s0 > 0.1 and s1 > 0.05:  # a coloured name keeps its hue
            assert min(abs(h0 - h1), 1 - abs(h0 - h1)) < 0.05, (title.get_text(), colour, ink)
    if not dark:
        assert pale > 0  # some of the table's colours did not read on white as they are


def matplotlib_rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_pick_font_falls_back_and_names_what_is_installed():
    from brainviz.backend.displays import pick_font
    from brainviz.exceptions import ParameterError

    assert pick_font() in {"Arial", "Helvetica", "Liberation Sans", "Nimbus Sans",
                           "Nimbus Sans L", "TeX Gyre Heros", "DejaVu Sans"}
    assert pick_font("DejaVu Sans") == "DejaVu Sans"
    with pytest.raises(ParameterError, match="not installed"):
        pick_font("No Such Font 123")


def test_matrix_node_names_never_overlap_and_all_show_where_they_fit():
    """23 named nodes: a figure large enough shows every name; a small view (the window's
    result panel) shows every k-th, none over another."""
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, (23, 23))
    names = [f"region {i + 1}" for i in range(23)]
    for size, all_shown in (((5.6, 4.8), True), ((2.2, 2.0), False)):
        disp = MatrixDisplay(m + m.T, labels=names).plot()
        disp.figure_.set_size_inches(*size)
        disp.figure_.canvas.draw()
        renderer = disp.figure_.canvas.get_renderer()
        for labels, coord in ((disp.ax_.get_xticklabels(), 0), (disp.ax_.get_yticklabels(), 1)):
            shown = [t for t in labels if t.get_text()]
            step = names.index(shown[1].get_text()) if len(shown) > 1 else 23
            assert [t.get_text() for t in shown] == names[::step]  # every step-th, from the first
            assert (len(shown) == 23) is all_shown
            boxes = sorted((t.get_window_extent(renderer) for t in shown),
                           key=lambda b: (b.x0, b.y0)[coord])
            for a, b in zip(boxes, boxes[1:]):  # next label starts after this one ends
                assert ((b.x0 >= a.x1 - 0.5) if coord == 0 else (b.y0 >= a.y1 - 0.5))


def test_a_searchlight_view_counts_every_sphere_with_best_and_chance_clear_of_its_legend(
        tmp_path):
    """The searchlight's view (it had none: the window's result view was an empty figure,
    and the CLI wrote no figure): every sphere's score in a histogram, chance and the best
    sphere (with where it is) marked, the legend over nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import nibabel as nib

    from brainviz.backend.searchlight import SearchlightResult

    rng = np.random.default_rng(0)
    mask = np.zeros((20, 20, 10), bool)
    mask[3:17, 3:17, 2:8] = True
    scores = np.zeros(mask.shape, np.float32)
    scores[mask] = np.clip(0.5 + 0.05 * rng.standard_normal(mask.sum()), 0, 1)
    scores[8:11, 8:11, 4:6] = 0.9
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    res = SearchlightResult(params={"radius": 6.0, "scoring": "accuracy"},
                            scores_img_=nib.Nifti1Image(scores, affine), best_score_=0.9,
                            best_coords_=[27.0, 27.0, 12.0], chance_level_=0.5,
                            classes_=["face", "house"],
                            mask_img_=nib.Nifti1Image(mask.astype(np.uint8), affine))
    assert res.headline == "best accuracy 0.900 at (27, 27, 12) mm (chance 0.500)"
    view = res.plot()
    assert sum(b.get_height() for b in view.bars_) == mask.sum()
    assert [t.get_text() for t in view.legend_.get_texts()] == [
        "best 0.900 at (27, 27, 12) mm", "chance 0.500"]
    assert view.ax_.get_title() == f"{mask.sum()} spheres, 6.0 mm"
    view.figure_.canvas.draw()
    renderer = view.figure_.canvas.get_renderer()
    legend = view.legend_.get_window_extent(renderer)
    for artist in (view.best_line_, view.chance_line_, *view.bars_):
        box = artist.get_window_extent(renderer)
        assert box.y1 <= legend.y0 + 0.5 or box.x1 <= legend.x0 or box.x0 >= legend.x1, artist
    paths = res.save_figures(tmp_path)
    assert sorted(p.name for p in paths) == ["searchlight.png", "searchlight.svg"]
    # into a folder not made yet (it was matplotlib's "No such file or directory" about a
    # temporary name): made, and the figures written there
    later = res.save_figures(tmp_path / "new" / "figures", formats=("png",))
    assert [p.name for p in later] == ["searchlight.png"] and later[0].stat().st_size > 0
    assert "best 0.900 at (27, 27, 12) mm" in _svg_texts(tmp_path / "searchlight.svg")


@pytest.mark.parametrize("width", [2.2, 2.65, 4.2])
def test_a_searchlight_legend_fits_a_side_docks_width(width):
    """In the window's result dock (2.65 in wide) the legend ran past the axes' right edge
    and was cut: "best 0.806 at (34, -50, -16) m". Fitted, it lies inside the axes, clear
    of the lines and bars, the place on a line of its own where the width needs it; at a
    figure's own size it stays on one line."""
    import matplotlib.pyplot as plt

    from brainviz.backend.displays import SearchlightDisplay

    rng = np.random.default_rng(0)
    scores = np.r_[np.clip(0.33 + 0.06 * rng.standard_normal(29000), 0, 1), [0.806] * 400]
    fig, ax = plt.subplots(figsize=(width, 3.2), dpi=100, layout="constrained")
    try:
        d = SearchlightDisplay(scores, 1 / 3, 0.806, (34.0, -50.0, -16.0),
                               title="29398 spheres, 6.0 mm").plot(ax=ax)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        assert d.fit()
        fig.canvas.draw()
        box, frame = d.legend_.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 0.5
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1 + 0.5
        for artist in (d.best_line_, d.chance_line_, *d.bars_):
            line = artist.get_window_extent(renderer)
            assert line.y1 <= box.y0 + 0.5 or line.x1 <= box.x0 or line.x0 >= box.x1
        text = d.legend_.get_texts()[0].get_text()
        assert text.replace("\n", " ") == "best 0.806 at (34, -50, -16) mm"
        assert ("\n" in text) == (width < 4)
        assert min(t.get_fontsize() for t in d.legend_.get_texts()) >= 6
    finally:
        plt.close(fig)


# --- the edge threshold a connectome opens with ------------------------------------------
@pytest.mark.parametrize("n", [5, 31, 41, 42, 160, 264, 400])
def test_default_edge_threshold_keeps_about_as_many_edges_as_nodes(n):
    """Top 5% while that is at most n edges; beyond, the n strongest (never fewer), so that
    Power's 264 spheres do not open as a 1,736-edge hairball."""
    from brainviz.backend.displays import default_edge_threshold
    from brainviz.model import graph_threshold

    rng = np.random.default_rng(n)
    m = rng.standard_normal((n, n))
    m = (m + m.T) / 2
    text = default_edge_threshold(n)
    upper = np.abs(m[np.triu_indices(n, k=1)])
    shown = int(np.sum(upper >= graph_threshold(text, m)))
    five_percent = int(np.sum(upper >= np.percentile(upper, 95)))
    if n <= 41:
        assert text == "95%" and shown == five_percent
    else:
        assert five_percent > n  # 5% would be more edges than nodes
        assert n <= shown <= 1.05 * n + 2, (text, shown)


def test_connectivity_headline_and_layer_use_the_same_cut():
    """The job list's headline counts the edges the result's connectome layer shows."""
    from brainviz.backend.connectivity import ConnectivityResult
    from brainviz.backend.displays import result_headline
    from brainviz.model import ConnectomeLayer, graph_threshold
    from brainviz.session import layers_from_result

    n = 120
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, (n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1)
    result = ConnectivityResult(params={}, inputs=["a"], matrix_=m, matrices_=m[None],
                                coords_=rng.uniform(-60, 60, (n, 3)),
                                labels_=[f"r{i}" for i in range(n)], kind_="correlation",
                                estimator_={})
    result._kind = "connectivity"
    layer, = [la for la in layers_from_result(result) if isinstance(la, ConnectomeLayer)]
    assert layer.threshold == "98.3%"
    upper = np.abs(m[np.triu_indices(n, k=1)])
    shown = int(np.sum(upper >= graph_threshold(layer.threshold, m)))
    assert result_headline(result).startswith(f"{shown} edges with |weight| >= ")
    assert "(top 1.7%)" in result_headline(result) and shown >= n


def test_confusion_rows_are_found_under_a_click_and_outlined():
    """A click in the window's confusion matrix picks its row's true class (the weight map
    to show); outside the cells it picks nothing. The row outlined stays outlined when the
    matrix is drawn again (a resize)."""
    import matplotlib.pyplot as plt

    from brainviz.backend.displays import ConfusionDisplay

    fig, ax = plt.subplots()
    try:
        d = ConfusionDisplay(np.array([[5, 1, 0], [0, 6, 0], [1, 0, 5]]),
                             ["face", "house", "shoe"]).plot(ax=ax)
        assert d.class_at(1.2, 1.1) == 1 and d.class_at(2.4, 0.0) == 0
        assert d.class_at(-0.6, 1.0) is None and d.class_at(1.0, 2.6) is None
        assert d.class_at(None, None) is None
        d.select(2)
        (box,) = [p for p in ax.patches if not p.get_fill()]
        assert box.get_xy() == (-0.5, 1.5) and box.get_height() == 1 and box.get_width() == 3
        ax.clear()
        d.plot(ax=ax)
        assert d.selected_ == 2 and [p.get_xy() for p in ax.patches
                                     if not p.get_fill()] == [(-0.5, 1.5)]
        d.select(None)
        assert d.selected_ is None and not [p for p in ax.patches if not p.get_fill()]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_shares_are_scikit_learns(normalize, rng):
    """Each class's share (the Haxby study's 588 rest volumes made the counts of the
    108-volume classes all pale): the cells show what scikit-learn's
    ``confusion_matrix(normalize=...)`` gives for the same predictions, a class never
    predicted (a column of zeros) included, written as its display writes them."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    from brainviz.backend.decoding import DecodingResult

    classes = ["face", "house", "rest", "shoe"]
    y = rng.choice(4, 300, p=[0.15, 0.15, 0.55, 0.15])
    pred = np.where(rng.random(300) < 0.7, y, rng.choice([0, 1, 2], 300))  # never "shoe"
    counts = confusion_matrix(y, pred, labels=range(4))
    expected = confusion_matrix(y, pred, labels=range(4), normalize=normalize)
    result = DecodingResult(params={}, scores_=np.array([0.7]), mean_score_=0.7,
                            chance_level_=0.55, classes_=classes, confusion_=counts)
    d = result.plot("confusion", normalize=normalize)
    try:
        np.testing.assert_allclose(d.values_, expected, rtol=0, atol=1e-15)
        assert np.array_equal(d.im_.get_array(), expected)
        texts = [t.get_text() for t in d.text_.ravel()]
        if normalize is None:
            assert texts == [str(v) for v in counts.ravel()]
            assert d.ax_.get_title() == "confusion (summed over folds)"
        else:
            assert texts == [f"{v:.2g}" for v in expected.ravel()]
            assert d.ax_.get_title() == f"confusion: {d.NORMALIZE[normalize]}"
            assert d.im_.norm.vmax == pytest.approx(expected.max())
        if normalize == "true":  # each row sums to one: the diagonal is each class's recall
            np.testing.assert_allclose(d.values_.sum(axis=1), 1.0)
    finally:
        plt.close(d.figure_)


def test_confusion_normalize_names_the_parameter_and_what_it_takes():
    from brainviz.backend.displays import ConfusionDisplay
    from brainviz.exceptions import ParameterError

    with pytest.raises(ParameterError, match=r"normalize must be one of None, 'true', "
                                             r"'pred' or 'all'; got 'rows'"):
        ConfusionDisplay(np.eye(3, dtype=int), ["a", "b", "c"], normalize="rows")
