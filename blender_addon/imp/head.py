"""The head: a Revive avatar as a Blender mesh with ARKit-named shape keys, materials and rig.

Axes: Revive's formats use glTF's axes (+Y up, the face looks toward +Z, metres); Blender is
Z-up, so every point is converted with (x, y, z) -> (x, -z, y) and the face looks toward -Y.

Functions
---------
import_avatar   build the mesh under a "Revive Head" pivot: shape keys, region vertex groups and
                materials, the face controls, and (when the avatar has a portrait) the photo's
                projection UVs and the portrait expression
head_bounds     the head's box from the chin to the crown (what the close-up frames)
find_head       the Revive head mesh belonging to an object (itself, its child or its parent)
head_pivot      the pivot a head turns about (the object head motion is keyed on)
to_blender      points from Revive's axes to Blender's
"""
from __future__ import annotations

import json

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ..revive_formats import Avatar, ReviveError
from ..revive_formats.polygons import polygon_corners
from . import hair, materials, portrait, rig

__all__ = ["PIVOT_NAME", "PROP_AVATAR", "PROP_HEAD_BOUNDS", "find_head", "head_bounds",
           "head_pivot", "import_avatar", "to_blender"]

PIVOT_NAME = "Revive Head"
PIVOT_DROP = 0.4  # the neck pivot: the centroid lowered by this share of the head's height
PROP_AVATAR = "revive_avatar"  # marks what Revive made, so a second call replaces, not stacks
PROP_HEAD_BOUNDS = "revive_head_bounds"  # chin to crown, for framing (see head_bounds)
CHIN_LANDMARK = 152  # mediapipe's chin point (the 478-point face mesh)


def to_blender(points: np.ndarray) -> np.ndarray:
    """Convert points from Revive's axes (+Y up, face toward +Z) to Blender's (+Z up).

    Parameters
    ----------
    points : np.ndarray [shape=(..., 3)]
        Points or offsets in metres, glTF axes.

    Returns
    -------
    np.ndarray [shape=(..., 3), dtype=float32]
        The same points with (x, y, z) -> (x, -z, y).
    """
    points = np.asarray(points, dtype=np.float32)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def import_avatar(avatar: Avatar, *, name: str | None = None,
                  scene: bpy.types.Scene | None = None) -> bpy.types.Object:
    """Build ``avatar`` as a textured mesh with one shape key per blendshape.

    The mesh has the avatar's polygons: its quads (``polygon_triangles``) are rebuilt from
    their pairs of triangles, so artists get quad-dominant topology; without them every
    triangle is a polygon.

    The mesh is parented to an empty named "Revive Head" placed near the neck (the centroid
    lowered by 40 % of the mesh's height), the pivot that head motion rotates. Beside it, the
    "Revive Face Controls" hold one slider per shape key, which drive the keys.

    Parameters
    ----------
    avatar : Avatar
        The head to build (read with ``read_avatar``).
    name : str, optional
        Name of the mesh object; the avatar's name by default.
    scene : bpy.types.Scene, optional
        Scene to link the objects into; the context's scene by default.

    Returns
    -------
    bpy.types.Object
        The mesh object: shape keys "Basis" plus the avatar's ARKit names (and "Portrait
        expression" when the avatar has a portrait), skin / eye / teeth / mouth materials by
        region, vertex groups named as the regions, and custom properties ``revive_avatar``
        (the avatar's name), ``revive_model`` and ``revive_consent`` (the consent record as
        JSON). When the avatar has hair (``hair_weights``), a "<name> hair" curves object
        is its child (see ``hair.grow_hair``).
    """
    scene = scene or bpy.context.scene
    name = name or avatar.name or "Revive avatar"
    vertices = to_blender(avatar.vertices_m)
    faces = np.asarray(avatar.faces, dtype=np.int32)
    v = vertices.shape[0]
    # Polygons (quads where the avatar stores them) from its fans of triangles.
    try:
        corners, sizes = polygon_corners(avatar.polygon_triangles, faces.shape[0])
    except ValueError as exc:
        raise ReviveError(f"The avatar {avatar.name!r} has polygons that do not match its "
                          f"triangles ({exc}).", "Write the avatar again with Revive.") from None

    # Mesh: vertices, one loop per polygon corner, polygons.
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(v)
    mesh.vertices.foreach_set("co", vertices.ravel())
    mesh.loops.add(len(corners))
    mesh.loops.foreach_set("vertex_index", faces.ravel()[corners])
    mesh.polygons.add(len(sizes))
    mesh.polygons.foreach_set("loop_start", (np.cumsum(sizes) - sizes).astype(np.int32))
    if not mesh.polygons[0].bl_rna.properties["loop_total"].is_readonly:  # Blender < 4.0
        mesh.polygons.foreach_set("loop_total", sizes.astype(np.int32))
    uv_layer = mesh.uv_layers.new(name="UVMap")
    uv_corners = np.asarray(avatar.uv_faces).ravel()[corners]
    uv_layer.data.foreach_set("uv", np.asarray(avatar.uvs, dtype=np.float32)[uv_corners].ravel())
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    else:
        mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    if len(mesh.vertices) != v or len(mesh.polygons) != len(sizes):
        raise ReviveError(f"The avatar {avatar.name!r} has a mesh Blender could not build "
                          f"({v} vertices and {len(sizes)} polygons became "
                          f"{len(mesh.vertices)} and {len(mesh.polygons)}).",
                          "Write the avatar again with Revive.")
    head_low, head_high = head_bounds(avatar, vertices)
    materials.assign_materials(mesh, avatar, name,
                               head_height_m=float(head_high[2] - head_low[2]))

    obj = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(obj)

    # Shape keys: the neutral head, then each blendshape as an absolute shape.
    obj.shape_key_add(name="Basis", from_mix=False)
    deltas = to_blender(avatar.blendshape_deltas_m)
    for k, shape_name in enumerate(avatar.blendshape_names):
        key_block = obj.shape_key_add(name=shape_name, from_mix=False)
        key_block.data.foreach_set("co", (vertices + deltas[k]).ravel())
        key_block.slider_min, key_block.slider_max = 0.0, 1.0
        key_block.value = 0.0
    mesh.shape_keys.name = f"{name} shapes"

    # The pivot the head turns about: near the neck, the centroid lowered by 40 % of the
    # height (as in revive_core.video.preview, so previews and renders move alike).
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    centroid = vertices.mean(axis=0, dtype=np.float64)
    pivot_at = Vector((centroid[0], centroid[1], centroid[2] - PIVOT_DROP * (high[2] - low[2])))
    pivot = bpy.data.objects.new(PIVOT_NAME, None)
    pivot.empty_display_type = "SPHERE"
    pivot.empty_display_size = 0.02 + 0.1 * float(high[2] - low[2])
    pivot.location = pivot_at
    pivot.rotation_mode = "YXZ"
    pivot[PROP_AVATAR] = avatar.name
    scene.collection.objects.link(pivot)
    obj.parent = pivot
    obj.matrix_parent_inverse = Matrix.Translation(-pivot_at)

    obj[PROP_AVATAR] = avatar.name
    obj["revive_model"] = avatar.model_id
    obj["revive_consent"] = json.dumps(avatar.consent, ensure_ascii=False, sort_keys=True)
    obj["revive_vertex_count"] = v
    # Regions as vertex groups (for artists), and the face's bounds for framing.
    regions = np.asarray(avatar.vertex_regions)
    for index, region in enumerate(avatar.region_names):
        members = np.flatnonzero(regions == index)
        if members.size:
            obj.vertex_groups.new(name=region).add(members.tolist(), 1.0, "REPLACE")
    face = vertices
    if "face" in avatar.region_names:
        mask = regions == avatar.region_names.index("face")
        if mask.sum() >= 3:
            face = vertices[mask]
    obj["revive_face_bounds"] = [float(x) for x in (*face.min(axis=0), *face.max(axis=0))]
    obj[PROP_HEAD_BOUNDS] = [float(x) for x in (*head_low, *head_high)]
    if isinstance(avatar.extra.get("lighting"), dict):  # the photo's light, for the stage
        obj["revive_lighting"] = json.dumps(avatar.extra["lighting"])

    if avatar.portrait is not None and avatar.portrait_png is not None:
        portrait.prepare_head(obj, avatar)
    rig.add_face_controls(obj, pivot)
    hair.grow_hair(obj, avatar, vertices)
    return obj


def head_bounds(avatar: Avatar, vertices: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """The head's box from the chin to the crown, the neck and bust below the chin left out.

    The chin is the avatar's chin landmark (mediapipe point 152) when it has the 478 face
    landmarks, else the lowest point of its "face" region (else of the whole mesh); every
    vertex at or above the chin's height makes the box.

    Parameters
    ----------
    avatar : Avatar
    vertices : np.ndarray [shape=(V, 3)], optional
        The avatar's vertices in Blender's axes (``to_blender(avatar.vertices_m)``).

    Returns
    -------
    (np.ndarray, np.ndarray) [shape=(3,)]
        The box's low and high corners in metres, Blender's axes.
    """
    vertices = to_blender(avatar.vertices_m) if vertices is None else vertices
    chin = _chin_height(avatar, vertices)
    above = vertices[vertices[:, 2] >= chin - 1e-6]
    if len(above) < 4:
        above = vertices
    return above.min(axis=0), above.max(axis=0)


def _chin_height(avatar: Avatar, vertices: np.ndarray) -> float:
    """Height (Blender Z) of the chin: its landmark, else the face region's lowest point."""
    faces = np.asarray(avatar.faces)
    landmarks = np.asarray(avatar.landmark_faces)
    if len(landmarks) >= 478 and 0 <= landmarks[CHIN_LANDMARK] < len(faces):
        corners = vertices[faces[landmarks[CHIN_LANDMARK]]]
        return float(np.asarray(avatar.landmark_bary[CHIN_LANDMARK]) @ corners[:, 2])
    regions = np.asarray(avatar.vertex_regions)
    if "face" in avatar.region_names:
        mask = regions == avatar.region_names.index("face")
        if mask.sum() >= 3:
            return float(vertices[mask, 2].min())
    return float(vertices[:, 2].min())


def find_head(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The Revive head mesh for ``obj``: itself, its Revive parent's mesh, or its mesh child.

    The pivot, the face controls and the head itself all lead to the head.
    """
    if obj is None:
        return None
    if obj.type == "MESH" and PROP_AVATAR in obj and obj.data.shape_keys is not None:
        return obj
    if obj.parent is not None and PROP_AVATAR in obj.parent:
        return find_head(obj.parent)
    for child in obj.children:
        if child.type == "MESH" and PROP_AVATAR in child:
            return child
    return None


def head_pivot(head: bpy.types.Object) -> bpy.types.Object:
    """The object that turns the head: its "Revive Head" pivot, else the mesh itself."""
    parent = head.parent
    return parent if (parent is not None and PROP_AVATAR in parent) else head
