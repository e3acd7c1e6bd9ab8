"""Load VTK's modules as they are used, for a process that only writes a file.

TVTK and Mayavi ``import vtk``, and ``vtk`` imports all of VTK's 150-odd modules (readers
of every format, charts, VR, web, parallel...): about 75 MB and 1.3 s before the first
figure, of which a render uses some 30 modules. :func:`load_vtk_on_demand` puts in
``sys.modules`` a ``vtk`` module that imports the ``vtkmodules`` module holding a name
the first time the name is asked for, and lets TVTK's ``vtk_module`` do the same. Which
module holds which name is read from the ``.pyi`` stubs VTK installs beside its modules;
a name they do not list is looked up in the whole of VTK (the plain ``import vtk``), so
nothing is ever missing, only loaded later.

Only for a process that owns its imports (``brainviz render``'s whole process): it must
run before anything imports ``vtk``, ``tvtk`` or ``mayavi``, and does nothing otherwise.
"""
import ast
import importlib
import importlib.util
import os
import re
import sys
import types

__all__ = ["load_vtk_on_demand"]

#: Modules whose import registers the object factories a render needs (the OpenGL render
#: window, text, interactor style, volume mappers): loaded before anything is drawn, as
#: ``import vtk`` does, since their classes are created through the factories, not by name.
_FACTORY_MODULES = ("vtkInteractionStyle", "vtkRenderingFreeType", "vtkRenderingOpenGL2",
                    "vtkRenderingVolumeOpenGL2", "vtkRenderingUI")

# what the stubs name at the top level: classes, functions, constants (NAME: type)
_STUB_NAMES = re.compile(r"^(?:class |def )?([A-Za-z_]\w*)\s*[(:]", re.M)
_STAR_IMPORTS = re.compile(r"^from vtkmodules\.(vtk\w+) import \*", re.M)


def _real_vtk_path():
    spec = importlib.util.find_spec("vtk")
    return spec.origin if spec is not None else None


class _OnDemand(types.ModuleType):
    """``vtk``, resolving each name the first time it is asked for."""

    def __init__(self, name, where, real_path, package_path):
        super().__init__(name)
        self.__file__ = real_path
        self.__path__ = package_path  # ``vtk.util`` etc., as the real ``vtk`` allows
        self._where = where
        self._real_path = real_path
        self._whole = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        module = self._where.get(name)
        value = None
        if module is not None:
            value = getattr(importlib.import_module("vtkmodules." + module), name, None)
        if value is None:
            value = getattr(self._load_whole(), name)  # AttributeError when VTK has none
        setattr(self, name, value)
        return value

    def _load_whole(self):
        """The real ``vtk`` module (all of VTK), under another name."""
        if self._whole is None:
            spec = importlib.util.spec_from_file_location("brainviz._vtk_whole",
                                                          self._real_path)
            whole = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(whole)
            self._whole = whole
        return whole


def _stub_map(real_path, package_path):
    """{name: vtkmodules module} from the stubs, in ``vtk``'s import order (a later module
    wins, as with its star imports); None when the stubs are missing."""
    try:
        with open(real_path, encoding="utf-8") as f:
            order = _STAR_IMPORTS.findall(f.read())
    except OSError:
        return None
    where, found = {}, 0
    for module in order:
        for folder in package_path:
            try:
                with open(os.path.join(folder, module + ".pyi"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            found += 1
            for name in _STUB_NAMES.findall(text):
                where[name] = module
            break
    # a VTK without stubs (or with a few): the plain import
    return where if order and found >= 0.9 * len(order) else None


def _deleted_names(path):
    """Names ``tvtk/vtk_module.py`` may ``del`` (its workarounds for broken VTK classes)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Delete):
            for target in node.targets:
                for item in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(item, ast.Name):
                        names.add(item.id)
    return names


def load_vtk_on_demand():
    """Make ``import vtk`` (and TVTK's ``vtk_module``) load VTK's modules as they are used.

    Returns True when done; False (nothing changed) when VTK, TVTK or Mayavi is already
    imported, or VTK has no stubs to say where its names are.
    """
    if any(name in sys.modules for name in ("vtk", "tvtk", "mayavi", "tvtk.vtk_module")):
        return False
    real_path = _real_vtk_path()
    try:
        import vtkmodules
    except ImportError:
        return False
    if real_path is None:
        return False
    package_path = list(vtkmodules.__path__)
    where = _stub_map(real_path, package_path)
    if where is None:
        return False
    for module in _FACTORY_MODULES:
        importlib.import_module("vtkmodules." + module)
    vtk = _OnDemand("vtk", where, real_path, package_path)
    vtk.__version__ = getattr(vtkmodules, "__version__", None)
    sys.modules["vtk"] = vtk
    _tvtk_module_on_demand(vtk)
    return True


def _tvtk_module_on_demand(vtk):
    """Import TVTK's ``vtk_module`` (``from vtk import *`` and its workarounds) against the
    on-demand ``vtk``, then let it resolve the names it did not get the same way."""
    spec = importlib.util.find_spec("tvtk.vtk_module")
    if spec is None:
        return
    # ``from vtk import *`` copies only the names loaded so far: give it each name the
    # workarounds may delete (a marker, not the class), to see which they deleted.
    marker = object()
    deletable = _deleted_names(spec.origin)
    for name in deletable:
        vtk.__dict__.setdefault(name, marker)
    vtk.__dict__.setdefault("vtkVersion",
                            importlib.import_module("vtkmodules.vtkCommonCore").vtkVersion)
    try:
        module = importlib.import_module("tvtk.vtk_module")
    finally:
        for name in deletable:
            if vtk.__dict__.get(name) is marker:
                del vtk.__dict__[name]
    removed = {name for name in deletable if name not in module.__dict__}
    for name in deletable - removed:
        if module.__dict__.get(name) is marker:
            del module.__dict__[name]

    def __getattr__(name):  # noqa: N807 (a module's own __getattr__, PEP 562)
        if name in removed or name.startswith("__"):
            raise AttributeError(f"module 'tvtk.vtk_module' has no attribute {name!r}")
        value = getattr(vtk, name)
        setattr(module, name, value)
        return value

    module.__getattr__ = __getattr__
