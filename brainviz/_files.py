"""Files written safely: temporary names that say who wrote them, stale ones cleaned.

Every file or folder brainviz writes goes first to a hidden temporary name in
the same folder and is then renamed into place. The temporary name says which
host and process wrote it::

    .<name>.bvtmp_<host>_<pid>_<random><suffix>

so that the next writer can tell a temporary file of a process that is gone
(killed, out of memory, power cut) from one that is still being written, and
remove only the former (:func:`remove_stale`). A temporary name of another
host is taken as stale only when it is older than :data:`STALE_AFTER` seconds.

:func:`check_output_folder` checks a result folder before a job computes
anything: its parent is a folder (or can be made one), it can be written, and
it has room for the estimated result.
"""
import errno
import os
import re
import secrets
import shutil
import socket
import stat
import time
from pathlib import Path

from .exceptions import OutputExistsError, ResultError

__all__ = [
    "STALE_AFTER",
    "temp_name",
    "is_temp_name",
    "is_stale",
    "remove_stale",
    "remove_tree",
    "write_atomic",
    "save_image",
    "check_output_folder",
    "human_bytes",
]

#: Seconds after which a temporary file of a process this host cannot check is stale.
STALE_AFTER = 24 * 3600

_TAG = "bvtmp"
_TEMP_RE = re.compile(
    r"^\.(?P<base>.*)\.%s_(?P<host>[^_/]*)_(?P<pid>\d+)_(?P<rand>[0-9a-f]{8})(?P<suffix>[^/]*)$"
    % _TAG
)


def _host():
    # '_' separates the fields of a temporary name; host names never hold one
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def temp_name(base, suffix=""):
    """A hidden temporary name for ``base`` in the same folder (a name, not a path)."""
    return f".{base}.{_TAG}_{_host()}_{os.getpid()}_{secrets.token_hex(4)}{suffix}"


def is_temp_name(name, base=None):
    """Whether ``name`` is a temporary name made by :func:`temp_name` (for ``base``)."""
    match = _TEMP_RE.match(name)
    return bool(match) and (base is None or match.group("base") == base)


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def is_stale(path):
    """Whether the temporary file or folder ``path`` was left by a process that is gone."""
    path = Path(path)
    match = _TEMP_RE.match(path.name)
    if not match:
        return False
    try:
        age = time.time() - os.lstat(path).st_mtime
    except OSError:
        return False
    if age > STALE_AFTER:
        return True
    if match.group("host") != _host():
        return False
    return not _pid_alive(int(match.group("pid")))


def remove_tree(path):
    """Remove a file, a symbolic link or a folder without following any link.

    Returns the list of ``(path, OSError)`` that could not be removed (empty
    when everything went).
    """
    path = Path(path)
    errors = []
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return errors
    except OSError as exc:
        return [(path, exc)]
    if not stat.S_ISDIR(st.st_mode):  # a file or a link: the link itself goes
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            errors.append((path, exc))
        return errors

    def onerror(func, failed, exc_info):
        exc = exc_info[1]
        if not isinstance(exc, FileNotFoundError):
            errors.append((Path(failed), exc))

    # rmtree never follows links inside the tree (it unlinks them)
    shutil.rmtree(path, onerror=onerror)
    return errors


def save_image(img, path):
    """``nibabel.save(img, path)``, leaving ``img`` what it was.

    nibabel's save points the image it writes at the file (its ``file_map``): an image
    written under a temporary name, then renamed into place, named a file that is gone,
    and every later use of its file name (a session saved again, a job keying its input
    by its file, ``brainviz render`` of the session) failed on it.
    """
    import nibabel as nib

    file_map = img.file_map
    try:
        nib.save(img, path)
    finally:
        img.file_map = file_map


def write_atomic(path, write):
    """Write the file ``path`` whole or not at all.

    ``write(tmp)`` writes a temporary file in the same folder (a name of
    :func:`temp_name`, with ``path``'s suffix), which is then renamed into
    place; if anything fails the temporary file is removed, ``path`` is left
    as it was, and the error is raised. Returns ``path`` as a Path.
    """
    path = Path(path)
    tmp = path.with_name(temp_name(path.stem, path.suffix))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        remove_tree(tmp)
        raise
    return path


def remove_stale(folder, base=None):
    """Remove the stale temporary files and folders directly inside ``folder``.

    Parameters
    ----------
    folder : path-like
    base : str, default=None
        Only temporary names made for this name (e.g. a result folder's name).

    Returns
    -------
    (int, int)
        Number of entries removed and their size in bytes.
    """
    count = size = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0, 0
    for name in names:
        if not is_temp_name(name, base):
            continue
        path = Path(folder, name)
        if not is_stale(path):
            continue
        nbytes = tree_size(path)
        if not remove_tree(path):
            count += 1
            size += nbytes
    return count, size


def tree_size(path):
    """Bytes held by a file or folder (links not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def human_bytes(n):
    """``1536`` -> ``'1.5 KB'``."""
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _existing_ancestor(path):
    """The nearest existing ancestor of ``path`` (absolute), or raise naming a file in the way."""
    here = Path(os.path.abspath(path))
    for parent in [here.parent, *here.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise ResultError(
                    f"Cannot create the result folder {path}: {parent} is a file, not a folder."
                )
            return parent
        if parent.is_symlink():  # a dangling link
            raise ResultError(
                f"Cannot create the result folder {path}: {parent} is a broken symbolic link."
            )
    return here.anchor  # pragma: no cover - the root always exists


def check_output_folder(folder, overwrite=False, need_bytes=0):
    """Check, before computing, that a result folder can be written.

    Parameters
    ----------
    folder : path-like
        The result folder to create (or replace).
    overwrite : bool, default=False
        Whether an existing non-empty folder may be replaced.
    need_bytes : int, default=0
        Estimated size of the result; the file system must have that much
        free space (plus a small margin).

    Raises
    ------
    OutputExistsError
        The folder exists, is not empty and ``overwrite`` is false.
    ResultError
        The path is a file, a parent is a file, the place is read-only or
        not writable, or the disk has too little free space. One line naming
        the folder.
    """
    folder = Path(folder)
    if folder.is_symlink() and not folder.exists():
        raise ResultError(f"Cannot write the result folder {folder}: it is a broken symbolic link.")
    if folder.exists():
        if not folder.is_dir():
            raise ResultError(f"Cannot write the result folder {folder}: it is a file, not a folder.")
        if not overwrite and any(folder.iterdir()):
            raise OutputExistsError(
                f"The result folder {folder} already exists and is not empty "
                "(pass overwrite=True to replace it).", path=folder)
    where = _existing_ancestor(folder)
    probe = Path(where, temp_name("probe"))
    try:
        os.mkdir(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EROFS,):
            reason = "the file system is read-only"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            reason = "permission denied"
        raise ResultError(f"Cannot write the result folder {folder}: {where} is not writable "
                          f"({reason}).") from None
    else:
        try:
            os.rmdir(probe)
        except OSError:
            pass
    if need_bytes:
        try:
            free = shutil.disk_usage(where).free
        except OSError:
            free = None
        margin = 1 << 20
        if free is not None and free < int(need_bytes) + margin:
            raise ResultError(
                f"Not enough free space for the result folder {folder}: the result needs about "
                f"{human_bytes(need_bytes)} but {where} has {human_bytes(free)} free."
            )
