"""``brainviz info FILE...``: print a human summary of each image."""
import sys


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "info",
        help="print a summary of brain images (shape, voxel size, orientation, range, kind)",
        description=(
            "Print a summary of each image. Bad files are reported with a one-line "
            "reason on standard error, the good ones are still reported, and the "
            "exit status is 1 if any file failed."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="image files")
    parser.add_argument(
        "--template", action="store_true",
        help="also summarise the bundled MNI152 template (shipped offline by nilearn)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    from ..data import load_template, load_volume
    from ..exceptions import BrainvizError

    if not args.files and not args.template:
        print("brainviz info: error: give at least one FILE, or --template", file=sys.stderr)
        return 2
    names = (["<MNI152 template>"] if args.template else []) + list(args.files)
    failed = 0
    for i, name in enumerate(names):
        try:
            volume = load_template() if name == "<MNI152 template>" else load_volume(name)
            text = volume.summary()
        except (BrainvizError, OSError, ValueError) as exc:
            failed += 1
            print(f"brainviz info: {name}: {exc}".replace("\n", " "), file=sys.stderr)
            continue
        if i:
            print()
        print(text)
    return 1 if failed else 0
