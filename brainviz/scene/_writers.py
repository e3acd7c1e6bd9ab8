"""Writing figure files: output-path checks, atomic writes, Pillow raster writers.

Split from :mod:`brainviz.scene.export` (which re-exports these names):
nothing here renders, so these helpers need neither Mayavi nor VTK.
"""
import os
from collections import namedtuple
from pathlib import Path

import numpy as np

from ..exceptions import ExportError, ParameterError

__all__ = ["EXPORT_FORMATS", "ImageFormat", "RASTER_FORMATS", "VECTOR_FORMATS", "FORMATS",
           "check_output_path", "write_image"]

#: What a file format can hold: ``name`` (Pillow's, for raster formats), ``raster``
#: (pixels, written by Pillow) or vector (GL2PS, ``gl2ps`` its format code), ``alpha``
#: (a transparent background), ``dpi`` (a resolution stored in the file), ``montage``
#: (composed figures and montages: every format, vector ones through matplotlib).
ImageFormat = namedtuple("ImageFormat", "name raster alpha dpi montage gl2ps")

#: Every format figures are written in, by extension: the CLI, the export dialog,
#: ``savefig`` and montages all ask this table.
EXPORT_FORMATS = {
    ".png": ImageFormat("PNG", True, True, True, True, None),
    ".tif": ImageFormat("TIFF", True, True, True, True, None),
    ".tiff": ImageFormat("TIFF", True, True, True, True, None),
    ".jpg": ImageFormat("JPEG", True, False, True, True, None),
    ".jpeg": ImageFormat("JPEG", True, False, True, True, None),
    ".pdf": ImageFormat("PDF", False, False, False, True, 2),
    ".svg": ImageFormat("SVG", False, False, True, True, 4),
    ".eps": ImageFormat("EPS", False, False, False, True, 1),
}
#: Extension -> Pillow format of the raster formats.
RASTER_FORMATS = {ext: f.name for ext, f in EXPORT_FORMATS.items() if f.raster}
#: Extension -> GL2PS file format code (vtkGL2PSExporter: EPS=1, PDF=2, SVG=4).
VECTOR_FORMATS = {ext: f.gl2ps for ext, f in EXPORT_FORMATS.items() if not f.raster}
#: Every extension savefig writes.
FORMATS = tuple(EXPORT_FORMATS)

_MM_PER_INCH = 25.4


def check_output_path(path, transparent=False, montage=False):
    """Return ``(Path, extension)`` for an output file, or raise :class:`ExportError`.

    The extension must be one of :data:`FORMATS` (case-insensitive) and its
    format must hold what is asked (a transparent background, a montage: see
    :data:`EXPORT_FORMATS`); the folder must exist and be writable, and the
    path must not be a folder.
    """
    try:
        path = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ExportError(f"The output path must be a file name; got {path!r}") from None
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise ExportError(
            f"Cannot write {str(path)!r}: unknown image extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    fmt = EXPORT_FORMATS[ext]
    if montage and not fmt.montage:
        raise ExportError(
            f"Cannot write the montage {str(path)!r}: montages are raster images; use one of "
            f"{', '.join(e for e, f in EXPORT_FORMATS.items() if f.montage)}")
    if transparent and not fmt.alpha:
        raise ExportError(
            f"Cannot write {str(path)!r} with a transparent background: {fmt.name} has no alpha "
            f"channel here; use one of {', '.join(e for e, f in EXPORT_FORMATS.items() if f.alpha)}")
    if path.is_dir():
        raise ExportError(f"Cannot write {str(path)!r}: it is a folder, expected a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"Cannot write {str(path)!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportError(f"Cannot write {str(path)!r}: permission denied")
    return path, ext


def _temporary_path(path):
    """A new hidden file next to ``path`` whose name says which process writes it.

    Temporary files of ``path`` left by a process that was killed are removed
    first (see :mod:`brainviz._files`).
    """
    from .._files import remove_stale, temp_name

    folder = path.parent if str(path.parent) else Path(".")
    remove_stale(folder, base=path.stem)
    tmp = folder / temp_name(path.stem, path.suffix + ".part")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return tmp


def _replace(tmp, path):
    try:
        # the temporary file is readable by the owner only; give the figure
        # the mode any new file gets (or keep the mode of the file replaced).
        if path.exists():
            mode = path.stat().st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"Cannot write {str(path)!r}: {exc.strerror or exc}") from exc


def write_image(pixels, path, dpi=None):
    """Write an (h, w, 3|4) uint8 array to ``path`` (PNG, TIFF, JPEG) atomically.

    The DPI, when given, goes into the PNG ``pHYs`` chunk, the TIFF
    resolution tags or the JPEG JFIF header. JPEG has no alpha channel: a
    transparent image raises :class:`ExportError`.

    Returns
    -------
    path : pathlib.Path
    """
    from PIL import Image

    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise ParameterError(
            f"pixels must be an (height, width, 3 or 4) uint8 array; got {pixels.shape} {pixels.dtype}"
        )
    path, ext = check_output_path(path, transparent=pixels.shape[2] == 4)
    if ext not in RASTER_FORMATS:
        raise ExportError(f"write_image writes {', '.join(RASTER_FORMATS)}; got {str(path)!r}")
    fmt = RASTER_FORMATS[ext]
    image = Image.fromarray(pixels, mode="RGBA" if pixels.shape[2] == 4 else "RGB")
    options = {}
    if dpi is not None:
        options["dpi"] = (float(dpi), float(dpi))
    if fmt == "TIFF":
        options["compression"] = "tiff_lzw"
    elif fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    tmp = _temporary_path(path)
    try:
        try:
            image.save(tmp, format=fmt, **options)
        except OSError as exc:
            raise ExportError(f"Cannot write {str(path)!r}: {exc}") from exc
        _replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _svg_physical_size(svg_path, width, height, dpi):
    # GL2PS sizes the page in points, one per pixel; state the size in mm so
    # that the figure is placed at its physical size.
    text = svg_path.read_text(encoding="utf-8")
    old = f'width="{width}pt" height="{height}pt"'
    new = (f'width="{width / dpi * _MM_PER_INCH:.3f}mm" '
           f'height="{height / dpi * _MM_PER_INCH:.3f}mm"')
    if old in text:
        svg_path.write_text(text.replace(old, new, 1), encoding="utf-8")
