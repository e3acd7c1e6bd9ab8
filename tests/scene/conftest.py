"""Offscreen figures and pixel helpers for the scene tests.

Figures are small (300 x 300 or less): software rendering is slow. Every
figure a test opens is closed after it.
"""
import numpy as np
import pytest


@pytest.fixture
def offscreen_mlab():
    from mayavi import mlab

    old = mlab.options.offscreen
    mlab.options.offscreen = True
    yield mlab
    mlab.close(all=True)
    mlab.options.offscreen = old


@pytest.fixture
def figure(offscreen_mlab):
    """A white 300 x 300 offscreen figure."""
    fig = offscreen_mlab.figure(size=(300, 300), bgcolor=(1, 1, 1))
    yield fig
    offscreen_mlab.close(fig)


def shot(fig):
    """Render ``fig`` and return its pixels (height, width, 3) uint8."""
    from brainviz.scene._figure import screenshot

    return screenshot(fig)


def to_pixel(fig, xyz):
    """Row and column of world point ``xyz`` (mm) in a screenshot of ``fig``."""
    ren = fig.scene.renderer
    ren.world_point = (float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    ren.world_to_display()
    x, y, _ = ren.display_point
    height = int(fig.scene.get_size()[1])
    return int(round(height - 1 - y)), int(round(x))


def look_along(fig, axis, sign=1, distance=None):
    """Put the camera on the ``sign`` side of world ``axis`` ('x', 'y' or 'z'), looking at 0."""
    from mayavi import mlab

    views = {
        ("x", 1): dict(azimuth=0, elevation=90),
        ("x", -1): dict(azimuth=180, elevation=90),
        ("y", 1): dict(azimuth=90, elevation=90),
        ("y", -1): dict(azimuth=270, elevation=90),
        ("z", 1): dict(azimuth=0, elevation=0),
        ("z", -1): dict(azimuth=0, elevation=180),
    }
    mlab.view(focalpoint=(0, 0, 0), distance=distance, figure=fig, **views[(axis, sign)])
    fig.scene.camera.parallel_projection = True
    fig.scene.reset_zoom()


def is_white(pixels, tol=8):
    return np.all(pixels >= 255 - tol, axis=-1)


def is_grey(pixels, tol=12):
    p = pixels.astype(int)
    return (np.ptp(p, axis=-1) <= tol) & ~is_white(pixels)


@pytest.fixture
def blob_img():
    """A (20, 24, 28) 3 mm volume in RAS: a bright ellipsoid 'head' of values 50-100, zero outside."""
    import nibabel as nib

    shape = (20, 24, 28)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = -1.5 * (np.asarray(shape) - 1)  # centred on (0, 0, 0)
    ijk = np.indices(shape).astype(float)
    centre = (np.asarray(shape) - 1)[:, None, None, None] / 2
    r = np.sqrt((((ijk - centre) / (np.asarray(shape)[:, None, None, None] * 0.45)) ** 2).sum(0))
    data = np.where(r < 1, 50 + 50 * (1 - r), 0).astype(np.float32)
    return nib.Nifti1Image(data, affine)


@pytest.fixture
def px():
    """Pixel helpers: shot, to_pixel, look_along, is_white, is_grey."""
    import types

    return types.SimpleNamespace(shot=shot, to_pixel=to_pixel, look_along=look_along,
                                 is_white=is_white, is_grey=is_grey)
