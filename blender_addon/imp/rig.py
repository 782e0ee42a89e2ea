"""The face control rig: one slider per shape key, with drivers, so the face poses by hand.

"Revive Face Controls" is an empty in front of the face, parented to the head's pivot. It holds
a custom property for every ARKit shape key of the head (0..1) and two for the gaze
(``gazeYaw`` and ``gazePitch``, degrees). Each shape key's value is driven by its property;
the eye-look keys, when the avatar has them, also follow the gaze:

    eyeLookOutLeft = clamp(eyeLookOutLeft_control + max(0, gazeYaw) / 30, 0, 1)

and likewise for In/Up/Down of both eyes (positive yaw looks toward the avatar's left, +X;
positive pitch looks down, as in ``revive_core.take.animate``). A take animates these properties,
never the shape keys themselves (drivers would override that), so an artist can pose the face
with the sliders, keyframe them, or edit the take's layers (see ``stage.performance``). Every driver
is a "simple expression": it runs without Python, also where scripts are not trusted.

Functions
---------
add_face_controls   make the controls object and the drivers for a head
find_controls       the controls object of a head, or None
control_groups      the controls of a head grouped for display (jaw and mouth, eyes, ...)
"""
from __future__ import annotations

import math

import bpy
from mathutils import Vector

from .portrait import PORTRAIT_KEY

__all__ = ["CONTROLS_NAME", "GAZE_FULL_DEG", "GAZE_PROPERTIES", "add_face_controls",
           "control_groups", "find_controls"]

CONTROLS_NAME = "Revive Face Controls"
PROP_CONTROLS = "revive_face_controls"  # on the controls object: the head's name
GAZE_PROPERTIES = ("gazeYaw", "gazePitch")
GAZE_FULL_DEG = 30.0  # an eye-look shape at 1 turns the eye about this far
GAZE_LIMIT_DEG = 45.0
# eye-look key -> (gaze property, sign): the key opens when sign * gaze is positive
_GAZE_TERMS = {
    "eyeLookOutLeft": ("gazeYaw", 1.0), "eyeLookInLeft": ("gazeYaw", -1.0),
    "eyeLookInRight": ("gazeYaw", 1.0), "eyeLookOutRight": ("gazeYaw", -1.0),
    "eyeLookDownLeft": ("gazePitch", 1.0), "eyeLookDownRight": ("gazePitch", 1.0),
    "eyeLookUpLeft": ("gazePitch", -1.0), "eyeLookUpRight": ("gazePitch", -1.0),
}
_GROUPS = (("Jaw and mouth", ("jaw", "mouth")), ("Eyes", ("eye",)), ("Brows", ("brow",)),
           ("Cheeks and nose", ("cheek", "nose")), ("Tongue", ("tongue",)))


def add_face_controls(head: bpy.types.Object, pivot: bpy.types.Object) -> bpy.types.Object:
    """Make "Revive Face Controls" for ``head`` and drive each of its shape keys from it.

    Parameters
    ----------
    head : bpy.types.Object
        A mesh with shape keys (the first, "Basis", is the rest shape and is not driven).
    pivot : bpy.types.Object
        The object the head turns with; the controls are parented to it.

    Returns
    -------
    bpy.types.Object
        The controls: an empty with one float property (0..1) per driven key and the gaze
        properties (degrees, -45..45).
    """
    keys = head.data.shape_keys
    controls = bpy.data.objects.new(CONTROLS_NAME, None)
    controls.empty_display_type = "CIRCLE"
    controls[PROP_CONTROLS] = head.name
    for collection in head.users_collection:
        collection.objects.link(controls)
    controls.parent = pivot
    bounds = head.get("revive_face_bounds")
    if bounds is not None:  # a ring above the brow, in front of the face
        controls.empty_display_size = 0.15 * (bounds[3] - bounds[0])
        above = Vector((0.5 * (bounds[0] + bounds[3]), bounds[1] - 0.03, bounds[5] + 0.02))
        controls.location = above - pivot.location  # the pivot is unrotated when it is made
        controls.rotation_euler = (math.pi / 2.0, 0.0, 0.0)  # facing the front (-Y)

    for block in keys.key_blocks[1:]:
        if block.name == PORTRAIT_KEY:  # the photo's own expression, set by the portrait mode
            continue
        _add_property(controls, block.name, 0.0, 0.0, 1.0,
                      f"Drives the {block.name} shape key (0..1)")
    _add_property(controls, "gazeYaw", 0.0, -GAZE_LIMIT_DEG, GAZE_LIMIT_DEG,
                  "Eyes turned toward the avatar's left (+) or right (-), degrees")
    _add_property(controls, "gazePitch", 0.0, -GAZE_LIMIT_DEG, GAZE_LIMIT_DEG,
                  "Eyes turned down (+) or up (-), degrees")

    for block in keys.key_blocks[1:]:
        if block.name in controls:
            _drive(block, controls)
    return controls


def find_controls(head: bpy.types.Object) -> bpy.types.Object | None:
    """The "Revive Face Controls" made for ``head``, or None."""
    pivot = head.parent if head.parent is not None else head
    for obj in pivot.children:
        if obj.get(PROP_CONTROLS) == head.name:
            return obj
    return None


def control_groups(controls: bpy.types.Object) -> list[tuple[str, list[str]]]:
    """The controls' property names grouped for display: [(title, names), ...].

    Names that fit no group land in "Other"; gaze properties go with the eyes.
    """
    names = [n for n in controls.keys() if isinstance(controls[n], float)]
    groups: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    for title, prefixes in _GROUPS:
        members = [n for n in names if n.startswith(prefixes)]
        if title == "Eyes":
            members += [n for n in GAZE_PROPERTIES if n in names]
        if members:
            groups.append((title, members))
            placed.update(members)
    rest = [n for n in names if n not in placed]
    if rest:
        groups.append(("Other", rest))
    return groups


def _add_property(obj: bpy.types.Object, name: str, value: float, low: float, high: float,
                  description: str) -> None:
    obj[name] = float(value)
    obj.id_properties_ui(name).update(min=low, max=high, soft_min=low, soft_max=high,
                                      default=float(value), description=description)


def _drive(block: bpy.types.ShapeKey, controls: bpy.types.Object) -> None:
    block.driver_remove("value")
    driver = block.driver_add("value").driver
    driver.type = "SCRIPTED"
    _variable(driver, "v", controls, block.name)
    gaze = _GAZE_TERMS.get(block.name)
    if gaze is None:
        driver.expression = "v"
        return
    prop, sign = gaze
    _variable(driver, "g", controls, prop)
    driver.expression = f"clamp(v + max(0.0, {sign:g} * g) / {GAZE_FULL_DEG:g}, 0.0, 1.0)"


def _variable(driver: bpy.types.Driver, name: str, controls: bpy.types.Object,
              prop: str) -> None:
    variable = driver.variables.new()
    variable.name = name
    variable.type = "SINGLE_PROP"
    target = variable.targets[0]
    target.id_type = "OBJECT"
    target.id = controls
    target.data_path = f'["{_escape(prop)}"]'


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
