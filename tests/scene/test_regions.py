"""RegionsVisual: a label image or 4D components, one colour per region, one region or all."""
import nibabel as nib
import numpy as np
import pytest

from brainviz.exceptions import DataValueError, ParameterError

pytestmark = pytest.mark.render


@pytest.fixture
def label_img():
    """Two boxes on a 2 mm grid centred on 0: label 1 at x < 0, label 3 at x > 0."""
    data = np.zeros((21, 15, 17), dtype=np.int16)
    data[2:8, 4:11, 4:13] = 1
    data[13:19, 4:11, 4:13] = 3
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (-20, -14, -16)
    return nib.Nifti1Image(data, affine)


def _close(rgb, target, tol=70):
    return np.abs(rgb.astype(int) - np.asarray(target) * 255).max() <= tol


def test_each_region_its_own_colour_and_one_at_a_time(figure, label_img, px):
    from brainviz.scene.regions import RegionsVisual

    r = RegionsVisual(label_img, labels={1: "left box", 3: "right box"}, figure=figure)
    assert r.region_ids == [1, 3]
    px.look_along(figure, "z")
    colors = r.colors()
    assert np.abs(np.subtract(colors[1], colors[3])).max() > 0.3  # distinct
    left, right = px.to_pixel(figure, (-10, 0, 0)), px.to_pixel(figure, (10, 0, 0))
    img = px.shot(figure)
    assert _close(img[left], colors[1]) and _close(img[right], colors[3])
    assert r.legend.number_of_entries == 2
    assert r.name_at((10, 0, 0)) == "right box" and r.name_at((0, 0, 0)) is None
    r.region = 3
    img = px.shot(figure)
    assert px.is_white(img[left][None])[0] and _close(img[right], colors[3])
    assert r.legend.number_of_entries == 1
    r.region = -1
    assert _close(px.shot(figure)[left], colors[1])
    with pytest.raises(ParameterError, match="region=2 is not a region"):
        r.region = 2


def test_components_become_regions(figure, px):
    from brainviz.scene.regions import RegionsVisual, components_to_labels

    maps = np.zeros((12, 10, 10, 3), dtype=np.float32)
    maps[1:5, 3:7, 3:7, 0] = 1.0
    maps[7:11, 3:7, 3:7, 1] = 2.0
    maps[7:9, 3:7, 3:7, 0] = 0.5  # overlaps component 1, weaker there
    labels = components_to_labels(maps)
    assert labels[2, 5, 5] == 1 and labels[8, 5, 5] == 2 and labels[0, 0, 0] == 0
    assert not (labels == 3).any()  # an empty component draws nothing
    img = nib.Nifti1Image(maps, np.diag([3.0, 3.0, 3.0, 1.0]))
    r = RegionsVisual(img, labels=["a", "b", "c"], figure=figure)
    assert r.region_ids == [0, 1]  # components are numbered from 0, as in the job's result
    assert r.names[0] == "a"
    assert r.name_at((3 * 2, 15, 15)) == "a" and r.value_at((3 * 8, 15, 15)) == 1
    r.threshold = 1.5  # only component 1 (value 2) passes
    assert r.region_ids == [1]


def test_non_integer_3d_image_is_refused(figure, img_3d):
    from brainviz.scene.regions import RegionsVisual

    with pytest.raises(DataValueError, match="expected integer labels or a 4D stack"):
        RegionsVisual(img_3d, figure=figure)


def test_single_slice_regions_are_drawn(figure, px, capfd):
    """Regions of single-slice data (one voxel thick, as Haxby's slice) draw as thin slabs,
    with no VTK error."""
    from brainviz.scene.regions import RegionsVisual

    data = np.zeros((21, 15, 1), dtype=np.int16)
    data[2:8, 4:11, 0] = 1
    data[13:19, 4:11, 0] = 2
    affine = np.diag([2.0, 2.0, 4.0, 1.0])
    affine[:3, 3] = (-20, -14, 0)
    r = RegionsVisual(nib.Nifti1Image(data, affine), figure=figure)
    assert r.region_ids == [1, 2]
    px.look_along(figure, "z")
    img = px.shot(figure)
    colors = r.colors()
    assert _close(img[px.to_pixel(figure, (-10, 0, 0))], colors[1])
    assert _close(img[px.to_pixel(figure, (10, 0, 0))], colors[2])
    assert "ERR" not in capfd.readouterr().err
