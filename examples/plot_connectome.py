"""Connectome in a glass brain
===========================

Dosenbach 2010 nodes coloured by network.

The 160 Dosenbach 2010 regions come with nilearn (offline). Their time
series are simulated here from one latent signal per network plus noise, so
that nodes of a network correlate; the correlation matrix is drawn with the
strongest 1 % of edges, coloured by weight on the diverging ``cold_hot`` map,
in a translucent brain, seen from above (neurological: left is left) and
from the left.

Run::

    python examples/plot_connectome.py [output.png]

It renders offscreen and writes ``plot_connectome.png`` (or the given path).
"""
import os
import sys
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import numpy as np  # noqa: E402
from mayavi import mlab  # noqa: E402

import brainviz.mlab as bv  # noqa: E402
from brainviz.data import load_dosenbach_2010  # noqa: E402

mlab.options.offscreen = True
out = Path(sys.argv[1] if len(sys.argv) > 1 else "plot_connectome.png")

atlas = load_dosenbach_2010()
networks = np.asarray(atlas.networks)
names = sorted(set(networks))

# One latent signal per network, mixed into each node with a random strength
# plus noise; the fronto-parietal signal is anti-correlated with the default
# mode one (as task-positive and default networks often are).
rng = np.random.default_rng(0)
latent = rng.standard_normal((300, len(names)))
fp, dmn = names.index("fronto-parietal"), names.index("default")
latent[:, fp] = 0.5 * latent[:, fp] - 0.85 * latent[:, dmn]
strength = rng.uniform(0.2, 1.0, len(networks))
loadings = np.array([[s if net == name else 0.0 for name in names] for net, s in zip(networks, strength)])
series = latent @ loadings.T + 0.8 * rng.standard_normal((300, len(networks)))
matrix = np.corrcoef(series.T)

fig = bv.figure(size=(900, 450), bgcolor=(1, 1, 1))
bv.glass_brain(figure=fig, opacity=0.08)
conn = bv.connectome(matrix, atlas.coords, threshold="99%", networks=networks, show_legend=True,
                     labels=atlas.labels, node_size=7.0, edge_width=1.3, figure=fig)
# what is drawn: the layer's visual in the figure's scene
from brainviz.scene.binding import binding_for  # noqa: E402

drawn = binding_for(fig).visual_for(conn)
print(f"{drawn.n_edges_shown} edges drawn (|r| >= {drawn.threshold_value:.2f}); networks: "
      + ", ".join(drawn.network_colors))
bv.montage(out, views=("superior", "left"), size=(900, 520), colorbar=conn,
           colorbar_title="correlation (r)", figure=fig)
print(f"wrote {out}")
