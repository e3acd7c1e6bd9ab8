"""Region maps
===========

Five network maps (a 4D stack of components) in their own colours, with a legend.

The maps come from brainviz's seeded resting-state demo (generated in seconds,
cached on disk). Run ``python examples/plot_regions.py [out.png]``.
"""
import sys

from mayavi import mlab

import brainviz.mlab as bv
from brainviz.data import make_resting_state_demo

mlab.options.offscreen = True
out = sys.argv[1] if len(sys.argv) > 1 else "plot_regions.png"

demo = make_resting_state_demo()
fig = bv.figure(size=(700, 500))
bv.glass_brain(figure=fig, opacity=0.08)
regions = bv.regions(demo.network_maps, labels=demo.network_names, figure=fig)
bv.view("left", figure=fig)
bv.savefig(out, figure=fig)
print(f"wrote {out}: {len(regions.region_ids)} regions")
