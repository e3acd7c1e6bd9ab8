"""Connectome: nodes as spheres, edges as one polydata of tubes or lines.

However many edges, the visual has at most four actors: the nodes (one
``vtkGlyph3DMapper``: sphere instances scaled and coloured per node), the
edges (one ``vtkPolyData`` of line segments, drawn through a ``vtkTubeFilter``
whose radius follows ``|weight|``, or as plain lines), arrow heads for a
directed graph (one more glyph mapper) and the node labels (one
``vtkLabeledDataMapper``). Restyling (threshold, sizes, colour map, opacity,
visibility, labels) rewrites arrays of these objects in place; no actor is
rebuilt. A highlighted edge or node (``highlight``, set by the matrix view or a
click) adds three actors the first time one is asked for (its tube, its spheres,
its names and weight), rewritten in place afterwards.

Input rules (see :func:`brainviz.scene._graph_input.check_graph`): a square
matrix with one row per coordinate, symmetric unless ``directed=True``;
NaN weights are no edge (with a warning); nodes outside the MNI brain are
drawn with a warning naming them; a threshold that hides every edge draws no
edge and warns with :class:`~brainviz.exceptions.EmptyOverlayWarning`.
"""
import contextlib
import warnings

import numpy as np
from traits.api import Any, Array, Bool, Enum, Float, Int, List, Range, TraitType

from ..exceptions import EmptyOverlayWarning
from . import _graph_input as gi
from ._base import Visual, as_points
from ._figure import disable_render
from .colors import check_colormap, get_lut

__all__ = ["ConnectomeVisual", "DEFAULT_NODE_COLOR", "AUTO_TUBE_LIMIT"]

#: In edge_mode="auto", more drawn edges than this are drawn as lines: tens of
#: thousands of tubes take seconds per frame in software rendering, and the
#: picture is a hairball either way.
AUTO_TUBE_LIMIT = 3000

#: Node colour when no colours or networks are given.
DEFAULT_NODE_COLOR = (0.3, 0.3, 0.3)


def _segments(kept):
    """A vtkCellArray of 2-point lines (2k, 2k + 1) for each edge index k in ``kept``."""
    from tvtk.api import tvtk
    from vtkmodules.util.numpy_support import numpy_to_vtkIdTypeArray

    offsets = np.arange(0, 2 * len(kept) + 1, 2, dtype=np.int64)
    connectivity = np.column_stack([2 * kept, 2 * kept + 1]).astype(np.int64).ravel()
    cells = tvtk.CellArray()
    # deep copies: VTK keeps the arrays after the numpy ones are gone
    cells._vtk_obj.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                           numpy_to_vtkIdTypeArray(connectivity, deep=True))
    return cells


class _Checked(TraitType):
    """A trait whose assigned values go through a validation function that raises brainviz errors."""

    def __init__(self, checker, default_value=None, **metadata):
        self._checker = checker
        super().__init__(default_value, **metadata)

    def validate(self, obj, name, value):
        self._checker(obj, value)
        return value


def _check_threshold(obj, value):
    gi.resolve_threshold(value, np.zeros((2, 2)))


def _check_node_size(obj, value):
    gi.check_node_size(value, getattr(obj, "n_nodes", 0))


def _check_cmap(obj, value):
    check_colormap(value, parameter="cmap")


def _check_vmax(obj, value):
    gi.check_vmax(value)


class ConnectomeVisual(Visual):
    """A graph drawn in world millimetres: spheres at the nodes, tubes (or lines) for the edges.

    Parameters
    ----------
    matrix : array-like of shape (n, n)
        Adjacency (connectivity) matrix. Symmetric unless ``directed=True``;
        zeros are no edge; the diagonal is ignored; NaN weights are drawn as no
        edge with a warning.
    coords : array-like of shape (n, 3)
        Node positions in MNI millimetres (RAS+).
    threshold : None, float or str, default=None
        Show the edges with ``|weight| >= threshold``; a string such as
        ``"95%"`` is a percentile of the absolute off-diagonal weights (as in
        nilearn's ``plot_connectome``). None shows every non-zero edge.
    node_size : float or array of shape (n,), default=6.0
        Sphere diameter(s) in mm.
    node_color : "auto", colour, array of shape (n, 3), or sequence of n labels, default="auto"
        "auto": coloured by ``networks`` when given, else dark grey. A single
        colour (name, hex or RGB tuple: a tuple is always one colour), one RGB
        row per node, a list/array of n numbers (mapped through ``node_cmap``)
        or of n labels (one qualitative colour per distinct label).
    networks : sequence of n str, optional
        Network of each node; with ``node_color="auto"`` each network gets its
        own qualitative colour (see :attr:`network_colors`).
    labels : sequence of n str, optional
        Node names, drawn when ``show_labels`` is True and reported by picking.
    cmap : str, default="cold_hot"
        Edge colour map (diverging); the range is symmetric, ``(-vmax, vmax)``.
    vmax : float, optional
        Half-width of the colour range; the largest ``|weight|`` by default.
    edge_width : float, default=1.2
        Tube radius (mm) of the strongest edge; weaker edges are thinner, down
        to a quarter of it. In ``edge_mode="line"`` it is the line width in pixels times 2.
    edge_mode : {"auto", "tube", "line"}, default="auto"
        "auto" draws tubes up to :data:`AUTO_TUBE_LIMIT` drawn edges and lines
        above (see :attr:`drawn_edge_mode`). Lines have one width for all edges.
    directed : bool, default=False
        Draw ``matrix[i, j]`` as an edge from node i to node j with an arrow
        head near j; the matrix may then be asymmetric.
    show_labels : bool, default=False
    show_legend : bool, default=False
        A legend of the node colours per network (or per label given as
        ``node_color``), in the lower-left corner.
    opacity : float, default=1.0
    node_cmap : str, default="viridis"
        Colour map for numeric ``node_color`` values.
    figure : mayavi Scene, optional
        The figure to draw in; the current one by default.
    name : str, default="connectome"

    Raises
    ------
    DimensionError, ShapeMismatchError, DataValueError, ParameterError
        For malformed input; each message names the parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from mayavi import mlab
    >>> from brainviz.scene.connectome import ConnectomeVisual
    >>> fig = mlab.figure(size=(200, 200))
    >>> m = np.array([[0, 0.5, -0.8], [0.5, 0, 0.1], [-0.8, 0.1, 0]])
    >>> c = ConnectomeVisual(m, [(-40, 0, 0), (40, 0, 0), (0, 50, 10)], figure=fig)
    >>> c.n_edges_shown
    3
    >>> c.threshold = "50%"
    >>> c.n_edges_shown
    2
    >>> mlab.close(fig)
    """

    layer_handlers = {
        "visible": "visible", "opacity": "opacity", "cmap": "cmap", "threshold": "threshold",
        "vmax": "vmax", "node_size": "node_size", "edge_width": "edge_width",
        "edge_mode": "edge_mode", "show_nodes": "show_nodes", "show_labels": "show_labels",
        "show_legend": "show_legend", "highlight": "highlight", "show_in_2d": "ignore",
    }
    #: Layer settings only the 2D views draw (their ``GraphProjection``, in
    #: ``brainviz.scene.slices2d``).
    two_d_only = ("show_in_2d",)

    threshold = _Checked(_check_threshold)
    node_size = _Checked(_check_node_size, 6.0)
    node_color = _Checked(lambda obj, value: obj._node_colors_for(value) if obj.n_nodes else None, "auto")
    node_cmap = _Checked(_check_cmap, "viridis")
    cmap = _Checked(_check_cmap, "cold_hot")
    vmax = _Checked(_check_vmax)
    edge_width = Range(0.01, 50.0, 1.2)
    edge_mode = Enum("auto", "tube", "line")
    opacity = Range(0.0, 1.0, 1.0)
    show_labels = Bool(False)
    show_nodes = Bool(True)
    #: A legend box of the node colours by network (or label) in the lower-left corner.
    show_legend = Bool(False)
    #: ``(i, j)``: edge i-j drawn thick and bright (even under the threshold) with both
    #: nodes' names and the weight; ``(i, -1)``: node i and its drawn edges; ``(-1, -1)``: none.
    highlight = Any((-1, -1))

    #: Read-only after construction.
    directed = Bool(False)
    n_nodes = Int(0)
    coords = Array(dtype=float, shape=(None, 3))
    matrix = Array(dtype=float)
    labels = List()
    networks = Any()
    #: Network name -> (r, g, b) of the node colours in "auto" mode (empty without networks).
    network_colors = Any(factory=dict)
    #: The absolute threshold in force (edges with |weight| >= it are shown).
    threshold_value = Float(0.0)

    # VTK objects (tvtk), exposed for colour bars and advanced restyling.
    edge_lut = Any()
    node_actor = Any()
    edge_actor = Any()
    arrow_actor = Any()
    label_actor = Any()
    legend_actor = Any()
    highlight_actors = List()

    #: (theta, phi) resolution of the node spheres, and the sides of the edge tubes
    _SPHERE_RESOLUTION = (20, 14)
    _TUBE_SIDES = 10

    @classmethod
    def layer_data(cls, layer):
        data = layer.data
        return (data["matrix"], data["coords"])

    @classmethod
    def layer_traits(cls, layer):
        out = super().layer_traits(layer)
        out.update(labels=layer.data.get("labels"), networks=layer.data.get("networks"))
        return out

    def __init__(self, matrix, coords, *, threshold=None, node_size=6.0, node_color="auto",
                 networks=None, labels=None, cmap="cold_hot", vmax=None, edge_width=1.2,
                 edge_mode="auto", directed=False, show_labels=False, show_legend=False, opacity=1.0,
                 node_cmap="viridis", show_nodes=True, visible=True, highlight=(-1, -1), figure=None,
                 name="connectome"):
        matrix, coords = gi.check_graph(matrix, coords, directed=directed, labels=labels, networks=networks)
        labels = [str(v) for v in labels] if labels is not None else [f"node {k}" for k in range(len(coords))]
        super().__init__(directed=bool(directed), n_nodes=len(coords), coords=coords, matrix=matrix,
                         labels=labels, networks=list(networks) if networks is not None else None,
                         name=name)
        gi.warn_outside_brain(coords, labels, stacklevel=3)
        self._ei, self._ej, self._ew = gi.candidate_edges(matrix, directed=self.directed)
        self._shown = np.zeros(len(self._ew), dtype=bool)
        # Validate styling arguments before building anything (trait validators raise).
        self.trait_set(trait_change_notify=False, threshold=threshold, node_size=node_size,
                       cmap=cmap, node_cmap=node_cmap, vmax=vmax, edge_width=edge_width,
                       edge_mode=edge_mode, show_labels=show_labels, show_legend=show_legend,
                       opacity=opacity, show_nodes=show_nodes, visible=visible,
                       highlight=self._check_highlight(highlight))
        self._node_rgba = self._resolve_node_colors(node_color)
        self.trait_setq(node_color=node_color)
        self._setup(figure)
        with disable_render(self.figure):
            self._build()
        self.on_trait_change(self._restyle, "threshold, node_size, node_color, node_cmap, cmap, "
                             "vmax, edge_width, edge_mode, opacity, show_labels, show_nodes, show_legend, "
                             "visible, highlight")

    # ------------------------------------------------------------------ build
    def _build(self):
        from tvtk.api import tvtk

        coords = self.coords
        # Nodes: one polydata, sphere instances of diameter "size" and colour "color".
        self._node_pd = tvtk.PolyData(points=coords)
        self._node_size = tvtk.FloatArray(name="size")
        self._node_color = tvtk.UnsignedCharArray(name="color")
        self._node_pd.point_data.add_array(self._node_size)
        self._node_pd.point_data.add_array(self._node_color)
        theta, phi = self._SPHERE_RESOLUTION
        sphere = tvtk.SphereSource(radius=0.5, theta_resolution=theta, phi_resolution=phi)
        self._node_mapper = tvtk.Glyph3DMapper(scaling=True, scale_mode="scale_by_magnitude", scale_factor=1.0,
                                               scalar_mode="use_point_field_data", color_mode="default")
        self._node_mapper.set_input_data(self._node_pd)
        self._node_mapper.set_source_connection(sphere.output_port)
        self._node_mapper.set_scale_array("size")
        self._node_mapper.select_color_array("color")
        self.node_actor = tvtk.Actor(mapper=self._node_mapper)

        # Edges: 2 points per candidate edge (so each segment has its own weight
        # and radius); the threshold only rewrites the lines cell array.
        n_edges = len(self._ew)
        pts = np.empty((2 * n_edges, 3))
        pts[0::2] = coords[self._ei]
        pts[1::2] = coords[self._ej]
        self._edge_pd = tvtk.PolyData(points=pts if n_edges else np.zeros((0, 3)))
        weight = tvtk.FloatArray(name="weight")
        weight.from_array(np.repeat(self._ew, 2).astype(np.float32))
        self._edge_radius = tvtk.FloatArray(name="radius")
        self._edge_pd.point_data.add_array(weight)
        self._edge_pd.point_data.add_array(self._edge_radius)
        self._tube = tvtk.TubeFilter(number_of_sides=self._TUBE_SIDES, capping=False,
                                     vary_radius="vary_radius_by_absolute_scalar")
        self._tube.set_input_data(self._edge_pd)
        self.edge_lut = tvtk.LookupTable()
        self._edge_mapper = tvtk.PolyDataMapper(scalar_mode="use_point_field_data", scalar_visibility=True,
                                                lookup_table=self.edge_lut, use_lookup_table_scalar_range=False)
        self._edge_mapper.select_color_array("weight")
        self.edge_actor = tvtk.Actor(mapper=self._edge_mapper)

        actors = [self.node_actor, self.edge_actor]
        if self.directed:
            self._arrow_pd = tvtk.PolyData()
            cone = tvtk.ConeSource(resolution=16, height=1.0, radius=0.4)
            self._arrow_mapper = tvtk.Glyph3DMapper(scaling=True, scale_mode="no_data_scaling", orient=True,
                                                    orientation_mode="direction", masking=True,
                                                    scalar_mode="use_point_field_data",
                                                    lookup_table=self.edge_lut,
                                                    use_lookup_table_scalar_range=False)
            self._arrow_mapper.set_input_data(self._arrow_pd)
            self._arrow_mapper.set_source_connection(cone.output_port)
            self._arrow_mapper.set_orientation_array("direction")
            self._arrow_mapper.set_mask_array("shown")
            self._arrow_mapper.select_color_array("weight")
            self.arrow_actor = tvtk.Actor(mapper=self._arrow_mapper)
            actors.append(self.arrow_actor)

        label_pd = tvtk.PolyData(points=coords)
        names = tvtk.StringArray(name="label")
        for lab in self.labels:
            # Leading spaces put the text beside the sphere rather than on it.
            names.insert_next_value(f"    {lab}")
        label_pd.point_data.add_array(names)
        self._label_mapper = tvtk.LabeledDataMapper(label_mode="label_field_data")
        self._label_mapper.field_data_name = "label"
        self._label_mapper.set_input_data(label_pd)
        prop = self._label_mapper.label_text_property
        prop.trait_set(font_size=11, bold=True, italic=False, shadow=False, color=(0.1, 0.1, 0.1),
                       justification="left", vertical_justification="centered")
        self.label_actor = tvtk.Actor2D(mapper=self._label_mapper)
        actors.append(self.label_actor)

        self.legend_actor = tvtk.LegendBoxActor(border=False, box=False, padding=2)
        self.legend_actor.position_coordinate.trait_set(coordinate_system="normalized_viewport", value=(0.01, 0.01, 0))
        self.legend_actor.entry_text_property.trait_set(color=(0.1, 0.1, 0.1), bold=False, italic=False,
                                                       shadow=False)
        self._legend_symbol = tvtk.SphereSource(radius=0.5, theta_resolution=12, phi_resolution=8)
        self._legend_symbol.update()
        self._update_legend()
        actors.append(self.legend_actor)

        self._update_nodes()
        self._update_edge_colors()
        self._update_edges(warn_stacklevel=5)
        self._update_highlight()
        self._update_visibility()
        self.figure.scene.add_actors(actors)

    def ignore(self, value):
        """A setting only the 2D views draw (:attr:`two_d_only`)."""

    # -------------------------------------------------------------- highlight
    #: Colour of a highlighted edge and its nodes (bright green: in no edge or network map).
    HIGHLIGHT_COLOR = (0.1, 0.9, 0.2)

    def _check_highlight(self, value):
        from ..exceptions import ParameterError

        try:
            i, j = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ParameterError(f"highlight must be (i, j) node indices, (i, -1) or (-1, -1); "
                                 f"got {value!r}") from None
        n = len(self.coords)
        if not (-1 <= i < n and -1 <= j < n) or (i == -1 and j != -1) or (i == j and i >= 0):
            raise ParameterError(f"highlight must be two different nodes among 0..{n - 1}, a "
                                 f"node and -1, or (-1, -1); got {value!r}")
        return (i, j)

    def _build_highlight(self):
        from tvtk.api import tvtk

        self._hl_pd = tvtk.PolyData()
        self._hl_tube = tvtk.TubeFilter(number_of_sides=16, capping=True)
        self._hl_tube.set_input_data(self._hl_pd)
        mapper = tvtk.PolyDataMapper(scalar_visibility=False)
        mapper.input_connection = self._hl_tube.output_port
        self._hl_edge_actor = tvtk.Actor(mapper=mapper)
        self._hl_nodes_pd = tvtk.PolyData()
        sphere = tvtk.SphereSource(radius=0.5, theta_resolution=24, phi_resolution=16)
        glyph = tvtk.Glyph3DMapper(scaling=False, scalar_visibility=False)
        glyph.set_input_data(self._hl_nodes_pd)
        glyph.set_source_connection(sphere.output_port)
        self._hl_glyph = glyph
        self._hl_node_actor = tvtk.Actor(mapper=glyph)
        for actor in (self._hl_edge_actor, self._hl_node_actor):
            actor.property.color = self.HIGHLIGHT_COLOR
            actor.property.ambient = 0.35
        self._hl_text_pd = tvtk.PolyData()
        self._hl_text_mapper = tvtk.LabeledDataMapper(label_mode="label_field_data")
        self._hl_text_mapper.field_data_name = "text"
        self._hl_text_mapper.set_input_data(self._hl_text_pd)
        self._hl_text_mapper.label_text_property.trait_set(
            font_size=14, bold=True, italic=False, shadow=False, color=(0.0, 0.35, 0.05),
            justification="left", vertical_justification="bottom")
        self._hl_text_actor = tvtk.Actor2D(mapper=self._hl_text_mapper)
        self.highlight_actors = [self._hl_edge_actor, self._hl_node_actor, self._hl_text_actor]
        # before each frame the label turns towards the middle of the view (a weak reference:
        # the renderer's observer never keeps a removed visual alive)
        import weakref

        ref = weakref.ref(self)

        def place(obj, event):
            visual = ref()
            if visual is not None:
                visual._turn_highlight_text()

        renderer = self.figure.scene.renderer
        self._hl_observer = (renderer, renderer.add_observer("StartEvent", place))
        return self.highlight_actors

    def _turn_highlight_text(self):
        """The highlight's label runs towards the middle of the view from its point (left
        of it in the view's right half), not off the view's edge: a node near the edge of
        the view had its name cut off there."""
        text_pd = self._hl_text_pd
        if self.highlight[0] < 0 or not text_pd.number_of_points:
            return
        renderer = self.figure.scene.renderer
        x, y, z = text_pd.points.to_array()[0]
        renderer.world_point = (float(x), float(y), float(z), 1.0)
        renderer.world_to_display()
        width = renderer.size[0] or 1
        side = "right" if renderer.display_point[0] > 0.5 * width else "left"
        prop = self._hl_text_mapper.label_text_property
        if prop.justification != side:
            prop.justification = side

    def highlight_text(self):
        """What the highlight says: ``"a - b: 0.42"`` for an edge, the node's name for a node,
        "" for none."""
        i, j = self.highlight
        if i < 0:
            return ""
        if j < 0:
            return self.labels[i]
        return f"{self.labels[i]} - {self.labels[j]}: {self.matrix[i, j]:.3g}"

    def _update_highlight(self):
        from tvtk.api import tvtk

        i, j = self.highlight
        if not self.highlight_actors:
            if i < 0:
                return  # made the first time something is highlighted
            self.figure.scene.add_actors(self._build_highlight())
        size = np.broadcast_to(np.asarray(self.node_size, float), (self.n_nodes,))
        if i < 0:
            nodes = np.zeros((0, 3))
            texts, where = [], np.zeros((0, 3))
            segments = np.zeros((0, 3))
        elif j < 0:
            nodes = self.coords[[i]]
            texts, where = [self.labels[i]], nodes
            # the node's drawn edges
            ei, ej, _ = self.shown_edges()
            mine = (ei == i) | (ej == i)
            segments = np.empty((2 * int(mine.sum()), 3))
            segments[0::2], segments[1::2] = self.coords[ei[mine]], self.coords[ej[mine]]
        else:
            nodes = self.coords[[i, j]]
            # one label at the edge's middle: a label at each node and the weight at the
            # middle were written over each other when the nodes were near (the strongest
            # edges often join neighbours: "PowerPower 213")
            texts, where = [self.highlight_text()], nodes.mean(axis=0)[None]
            segments = nodes
        self._hl_nodes_pd.points = nodes if len(nodes) else np.zeros((0, 3))
        self._hl_glyph.scaling = True
        self._hl_glyph.scale_mode = "no_data_scaling"
        self._hl_glyph.scale_factor = float(1.5 * (size[i] if i >= 0 else 1.0))
        self._hl_nodes_pd.modified()
        self._hl_pd.points = segments if len(segments) else np.zeros((0, 3))
        n_seg = len(segments) // 2
        lines = np.column_stack([np.arange(0, 2 * n_seg, 2), np.arange(1, 2 * n_seg, 2)])
        self._hl_pd.lines = lines.astype(np.int64) if n_seg else np.zeros((0, 2), np.int64)
        self._hl_tube.radius = float(max(self.edge_width, 0.6)) * 1.6
        self._hl_pd.modified()
        text_pd = self._hl_text_pd
        text_pd.points = where if len(where) else np.zeros((0, 3))
        names = tvtk.StringArray(name="text")
        for t in texts:
            # spaces keep the text off the sphere, on whichever side it runs
            names.insert_next_value(f"  {t}  ")
        if text_pd.point_data.has_array("text"):
            text_pd.point_data.remove_array("text")
        text_pd.point_data.add_array(names)
        text_pd.modified()

    # ---------------------------------------------------------------- updates
    def _resolve_node_colors(self, node_color):
        rgba, self.network_colors = self._node_colors_for(node_color)
        return rgba

    def _node_colors_for(self, node_color):
        """(n, 4) uint8 colours and the label legend for a ``node_color`` value; raises on bad values."""
        return gi.resolve_node_colors(node_color, self.n_nodes, networks=self.networks,
                                      node_cmap=self.node_cmap, default=DEFAULT_NODE_COLOR)

    def _update_nodes(self):
        size = np.broadcast_to(np.asarray(self.node_size, dtype=np.float32), (self.n_nodes,))
        self._node_size.from_array(np.ascontiguousarray(size))
        self._node_color.from_array(self._node_rgba)
        self._node_pd.modified()

    def _data_range(self):
        if self.vmax is not None:
            return -float(self.vmax), float(self.vmax)
        if len(self._ew) == 0:
            return -1.0, 1.0
        m = float(np.max(np.abs(self._ew)))
        return -m, m

    @property
    def data_range(self):
        """(vmin, vmax) of the edge colour map: symmetric around 0."""
        return self._data_range()

    def _update_edge_colors(self):
        lut = get_lut(self.cmap, 256)
        self.edge_lut.number_of_table_values = 256
        self.edge_lut.table = lut
        self.edge_lut.range = self._data_range()
        self._edge_mapper.scalar_range = self._data_range()
        if self.directed:
            self._arrow_mapper.scalar_range = self._data_range()

    def _radii(self):
        if len(self._ew) == 0:
            return np.zeros(0, dtype=np.float32)
        vmax = max(abs(self._data_range()[1]), 1e-12)
        frac = np.clip(np.abs(self._ew) / vmax, 0.0, 1.0)
        return (self.edge_width * (0.25 + 0.75 * frac)).astype(np.float32)

    def _update_edges(self, warn_stacklevel=4):
        self.threshold_value = gi.resolve_threshold(self.threshold, self.matrix, directed=self.directed)
        self._shown = np.abs(self._ew) >= self.threshold_value
        self._shown &= self._ew != 0
        kept = np.flatnonzero(self._shown)
        radius = self._radii()
        self._edge_radius.from_array(np.repeat(radius, 2))
        self._edge_pd.point_data.set_active_scalars("radius")
        self._edge_pd.lines = _segments(kept)
        self._edge_pd.modified()
        if self.drawn_edge_mode == "tube":
            self._edge_mapper.set_input_connection(self._tube.output_port)
        else:
            self._edge_mapper.set_input_data(self._edge_pd)
            self.edge_actor.property.line_width = max(1.0, 2.0 * self.edge_width)
        if self.directed:
            start, end = self._edge_ends()
            pts = np.empty((2 * len(self._ew), 3))
            pts[0::2], pts[1::2] = start, end
            self._edge_pd.points = pts
            self._update_arrows(radius)
        if len(kept) == 0:
            why = ("the matrix has no non-zero weight off the diagonal" if len(self._ew) == 0 else
                   f"threshold={self.threshold!r} (|weight| >= {self.threshold_value:.4g}) hides "
                   f"every edge; the largest |weight| is {np.max(np.abs(self._ew)):.4g}")
            warnings.warn(f"{self.name}: no edge to draw: {why}", EmptyOverlayWarning, stacklevel=warn_stacklevel)

    def _edge_ends(self):
        """(start, end) points of every candidate edge, in mm.

        In a directed graph an edge whose reverse also exists is moved aside
        (to its right, seen from above) so that i -> j and j -> i are both
        visible.
        """
        start, end = self.coords[self._ei], self.coords[self._ej]
        if not self.directed or len(self._ew) == 0:
            return start, end
        reverse = self.matrix[self._ej, self._ei] != 0
        vec = end - start
        side = np.cross(vec, [0.0, 0.0, 1.0])
        vertical = np.linalg.norm(side, axis=1) < 1e-9 * np.maximum(np.linalg.norm(vec, axis=1), 1e-9)
        side[vertical] = np.cross(vec[vertical], [0.0, 1.0, 0.0])
        side /= np.maximum(np.linalg.norm(side, axis=1), 1e-12)[:, None]
        offset = np.where(reverse, 1.3 * self.edge_width, 0.0)[:, None] * side
        return start + offset, end + offset

    def _update_arrows(self, radius):
        from tvtk.api import tvtk

        start, end = self._edge_ends()
        vec = end - start
        length = np.linalg.norm(vec, axis=1)
        unit = vec / np.maximum(length, 1e-9)[:, None]
        size = np.broadcast_to(np.asarray(self.node_size, float), (self.n_nodes,))[self._ej]
        head = max(5.0, 4.0 * float(self.edge_width))
        # The tip touches the target sphere; never more than half the edge long.
        back = np.minimum(size / 2 + head / 2, length / 2)
        self._arrow_pd.points = end - unit * back[:, None]
        pd = self._arrow_pd.point_data
        for arr_name in ("direction", "weight", "shown"):
            if pd.has_array(arr_name):
                pd.remove_array(arr_name)
        for arr_name, values, kind in (("direction", unit.astype(np.float32), tvtk.FloatArray),
                                       ("weight", self._ew.astype(np.float32), tvtk.FloatArray),
                                       ("shown", self._shown.astype(np.uint8), tvtk.UnsignedCharArray)):
            arr = kind(name=arr_name)
            arr.from_array(values)
            pd.add_array(arr)
        self._arrow_mapper.scale_factor = head
        self._arrow_pd.modified()

    def _update_legend(self):
        entries = list(self.network_colors.items())
        self.legend_actor.number_of_entries = len(entries)
        for k, (name, rgb) in enumerate(entries):
            self.legend_actor.set_entry(k, self._legend_symbol.output, str(name), tuple(rgb))
        # About one text line (2.5 % of the window height) per entry.
        self.legend_actor.position2_coordinate.trait_set(coordinate_system="normalized_viewport",
                                                         value=(0.25, min(0.9, 0.035 * max(len(entries), 1)), 0))

    def _update_visibility(self):
        self.node_actor.visibility = self.visible and self.show_nodes
        self.edge_actor.visibility = self.visible and bool(self._shown.any())
        if self.arrow_actor is not None:
            self.arrow_actor.visibility = self.visible and bool(self._shown.any())
        self.label_actor.visibility = self.visible and self.show_labels
        self.legend_actor.visibility = self.visible and self.show_legend and bool(self.network_colors)
        on = self.visible and self.highlight[0] >= 0
        for actor in self.highlight_actors:
            actor.visibility = on
        # with a highlight, the rest of the graph steps back so the highlighted edge shows
        dim = 0.15 if on else 1.0
        for actor in (self.node_actor, self.edge_actor, self.arrow_actor):
            if actor is not None:
                actor.property.opacity = self.opacity * (dim if actor is not self.node_actor
                                                         else max(dim, 0.4))

    def _restyle(self, obj, name, old, new):
        if name in ("node_color", "node_cmap"):
            self._node_rgba = self._resolve_node_colors(self.node_color)
            self._update_nodes()
            self._update_legend()
        elif name == "node_size":
            self._update_nodes()
            if self.directed:
                self._update_arrows(self._radii())
        elif name in ("cmap", "vmax"):
            self._update_edge_colors()
            if name == "vmax":
                self._update_edges(warn_stacklevel=6)
        elif name in ("threshold", "edge_width", "edge_mode"):
            self._update_edges(warn_stacklevel=6)
        if name == "highlight":
            self.trait_setq(highlight=self._check_highlight(new))
        if name in ("highlight", "threshold", "edge_width", "node_size", "edge_mode"):
            self._update_highlight()
        self._update_visibility()
        self.render()

    @contextlib.contextmanager
    def only_nodes(self, keep):
        """While inside, only the nodes where ``keep`` (a boolean per node) is true are
        drawn, with the shown edges between two of them; everything is put back on the way
        out. A figure's panel uses it to leave out the part of a graph that lies between
        its camera and the slice it faces."""
        keep = np.asarray(keep, dtype=bool).reshape(-1)
        if keep.shape != (self.n_nodes,):
            raise ValueError(f"keep needs one value per node ({self.n_nodes}); got {keep.size}")
        size = np.broadcast_to(np.asarray(self.node_size, dtype=np.float32), (self.n_nodes,))
        self._node_size.from_array(np.where(keep, size, 0.0).astype(np.float32))
        self._node_pd.modified()
        edges = self._shown & keep[self._ei] & keep[self._ej]
        self._edge_pd.lines = _segments(np.flatnonzero(edges))
        self._edge_pd.modified()
        if self.directed:
            self._set_arrows_shown(edges)
        labels = self.label_actor.visibility if self.label_actor is not None else None
        if labels:  # names of left-out nodes would float alone
            self.label_actor.visibility = False
        try:
            yield
        finally:
            self._update_nodes()
            self._edge_pd.lines = _segments(np.flatnonzero(self._shown))
            self._edge_pd.modified()
            if self.directed:
                self._set_arrows_shown(self._shown)
            if labels:
                self.label_actor.visibility = labels

    def _set_arrows_shown(self, shown):
        from tvtk.api import tvtk

        pd = self._arrow_pd.point_data
        if pd.has_array("shown"):
            pd.remove_array("shown")
        arr = tvtk.UnsignedCharArray(name="shown")
        arr.from_array(np.asarray(shown, dtype=np.uint8))
        pd.add_array(arr)
        self._arrow_pd.modified()

    # ------------------------------------------------------------------ query
    @property
    def drawn_edge_mode(self):
        """"tube" or "line": how the edges are drawn now (resolves edge_mode="auto")."""
        if self.edge_mode == "auto":
            return "tube" if self._shown.sum() <= AUTO_TUBE_LIMIT else "line"
        return self.edge_mode

    @property
    def n_edges_shown(self):
        """Number of edges drawn with the current threshold."""
        return int(self._shown.sum())

    def shown_edges(self):
        """Return the drawn edges as ``(i, j, weight)`` arrays (for picking and legends)."""
        return self._ei[self._shown], self._ej[self._shown], self._ew[self._shown]

    @property
    def node_colors(self):
        """(n, 4) uint8 RGBA colour of each node, as drawn."""
        return self._node_rgba.copy()

    @property
    def bounds(self):
        """World bounds in mm of the nodes (spheres included)."""
        size = np.broadcast_to(np.asarray(self.node_size, float), (self.n_nodes,))
        lo = (self.coords - size[:, None] / 2).min(axis=0)
        hi = (self.coords + size[:, None] / 2).max(axis=0)
        return tuple(float(v) for pair in zip(lo, hi) for v in pair)

    def value_at(self, xyz_mm):
        """Weight of the nearest drawn edge passing within its tube radius + 1 mm of each point; NaN elsewhere."""
        from .picking import nearest_edge

        pts, single = as_points(xyz_mm)
        i, j, w = self.shown_edges()
        out = np.full(len(pts), np.nan)
        radius = self._radii()[self._shown]
        for k, p in enumerate(pts):
            hit = nearest_edge(p, self.coords, np.column_stack([i, j]), max_distance=None, return_distance=True)
            if hit is not None and hit[1] <= radius[hit[0]] + 1.0:
                out[k] = w[hit[0]]
        return out[0] if single else out

    def _actors(self):
        return [a for a in (self.node_actor, self.edge_actor, self.arrow_actor, self.label_actor,
                            self.legend_actor, *self.highlight_actors) if a is not None]

    def remove(self):
        observer = getattr(self, "_hl_observer", None)
        if observer is not None:
            renderer, tag = observer
            renderer.remove_observer(tag)
            self._hl_observer = None
        super().remove()
