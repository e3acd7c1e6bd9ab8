"""``brainviz cache list|clear|size``: look at and manage the job cache."""
import sys
import time


def add_parser(subparsers):
    p = subparsers.add_parser(
        "cache", help="list, size or clear the job cache",
        description="Manage the job cache (BRAINVIZ_CACHE_DIR or the platform's cache folder, "
                    "~/.cache/brainviz on Linux).",
    )
    p.add_argument("action", choices=("list", "clear", "size"))
    p.add_argument("--cache-dir", metavar="DIR", default=None, help="cache folder")
    p.add_argument("--remove", metavar="ID", default=None,
                   help="with 'clear': remove only the entry with this id (see 'cache list')")
    p.set_defaults(func=run)
    return p


def _human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _leftovers(cache, folder):
    """Lines about what is in the cache but not a usable entry (orphans, unsigned entries)."""
    lines = []
    orphans = cache.find_orphans(folder)
    if orphans:
        size = sum(_size(p) for p in orphans)
        lines.append(f"{len(orphans)} temporary file(s) left by interrupted or failed writes "
                     f"({_human(size)}): removed when the next job uses the cache, or by "
                     "'brainviz cache clear'")
    unsigned = [e for e in cache.list_cache_entries(folder, include_unsigned=True) if not e.signed]
    if unsigned:
        lines.append(f"{len(unsigned)} entr{'y' if len(unsigned) == 1 else 'ies'} not signed by "
                     "brainviz for this user: never loaded (computed again when needed); "
                     "'brainviz cache clear' removes them")
    return lines


def _size(path):
    from .._files import tree_size

    return tree_size(path)


def run(args):
    from .. import _config
    from ..backend import cache

    folder = _config.get_cache_dir(args.cache_dir)
    if args.action == "size":
        entries = cache.list_cache_entries(folder)
        print(f"{_human(cache.cache_size(folder))} in {len(entries)} entries ({folder})")
        for line in _leftovers(cache, folder):
            print(line)
    elif args.action == "list":
        entries = cache.list_cache_entries(folder)
        extra = _leftovers(cache, folder)
        if not entries:
            print(f"the cache at {folder} is empty")
            for line in extra:
                print(line)
            return 0
        print(f"{'last use':19}  {'size':>9}  {'kind':24}  id / parameters / inputs")
        for e in reversed(entries):  # most recent first
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.last_use))
            params = ", ".join(f"{k}={v}" for k, v in (e.params or {}).items())
            print(f"{when}  {_human(e.size):>9}  {e.kind:24}  {e.id}")
            if params:
                print(f"{'':56}{params}")
            if e.inputs:
                print(f"{'':56}{e.inputs}")
        for line in extra:
            print(line)
    else:
        if args.remove is not None:
            cache.remove_cache_entry(args.remove, folder)
            print(f"removed {args.remove}")
        else:
            freed = cache.clear_cache(folder)
            print(f"cleared {_human(freed)} from {folder}")
    sys.stdout.flush()
    return 0
