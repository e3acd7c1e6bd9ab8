"""Benchmark: brainviz figure export vs plain ``mayavi.mlab.savefig``.

Prints, side by side in one run, for the full scene of the scenes issue (1 mm
MNI template slices, statistical isosurfaces of the sample motor map, glass
brain, 264-node Power 2011 connectome with 1,000 edges), built once with
:func:`brainviz.scene.binding.draw_session` in a 600 x 600 offscreen window:

1. a 4-view montage (left, right, superior, posterior) at 180 mm and 300 DPI,
   with the shared colour bar: time, pixel size, and peak memory (numpy/Python
   allocations from tracemalloc, and the growth of the process' peak RSS,
   which includes VTK's framebuffers; run first so that the growth is its own);
2. a 3840 x 2160 PNG: ``brainviz.scene.export.savefig(size=...)`` vs
   ``mayavi.mlab.savefig(size=...)`` on the same figure (goal: time ratio
   <= 1.2), and whether each file has the requested size (mayavi divides the
   size by an integer magnification and rounds down);
3. with ``--big``, an 8000 x 8000 export (time, size, peak RSS growth);
4. a single view of nilearn's motor map, each as a whole process (start to file
   written, wall time and the process' own peak RSS from ``os.wait4``):
   ``brainviz render --stat MOTOR -o f.png`` vs ``nilearn.plotting.plot_stat_map(MOTOR,
   output_file=...)`` (goal: ratios at most 1.0);
5. a 36-frame 800 x 800 rotation movie (MP4) of the demo scene (template slices and
   the motor map's isosurfaces): ``brainviz.scene.movies.save_movie`` on a drawn
   scene, and ``brainviz render --demo --movie rotate`` as a whole process (goal:
   under 15 s).

Usage::

    python benchmarks/bench_export.py [--repeat 3] [--big] [--out DIR] [--only 4,5]

The machine is shared: wall times grow with the load average (printed), so
process CPU times are printed next to them.
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# the same random graph on the Power 2011 nodes as bench_scene (this folder is on sys.path)
from bench_scene import random_power_graph  # noqa: E402

TARGET = (3840, 2160)


def build_full_scene(size=(600, 600)):
    """The full scene as a session drawn by the binding; returns (figure, binding, missing)."""
    from brainviz import model
    from brainviz.data import load_motor_activation, load_template
    from brainviz.scene.binding import draw_session

    matrix, coords, threshold = random_power_graph()
    session = model.Session()
    session.add_layer(model.AnatomyLayer().set_volume(load_template(resolution=1)))
    session.add_layer(model.StatMapLayer(threshold=3.0, show_isosurface=True)
                      .set_volume(load_motor_activation()))
    session.add_layer(model.GlassBrainLayer().set_volume(None))
    session.add_layer(model.ConnectomeLayer(threshold=threshold).set_graph(matrix, coords))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure, binding = draw_session(session, size=size, view="left")
    return figure, binding, []


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _size_of(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each export (median reported)")
    parser.add_argument("--big", action="store_true", help="also export 8000 x 8000")
    parser.add_argument("--out", default=None, help="folder for the images (default: a temporary one)")
    parser.add_argument("--only", default="1,2,3,4,5",
                        help="comma-separated sections to run (default: all)")
    args = parser.parse_args(argv)
    only = {int(v) for v in args.only.split(",") if v.strip()}

    from mayavi import mlab

    from brainviz.scene.export import save_montage, savefig

    mlab.options.offscreen = True
    out = args.out or tempfile.mkdtemp(prefix="bench_export_")
    os.makedirs(out, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; images in {out}")
    if only & {4, 5}:
        peers_and_movie(out, args.repeat, only)
    if not only & {1, 2, 3}:
        return

    (figure, binding, missing), build_s, _ = _timed(build_full_scene)
    visuals = {type(layer).__name__: visual for layer, visual in binding.visuals.items()}
    n_edges = visuals["ConnectomeLayer"].n_edges_shown
    print(f"full scene built in {build_s:.1f} s: 1 mm template slices, motor-map isosurfaces, "
          f"glass brain, 264-node connectome with {n_edges} edges; "
          f"window {tuple(figure.scene.render_window.size)}")
    if missing:
        print("missing (not in the scene): " + ", ".join(missing))
    # One render at the window size first, so neither side pays for shader compilation.
    figure.scene.render()

    # 1. 4-view montage at 180 mm, 300 DPI.
    path = os.path.join(out, "montage_180mm_300dpi.png")
    rss_before = _maxrss_mb()
    tracemalloc.start()
    _, wall, cpu = _timed(lambda: save_montage(
        path, figure, views=("left", "right", "superior", "posterior"), width_mm=180, dpi=300,
        colorbar=visuals["StatMapLayer"], title="Motor activation"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = _size_of(path)
    print("\n1. 4-view montage, 180 mm at 300 DPI, with colour bar")
    print(f"   time {wall:.2f} s wall / {cpu:.2f} s CPU -> {size[0]} x {size[1]} px "
          f"({'2126 px wide as asked' if size[0] == 2126 else 'UNEXPECTED WIDTH'})")
    print(f"   peak memory: {peak / 2**20:.0f} MB numpy/Python (tracemalloc), process peak RSS "
          f"+{_maxrss_mb() - rss_before:.0f} MB (now {_maxrss_mb():.0f} MB)")

    # 2. 3840 x 2160: brainviz vs mayavi, alternating, median of --repeat runs.
    times = {"brainviz": [], "mayavi": []}
    cpus = {"brainviz": [], "mayavi": []}
    paths = {"brainviz": os.path.join(out, "brainviz_4k.png"), "mayavi": os.path.join(out, "mayavi_4k.png")}
    for _ in range(args.repeat):
        for side in ("brainviz", "mayavi"):
            if side == "brainviz":
                func = lambda: savefig(paths["brainviz"], figure, size=TARGET)  # noqa: E731
            else:
                func = lambda: mlab.savefig(paths["mayavi"], size=TARGET, figure=figure)  # noqa: E731
            _, wall, cpu = _timed(func)
            times[side].append(wall)
            cpus[side].append(cpu)
    bv, mv = statistics.median(times["brainviz"]), statistics.median(times["mayavi"])
    print(f"\n2. {TARGET[0]} x {TARGET[1]} PNG of the full scene (median of {args.repeat}; wall / CPU)")
    for side in ("brainviz", "mayavi"):
        size = _size_of(paths[side])
        ok = "requested size" if size == TARGET else f"WRONG SIZE (asked {TARGET[0]} x {TARGET[1]})"
        label = "brainviz savefig" if side == "brainviz" else "mayavi.mlab.savefig"
        print(f"   {label:22s} {statistics.median(times[side]):6.2f} s / {statistics.median(cpus[side]):6.2f} s"
              f"   -> {size[0]} x {size[1]} ({ok})")
    print(f"   ratio brainviz / mayavi: {bv / mv:.2f} (goal <= 1.2)")

    if args.big:
        path = os.path.join(out, "big_8000.png")
        rss_before = _maxrss_mb()
        _, wall, cpu = _timed(lambda: savefig(path, figure, size=(8000, 8000)))
        size = _size_of(path)
        print("\n3. 8000 x 8000 PNG of the full scene")
        print(f"   time {wall:.1f} s wall / {cpu:.1f} s CPU -> {size[0]} x {size[1]} "
              f"({'requested size' if size == (8000, 8000) else 'WRONG SIZE'}); process peak RSS "
              f"+{_maxrss_mb() - rss_before:.0f} MB; window still {tuple(figure.scene.render_window.size)}")
    mlab.close(figure)


#: Runs the command given on its command line and prints its wall time, peak RSS (KB) and
#: exit status. A process forked from this benchmark starts with this benchmark's resident
#: pages (Mayavi, a drawn scene: hundreds of MB), and its ru_maxrss never reads below them;
#: forked from this small launcher instead, it reads the command's own peak.
_LAUNCHER = (
    "import os, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))\n"
)


def _process(cmd):
    """Run ``cmd``; return (wall seconds, peak RSS in MB) of that process alone."""
    import subprocess

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    wall, maxrss_kb, returncode = float(out[-3]), int(out[-2]), int(out[-1])
    if returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited with {returncode}")
    return wall, maxrss_kb / 1024.0


def peers_and_movie(out, repeat, only):
    from brainviz.data import load_motor_activation

    motor = str(load_motor_activation().path)
    if 4 in only:
        ours = [sys.executable, "-m", "brainviz", "render", "--stat", motor,
                "-o", os.path.join(out, "brainviz_single.png")]
        theirs = [sys.executable, "-c",
                  "from nilearn import plotting; plotting.plot_stat_map("
                  f"{motor!r}, output_file={os.path.join(out, 'nilearn_single.png')!r})"]
        # one warm-up run of each (file caches, demo data), then alternate
        _process(ours), _process(theirs)
        runs = {"brainviz": [], "nilearn": []}
        for _ in range(repeat):
            runs["brainviz"].append(_process(ours))
            runs["nilearn"].append(_process(theirs))
        med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v))
               for k, v in runs.items()}
        print(f"\n4. single view of nilearn's motor map, whole process (median of {repeat}; "
              f"load average {os.getloadavg()[0]:.2f})")
        print(f"   brainviz render --stat MOTOR -o f.png      {med['brainviz'][0]:6.2f} s   "
              f"peak RSS {med['brainviz'][1]:6.0f} MB")
        print(f"   nilearn plot_stat_map(MOTOR, output_file)  {med['nilearn'][0]:6.2f} s   "
              f"peak RSS {med['nilearn'][1]:6.0f} MB")
        print(f"   ratio brainviz / nilearn: wall {med['brainviz'][0] / med['nilearn'][0]:.2f}, "
              f"peak memory {med['brainviz'][1] / med['nilearn'][1]:.2f} (goal <= 1.0 each)")
    if 5 in only:
        from mayavi import mlab

        from brainviz.scene.binding import draw_session
        from brainviz.scene.movies import save_movie
        from brainviz.session import make_demo_session

        session = make_demo_session(connectome=False)
        figure, _ = draw_session(session, size=(800, 800), view="left")
        figure.scene.render()
        path = os.path.join(out, "rotation.mp4")
        _, wall, cpu = _timed(lambda: save_movie(path, figure, kind="rotate", n_frames=36,
                                                 size=(800, 800)))
        mlab.close(figure)
        import imageio.v2 as imageio

        reader = imageio.get_reader(path, format="FFMPEG")
        n = sum(1 for _ in reader)
        shape = reader.get_meta_data().get("size")
        reader.close()
        whole, rss = _process([sys.executable, "-m", "brainviz", "render", "--demo", "--movie",
                               "rotate", "--size", "800x800", "-o",
                               os.path.join(out, "rotation_cli.mp4")])
        print(f"\n5. 36-frame 800 x 800 rotation movie of the demo scene (load average "
              f"{os.getloadavg()[0]:.2f})")
        print(f"   save_movie on the drawn scene: {wall:.1f} s wall / {cpu:.1f} s CPU -> {n} frames "
              f"of {shape[0]} x {shape[1]} (goal: under 15 s)")
        print(f"   brainviz render --demo --movie rotate --size 800x800 (whole process): "
              f"{whole:.1f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
