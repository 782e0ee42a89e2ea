"""Portrait mode: the photo itself speaks, the fitted head animated in place in its camera.

An avatar built from a photo carries that photo (``portrait.png``) and the camera that saw the
head in it (``avatar.portrait``: focal_px, cx, cy, width, height in pixels, and the pose as
``rotation`` (a rotation vector) and ``translation`` in metres: a model point X is at
``R X + t`` in the camera, which looks down -Z with +Y up, OpenGL's convention, as in
``revive_core.geometry.camera``). Portrait mode

- puts the Blender camera exactly where the photo's camera was (sensor, focal length, shift
  from the principal point),
- shows the photo behind the head (``stage.stage`` adds it as a backdrop filling the frame),
- textures the head with the photo projected from that camera onto the rest shape (with the
  photo's own expression, the "Portrait expression" shape key), stored as the "Portrait" UV
  map, so the texture sticks to the skin when the face moves instead of swimming,
- hides the head's hair strands (the photo shows the person's own hair),
- fades the head out toward its outer border (the "revive_border" attribute, 0 at the border
  and 1 from ``BORDER_FALLOFF`` of the face's width inwards), so where the mesh meets the photo
  there is no seam.

At rest, the render is the photo. Everything is emission: the photo already holds its light.

Functions
---------
prepare_head          at import: the Portrait UV map, the expression key, the border fade
portrait_camera       the photo's camera as a Blender world matrix and lens settings
use_portrait_look     switch a head's materials (and expression key) to the photo or back
photo_image           the packed portrait photo of a head
fitted_resolution     the photo's size, shrunk to fit a bounding box, even numbers
"""
from __future__ import annotations

import json

import bpy
import numpy as np
from mathutils import Matrix

from ..revive_formats import Avatar
from .hair import find_hair
from .materials import cleared_node_tree

__all__ = ["BORDER_ATTRIBUTE", "BORDER_FALLOFF", "PORTRAIT_KEY", "PORTRAIT_UV", "border_weights",
           "fitted_resolution", "photo_image", "portrait_camera", "portrait_of", "prepare_head",
           "rotation_matrix", "use_portrait_look"]

PORTRAIT_KEY = "Portrait expression"
PORTRAIT_UV = "Portrait"
BORDER_ATTRIBUTE = "revive_border"
BORDER_FALLOFF = 0.1  # of the face's width: the fade at the mesh's outer border
PROP_PORTRAIT = "revive_portrait"
PROP_PHOTO = "revive_portrait_image"
SENSOR_MM = 36.0
MOUTH_GLOW = (0.2, 0.07, 0.06)  # the mouth's inside, as the photo's light would show it
TEETH_GLOW = (0.62, 0.58, 0.5)
_TO_BLENDER = np.array(  # Revive's axes -> Blender's: (x, y, z) -> (x, -z, y)
    [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def rotation_matrix(rotvec) -> np.ndarray:
    """(3, 3) rotation matrix of a rotation vector (axis times angle in radians), Rodrigues."""
    r = np.asarray(rotvec, dtype=np.float64)
    angle = float(np.linalg.norm(r))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = r / angle
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def prepare_head(head: bpy.types.Object, avatar: Avatar) -> None:
    """Give ``head`` what portrait mode needs; its materials stay as they are until it is used.

    Adds the "Portrait" UV map (the rest shape with the photo's expression, projected through
    the photo's camera), the "Portrait expression" shape key (value 0 until portrait mode),
    the "revive_border" point attribute, the packed photo, and the camera as JSON in the
    ``revive_portrait`` property. A portrait without a camera pose is skipped, with a note.
    """
    camera = avatar.portrait
    try:
        pose = np.array([*camera["rotation"], *camera["translation"]], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        pose = np.array([np.nan])
    if pose.shape != (6,) or not np.all(np.isfinite(pose)):
        print(f"Revive: the portrait of {avatar.name!r} has no camera pose, so portrait mode "
              "is not available for it.")
        return
    shape = avatar.vertices_m.astype(np.float64)
    expression = {n: float(w) for n, w in (camera.get("expression") or {}).items()
                  if n in avatar.blendshape_names and isinstance(w, (int, float))
                  and np.isfinite(w) and abs(w) > 1e-3}
    if expression:
        shape = avatar.shape(expression)
        block = head.shape_key_add(name=PORTRAIT_KEY, from_mix=False)
        block.data.foreach_set("co", (shape @ _TO_BLENDER.T).astype(np.float32).ravel())
        block.slider_min, block.slider_max = 0.0, 1.0
        block.value = 0.0

    # Project the rest shape through the photo's camera: UV = pixel / size, v up.
    in_camera = shape @ rotation_matrix(camera["rotation"]).T + np.asarray(camera["translation"])
    depth = np.maximum(-in_camera[:, 2], 1e-6)
    u = (camera["cx"] + camera["focal_px"] * in_camera[:, 0] / depth) / camera["width"]
    v = 1.0 - (camera["cy"] - camera["focal_px"] * in_camera[:, 1] / depth) / camera["height"]
    per_vertex = np.stack([u, v], axis=1).astype(np.float32)
    mesh = head.data
    layer = mesh.uv_layers.new(name=PORTRAIT_UV)
    corner_vertices = np.empty(len(mesh.loops), dtype=np.int32)
    mesh.loops.foreach_get("vertex_index", corner_vertices)  # polygon corners, quads included
    layer.data.foreach_set("uv", per_vertex[corner_vertices].ravel())
    mesh.uv_layers.active = mesh.uv_layers[0]  # the albedo's map stays the one shown

    bounds = head["revive_face_bounds"]
    weights = border_weights(avatar.vertices_m, avatar.faces,
                             falloff_m=BORDER_FALLOFF * (bounds[3] - bounds[0]))
    attribute = mesh.attributes.new(BORDER_ATTRIBUTE, "FLOAT", "POINT")
    attribute.data.foreach_set("value", weights.astype(np.float32))

    image = bpy.data.images.new(f"{head.name} portrait", 8, 8)
    image.pack(data=avatar.portrait_png, data_len=len(avatar.portrait_png))
    image.source = "FILE"
    image.colorspace_settings.name = "sRGB"
    head[PROP_PHOTO] = image.name
    head[PROP_PORTRAIT] = json.dumps({k: camera[k] for k in (
        "focal_px", "cx", "cy", "width", "height", "rotation", "translation")})


def portrait_of(head: bpy.types.Object) -> dict | None:
    """The photo's camera stored on ``head`` by ``prepare_head``, or None."""
    raw = head.get(PROP_PORTRAIT)
    return json.loads(raw) if raw else None


def photo_image(head: bpy.types.Object) -> bpy.types.Image | None:
    return bpy.data.images.get(head.get(PROP_PHOTO, ""))


def border_weights(vertices: np.ndarray, faces: np.ndarray, *, falloff_m: float) -> np.ndarray:
    """Per vertex, 0 on the mesh's outer border rising smoothly to 1 at ``falloff_m`` inside.

    The outer border is the longest loop of boundary edges (the eye and mouth openings are
    shorter loops and do not fade). Distances run along the mesh's edges.

    Parameters
    ----------
    vertices : np.ndarray [shape=(V, 3)]
        Metres.
    faces : np.ndarray [shape=(F, 3), dtype=int]
    falloff_m : float
        Width of the fade in metres.

    Returns
    -------
    np.ndarray [shape=(V,), dtype=float32]
        1 everywhere when the mesh has no border.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    if boundary.size == 0 or falloff_m <= 0:
        return np.ones(len(vertices), dtype=np.float32)

    # Boundary loops: connected components of the boundary edges (union-find).
    parent = {int(v): int(v) for v in np.unique(boundary)}

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for a, b in boundary:
        parent[root(int(a))] = root(int(b))
    lengths: dict[int, float] = {}
    for a, b in boundary:
        r = root(int(a))
        lengths[r] = lengths.get(r, 0.0) + float(np.linalg.norm(vertices[a] - vertices[b]))
    outer = max(lengths, key=lengths.get)
    sources = np.array([v for v in parent if root(v) == outer])

    # Shortest distances along edges from the outer border (Bellman-Ford, vectorised).
    length = np.linalg.norm(vertices[unique[:, 0]] - vertices[unique[:, 1]], axis=1)
    distance = np.full(len(vertices), np.inf)
    distance[sources] = 0.0
    for _ in range(len(vertices)):
        relaxed = distance.copy()
        np.minimum.at(relaxed, unique[:, 0], distance[unique[:, 1]] + length)
        np.minimum.at(relaxed, unique[:, 1], distance[unique[:, 0]] + length)
        if np.array_equal(relaxed, distance):
            break
        distance = relaxed
    x = np.clip(distance / falloff_m, 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)).astype(np.float32)


def portrait_camera(portrait: dict) -> tuple[Matrix, dict]:
    """The photo's camera in Blender: its world matrix and the camera data's settings.

    The head's rest shape is at ``to_blender(X)`` in the world, and the photo saw X at
    ``R X + t`` in camera space, so the camera's world matrix is [C R^T | -C R^T t] with C
    Revive's axes -> Blender's. Blender shifts the lens in units of the frame's longer side.

    Returns
    -------
    (Matrix, dict)
        The 4 x 4 world matrix; and sensor_fit, sensor_width / sensor_height, lens (mm),
        shift_x and shift_y for ``bpy.types.Camera``.
    """
    rotation = rotation_matrix(portrait["rotation"])
    translation = np.asarray(portrait["translation"], dtype=np.float64)
    world = np.eye(4)
    world[:3, :3] = _TO_BLENDER @ rotation.T
    world[:3, 3] = -_TO_BLENDER @ rotation.T @ translation
    width, height = float(portrait["width"]), float(portrait["height"])
    longer = max(width, height)
    horizontal = width >= height
    lens = {"sensor_fit": "HORIZONTAL" if horizontal else "VERTICAL",
            "sensor_width" if horizontal else "sensor_height": SENSOR_MM,
            "lens": portrait["focal_px"] * SENSOR_MM / (width if horizontal else height),
            "shift_x": (width / 2.0 - portrait["cx"]) / longer,
            "shift_y": (portrait["cy"] - height / 2.0) / longer}
    return Matrix(world.tolist()), lens


def fitted_resolution(portrait: dict, box: tuple[int, int]) -> tuple[int, int]:
    """The photo's size, shrunk to fit inside ``box`` (width, height) but never enlarged (the
    photo holds no more detail than its pixels), as even numbers >= 16."""
    width, height = float(portrait["width"]), float(portrait["height"])
    scale = min(1.0, box[0] / width, box[1] / height)
    return tuple(max(16, 2 * int(round(size * scale / 2.0))) for size in (width, height))


def use_portrait_look(head: bpy.types.Object, on: bool) -> None:
    """Show ``head`` as the photo (``on``) or with its studio materials again.

    The studio materials stay on the mesh; the photo's materials sit in the object's slots
    (slot link "OBJECT"), so switching back and forth loses nothing an artist changed.
    """
    mesh = head.data
    for index, slot in enumerate(head.material_slots):
        studio = mesh.materials[index]
        if not on:
            slot.link = "DATA"
            continue
        kind = studio.get("revive_kind", "skin") if studio is not None else "skin"
        slot.link = "OBJECT"
        slot.material = _portrait_material(head, kind, studio)
    keys = mesh.shape_keys
    if keys is not None and PORTRAIT_KEY in keys.key_blocks:
        keys.key_blocks[PORTRAIT_KEY].value = 1.0 if on else 0.0
    hair = find_hair(head)
    if hair is not None:  # the photo shows the person's own hair
        hair.hide_render = hair.hide_viewport = on


def _portrait_material(head: bpy.types.Object, kind: str,
                       studio: bpy.types.Material | None) -> bpy.types.Material:
    name = f"{head.name} portrait {kind}"
    material = bpy.data.materials.get(name)
    if material is not None:
        return material
    material = bpy.data.materials.new(name)
    tree = cleared_node_tree(material)
    nodes, links = tree.nodes, tree.links
    output = nodes.new("ShaderNodeOutputMaterial")
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Strength"].default_value = 1.0
    emission.location = (-250, 0)
    if kind not in ("teeth", "mouth"):  # skin and eyes: the photo
        uv = nodes.new("ShaderNodeUVMap")
        uv.uv_map = PORTRAIT_UV
        uv.location = (-750, 0)
        photo = nodes.new("ShaderNodeTexImage")
        photo.name = photo.label = "Revive portrait photo"
        photo.image = photo_image(head)
        photo.extension = "EXTEND"
        photo.location = (-550, 0)
        links.new(uv.outputs["UV"], photo.inputs["Vector"])
        links.new(photo.outputs["Color"], emission.inputs["Color"])
        border = nodes.new("ShaderNodeAttribute")
        border.attribute_name = BORDER_ATTRIBUTE
        border.location = (-250, 250)
        transparent = nodes.new("ShaderNodeBsdfTransparent")
        transparent.location = (-250, -150)
        mix = nodes.new("ShaderNodeMixShader")
        mix.location = (-50, 0)
        links.new(border.outputs["Fac"], mix.inputs["Fac"])
        links.new(transparent.outputs["BSDF"], mix.inputs[1])
        links.new(emission.outputs["Emission"], mix.inputs[2])
        links.new(mix.outputs["Shader"], output.inputs["Surface"])
        if hasattr(material, "surface_render_method"):  # EEVEE 4.2+: blend the border
            material.surface_render_method = "BLENDED"
        elif hasattr(material, "blend_method"):
            material.blend_method = "BLEND"
    else:
        emission.inputs["Color"].default_value = (*(MOUTH_GLOW if kind == "mouth"
                                                    else TEETH_GLOW), 1.0)
        links.new(emission.outputs["Emission"], output.inputs["Surface"])
    material["revive_kind"] = kind
    material.diffuse_color = studio.diffuse_color if studio is not None else (0.8, 0.6, 0.5, 1)
    return material
