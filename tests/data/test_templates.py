"""Offline templates: right shapes and counts, and no network access at all."""
import socket

import numpy as np
import pytest

from brainviz.data import templates
from brainviz.exceptions import ParameterError


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any socket use fails the test; nilearn's data folder is an empty tmp dir."""

    def refuse(*args, **kwargs):
        raise AssertionError("a template loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))
    monkeypatch.setenv("NILEARN_SHARED_DATA", str(tmp_path / "nilearn_shared"))
    yield


def test_template_and_mask_share_the_mni_grid():
    template = templates.load_template()
    mask = templates.load_brain_mask()
    assert template.shape == (99, 117, 95)
    assert mask.shape == template.shape
    np.testing.assert_allclose(template.affine, mask.affine)
    np.testing.assert_allclose(template.voxel_size, [2, 2, 2])
    assert tuple(template.orientation) == ("R", "A", "S")
    # MNI (0, 0, 0) is inside the brain mask, a corner is not
    assert mask.values_at(np.array([[0.0, 0.0, 0.0], [-90.0, -120.0, -60.0]]), order=0).tolist() \
        == [1.0, 0.0]


def test_mask_at_4mm_is_small():
    mask = templates.load_brain_mask(resolution=4)
    assert mask.shape == (50, 59, 48)
    assert 15_000 < int(mask.get_data().sum()) < 35_000


def test_template_is_cached_and_read_only():
    a, b = templates.load_template(), templates.load_template()
    assert a.img is b.img  # same cached nibabel image, new Volume wrappers
    with pytest.raises(ValueError):
        a.img.dataobj[0, 0, 0] = 1


@pytest.mark.parametrize("bad", [0, -2, 2.5, "2mm", None])
def test_bad_resolution_names_parameter(bad):
    with pytest.raises(ParameterError, match="'resolution'"):
        templates.load_template(resolution=bad)


def test_motor_activation_is_a_t_map_peaking_in_motor_cortex():
    vol = templates.load_motor_activation()
    assert vol.ndim == 3
    assert tuple(vol.orientation) == ("L", "A", "S")  # stored x-flipped: a real flip check
    data = vol.get_data()
    assert np.nanmax(data) > 3  # a t map with real activation
    peak = np.array(np.unravel_index(np.nanargmax(data), data.shape))
    x, y, z = vol.affine[:3, :3] @ peak + vol.affine[:3, 3]
    assert abs(x) > 30 and -40 < y < 10 and z > 30  # lateral pre/post-central gyrus


def test_fsaverage5_meshes():
    fs = templates.load_fsaverage5()
    assert set(fs) == {"left", "right"}
    for hemi, sign in (("left", -1), ("right", 1)):
        pial, infl, sulc = fs[hemi]["pial"], fs[hemi]["inflated"], fs[hemi]["sulc"]
        assert pial.vertices.shape == (10242, 3)
        assert infl.vertices.shape == (10242, 3)
        assert pial.faces.shape == (20480, 3)
        np.testing.assert_array_equal(pial.faces, infl.faces)
        assert sulc.shape == (10242,)
        assert pial.data["sulc"] is sulc
        # left is never right: left-hemisphere vertices have x < 0, on both meshes
        assert np.mean(sign * pial.vertices[:, 0] > 0) > 0.95
        assert np.all(sign * infl.vertices[:, 0] > 0)


def test_fsaverage5_returns_fresh_surfaces_with_shared_arrays():
    a, b = templates.load_fsaverage5(), templates.load_fsaverage5()
    assert a["left"]["pial"] is not b["left"]["pial"]
    assert not a["left"]["pial"].vertices.flags.writeable


def test_power_2011():
    atlas = templates.load_power_2011()
    assert atlas.coords.shape == (264, 3)
    assert len(atlas.labels) == 264
    assert atlas.labels[0] == "Power 1" and atlas.labels[-1] == "Power 264"
    assert atlas.networks is None
    assert np.all(np.abs(atlas.coords) < 110)


def test_dosenbach_2010():
    atlas = templates.load_dosenbach_2010()
    assert atlas.coords.shape == (160, 3)
    assert len(atlas.labels) == len(atlas.networks) == 160
    assert set(atlas.network_names) == {
        "cerebellum", "cingulo-opercular", "default", "fronto-parietal", "occipital",
        "sensorimotor",
    }
    # vmPFC is a default-network node near the midline, in front
    i = next(i for i, lab in enumerate(atlas.labels) if lab.startswith("vmPFC"))
    assert atlas.networks[i] == "default"
    assert atlas.coords[i, 1] > 40
