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
import sys

import numpy as np

DEFAULT_SIZE = (800, 600)
MONTAGE_VIEWS = ("left", "right", "superior", "posterior")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "render",
        help="render a figure (PNG, TIFF, JPEG, PDF, SVG, EPS) from brain images, no display needed",
        description=(
            "Build a 3D scene from files and write a figure. Anatomy is the bundled MNI152 "
            "template unless --anatomy is given. One view gives one image; several views (or "
            "--montage) give a montage with one colour bar. Bad input exits with status 1 and a "
            "one-line reason, and writes nothing."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "example:\n  brainviz render --stat zmap.nii.gz --threshold 3.1 --views left,right,superior "
            "--width-mm 180 --dpi 300 --transparent -o fig.png\n  brainviz render --demo -o demo.png"
        ),
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="output file: .png, .tif/.tiff, .jpg/.jpeg, or .pdf/.svg/.eps (single view)")
    parser.add_argument("--demo", action="store_true",
                        help="the built-in demo: MNI template and nilearn's sample motor activation map "
                             "(a montage of four views unless --views is given)")
    parser.add_argument("--demo-connectome", action="store_true",
                        help="with --demo, also draw a seeded demo graph on the Dosenbach 2010 nodes")
    parser.add_argument("--session", metavar="FILE",
                        help="a session saved by the window (File > Save session) or a script: "
                             "its layers, cursor and camera")
    scene = parser.add_argument_group("scene")
    scene.add_argument("--anatomy", metavar="FILE",
                       help="anatomical image for the slices (default: the MNI152 template)")
    scene.add_argument("--no-anatomy", action="store_true", help="draw no anatomy")
    scene.add_argument("--stat", metavar="FILE", help="statistical map to overlay")
    scene.add_argument("--threshold", metavar="T",
                       help="show |value| >= T of the map (the last of --stat, --surface-data, "
                            "--glass); a percentile such as 95%% works too")
    scene.add_argument("--cmap", metavar="NAME",
                       help="colour map of that map (default: cold_hot)")
    scene.add_argument("--isosurface", action="store_true",
                       help="also draw the thresholded statistical map as isosurfaces")
    scene.add_argument("--no-slices", action="store_true", help="hide the orthogonal slices")
    scene.add_argument("--glass", action="store_true", help="add a translucent glass brain")
    scene.add_argument("--regions", metavar="FILE", help="label image or 4D components to draw as regions")
    scene.add_argument("--connectome", metavar="FILE|DIR",
                       help="connectivity matrix (.csv, .tsv, .txt, .npy), or a result folder of "
                            "'brainviz connectivity' (its matrix, node positions and names)")
    scene.add_argument("--coords", metavar="FILE|NAME",
                       help="node coordinates: a CSV/TSV file (x, y, z[, label, network]) or "
                            "'power' / 'dosenbach' / 'seitzman'")
    scene.add_argument("--edge-threshold", metavar="X",
                       help="show edges with |weight| >= X, or a percentile such as 95%%")
    scene.add_argument("--surface", metavar="MESH",
                       help="a cortical mesh (GIfTI, FreeSurfer lh.pial...) or 'fsaverage5'")
    scene.add_argument("--surface-data", metavar="FILE",
                       help="values on the surface: per-vertex data (GIfTI func/shape, "
                            "FreeSurfer curv/thickness, .mgh) or a volume projected onto the mesh "
                            "(on fsaverage5 when --surface is not given)")
    scene.add_argument("--layer", action="append", default=[], metavar="TYPE=SOURCE",
                       help="any layer: TYPE is a layer class (StatMapLayer, AnatomyLayer, "
                            "SeriesLayer, MaskLayer, LabelLayer, ComponentsLayer, ConnectomeLayer, "
                            "SurfaceLayer, GlassBrainLayer), SOURCE a file, builtin:NAME or "
                            "RESULT_DIR#KEY, with ;coords=, ;values=, ;hemi= where they apply "
                            "(repeatable; drawn after the options above)")
    scene.add_argument("--set", action="append", default=[], metavar="LAYER.SETTING=VALUE",
                       help="a display setting of a layer, named or numbered from 1, e.g. "
                            "--set 2.threshold=3.5 --set 'zmap.cmap=hot' (repeatable)")
    scene.add_argument("--cursor", metavar="X,Y,Z",
                       help="where the slices cross, in mm (default: the session's, else 0,0,0)")
    camera = parser.add_argument_group("camera (after --views' first view, or the session's)")
    for name, what in (("azimuth", "degrees in the x-y plane from +x (the subject's right)"),
                       ("elevation", "degrees from +z (0: from above, 90: level)"),
                       ("distance", "mm from the camera to the focal point"),
                       ("roll", "degrees about the view axis (0: +z up)")):
        camera.add_argument(f"--{name}", metavar="X", help=what)
    camera.add_argument("--focal-point", metavar="X,Y,Z", help="the point looked at, in mm")
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
    out.add_argument("--transparent", action="store_true", help="transparent background (PNG, TIFF)")
    out.add_argument("--title", help="montage title")
    out.add_argument("--no-colorbar", action="store_true", help="no colour bar in a montage")
    out.add_argument("--no-labels", action="store_true", help="no view names over the montage panels")
    parser.set_defaults(func=run)
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


def plan(args):
    """Check every argument and return what to draw and how to write it (draws nothing)."""
    from ..exceptions import ParameterError
    from ..scene._montage import DEFAULT_MONTAGE_WIDTH, _check_views
    from ..scene.export import MAX_SIZE, check_output_path, resolve_size

    views = _check_views(args.views) if args.views else None
    montage = bool(args.montage or (views is not None and len(views) > 1)
                   or (args.demo and views is None and not args.session))
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
    if (args.connectome is None) != (args.coords is None) and not _is_result_dir(args.connectome):
        raise ParameterError("--connectome and --coords go together")
    if args.no_anatomy and args.anatomy:
        raise ParameterError("--anatomy and --no-anatomy contradict each other")
    threshold = _check_threshold(args.threshold, "--threshold")
    if args.cmap is not None:
        from ..scene.colors import check_colormap

        check_colormap(args.cmap, parameter="--cmap")
    if args.session and args.demo:
        raise ParameterError("--session and --demo: give one")
    focal = _parse_cursor(args.focal_point, "--focal-point") if args.focal_point else None
    return dict(output=output, ext=ext, views=views, views_given=views_given, montage=montage,
                size=size, width_mm=width_mm, dpi=dpi, threshold=threshold,
                edge_threshold=_check_threshold(args.edge_threshold, "--edge-threshold"),
                cursor=_parse_cursor(args.cursor) if args.cursor else None, max_size=MAX_SIZE,
                azimuth=_finite(args.azimuth, "--azimuth"),
                elevation=_finite(args.elevation, "--elevation"),
                distance=_number(args.distance, "--distance", positive=True),
                roll=_finite(args.roll, "--roll"), focal_point=focal)


def _is_result_dir(path):
    import os

    return path is not None and os.path.isdir(path)


def connectome_from_result(folder, coords=None):
    """The connectome layer of a 'brainviz connectivity' result folder (--coords overrides
    its node positions, which time series given without coordinates lack)."""
    from .. import model
    from ..backend import load_result
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
                                  result_key="matrix")
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


def build_session(args, plan_):
    """The :class:`~brainviz.model.Session` the options describe (files are read here, so bad
    files fail before anything is drawn)."""
    from .. import model
    from ..data import load_coords, load_matrix
    from ..session import (
        apply_setting, layer_from_spec, make_demo_session, open_surface, read_session,
    )

    if args.session:
        session, missing = read_session(args.session)
        if missing:
            from ..exceptions import ImageFileError

            raise ImageFileError(f"--session {args.session}: these files are gone: "
                                 f"{', '.join(missing)}")
    else:
        session = make_demo_session(connectome=args.demo_connectome) if args.demo else model.Session()
    # the MNI template under the files given, unless the scene says what to draw itself
    default_anatomy = not (args.session or args.demo or args.layer or args.no_anatomy
                           or args.surface or args.surface_data)
    if args.anatomy:
        session.add_layer(model.AnatomyLayer().set_volume(_load_for_drawing(args.anatomy)))
    elif default_anatomy:
        from ..data import load_template

        layer = model.AnatomyLayer(name="MNI152 template", source="builtin:template")
        session.add_layer(layer.set_volume(load_template()))
    if args.no_anatomy:
        for layer in session.layers_of_type(model.AnatomyLayer):
            session.remove_layer(layer)
    if args.glass:
        session.add_layer(model.GlassBrainLayer().set_volume(None))
    if args.stat:
        layer = model.StatMapLayer().set_volume(_load_for_drawing(args.stat))
        session.add_layer(layer)
    if args.regions:
        vol = _load_for_drawing(args.regions)
        cls = model.ComponentsLayer if vol.ndim == 4 and vol.n_frames > 1 else model.LabelLayer
        session.add_layer(cls().set_volume(vol))
    if args.connectome and _is_result_dir(args.connectome):
        session.add_layer(connectome_from_result(args.connectome, args.coords))
    elif args.connectome:
        matrix = load_matrix(args.connectome)
        coords, labels, networks = load_coords(args.coords)
        if len(coords) != len(matrix):
            from ..exceptions import ShapeMismatchError

            raise ShapeMismatchError(
                f"--connectome {args.connectome!r} is {len(matrix)} x {len(matrix)} but "
                f"--coords {args.coords!r} has {len(coords)} nodes; they must match")
        layer = model.ConnectomeLayer(path=str(args.connectome), coords_source=str(args.coords))
        session.add_layer(layer.set_graph(matrix, coords, labels, networks=networks))
    if args.surface or args.surface_data:
        mesh = None if args.surface in (None, "fsaverage5") else args.surface
        session.add_layer(open_surface(mesh=mesh, values=args.surface_data))
    for spec in args.layer:
        session.add_layer(layer_from_spec(spec))
    # options of the layers above (the last map, connectome, or all slices)
    maps = session.layers_of_type(model.StatMapLayer, model.GlassBrainLayer, model.SurfaceLayer)
    maps = [lay for lay in maps if not isinstance(lay, model.MaskLayer)]
    target = maps[-1] if maps else None
    if plan_["threshold"] is not None:
        if target is None:
            from ..exceptions import ParameterError

            raise ParameterError("--threshold applies to a map: add --stat, --surface-data or --glass")
        target.threshold = plan_["threshold"]
    if args.cmap is not None and target is not None:
        target.cmap = args.cmap
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
    if plan_["cursor"] is not None:
        session.move_cursor(plan_["cursor"])
    if args.title and not plan_["montage"]:
        session.title = args.title
    if not session.layers:
        from ..exceptions import ParameterError

        raise ParameterError("nothing to draw: give files (--stat, --anatomy, --connectome, "
                             "--surface...), --demo or --session")
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


def run(args):
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
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
    from ..scene.views import set_view, set_clipped_hemisphere
    from ..session import camera_with_angles

    figure = binding.figure
    if p["views_given"] or not binding.session.camera:
        set_view(figure, p["views"][0], render=False)
    angles = {k: p[k] for k in ("azimuth", "elevation", "distance", "roll") if p[k] is not None}
    if angles or p["focal_point"] is not None:
        binding.apply_camera(camera_with_angles(binding.current_camera(),
                                                focal_point=p["focal_point"], **angles))
    if args.clip:
        set_clipped_hemisphere(figure, -1 if args.clip == "left" else 1)


def _draw(args, p, session):
    from mayavi import mlab

    from ..exceptions import BrainvizError
    from ..scene.binding import draw_session
    from ..scene.export import save_montage, savefig

    from vtkmodules.vtkCommonCore import vtkLogger

    # VTK logs a warning when it falls back from X to EGL: not news for a
    # command whose point is to need no display.
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    mlab.options.offscreen = True
    figure = None
    try:
        figure, binding = draw_session(session, size=figure_size(p), view=None)
        if p["montage"]:
            colorbar = None if args.no_colorbar else binding.colorbar_visual()
            path = save_montage(p["output"], figure, views=p["views"], size=p["size"],
                                width_mm=p["width_mm"], dpi=p["dpi"],
                                transparent=args.transparent, colorbar=colorbar, title=args.title,
                                panel_labels=not args.no_labels)
        else:
            _point_camera(binding, args, p)
            path = savefig(p["output"], figure, size=p["size"], width_mm=p["width_mm"], dpi=p["dpi"],
                           transparent=args.transparent)
    except BrainvizError as exc:
        print(f"brainviz render: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    finally:
        if figure is not None:
            mlab.close(figure)
    print(f"brainviz render: wrote {path}")
    return 0
