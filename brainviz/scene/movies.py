"""Movies: a full turn about the vertical axis, or the frames of a 4D image, as MP4 or GIF.

A movie is a figure (:func:`brainviz.scene.figures.compose_figure`: colour bars, title,
legends, the same options as a still) whose panel is rendered again for each frame:
the text is laid out once and the new panel pixels are pasted into it, so a frame
costs one VTK render. A rotation is autocropped once for every angle (probe renders
at eight angles), so the brain never leaves the frame; slices seen edge-on are
hidden at every angle. MP4 is written by FFmpeg (``imageio-ffmpeg``'s bundled
binary, H.264, yuv420p), GIF by Pillow; both through :mod:`imageio`, one frame at a
time (a movie's memory is one frame, whatever its length), into a temporary file
renamed into place.
"""
import os
from pathlib import Path

import numpy as np

from ..exceptions import ExportError, ParameterError
from . import figures
from ._figure import hold_renders
from ._render import _scene, _WindowState, frame_grabber

__all__ = ["MOVIE_FORMATS", "check_movie_path", "save_movie"]

#: Movie file extensions and what writes them.
MOVIE_FORMATS = {".mp4": "FFMPEG", ".gif": "GIF"}


def check_movie_path(path):
    """``path`` as a Path, checked: a .mp4 or .gif in a folder that exists and can be written."""
    try:
        path = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ExportError(f"The movie path must be a file name; got {path!r}") from None
    ext = path.suffix.lower()
    if ext not in MOVIE_FORMATS:
        raise ExportError(f"Cannot write the movie {str(path)!r}: unknown movie extension "
                          f"{path.suffix or '(none)'!r}; use one of {', '.join(MOVIE_FORMATS)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"Cannot write {str(path)!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportError(f"Cannot write {str(path)!r}: permission denied")
    return path


def _camera_dict(camera):
    return {k: (tuple(getattr(camera, k)) if k in ("position", "focal_point", "view_up")
                else getattr(camera, k))
            for k in ("position", "focal_point", "view_up", "view_angle", "parallel_scale")}


def _apply(scene, cam):
    camera = scene.camera
    for key, value in cam.items():
        setattr(camera, key, value)
    scene.renderer.reset_camera_clipping_range()


def _frames_layers(binding):
    """The layers whose ``frame`` a frames movie steps through: 4D maps first, then series."""
    from .. import model

    if binding is None:
        return []
    found = [lay for lay in binding.session.layers
             if isinstance(lay, (model.StatMapLayer, model.SeriesLayer)) and lay.visible
             and lay.n_frames > 1]
    found.sort(key=lambda lay: not isinstance(lay, model.StatMapLayer))
    return found


class _Writer:
    """Frames to an MP4 (FFmpeg) or GIF (Pillow) file, one at a time."""

    def __init__(self, path, fps):
        import imageio.v2 as imageio

        self.path = path
        self.tmp = path.with_name(f".{path.stem}.part{path.suffix}")
        ext = path.suffix.lower()
        if ext == ".mp4":
            self.writer = imageio.get_writer(
                str(self.tmp), format="FFMPEG", mode="I", fps=float(fps), codec="libx264",
                pixelformat="yuv420p", quality=8, macro_block_size=1,
                # x264's "medium" spends three times the CPU of "veryfast" for a few per cent
                # smaller file at the same quality; the frames are rendered meanwhile
                output_params=["-preset", "veryfast"], ffmpeg_log_level="error")
        else:
            self.writer = imageio.get_writer(str(self.tmp), format="GIF", mode="I",
                                             duration=1000.0 / float(fps), loop=0)
        self.count = 0

    def add(self, pixels):
        if self.path.suffix.lower() == ".mp4":
            # H.264 in yuv420p needs even sizes
            h, w = pixels.shape[:2]
            pixels = pixels[: h - h % 2, : w - w % 2]
        self.writer.append_data(np.ascontiguousarray(pixels[..., :3]))
        self.count += 1

    def close(self, keep=True):
        self.writer.close()
        if keep:
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()


def save_movie(path, figure=None, kind="rotate", n_frames=36, fps=12.0, layer=None, views=None,
               **options):
    """Write a movie of ``figure``: ``kind="rotate"`` (a full turn about the vertical axis) or
    ``"frames"`` (each frame of the 4D map or series), as MP4 or GIF.

    Parameters
    ----------
    path : str or path-like
        ``.mp4`` (H.264, FFmpeg from ``imageio-ffmpeg``) or ``.gif``.
    figure : mayavi Scene, optional
        The figure (the current one by default); its camera is the first frame's and is
        left as it was.
    kind : {"rotate", "frames"}, default="rotate"
    n_frames : int, default=36
        Frames of a rotation (10 degrees each by default).
    fps : float, default=12
    layer : Layer, optional
        For ``"frames"``: the layer whose frames are shown (default: the first visible 4D
        statistical map, else 4D series).
    views : str, optional
        A named view to start from (default: the figure's camera).
    **options
        As for a still: ``size``, ``width_mm``, ``dpi``, ``dark``, ``colorbar``, ``title``,
        ``margin``, ``zoom``, ``font``, ``legend`` (:func:`~brainviz.scene.figures.compose_figure`).

    Returns
    -------
    path : pathlib.Path
    """
    from .binding import binding_for

    path = check_movie_path(path)
    if kind not in ("rotate", "frames"):
        raise ParameterError(f"kind must be 'rotate' or 'frames'; got {kind!r}")
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ParameterError(f"fps must be a positive number; got {fps!r}")
    if options.pop("transparent", False):
        raise ParameterError("A movie cannot have a transparent background (MP4 and GIF frames "
                             "are opaque)")
    figure, scene = _scene(figure)
    binding = binding_for(figure)
    target = None
    if kind == "frames":
        target = layer if layer is not None else (_frames_layers(binding) or [None])[0]
        if target is None or getattr(target, "n_frames", 1) < 2:
            raise ParameterError("A frames movie needs a 4D image: a statistical map or series "
                                 "with several frames")
        n_frames = int(target.n_frames)
    else:
        n_frames = int(n_frames)
        if n_frames < 2:
            raise ParameterError(f"n_frames must be at least 2; got {n_frames}")
    if isinstance(views, (list, tuple)):
        views = views[0] if views else None
    state = _WindowState(scene)
    start_frame = getattr(target, "frame", 0) if target is not None else 0
    writer = None
    try:
        if views is not None:
            from .views import set_view

            set_view(figure, views, render=False)
        fit = options.pop("fit", "content")
        if kind == "rotate":
            # the layout of the first frame; a turning camera has no fixed L/R nor facing slice
            # (its panel is rendered for each frame: not here)
            fig, layout = figures.compose_figure(figure, None, fit="none", annotate=False,
                                                 render_panels=False, **dict(options, zoom=1.0))
            x0, y0, x1, y1 = layout["panels"][0]
            camera = _camera_dict(scene.camera)
            if fit == "content":
                camera = _autocrop_turn(figure, binding, camera, n_frames, (x1 - x0) / (y1 - y0),
                                        float(options.get("margin", figures.DEFAULT_MARGIN)))
            panel_camera = _zoomed(camera, float(options.get("zoom", 1.0)))
        else:
            fig, layout = figures.compose_figure(figure, None, fit=fit, **options)
            x0, y0, x1, y1 = layout["panels"][0]
            panel_camera = layout["cameras"][0]
        base = figures.figure_pixels(fig)
        # a frames movie's lateral view shows the sagittal slice its label names (a turn's
        # camera faces no slice for long: its slices stay at the cursor)
        sagittal = None
        if kind == "frames":
            direction = np.subtract(panel_camera["position"], panel_camera["focal_point"])
            direction = direction / max(np.linalg.norm(direction), 1e-12)
            sagittal = figures._sagittal_for_view(binding, direction)
        writer = _Writer(path, fps)
        # the window is sized once for every frame; between frames only the camera (or the
        # map's frame) changes, with the scene's own renders held (the grab renders)
        with figures._hidden(figures._overlay_actors(figure, binding)), \
                figures.hide_edge_on_slices(figure, binding), \
                figures._background(scene, (0.0, 0.0, 0.0) if options.get("dark") else None), \
                hold_renders(figure, render_after=False), \
                figures._sagittal_at(binding, sagittal), \
                frame_grabber(figure, (x1 - x0, y1 - y0), multisamples=4) as grab:
            for k in range(n_frames):
                if kind == "rotate":
                    _apply(scene, _rotated(panel_camera, 2 * np.pi * k / n_frames))
                else:
                    target.frame = k
                    _apply(scene, panel_camera)
                frame = base.copy()
                frame[y0:y1, x0:x1] = grab()
                writer.add(frame)
        writer.close(keep=True)
        writer = None
    finally:
        if writer is not None:
            writer.close(keep=False)
        if target is not None:
            target.frame = start_frame
        state.restore()
    return path


def _rotated(camera, angle):
    focal = np.asarray(camera["focal_point"], float)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0],
                    [0, 0, 1.0]])
    cam = dict(camera)
    cam["position"] = tuple(focal + rot @ (np.asarray(camera["position"], float) - focal))
    cam["view_up"] = tuple(rot @ np.asarray(camera["view_up"], float))
    return cam


def _zoomed(camera, zoom):
    cam = dict(camera)
    if zoom != 1.0:
        cam["view_angle"] = float(np.degrees(2 * np.arctan(np.tan(np.radians(camera["view_angle"]) / 2)
                                                            / zoom)))
        cam["parallel_scale"] = camera["parallel_scale"] / zoom
    return cam


def _autocrop_turn(figure, binding, camera, n_frames, aspect, margin):
    """``camera`` zoomed so that what is drawn fits the panel at every angle of a turn about the
    vertical axis through its focal point (probe renders at eight angles)."""
    _, scene = _scene(figure)
    state = _WindowState(scene)
    probe_w, probe_h = 160, max(8, int(round(160 / aspect)))
    need = 0.0
    try:
        with figures._hidden(figures._overlay_actors(figure, binding)), \
                figures.hide_edge_on_slices(figure, binding):
            for k in range(8):
                _apply(scene, _rotated(camera, 2 * np.pi * k / 8))
                box = figures._probe_box(figure, probe_w, probe_h)
                if box is None:
                    continue
                x0, y0, x1, y1 = box
                # the half extent about the turn's axis (the centre of the view)
                half_w = max(abs(x0 - probe_w / 2), abs(x1 - probe_w / 2)) / (probe_w / 2)
                half_h = max(abs(y0 - probe_h / 2), abs(y1 - probe_h / 2)) / (probe_h / 2)
                need = max(need, half_w, half_h)
    finally:
        state.restore(redraw=False)
    if need <= 0:
        return camera
    return _zoomed(camera, float(np.clip((1 - 2 * margin) / need, 0.05, 50.0)))
