"""Building a Revive scene in Blender: the head, its animation, the camera, lights and label.

No user interface here (see ``ui.py``) and no render settings (see ``render_settings.py``).
Everything is plain functions over ``bpy`` data, so the add-on's operators and the headless
batch entry (``batch.py``) build exactly the same scene.

Axes: Revive's formats use glTF's axes (+Y up, the face looks toward +Z, metres); Blender is
Z-up, so every point is converted with (x, y, z) -> (x, -z, y) and the face looks toward -Y.

Functions
---------
import_avatar   build the textured mesh with ARKit-named shape keys under a "Revive Head" pivot
apply_take      keyframe a take's blendshapes and head rotation, set fps and frame range, add audio
setup_stage     camera framing the face, three-point lighting, dark world, "AI-generated" label
find_head       the Revive head mesh belonging to an object (itself, its child or its parent)
fit_label       re-place the label after the render resolution changed
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

from .revive_formats import Avatar, ReviveError, Take
from .revive_formats.take import wav_bytes

__all__ = [
    "LABEL_TEXT",
    "PIVOT_NAME",
    "apply_take",
    "check_resolution",
    "find_head",
    "fit_label",
    "import_avatar",
    "setup_stage",
    "to_blender",
]

PIVOT_NAME = "Revive Head"
PIVOT_DROP = 0.4  # the neck pivot: the centroid lowered by this share of the head's height
LABEL_TEXT = "AI-generated"
LABEL_HEIGHT = 0.035  # of the frame height
SOUND_STRIP_NAME = "Revive voice"
# Custom properties that mark what Revive made, so a second call replaces rather than stacks.
PROP_AVATAR = "revive_avatar"
PROP_STAGE = "revive_stage"
FRAMINGS = {"close-up": 1.2, "medium": 1.9}  # frame size as a multiple of the face's extent


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


# --- The head --------------------------------------------------------------------------------

def import_avatar(avatar: Avatar, *, name: str | None = None,
                  scene: bpy.types.Scene | None = None) -> bpy.types.Object:
    """Build ``avatar`` as a textured mesh with one shape key per blendshape.

    The mesh is parented to an empty named "Revive Head" placed near the neck (the centroid
    lowered by 40 % of the mesh's height), the pivot that ``apply_take`` rotates.

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
        The mesh object: shape keys "Basis" plus the avatar's ARKit names, a Principled BSDF
        material with the albedo texture, and custom properties ``revive_avatar`` (the
        avatar's name), ``revive_model`` and ``revive_consent`` (the consent record as JSON).
    """
    scene = scene or bpy.context.scene
    name = name or avatar.name or "Revive avatar"
    vertices = to_blender(avatar.vertices_m)
    faces = np.asarray(avatar.faces, dtype=np.int32)
    v, f = vertices.shape[0], faces.shape[0]

    # Mesh: vertices, one loop per triangle corner, triangles.
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(v)
    mesh.vertices.foreach_set("co", vertices.ravel())
    mesh.loops.add(3 * f)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(f)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * f, 3, dtype=np.int32))
    if not mesh.polygons[0].bl_rna.properties["loop_total"].is_readonly:  # Blender < 4.0
        mesh.polygons.foreach_set("loop_total", np.full(f, 3, dtype=np.int32))
    uv_layer = mesh.uv_layers.new(name="UVMap")
    uvs = np.asarray(avatar.uvs, dtype=np.float32)[np.asarray(avatar.uv_faces).ravel()]
    uv_layer.data.foreach_set("uv", uvs.ravel())
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    else:
        mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    if len(mesh.vertices) != v:
        raise ReviveError(f"The avatar {avatar.name!r} has a mesh Blender could not build "
                          f"({v} vertices became {len(mesh.vertices)}).",
                          "Write the avatar again with Revive.")
    mesh.materials.append(_skin_material(avatar, name))

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
    # height (as in revive_core.preview, so previews and renders move alike).
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
    return obj


def _skin_material(avatar: Avatar, name: str) -> bpy.types.Material:
    """A Principled BSDF skin: the albedo texture, roughness 0.5, a little subsurface."""
    image = bpy.data.images.new(f"{name} albedo", 8, 8)
    image.pack(data=avatar.albedo_png, data_len=len(avatar.albedo_png))
    image.source = "FILE"
    image.colorspace_settings.name = "sRGB"

    material = bpy.data.materials.new(f"{name} skin")
    if material.node_tree is None:  # before 5.0 node trees were optional
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = next(n for n in nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    texture = nodes.new("ShaderNodeTexImage")
    texture.name = texture.label = "Revive albedo"
    texture.image = image
    texture.location = (bsdf.location.x - 350, bsdf.location.y)
    links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    _set_input(bsdf, ("Roughness",), 0.5)
    _set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.08)
    _set_input(bsdf, ("Subsurface Radius",), (1.0, 0.35, 0.2))
    _set_input(bsdf, ("Subsurface Scale",), 0.006)  # metres: skin scatters a few millimetres
    material.diffuse_color = (0.8, 0.62, 0.52, 1.0)  # viewport / Workbench colour
    return material


def _set_input(node: bpy.types.Node, names: tuple[str, ...], value) -> None:
    for input_name in names:
        socket = node.inputs.get(input_name)
        if socket is not None:
            socket.default_value = value
            return


def find_head(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The Revive head mesh for ``obj``: itself, its Revive parent's mesh, or its mesh child."""
    if obj is None:
        return None
    if obj.type == "MESH" and PROP_AVATAR in obj and obj.data.shape_keys is not None:
        return obj
    if obj.parent is not None and obj.parent.type == "MESH":
        return find_head(obj.parent)
    for child in obj.children:
        if child.type == "MESH" and PROP_AVATAR in child:
            return child
    return None


# --- The performance -------------------------------------------------------------------------

def apply_take(obj: bpy.types.Object, take: Take, *, audio_path: str | os.PathLike | None = None,
               scene: bpy.types.Scene | None = None) -> None:
    """Animate the head ``obj`` with ``take``: shape keys, head rotation, fps, range and audio.

    Frame i of the take (0-based) is Blender frame i + 1. Earlier animation on the head and an
    earlier Revive sound strip are replaced.

    Parameters
    ----------
    obj : bpy.types.Object
        A head made by ``import_avatar``.
    take : Take
        The performance (read with ``read_take``).
    audio_path : path, optional
        Where to write the take's audio as a WAV file for the sound strip (Blender plays sound
        from files); the strip then refers to that file. By default the audio goes through a
        temporary file and is packed into the .blend, so nothing is left behind.
    scene : bpy.types.Scene, optional
        Scene whose fps, frame range and sound strip are set; the context's scene by default.

    Notes
    -----
    Head rotation [pitch, yaw, roll] in degrees turns about Revive's X, Y and Z axes
    (right-handed), applied roll first, then pitch, then yaw. In Blender's axes this is an
    Euler rotation in "YXZ" order with x = pitch, y = -roll, z = yaw, keyed on the
    "Revive Head" pivot (on the mesh itself when it has no such parent).
    """
    scene = scene or bpy.context.scene
    head = find_head(obj)
    if head is None:
        raise ReviveError(f"{obj.name if obj else 'Nothing'} is not a Revive head.",
                          "Select a head imported with Revive > Import Avatar first.")
    key = head.data.shape_keys
    n = take.frame_count
    frames = np.arange(1, n + 1, dtype=np.float32)

    # Blendshapes: one F-curve per shape key the take drives.
    driven = [s for s in take.blendshape_names if s in key.key_blocks]
    missing = [s for s in take.blendshape_names if s not in key.key_blocks]
    if take.blendshape_names and not driven:
        raise ReviveError(f"The take drives none of the blendshapes of {head.name!r} "
                          f"(it drives {', '.join(take.blendshape_names[:4])}...).",
                          "Make the take for this avatar, or import the avatar it was made for.")
    if missing:
        print(f"Revive: the avatar has no shape keys for {len(missing)} of the take's "
              f"blendshapes ({', '.join(missing[:6])}); they are left out.")
    made_for = (take.avatar or {}).get("name")
    if made_for and made_for != head.get(PROP_AVATAR):
        print(f"Revive: note: this take was made for the avatar {made_for!r}, "
              f"not {head.get(PROP_AVATAR)!r}.")
    for block in key.key_blocks[1:]:
        block.value = 0.0
    curves = _new_action(key, f"{head.name} take", "KEY")
    for name in driven:
        values = take.curve(name).astype(np.float32)
        _write_curve(curves, f'key_blocks["{_escape(name)}"].value', 0, frames, values, name)

    # Head rotation on the pivot (or on the mesh itself).
    target = head.parent if (head.parent is not None and PROP_AVATAR in head.parent) else head
    target.rotation_mode = "YXZ"
    radians = np.radians(np.asarray(take.head_rotation_deg, dtype=np.float64))
    euler = np.stack([radians[:, 0], -radians[:, 2], radians[:, 1]], axis=1).astype(np.float32)
    curves = _new_action(target, f"{head.name} head motion", "OBJECT")
    for axis in range(3):
        _write_curve(curves, "rotation_euler", axis, frames, euler[:, axis], "Head rotation")

    # Timing: fps (fractional rates through fps_base), frames 1..N.
    fps, fps_base = _fps(take.fps)
    scene.render.fps, scene.render.fps_base = fps, fps_base
    scene.frame_start, scene.frame_end = 1, n
    scene.frame_set(1)

    _set_sound(scene, take, audio_path)
    scene["revive_take_text"] = take.text
    scene["revive_take_language"] = take.language
    head["revive_take_frames"] = n


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _new_action(datablock: bpy.types.ID, name: str, id_type: str):
    """A fresh action on ``datablock``; returns the F-curve collection to add curves to.

    Blender 4.4+ (and only that from 5.0 on) keeps F-curves in a channelbag per action slot;
    older versions keep them on the action itself.
    """
    if datablock.animation_data is not None and datablock.animation_data.action is not None:
        old = datablock.animation_data.action
        datablock.animation_data.action = None
        if old.users == 0:
            bpy.data.actions.remove(old)
    action = bpy.data.actions.new(name)
    animation_data = datablock.animation_data or datablock.animation_data_create()
    if not hasattr(action, "slots"):  # Blender < 4.4: one flat list of F-curves
        animation_data.action = action
        return action.fcurves
    from bpy_extras.anim_utils import action_ensure_channelbag_for_slot

    slot = action.slots.new(id_type=id_type, name=datablock.name)
    animation_data.action = action
    animation_data.action_slot = slot
    return action_ensure_channelbag_for_slot(action, slot).fcurves


_LINEAR = None


def _write_curve(curves, data_path: str, index: int, frames: np.ndarray, values: np.ndarray,
                 group: str) -> bpy.types.FCurve:
    """One F-curve with a linear key on every frame, written in bulk."""
    global _LINEAR
    if _LINEAR is None:
        _LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
    curve = curves.new(data_path=data_path, index=index)
    points = curve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    points.foreach_set("interpolation", np.full(len(frames), _LINEAR, dtype=np.int32))
    curve.update()
    return curve


def _fps(rate: float) -> tuple[int, float]:
    """Blender's integer fps and fps_base for a rate: 25 -> (25, 1.0), 29.97 -> (30, 1.001)."""
    if abs(rate - round(rate)) < 1e-6:
        return int(round(rate)), 1.0
    fps = int(math.ceil(rate))
    return fps, fps / rate


def _set_sound(scene: bpy.types.Scene, take: Take, audio_path) -> None:
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 renamed it
    for strip in [s for s in strips if s.name.startswith(SOUND_STRIP_NAME)]:
        sound = getattr(strip, "sound", None)
        strips.remove(strip)
        if sound is not None and sound.users == 0:
            bpy.data.sounds.remove(sound)
    data = wav_bytes(take.audio, take.sample_rate)
    if audio_path is not None:
        path = Path(audio_path).resolve()
        if not (path.is_file() and path.read_bytes() == data):
            from .revive_formats.storage import atomic_write_bytes
            atomic_write_bytes(path, data)
        strips.new_sound(SOUND_STRIP_NAME, str(path), channel=1, frame_start=1)
        return
    # Through a temporary file, then packed into the .blend.
    with tempfile.TemporaryDirectory(prefix="revive-audio-") as folder:
        path = Path(folder) / "voice.wav"
        path.write_bytes(data)
        strip = strips.new_sound(SOUND_STRIP_NAME, str(path), channel=1, frame_start=1)
        strip.sound.pack()
        strip.sound.filepath = "//revive_voice.wav"


# --- Camera, lights, label -------------------------------------------------------------------

def setup_stage(scene: bpy.types.Scene, obj: bpy.types.Object, *,
                resolution: tuple[int, int] = (1280, 720), framing: str = "close-up",
                visible_label: bool = True) -> bpy.types.Object:
    """Add a camera framing the face, three-point lighting, a dark world and the label.

    Calling it again replaces the previous stage.

    Parameters
    ----------
    scene : bpy.types.Scene
    obj : bpy.types.Object
        The head made by ``import_avatar``.
    resolution : (int, int)
        Render width and height in pixels; the framing depends on the aspect ratio.
    framing : {"close-up", "medium"}
        "close-up" fills the frame with the face, "medium" leaves room around the head.
    visible_label : bool
        Add the visible "AI-generated" mark in the lower-right corner (default). Revive's
        videos carry it unless the person rendering turns it off knowingly.

    Returns
    -------
    bpy.types.Object
        The camera, also made the scene's camera.
    """
    head = find_head(obj)
    if head is None:
        raise ReviveError(f"{obj.name if obj else 'Nothing'} is not a Revive head.",
                          "Import an avatar with Revive first.")
    if framing not in FRAMINGS:
        raise ReviveError(f"framing={framing!r} is not one of {', '.join(FRAMINGS)}.")
    width, height = check_resolution(resolution)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    _remove_stage(scene)

    # What to frame: the face region if the avatar names one, else the whole mesh.
    low, high = _face_bounds(head)
    centre = (low + high) / 2.0
    size = high - low
    extent_w, extent_h = FRAMINGS[framing] * size[0], FRAMINGS[framing] * size[2]

    # Camera: 50 mm on a 36 mm sensor, in front of the face (at -Y), looking along +Y.
    camera_data = bpy.data.cameras.new("Revive camera")
    camera_data.lens, camera_data.sensor_width, camera_data.sensor_fit = 50.0, 36.0, "AUTO"
    camera = _stage_object(scene, "Revive camera", camera_data)
    half_w, half_h = _half_view(camera_data, scene)  # half the view per metre of distance
    distance = max(extent_w / 2.0 / half_w, extent_h / 2.0 / half_h)
    front = float(low[1])  # the face's front (most negative Y)
    camera.location = (centre[0], front - distance, centre[2])
    camera.rotation_euler = (math.pi / 2.0, 0.0, 0.0)  # from looking down -Z to looking along +Y
    camera_data.clip_start = 0.01
    camera_data.clip_end = max(100.0, 10.0 * distance)
    scene.camera = camera

    # Three-point lighting, sized to the head; energy grows with distance squared.
    target = Vector(centre.tolist())
    reach = max(float(size.max()), 0.05) * 4.0
    for name, azimuth, elevation, power, light_size in (
            ("Revive key light", -40.0, 30.0, 20.0, 0.6),
            ("Revive fill light", 45.0, 10.0, 7.0, 1.0),
            ("Revive rim light", 160.0, 45.0, 50.0, 0.4)):
        light_data = bpy.data.lights.new(name, type="AREA")
        light_data.energy = power * reach ** 2
        light_data.size = light_size * reach / 2.0
        light = _stage_object(scene, name, light_data)
        a, e = math.radians(azimuth), math.radians(elevation)
        # Azimuth 0 is in front of the face (-Y), positive toward +X.
        offset = Vector((math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)))
        light.location = target + reach * offset
        light.rotation_euler = (target - light.location).to_track_quat("-Z", "Y").to_euler()

    _dark_world(scene)
    # The albedo is a photograph: "Standard" shows its colours as they are (AgX washes skin out).
    scene.view_settings.view_transform = "Standard"
    if visible_label:
        _add_label(scene, camera)
    return camera


def check_resolution(resolution) -> tuple[int, int]:
    """(width, height) as ints, or a ReviveError unless both are even and 16 to 8192."""
    try:
        width, height = (int(x) for x in resolution)
    except (TypeError, ValueError):
        raise ReviveError(f"resolution={resolution!r} must be two integers (width, "
                          "height).") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192) or width % 2 or height % 2:
        raise ReviveError(f"resolution={width}x{height} must be even numbers from 16 to 8192.",
                          "H.264 video needs even sizes, e.g. 1280x720 or 1080x1080.")
    return width, height


def _face_bounds(head: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """World-space bounds (low, high) of the face at rest (the pivot's rotation ignored)."""
    bounds = head.get("revive_face_bounds")
    if bounds is not None and len(bounds) == 6:
        low, high = np.array(bounds[:3]), np.array(bounds[3:])
    else:
        co = np.empty(len(head.data.vertices) * 3, dtype=np.float32)
        head.data.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3)
        low, high = co.min(axis=0), co.max(axis=0)
    matrix = head.matrix_world
    if head.parent is not None:
        matrix = (Matrix.Translation(head.parent.matrix_world.translation)
                  @ head.matrix_parent_inverse @ head.matrix_basis)
    corners = np.array([matrix @ Vector((x, y, z)) for x in (low[0], high[0])
                        for y in (low[1], high[1]) for z in (low[2], high[2])])
    return corners.min(axis=0), corners.max(axis=0)


def _half_view(camera_data: bpy.types.Camera, scene: bpy.types.Scene) -> tuple[float, float]:
    """Half the visible width and height at one metre from the camera."""
    corners = [Vector(c) for c in camera_data.view_frame(scene=scene)]
    depth = abs(corners[0].z)
    half_w = max(abs(c.x) for c in corners) / depth
    half_h = max(abs(c.y) for c in corners) / depth
    return half_w, half_h


def _stage_object(scene: bpy.types.Scene, name: str, data) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, data)
    obj[PROP_STAGE] = True
    scene.collection.objects.link(obj)
    return obj


def _remove_stage(scene: bpy.types.Scene) -> None:
    for obj in [o for o in scene.objects if o.get(PROP_STAGE)]:
        data = obj.data
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            for collection in (bpy.data.cameras, bpy.data.lights, bpy.data.curves):
                if collection.get(data.name) == data:
                    collection.remove(data)
                    break


def _dark_world(scene: bpy.types.Scene) -> None:
    world = bpy.data.worlds.get("Revive world") or bpy.data.worlds.new("Revive world")
    world.color = (0.03, 0.03, 0.03)
    if world.node_tree is None:  # before 5.0 node trees were optional
        world.use_nodes = True
    background = next((n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground"),
                      None)
    if background is None:
        background = world.node_tree.nodes.new("ShaderNodeBackground")
        output = next((n for n in world.node_tree.nodes
                       if n.bl_idname == "ShaderNodeOutputWorld"), None)
        output = output or world.node_tree.nodes.new("ShaderNodeOutputWorld")
        world.node_tree.links.new(background.outputs["Background"], output.inputs["Surface"])
    background.inputs["Color"].default_value = (0.03, 0.03, 0.03, 1.0)
    background.inputs["Strength"].default_value = 1.0
    scene.world = world


def _add_label(scene: bpy.types.Scene, camera: bpy.types.Object) -> bpy.types.Object:
    """The visible "AI-generated" mark: emissive text parented to the camera, lower right."""
    curve = bpy.data.curves.new("Revive label", type="FONT")
    curve.body = LABEL_TEXT
    curve.align_x, curve.align_y = "RIGHT", "BOTTOM"
    label = _stage_object(scene, "Revive label", curve)
    label["revive_label"] = True
    label.parent = camera
    material = bpy.data.materials.get("Revive label") or bpy.data.materials.new("Revive label")
    if material.node_tree is None:
        material.use_nodes = True
    nodes = material.node_tree.nodes
    for node in list(nodes):
        nodes.remove(node)
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    emission.inputs["Strength"].default_value = 3.0
    output = nodes.new("ShaderNodeOutputMaterial")
    material.node_tree.links.new(emission.outputs["Emission"], output.inputs["Surface"])
    material.diffuse_color = (1.0, 1.0, 1.0, 1.0)
    curve.materials.append(material)
    # Seen by the camera only: no shadows, no reflections, no light on the scene.
    for attribute in ("visible_shadow", "visible_diffuse", "visible_glossy",
                      "visible_transmission", "visible_volume_scatter"):
        if hasattr(label, attribute):
            setattr(label, attribute, False)
    fit_label(scene)
    return label


def fit_label(scene: bpy.types.Scene) -> None:
    """Place the label in the lower-right corner for the scene's current resolution."""
    camera = scene.camera
    if camera is None:
        return
    for label in [o for o in camera.children if o.get("revive_label")]:
        half_w, half_h = _half_view(camera.data, scene)
        depth = 0.1  # metres in front of the camera: nearer than anything in the scene
        height = 2.0 * half_h * depth
        margin = 0.03 * height
        label.data.size = LABEL_HEIGHT * height / 0.72  # cap height is about 0.72 em
        label.location = (half_w * depth - margin, -half_h * depth + margin, -depth)
        label.rotation_euler = (0.0, 0.0, 0.0)
