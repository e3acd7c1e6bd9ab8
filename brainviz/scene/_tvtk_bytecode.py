"""Keep the bytecode of TVTK's wrapper classes between processes.

TVTK ships its ~5,500 wrapper classes as Python sources in ``tvtk_classes.zip``, and
Python's zip importer never writes bytecode: every process compiles each class it uses
from source again, twice (the zip importer's ``find_spec`` and ``get_code`` each
compile): importing ``mayavi.mlab`` takes about 1.5 s longer than from bytecode.
:func:`keep_tvtk_bytecode` puts a finder in ``sys.meta_path`` that loads those modules
from bytecode kept under ``<data folder>/tvtk_bytecode/<key>/``, compiling (and keeping)
the ones not there yet. The key names the zip (path, size, modification time) and the
Python bytecode version, so a new TVTK or Python starts a new folder. Best effort: a
file that cannot be read counts as absent, one that cannot be written is compiled again
by the next process.
"""
import importlib.abc
import importlib.util
import marshal
import os
import sys

__all__ = ["keep_tvtk_bytecode"]

_PACKAGE = "tvtk.tvtk_classes"
_ZIP_ENTRY = os.path.join("tvtk_classes.zip", "tvtk_classes")
# the first 16 bytes of a kept file: this Python's bytecode version, and ours
_HEADER = (importlib.util.MAGIC_NUMBER + b"bvz-tvtk").ljust(16, b"\0")


class _Loader(importlib.abc.Loader):
    def __init__(self, entry, zipimporter, folder, names):
        self.entry = entry  # .../tvtk_classes.zip/tvtk_classes
        self.zipimporter = zipimporter
        self.folder = folder
        self.names = names  # the modules' file names in the zip

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.get_code(module.__name__), module.__dict__)  # noqa: S102 (TVTK's own code)

    def get_source(self, fullname):
        return self.zipimporter.get_source(fullname.rpartition(".")[2])

    def get_code(self, fullname):
        leaf = fullname.rpartition(".")[2]
        path = os.path.join(self.folder, leaf + ".pyc")
        try:
            with open(path, "rb") as f:
                data = f.read()
            if data[:16] == _HEADER:
                return marshal.loads(data[16:])
        except (OSError, EOFError, ValueError, TypeError):
            pass
        origin = os.path.join(self.entry, leaf + ".py")
        code = compile(self.get_source(fullname), origin, "exec", dont_inherit=True)
        from .._files import write_atomic

        data = _HEADER + marshal.dumps(code)
        try:
            os.makedirs(self.folder, exist_ok=True)
            write_atomic(path, lambda tmp: tmp.write_bytes(data))
        except OSError:
            pass  # best effort: the next process compiles it again
        return code


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self):
        self.loaders = {}

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(_PACKAGE + ".") or fullname.count(".") != 2 or not path:
            return None
        entry = next((p for p in path if os.fspath(p).endswith(_ZIP_ENTRY)), None)
        if entry is None:
            return None
        if entry not in self.loaders:
            self.loaders[entry] = _make_loader(entry)
        loader = self.loaders[entry]
        leaf = fullname.rpartition(".")[2]
        # not the zip importer's find_spec or get_filename: each compiles the module
        if loader is None or f"tvtk_classes/{leaf}.py" not in loader.names:
            return None
        origin = os.path.join(loader.entry, leaf + ".py")
        spec = importlib.util.spec_from_loader(fullname, loader, origin=origin)
        spec.has_location = True  # __file__, as the zip importer sets it
        return spec


def _make_loader(entry):
    import zipfile
    import zipimport

    from .._config import get_data_dir
    from ..data._store import digest

    zip_path = os.fspath(entry)[: -len(os.sep + "tvtk_classes")]
    try:
        stat = os.stat(zip_path)
        importer = zipimport.zipimporter(os.fspath(entry))
        with zipfile.ZipFile(zip_path) as archive:
            names = frozenset(archive.namelist())
    except (OSError, zipimport.ZipImportError, zipfile.BadZipFile):
        return None
    key = digest(os.path.abspath(zip_path), stat.st_size, stat.st_mtime_ns,
                 sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER)
    folder = os.fspath(get_data_dir() / "tvtk_bytecode" / key)
    return _Loader(os.fspath(entry), importer, folder, names)


def keep_tvtk_bytecode():
    """Load TVTK's wrapper classes from kept bytecode in this process (see the module
    docstring). Returns False when already done."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return False
    sys.meta_path.insert(0, _Finder())
    return True
