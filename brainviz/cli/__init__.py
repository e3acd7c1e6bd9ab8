"""The ``brainviz`` command: an argparse router.

``brainviz`` alone opens the window on the built-in demo, ``brainviz FILE...``
opens files in the window, and ``brainviz COMMAND ...`` runs a sub-command
(``info``, ``render``, ``decode``, ``regions``, ``connectivity``, ``searchlight``,
``cache``).

Each sub-command lives in its own module of this package, exposing
``add_parser(subparsers)``; the parser it adds sets ``func`` to the function
that runs it. Command modules import heavy libraries inside that function only,
so ``brainviz --version`` and ``brainviz info`` stay fast.
"""
import argparse
import contextlib
import importlib
import logging
import sys
import warnings

from .._version import __version__
from ..exceptions import BrainvizError

__all__ = ["main", "build_parser"]

# Sub-command name -> module (relative to this package) that adds its parser.
_COMMAND_MODULES = {
    "info": "._info",
    "render": "._render",
    "decode": "._jobs",
    "regions": "._jobs",
    "connectivity": "._jobs",
    "searchlight": "._jobs",
    "cache": "._cache",
}


# Options that do something other than open the window when given alone.
_NOT_THE_WINDOW = ("-h", "--help", "--version", "--install-desktop", "--uninstall-desktop")


def build_parser():
    """Return the full argument parser (all sub-commands)."""
    parser = argparse.ArgumentParser(
        prog="brainviz",
        description=(
            "Brain mining: open brain images, run decoding, region-learning and "
            "connectivity jobs, and look at the answers in interactive 3D. "
            "Run without a command to open the window (on the built-in demo "
            "when no FILE is given)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"brainviz {__version__}")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add brainviz to the desktop's application menu (a desktop entry "
                              "and an icon in the user's XDG folders) and exit")
    desktop.add_argument("--uninstall-desktop", action="store_true",
                         help="remove what --install-desktop wrote and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES.values():
        module = importlib.import_module(module_name, __name__)
        module.add_parser(subparsers)
    for sub in subparsers.choices.values():
        if not any("--verbose" in a.option_strings for a in sub._actions):
            sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help=_VERBOSE_HELP)
    return parser


_VERBOSE_HELP = "show the log lines and warnings of the libraries brainviz uses, in full"


@contextlib.contextmanager
def _terminal_manners(command, verbose):
    """Library chatter off the terminal unless --verbose; warnings as one line each.

    nibabel logs header fixes ("vox offset ... setting to minimum value") to
    stderr through its own handler: kept quiet. A warning (a cache that cannot
    be written...) is printed as ``brainviz COMMAND: warning: ...`` instead of
    Python's two lines with a source line.
    """
    nib_logger = logging.getLogger("nibabel")
    level = nib_logger.level
    show = warnings.showwarning
    if not verbose:
        nib_logger.setLevel(logging.CRITICAL + 1)

        def one_line(message, category, filename, lineno, file=None, line=None):
            text = " ".join(str(message).split())
            print(f"brainviz {command}: warning: {text}", file=file or sys.stderr)

        warnings.showwarning = one_line
    try:
        yield
    finally:
        nib_logger.setLevel(level)
        warnings.showwarning = show


def _open_window(files):
    from . import _gui

    return _gui.run_window(files)


def main(argv=None):
    """Entry point of the ``brainviz`` console script; returns the exit status."""
    whole_process = argv is None  # the process's own command line (not a call from Python)
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``brainviz`` and ``brainviz FILE...`` open the window.
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None and not any(a in _NOT_THE_WINDOW for a in argv):
        return _open_window([])
    if first is not None and first not in _COMMAND_MODULES and not argv[0].startswith("-"):
        return _open_window(argv)

    parser = build_parser()
    args = parser.parse_args(argv)
    args.whole_process = whole_process
    if args.install_desktop or args.uninstall_desktop:
        from . import _desktop

        args.command = "--install-desktop" if args.install_desktop else "--uninstall-desktop"
        args.func = _desktop.run_install if args.install_desktop else _desktop.run_uninstall
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        with _terminal_manners(args.command, getattr(args, "verbose", False)):
            status = args.func(args)
    except BrainvizError as exc:
        print(f"brainviz {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"brainviz {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0 if status is None else int(status)
