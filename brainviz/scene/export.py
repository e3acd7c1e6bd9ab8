"""Figures for papers: write a figure at any size, with real transparency, from any door.

One export path serves the window, :mod:`brainviz.mlab` and ``brainviz render``:

- :func:`render_image` renders a figure offscreen at a requested pixel size and
  returns the pixels. The render window is resized for the render only (what is
  resized is VTK's framebuffer: offscreen figures never show it; on-screen
  windows are put back at once) and then everything is restored exactly: size,
  camera, background, multisampling. Images larger than :data:`TILE_SIZE` are
  rendered in tiles. The camera's view angle is kept, so the framing is the
  same at every size with the same aspect ratio.
- :func:`savefig` turns a pixel size, or a physical width in mm plus a DPI,
  into pixels, renders, and writes PNG, TIFF or JPEG with Pillow (DPI in the
  PNG ``pHYs`` chunk and the TIFF/JPEG resolution tags), or PDF, SVG and EPS
  through GL2PS. It writes to a temporary file in the destination folder and
  renames it (:func:`os.replace`), so a failure never leaves a partial file.
- :func:`save_montage` (in :mod:`brainviz.scene._montage`) puts several named
  views side by side with one colour bar of its own.

Anti-aliasing is multisampling (4 samples by default), read back resolved as
a plain average of the samples, which keeps the transparency maths below exact.

Transparency is computed, not read from the framebuffer's alpha (which
translucent actors and depth peeling leave unreliable): the scene is rendered
once on black and once on white. A pixel of coverage ``a`` and colour ``c``
reads ``B = a c`` on black and ``W = a c + (1 - a) 255`` on white, so
``a = 1 - (W - B) / 255`` and ``c = B / a``. Edge pixels therefore get their
true colour with partial alpha, without the dark halo that compositing a
premultiplied black background leaves; a translucent glass brain gets a
partial alpha too.
"""
from pathlib import Path

from ..exceptions import ExportError
from ._montage import save_montage as _save_montage
from ._render import (  # noqa: F401  (part of this module's API)
    DEFAULT_DPI, MAX_SIZE, TILE_SIZE, _scene, _WindowState, render_image, resolve_size,
)
from ._writers import (  # noqa: F401  (part of this module's API)
    EXPORT_FORMATS,
    FORMATS,
    RASTER_FORMATS,
    VECTOR_FORMATS,
    _replace,
    _svg_physical_size,
    _temporary_path,
    check_output_path,
    write_image,
)

__all__ = [
    "EXPORT_FORMATS",
    "RASTER_FORMATS",
    "VECTOR_FORMATS",
    "FORMATS",
    "MAX_SIZE",
    "TILE_SIZE",
    "DEFAULT_DPI",
    "resolve_size",
    "render_image",
    "write_image",
    "savefig",
    "save_montage",
]


def _write_vector(scene, path, ext, width, height, dpi):
    """Write PDF/SVG/EPS with GL2PS from the scene resized to ``width`` x ``height``."""
    try:
        from vtkmodules.vtkIOExportGL2PS import vtkGL2PSExporter
        import vtkmodules.vtkRenderingGL2PSOpenGL2  # noqa: F401  (registers the GL2PS overrides)
    except ImportError as exc:  # pragma: no cover - VTK built without GL2PS
        raise ExportError(
            f"Cannot write {str(path)!r}: this VTK has no GL2PS support ({exc}); write PNG or TIFF"
        ) from exc
    state = _WindowState(scene)
    # The reserved name keeps the folder free of clashes; GL2PS appends the extension to it.
    reserved = _temporary_path(path)
    written = Path(str(reserved) + ext)
    try:
        state.window.SetSize(width, height)
        exporter = vtkGL2PSExporter()
        exporter.SetRenderWindow(state.window)
        exporter.SetFileFormat(EXPORT_FORMATS[ext].gl2ps)
        exporter.SetFilePrefix(str(reserved))
        exporter.CompressOff()
        exporter.SetTitle("brainviz figure")
        exporter.Write()
        if not written.is_file() or written.stat().st_size == 0:
            raise ExportError(f"Cannot write {str(path)!r}: GL2PS produced no output")
        if ext == ".svg" and dpi is not None:
            _svg_physical_size(written, width, height, dpi)
        _replace(written, path)
    finally:
        state.restore()
        for leftover in (reserved, written):
            if leftover.exists():
                leftover.unlink()
    return path


def savefig(path, figure=None, size=None, width_mm=None, dpi=None, transparent=False,
            magnification=None, height_mm=None, multisamples=4):
    """Write ``figure`` to an image file at any size, without touching its window.

    Parameters
    ----------
    path : str or path-like
        Output file; the extension picks the format: ``.png``, ``.tif``/``.tiff``,
        ``.jpg``/``.jpeg`` (raster, written with Pillow), or ``.pdf``, ``.svg``,
        ``.eps`` (through VTK's GL2PS exporter, see Notes).
    figure : mayavi Scene, optional
        The figure (``mlab.figure()``, a brainviz visual's ``.figure``); the
        current figure when None.
    size : (int, int), optional
        Width and height in pixels, up to :data:`MAX_SIZE` each, whatever the
        window's size.
    width_mm : float, optional
        Physical width in millimetres, with ``dpi`` (default
        :data:`DEFAULT_DPI`): 180 mm at 300 DPI gives 2126 pixels. The height
        follows the window's aspect ratio unless ``height_mm`` is given.
    dpi : float, optional
        Dots per inch, written into the file's metadata (PNG ``pHYs``,
        TIFF and JPEG resolution).
    transparent : bool, default=False
        Transparent background (PNG and TIFF): alpha 0 where nothing is drawn,
        the true colour with partial alpha on anti-aliased edges (no dark halo).
    magnification : int, optional
        Multiply the pixel size (as in ``mayavi.mlab.savefig``).
    height_mm : float, optional
        Physical height in millimetres (with ``width_mm`` and ``dpi``).
    multisamples : int, default=4
        Anti-aliasing samples per pixel; 0 turns anti-aliasing off.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ExportError
        Unknown extension (the message lists :data:`FORMATS`), a folder that
        does not exist or cannot be written, JPEG or vector output with
        ``transparent=True``, or a renderer failure. No file is left behind.
    ParameterError
        A size of zero, beyond :data:`MAX_SIZE`, or both ``size`` and ``width_mm``.

    Notes
    -----
    PDF, SVG and EPS are written by GL2PS, which keeps text and 2D annotations
    as vectors but embeds every 3D visual (anatomy slices, statistical
    isosurfaces, the glass brain, surfaces, region maps, connectome nodes and
    edges) as a raster image at the requested pixel size. The PDF/EPS page is
    one point per pixel; the SVG states its physical size in mm when a DPI is
    known. Transparent backgrounds are raster only (PNG, TIFF).

    Examples
    --------
    >>> import tempfile, os
    >>> from mayavi import mlab
    >>> from brainviz.scene.export import savefig
    >>> fig = mlab.figure(size=(100, 100))
    >>> _ = mlab.points3d(0, 0, 0, figure=fig)
    >>> out = savefig(os.path.join(tempfile.mkdtemp(), "fig.png"), fig, width_mm=20, dpi=100)
    >>> from PIL import Image
    >>> Image.open(out).size
    (79, 79)
    >>> mlab.close(fig)
    """
    path, ext = check_output_path(path, transparent=transparent)
    figure, scene = _scene(figure)
    window_size = tuple(int(v) for v in scene.render_window.size)
    aspect = window_size[0] / window_size[1] if window_size[1] else 1.0
    width, height, dpi = resolve_size(size, width_mm, height_mm, dpi, aspect=aspect,
                                      magnification=magnification, default=window_size)
    if not EXPORT_FORMATS[ext].raster:
        return _write_vector(scene, path, ext, width, height, dpi)
    pixels = render_image(figure, (width, height), transparent=transparent, multisamples=multisamples)
    return write_image(pixels, path, dpi=dpi)


def save_montage(path, figure=None, views=("left", "right", "superior"), **kwargs):
    """Write several named views of ``figure`` in a grid, with one colour bar of its own.

    See :func:`brainviz.scene._montage.save_montage` for the parameters.
    """
    return _save_montage(path, figure=figure, views=views, **kwargs)
