"""Rendering a figure offscreen at any size: the primitives behind every export.

:func:`render_image` renders a figure at a requested pixel size and returns
the pixels; the render window is resized for the render only and then put
back exactly (size, camera, background, multisampling). Images larger than
:data:`TILE_SIZE` are rendered in tiles. :func:`resolve_size` turns the ways
of asking for a size into pixels. Used by :mod:`brainviz.scene.export` and
:mod:`brainviz.scene._montage` (neither imports the other's internals).

Transparency is computed, not read from the framebuffer's alpha (which
translucent actors and depth peeling leave unreliable): the scene is rendered
once on black and once on white. A pixel of coverage ``a`` and colour ``c``
reads ``B = a c`` on black and ``W = a c + (1 - a) 255`` on white, so
``a = 1 - (W - B) / 255`` and ``c = B / a``.
"""
import numpy as np

from ..exceptions import ExportError, ParameterError
from ._writers import _MM_PER_INCH

__all__ = ["MAX_SIZE", "TILE_SIZE", "DEFAULT_DPI", "resolve_size", "render_image", "frame_grabber"]

#: Largest width or height in pixels. 10000 covers a full-page figure at
#: 1200 DPI (210 mm -> 9921 px); beyond it one RGBA frame passes 400 MB and
#: the black/white pair for transparency a gigabyte.
MAX_SIZE = 10000

#: DPI used when a width in mm is given without a DPI.
DEFAULT_DPI = 300


# --------------------------------------------------------------------------- checks
def _check_positive(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number; got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number; got {value!r}")
    return value


def _check_pixels(width, height, what="size"):
    for v in (width, height):
        if v < 1:
            raise ParameterError(
                f"The image {what} must be at least 1 x 1 pixels; got {width} x {height}"
            )
        if v > MAX_SIZE:
            raise ParameterError(
                f"The image {what} {width} x {height} pixels is beyond the limit of "
                f"{MAX_SIZE} x {MAX_SIZE}; lower the size, width_mm or dpi"
            )
    return int(width), int(height)


def resolve_size(size=None, width_mm=None, height_mm=None, dpi=None, aspect=1.0,
                 magnification=None, default=None):
    """Turn the ways of asking for a size into ``(width_px, height_px, dpi)``.

    Parameters
    ----------
    size : (int, int), optional
        Width and height in pixels.
    width_mm, height_mm : float, optional
        Physical size in millimetres; the height defaults to ``width_mm / aspect``.
        Pixels are ``round(mm / 25.4 * dpi)``: 180 mm at 300 DPI gives 2126 px.
    dpi : float, optional
        Dots per inch, written into the file. Defaults to :data:`DEFAULT_DPI`
        with ``width_mm``, and to nothing written otherwise.
    aspect : float, default=1.0
        Width / height used when only a width is known.
    magnification : int, optional
        Multiplies the pixel size (mayavi's ``magnification``).
    default : (int, int), optional
        Pixel size when neither ``size`` nor ``width_mm`` is given (the window's).

    Returns
    -------
    width, height : int
    dpi : float or None

    Raises
    ------
    ParameterError
        Both ``size`` and ``width_mm`` given, non-positive values, or a size of
        zero or beyond :data:`MAX_SIZE`.
    """
    if dpi is not None:
        dpi = _check_positive(dpi, "dpi")
    if size is not None and (width_mm is not None or height_mm is not None):
        raise ParameterError("Give either size (pixels) or width_mm/height_mm (with dpi), not both")
    if size is not None:
        try:
            width, height = (int(round(float(v))) for v in size)
        except (TypeError, ValueError):
            raise ParameterError(f"size must be (width, height) in pixels; got {size!r}") from None
    elif width_mm is not None or height_mm is not None:
        if dpi is None:
            dpi = float(DEFAULT_DPI)
        if width_mm is None:
            height_mm = _check_positive(height_mm, "height_mm")
            width_mm = height_mm * aspect
        width_mm = _check_positive(width_mm, "width_mm")
        height_mm = width_mm / aspect if height_mm is None else _check_positive(height_mm, "height_mm")
        width = int(round(width_mm / _MM_PER_INCH * dpi))
        height = int(round(height_mm / _MM_PER_INCH * dpi))
    else:
        if default is None:
            raise ParameterError("Give size (pixels) or width_mm (with dpi)")
        width, height = (int(v) for v in default)
    if magnification is not None:
        mag = int(magnification)
        if mag < 1 or mag != magnification:
            raise ParameterError(f"magnification must be a whole number >= 1; got {magnification!r}")
        width, height = width * mag, height * mag
    width, height = _check_pixels(width, height)
    return width, height, dpi


# --------------------------------------------------------------------------- rendering
def _scene(figure):
    if figure is None:
        from ._figure import get_figure

        figure = get_figure(None)
    scene = getattr(figure, "scene", None)
    if scene is None or getattr(scene, "render_window", None) is None:
        raise ParameterError(
            f"figure must be an open Mayavi figure (mlab.figure()); got {figure!r}"
        )
    return figure, scene


def _renderers(render_window):
    coll = render_window.GetRenderers()
    coll.InitTraversal()
    return [coll.GetNextItem() for _ in range(coll.GetNumberOfItems())]


class _WindowState:
    """Everything export touches on a render window, saved and put back exactly; the maps'
    cut-out slices are blended meanwhile (:func:`brainviz.scene.statmap.blend_for_export`)."""

    def __init__(self, scene):
        from tvtk.api import tvtk

        from .statmap import blend_for_export

        self.scene = scene
        self.blended = blend_for_export(scene)
        self.window = tvtk.to_vtk(scene.render_window)
        self.size = tuple(self.window.GetSize())
        self.samples = self.window.GetMultiSamples()
        self.renderers = []
        for ren in _renderers(self.window):
            cam = ren.GetActiveCamera()
            saved = type(cam)()
            saved.DeepCopy(cam)
            self.renderers.append(
                (ren, ren.GetBackground(), ren.GetGradientBackground(), ren.GetUseFXAA(),
                 ren.GetBackgroundAlpha(), cam, saved)
            )

    def restore(self, redraw=True):
        from .statmap import restore_cutouts

        restore_cutouts(self.blended)
        self.blended = []
        win = self.window
        win.SetMultiSamples(self.samples)
        win.SetSize(*self.size)
        for ren, bg, grad, fxaa, bg_alpha, cam, saved in self.renderers:
            ren.SetBackground(*bg)
            ren.SetGradientBackground(grad)
            ren.SetUseFXAA(fxaa)
            ren.SetBackgroundAlpha(bg_alpha)
            cam.DeepCopy(saved)
            # DeepCopy fires no ModifiedEvent: without one, tvtk's camera keeps
            # (and may later push back) the values of the last export view.
            cam.Modified()
        # Redraw at the original size, so the window shows the scene and not
        # the last export frame.
        if redraw and not getattr(self.scene, "disable_render", False):
            win.Render()


#: Largest framebuffer side rendered in one piece; larger images are rendered
#: in tiles (vtkWindowToImageFilter's scale), so an 8000 x 8000 figure needs
#: 4 tiles of 4000 x 4000 instead of one multisampled 8000 x 8000 framebuffer.
TILE_SIZE = 4096


def _tiling(width, height):
    """Return (tile width, tile height, scale) covering width x height with tiles <= TILE_SIZE."""
    scale = max(1, -(-max(width, height) // TILE_SIZE))
    return -(-width // scale), -(-height // scale), scale


def _grab(window, width, height, scale=1):
    """Render ``window`` and return its pixels as an (height, width, 3) uint8 array, top row first.

    With ``scale`` > 1 the window (set to the tile size) is rendered in
    ``scale`` x ``scale`` tiles, and the (slightly larger) mosaic is cropped to
    ``width`` x ``height`` about its centre.
    """
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    # Read the back buffer: VTK resolves its multisamples there with a plain
    # average (glBlitFramebuffer), linear in the stored sRGB values, which is
    # what the black/white transparency maths needs. The front buffer holds a
    # gamma-correct resolve: a render on black and one on white then disagree
    # channel by channel on an edge pixel's coverage.
    w2i = vtkWindowToImageFilter()
    w2i.SetInput(window)
    w2i.SetInputBufferTypeToRGB()
    w2i.ReadFrontBufferOff()
    w2i.ShouldRerenderOn()
    if scale > 1:
        w2i.SetScale(scale, scale)
        # Lines and points keep their width across tiles instead of growing.
        w2i.FixBoundaryOn()
    # No swap: a swap resolves the samples again into the display framebuffer, which is
    # not read here (a whole-frame pass, a quarter of a movie frame's time under software
    # OpenGL; the pixels read are the same).
    swap = window.GetSwapBuffers()
    window.SetSwapBuffers(0)
    try:
        w2i.Update()
    finally:
        window.SetSwapBuffers(swap)
    image = w2i.GetOutput()
    nx, ny, _ = image.GetDimensions()
    tw, th = window.GetSize()
    if (nx, ny) != (tw * scale, th * scale) or nx < width or ny < height:
        raise ExportError(
            f"The renderer gave a {nx} x {ny} image instead of {width} x {height}: "
            "the OpenGL driver cannot render frames this large; lower the size"
        )
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(ny, nx, 3)[::-1]
    x0, y0 = (nx - width) // 2, (ny - height) // 2
    return np.ascontiguousarray(pixels[y0:y0 + height, x0:x0 + width])


def _unmix(black, white):
    """Colour and alpha from a render on black and one on white (see the module docstring)."""
    height, width, _ = black.shape
    out = np.empty((height, width, 4), dtype=np.uint8)
    # Rows in chunks: an 8000 x 8000 frame in float would need gigabytes.
    step = max(1, 2 ** 22 // max(width, 1))
    for start in range(0, height, step):
        b = black[start:start + step].astype(np.float32)
        w = white[start:start + step].astype(np.float32)
        alpha = 255.0 - np.clip((w - b).mean(axis=2), 0.0, 255.0)
        safe = np.maximum(alpha, 1.0)[..., None]
        rgb = np.where(alpha[..., None] > 0.5, np.clip(b * 255.0 / safe, 0.0, 255.0), 0.0)
        out[start:start + step, :, :3] = np.round(rgb)
        out[start:start + step, :, 3] = np.round(alpha)
    return out


def render_image(figure=None, size=None, transparent=False, multisamples=4, _redraw=True):
    """Render ``figure`` offscreen at ``size`` and return its pixels.

    The figure's window is left exactly as it was (size, camera, background,
    multisampling) once the pixels are read.

    Parameters
    ----------
    figure : mayavi Scene, optional
        The figure; the current one when None.
    size : (int, int), optional
        Width and height in pixels; the window's size when None.
    transparent : bool, default=False
        Return RGBA with the background transparent (alpha 0) and the scene's
        coverage as alpha.
    multisamples : int, default=4
        Multisample anti-aliasing samples per pixel; 0 turns anti-aliasing off.

    Returns
    -------
    pixels : ndarray, shape (height, width, 3 or 4), dtype uint8
        Top row first.

    Examples
    --------
    >>> from mayavi import mlab
    >>> from brainviz.scene.export import render_image
    >>> fig = mlab.figure(size=(120, 100))
    >>> _ = mlab.points3d(0, 0, 0, figure=fig)
    >>> render_image(fig, (64, 48), transparent=True).shape
    (48, 64, 4)
    >>> mlab.close(fig)
    """
    figure, scene = _scene(figure)
    state = _WindowState(scene)
    width, height = _check_pixels(*(state.size if size is None else size))
    window = state.window
    try:
        window.SetMultiSamples(int(multisamples))
        for ren, *_ in state.renderers:
            ren.SetUseFXAA(False)
        tile_w, tile_h, scale = _tiling(width, height)
        window.SetSize(tile_w, tile_h)
        if not transparent:
            return _grab(window, width, height, scale)
        frames = []
        for color in ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)):
            for ren, *_ in state.renderers:
                ren.SetGradientBackground(False)
                ren.SetBackground(*color)
            frames.append(_grab(window, width, height, scale))
        return _unmix(*frames)
    finally:
        # _redraw=False: a caller rendering several images (a montage)
        # redraws the window once at the end.
        state.restore(redraw=_redraw)




class frame_grabber:
    """Render many frames of one size: the window is set up once (size, multisampling, no
    FXAA) and put back once, instead of for every frame as :func:`render_image` does.

    A movie changes only the camera (or a map's frame) between frames: resizing the
    window, reallocating its multisampled framebuffers and putting them back for each of
    them cost as much as the render itself under software OpenGL.

    Use as a context manager; calling it renders the scene as it is now and returns its
    (height, width, 3) uint8 pixels, top row first::

        with frame_grabber(figure, (800, 700)) as grab:
            for angle in angles:
                ...  # move the camera
                pixels = grab()
    """

    def __init__(self, figure, size, multisamples=4, fxaa=False):
        figure, scene = _scene(figure)
        self.state = _WindowState(scene)
        self.width, self.height = _check_pixels(*size)
        self.multisamples = int(multisamples)
        self.fxaa = bool(fxaa)

    def __enter__(self):
        window = self.state.window
        window.SetMultiSamples(self.multisamples)
        for ren, *_ in self.state.renderers:
            ren.SetUseFXAA(self.fxaa)
        self.tile_w, self.tile_h, self.scale = _tiling(self.width, self.height)
        window.SetSize(self.tile_w, self.tile_h)
        return self

    def __call__(self):
        return _grab(self.state.window, self.width, self.height, self.scale)

    def __exit__(self, *exc):
        self.state.restore(redraw=False)
        return False
