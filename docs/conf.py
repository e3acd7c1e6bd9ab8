"""Sphinx configuration of the brainviz documentation.

Build it as CI does (warnings are errors, broken cross-references included)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -n -b html docs docs/_build/html

The API reference lists each package's ``__all__`` through autosummary, so it
follows the code; the CLI page is read from the argparse parser; the gallery
runs every script in ``examples/`` offscreen and shows the PNG it writes.
"""
import os
import sys
from pathlib import Path

# Offscreen rendering for the gallery, set before anything imports Qt or Mayavi.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ETS_TOOLKIT", "qt")
os.environ.setdefault("QT_API", "pyqt5")

import brainviz  # noqa: E402

_DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(_DOCS / "sphinxext"))

project = "brainviz"
author = "The brainviz developers"
copyright = "2026, The brainviz developers"
version = release = brainviz.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "brainviz_refs",  # sphinxext/: references by defining module -> the public page
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "**/sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# --- cross-references: every one must resolve -------------------------------------
nitpicky = True
# No intersphinx: the build runs without a network, so references to other
# projects' objects cannot resolve; they are let through by name here, and
# every reference to a brainviz object must still resolve.
_EXTERNAL = (r"(numpy|np|nibabel|nib|scipy|sklearn|joblib|nilearn|pandas|dask|distributed|"
             r"mayavi|tvtk|vtk|traits|traitsui|pyface|matplotlib|PIL|pathlib|importlib|os|"
             r"threading|multiprocessing|concurrent|collections|typing|argparse|logging|io|"
             r"platformdirs|tqdm|lazy_loader)(\..*)?")
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    (r"py:.*", r"(str|int|float|bool|bytes|tuple|list|dict|set|callable|object|type|None|"
               r"Exception|ValueError|TypeError|KeyError|OSError|FileNotFoundError|"
               r"RuntimeError|UserWarning|Warning|KeyboardInterrupt|sys\..*)"),
]

# Plain-text help and docstrings write absolute values as |value|; in reST that
# is a substitution, so each one used is defined as itself.
rst_prolog = "\n".join(f".. |{name}| replace:: \\|{name}\\|" for name in ("value", "weight", "weights", "z"))

# Docstrings that refer to names outside the packages' __all__ (module constants,
# private helpers, traits without a doc comment): nothing documents them, so the
# references cannot resolve. Listed one by one, so that any other broken
# reference fails the build; fix the docstring (or export the name) and drop
# its line.
nitpick_ignore = [
    ("py:attr", "vmax"), ("py:attr", "isosurface_level"), ("py:attr", "data"),
    ("py:data", "DEFAULT_VIEW"), ("py:data", "MNI_BRAIN_BOUNDS"), ("py:data", "MAX_SIZE"),
    ("py:data", "FORMATS"), ("py:data", "DEFAULT_DPI"), ("py:data", "AUTO_TUBE_LIMIT"),
    ("py:data", "NETWORK_NODES"), ("py:data", "NETWORK_NAMES"), ("py:data", "CATEGORY_REGIONS"),
    ("py:data", "ESTIMATORS"),
    ("py:func", "components_to_labels"), ("py:func", "remove_pick_callbacks"),
    ("py:mod", "brainviz.data._volume_stats"), ("py:func", "brainviz.data._volume_stats.guess_kind"),
    ("py:mod", "brainviz.scene.binding"), ("py:attr", "cmap"), ("py:attr", "frame"),
    ("py:mod", "brainviz.scene.slices2d"), ("py:data", "LAYER_VISUALS"),
]

# --- API reference ---------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # document exactly what __all__ lists
# The packages' names are defined in submodules and re-exported lazily
# (lazy_loader, whose dir() omits __all__): take them as the package's own.
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

# --- examples gallery ------------------------------------------------------------
# The gallery's helpers live in sphinxext/brainviz_gallery.py and are named by
# string, so that Sphinx can pickle this configuration.

sphinx_gallery_conf = {
    "examples_dirs": str(_DOCS.parent / "examples"),
    "gallery_dirs": str(_DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "image_scrapers": ("brainviz_gallery.png_written_by_example",),
    "reset_modules": ("brainviz_gallery.close_mayavi_figures",),
    "reset_argv": "brainviz_gallery.no_arguments",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_signature": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# --- HTML ------------------------------------------------------------------------
# "--install-desktop" stays two hyphens (no en dash), quotes stay typographic
smartquotes_action = "qe"

html_theme = "furo"
html_title = f"brainviz {release}"
html_static_path = []
html_logo = str(_DOCS.parent / "resources" / "brainviz.png")
