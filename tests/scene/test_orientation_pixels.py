"""Left is left, proven in pixels.

Views come from :mod:`brainviz.scene.views` (real, non-mirrored cameras): the
superior view is neurological (subject's left on the image left, anterior up);
the anterior view faces the subject, so the subject's left is on the image right.
"""
import os

import nibabel as nib
import numpy as np
import pytest

pytestmark = pytest.mark.render


def _centroid(img, colour):
    """(row, col) centroid of the pixels of a saturated primary colour (0 red, 1 green, 2 blue)."""
    p = img.astype(int)
    others = [c for c in range(3) if c != colour]
    mask = (p[..., colour] > 180) & (p[..., others[0]] < 70) & (p[..., others[1]] < 70)
    if mask.sum() < 5:
        return None
    rows, cols = np.nonzero(mask)
    return rows.mean(), cols.mean()


@pytest.mark.parametrize("view, left_on_image_left, up", [
    ("superior", True, (0, 60, 0)),   # anterior up
    ("anterior", False, (0, 0, 60)),  # superior up
])
def test_markers_fall_on_the_expected_side(figure, view, left_on_image_left, up):
    from mayavi import mlab

    from brainviz.scene._figure import screenshot
    from brainviz.scene.views import set_view
    from brainviz.scene.volume import AnatomyVisual
    from brainviz.data import load_template

    AnatomyVisual(load_template(), figure=figure, cursor=(0, 0, -30), opacity=1.0)
    for xyz, colour in (((-40, 0, 0), (1, 0, 0)), ((40, 0, 0), (0, 0, 1)), (up, (0, 1, 0))):
        mlab.points3d(*[[v] for v in xyz], scale_factor=14, color=colour, figure=figure,
                      resolution=12)
    set_view(figure, view)
    img = screenshot(figure)
    red, blue, green = _centroid(img, 0), _centroid(img, 2), _centroid(img, 1)
    assert red is not None and blue is not None and green is not None
    assert (red[1] < blue[1]) == left_on_image_left  # columns: image left = small
    assert abs(red[1] - blue[1]) > 60
    assert green[0] < min(red[0], blue[0]) - 20  # rows: 'up' is at the top


def _flip_x(img):
    """The same image stored with the first axis reversed (RAS -> LAS): same world, other order."""
    data = np.asarray(img.dataobj)[::-1].copy()
    n = img.shape[0]
    flip = np.eye(4)
    flip[0, 0] = -1
    flip[0, 3] = n - 1
    return nib.Nifti1Image(data, img.affine @ flip)


def _render(offscreen_mlab, anatomy, stat):
    from brainviz.scene._figure import screenshot
    from brainviz.scene.statmap import StatMapVisual
    from brainviz.scene.volume import AnatomyVisual

    fig = offscreen_mlab.figure(size=(200, 200), bgcolor=(1, 1, 1))
    AnatomyVisual(anatomy, figure=fig, cursor=(-38, -20, 10))
    StatMapVisual(stat, threshold=3, figure=fig, show_isosurface=True)
    offscreen_mlab.view(azimuth=-120, elevation=60, distance=420, focalpoint=(0, -18, 18),
                        figure=fig)
    fig.scene.camera.view_up = (0, 0, 1)
    img = screenshot(fig).astype(float)
    folder = os.environ.get("BRAINVIZ_TEST_PNG_DIR")
    if folder:  # to look at the renders
        from PIL import Image

        name = f"orientation_{len(os.listdir(folder))}.png"
        Image.fromarray(img.astype(np.uint8)).save(os.path.join(folder, name))
    offscreen_mlab.close(fig)
    return img


def test_template_stored_ras_or_las_renders_the_same(offscreen_mlab):
    from brainviz.data import load_motor_activation, load_template

    template = load_template().to_image()
    motor = load_motor_activation().to_image()
    assert nib.aff2axcodes(template.affine) == ("R", "A", "S")
    las_template, las_motor = _flip_x(template), _flip_x(motor)
    assert nib.aff2axcodes(las_template.affine)[0] == "L"

    ras = _render(offscreen_mlab, template, motor)
    las = _render(offscreen_mlab, las_template, las_motor)
    assert np.corrcoef(ras.ravel(), las.ravel())[0, 1] >= 0.99
    # The template is nearly symmetric, so a whole-image correlation barely notices a mirror.
    # The coloured overlay does: the LAS data read with the RAS affine (left and right
    # swapped) puts the blobs elsewhere, while the true LAS copy puts them on the same pixels.
    swapped = nib.Nifti1Image(np.asarray(las_motor.dataobj), motor.affine)
    wrong = _render(offscreen_mlab, las_template, swapped)

    def coloured(img):
        return np.ptp(img, axis=-1) > 60

    def overlap(a, b):
        return (a & b).sum() / max((a | b).sum(), 1)

    assert coloured(ras).sum() > 100
    assert overlap(coloured(ras), coloured(las)) > 0.95
    assert overlap(coloured(ras), coloured(wrong)) < 0.6
