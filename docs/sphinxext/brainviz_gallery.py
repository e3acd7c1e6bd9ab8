"""sphinx-gallery helpers for the brainviz examples (named by string in conf.py)."""
import shutil
import sys
from pathlib import Path


def png_written_by_example(block, block_vars, gallery_conf):
    """Scraper: the PNG an example writes (``plot_x.py`` -> ``plot_x.png`` beside it).

    The examples save their figure themselves (offscreen, with brainviz's own
    export); the gallery shows exactly that file, moved out of the source tree.
    """
    from sphinx_gallery.scrapers import figure_rst

    written = Path(block_vars["src_file"]).with_suffix(".png")
    if not written.is_file():
        return ""
    target = Path(next(block_vars["image_path_iterator"]))
    shutil.move(str(written), str(target))
    return figure_rst([str(target)], gallery_conf["src_dir"])


def close_mayavi_figures(gallery_conf, fname, when=None):
    """Close every Mayavi figure between examples."""
    if "mayavi.mlab" in sys.modules:
        sys.modules["mayavi.mlab"].close(all=True)


def no_arguments(gallery_conf, script_vars):
    """Run each example with no arguments: it writes plot_x.png in its folder."""
    return []
