"""Offline templates: MNI152 template and mask, fsaverage5, coordinate atlases.

Everything here comes from files that nilearn ships inside its wheel, so it
works on a fresh machine without network access: nilearn's loaders for these
assets read from ``nilearn/datasets/data`` and never download. Results are
cached in-process; images are returned with read-only arrays because the
same object is shared by every caller.
"""
import functools

import numpy as np

__all__ = [
    "load_template",
    "load_brain_mask",
    "load_motor_activation",
    "load_fsaverage5",
    "fsaverage5_surfaces",
    "project_to_surface",
    "load_power_2011",
    "load_dosenbach_2010",
    "load_seitzman_2018",
]

_RESOLUTIONS = (1, 2, 3, 4)  # what nilearn.datasets.load_mni152_* accept offline, in mm


def _check_resolution(resolution):
    from ..exceptions import ParameterError

    try:
        value = int(resolution)
    except (TypeError, ValueError):
        value = None
    if value is None or value != resolution or value < 1:
        raise ParameterError(
            f"The 'resolution' of the MNI152 template must be a whole number of mm >= 1 "
            f"(nilearn ships 1 mm and resamples; e.g. {_RESOLUTIONS}); got {resolution!r}."
        )
    return value


def _read_only(img):
    """Make the in-memory array of a shared nibabel image read-only."""
    data = img.dataobj
    if isinstance(data, np.ndarray):
        data.flags.writeable = False
    return img


@functools.lru_cache(maxsize=8)
def _template_img(resolution):
    return _read_only(_stored_mni152("template", resolution))


@functools.lru_cache(maxsize=8)
def _brain_mask_img(resolution):
    return _read_only(_stored_mni152("brain_mask", resolution))


def _stored_mni152(kind, resolution):
    """The MNI152 template or brain mask at ``resolution`` mm, kept in the demo-data store
    after the first time: importing ``nilearn.datasets`` (and scikit-learn with it) to read
    them costs several seconds, reading the stored arrays a few milliseconds."""
    import nibabel as nib
    import nilearn

    from ._store import stored_arrays

    def compute():
        from nilearn.datasets import load_mni152_brain_mask, load_mni152_template

        loader = load_mni152_template if kind == "template" else load_mni152_brain_mask
        img = loader(resolution=resolution)
        dtype = np.float32 if kind == "template" else np.uint8
        return {"data": np.asarray(img.get_fdata(), dtype=dtype),
                "affine": np.asarray(img.affine, dtype=float)}

    stored = stored_arrays("mni152_v1", f"{kind}_{resolution}mm_nilearn{nilearn.__version__}",
                           compute)
    return nib.Nifti1Image(np.asarray(stored["data"]), np.asarray(stored["affine"], dtype=float))


def load_template(resolution=2):
    """The MNI152 (ICBM 2009a nonlinear symmetric) T1 template shipped with nilearn.

    Parameters
    ----------
    resolution : int, default=2
        Voxel size in mm (1 = the shipped grid; others are resampled by nilearn).

    Returns
    -------
    Volume
        3D anatomy on an RAS+ grid, e.g. shape (99, 117, 95) at 2 mm.
    """
    from .volumes import load_volume

    resolution = _check_resolution(resolution)
    return load_volume(_template_img(resolution), name=f"MNI152 template {resolution}mm")


def load_brain_mask(resolution=2):
    """The MNI152 brain mask shipped with nilearn (1 inside the brain, 0 outside).

    Parameters
    ----------
    resolution : int, default=2
        Voxel size in mm; 4 gives a (50, 59, 48) grid with about 29,400 brain voxels.

    Returns
    -------
    Volume
    """
    from .volumes import load_volume

    resolution = _check_resolution(resolution)
    return load_volume(_brain_mask_img(resolution), name=f"MNI152 brain mask {resolution}mm")


def load_motor_activation():
    """nilearn's sample motor activation map (a t map in MNI space, NeuroVault 10426).

    Returns
    -------
    Volume
    """
    from nilearn.datasets import load_sample_motor_activation_image

    from .volumes import load_volume

    return load_volume(load_sample_motor_activation_image(), name="motor activation")


@functools.lru_cache(maxsize=1)
def _fsaverage5_files():
    from nilearn.datasets import fetch_surf_fsaverage

    # fsaverage5 is the one mesh nilearn ships in its wheel: no download.
    return dict(fetch_surf_fsaverage("fsaverage5"))


@functools.lru_cache(maxsize=1)
def _fsaverage5_arrays():
    from .surfaces import load_surface, load_surface_data

    files = _fsaverage5_files()
    out = {}
    for hemi in ("left", "right"):
        pial = load_surface(files[f"pial_{hemi}"])
        infl = load_surface(files[f"infl_{hemi}"])
        sulc = np.asarray(load_surface_data(files[f"sulc_{hemi}"], n_vertices=pial.n_vertices))
        # nilearn's inflated meshes are both centred on the origin, so drawn
        # together they overlap. Shift them (no scaling) so the left hemisphere
        # lies at x < 0 and the right at x > 0, centred on the pial mesh in y, z.
        shift = np.zeros(3)
        gap = 2.0
        if hemi == "left":
            shift[0] = -gap - infl.vertices[:, 0].max()
        else:
            shift[0] = gap - infl.vertices[:, 0].min()
        centre = lambda v: (v.min(axis=0) + v.max(axis=0)) / 2  # noqa: E731
        shift[1:] = centre(pial.vertices)[1:] - centre(infl.vertices)[1:]
        arrays = {
            "pial": (pial.vertices, pial.faces),
            "inflated": (infl.vertices + shift, infl.faces),
            "sulc": sulc,
        }
        for value in (arrays["pial"][0], arrays["pial"][1], arrays["inflated"][0],
                      arrays["inflated"][1], sulc):
            value.flags.writeable = False
        out[hemi] = arrays
    return out


def load_fsaverage5():
    """The fsaverage5 meshes (10,242 vertices per hemisphere) shipped with nilearn.

    Returns
    -------
    dict
        ``{"left": {"pial": Surface, "inflated": Surface, "sulc": ndarray}, "right": {...}}``.
        Each Surface also carries the sulcal depth as ``surface.data["sulc"]``.
        The pial mesh is in MNI mm. The inflated meshes are translated (not
        scaled) so that left lies at x < 0 and right at x > 0, side by side and
        centred on the pial mesh in y and z: both can be drawn together.
        Vertex ``i`` is the same point of cortex on every mesh of a hemisphere.
        Vertex and face arrays are shared and read-only; new Surface objects
        are returned on each call.
    """
    from .surfaces import Surface

    result = {}
    for hemi, arrays in _fsaverage5_arrays().items():
        sulc = arrays["sulc"]
        result[hemi] = {
            kind: Surface(
                arrays[kind][0], arrays[kind][1], data={"sulc": sulc},
                name=f"fsaverage5 {hemi} {kind}",
            )
            for kind in ("pial", "inflated")
        }
        result[hemi]["sulc"] = sulc
    return result


def fsaverage5_surfaces(hemi="both"):
    """fsaverage5 as the parts of a surface layer: one :class:`~brainviz.data.Surface` per
    hemisphere with both geometries (``"pial"``, ``"inflated"``) and ``data["sulc"]``.

    Parameters
    ----------
    hemi : {"both", "left", "right"}, default="both"
    """
    from ..exceptions import ParameterError
    from .surfaces import Surface

    hemis = {"both": ("left", "right"), "left": ("left",), "right": ("right",)}
    if hemi not in hemis:
        raise ParameterError(f"The 'hemi' parameter must be 'both', 'left' or 'right'; got {hemi!r}.")
    parts = []
    for h in hemis[hemi]:
        arrays = _fsaverage5_arrays()[h]
        part = Surface(arrays["pial"][0], arrays["pial"][1], data={"sulc": arrays["sulc"]},
                       name=f"fsaverage5 {h}", geometry="pial", hemi=h)
        part.add_geometry("inflated", arrays["inflated"][0])
        parts.append(part)
    return parts


def project_to_surface(img, surfaces=None, radius=3.0, geometry="pial"):
    """Sample a volume map on surface meshes (:func:`nilearn.surface.vol_to_surf`).

    Parameters
    ----------
    img : str, path, nibabel image or Volume
        A 3D map in the space of the meshes (MNI for fsaverage5).
    surfaces : list of Surface, default=None
        The meshes; fsaverage5 (both hemispheres) when None.
    radius : float, default=3.0
        Sampling radius in mm (nilearn's default).
    geometry : str, default="pial"
        Geometry sampled (vertex i of every geometry is the same point of cortex).

    Returns
    -------
    list of Surface
        Copies of ``surfaces`` with the sampled values in ``data["values"]``.
    """
    from nilearn.surface import InMemoryMesh, vol_to_surf

    from ..exceptions import DataValueError
    from .volumes import load_volume, require_3d

    vol = require_3d(load_volume(img), "img")
    surfaces = fsaverage5_surfaces() if surfaces is None else list(surfaces)
    image = vol.to_image()
    out = []
    for surf in surfaces:
        vertices = surf.geometries.get(geometry, surf.vertices)
        mesh = InMemoryMesh(coordinates=np.asarray(vertices), faces=np.asarray(surf.faces))
        part = surf.copy()
        part.add_data("values", np.asarray(vol_to_surf(image, mesh, radius=radius), dtype=float))
        out.append(part)
    values = np.concatenate([p.values for p in out])
    if not np.isfinite(values).any():
        raise DataValueError(f"The map {vol.name!r} projects to no finite value on the surface.")
    for part in out:
        part.name = f"{vol.name or 'map'} on {part.name}"
    return out


def _roi_columns(rois):
    """Lower-case name -> column of nilearn's ROI table: a DataFrame since nilearn 0.11, a
    numpy record array before."""
    names = rois.columns if hasattr(rois, "columns") else rois.dtype.names
    return {str(c).lower(): c for c in names}


def _roi_xyz(rois, columns):
    return np.column_stack([np.asarray(rois[columns[c]], dtype=np.float64) for c in "xyz"])


@functools.lru_cache(maxsize=1)
def _power_table():
    from nilearn.datasets import fetch_coords_power_2011

    rois = fetch_coords_power_2011().rois
    columns = _roi_columns(rois)
    coords = _roi_xyz(rois, columns)
    numbers = np.asarray(rois[columns["roi"]]) if "roi" in columns else np.arange(1, len(coords) + 1)
    coords.flags.writeable = False
    return coords, [f"Power {int(n)}" for n in numbers]


def load_power_2011():
    """The 264 Power et al. (2011) nodes shipped with nilearn, in MNI mm.

    nilearn ships no network assignment for this atlas, so ``networks`` is None;
    labels are ``"Power 1"`` ... ``"Power 264"``.

    Returns
    -------
    CoordinateAtlas
    """
    from .atlases import CoordinateAtlas

    coords, labels = _power_table()
    return CoordinateAtlas(coords, labels=list(labels), networks=None, name="Power 2011")


@functools.lru_cache(maxsize=1)
def _dosenbach_table():
    from nilearn.datasets import fetch_coords_dosenbach_2010

    bunch = fetch_coords_dosenbach_2010(ordered_regions=True)
    rois = bunch.rois
    coords = _roi_xyz(rois, _roi_columns(rois))
    coords.flags.writeable = False
    labels = [str(v) for v in bunch.labels]
    networks = [str(v) for v in np.asarray(bunch.networks)]
    return coords, labels, networks


def load_dosenbach_2010():
    """The 160 Dosenbach et al. (2010) nodes shipped with nilearn, in MNI mm.

    Nodes are ordered by network (cerebellum, cingulo-opercular, default,
    fronto-parietal, occipital, sensorimotor), as nilearn orders them.

    Returns
    -------
    CoordinateAtlas
        With ``labels`` (e.g. ``"vmPFC 1"``) and ``networks``.
    """
    from .atlases import CoordinateAtlas

    coords, labels, networks = _dosenbach_table()
    return CoordinateAtlas(
        coords, labels=list(labels), networks=list(networks), name="Dosenbach 2010"
    )


@functools.lru_cache(maxsize=1)
def _seitzman_table():
    from nilearn.datasets import fetch_coords_seitzman_2018

    bunch = fetch_coords_seitzman_2018(ordered_regions=True)
    rois = bunch.rois
    coords = _roi_xyz(rois, _roi_columns(rois))
    coords.flags.writeable = False
    networks = [str(v) for v in np.asarray(bunch.networks)]
    regions = [str(v) for v in np.asarray(bunch.regions)]
    labels = [f"{net} {i + 1}" for i, net in enumerate(networks)]
    return coords, labels, networks, regions


def load_seitzman_2018():
    """The 300 Seitzman et al. (2018) nodes shipped with nilearn, in MNI mm.

    Ordered by network, then from anterior to posterior, as nilearn orders them.

    Returns
    -------
    CoordinateAtlas
        With ``labels`` (network name and row number) and ``networks``.
    """
    from .atlases import CoordinateAtlas

    coords, labels, networks, _ = _seitzman_table()
    return CoordinateAtlas(
        coords, labels=list(labels), networks=list(networks), name="Seitzman 2018"
    )
