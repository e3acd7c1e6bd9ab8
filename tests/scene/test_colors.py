"""Colour maps and palettes: pure numpy, no VTK."""
import subprocess
import sys

import numpy as np
import pytest

from brainviz._resources import read_colormap
from brainviz.exceptions import DataValueError, ParameterError
from brainviz.scene import colors


def test_colors_module_imports_no_vtk():
    code = ("import sys, brainviz.scene.colors; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vtkmodules', 'tvtk', 'mayavi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cold_hot_lut_matches_shipped_table():
    lut = colors.get_lut("cold_hot")
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    table = read_colormap("cold_hot")
    np.testing.assert_array_equal(lut[:, :3], np.round(table * 255))
    assert np.all(lut[:, 3] == 255)
    # resampled to 3 entries: ends kept, reversed map flips them
    small = colors.get_lut("cold_hot", 3)
    np.testing.assert_array_equal(small[0], lut[0])
    np.testing.assert_array_equal(small[-1], lut[-1])
    np.testing.assert_array_equal(colors.get_lut("cold_hot_r", 3), small[::-1])


@pytest.mark.parametrize("n", [2, 3, 5, 9, 64, 100, 256, 1000])
def test_cold_hot_is_nilearns_cold_hot(n):
    """The name means what it means in nilearn: the same colours, for any number of entries."""
    from nilearn.plotting import cm

    expected = np.round(cm.cold_hot(np.linspace(0.0, 1.0, n))[:, :3] * 255)
    np.testing.assert_array_equal(colors.get_lut("cold_hot", n)[:, :3], expected)
    np.testing.assert_array_equal(colors.get_lut("cold_hot_r", n)[:, :3], expected[::-1])


def test_cyan_black_yellow_is_not_cold_hot():
    """brainviz's former map keeps its colours under its own name: no white ends."""
    lut = colors.get_lut("cyan_black_yellow", 5)[:, :3].tolist()
    assert lut[0] == [0, 255, 255] and lut[-1] == [255, 255, 0]  # cyan, yellow
    assert max(lut[2]) < 10  # black at zero
    assert colors.get_lut("cold_hot", 5)[0, :3].tolist() == [255, 255, 255]
    assert "cyan_black_yellow" in colors.list_colormaps()


def test_matplotlib_lut_and_alpha():
    import matplotlib

    lut = colors.get_lut("viridis", 4, alpha=0.5)
    expected = np.round(matplotlib.colormaps["viridis"](np.linspace(0, 1, 4))[:, :3] * 255)
    np.testing.assert_array_equal(lut[:, :3], expected)
    assert np.all(lut[:, 3] == 128)


def test_regions_palette_cycles():
    table = read_colormap("regions")
    lut = colors.get_lut("regions", len(table) + 2)
    np.testing.assert_array_equal(lut[len(table)], lut[0])
    assert len({tuple(row) for row in lut[: len(table)]}) == len(table)


@pytest.mark.parametrize("name, n, alpha, match", [
    ("cold_hott", 256, 1.0, r"colormap 'cold_hott' is not a known colour map.*did you mean 'cold_hot'"),
    ("viridis", 1, 1.0, "n must be at least 2"),
    ("viridis", 8, 2.0, r"alpha must be in \[0, 1\]"),
    (3, 8, 1.0, r"colormap must be a colour map name \(str\); got 3"),
])
def test_get_lut_bad_input(name, n, alpha, match):
    with pytest.raises(ParameterError, match=match):
        colors.get_lut(name, n, alpha=alpha)


def test_symmetric_range():
    assert colors.symmetric_range([-0.2, 0.5, np.nan, np.inf]) == (-0.5, 0.5)
    assert colors.symmetric_range([1, 2], vmax=-3) == (-3.0, 3.0)
    assert colors.symmetric_range(np.zeros(4)) == (-1.0, 1.0)
    with pytest.raises(DataValueError, match="no finite number"):
        colors.symmetric_range([np.nan])


def test_map_values_to_colors_ends_and_nan():
    lut = colors.get_lut("cold_hot")
    out = colors.map_values_to_colors([-2.0, 0.0, 2.0, 5.0, np.nan], "cold_hot", vmin=-2, vmax=2)
    np.testing.assert_array_equal(out[0], lut[0])
    np.testing.assert_array_equal(out[2], lut[-1])
    np.testing.assert_array_equal(out[3], lut[-1])  # clipped
    np.testing.assert_array_equal(out[1], lut[128])
    assert out[4].tolist() == [0, 0, 0, 0]
    # default range is symmetric: -1 maps to the low end even though max is 4
    auto = colors.map_values_to_colors([-1.0, 4.0])
    np.testing.assert_array_equal(auto[1], lut[-1])
    assert not np.array_equal(auto[0], lut[0])
    with pytest.raises(ParameterError, match="vmax must be greater than vmin"):
        colors.map_values_to_colors([1.0], vmin=2, vmax=1)


def test_colors_for_labels_first_appearance_order():
    cols, legend = colors.colors_for_labels(["b", "a", "b", "c"])
    assert list(legend) == ["b", "a", "c"]
    palette = read_colormap("regions")
    np.testing.assert_allclose(cols[0], palette[0])
    np.testing.assert_allclose(cols[1], palette[1])
    np.testing.assert_allclose(cols[2], cols[0])
    assert cols.shape == (4, 3)


def test_to_rgb():
    assert colors.to_rgb("#00ff00") == (0.0, 1.0, 0.0)
    assert colors.to_rgb((0.1, 0.2, 0.3, 1.0)) == (0.1, 0.2, 0.3)
    assert colors.to_rgb((0, 0, 255)) == (0.0, 0.0, 1.0)
    with pytest.raises(ParameterError, match="node_color 'nope' is not a colour"):
        colors.to_rgb("nope", parameter="node_color")
    with pytest.raises(ParameterError, match="node_color must be a colour name"):
        colors.to_rgb((1, 2), parameter="node_color")


def test_grey_ramp_matches_matplotlib_without_importing_it():
    import subprocess
    import sys

    import matplotlib

    from brainviz.scene.colors import get_lut

    for name in ("gray", "gray_r", "grey"):
        mpl = matplotlib.colormaps[name.replace("grey", "gray")](np.linspace(0, 1, 256))
        expected = np.round(mpl[:, :3] * 255).astype(np.uint8)
        np.testing.assert_array_equal(get_lut(name)[:, :3], expected)
    code = ("import sys; from brainviz.scene.colors import get_lut; get_lut('gray'); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_names_accepted_without_matplotlib_are_matplotlib_maps():
    """check_colormap accepts a few core names without importing matplotlib; each must
    really be a matplotlib map (and reversible), or drawing with it would fail later."""
    import matplotlib

    from brainviz.scene import colors

    for name in sorted(colors._MATPLOTLIB_CORE):
        assert name in matplotlib.colormaps and f"{name}_r" in matplotlib.colormaps, name
        assert colors.check_colormap(name) == name
        assert colors.get_lut(name, n=8).shape == (8, 4)


def test_vivid_ends_turns_only_pale_ends_that_follow_a_vivid_colour():
    from brainviz.scene.colors import get_lut, vivid_ends

    cold_hot = get_lut("cold_hot", 256)
    vivid = vivid_ends(cold_hot)
    assert (cold_hot[0, :3] == 255).all() and (cold_hot[-1, :3] == 255).all()  # white ends
    assert vivid[-1, 2] < 60 and vivid[-1, 0] == 255 and vivid[-1, 1] == 255  # yellow
    assert vivid[0, 0] < 60 and vivid[0, 1] == 255 and vivid[0, 2] == 255  # cyan
    assert vivid[127:129, :3].max() < 20  # black at zero, as cold_hot
    # stretched, not clamped: nearly every entry keeps a colour of its own
    assert len(np.unique(vivid[:, :3], axis=0)) >= 0.75 * len(np.unique(cold_hot[:, :3], axis=0))
    assert vivid.dtype == cold_hot.dtype and vivid.shape == cold_hot.shape
    for name in ("gray", "viridis", "Blues"):  # ends that fade to grey or are vivid already
        assert (vivid_ends(get_lut(name, 256)) == get_lut(name, 256)).all()
