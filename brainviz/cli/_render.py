"""``brainviz render``: build a session from files and write a figure, with no display.

Examples::

    brainviz render --stat zmap.nii.gz --threshold 3.1 --views left,right,superior \\
        --width-mm 180 --dpi 300 --transparent -o fig.png
    brainviz render --connectome matrix.csv --coords power --edge-threshold 95% -o graph.png
    brainviz render --demo -o demo.png
    brainviz render --session my_scene.json -o fig.png      # a session saved by the window

The options build a :class:`brainviz.model.Session` (:func:`build_session`),
drawn by :func:`brainviz.scene.binding.draw_session` as the window and
``brainviz.mlab`` draw theirs. Every input is checked before anything is
drawn; bad input exits with status 1 and a one-line reason, and writes nothing.
"""
import argparse
import os
import sys

import numpy as np

from ..scene._montage import DEFAULT_FIGURE_SIZE as DEFAULT_SIZE

MONTAGE_VIEWS = ("left", "right", "superior", "posterior")


#: Options that add a layer, in the order given; the per-layer options that follow one apply
#: to it (FSLeyes' rule).
_LAYER_FLAGS = ("anatomy", "stat", "regions", "connectome", "glass", "surface", "surface_data",
                "layer")
_LAYER_OPTIONS = ("threshold", "cmap", "neg_cmap", "vmin", "vmax", "frame")


class _Ordered(argparse.Action):
    """Keeps the order of the layer options and of the settings that follow them
    (``args.sequence``); the attribute itself holds the list of values (layer flags) or
    the last value (settings), as argparse would."""

    def __init__(self, option_strings, dest, nargs=None, **kwargs):
        super().__init__(option_strings, dest, nargs=nargs, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        value = True if self.nargs == 0 else values
        sequence = list(getattr(namespace, "sequence", None) or [])
        sequence.append((self.dest, value))
        namespace.sequence = sequence
        if self.dest in _LAYER_FLAGS and self.dest not in ("glass",):
            current = list(getattr(namespace, self.dest, None) or [])
            setattr(namespace, self.dest, current + [value])
        else:
            setattr(namespace, self.dest, value)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "render",
        help="render a figure (PNG, TIFF, JPEG, PDF, SVG, EPS) or a movie (MP4, GIF) from brain "
             "images, no display needed",
        description=(
            "Build a 3D scene from files and write a figure. Anatomy is the bundled MNI152 "
            "template unless --anatomy is given. One view gives one image; several views (or "
            "--montage) give a montage. Each shown map gets a colour bar, the slices cross at "
            "the map's peak (a left or right view of the other hemisphere shows the mirrored "
            "sagittal slice, in its own), the brain is cropped to fill the frame, and legends "
            "and text sit outside the brains. Layer options (--threshold, --cmap, --neg-cmap, "
            "--vmin, --vmax, --frame) apply to the layer option before them (--stat, --anatomy, "
            "--glass...); given before any, to the last map. Bad input exits with status 1 "
            "and a one-line reason, and writes nothing."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n  brainviz render --stat zmap.nii.gz --threshold 3.1 --views left,right,superior "
            "--width-mm 180 --dpi 300 --transparent -o fig.png\n"
            "  brainviz render --stat a.nii.gz --threshold 3 --cmap hot --stat b.nii.gz --threshold 2 "
            "--cmap Blues -o two_maps.png\n"
            "  brainviz render --stat decoding_result/ --views superior -o weights.pdf\n"
            "  brainviz render --demo --movie rotate -o demo.mp4\n"
            "  brainviz render --demo -o demo.png"
        ),
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="output file: .png, .tif/.tiff, .jpg/.jpeg, .pdf/.svg/.eps; with "
                             "--movie .mp4 or .gif")
    parser.add_argument("--demo", action="store_true",
                        help="the built-in demo: MNI template and nilearn's sample motor activation map "
                             "(a montage of four views unless --views is given)")
    parser.add_argument("--demo-connectome", action="store_true",
                        help="with --demo, also draw a seeded demo graph on the Dosenbach 2010 nodes")
    parser.add_argument("--session", metavar="FILE",
                        help="a session saved by the window (File > Save session) or a script: "
                             "its layers, cursor and camera")
    scene = parser.add_argument_group("scene (layers, in the order given)")
    scene.add_argument("--anatomy", action=_Ordered, metavar="FILE",
                       help="anatomical image for the slices (default: the MNI152 template)")
    scene.add_argument("--no-anatomy", action="store_true", help="draw no anatomy")
    scene.add_argument("--stat", action=_Ordered, metavar="FILE|RESULT_DIR[#NAME]",
                       help="statistical map to overlay (repeatable), or a job's result folder: "
                            "its map (a decoding's weights; #NAME picks one, e.g. #face)")
    scene.add_argument("--glass", action=_Ordered, nargs=0, help="add a translucent glass brain")
    scene.add_argument("--regions", action=_Ordered, metavar="FILE",
                       help="label image or 4D components to draw as regions")
    scene.add_argument("--connectome", action=_Ordered, metavar="FILE|DIR",
                       help="connectivity matrix (.csv, .tsv, .txt, .npy), or a result folder of "
                            "'brainviz connectivity' (its matrix, node positions and names)")
    scene.add_argument("--coords", metavar="FILE|NAME",
                       help="node coordinates: a CSV/TSV file (x, y, z[, label, network]) or "
                            "'power' / 'dosenbach' / 'seitzman'")
    scene.add_argument("--surface", action=_Ordered, metavar="MESH",
                       help="a cortical mesh (GIfTI, FreeSurfer lh.pial...) or 'fsaverage5'")
    scene.add_argument("--surface-data", action=_Ordered, metavar="FILE",
                       help="values on the surface: per-vertex data (GIfTI func/shape, "
                            "FreeSurfer curv/thickness, .mgh) or a volume projected onto the mesh "
                            "(on fsaverage5 when --surface is not given)")
    scene.add_argument("--layer", action=_Ordered, metavar="TYPE=SOURCE",
                       help="any layer: TYPE is a layer class (StatMapLayer, AnatomyLayer, "
                            "SeriesLayer, MaskLayer, LabelLayer, ComponentsLayer, ConnectomeLayer, "
                            "SurfaceLayer, GlassBrainLayer), SOURCE a file, builtin:NAME or "
                            "RESULT_DIR#KEY, with ;coords=, ;values=, ;hemi= where they apply "
                            "(repeatable)")
    per_layer = parser.add_argument_group(
        "layer settings (apply to the layer option before them; before any: the last map)")
    per_layer.add_argument("--threshold", action=_Ordered, metavar="T",
                           help="show |value| >= T; a percentile such as 95%% works too")
    per_layer.add_argument("--cmap", action=_Ordered, metavar="NAME",
                           help="colour map (default: cold_hot for maps)")
    per_layer.add_argument("--neg-cmap", action=_Ordered, metavar="NAME",
                           help="a colour map of its own for the negative values (e.g. --cmap "
                                "hot --neg-cmap Blues)")
    per_layer.add_argument("--vmin", action=_Ordered, metavar="V", help="bottom of the colour range")
    per_layer.add_argument("--vmax", action=_Ordered, metavar="V", help="top of the colour range")
    per_layer.add_argument("--frame", action=_Ordered, metavar="N",
                           help="the frame shown of a 4D image (from 0)")
    scene.add_argument("--isosurface", action="store_true",
                       help="also draw the thresholded statistical maps as isosurfaces "
                            "(coloured by the map's values under them)")
    scene.add_argument("--no-slices", action="store_true", help="hide the orthogonal slices")
    scene.add_argument("--edge-threshold", metavar="X",
                       help="show edges with |weight| >= X, or a percentile such as 95%% "
                            "(default: the top 5%%, or for more than 41 nodes about as many "
                            "edges as nodes, the strongest; as the window opens them)")
    scene.add_argument("--set", action="append", default=[], metavar="LAYER.SETTING=VALUE",
                       help="a display setting of a layer, named or numbered from 1, e.g. "
                            "--set 2.threshold=3.5 --set 'zmap.cmap=hot' (repeatable)")
    scene.add_argument("--cursor", metavar="X,Y,Z|peak",
                       help="where the slices cross, in mm, or 'peak' (the first map's peak); "
                            "default: the peak of a single map, else the session's, else 0,0,0")
    camera = parser.add_argument_group("camera (after --views' first view, or the session's)")
    for name, what in (("azimuth", "degrees in the x-y plane from +x (the subject's right)"),
                       ("elevation", "degrees from +z (0: from above, 90: level)"),
                       ("distance", "mm from the camera to the focal point (the perspective; "
                                    "the figure is still cropped to the brain unless "
                                    "--no-autocrop)"),
                       ("roll", "degrees about the view axis (0: +z up)"),
                       ("zoom", "magnification after the autocrop (> 1: closer)")):
        camera.add_argument(f"--{name}", metavar="X", help=what)
    camera.add_argument("--focal-point", metavar="X,Y,Z", help="the point looked at, in mm")
    camera.add_argument("--no-autocrop", action="store_true",
                        help="keep the camera as given: no crop of a single view to what is "
                             "drawn")
    camera.add_argument("--clip", choices=("left", "right"),
                        help="keep only this hemisphere (as the medial views do)")
    out = parser.add_argument_group("figure")
    out.add_argument("--views", metavar="LIST",
                     help="comma-separated views among left, right, anterior, posterior, superior, "
                          "inferior, medial-left, medial-right (default: left; several make a montage)")
    out.add_argument("--montage", action="store_true",
                     help=f"montage of the views (default views: {','.join(MONTAGE_VIEWS)})")
    out.add_argument("--size", metavar="WxH",
                     help=f"size in pixels, e.g. 1600x1200 (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}; "
                          f"a montage's height follows its layout when only W is given)")
    out.add_argument("--width-mm", type=str, metavar="MM", help="physical width in millimetres (with --dpi)")
    out.add_argument("--dpi", type=str, metavar="DPI", help="dots per inch, written into the file (default 300 with --width-mm)")
    out.add_argument("--transparent", action="store_true",
                     help="transparent background (PNG, TIFF); text outlined to read on any colour")
    out.add_argument("--dark", action="store_true", help="black background, white text")
    out.add_argument("--margin", metavar="F",
                     help="room around the brain, a fraction of each panel (default 0.05: the "
                          "brain fills 90%% of it)")
    out.add_argument("--font", metavar="NAME",
                     help="font family of the text (default: Arial/Helvetica where installed, "
                          "else DejaVu Sans)")
    out.add_argument("--title", help="figure title")
    out.add_argument("--no-colorbar", action="store_true", help="no colour bar")
    out.add_argument("--no-labels", action="store_true", help="no view names over the montage panels")
    movie = parser.add_argument_group("movie")
    movie.add_argument("--movie", choices=("rotate", "frames"),
                       help="rotate: a full turn about the vertical axis; frames: the frames of "
                            "the 4D map (or series); written as -o .mp4 or .gif")
    movie.add_argument("--n-frames", metavar="N",
                       help="frames of a rotation (default 36)")
    movie.add_argument("--fps", metavar="N", help="frames per second (default 12)")
    parser.set_defaults(func=run, sequence=[])
    return parser


def _number(text, option, positive=False):
    from ._validate import number

    # finite: nan and inf (or 1e999) parse as floats but draw a blank figure
    return number(text, option, low=0 if positive else None, low_open=positive)


def _parse_size(text):
    """'1600x1200' -> (1600, 1200); '1600' -> (1600, None)."""
    from ..exceptions import ParameterError

    if text is None:
        return None
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ParameterError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 1600x1200; got {text!r}")
    return tuple(values) if len(values) == 2 else (values[0], None)


def _parse_cursor(text, option="--cursor"):
    from ..exceptions import ParameterError

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not np.all(np.isfinite(values)) or np.max(np.abs(values)) > 1e6:
        raise ParameterError(f"{option} must be X,Y,Z: three finite numbers of mm; got {text!r}")
    return values


def _check_threshold(text, option):
    """A number >= 0 or a percentile such as 95%."""
    from ..exceptions import ParameterError
    from ..model import parse_percentile

    if text is None:
        return None
    text = text.strip()
    pct = parse_percentile(text)
    if pct is not None:
        if pct > 100:
            raise ParameterError(f"{option} percentile must be at most 100%; got {text!r}")
        return text
    value = _number(text, option)
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"{option} must be a finite number >= 0 or a percentile such as "
                             f"95%; got {text!r}")
    return value


def _layer_specs(args):
    """The layer options in the order given, each with the settings that follow it; and the
    settings given before any layer option (they apply to the last map)."""
    specs, before = [], {}
    for dest, value in getattr(args, "sequence", None) or []:
        if dest in _LAYER_FLAGS:
            if dest in ("surface", "surface_data") and any(
                    sp["flag"] == "surface" for sp in specs):
                continue  # one surface layer for both options
            specs.append({"flag": "surface" if dest == "surface_data" else dest, "value": value,
                          "options": {}})
        elif dest in _LAYER_OPTIONS:
            (specs[-1]["options"] if specs else before)[dest] = value
    return specs, before


def _check_layer_options(options, where):
    """Check one layer's settings; return them converted."""
    from ..exceptions import ParameterError
    from ..scene.colors import check_colormap

    out = {}
    for key, value in options.items():
        option = "--" + key.replace("_", "-")
        if key == "threshold":
            out[key] = _check_threshold(value, option)
        elif key in ("cmap", "neg_cmap"):
            out[key] = check_colormap(value, parameter=option)
        elif key in ("vmin", "vmax"):
            out[key] = _finite(value, option)
        elif key == "frame":
            try:
                out[key] = int(value)
            except ValueError:
                raise ParameterError(f"{option} must be a frame number (from 0); got {value!r}"
                                     + where) from None
            if out[key] < 0:
                raise ParameterError(f"{option} must be a frame number (from 0); got {value!r}")
    return out


def plan(args):
    """Check every argument and return what to draw and how to write it (draws nothing)."""
    from ..exceptions import ParameterError
    from ..scene._montage import DEFAULT_MONTAGE_WIDTH, _check_views
    from ..scene.export import MAX_SIZE, check_output_path, resolve_size

    views = _check_views(args.views) if args.views else None
    movie = args.movie
    montage = bool(not movie and (args.montage or (views is not None and len(views) > 1)
                                  or (args.demo and views is None and not args.session)))
    if movie:
        from ..scene.movies import check_movie_path

        output, ext = check_movie_path(args.output), None
        if args.transparent:
            raise ParameterError("--transparent does not go with --movie (MP4 and GIF frames "
                                 "are opaque)")
        if views is not None and len(views) > 1:
            raise ParameterError("--movie draws one view: give --views with one name")
    else:
        output, ext = check_output_path(args.output, transparent=args.transparent, montage=montage)
    views_given = views is not None
    if views is None:
        views = list(MONTAGE_VIEWS) if montage else ["left"]
    size = _parse_size(args.size)
    width_mm = _number(args.width_mm, "--width-mm", positive=True)
    dpi = _number(args.dpi, "--dpi", positive=True)
    if size is not None and width_mm is not None:
        raise ParameterError("Give either --size or --width-mm, not both")
    if size is not None and size[1] is None and not montage:
        size = (size[0], int(round(size[0] * DEFAULT_SIZE[1] / DEFAULT_SIZE[0])))
    if size is None and width_mm is None:
        size = (DEFAULT_MONTAGE_WIDTH, None) if montage else DEFAULT_SIZE
    # Size checks now, before anything is drawn (a montage's height comes later).
    if size is not None:
        resolve_size((size[0], size[1] or 1))
    else:
        resolve_size(None, width_mm, None, dpi, aspect=DEFAULT_SIZE[0] / DEFAULT_SIZE[1])
    if args.demo_connectome and not args.demo:
        raise ParameterError("--demo-connectome goes with --demo")
    connectomes = list(args.connectome or [])
    missing = [c for c in connectomes if c is not None and not os.path.exists(c)]
    if missing and args.coords is None:  # not "goes with --coords": the path is wrong
        raise ParameterError(
            f"--connectome {missing[0]}: no such file or folder; expected a result folder of "
            "'brainviz connectivity', or a matrix file (CSV/TSV/.npy) with --coords")
    if (not connectomes) != (args.coords is None) and not (
            connectomes and all(_is_result_dir(c) for c in connectomes)):
        raise ParameterError("--connectome and --coords go together")
    if args.no_anatomy and args.anatomy:
        raise ParameterError("--anatomy and --no-anatomy contradict each other")
    if args.anatomy and len(args.anatomy) > 1:
        raise ParameterError("give --anatomy once")
    specs, before = _layer_specs(args)
    for spec in specs:
        spec["options"] = _check_layer_options(spec["options"],
                                               f" (after --{spec['flag'].replace('_', '-')})")
    before = _check_layer_options(before, "")
    if args.session and args.demo:
        raise ParameterError("--session and --demo: give one")
    focal = _parse_cursor(args.focal_point, "--focal-point") if args.focal_point else None
    cursor = None
    if args.cursor:
        cursor = "peak" if args.cursor.strip().lower() == "peak" else _parse_cursor(args.cursor)
    margin = _number(args.margin, "--margin")
    if margin is not None and not 0 <= margin < 0.45:
        raise ParameterError(f"--margin must be a fraction of the panel between 0 and 0.45; "
                             f"got {args.margin!r}")
    if args.font:
        from ..backend.displays import pick_font

        pick_font(args.font)
    n_frames = _number(args.n_frames, "--n-frames", positive=True)
    fps = _number(args.fps, "--fps", positive=True)
    if n_frames is not None and (n_frames != int(n_frames) or n_frames < 2):
        raise ParameterError(f"--n-frames must be a whole number >= 2; got {args.n_frames!r}")
    return dict(output=output, ext=ext, views=views, views_given=views_given, montage=montage,
                size=size, width_mm=width_mm, dpi=dpi, specs=specs, before=before,
                edge_threshold=_check_threshold(args.edge_threshold, "--edge-threshold"),
                cursor=cursor, max_size=MAX_SIZE,
                azimuth=_finite(args.azimuth, "--azimuth"),
                elevation=_finite(args.elevation, "--elevation"),
                distance=_number(args.distance, "--distance", positive=True),
                roll=_finite(args.roll, "--roll"), focal_point=focal,
                zoom=_number(args.zoom, "--zoom", positive=True), margin=margin,
                movie=movie, n_frames=int(n_frames) if n_frames else 36, fps=fps or 12.0)


def _is_result_dir(path):
    import os

    return path is not None and os.path.isdir(path)


def connectome_from_result(folder, coords=None):
    """The connectome layer of a 'brainviz connectivity' result folder (--coords overrides
    its node positions, which time series given without coordinates lack)."""
    from .. import model
    from ..backend import load_result
    from ..backend.displays import default_edge_threshold
    from ..data import load_coords
    from ..exceptions import ParameterError, ShapeMismatchError

    result = load_result(folder)
    if getattr(result, "matrix_", None) is None:
        raise ParameterError(f"--connectome {str(folder)!r} is a {result._kind} result; give a "
                             "'brainviz connectivity' result folder")
    matrix = np.asarray(result.matrix_, dtype=float)
    xyz, labels, networks = np.asarray(result.coords_, dtype=float), list(result.labels_), None
    if coords is not None:
        xyz, names, networks = load_coords(coords)
        labels = names or labels
        if len(xyz) != len(matrix):
            raise ShapeMismatchError(f"--connectome {str(folder)!r} has {len(matrix)} nodes but "
                                     f"--coords {coords!r} has {len(xyz)}; they must match")
    elif not np.isfinite(xyz).all():
        raise ParameterError(f"--connectome {str(folder)!r} has no node positions (time series "
                             "given without coordinates): add --coords FILE|power|dosenbach|"
                             "seitzman")
    layer = model.ConnectomeLayer(name="connectome", result_folder=str(folder),
                                  result_key="matrix",
                                  threshold=default_edge_threshold(len(matrix)))
    return layer.set_graph(matrix, xyz, labels, networks=networks)


def _finite(text, option):
    value = _number(text, option)
    if value is not None and not np.isfinite(value):
        from ..exceptions import ParameterError

        raise ParameterError(f"{option} must be a finite number; got {text!r}")
    return value


def _load_for_drawing(path):
    """A volume whose frames fit the memory limit (checked from the header, before drawing)."""
    from ..data import load_volume

    volume = load_volume(path)
    volume.check_drawable()
    return volume


def _stat_layer(source):
    """A statistical map layer from a file, or from a result folder (``DIR`` or ``DIR#NAME``)."""
    from pathlib import Path

    from .. import model
    from ..exceptions import ParameterError

    folder, _, key = str(source).partition("#")
    if Path(folder).expanduser().is_dir():
        from ..backend import load_result
        from ..session import layers_from_result, result_keys, result_layer

        result = load_result(Path(folder).expanduser())
        maps = [k for k in result_keys(result) if k.startswith("weight_maps/")]
        if not key:
            layers = [lay for lay in layers_from_result(result, folder=str(folder))
                      if isinstance(lay, model.StatMapLayer)]
            if len(layers) == 1:
                return layers[0]
            names = ", ".join(k.split("/", 1)[1] for k in maps) or "none"
            raise ParameterError(f"--stat {source}: the result holds several maps ({names}); "
                                 f"pick one with {folder}#NAME")
        layer = result_layer(result, key, folder=str(folder))
        if layer is None or not isinstance(layer, model.StatMapLayer):
            names = ", ".join(k.split("/", 1)[1] for k in maps) or "none"
            raise ParameterError(f"--stat {source}: no map {key!r} in the result; its maps are "
                                 f"{names}")
        return layer
    return model.StatMapLayer().set_volume(_load_for_drawing(source))


def _make_layer(spec, args):
    from .. import model
    from ..backend.displays import default_edge_threshold
    from ..data import load_coords, load_matrix
    from ..session import layer_from_spec, open_surface

    flag, value = spec["flag"], spec["value"]
    if flag == "anatomy":
        vol = _load_for_drawing(value)
        cls = model.SeriesLayer if vol.ndim == 4 and vol.n_frames > 1 else model.AnatomyLayer
        return cls().set_volume(vol)
    if flag == "stat":
        return _stat_layer(value)
    if flag == "glass":
        return model.GlassBrainLayer().set_volume(None)
    if flag == "regions":
        vol = _load_for_drawing(value)
        cls = model.ComponentsLayer if vol.ndim == 4 and vol.n_frames > 1 else model.LabelLayer
        return cls().set_volume(vol)
    if flag == "connectome" and _is_result_dir(value):
        return connectome_from_result(value, args.coords)
    if flag == "connectome":
        matrix = load_matrix(value)
        coords, labels, networks = load_coords(args.coords)
        if len(coords) != len(matrix):
            from ..exceptions import ShapeMismatchError

            raise ShapeMismatchError(
                f"--connectome {value!r} is {len(matrix)} x {len(matrix)} but "
                f"--coords {args.coords!r} has {len(coords)} nodes; they must match")
        layer = model.ConnectomeLayer(path=str(value), coords_source=str(args.coords),
                                      threshold=default_edge_threshold(len(matrix)))
        return layer.set_graph(matrix, coords, labels, networks=networks)
    if flag == "surface":
        surface = (args.surface or [None])[-1]
        mesh = None if surface in (None, "fsaverage5") else surface
        data = (args.surface_data or [None])[-1]
        return open_surface(mesh=mesh, values=data)
    return layer_from_spec(value)


def _apply_options(layer, options, flag):
    from ..exceptions import ParameterError

    for key, value in options.items():
        if layer.trait(key) is None or key not in layer.display_trait_names():
            raise ParameterError(f"--{key.replace('_', '-')} does not apply to the "
                                 f"{layer.label} of --{flag.replace('_', '-')}")
        layer.apply_display({key: value})


def _maps(session):
    from .. import model

    maps = session.layers_of_type(model.StatMapLayer, model.GlassBrainLayer, model.SurfaceLayer)
    return [lay for lay in maps if not isinstance(lay, model.MaskLayer)
            and not (isinstance(lay, model.GlassBrainLayer) and lay.data is None)]


def build_session(args, plan_):
    """The :class:`~brainviz.model.Session` the options describe (files are read here, so bad
    files fail before anything is drawn). Returns the session; notes for the user (a
    native-space map, an empty figure) are in ``plan_["notes"]``."""
    from .. import model
    from ..exceptions import ParameterError
    from ..session import (
        apply_setting, describe_empty, is_native_space, make_demo_session, peak_cursor,
        read_session,
    )

    notes = plan_.setdefault("notes", [])
    if args.session:
        session, missing = read_session(args.session)
        if missing:
            from ..exceptions import ImageFileError

            raise ImageFileError(f"--session {args.session}: these files are gone: "
                                 f"{', '.join(missing)}")
    else:
        session = make_demo_session(connectome=args.demo_connectome) if args.demo else model.Session()
    specs = plan_["specs"]
    # the MNI template under the files given, unless the scene says what to draw itself
    default_anatomy = not (args.session or args.demo or args.no_anatomy
                           or any(sp["flag"] in ("anatomy", "layer", "surface") for sp in specs))
    template = None
    if default_anatomy:
        from ..data import load_template

        template = model.AnatomyLayer(name="MNI152 template", source="builtin:template")
        session.add_layer(template.set_volume(load_template()))
    for spec in specs:
        layer = _make_layer(spec, args)
        _apply_options(layer, spec["options"], spec["flag"])
        session.add_layer(layer)
    if args.no_anatomy:
        for layer in session.layers_of_type(model.AnatomyLayer):
            session.remove_layer(layer)
    # settings given before any layer option: the last map's (as brainviz render always did)
    maps = _maps(session)
    if plan_["before"]:
        if not maps:
            names = ", ".join("--" + k.replace("_", "-") for k in plan_["before"])
            raise ParameterError(f"{names} applies to a map: add --stat, --surface-data or --glass")
        _apply_options(maps[-1], plan_["before"], "stat")
    if args.isosurface:
        for layer in session.layers_of_type(model.StatMapLayer):
            layer.show_isosurface = True
    if args.no_slices:
        for layer in session.layers:
            if layer.trait("show_slices") is not None:
                layer.show_slices = False
    if plan_["edge_threshold"] is not None:
        for layer in session.layers_of_type(model.ConnectomeLayer):
            layer.threshold = plan_["edge_threshold"]
    for text in args.set:
        apply_setting(session, text)
    maps = _maps(session)
    if plan_["cursor"] == "peak":
        if not maps:
            raise ParameterError("--cursor peak needs a map (--stat, --surface-data...)")
        session.move_cursor(peak_cursor(maps[0]))
    elif plan_["cursor"] is not None:
        session.move_cursor(plan_["cursor"])
    elif not (args.session or args.demo) and len(maps) == 1:
        session.move_cursor(peak_cursor(maps[0]))  # the slices cut through the activation
    # a map in its scanner's own space is not drawn over the MNI template without a word
    native = [lay for lay in session.layers_of_type(model.StatMapLayer)
              if is_native_space(lay.data)]
    if native and template is not None and template in session.layers:
        session.remove_layer(template)
        notes.append(f"{native[0].name} is in the native (scanner) space of its images, not "
                     "in MNI space: drawn without the MNI template; give its anatomy with "
                     "--anatomy")
    if args.title and not plan_["montage"]:
        session.title = args.title
    if not session.layers:
        raise ParameterError("nothing to draw: give files (--stat, --anatomy, --connectome, "
                             "--surface...), --demo or --session")
    notes.extend(describe_empty(session))
    return session


def figure_size(plan_):
    """Window size of the figure: the output's own size for a single view, so that the
    view frames the brain for the output's aspect ratio."""
    from ..scene.export import resolve_size

    if plan_["montage"]:
        return (600, 600)
    if plan_["size"] is not None:
        return plan_["size"]
    width, height, _ = resolve_size(None, plan_["width_mm"], None, plan_["dpi"],
                                    aspect=DEFAULT_SIZE[0] / DEFAULT_SIZE[1])
    return (width, height)


#: glibc's ``mallopt`` parameter for the size from which a block gets a mapping of its own.
_M_MMAP_THRESHOLD = -3
#: glibc's default for it (128 KiB), held fixed by :func:`map_large_blocks`.
LARGE_BLOCK = 128 * 1024


def map_large_blocks(threshold=LARGE_BLOCK):
    """Have the C library map each block of ``threshold`` bytes or more on its own, so that
    freeing it gives its memory back to the system; returns True when set.

    glibc starts with this threshold at 128 KiB but raises it to the size of each mapped
    block freed (up to 32 MB): after the first framebuffers are freed, the next ones (the
    OpenGL context's, a panel's multisampled render) come from the heap, whose freed
    middle is never given back, and each one adds to the process's peak. Setting the
    threshold turns that adjustment off. ``brainviz render`` renders, frees and renders
    again at other sizes (a probe, the panels, the text after the OpenGL context is
    freed): its peak goes from 358 to 336 MB for a single view, the same pixels. Only
    for a process of its own (the whole command): the setting is the process's. Does
    nothing where the C library has no ``mallopt`` (not glibc).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, int(threshold)))


def run(args):
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if getattr(args, "whole_process", False) and "pyface.toolkit" not in sys.modules:
        # A process that only writes a file needs no GUI toolkit: Mayavi's offscreen engine
        # runs on the null one, and Qt is not loaded (45 MB, a few tenths of a second).
        # Only for the whole process: the toolkit, once chosen, is the process's for good.
        os.environ.setdefault("ETS_TOOLKIT", "null")
        # large blocks given back to the system when freed (22 MB off the peak, see there)
        map_large_blocks()
        # and only the VTK modules it draws with: not all of VTK (75 MB, 1.3 s); TVTK's
        # classes from kept bytecode, not compiled again (1.5 s)
        from ..scene._tvtk_bytecode import keep_tvtk_bytecode
        from ..scene._vtk_lazy import load_vtk_on_demand

        keep_tvtk_bytecode()
        load_vtk_on_demand()
    from ..exceptions import BrainvizError

    try:
        p = plan(args)
        session = build_session(args, p)
    except BrainvizError as exc:
        print(f"brainviz render: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    return _draw(args, p, session)


def _point_camera(binding, args, p):
    """The single view's camera: --views' first view, else the session's, else "left"; then the
    angles given."""
    from ..scene.views import set_clipped_hemisphere
    from ..session import camera_with_angles

    figure = binding.figure
    if p["views_given"] or not binding.session.camera:
        binding.show_view(p["views"][0], render=False)  # framed as the window frames it
    angles = {k: p[k] for k in ("azimuth", "elevation", "distance", "roll") if p[k] is not None}
    if angles or p["focal_point"] is not None:
        binding.apply_camera(camera_with_angles(binding.current_camera(),
                                                focal_point=p["focal_point"], **angles))
    if args.clip:
        set_clipped_hemisphere(figure, -1 if args.clip == "left" else 1)


def figure_options(args, p):
    """The keywords of :func:`brainviz.scene.figures.compose_figure` the options ask for."""
    options = dict(size=p["size"], width_mm=p["width_mm"], dpi=p["dpi"],
                   transparent=args.transparent, dark=args.dark, font=args.font,
                   colorbar=None if args.no_colorbar else "auto")
    if p["margin"] is not None:
        options["margin"] = p["margin"]
    if p["zoom"] is not None:
        options["zoom"] = p["zoom"]
    return options


def _draw(args, p, session):
    from mayavi import mlab

    from ..exceptions import BrainvizError
    from ..scene._figure import close_figure, hold_renders, new_figure
    from ..scene.binding import draw_session

    from vtkmodules.vtkCommonCore import vtkLogger

    # VTK logs a warning when it falls back from X to EGL: not news for a
    # command whose point is to need no display.
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    mlab.options.offscreen = True
    for note in p.get("notes", []):
        print(f"brainviz render: warning: {note}", file=sys.stderr)
    figure = None
    try:
        # Nothing is shown: the scene is drawn only by the export's own renders (none while
        # the visuals are built, none to put the window back after the export).
        # Made small, then given its size: Mayavi renders a new figure a dozen times while
        # setting it up, each a whole multisampled frame at the figure's size (a few tenths
        # of a second under software OpenGL), and nothing of them is kept.
        figure = new_figure(size=(16, 16))
        figure.scene.render_window.size = figure_size(p)
        with hold_renders(figure, render_after=False):
            figure, binding = draw_session(session, size=figure_size(p), view=None,
                                           figure=figure)
            path = _export(args, p, figure, binding)
    except BrainvizError as exc:
        print(f"brainviz render: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    finally:
        if figure is not None:
            close_figure(figure)
    print(f"brainviz render: wrote {path}")
    return 0


def _export(args, p, figure, binding):
    from ..scene.figures import save_figure

    options = figure_options(args, p)
    if p["montage"]:
        return save_figure(p["output"], figure, views=p["views"], title=args.title,
                           panel_labels=not args.no_labels, release=True, **options)
    _point_camera(binding, args, p)
    # the window's export crops to what is drawn from its camera (distance included):
    # so does render, unless told not to
    fit = "none" if args.no_autocrop else "content"
    if p["movie"]:
        from ..scene.movies import save_movie

        return save_movie(p["output"], figure, kind=p["movie"], n_frames=p["n_frames"],
                          fps=p["fps"], fit=fit, **options)
    # nothing is rendered after the still's panels: their graphics memory goes before the
    # text is laid out
    return save_figure(p["output"], figure, views=None, fit=fit, release=True, **options)
