"""Named camera views: orientation proven in pixels, framing, medial clipping, bad names."""
import numpy as np
import pytest

from brainviz.exceptions import ParameterError

pytestmark = pytest.mark.render

SIZE = (300, 300)


@pytest.fixture
def fig():
    from mayavi import mlab

    mlab.options.offscreen = True
    figure = mlab.figure(size=SIZE, bgcolor=(1, 1, 1))
    yield figure
    mlab.close(figure)


def _markers(fig):
    """Red sphere at MNI (-40, 0, 0) (left), blue at (+40, 0, 0) (right), green at (0, 60, 0) (front)."""
    from mayavi import mlab

    mlab.points3d([-40], [0], [0], color=(1, 0, 0), scale_factor=20, figure=fig)
    mlab.points3d([40], [0], [0], color=(0, 0, 1), scale_factor=20, figure=fig)
    mlab.points3d([0], [60], [0], color=(0, 1, 0), scale_factor=20, figure=fig)


def _centroid(img, channel):
    """Mean (row, col) of pixels that are saturated in ``channel`` only; None when absent."""
    others = [c for c in range(3) if c != channel]
    mask = (img[..., channel] > 120) & np.all(img[..., others] < 80, axis=-1)
    if mask.sum() < 5:
        return None
    rows, cols = np.nonzero(mask)
    return rows.mean(), cols.mean()


def _shot(fig):
    from mayavi import mlab

    return mlab.screenshot(figure=fig, mode="rgb", antialiased=False)


@pytest.mark.parametrize("name, left_on_image_left", [
    ("superior", True), ("posterior", True), ("anterior", False), ("inferior", False),
])
def test_left_is_left_in_pixels(fig, name, left_on_image_left):
    from brainviz.scene.views import set_view

    _markers(fig)
    set_view(fig, name)
    img = _shot(fig)
    red, blue = _centroid(img, 0), _centroid(img, 2)
    assert red is not None and blue is not None
    assert (red[1] < blue[1]) == left_on_image_left
    if name == "superior":
        green = _centroid(img, 1)
        assert green[0] < red[0]  # anterior is up


def test_lateral_views_put_anterior_on_the_expected_side(fig):
    from brainviz.scene.views import set_view

    _markers(fig)
    set_view(fig, "left")
    img = _shot(fig)
    # seen from the left, the front (green) is on the image left of the red (left) marker
    assert _centroid(img, 1)[1] < _centroid(img, 0)[1]
    set_view(fig, "right")
    img = _shot(fig)
    assert _centroid(img, 1)[1] > _centroid(img, 2)[1]


def _display(fig, xyz):
    renderer = fig.scene.renderer
    renderer.world_point = tuple(xyz) + (1.0,)
    renderer.world_to_display()
    return np.array(renderer.display_point[:2])


@pytest.mark.parametrize("name", ["left", "anterior", "superior", "medial-right"])
def test_empty_scene_frames_the_mni_brain(fig, name):
    from brainviz.scene.views import MNI_BRAIN_BOUNDS, set_view

    set_view(fig, name)
    b = MNI_BRAIN_BOUNDS
    corners = np.array([_display(fig, (x, y, z)) for x in b[:2] for y in b[2:4] for z in b[4:]])
    if name.startswith("medial"):
        corners = np.array([_display(fig, (x, y, z)) for x in (0, b[1]) for y in b[2:4] for z in b[4:]])
    # everything inside the window ...
    assert corners.min() >= 0 and corners.max() <= SIZE[0]
    # ... and filling most of it along its largest extent
    span = corners.max(axis=0) - corners.min(axis=0)
    assert span.max() > 0.75 * SIZE[0]


def test_scene_bounds_are_framed_and_distance_overrides(fig):
    from mayavi import mlab

    from brainviz.scene.views import scene_bounds, set_view

    mlab.points3d([-10, 10], [0, 0], [0, 0], scale_factor=4, figure=fig)
    b = scene_bounds(fig)
    assert b[0] == pytest.approx(-12, abs=0.5) and b[1] == pytest.approx(12, abs=0.5)
    cam = set_view(fig, "superior")
    auto = np.linalg.norm(np.subtract(cam.position, cam.focal_point))
    assert auto < 100  # a small object gets a close camera
    cam = set_view(fig, "superior", distance=400)
    assert np.linalg.norm(np.subtract(cam.position, cam.focal_point)) == pytest.approx(400)


def test_medial_view_clips_the_other_hemisphere_and_reset_restores(fig):
    from brainviz.scene.views import DEFAULT_VIEW, reset_view, set_view

    _markers(fig)
    set_view(fig, "medial-left")
    img = _shot(fig)
    assert _centroid(img, 0) is not None  # left hemisphere marker seen from the midline
    assert _centroid(img, 2) is None  # right hemisphere marker clipped away
    set_view(fig, "medial-right")
    img = _shot(fig)
    assert _centroid(img, 0) is None and _centroid(img, 2) is not None
    cam = reset_view(fig)
    img = _shot(fig)
    assert _centroid(img, 0) is not None and _centroid(img, 2) is not None
    assert DEFAULT_VIEW == "superior"
    assert np.allclose(np.subtract(cam.position, cam.focal_point)[:2], 0)


def test_bad_view_arguments(fig):
    from brainviz.scene.views import VIEWS, set_view

    with pytest.raises(ParameterError, match="view name must be one of 'left', 'right'.*'medial-right'; got 'top'"):
        set_view(fig, "top")
    with pytest.raises(ParameterError, match="bounds must be 6 finite numbers"):
        set_view(fig, "left", bounds=(0, 1, 2))
    with pytest.raises(ParameterError, match="distance must be a positive number of mm; got -5"):
        set_view(fig, "left", distance=-5)
    assert len(VIEWS) == 8 and "medial-left" in VIEWS


def test_parallel_projection_is_framed_too(fig):
    from brainviz.scene.views import MNI_BRAIN_BOUNDS, set_view

    fig.scene.camera.parallel_projection = True
    set_view(fig, "left")
    b = MNI_BRAIN_BOUNDS
    corners = np.array([_display(fig, (x, y, z)) for x in b[:2] for y in b[2:4] for z in b[4:]])
    assert corners.min() >= 0 and corners.max() <= SIZE[0]
    assert (corners.max(axis=0) - corners.min(axis=0)).max() > 0.75 * SIZE[0]
