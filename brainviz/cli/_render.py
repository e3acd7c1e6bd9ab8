"""``brainviz render``: build a scene from files and write a figure, with no display.

Examples::

    brainviz render --stat zmap.nii.gz --threshold 3.1 --views left,right,superior \\
        --width-mm 180 --dpi 300 --transparent -o fig.png
    brainviz render --connectome matrix.csv --coords power --edge-threshold 95% -o graph.png
    brainviz render --demo -o demo.png

Every input is checked before anything is drawn; bad input exits with status
1 and a one-line reason, and writes nothing.
"""
import argparse
import sys

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
    scene = parser.add_argument_group("scene")
    scene.add_argument("--anatomy", metavar="FILE",
                       help="anatomical image for the slices (default: the MNI152 template)")
    scene.add_argument("--no-anatomy", action="store_true", help="draw no anatomy")
    scene.add_argument("--stat", metavar="FILE", help="statistical map to overlay")
    scene.add_argument("--threshold", metavar="T", help="show |value| >= T of the statistical map")
    scene.add_argument("--cmap", default="cold_hot", metavar="NAME",
                       help="colour map of the statistical map (default: cold_hot)")
    scene.add_argument("--isosurface", action="store_true",
                       help="also draw the thresholded statistical map as isosurfaces")
    scene.add_argument("--no-slices", action="store_true", help="hide the orthogonal slices")
    scene.add_argument("--glass", action="store_true", help="add a translucent glass brain")
    scene.add_argument("--regions", metavar="FILE", help="label image or 4D components to draw as regions")
    scene.add_argument("--connectome", metavar="FILE", help="connectivity matrix (.csv, .tsv, .txt, .npy)")
    scene.add_argument("--coords", metavar="FILE|NAME",
                       help="node coordinates: a CSV/TSV file (x, y, z[, label, network]) or "
                            "'power' / 'dosenbach'")
    scene.add_argument("--edge-threshold", metavar="X",
                       help="show edges with |weight| >= X, or a percentile such as 95%%")
    scene.add_argument("--cursor", default="0,0,0", metavar="X,Y,Z",
                       help="where the slices cross, in mm (default: 0,0,0)")
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
    from ..exceptions import ParameterError

    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{option} must be a number; got {text!r}") from None
    if positive and not value > 0:
        raise ParameterError(f"{option} must be a positive number; got {text!r}")
    return value


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


def _parse_cursor(text):
    from ..exceptions import ParameterError

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise ParameterError(f"--cursor must be X,Y,Z in mm; got {text!r}")
    return values


def _check_threshold(text):
    if text is None:
        return None
    text = text.strip()
    return text if text.endswith("%") else _number(text, "--edge-threshold")


def plan(args):
    """Check every argument and return what to draw and how to write it (draws nothing)."""
    from ..exceptions import ParameterError
    from ..scene._montage import DEFAULT_MONTAGE_WIDTH, _check_views
    from ..scene.export import MAX_SIZE, RASTER_FORMATS, check_output_path, resolve_size

    output, ext = check_output_path(args.output)
    views = _check_views(args.views) if args.views else None
    montage = bool(args.montage or (views is not None and len(views) > 1)
                   or (args.demo and views is None))
    if views is None:
        views = list(MONTAGE_VIEWS) if montage else ["left"]
    if montage and ext not in RASTER_FORMATS:
        raise ParameterError(
            f"A montage is a raster image: use one of {', '.join(RASTER_FORMATS)} for -o (got {ext!r})"
        )
    if args.transparent and ext not in (".png", ".tif", ".tiff"):
        from ..exceptions import ExportError

        raise ExportError(
            f"Cannot write {str(output)!r} with a transparent background: use .png or .tiff"
        )
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
    if (args.connectome is None) != (args.coords is None):
        raise ParameterError("--connectome and --coords go together")
    if args.no_anatomy and args.anatomy:
        raise ParameterError("--anatomy and --no-anatomy contradict each other")
    threshold = _number(args.threshold, "--threshold")
    if threshold is not None and threshold < 0:
        raise ParameterError(f"--threshold must be >= 0; got {args.threshold!r}")
    from ..scene.colors import check_colormap

    check_colormap(args.cmap, parameter="--cmap")
    return dict(output=output, ext=ext, views=views, montage=montage, size=size, width_mm=width_mm,
                dpi=dpi, threshold=threshold, edge_threshold=_check_threshold(args.edge_threshold),
                cursor=_parse_cursor(args.cursor), max_size=MAX_SIZE)


def scene_kwargs(args, plan_):
    """The :func:`brainviz.scene.compose.build_scene` arguments for ``args``.

    Files are read here (headers, matrices, coordinates), so bad files fail
    before anything is drawn.
    """
    from ..data import load_volume
    from ..scene.compose import demo_scene_kwargs, load_coords, load_matrix

    if args.demo:
        kwargs = demo_scene_kwargs(connectome=args.demo_connectome)
    else:
        kwargs = {}
    if args.no_anatomy:
        kwargs["anatomy"] = None
    elif args.anatomy:
        kwargs["anatomy"] = load_volume(args.anatomy)
    if args.stat:
        kwargs["stat_map"] = load_volume(args.stat)
    if plan_["threshold"] is not None:
        kwargs["threshold"] = plan_["threshold"]
    if args.stat or args.demo:
        kwargs["cmap"] = args.cmap
    if args.isosurface:
        kwargs["stat_isosurface"] = True
    if args.no_slices:
        kwargs["slices"] = False
    if args.glass:
        kwargs["glass_brain"] = True
    if args.regions:
        kwargs["regions"] = load_volume(args.regions)
    if args.connectome:
        kwargs["matrix"] = load_matrix(args.connectome)
        coords, labels, networks = load_coords(args.coords)
        kwargs.update(coords=coords, labels=labels, networks=networks)
        if len(coords) != len(kwargs["matrix"]):
            from ..exceptions import ShapeMismatchError

            raise ShapeMismatchError(
                f"--connectome {args.connectome!r} is {len(kwargs['matrix'])} x {len(kwargs['matrix'])} but "
                f"--coords {args.coords!r} has {len(coords)} nodes; they must match"
            )
    if plan_["edge_threshold"] is not None:
        kwargs["edge_threshold"] = plan_["edge_threshold"]
    kwargs["cursor"] = plan_["cursor"]
    return kwargs


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
        kwargs = scene_kwargs(args, p)
    except BrainvizError as exc:
        print(f"brainviz render: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    return _draw(args, p, kwargs)


def _draw(args, p, kwargs):
    from mayavi import mlab

    from ..exceptions import BrainvizError
    from ..scene.compose import build_scene
    from ..scene.export import save_montage, savefig
    from ..scene.views import set_view

    from vtkmodules.vtkCommonCore import vtkLogger

    # VTK logs a warning when it falls back from X to EGL: not news for a
    # command whose point is to need no display.
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    mlab.options.offscreen = True
    figure = None
    try:
        figure, visuals = build_scene(size=figure_size(p), **kwargs)
        if p["montage"]:
            colorbar = None
            if not args.no_colorbar:
                colorbar = visuals["stat_map"] or visuals["connectome"]
            path = save_montage(p["output"], figure, views=p["views"], size=p["size"],
                                width_mm=p["width_mm"], dpi=p["dpi"],
                                transparent=args.transparent, colorbar=colorbar, title=args.title,
                                panel_labels=not args.no_labels)
        else:
            set_view(figure, p["views"][0])
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
