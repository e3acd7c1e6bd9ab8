"""Cortical surface
================

The motor z map projected onto the inflated fsaverage5 cortex.

Sulcal depth shades the cortex; the map is sampled along the pial surface
(nilearn's vol_to_surf) and thresholded at |z| >= 3. Run
``python examples/plot_surface.py [out.png]``.
"""
import sys

from mayavi import mlab

import brainviz.mlab as bv
from brainviz.data import load_motor_activation

mlab.options.offscreen = True
out = sys.argv[1] if len(sys.argv) > 1 else "plot_surface.png"

fig = bv.figure(size=(700, 550))
surf = bv.surface(load_motor_activation(), hemi="both", mesh="inflated", threshold=3.0, figure=fig)
bv.colorbar(surf, title="z")
bv.view("superior", figure=fig)  # neurological: the subject's left on the image left
bv.savefig(out, figure=fig)
print(f"wrote {out}")
