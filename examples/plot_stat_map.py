"""Statistical map
===============

A motor activation z map on the template slices and as isosurfaces.

The two-sided threshold hides |z| < 3; positive and negative parts use the
diverging ``cold_hot`` map on a symmetric range; the colour bar marks the
threshold. Run ``python examples/plot_stat_map.py [out.png]``.
"""
import sys

from mayavi import mlab

import brainviz.mlab as bv
from brainviz.data import load_motor_activation, load_template

mlab.options.offscreen = True
out = sys.argv[1] if len(sys.argv) > 1 else "plot_stat_map.png"

fig = bv.figure(size=(700, 550))
bv.anatomy(load_template(resolution=1), cursor=(-38, -22, 56), figure=fig)
zmap = bv.stat_map(load_motor_activation(), threshold=2.5, figure=fig)
zmap.threshold = 3.0  # restyled in place
zmap.show_isosurface = True
zmap.isosurface_opacity = 0.6
bv.colorbar(zmap, title="z")
bv.view(azimuth=-125, elevation=55, distance=470, focalpoint=(0, -18, 14), figure=fig)
bv.savefig(out, figure=fig)
print(f"wrote {out}")
