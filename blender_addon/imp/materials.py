"""Materials of a Revive head: skin, eyes, teeth and mouth interior, chosen by region name.

Each polygon takes the region of its first triangle, the region most of that triangle's
corners belong to; each region name maps to one kind of material (``material_kind``): the
built-in model's regions are face, eye_left, eye_right and mouth_interior; ICT-FaceKit's split
each eye into eye_sclera_*, eye_iris_* and eye_pupil_*, and add teeth, gums_tongue, scalp and so
on. All are Principled BSDF materials an artist knows how to tune, set up for Cycles (the
scene is in metres):

=============  ==============================================================================
kind           material
=============  ==============================================================================
skin           the albedo texture; subsurface weight 0.2, radius (3.6, 1.4, 0.8) mm scaled to
               the head's size, random walk (skin); roughness 0.45 varying by +-0.05 over
               a few millimetres; IOR 1.4. Where the head carries hair (the mesh attribute
               ``revive_hair``, its hair weights), matte: roughness 0.85, a fifth of the
               specular, no subsurface (painted hair shone like a bald crown in the light)
eye            a whole eyeball (models that don't split it): the albedo, roughness 0.05, a clear
               coat (wet cornea)
sclera         the white of the eye: the albedo, roughness 0.25, a little subsurface
iris           the iris under the cornea: the albedo, roughness 0.03 and a clear coat
               (roughness 0.02, IOR 1.376), so the eye holds a catch-light
pupil          as the iris, but black whatever the texture says (light that enters the pupil
               does not come back)
teeth          ivory, roughness 0.25, a little subsurface
mouth          the albedo darkened toward deep red, roughness 0.35 (wet), subsurface
hair           a long-hair shell: the albedo, roughness 0.5, a soft sheen, no subsurface
=============  ==============================================================================

Functions
---------
material_kind     region name -> one of ``KINDS``
assign_materials  make the materials a mesh's regions need and give each polygon its own
face_regions      the region of each triangle (majority of its corners)
"""
from __future__ import annotations

import bpy
import numpy as np

from ..revive_formats import Avatar
from ..revive_formats.polygons import first_triangles

__all__ = ["HAIR_ATTRIBUTE", "KINDS", "REFERENCE_HEAD_M", "SKIN_ROUGHNESS", "SKIN_SSS_RADIUS_MM",
           "SKIN_SUBSURFACE", "assign_materials", "cleared_node_tree", "face_regions",
           "material_kind", "set_input"]

KINDS = ("skin", "eye", "sclera", "iris", "pupil", "teeth", "mouth", "hair")
_PREFIX = {"eye": ("eye",), "teeth": ("teeth", "tooth"),
           "mouth": ("mouth", "tongue", "gum", "oral")}
_NOT_EYE = ("lash", "brow", "lid")
_IRIS = ("iris", "cornea")
SKIN_ROUGHNESS = 0.45
SKIN_SUBSURFACE = 0.2
SKIN_SSS_RADIUS_MM = (3.6, 1.4, 0.8)  # red scatters deepest (Jensen et al.'s skin, rounded)
HAIR_ATTRIBUTE = "revive_hair"  # per vertex: the avatar's hair weights, 0..1
HAIR_ROUGHNESS, HAIR_SPECULAR = 0.85, 0.1  # the skin material where it carries painted hair
REFERENCE_HEAD_M = 0.23  # chin to crown of an adult head: the skin's scattering is sized to it


def material_kind(region: str) -> str:
    """The material kind for a region name: "eye", "sclera", "iris", "pupil", "teeth", "mouth",
    "hair", or "skin" for the rest.

    Examples
    --------
    >>> [material_kind(r) for r in ("face", "eye_left", "Teeth_upper", "mouth_interior",
    ...                             "eyelashes", "eye_sclera_left", "eye_pupil_right", "hair")]
    ['skin', 'eye', 'teeth', 'mouth', 'skin', 'sclera', 'pupil', 'hair']
    """
    low = region.lower()
    if low == "hair":
        return "hair"
    for kind in ("teeth", "mouth", "eye"):
        if any(word in low for word in _PREFIX[kind]):
            if kind == "eye" and any(word in low for word in _NOT_EYE):
                continue
            if kind == "eye" and "pupil" in low:
                return "pupil"
            if kind == "eye" and any(word in low for word in _IRIS):
                return "iris"
            if kind == "eye" and "sclera" in low:
                return "sclera"
            return kind
    return "skin"


def face_regions(faces: np.ndarray, vertex_regions: np.ndarray) -> np.ndarray:
    """The region of each triangle: the one at least two of its corners share, else corner 0's.

    Parameters
    ----------
    faces : np.ndarray [shape=(F, 3), dtype=int]
    vertex_regions : np.ndarray [shape=(V,), dtype=int]

    Returns
    -------
    np.ndarray [shape=(F,), dtype=int]
    """
    corners = np.asarray(vertex_regions)[np.asarray(faces)]
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return np.where((b == c) & (a != b), b, a)


def assign_materials(mesh: bpy.types.Mesh, avatar: Avatar, name: str, *,
                     head_height_m: float | None = None) -> dict[str, int]:
    """Add one material per kind the avatar's regions need and set each polygon's index.

    A polygon takes the material of its first triangle (``mesh`` holds the avatar's polygons,
    as ``head.import_avatar`` builds them). ``head_height_m`` (chin to crown; the mesh's
    height by default) sizes the subsurface scattering: ``REFERENCE_HEAD_M`` gives the skin's
    own radii.

    Returns
    -------
    dict of str to int
        Material kind -> slot index on the mesh; skin is slot 0 whenever present.
    """
    kinds = [material_kind(r) for r in avatar.region_names] or ["skin"]
    used = sorted(set(kinds), key=KINDS.index)
    image = _albedo_image(avatar, name)
    # Light scatters as far in a small head as in a big one, relative to its size.
    height = head_height_m
    if height is None:
        height = float(np.ptp(np.asarray(avatar.vertices_m)[:, 1])) if avatar.vertex_count else 0
    scale = float(np.clip(height / REFERENCE_HEAD_M, 0.25, 4.0)) if height > 0 else 1.0
    slots = {}
    for kind in used:
        slots[kind] = len(mesh.materials)
        material = _MAKERS[kind](f"{name} {kind}", image, scale)
        material["revive_kind"] = kind
        mesh.materials.append(material)
    per_face = face_regions(avatar.faces, avatar.vertex_regions)[
        first_triangles(avatar.polygon_triangles, len(avatar.faces))]
    region_slot = np.array([slots[k] for k in kinds], dtype=np.int32)
    mesh.polygons.foreach_set("material_index", region_slot[np.clip(per_face, 0, len(kinds) - 1)])
    if avatar.hair_weights is not None and len(avatar.hair_weights) == len(mesh.vertices):
        attribute = mesh.attributes.new(HAIR_ATTRIBUTE, "FLOAT", "POINT")
        attribute.data.foreach_set("value", np.clip(avatar.hair_weights, 0.0, 1.0).astype(np.float32))
    return slots


def set_input(node: bpy.types.Node, names: tuple[str, ...], value) -> None:
    """Set the first of ``names`` the node has (Principled inputs were renamed in 4.0)."""
    for input_name in names:
        socket = node.inputs.get(input_name)
        if socket is not None:
            socket.default_value = value
            return


def _albedo_image(avatar: Avatar, name: str) -> bpy.types.Image:
    image = bpy.data.images.new(f"{name} albedo", 8, 8)
    image.pack(data=avatar.albedo_png, data_len=len(avatar.albedo_png))
    image.source = "FILE"
    image.colorspace_settings.name = "sRGB"
    return image


def cleared_node_tree(owner: bpy.types.ID) -> bpy.types.NodeTree:
    """The node tree of a material or world, emptied, to be built from scratch."""
    if owner.node_tree is None:  # before 5.0 node trees were optional
        owner.use_nodes = True
    nodes = owner.node_tree.nodes
    for node in list(nodes):
        nodes.remove(node)
    return owner.node_tree


def _principled(name: str) -> tuple[bpy.types.Material, bpy.types.Node]:
    material = bpy.data.materials.new(name)
    if material.node_tree is None:  # before 5.0 node trees were optional
        material.use_nodes = True
    bsdf = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    return material, bsdf


def _textured(material: bpy.types.Material, bsdf: bpy.types.Node,
              image: bpy.types.Image) -> bpy.types.Node:
    """The albedo image node, its colour linked into the BSDF's base colour."""
    nodes = material.node_tree.nodes
    texture = nodes.new("ShaderNodeTexImage")
    texture.name = texture.label = "Revive albedo"
    texture.image = image
    texture.location = (bsdf.location.x - 350, bsdf.location.y)
    material.node_tree.links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    return texture


def _skin(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    _textured(material, bsdf, image)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    # Roughness 0.45, varying by +-0.05 over a few millimetres (oilier and drier patches).
    coordinates = nodes.new("ShaderNodeTexCoord")
    coordinates.location = (bsdf.location.x - 900, bsdf.location.y - 350)
    noise = nodes.new("ShaderNodeTexNoise")
    noise.name = noise.label = "Revive skin roughness noise"
    noise.inputs["Scale"].default_value = 120.0 / scale  # per metre: blotches of ~8 mm
    noise.inputs["Detail"].default_value = 4.0
    noise.location = (bsdf.location.x - 700, bsdf.location.y - 350)
    to_roughness = nodes.new("ShaderNodeMapRange")
    to_roughness.name = to_roughness.label = "Revive skin roughness"
    to_roughness.inputs["From Min"].default_value = 0.3
    to_roughness.inputs["From Max"].default_value = 0.7
    to_roughness.inputs["To Min"].default_value = SKIN_ROUGHNESS - 0.05
    to_roughness.inputs["To Max"].default_value = SKIN_ROUGHNESS + 0.05
    to_roughness.location = (bsdf.location.x - 450, bsdf.location.y - 350)
    links.new(coordinates.outputs["Object"], noise.inputs["Vector"])
    links.new(noise.outputs["Fac"], to_roughness.inputs["Value"])
    set_input(bsdf, ("IOR",), 1.4)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), SKIN_SUBSURFACE)
    # Painted hair is matte: by the hair weights (0 where the mesh has none), less shine.
    hair = nodes.new("ShaderNodeAttribute")
    hair.name = hair.label = "Revive hair weight"
    hair.attribute_type, hair.attribute_name = "GEOMETRY", HAIR_ATTRIBUTE
    hair.location = (bsdf.location.x - 700, bsdf.location.y - 600)
    for k, (socket_names, hair_value) in enumerate((
            (("Roughness",), HAIR_ROUGHNESS),
            (("Specular IOR Level", "Specular"), HAIR_SPECULAR),
            (("Subsurface Weight", "Subsurface"), 0.0))):
        socket = next((bsdf.inputs[n] for n in socket_names if n in bsdf.inputs), None)
        if socket is None:
            continue
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "FLOAT"
        mix.name = mix.label = f"Revive hair {socket.name.lower()}"
        mix.location = (bsdf.location.x - 250, bsdf.location.y - 350 - 150 * k)
        if socket.name == "Roughness":
            links.new(to_roughness.outputs["Result"], _socket(mix.inputs, "A_Float"))
        else:
            _socket(mix.inputs, "A_Float").default_value = socket.default_value
        _socket(mix.inputs, "B_Float").default_value = hair_value
        links.new(hair.outputs["Fac"], _socket(mix.inputs, "Factor_Float"))
        links.new(_socket(mix.outputs, "Result_Float"), socket)
    set_input(bsdf, ("Subsurface Radius",), SKIN_SSS_RADIUS_MM)
    set_input(bsdf, ("Subsurface Scale",), 0.001 * scale)  # the radius is in millimetres
    set_input(bsdf, ("Subsurface IOR",), 1.4)
    _subsurface_method(bsdf, ("RANDOM_WALK_SKIN", "RANDOM_WALK"))
    material.diffuse_color = (0.8, 0.62, 0.52, 1.0)  # viewport / Workbench colour
    return material


def _socket(sockets, identifier: str):
    """The socket of ``sockets`` with this identifier (a Mix node's A, B and Result come in
    one socket per data type, all with the same name)."""
    return next(s for s in sockets if s.identifier == identifier)


def _subsurface_method(bsdf: bpy.types.Node, methods: tuple[str, ...]) -> None:
    """The first of ``methods`` this Blender has (Random Walk (Skin) is 4.0+)."""
    for method in methods:
        try:
            bsdf.subsurface_method = method
            return
        except (TypeError, AttributeError):
            continue


def _eye(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    _textured(material, bsdf, image)
    set_input(bsdf, ("Roughness",), 0.05)
    set_input(bsdf, ("Coat Weight", "Clearcoat"), 1.0)
    set_input(bsdf, ("Coat Roughness", "Clearcoat Roughness"), 0.02)
    material.diffuse_color = (0.9, 0.9, 0.9, 1.0)
    return material


def _sclera(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    _textured(material, bsdf, image)
    set_input(bsdf, ("Roughness",), 0.25)
    set_input(bsdf, ("IOR",), 1.376)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.1)
    set_input(bsdf, ("Subsurface Radius",), (1.0, 0.6, 0.5))
    set_input(bsdf, ("Subsurface Scale",), 0.001 * scale)
    material.diffuse_color = (0.9, 0.88, 0.85, 1.0)
    return material


def _iris(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    _textured(material, bsdf, image)
    _wet_cornea(bsdf)
    material.diffuse_color = (0.3, 0.22, 0.15, 1.0)
    return material


def _pupil(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    set_input(bsdf, ("Base Color",), (0.005, 0.005, 0.005, 1.0))
    _wet_cornea(bsdf)
    material.diffuse_color = (0.01, 0.01, 0.01, 1.0)
    return material


def _wet_cornea(bsdf: bpy.types.Node) -> None:
    """The cornea over the iris and pupil: glossy under a clear coat, for a catch-light."""
    set_input(bsdf, ("Roughness",), 0.03)
    set_input(bsdf, ("IOR",), 1.376)  # the cornea's
    set_input(bsdf, ("Coat Weight", "Clearcoat"), 1.0)
    set_input(bsdf, ("Coat Roughness", "Clearcoat Roughness"), 0.02)
    set_input(bsdf, ("Coat IOR",), 1.376)


def _teeth(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    set_input(bsdf, ("Base Color",), (0.78, 0.74, 0.64, 1.0))
    set_input(bsdf, ("Roughness",), 0.25)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.05)
    set_input(bsdf, ("Subsurface Scale",), 0.002 * scale)
    material.diffuse_color = (0.78, 0.74, 0.64, 1.0)
    return material


def _mouth(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    texture = _textured(material, bsdf, image)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    darken = nodes.new("ShaderNodeMixRGB")  # works in every version (MixRGB is kept for files)
    darken.name = darken.label = "Revive mouth darkening"
    darken.blend_type = "MULTIPLY"
    darken.inputs["Fac"].default_value = 1.0
    darken.inputs["Color2"].default_value = (0.45, 0.16, 0.15, 1.0)
    darken.location = (bsdf.location.x - 180, bsdf.location.y)
    texture.location.x -= 180
    links.new(texture.outputs["Color"], darken.inputs["Color1"])
    links.new(darken.outputs["Color"], bsdf.inputs["Base Color"])
    set_input(bsdf, ("Roughness",), 0.35)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.2)
    set_input(bsdf, ("Subsurface Scale",), 0.004 * scale)
    material.diffuse_color = (0.3, 0.1, 0.1, 1.0)
    return material


def _hair(name: str, image: bpy.types.Image, scale: float = 1.0) -> bpy.types.Material:
    material, bsdf = _principled(name)
    _textured(material, bsdf, image)
    set_input(bsdf, ("Roughness",), 0.5)
    set_input(bsdf, ("Sheen Weight", "Sheen"), 0.3)
    material.diffuse_color = (0.3, 0.22, 0.15, 1.0)
    return material


_MAKERS = {"skin": _skin, "eye": _eye, "sclera": _sclera, "iris": _iris, "pupil": _pupil,
           "teeth": _teeth, "mouth": _mouth, "hair": _hair}
