"""The stage around a Revive head: camera, lights, background and the "AI-generated" label.

Two modes:

- studio: an 85 mm camera framing the head from the front (``FRAMINGS``: the head from chin to
  crown fills about two thirds of the close-up's height; the neck never counts), three-point
  studio light or a light matched to the photo's estimated lighting (``LIGHTS``), a
  background (``BACKGROUNDS``): dark, light, transparent (the frames keep alpha; the MP4 shows
  black) or the portrait photo behind the head; Khronos PBR Neutral colour management (AgX or
  Filmic on older Blender), so lit skin rolls off into its highlights instead of clipping while
  keeping the photo's skin colour.
- portrait: the photo animated in place (see ``imp.portrait``): the photo's own camera, the photo
  as backdrop and face texture, the frame shaped like the photo; the head motion is played at
  ``PORTRAIT_HEAD_MOTION`` of its strength, so the photo moves as little as a face does.

Calling ``setup_stage`` again replaces the previous stage.

Functions
---------
setup_stage        camera, lights, background and label for a head
check_resolution   (width, height) as even ints from 16 to 8192, or a ReviveError
fit_label          re-place the label after the render resolution changed
light_estimate     the key direction, key and ambient colours of an avatar's lighting estimate
"""
from __future__ import annotations

import json
import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ..imp import portrait
from ..imp.head import PROP_HEAD_BOUNDS, find_head, to_blender
from ..imp.materials import cleared_node_tree
from ..revive_formats import ReviveError
from ..revive_formats.label import DEFAULT_POSITION, DEFAULT_SIZE, check_position_and_size
from .performance import set_head_motion

__all__ = ["BACKGROUNDS", "FRAMINGS", "LABEL_TEXT", "LIGHTS", "MODES", "PORTRAIT_HEAD_MOTION",
           "PROP_STAGE", "check_resolution", "fit_label", "light_estimate", "setup_stage"]

MODES = ("studio", "portrait")
# framing -> (share of the frame's height the head fills from chin to crown, frame centre raised
# above the head's centre by this share of the head's height)
FRAMINGS = {"close-up": (0.65, -0.05), "portrait": (0.48, -0.25), "shoulders": (0.36, -0.65)}
CAMERA_LENS_MM = 85.0  # a portrait lens: from about 0.9 m the face keeps its proportions
LIGHTS = ("studio", "photo")
BACKGROUNDS = {"dark": 0.03, "light": 0.75, "transparent": 0.03, "photo": 0.03}
PORTRAIT_HEAD_MOTION = 0.5
# (view transform, look, exposure in stops), the first this Blender has wins. PBR Neutral keeps
# the texture's (the photo's) skin colour: render / photo about (1.0, 0.97, 0.94) on the cheeks,
# where AgX made skin ashen (0.90, 1.03, 1.08) even with its Punchy look.
STUDIO_VIEWS = (("Khronos PBR Neutral", "None", -0.3), ("AgX", "AgX - Punchy", 0.4),
                ("Filmic", "None", 0.4))
# Cycles' pixel filter in portrait mode, in pixels: 1.5 (the default) blurs the photo by about
# 2 grey levels on average; 0.5 keeps it within 1 while still smoothing moving edges.
PORTRAIT_FILTER_PX = 0.5
STUDIO_FILTER_PX = 1.5
LABEL_TEXT = "AI-generated"
PROP_STAGE = "revive_stage"
PROP_LIGHTING = "revive_lighting"  # on the head: the avatar's lighting estimate as JSON
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
_SH_DIRECTIONAL = 1.73  # |first band| / zeroth band of the radiance of a single distant light
# name, azimuth (0 = in front of the face, + toward +X), elevation, power, size
# (powers at exposure 0; a stronger rim light makes hair strands glow white)
_STUDIO_LIGHTS = (("Revive key light", -40.0, 30.0, 10.0, 0.6),
                  ("Revive fill light", 45.0, 10.0, 5.0, 1.0),
                  ("Revive rim light", 160.0, 45.0, 10.0, 0.4))


def setup_stage(scene: bpy.types.Scene, obj: bpy.types.Object, *, mode: str = "studio",
                resolution: tuple[int, int] = (1280, 720), framing: str = "close-up",
                light: str = "studio", background: str | None = None,
                visible_label: bool = True, label_position: str = DEFAULT_POSITION,
                label_size: float = DEFAULT_SIZE) -> bpy.types.Object:
    """Add a camera, lights, background and the label around the head ``obj``.

    Parameters
    ----------
    scene : bpy.types.Scene
    obj : bpy.types.Object
        The head made by ``import_avatar`` (or its pivot or controls).
    mode : {"studio", "portrait"}
        "portrait" needs an avatar built from a photo (it carries the photo and its camera).
    resolution : (int, int)
        Render width and height in pixels. Portrait mode keeps the photo's shape and size,
        shrunk to fit inside this size when it is larger.
    framing : {"close-up", "portrait", "shoulders"}
        Studio mode: the face fills the frame, the head with room around it, or the head and
        where the shoulders would be.
    light : {"studio", "photo"}
        Studio mode: three-point light, or one matched to the photo's estimated lighting when
        the avatar carries one (else three-point, with a note).
    background : {"dark", "light", "transparent", "photo"}, optional
        "dark" by default in studio mode, "photo" in portrait mode.
    visible_label : bool
        Add the visible "AI-generated" mark (default). Revive's videos carry it unless the
        person rendering turns it off knowingly.
    label_position : {"bottom-right", "bottom-left", "top-right", "top-left"}
        The mark's corner.
    label_size : float
        The mark's capital height as a share of the frame height (0.01 to 0.25).

    Returns
    -------
    bpy.types.Object
        The camera, also made the scene's camera.
    """
    head = find_head(obj)
    if head is None:
        raise ReviveError(f"{obj.name if obj else 'Nothing'} is not a Revive head.",
                          "Import an avatar with Revive first.")
    background = background or ("photo" if mode == "portrait" else "dark")
    for value, allowed, what in ((mode, MODES, "mode"), (framing, FRAMINGS, "framing"),
                                 (light, LIGHTS, "light"), (background, BACKGROUNDS, "background")):
        if value not in allowed:
            raise ReviveError(f"{what}={value!r} is not one of {', '.join(allowed)}.")
    width, height = check_resolution(resolution)
    if visible_label:
        check_position_and_size(label_position, label_size)
    photo = portrait.portrait_of(head)
    if (mode == "portrait" or background == "photo") and photo is None:
        raise ReviveError(f"The avatar {head.name!r} carries no portrait photo.",
                          "Portrait mode and the photo background need an avatar built from a "
                          "photo with `revive build`; use the studio mode or another background.")
    if mode == "portrait":
        width, height = portrait.fitted_resolution(photo, (width, height))
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    _remove_stage(scene)

    camera, distance = _add_camera(scene, head, photo if mode == "portrait" else None, framing)
    if photo is not None:
        portrait.use_portrait_look(head, mode == "portrait")
        set_head_motion(head, PORTRAIT_HEAD_MOTION if mode == "portrait" else 1.0)
    grey = (BACKGROUNDS[background],) * 3
    # Portrait mode needs no lights: the photo, on the head and behind it, is its own light.
    ambient = _add_lights(scene, head, light) if mode == "studio" else None
    _world(scene, seen=grey, ambient=ambient or grey)
    scene.render.film_transparent = background == "transparent"
    if background == "photo":
        _add_backdrop(scene, camera, portrait.photo_image(head), depth=3.0 * distance,
                      cover=mode == "studio")
    if hasattr(scene, "cycles"):
        scene.cycles.filter_width = PORTRAIT_FILTER_PX if mode == "portrait" else STUDIO_FILTER_PX
    _view_transform(scene, mode)
    scene[PROP_STAGE] = json.dumps({"mode": mode, "framing": framing, "light": light,
                                    "background": background})
    if visible_label:
        _add_label(scene, camera, label_position, float(label_size))
    return camera


def _view_transform(scene: bpy.types.Scene, mode: str) -> None:
    """Studio: the first of ``STUDIO_VIEWS`` this Blender has, so lit skin rolls off into
    highlights instead of clipping; portrait: "Standard", the photo's colours as they are."""
    view = scene.view_settings
    view.look = "None"
    view.exposure, view.gamma = 0.0, 1.0
    if mode == "portrait":
        view.view_transform = "Standard"
        return
    for name, look, exposure in STUDIO_VIEWS:
        try:
            view.view_transform = name
        except TypeError:  # not in this Blender
            continue
        try:
            view.look = look
        except TypeError:  # a build without that look
            pass
        view.exposure = exposure
        return


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


def light_estimate(lighting: dict,
                   camera_rotation=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Read a lighting estimate: where the main light comes from, its colour, the ambient.

    Two forms are understood, in the model's axes (+Y up, the face toward +Z) unless
    ``lighting["axes"] == "camera"`` (the photo's camera space, turned into the model's with
    ``camera_rotation``, the portrait's rotation vector):

    - ``{"direction": [x, y, z], "color": [r, g, b], "ambient": [r, g, b]}``: toward the light;
    - ``{"sh": [[r, g, b] * 9]}``: second-order spherical harmonics of the incoming radiance,
      real basis in the usual order (Y00, Y1-1 ~ y, Y10 ~ z, Y11 ~ x, then band 2); band 1
      gives the direction, its size against band 0 how directional the light is.

    Returns
    -------
    direction : np.ndarray [shape=(3,)]
        Unit vector toward the main light, model axes.
    key_rgb, ambient_rgb : np.ndarray [shape=(3,)]
        Colours, the brighter channel 1.
    directional : float
        0 (all ambient) to 1 (one distant light).

    Raises
    ------
    ReviveError
        When the estimate is in neither form.
    """
    if "direction" in lighting:
        direction = np.asarray(lighting["direction"], dtype=np.float64)
        key = np.asarray(lighting.get("color", (1.0, 1.0, 1.0)), dtype=np.float64)
        ambient = np.asarray(lighting.get("ambient", 0.25 * key), dtype=np.float64)
        directional = float(np.dot(key, _LUMINANCE)
                            / max(np.dot(key + ambient, _LUMINANCE), 1e-9))
    elif "sh" in lighting:
        sh = np.asarray(lighting["sh"], dtype=np.float64)
        if sh.ndim != 2 or sh.shape[0] < 4 or sh.shape[1] != 3:
            raise ReviveError(f"The lighting estimate's 'sh' has shape {sh.shape}; expected "
                              "(9, 3) spherical-harmonic RGB coefficients.")
        band1 = np.stack([sh[3], sh[1], sh[2]])  # (axis x/y/z, RGB)
        direction = band1 @ _LUMINANCE
        key = np.abs(band1.T @ (direction / max(np.linalg.norm(direction), 1e-9)))
        ambient = np.clip(sh[0], 0.0, None)
        directional = float(np.clip(np.linalg.norm(direction)
                                    / max(_SH_DIRECTIONAL * np.dot(ambient, _LUMINANCE), 1e-9),
                                    0.0, 1.0))
    else:
        raise ReviveError("The avatar's lighting estimate has neither 'direction' nor 'sh'.")
    if not np.all(np.isfinite(direction)) or np.linalg.norm(direction) < 1e-9:
        direction = np.array([0.0, 0.0, 1.0])  # no direction to speak of: light from the front
    direction = direction / np.linalg.norm(direction)
    if lighting.get("axes") == "camera" and camera_rotation is not None:
        direction = portrait.rotation_matrix(camera_rotation).T @ direction
    unit = [c / max(float(c.max()), 1e-9) if np.any(c > 0) else np.ones(3) for c in (key, ambient)]
    return direction, unit[0], unit[1], directional


def fit_label(scene: bpy.types.Scene) -> None:
    """Place the label in its corner (lower right by default) for the scene's resolution."""
    camera = scene.camera
    if camera is None:
        return
    for label in [o for o in camera.children if o.get("revive_label")]:
        half_w, half_h = _half_view(camera.data, scene)
        centre_x, centre_y = _shift_view(camera.data, scene)  # off centre when the lens shifts
        depth = 0.1  # metres in front of the camera: nearer than anything in the scene
        height = 2.0 * half_h * depth
        margin = 0.03 * height
        corner = label.get("revive_label_position", DEFAULT_POSITION)
        # The cap height is about 0.72 em.
        label.data.size = label.get("revive_label_size", DEFAULT_SIZE) * height / 0.72
        right, bottom = corner.endswith("right"), corner.startswith("bottom")
        label.data.align_x = "RIGHT" if right else "LEFT"
        label.data.align_y = "BOTTOM" if bottom else "TOP"
        x, y = half_w * depth - margin, half_h * depth - margin
        label.location = (centre_x * depth + (x if right else -x),
                          centre_y * depth + (-y if bottom else y), -depth)
        label.rotation_euler = (0.0, 0.0, 0.0)


# --- camera ----------------------------------------------------------------------------------

def _add_camera(scene: bpy.types.Scene, head: bpy.types.Object, photo: dict | None,
                framing: str) -> tuple[bpy.types.Object, float]:
    """The scene's camera: the photo's own (``photo``) or framing the face; and its distance
    to the face in metres."""
    camera_data = bpy.data.cameras.new("Revive camera")
    camera = _stage_object(scene, "Revive camera", camera_data)
    scene.camera = camera
    if photo is not None:
        matrix, lens = portrait.portrait_camera(photo)
        for attribute, value in lens.items():
            setattr(camera_data, attribute, value)
        camera.matrix_world = matrix
        distance = float(np.linalg.norm(photo["translation"]))
    else:
        distance = _frame_face(scene, head, camera, framing)
    camera_data.clip_start = 0.01
    camera_data.clip_end = max(100.0, 10.0 * distance)
    return camera, distance


def _frame_face(scene: bpy.types.Scene, head: bpy.types.Object, camera: bpy.types.Object,
                framing: str) -> float:
    """Point an 85 mm camera at the head from the front; return its distance to the face.

    The head from chin to crown (``PROP_HEAD_BOUNDS``; the neck and bust never count) fills
    the framing's share of the frame's height, centred on the face across; a frame narrower
    than the head is tall lets the head fill at most 90 % of its width.
    """
    camera_data = camera.data
    camera_data.lens, camera_data.sensor_width, camera_data.sensor_fit = (CAMERA_LENS_MM, 36.0,
                                                                          "AUTO")
    low, high = _face_bounds(head, PROP_HEAD_BOUNDS)
    face_low, face_high = _face_bounds(head)
    size = high - low
    fill, raise_by = FRAMINGS[framing]
    half_w, half_h = _half_view(camera_data, scene)  # half the view per metre of distance
    front = float(face_low[1])  # the face's front (most negative Y)
    # Frame the head at the depth of its middle, where its outline is.
    outline = max(size[2] / fill / 2.0 / half_h, size[0] / min(0.9, 1.3 * fill) / 2.0 / half_w)
    distance = max(outline - ((low[1] + high[1]) / 2.0 - front), 0.05)
    centre_x = (face_low[0] + face_high[0]) / 2.0
    centre_z = (low[2] + high[2]) / 2.0 + raise_by * size[2]
    camera.location = (centre_x, front - distance, centre_z)
    camera.rotation_euler = (math.pi / 2.0, 0.0, 0.0)  # from looking down -Z to along +Y
    return distance


def _face_bounds(head: bpy.types.Object,
                 prop: str = "revive_face_bounds") -> tuple[np.ndarray, np.ndarray]:
    """World-space bounds (low, high) of the face (or with ``prop=PROP_HEAD_BOUNDS`` the
    head from chin to crown) at rest, the pivot's rotation ignored."""
    bounds = head.get(prop, head.get("revive_face_bounds"))
    if bounds is not None and len(bounds) == 6:
        low, high = np.array(bounds[:3]), np.array(bounds[3:])
    else:
        co = np.empty(len(head.data.vertices) * 3, dtype=np.float32)
        head.data.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3)
        low, high = co.min(axis=0), co.max(axis=0)
    matrix = head.matrix_world
    if head.parent is not None:
        parent = head.parent
        # A pivot just made has no world matrix yet (until the depsgraph updates); its own
        # location is its world place unless it has a parent of its own.
        place = (parent.matrix_basis if parent.parent is None else parent.matrix_world)
        matrix = (Matrix.Translation(place.translation)
                  @ head.matrix_parent_inverse @ head.matrix_basis)
    corners = np.array([matrix @ Vector((x, y, z)) for x in (low[0], high[0])
                        for y in (low[1], high[1]) for z in (low[2], high[2])])
    return corners.min(axis=0), corners.max(axis=0)


def _half_view(camera_data: bpy.types.Camera, scene: bpy.types.Scene) -> tuple[float, float]:
    """Half the visible width and height at one metre from the camera (shift ignored)."""
    corners = [Vector(c) for c in camera_data.view_frame(scene=scene)]
    depth = abs(corners[0].z)
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    return (max(xs) - min(xs)) / 2.0 / depth, (max(ys) - min(ys)) / 2.0 / depth


def _shift_view(camera_data: bpy.types.Camera, scene: bpy.types.Scene) -> tuple[float, float]:
    """The centre of the view at one metre from the camera (non-zero when the lens shifts)."""
    corners = [Vector(c) for c in camera_data.view_frame(scene=scene)]
    depth = abs(corners[0].z)
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    return (max(xs) + min(xs)) / 2.0 / depth, (max(ys) + min(ys)) / 2.0 / depth


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
            for collection in (bpy.data.cameras, bpy.data.lights, bpy.data.curves,
                               bpy.data.meshes):
                if collection.get(data.name) == data:
                    collection.remove(data)
                    break


# --- lights ----------------------------------------------------------------------------------

def _add_lights(scene: bpy.types.Scene, head: bpy.types.Object,
                light: str) -> tuple[float, float, float] | None:
    """The studio's lights; the ambient colour the photo's light asks for, or None."""
    ambient = _add_photo_light(scene, head) if light == "photo" else None
    if ambient is None:
        if light == "photo":
            print("Revive: this avatar carries no lighting estimate from its photo; "
                  "using the three-point studio light.")
        _add_studio_lights(scene, head)
    return ambient


def _add_studio_lights(scene: bpy.types.Scene, head: bpy.types.Object) -> None:
    """Key, fill and rim area lights around the face, sized to it."""
    target, reach = _light_target(head)
    for name, azimuth, elevation, power, size in _STUDIO_LIGHTS:
        a, e = math.radians(azimuth), math.radians(elevation)
        offset = Vector((math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)))
        _area_light(scene, name, target, target + reach * offset, power * reach ** 2,
                    size * reach / 2.0, (1.0, 1.0, 1.0))


def _add_photo_light(scene: bpy.types.Scene,
                     head: bpy.types.Object) -> tuple[float, float, float] | None:
    """A key light as the photo's lighting estimate says; returns the ambient colour for the
    world, or None when the avatar carries no estimate."""
    raw = head.get(PROP_LIGHTING)
    if not raw:
        return None
    photo = portrait.portrait_of(head) or {}
    direction, key, ambient, directional = light_estimate(json.loads(raw),
                                                          photo.get("rotation"))
    target, reach = _light_target(head)
    toward = Vector(to_blender(direction).tolist())
    power = 15.0 * max(directional, 0.1)  # as the studio's key light
    _area_light(scene, "Revive photo light", target, target + reach * toward,
                power * reach ** 2, 0.5 * reach, tuple(key))
    return tuple(float(x) for x in (1.0 - directional) * 0.3 * ambient)


def _light_target(head: bpy.types.Object) -> tuple[Vector, float]:
    low, high = _face_bounds(head)
    return Vector(((low + high) / 2.0).tolist()), max(float((high - low).max()), 0.05) * 4.0


def _area_light(scene, name: str, target: Vector, location: Vector, energy: float, size: float,
                color) -> bpy.types.Object:
    light_data = bpy.data.lights.new(name, type="AREA")
    light_data.energy = energy
    light_data.size = size
    light_data.color = color
    light = _stage_object(scene, name, light_data)
    light.location = location
    light.rotation_euler = (target - location).to_track_quat("-Z", "Y").to_euler()
    return light


# --- background ------------------------------------------------------------------------------

def _world(scene: bpy.types.Scene, *, seen: tuple, ambient: tuple) -> None:
    """A plain world: the colour ``seen`` by the camera, ``ambient`` light on the head."""
    world = bpy.data.worlds.get("Revive world") or bpy.data.worlds.new("Revive world")
    world.color = seen
    tree = cleared_node_tree(world)
    nodes, links = tree.nodes, tree.links
    lighting = nodes.new("ShaderNodeBackground")
    lighting.inputs["Color"].default_value = (*ambient, 1.0)
    backdrop = nodes.new("ShaderNodeBackground")
    backdrop.inputs["Color"].default_value = (*seen, 1.0)
    path = nodes.new("ShaderNodeLightPath")
    mix = nodes.new("ShaderNodeMixShader")
    output = nodes.new("ShaderNodeOutputWorld")
    links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    links.new(lighting.outputs["Background"], mix.inputs[1])
    links.new(backdrop.outputs["Background"], mix.inputs[2])
    links.new(mix.outputs["Shader"], output.inputs["Surface"])
    scene.world = world


def _add_backdrop(scene: bpy.types.Scene, camera: bpy.types.Object, image: bpy.types.Image,
                  *, depth: float, cover: bool) -> bpy.types.Object:
    """The photo on a plane filling the camera's view at ``depth``, seen by the camera only.

    With ``cover`` the photo is cropped to the frame's shape (centred); otherwise it is
    stretched to the frame, which has the photo's shape in portrait mode.
    """
    corners = [Vector(c) for c in camera.data.view_frame(scene=scene)]  # TR, BR, BL, TL
    corners = [c * (depth / abs(c.z)) for c in corners]
    mesh = bpy.data.meshes.new("Revive backdrop")
    mesh.from_pydata([tuple(c) for c in corners], [], [(3, 2, 1, 0)])
    u0, u1, v0, v1 = 0.0, 1.0, 0.0, 1.0
    if cover and image is not None and image.size[0] and image.size[1]:
        frame = scene.render.resolution_x / scene.render.resolution_y
        photo = image.size[0] / image.size[1]
        if photo > frame:
            u0, u1 = 0.5 - frame / photo / 2.0, 0.5 + frame / photo / 2.0
        else:
            v0, v1 = 0.5 - photo / frame / 2.0, 0.5 + photo / frame / 2.0
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [u0, v1, u0, v0, u1, v0, u1, v1])  # TL, BL, BR, TR
    mesh.update()
    backdrop = _stage_object(scene, "Revive backdrop", mesh)
    backdrop.parent = camera

    material = bpy.data.materials.new("Revive backdrop")
    tree = cleared_node_tree(material)
    nodes, links = tree.nodes, tree.links
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    texture.extension = "EXTEND"
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    mesh.materials.append(material)
    _camera_only(backdrop)
    return backdrop


def _camera_only(obj: bpy.types.Object) -> None:
    """Seen by the camera only: no shadows, no reflections, no light on the scene."""
    for attribute in ("visible_shadow", "visible_diffuse", "visible_glossy",
                      "visible_transmission", "visible_volume_scatter"):
        if hasattr(obj, attribute):
            setattr(obj, attribute, False)


# --- label -----------------------------------------------------------------------------------

def _add_label(scene: bpy.types.Scene, camera: bpy.types.Object, position: str,
               size: float) -> bpy.types.Object:
    """The visible "AI-generated" mark: emissive text parented to the camera, in a corner."""
    curve = bpy.data.curves.new("Revive label", type="FONT")
    curve.body = LABEL_TEXT
    label = _stage_object(scene, "Revive label", curve)
    label["revive_label"] = True
    label["revive_label_position"], label["revive_label_size"] = position, size
    label.parent = camera
    material = bpy.data.materials.get("Revive label") or bpy.data.materials.new("Revive label")
    nodes = cleared_node_tree(material).nodes
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    emission.inputs["Strength"].default_value = 3.0
    output = nodes.new("ShaderNodeOutputMaterial")
    material.node_tree.links.new(emission.outputs["Emission"], output.inputs["Surface"])
    material.diffuse_color = (1.0, 1.0, 1.0, 1.0)
    curve.materials.append(material)
    _camera_only(label)
    fit_label(scene)
    return label
