"""Hair: strands grown as Blender hair curves where the avatar says hair covers the head.

An avatar may carry ``hair_weights`` (one number 0..1 per vertex: how much hair covers it) and
``extra["hair"]`` (``colour_srgb``, ``thickness_mm``, ...). Its mesh already has the hair's
volume and colour; the strands give that volume the look of hair in Cycles. Where the weight
passes 0.5 (never on the face below the brows), ``HAIR_STRANDS`` roots are scattered over the
surface, area-weighted and with a fixed seed (the same avatar grows the same hair). Each strand
leaves the scalp along its normal, then is combed back over the top and down at the sides and
the back (away from a point in front of the forehead, a little toward the ground), arching over
the head at a height of ``HAIR_LIFT`` of its length; then each point is kept out of the head
and at most ``HAIR_MAX_ABOVE_M`` above that arch (a head is no sphere: at the nape and the
temples a strand swept about the skull's centre would stand off it). A strand is
``HAIR_LENGTH_PER_THICKNESS`` times the hair's thickness long, each a little longer or shorter,
never shorter than ``HAIR_MIN_LENGTH_M``.

The strands are one curves object ("<head> hair"), parented to the head (so head motion carries
it), with the head as its surface (hair sculpting in Blender works on it) and a Principled Hair
BSDF coloured directly with the hair's colour. EEVEE and Workbench show them as simple strands.
Blender before 4.0 cannot fill curves from Python: there the head keeps its painted hair only.

Functions
---------
grow_hair       the hair curves object of a head, from its avatar (None when it has no hair)
hair_roots      area-weighted root points on the hair-covered triangles
comb_strands    strand points from roots: out along the normal, then combed back and down
find_hair       a head's hair curves object, or None
"""
from __future__ import annotations

import bpy
import numpy as np

from ..revive_formats import Avatar
from .materials import set_input

__all__ = ["HAIR_STRANDS", "PROP_HAIR", "comb_strands", "find_hair", "grow_hair",
           "hair_roots"]

PROP_HAIR = "revive_hair"  # on the curves object: the head's name
HAIR_STRANDS = 12000
HAIR_POINTS = 6  # points per strand; Cycles draws a smooth curve through them
HAIR_SEED = 13
HAIR_WEIGHT = 0.5  # a vertex with more hair weight than this grows hair
HAIR_LENGTH_PER_THICKNESS = 2.5
HAIR_MIN_LENGTH_M = 0.02
HAIR_MAX_LENGTH_M = 0.15
HAIR_LIFT = 0.08  # how high a strand arches over the scalp, as a share of its length
HAIR_MIN_ABOVE_M = 0.0005  # every point but the root at least this far out of the scalp
HAIR_MAX_ABOVE_M = 0.003  # and at most this much higher than its arch
HAIR_ROOT_RADIUS_M = 0.0001
HAIR_TIP_RADIUS_M = 0.00004
DEFAULT_HAIR_SRGB = (0.25, 0.18, 0.13)
# mediapipe's brow points (both brows): no hair grows on the face below the highest of them
BROW_LANDMARKS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)


def grow_hair(head: bpy.types.Object, avatar: Avatar, vertices: np.ndarray, *,
              strands: int = HAIR_STRANDS, seed: int = HAIR_SEED) -> bpy.types.Object | None:
    """Grow the avatar's hair as a curves object parented to ``head``.

    Parameters
    ----------
    head : bpy.types.Object
        The head mesh just built from ``avatar`` (its rest shape is its world shape).
    avatar : Avatar
    vertices : np.ndarray [shape=(V, 3)]
        The avatar's vertices in Blender's axes, metres.
    strands : int
        How many strands (roots) to scatter.
    seed : int
        The random seed: the same avatar and seed grow the same hair.

    Returns
    -------
    bpy.types.Object or None
        The "<head> hair" curves object, or None when the avatar has no hair (no
        ``hair_weights``, or none above 0.5) or this Blender can't build curves from Python.
    """
    weights = avatar.hair_weights
    if weights is None or not np.any(np.asarray(weights) > HAIR_WEIGHT):
        return None
    if not hasattr(bpy.data, "hair_curves") or "add_curves" not in bpy.types.Curves.bl_rna.functions:
        print("Revive: this Blender can't grow hair curves from Python (4.0 or later can); "
              "the head keeps its painted hair.")
        return None
    faces = np.asarray(avatar.faces, dtype=np.int64)
    allowed = _not_on_the_face(avatar, vertices, faces)
    try:
        triangles, bary = hair_roots(vertices, faces, weights, count=strands, seed=seed,
                                     allowed=allowed)
    except ValueError:
        return None
    corners = vertices[faces[triangles]]  # (N, 3, 3)
    roots = np.einsum("nk,nkd->nd", bary, corners)
    normals = np.einsum("nk,nkd->nd", bary, _vertex_normals(vertices, faces)[faces[triangles]])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)

    hair = avatar.extra.get("hair") if isinstance(avatar.extra.get("hair"), dict) else {}
    thickness_m = _number(hair.get("thickness_mm"), 10.0) / 1000.0
    length_m = float(np.clip(HAIR_LENGTH_PER_THICKNESS * thickness_m, HAIR_MIN_LENGTH_M,
                             HAIR_MAX_LENGTH_M))
    covered = vertices[np.asarray(weights) > HAIR_WEIGHT]
    points = comb_strands(roots, normals, length_m=length_m, centre=_head_centre(covered),
                          seed=seed)
    points = _hug_surface(points, vertices, faces, length_m=length_m)

    # The curves: equal-length strands, radius tapering from root to tip.
    name = f"{head.name} hair"
    curves = bpy.data.hair_curves.new(name)
    count, per = points.shape[0], points.shape[1]
    curves.add_curves([per] * count)
    curves.position_data.foreach_set("vector", points.astype(np.float32).ravel())
    radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
    taper = np.linspace(HAIR_ROOT_RADIUS_M, HAIR_TIP_RADIUS_M, per, dtype=np.float32)
    radius.data.foreach_set("value", np.tile(taper, count))
    _attach_to_surface(curves, head, avatar, faces, triangles, bary)
    curves.materials.append(_hair_material(name, _colour(hair.get("colour_srgb"))))

    obj = bpy.data.objects.new(name, curves)
    obj[PROP_HAIR] = head.name
    for collection in head.users_collection:
        collection.objects.link(obj)
    obj.parent = head  # the head's world matrix is the identity at import
    return obj


def find_hair(head: bpy.types.Object) -> bpy.types.Object | None:
    """The hair curves object grown on ``head``, or None."""
    return next((c for c in head.children if c.type == "CURVES" and PROP_HAIR in c), None)


def hair_roots(vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray, *, count: int,
               seed: int = HAIR_SEED,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scatter ``count`` points over the hair-covered triangles, evenly by area.

    A triangle is hair-covered when all its corners weigh more than ``HAIR_WEIGHT``.

    Parameters
    ----------
    vertices : np.ndarray [shape=(V, 3)]
        Metres.
    faces : np.ndarray [shape=(F, 3), dtype=int]
    weights : np.ndarray [shape=(V,)]
        Hair weight per vertex, 0..1.
    count : int
    seed : int
    allowed : np.ndarray [shape=(F,), dtype=bool], optional
        Triangles that may grow hair at all.

    Returns
    -------
    triangles : np.ndarray [shape=(count,), dtype=int]
        The triangle of each point.
    bary : np.ndarray [shape=(count, 3)]
        Its barycentric weights in that triangle.

    Raises
    ------
    ValueError
        When no triangle is hair-covered.
    """
    faces = np.asarray(faces, dtype=np.int64)
    covered = (np.asarray(weights)[faces] > HAIR_WEIGHT).all(axis=1)
    if allowed is not None:
        covered &= allowed
    corners = np.asarray(vertices, dtype=np.float64)[faces]
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                         corners[:, 2] - corners[:, 0]), axis=1)
    area = np.where(covered, area, 0.0)
    if count < 1 or area.sum() <= 0:
        raise ValueError(f"count={count} roots on {int(covered.sum())} hair-covered triangles.")
    rng = np.random.default_rng(seed)
    triangles = rng.choice(len(faces), size=count, p=area / area.sum())
    # Uniform over each triangle: (1 - sqrt(a), sqrt(a) (1 - b), sqrt(a) b).
    a, b = np.sqrt(rng.random(count)), rng.random(count)
    bary = np.stack([1.0 - a, a * (1.0 - b), a * b], axis=1)
    return triangles, bary


def comb_strands(roots: np.ndarray, normals: np.ndarray, *, length_m: float,
                 centre: np.ndarray, points: int = HAIR_POINTS,
                 seed: int = HAIR_SEED) -> np.ndarray:
    """Strands from ``roots``: out along the normal, then combed back and down over the head.

    Each strand turns about the head's ``centre`` toward its combing direction (away from a
    point in front of the forehead and a little toward the ground, Blender's axes: the face
    looks toward -Y, +Z is up), arching ``HAIR_LIFT`` of its length above the scalp, so it
    follows the head's curve instead of sticking out. Lengths vary from 75 % to 115 % of
    ``length_m`` (never under ``HAIR_MIN_LENGTH_M``), directions by about 12 degrees.

    Parameters
    ----------
    roots, normals : np.ndarray [shape=(N, 3)]
        Metres; unit normals pointing out of the head.
    length_m : float
    centre : np.ndarray [shape=(3,)]
        The middle of the skull.
    points : int
        Points per strand, the root first.
    seed : int

    Returns
    -------
    np.ndarray [shape=(N, points, 3)]
    """
    roots = np.asarray(roots, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    centre = np.asarray(centre, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    n = len(roots)
    radial = roots - centre
    reach = np.maximum(np.linalg.norm(radial, axis=1), 1e-6)  # per strand: its scalp's radius
    up = radial / reach[:, None]
    size = float(np.median(reach))
    # Combing: away from a point in front of the forehead, and a little down.
    parting = centre + np.array([0.0, -1.5 * size, 0.4 * size])
    flow = _unit(roots - parting) + np.array([0.0, 0.0, -0.35])
    flow = flow - np.sum(flow * normals, axis=1, keepdims=True) * normals
    weak = np.linalg.norm(flow, axis=1) < 1e-3
    flow[weak] = np.cross(normals[weak], [1.0, 0.0, 0.0])  # straight up or down: sideways
    flow = _unit(flow)
    # Each strand a little to one side (about the normal, ~12 degrees).
    angle = rng.normal(0.0, np.radians(12.0), n)[:, None]
    flow = np.cos(angle) * flow + np.sin(angle) * np.cross(normals, flow)
    along = _unit(flow - np.sum(flow * up, axis=1, keepdims=True) * up)

    lengths = np.maximum(length_m * rng.uniform(0.75, 1.15, n), HAIR_MIN_LENGTH_M)
    s = np.linspace(0.0, 1.0, points)
    sweep = s ** 1.5  # leaves the scalp along its normal, then lies down along the head
    lift = HAIR_LIFT * (1.0 - (1.0 - s) ** 2)
    theta = lengths[:, None] * sweep[None, :] / reach[:, None]  # (N, points) radians
    height = reach[:, None] + lengths[:, None] * lift[None, :]
    direction = (np.cos(theta)[..., None] * up[:, None, :]
                 + np.sin(theta)[..., None] * along[:, None, :])
    strands = centre + height[..., None] * direction
    # Lift and sweep were measured from the centre: put each root exactly where it grows.
    strands += (roots - strands[:, 0])[:, None, :]
    return strands


def _hug_surface(strands: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                 length_m: float) -> np.ndarray:
    """Keep every point of every strand outside the head and at most as high above it as
    ``comb_strands`` meant (the head is no sphere: at the nape and the temples a strand swept
    about the skull's centre would stand off it), each segment as long as it was."""
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    tree = BVHTree.FromPolygons(vertices.tolist(), faces.tolist())
    per = strands.shape[1]
    s = np.linspace(0.0, 1.0, per)
    highest = HAIR_MAX_ABOVE_M + length_m * HAIR_LIFT * (1.0 - (1.0 - s) ** 2)
    steps = np.diff(strands, axis=1)  # (N, per - 1, 3)
    lengths = np.linalg.norm(steps, axis=2)
    out = strands.copy()
    for k in range(1, per):
        points = out[:, k - 1] + steps[:, k - 1]  # the comb's step from where each strand is
        nearest = [tree.find_nearest(Vector(p)) for p in points.tolist()]
        found = np.array([n[0] is not None for n in nearest])
        location = np.array([n[0] if n[0] is not None else (0.0, 0.0, 0.0) for n in nearest])
        normal = np.array([n[1] if n[1] is not None else (0.0, 0.0, 1.0) for n in nearest])
        above = np.sum((points - location) * normal, axis=1)
        clamped = location + np.clip(above, HAIR_MIN_ABOVE_M, highest[k])[:, None] * normal
        points = np.where(found[:, None], clamped, points)
        step = points - out[:, k - 1]
        norm = np.maximum(np.linalg.norm(step, axis=1), 1e-9)
        out[:, k] = out[:, k - 1] + step * (lengths[:, k - 1] / norm)[:, None]
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _number(value, default: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if np.isfinite(value) and value > 0 else default


def _colour(srgb) -> tuple[float, float, float]:
    """sRGB 0..1 -> linear RGB, the hair's colour (a dark brown when the avatar has none)."""
    try:
        c = np.clip(np.asarray(srgb, dtype=np.float64).reshape(3), 0.0, 1.0)
    except (TypeError, ValueError):
        c = np.asarray(DEFAULT_HAIR_SRGB)
    if not np.all(np.isfinite(c)):
        c = np.asarray(DEFAULT_HAIR_SRGB)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return tuple(float(x) for x in linear)


def _head_centre(points: np.ndarray) -> np.ndarray:
    """The centre of the sphere that best fits ``points`` (the middle of their box if none)."""
    points = np.asarray(points, dtype=np.float64)
    middle = (points.min(axis=0) + points.max(axis=0)) / 2.0
    if len(points) < 4:
        return middle
    # |p|^2 = 2 c.p + (r^2 - |c|^2), linear in c and the constant.
    a = np.concatenate([2.0 * points, np.ones((len(points), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(a, np.sum(points ** 2, axis=1), rcond=None)
    centre = solution[:3]
    span = float(np.max(points.max(axis=0) - points.min(axis=0)))
    if not np.all(np.isfinite(centre)) or np.linalg.norm(centre - middle) > span:
        return middle
    return centre


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices, dtype=np.float64)
    for k in range(3):  # area-weighted
        np.add.at(normals, faces[:, k], face_normals)
    return _unit(normals)


def _not_on_the_face(avatar: Avatar, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Triangles that may grow hair: all but those of the "face" region below the brows."""
    allowed = np.ones(len(faces), dtype=bool)
    landmarks = np.asarray(avatar.landmark_faces)
    if "face" not in avatar.region_names or len(landmarks) <= max(BROW_LANDMARKS):
        return allowed
    picked = landmarks[list(BROW_LANDMARKS)]
    bary = np.asarray(avatar.landmark_bary)[list(BROW_LANDMARKS)]
    if np.any(picked < 0) or np.any(picked >= len(faces)):
        return allowed
    brow = float(np.max(np.einsum("lk,lk->l", bary, vertices[faces[picked], 2])))
    face = np.asarray(avatar.vertex_regions)[faces] == avatar.region_names.index("face")
    low = vertices[faces, 2].min(axis=1) < brow
    return ~(face.any(axis=1) & low)


def _attach_to_surface(curves, head: bpy.types.Object, avatar: Avatar, faces: np.ndarray,
                       triangles: np.ndarray, bary: np.ndarray) -> None:
    """Make ``head`` the curves' surface, each root's UV on it, as Blender's hair tools want."""
    try:
        curves.surface = head
        curves.surface_uv_map = head.data.uv_layers[0].name
        uv_corners = np.asarray(avatar.uv_faces, dtype=np.int64)[triangles]
        uv = np.einsum("nk,nkd->nd", bary, np.asarray(avatar.uvs, dtype=np.float64)[uv_corners])
        attribute = (curves.attributes.get("surface_uv_coordinate")
                     or curves.attributes.new("surface_uv_coordinate", "FLOAT2", "CURVE"))
        attribute.data.foreach_set("vector", uv.astype(np.float32).ravel())
    except (AttributeError, TypeError, IndexError, RuntimeError):
        pass  # an older Blender: the strands still render


def _hair_material(name: str, colour: tuple[float, float, float]) -> bpy.types.Material:
    """Principled Hair BSDF (Chiang), coloured directly, with a little variation per strand."""
    material = bpy.data.materials.new(name)
    if material.node_tree is None:  # before 5.0 node trees were optional
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    for node in list(nodes):
        nodes.remove(node)
    bsdf = nodes.new("ShaderNodeBsdfHairPrincipled")
    bsdf.name = bsdf.label = "Revive hair BSDF"
    if hasattr(bsdf, "model"):
        bsdf.model = "CHIANG"
    bsdf.parametrization = "COLOR"
    set_input(bsdf, ("Color",), (*colour, 1.0))
    set_input(bsdf, ("Roughness",), 0.5)  # smoother glints at preview samples
    set_input(bsdf, ("Radial Roughness",), 0.7)
    set_input(bsdf, ("Coat",), 0.0)
    set_input(bsdf, ("Random Color",), 0.1)
    set_input(bsdf, ("Random Roughness",), 0.1)
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (300, 0)
    links.new(bsdf.outputs[0], output.inputs["Surface"])
    material["revive_kind"] = "hair"
    material.diffuse_color = (*colour, 1.0)
    return material
