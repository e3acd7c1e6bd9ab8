"""GlassBrainVisual: a translucent shell with blobs inside, checked in pixels."""
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainviz.exceptions import EmptyOverlayWarning

pytestmark = pytest.mark.render


@pytest.fixture
def blob_map():
    """A 4 mm map: +6 within 12 mm of (30, -20, 20), -6 within 12 mm of (-30, -20, 20)."""
    shape = (46, 55, 46)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-90, -126, -72)
    xyz = nib.affines.apply_affine(affine, np.indices(shape).reshape(3, -1).T)
    data = 6.0 * (np.linalg.norm(xyz - (30, -20, 20), axis=1) < 12)
    data -= 6.0 * (np.linalg.norm(xyz - (-30, -20, 20), axis=1) < 12)
    return nib.Nifti1Image(data.reshape(shape).astype(np.float32), affine)


def test_shell_is_translucent_and_restyled(figure, px):
    from brainviz.scene.glass import GlassBrainVisual
    from brainviz.scene.views import set_view

    g = GlassBrainVisual(figure=figure, opacity=0.15)
    set_view(figure, "superior")
    img = px.shot(figure)
    drawn = ~px.is_white(img, tol=3)
    assert drawn.sum() > 0.15 * drawn.size
    light = img[drawn].mean()
    assert light > 170  # translucent over white, not solid grey
    g.opacity = 0.8
    assert px.shot(figure)[drawn].mean() < light - 30
    lo = g.bounds
    assert lo[0] < -60 and lo[1] > 60


def test_blobs_show_through_the_glass(figure, blob_map, px):
    from brainviz.scene.glass import GlassBrainVisual
    from brainviz.scene.views import set_view

    # blobs are coloured by value: cyan_black_yellow has no white ends (nilearn's cold_hot is
    # white at its extremes), so the sign reads from the hue
    g = GlassBrainVisual(blob_map, figure=figure, threshold=3, cmap="cyan_black_yellow")
    set_view(figure, "superior")
    img = px.shot(figure)
    r, c = px.to_pixel(figure, (30, -20, 20))
    assert img[r, c, 0] > 150 and img[r, c, 2] < 120  # warm blob on the right
    r, c = px.to_pixel(figure, (-30, -20, 20))
    assert img[r, c, 2] > 150 and img[r, c, 0] < 120  # cold blob on the left
    assert g.value_at((30, -20, 20)) == pytest.approx(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyOverlayWarning)
        g.threshold = 7
    img = px.shot(figure)
    assert not ((img[..., 0].astype(int) - img[..., 2]) > 80).any()


def test_4d_map_is_refused(figure, img_4d):
    from brainviz.exceptions import DimensionError
    from brainviz.scene.glass import GlassBrainVisual

    with pytest.raises(DimensionError, match="'img' parameter expected a 3D image"):
        GlassBrainVisual(img_4d, figure=figure)


def test_default_shell_is_the_whole_brain_with_cerebellum_and_brainstem(figure, px):
    """The default outline is the MNI152 brain mask: cerebellar nodes sit inside it (the
    pial cortex alone stops above them)."""
    from brainviz.data import load_dosenbach_2010
    from brainviz.scene.glass import GlassBrainVisual
    from brainviz.scene.views import set_view

    g = GlassBrainVisual(figure=figure)
    assert g.shell == "mask"
    zmin = g.bounds[4]
    assert zmin < -55  # down to the brainstem and cerebellum
    atlas = load_dosenbach_2010()
    cerebellum = np.asarray(atlas.coords)[[n == "cerebellum" for n in atlas.networks]]
    assert len(cerebellum) > 10 and cerebellum[:, 2].min() > zmin
    set_view(figure, "left")
    img = px.shot(figure)
    drawn = ~px.is_white(img, tol=3)
    inside = [drawn[px.to_pixel(figure, xyz)] for xyz in cerebellum]
    assert all(inside)
    g.shell = "pial"
    img = px.shot(figure)
    drawn = ~px.is_white(img, tol=3)
    # the cortex alone leaves cerebellar nodes outside the outline
    assert not all(drawn[px.to_pixel(figure, xyz)] for xyz in cerebellum)
