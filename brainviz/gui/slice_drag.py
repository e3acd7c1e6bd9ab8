"""Ctrl + drag on a slice of the 3D scene moves that slice (the cursor along the slice's axis).

A plain drag rotates the camera wherever it starts (the slices' own widgets take
no mouse input); holding Ctrl turns a drag that starts on a slice into a slice
move: the mouse's motion is projected onto the slice's axis as it appears on
the screen, and the session's cursor moves along that axis.
"""
import numpy as np

__all__ = ["install_slice_dragging"]

#: A pick this close (mm) to a slice's plane grabs that slice.
_GRAB_MM = 3.0


def _display_of(renderer, xyz):
    renderer.SetWorldPoint(float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    renderer.WorldToDisplay()
    return np.asarray(renderer.GetDisplayPoint()[:2], dtype=float)


def install_slice_dragging(window, figure):
    """Observe the 3D scene's interactor for Ctrl + left drags; returns a remover."""
    import vtk

    scene = figure.scene
    interactor = scene.interactor._vtk_obj if hasattr(scene.interactor, "_vtk_obj") \
        else scene.interactor
    renderer = scene.renderer._vtk_obj
    state = {}
    tags = {}

    def press(obj, event):
        if not obj.GetControlKey():
            return
        x, y = obj.GetEventPosition()
        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.002)
        if not picker.Pick(x, y, 0, renderer):
            return
        point = np.asarray(picker.GetPickPosition(), dtype=float)
        cursor = np.asarray(window.session.cursor, dtype=float)
        distance = np.abs(point - cursor)
        axis = int(np.argmin(distance))
        if distance[axis] > _GRAB_MM:
            return
        unit = np.zeros(3)
        unit[axis] = 1.0
        screen = _display_of(renderer, point + unit * 10.0) - _display_of(renderer, point)
        per_px = float(screen @ screen)
        if per_px < 1e-6:  # the axis points at the camera: nothing to drag along
            return
        state.update(axis=axis, start=np.array([x, y], float), cursor=cursor,
                     screen=screen / per_px * 10.0)
        interactor.GetCommand(tags["press"]).SetAbortFlag(1)  # no camera spin

    def move(obj, event):
        if "axis" not in state:
            return
        x, y = obj.GetEventPosition()
        delta = float((np.array([x, y], float) - state["start"]) @ state["screen"])
        cursor = state["cursor"].copy()
        cursor[state["axis"]] += delta
        window.session.move_cursor(cursor)
        interactor.GetCommand(tags["move"]).SetAbortFlag(1)

    def release(obj, event):
        if state:
            state.clear()
            interactor.GetCommand(tags["release"]).SetAbortFlag(1)

    tags["press"] = interactor.AddObserver("LeftButtonPressEvent", press, 20.0)
    tags["move"] = interactor.AddObserver("MouseMoveEvent", move, 20.0)
    tags["release"] = interactor.AddObserver("LeftButtonReleaseEvent", release, 20.0)

    def remove():
        for tag in tags.values():
            interactor.RemoveObserver(tag)

    return remove
