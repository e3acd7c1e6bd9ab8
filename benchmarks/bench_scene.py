"""Benchmark: brainviz 3D scenes vs the usual Mayavi script and vs plain VTK.

Prints, side by side in one run (offscreen rendering, the same window size
on every side):

1. a 264-node connectome (Power 2011 coordinates) with 1,000 edges, build +
   first render: brainviz (one polydata for all edges) vs the per-edge
   ``mayavi.mlab.plot3d`` loop that scripts commonly use (goal: >= 50x faster).
   The loop runs with ``scene.disable_render = True``, its best case: with a
   render after every call it is far slower still.
2. brainviz with all 34,716 edges of the same graph, build + first render
   (goal: < 1 s), in ``edge_mode="auto"`` (lines past 3,000 edges); with
   ``--all-tubes`` also forced tubes (slow).
3. frame time of a full scene (1 mm MNI template slices, statistical
   isosurfaces, glass brain, 264-node connectome with 1,000 edges) vs the same
   actors in plain VTK: new vtkActor/mapper/texture objects on the very data
   the brainviz scene draws, same lights and camera, in a bare
   vtkRenderWindow (goal: ratio <= 1.2; the pixel correlation of the two
   images is printed as a check); and, for information, a hand-built plain
   VTK equivalent from the same arrays. A frame is a camera rotation of 2
   degrees then a render; the median of ``--frames`` frames is reported.
4. time to apply a new threshold to a displayed statistical map, trait
   assignment + render (goal: < 100 ms), median over several thresholds.

Missing visuals (a module not written yet) are replaced by a stand-in and
named in the output.

Usage::

    python benchmarks/bench_scene.py [--size 600] [--frames 15] [--skip-plot3d] [--all-tubes]

The machine is shared: wall times grow with the load average (printed), so
CPU times are printed next to them.
"""
import argparse
import os
import statistics
import time
import warnings

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

N_EDGES = 1000


def random_power_graph(seed=0):
    """A seeded symmetric random matrix on the 264 Power 2011 nodes; returns
    (matrix, coords, the |weight| threshold that keeps N_EDGES edges)."""
    from brainviz.data import load_power_2011

    coords = np.asarray(load_power_2011().coords, dtype=float)
    n = len(coords)
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0)
    upper = np.sort(np.abs(m[np.triu_indices(n, 1)]))[::-1]
    threshold_1000 = float(upper[N_EDGES - 1])
    return m, coords, threshold_1000


def _figure(size):
    from mayavi import mlab

    mlab.options.offscreen = True
    fig = mlab.figure(size=(size, size), bgcolor=(1, 1, 1))
    fig.scene.render()
    return fig


def _close(fig):
    from mayavi import mlab

    mlab.close(fig)


class _Timer:
    """Wall and CPU time (all threads of this process: llvmpipe renders on several)."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def _build_and_render(fig, build):
    """Build with rendering off, then the first render (one Render call)."""
    from brainviz.scene.views import set_view

    with _Timer() as t:
        fig.scene.disable_render = True
        result = build()
        set_view(fig, "superior", render=False)
        fig.scene.disable_render = False  # tvtk renders here
    return t, result


def bench_connectome_vs_plot3d(size, skip_plot3d, all_tubes):
    from mayavi import mlab

    from brainviz.scene.colors import map_values_to_colors
    from brainviz.scene.connectome import ConnectomeVisual

    m, coords, thr = random_power_graph()
    results = {}

    # Warm-up outside the timings: nilearn's brain mask (outside-brain check)
    # and VTK's shader compilation are one-off costs per process.
    fig = _figure(size)
    ConnectomeVisual(m[:4, :4], coords[:4], figure=fig)
    mlab.plot3d([0, 1], [0, 1], [0, 1], tube_radius=1, figure=fig)
    fig.scene.render()
    _close(fig)

    import brainviz.mlab as bv
    from brainviz.scene.binding import binding_for

    fig = bv.figure(figure=_figure(size))
    # as a script draws it: a connectome layer added to the figure's session
    t, layer = _build_and_render(fig, lambda: bv.connectome(m, coords, threshold=thr, figure=fig))
    results["brainviz"] = t
    vis = binding_for(fig).visual_for(layer)
    assert vis.n_edges_shown == N_EDGES, vis.n_edges_shown
    results["multi_samples"] = fig.scene.render_window.multi_samples
    _close(fig)

    if not skip_plot3d:
        i, j = np.nonzero(np.triu(np.abs(m) >= thr, 1))
        w = m[i, j]
        colors = map_values_to_colors(w, "cold_hot")[:, :3] / 255.0
        vmax = np.abs(w).max()

        def loop():
            mlab.points3d(coords[:, 0], coords[:, 1], coords[:, 2], scale_factor=6.0, color=(0.3, 0.3, 0.3),
                          resolution=20, figure=fig)
            for a, b, weight, color in zip(i, j, w, colors):
                mlab.plot3d(coords[[a, b], 0], coords[[a, b], 1], coords[[a, b], 2],
                            tube_radius=1.2 * (0.25 + 0.75 * abs(weight) / vmax), tube_sides=10,
                            color=tuple(color), figure=fig)

        fig = _figure(size)
        results["plot3d"], _ = _build_and_render(fig, loop)
        _close(fig)

    modes = ("auto", "tube") if all_tubes else ("auto",)
    for mode in modes:
        fig = _figure(size)
        t, vis = _build_and_render(fig, lambda: ConnectomeVisual(m, coords, edge_mode=mode, figure=fig))
        results[f"all_{mode}"] = t
        results[f"all_{mode}_drawn"] = vis.drawn_edge_mode
        results["n_all"] = vis.n_edges_shown
        with _Timer() as t:
            fig.scene.camera.azimuth(2)
            fig.scene.render()
        results[f"all_{mode}_frame"] = t
        if mode == "auto":
            # For information: the same frame without multisampling.
            fig.scene.render_window.multi_samples = 0
            fig.scene.render()
            with _Timer() as t:
                fig.scene.camera.azimuth(2)
                fig.scene.render()
            results["all_auto_frame_ms0"] = t
        _close(fig)
    return results


def _build_brainviz_scene(size, m, coords, thr):
    """The full scene as a session drawn by the binding (what the window and scripts do);
    returns the figure, the anatomy and statistical-map *layers* (restyled as users do)."""
    import brainviz.mlab as bv
    from brainviz.data import load_motor_activation, load_template
    from brainviz.scene.views import set_view

    missing = []
    fig = bv.figure(figure=_figure(size))
    anat = bv.anatomy(load_template(resolution=1), figure=fig)
    stat = bv.stat_map(load_motor_activation(), threshold=3.0, show_isosurface=True, figure=fig)
    bv.glass_brain(opacity=0.15, figure=fig)
    bv.connectome(m, coords, threshold=thr, figure=fig)
    set_view(fig, "left")
    fig.scene.camera.azimuth(30)
    fig.scene.camera.elevation(20)
    fig.scene.renderer.reset_camera_clipping_range()
    fig.scene.render()
    return fig, anat, stat, missing


def _image_data(vol):
    import vtk
    from vtkmodules.util.numpy_support import numpy_to_vtk

    ras = vol.as_ras()
    data = np.asarray(ras.get_data(), dtype=np.float32)
    aff = np.asarray(ras.affine)
    img = vtk.vtkImageData()
    img.SetDimensions(*data.shape)
    img.SetSpacing(*np.diag(aff)[:3])
    img.SetOrigin(*aff[:3, 3])
    arr = numpy_to_vtk(np.nan_to_num(data).ravel(order="F"), deep=True)
    img.GetPointData().SetScalars(arr)
    return img, data


def _build_plain_vtk_scene(size, m, coords, thr, camera, multi_samples):
    """The same kinds of actors, from the same arrays, in a bare vtkRenderWindow."""
    import vtk
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    from brainviz.data import load_brain_mask, load_motor_activation, load_template
    from brainviz.scene.colors import get_lut

    ren = vtk.vtkRenderer()
    ren.SetBackground(1, 1, 1)
    win = vtk.vtkRenderWindow()
    win.SetOffScreenRendering(1)
    win.SetMultiSamples(multi_samples)
    win.SetSize(size, size)
    win.AddRenderer(ren)

    # 1 mm template: three orthogonal slices through (0, 0, 0), grey window.
    img, data = _image_data(load_template(resolution=1))
    lo, hi = np.percentile(data[data > 0], [2, 98])
    for axis in range(3):
        mapper = vtk.vtkImageResliceMapper()
        mapper.SetInputData(img)
        plane = vtk.vtkPlane()
        plane.SetOrigin(0, 0, 0)
        normal = [0, 0, 0]
        normal[axis] = 1
        plane.SetNormal(*normal)
        mapper.SetSlicePlane(plane)
        slc = vtk.vtkImageSlice()
        slc.SetMapper(mapper)
        slc.GetProperty().SetColorWindow(hi - lo)
        slc.GetProperty().SetColorLevel((hi + lo) / 2)
        ren.AddViewProp(slc)

    # Statistical map: +/- 3 isosurfaces.
    stat, _ = _image_data(load_motor_activation())
    lut = get_lut("cold_hot", 256)
    for level, color in ((3.0, lut[-40, :3]), (-3.0, lut[40, :3])):
        contour = vtk.vtkFlyingEdges3D()
        contour.SetInputData(stat)
        contour.SetValue(0, level)
        mapper = vtk.vtkPolyDataMapper()
        mapper.SetInputConnection(contour.GetOutputPort())
        mapper.ScalarVisibilityOff()
        actor = vtk.vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*(color / 255.0))
        ren.AddActor(actor)

    # Glass brain: translucent brain-mask isosurface.
    mask, _ = _image_data(load_brain_mask())
    contour = vtk.vtkFlyingEdges3D()
    contour.SetInputData(mask)
    contour.SetValue(0, 0.5)
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputConnection(contour.GetOutputPort())
    mapper.ScalarVisibilityOff()
    glass = vtk.vtkActor()
    glass.SetMapper(mapper)
    glass.GetProperty().SetOpacity(0.15)
    glass.GetProperty().SetColor(0.6, 0.6, 0.65)
    ren.AddActor(glass)

    # Connectome: sphere glyphs + one tube polydata.
    n = len(coords)
    pts = vtk.vtkPoints()
    pts.SetData(numpy_to_vtk(coords.astype(np.float64), deep=True))
    nodes = vtk.vtkPolyData()
    nodes.SetPoints(pts)
    sphere = vtk.vtkSphereSource()
    sphere.SetRadius(3.0)
    sphere.SetThetaResolution(20)
    sphere.SetPhiResolution(14)
    gm = vtk.vtkGlyph3DMapper()
    gm.SetInputData(nodes)
    gm.SetSourceConnection(sphere.GetOutputPort())
    node_actor = vtk.vtkActor()
    node_actor.SetMapper(gm)
    node_actor.GetProperty().SetColor(0.3, 0.3, 0.3)
    ren.AddActor(node_actor)
    i, j = np.nonzero(np.triu(np.abs(m) >= thr, 1))
    w = m[i, j]
    seg = np.empty((2 * len(i), 3))
    seg[0::2], seg[1::2] = coords[i], coords[j]
    epts = vtk.vtkPoints()
    epts.SetData(numpy_to_vtk(seg, deep=True))
    lines = vtk.vtkCellArray()
    lines.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 2 * len(i) + 1, 2, dtype=np.int64), deep=True),
                  numpy_to_vtkIdTypeArray(np.arange(2 * len(i), dtype=np.int64), deep=True))
    edges = vtk.vtkPolyData()
    edges.SetPoints(epts)
    edges.SetLines(lines)
    vmax = np.abs(w).max()
    radius = numpy_to_vtk(np.repeat(1.2 * (0.25 + 0.75 * np.abs(w) / vmax), 2).astype(np.float32), deep=True)
    radius.SetName("radius")
    weight = numpy_to_vtk(np.repeat(w, 2).astype(np.float32), deep=True)
    weight.SetName("weight")
    edges.GetPointData().AddArray(weight)
    edges.GetPointData().SetScalars(radius)
    tube = vtk.vtkTubeFilter()
    tube.SetInputData(edges)
    tube.SetNumberOfSides(10)
    tube.SetVaryRadiusToVaryRadiusByAbsoluteScalar()
    vlut = vtk.vtkLookupTable()
    vlut.SetNumberOfTableValues(256)
    for k, row in enumerate(lut):
        vlut.SetTableValue(k, *(row / 255.0))
    vlut.SetRange(-vmax, vmax)
    emapper = vtk.vtkPolyDataMapper()
    emapper.SetInputConnection(tube.GetOutputPort())
    emapper.SetScalarModeToUsePointFieldData()
    emapper.SelectColorArray("weight")
    emapper.SetLookupTable(vlut)
    emapper.SetScalarRange(-vmax, vmax)
    eactor = vtk.vtkActor()
    eactor.SetMapper(emapper)
    ren.AddActor(eactor)
    del n

    cam = ren.GetActiveCamera()
    cam.SetPosition(*camera.position)
    cam.SetFocalPoint(*camera.focal_point)
    cam.SetViewUp(*camera.view_up)
    cam.SetViewAngle(camera.view_angle)
    ren.ResetCameraClippingRange()
    win.Render()
    return win, ren


# ------------------------------------------------ the same actors in plain VTK
# New vtkActor / mapper / texture objects on the very data arrays the brainviz
# scene draws (so the geometry, colours and lights are identical), in a bare
# vtkRenderWindow: what is left of the frame-time difference is the cost of
# the framework (Mayavi scene, widgets, brainviz objects).
_GLYPH_SETTINGS = ("Scaling", "ScaleMode", "ScaleFactor", "Orient", "OrientationMode", "Masking", "Clamping",
                   "Range", "SourceIndexing")


def _copy_settings(src, dst, names):
    for name in names:
        if hasattr(src, f"Get{name}") and hasattr(dst, f"Set{name}"):
            value = getattr(src, f"Get{name}")()
            getattr(dst, f"Set{name}")(*value) if isinstance(value, tuple) else getattr(dst, f"Set{name}")(value)


def _clone_mapper(m):
    new = m.NewInstance()
    new.ShallowCopy(m)
    new.SetInputDataObject(0, m.GetInputDataObject(0, 0))
    for idx in range(6):
        info = m.GetInputArrayInformation(idx)
        if info is not None and info.GetNumberOfKeys():
            new.SetInputArrayToProcess(idx, info)
    if m.IsA("vtkGlyph3DMapper"):
        new.SetSourceData(m.GetSource())
        _copy_settings(m, new, _GLYPH_SETTINGS)
    if m.IsA("vtkImageSliceMapper") or m.IsA("vtkImageResliceMapper"):
        _copy_settings(m, new, ("Orientation", "SliceNumber", "SliceAtFocalPoint", "SliceFacesCamera",
                                "Cropping", "CroppingRegion", "Border"))
    return new


def _clone_texture(t):
    import vtk

    new = vtk.vtkTexture()
    new.SetInputDataObject(t.GetInputDataObject(0, 0))
    _copy_settings(t, new, ("Interpolate", "Repeat", "EdgeClamp", "ColorMode", "LookupTable",
                            "Quality", "PremultipliedAlpha", "MipMap"))
    return new


def clone_props(src, dst):
    """Add to renderer ``dst`` plain copies of ``src``'s visible 3D props: new actors and mappers on the same data."""
    import vtk

    props = src.GetViewProps()
    props.InitTraversal()
    count = 0
    for _ in range(props.GetNumberOfItems()):
        p = props.GetNextProp()
        if not p.GetVisibility() or p.IsA("vtkActor2D"):
            continue
        if p.IsA("vtkActor"):
            new = vtk.vtkActor()
        elif p.IsA("vtkImageSlice"):
            new = vtk.vtkImageActor() if p.IsA("vtkImageActor") else vtk.vtkImageSlice()
        elif p.IsA("vtkVolume"):
            new = vtk.vtkVolume()
        else:
            continue
        mapper = p.GetMapper()
        if mapper is None:
            continue
        new.ShallowCopy(p)
        new.SetMapper(_clone_mapper(mapper))
        if p.IsA("vtkActor") and p.GetTexture() is not None:
            new.SetTexture(_clone_texture(p.GetTexture()))
        dst.AddViewProp(new)
        count += 1
    return count


def clone_lights(src, dst):
    import vtk

    lights = src.GetLights()
    lights.InitTraversal()
    dst.RemoveAllLights()
    for _ in range(lights.GetNumberOfItems()):
        light = vtk.vtkLight()
        light.DeepCopy(lights.GetNextItem())
        dst.AddLight(light)
    dst.SetLightFollowCamera(src.GetLightFollowCamera())
    dst.SetTwoSidedLighting(src.GetTwoSidedLighting())


def _pixel_correlation(win_a, win_b):
    import vtk
    from vtkmodules.util.numpy_support import vtk_to_numpy

    def grab(win):
        grabber = vtk.vtkWindowToImageFilter()
        grabber.SetInput(win)
        grabber.ReadFrontBufferOff()
        grabber.Update()
        return vtk_to_numpy(grabber.GetOutput().GetPointData().GetScalars()).astype(float).ravel()

    a, b = grab(win_a), grab(win_b)
    return float(np.corrcoef(a, b)[0, 1]) if a.shape == b.shape else float("nan")


def _frame_times(render, camera, frames):
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        camera.Azimuth(2.0)
        render()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_full_scene(size, frames):
    m, coords, thr = random_power_graph()
    fig, anat, stat, missing = _build_brainviz_scene(size, m, coords, thr)
    cam = fig.scene.camera
    vtk_cam = cam._vtk_obj
    brainviz_renderer = fig.scene.renderer._vtk_obj

    def render_bv():
        brainviz_renderer.ResetCameraClippingRange()
        fig.scene.render_window.render()

    import vtk

    multi_samples = fig.scene.render_window.multi_samples
    same = vtk.vtkRenderer()
    same.SetBackground(*brainviz_renderer.GetBackground())
    same_win = vtk.vtkRenderWindow()
    same_win.SetOffScreenRendering(1)
    same_win.SetSize(size, size)
    same_win.SetMultiSamples(multi_samples)
    same_win.AddRenderer(same)
    n_cloned = clone_props(brainviz_renderer, same)
    clone_lights(brainviz_renderer, same)
    same.GetActiveCamera().DeepCopy(vtk_cam)
    same.ResetCameraClippingRange()
    same_win.Render()
    correlation = _pixel_correlation(fig.scene.render_window._vtk_obj, same_win)

    win, ren = _build_plain_vtk_scene(size, m, coords, thr, cam, multi_samples)

    def render_same():
        same.ResetCameraClippingRange()
        same_win.Render()

    def render_plain():
        ren.ResetCameraClippingRange()
        win.Render()

    # Warm up (textures uploaded, pipelines executed), then alternate.
    for _ in range(2):
        render_bv()
        render_same()
        render_plain()
    t_bv, t_same, t_plain = [], [], []
    for _ in range(3):
        t_bv.append(_frame_times(render_bv, vtk_cam, max(1, frames // 3)))
        t_same.append(_frame_times(render_same, same.GetActiveCamera(), max(1, frames // 3)))
        t_plain.append(_frame_times(render_plain, ren.GetActiveCamera(), max(1, frames // 3)))
    n_props = brainviz_renderer.GetViewProps().GetNumberOfItems()

    # Threshold update on the displayed statistical map: the assignment as a
    # user types it (the visual renders itself), and the update alone with
    # rendering disabled, to tell pipeline work from rendering.
    thr_times, update_times = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in (3.5, 4.0, 4.5, 5.0, 3.2, 3.8):
            t0 = time.perf_counter()
            stat.threshold = value  # the layer: through the binding to its visual
            thr_times.append(time.perf_counter() - t0)
        for value in (3.5, 4.0, 4.5, 5.0, 3.2, 3.8):
            fig.scene.disable_render = True
            t0 = time.perf_counter()
            stat.threshold = value
            update_times.append(time.perf_counter() - t0)
            fig.scene.trait_setq(disable_render=False)  # no render on the way back
    with _Timer() as one_render:
        fig.scene.render()
    # The same with brainviz's interactive anti-aliasing (FXAA instead of Mayavi's
    # 4x multisampling), as brainviz.mlab.figure() and the window set it up.
    from brainviz.scene._figure import use_fast_antialiasing

    use_fast_antialiasing(fig)
    fig.scene.render()
    fxaa_times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in (3.5, 4.0, 4.5, 5.0, 3.2, 3.8):
            t0 = time.perf_counter()
            stat.threshold = value
            fxaa_times.append(time.perf_counter() - t0)
    _close(fig)
    return {"frame_bv": statistics.median(t_bv), "frame_plain": statistics.median(t_plain),
            "frame_same": statistics.median(t_same), "n_cloned": n_cloned, "correlation": correlation,
            "threshold": statistics.median(thr_times), "threshold_max": max(thr_times),
            "threshold_update": statistics.median(update_times), "one_render": one_render.wall,
            "threshold_fxaa": statistics.median(fxaa_times),
            "missing": missing, "n_props": n_props}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=600, help="window width = height in pixels")
    parser.add_argument("--frames", type=int, default=15, help="frames timed per scene")
    parser.add_argument("--skip-plot3d", action="store_true", help="skip the slow per-edge plot3d loop")
    parser.add_argument("--skip-full-scene", action="store_true")
    parser.add_argument("--all-tubes", action="store_true",
                        help="also time all 34,716 edges as tubes (slow: tens of seconds)")
    args = parser.parse_args(argv)

    import vtk

    print(f"bench_scene: offscreen {args.size}x{args.size}, VTK {vtk.vtkVersion.GetVTKVersion()}, "
          f"{os.cpu_count()} CPUs")
    print(f"load average at start: {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          "(times are wall clock; CPU time of this process in brackets)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = bench_connectome_vs_plot3d(args.size, args.skip_plot3d, args.all_tubes)

    def fmt(t):
        return f"{t.wall:8.3f} s [{t.cpu:7.3f} s CPU]"

    print(f"\n1. connectome, 264 nodes, 1,000 edges: build + first render "
          f"(figure multi_samples={r['multi_samples']})")
    print(f"   brainviz ConnectomeVisual     {fmt(r['brainviz'])}")
    if "plot3d" in r:
        ratio = r["plot3d"].wall / r["brainviz"].wall
        print(f"   mayavi.mlab.plot3d per edge   {fmt(r['plot3d'])}   -> brainviz {ratio:6.1f}x faster "
              f"(CPU {r['plot3d'].cpu / r['brainviz'].cpu:.1f}x; goal >= 50x: {'met' if ratio >= 50 else 'NOT met'})")
    print(f"\n2. connectome, all {r['n_all']:,} edges: build + first render")
    a = r["all_auto"]
    print(f"   edge_mode='auto' (as {r['all_auto_drawn']}s)  {fmt(a)}   (goal < 1 s: "
          f"{'met' if a.wall < 1 else 'NOT met'}); next frame {r['all_auto_frame'].wall:.3f} s, "
          f"{r['all_auto_frame_ms0'].wall:.3f} s without multisampling")
    if "all_tube" in r:
        print(f"   edge_mode='tube' (for info)  {fmt(r['all_tube'])}; next frame {r['all_tube_frame'].wall:.3f} s")

    if not args.skip_full_scene:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = bench_full_scene(args.size, args.frames)
        ratio = f["frame_bv"] / f["frame_same"]
        print("\n3. full scene frame time (1 mm template slices, stat isosurfaces, glass brain, "
              "264-node connectome with 1,000 edges)")
        for item in f["missing"]:
            print(f"   stand-in: {item}")
        print(f"   brainviz (Mayavi figure, {f['n_props']} props)    {1000 * f['frame_bv']:8.1f} ms")
        print(f"   plain VTK, the same {f['n_cloned']} visible actors  {1000 * f['frame_same']:8.1f} ms   -> ratio "
              f"{ratio:.2f} (goal <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'}; pixel correlation of the "
              f"two images {f['correlation']:.3f})")
        print(f"   plain VTK, hand-built equivalent {1000 * f['frame_plain']:8.1f} ms   (for info: ratio "
              f"{f['frame_bv'] / f['frame_plain']:.2f}; slices as vtkImageResliceMapper, no back slices, "
              "brain-mask glass)")
        print("\n4. new threshold on a displayed statistical map: `stat.threshold = t` (the visual renders)")
        print(f"   in a mayavi.mlab.figure (Mayavi's default 4x multisampling): median "
              f"{1000 * f['threshold']:.1f} ms, worst {1000 * f['threshold_max']:.1f} ms (for info)")
        print(f"   of which the update with rendering disabled: {1000 * f['threshold_update']:.1f} ms; "
              f"one render of this scene: {1000 * f['one_render']:.1f} ms")
        print(f"   brainviz figures and window (FXAA instead of 4x multisampling): median "
              f"{1000 * f['threshold_fxaa']:.1f} ms "
              f"(goal < 100 ms: {'met' if f['threshold_fxaa'] < 0.1 else 'NOT met'})")
    print(f"\nload average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
