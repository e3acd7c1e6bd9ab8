"""Glass brain
===========

The motor activation as blobs inside a translucent brain.

Run ``python examples/plot_glass_brain.py [out.png]``.
"""
import sys

from mayavi import mlab

import brainviz.mlab as bv
from brainviz.data import load_motor_activation

mlab.options.offscreen = True
out = sys.argv[1] if len(sys.argv) > 1 else "plot_glass_brain.png"

fig = bv.figure(size=(600, 600))
glass = bv.glass_brain(load_motor_activation(), threshold=3.0, opacity=0.12, figure=fig)
bv.colorbar(glass, title="z")
bv.view("superior", figure=fig)
bv.savefig(out, figure=fig)
print(f"wrote {out}")
