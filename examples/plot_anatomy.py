"""Anatomy
=======

Three orthogonal slices of the MNI152 template through a cursor in mm.

Run ``python examples/plot_anatomy.py [out.png]``; it renders offscreen.
"""
import sys

from mayavi import mlab

import brainviz.mlab as bv
from brainviz.data import load_template

mlab.options.offscreen = True
out = sys.argv[1] if len(sys.argv) > 1 else "plot_anatomy.png"

fig = bv.figure(size=(600, 500))
anatomy = bv.anatomy(load_template(resolution=1), cursor=(-20, -18, 12), figure=fig)
bv.cursor((-30, -18, 12), figure=fig)  # moves all three slices, nothing rebuilt
bv.view(azimuth=-125, elevation=65, distance=430, focalpoint=(0, -18, 10), figure=fig)
bv.savefig(out, figure=fig)
print(f"wrote {out}")
