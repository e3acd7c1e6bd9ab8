"""Regenerate the README's figures from the built-in data (no download, no display).

    python docs/make_readme_figures.py [--out docs] [--only montage,single_view,decoding_result,connectivity]

- ``montage.png``: ``brainviz render --demo --glass --no-slices --isosurface --views
  left,superior,right --size 1200`` (the motor map's blobs coloured by value in the
  whole-brain glass outline);
- ``single_view.png``: ``brainviz render --demo --views right`` (one view: the slices at the
  map's peak, the slice coordinate, the colour bar, autocropped);
- ``decoding_result.png``: the result view of a decoding job on the decoding demo
  (fold scores against chance with the permutation null, confusion matrix);
- ``connectivity.png``: the demo connectome's matrix, ordered by network, beside its 3D
  graph in the glass brain with the network legend.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path


def _render(args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    subprocess.run([sys.executable, "-m", "brainviz", "render", *args], check=True, env=env)


def _renders(out):
    _render(["--demo", "--glass", "--no-slices", "--isosurface", "--views", "left,superior,right",
             "--size", "1200", "--title", "Motor activation (z > 3), nilearn sample map",
             "-o", str(out / "montage.png")])
    _render(["--demo", "--views", "right", "--size", "800x640", "-o", str(out / "single_view.png")])


def _decoding(out):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from brainviz.backend import DecodingJob
    from brainviz.backend.displays import ConfusionDisplay, ScoresDisplay, _rc
    from brainviz.data import make_decoding_demo
    from brainviz.session import job_title

    demo = make_decoding_demo()
    result = DecodingJob(C=0.01, n_permutations=20, memory=False).run(
        demo.img, demo.labels, runs=demo.runs, mask=demo.mask)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(9.0, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.4, 1.0)})
        ScoresDisplay.from_result(result, title=job_title("decoding", result.params,
                                                          labels=demo.labels)).plot(ax=left)
        ConfusionDisplay.from_result(result).plot(ax=right)
        fig.savefig(out / "decoding_result.png", dpi=110, bbox_inches="tight", pad_inches=0.1)


def _connectivity(out):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mayavi import mlab

    import brainviz.mlab as bv
    from brainviz.backend.displays import MatrixDisplay, _rc, default_edge_threshold
    from brainviz.scene.figures import compose_figure, figure_pixels
    from brainviz.session import demo_connectome

    mlab.options.offscreen = True
    matrix, coords, labels, networks = demo_connectome()
    fig3d = bv.figure(size=(560, 480))
    bv.glass_brain(figure=fig3d)
    # cut as the window opens it: its 160 strongest edges
    bv.connectome(matrix, coords, labels=labels, networks=networks,
                  threshold=default_edge_threshold(len(coords)), figure=fig3d)
    bv.view("superior", figure=fig3d)
    composed, _ = compose_figure(fig3d, None, size=(560, 560), colorbar="auto")
    graph = figure_pixels(composed)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(11.2, 5.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax_matrix, ax_graph = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.05, 1.0)})
        MatrixDisplay(matrix, labels, networks=networks,
                      title="demo connectome: 160 Dosenbach nodes, by network").plot(ax=ax_matrix)
        ax_graph.imshow(graph)
        ax_graph.set_axis_off()
        ax_graph.set_title(f"the same graph in 3D (its {len(coords)} strongest edges)")
        # tight: the network names under the matrix and the titles stay inside the image
        fig.savefig(out / "connectivity.png", dpi=100, bbox_inches="tight", pad_inches=0.1)
    mlab.close(fig3d)


_FIGURES = {"montage": _renders, "single_view": _renders, "decoding_result": _decoding,
            "connectivity": _connectivity}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--only", default=",".join(_FIGURES),
                        help="comma-separated figure names (default: all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(_FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {sorted(_FIGURES)}")
    done = []
    for name in names:
        if _FIGURES[name] not in done:
            _FIGURES[name](out)
            done.append(_FIGURES[name])
    print("wrote", ", ".join(str(out / f"{n}.png") for n in names))


if __name__ == "__main__":
    main()
