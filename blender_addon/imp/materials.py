"""Materials of a Revive head: skin, eyes, teeth and mouth interior, chosen by region name.

Each polygon takes the region of its first triangle, the region most of that triangle's
corners belong to; each region name maps to one kind of material (``material_kind``): the
built-in model's regions are face, eye_left, eye_right and mouth_interior; other models may add
teeth, gums, tongue, scalp and so on. All four are Principled BSDF materials an artist knows
how to tune:

=============  ==============================================================================
kind           material
=============  ==============================================================================
skin           the albedo texture, roughness 0.5, subsurface (radius red-heavy, 6 mm scale)
eye            the albedo texture (the photo's iris), roughness 0.05, a clear coat (wet cornea)
teeth          ivory, roughness 0.25, a little subsurface
mouth          the albedo darkened toward deep red, roughness 0.35 (wet), subsurface
=============  ==============================================================================

Functions
---------
material_kind     region name -> "skin", "eye", "teeth" or "mouth"
assign_materials  make the materials a mesh's regions need and give each polygon its own
face_regions      the region of each triangle (majority of its corners)
"""
from __future__ import annotations

import bpy
import numpy as np

from ..revive_formats import Avatar
from ..revive_formats.polygons import first_triangles

__all__ = ["KINDS", "assign_materials", "cleared_node_tree", "face_regions", "material_kind",
           "set_input"]

KINDS = ("skin", "eye", "teeth", "mouth")
_PREFIX = {"eye": ("eye",), "teeth": ("teeth", "tooth"),
           "mouth": ("mouth", "tongue", "gum", "oral")}
_NOT_EYE = ("lash", "brow", "lid")


def material_kind(region: str) -> str:
    """The material kind for a region name: "eye", "teeth", "mouth", or "skin" for the rest.

    Examples
    --------
    >>> [material_kind(r) for r in ("face", "eye_left", "Teeth_upper", "mouth_interior",
    ...                             "eyelashes")]
    ['skin', 'eye', 'teeth', 'mouth', 'skin']
    """
    low = region.lower()
    for kind in ("teeth", "mouth", "eye"):
        if any(word in low for word in _PREFIX[kind]):
            if kind == "eye" and any(word in low for word in _NOT_EYE):
                continue
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


def assign_materials(mesh: bpy.types.Mesh, avatar: Avatar, name: str) -> dict[str, int]:
    """Add one material per kind the avatar's regions need and set each polygon's index.

    A polygon takes the material of its first triangle (``mesh`` holds the avatar's polygons,
    as ``head.import_avatar`` builds them).

    Returns
    -------
    dict of str to int
        Material kind -> slot index on the mesh; skin is slot 0 whenever present.
    """
    kinds = [material_kind(r) for r in avatar.region_names] or ["skin"]
    used = sorted(set(kinds), key=KINDS.index)
    image = _albedo_image(avatar, name)
    slots = {}
    for kind in used:
        slots[kind] = len(mesh.materials)
        material = _MAKERS[kind](f"{name} {kind}", image)
        material["revive_kind"] = kind
        mesh.materials.append(material)
    per_face = face_regions(avatar.faces, avatar.vertex_regions)[
        first_triangles(avatar.polygon_triangles, len(avatar.faces))]
    region_slot = np.array([slots[k] for k in kinds], dtype=np.int32)
    mesh.polygons.foreach_set("material_index", region_slot[np.clip(per_face, 0, len(kinds) - 1)])
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
    nodes = material.node_tree.nodes
    texture = nodes.new("ShaderNodeTexImage")
    texture.name = texture.label = "Revive albedo"
    texture.image = image
    texture.location = (bsdf.location.x - 350, bsdf.location.y)
    return texture


def _skin(name: str, image: bpy.types.Image) -> bpy.types.Material:
    material, bsdf = _principled(name)
    texture = _textured(material, bsdf, image)
    material.node_tree.links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    set_input(bsdf, ("Roughness",), 0.5)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.08)
    set_input(bsdf, ("Subsurface Radius",), (1.0, 0.35, 0.2))
    set_input(bsdf, ("Subsurface Scale",), 0.006)  # metres: skin scatters a few millimetres
    material.diffuse_color = (0.8, 0.62, 0.52, 1.0)  # viewport / Workbench colour
    return material


def _eye(name: str, image: bpy.types.Image) -> bpy.types.Material:
    material, bsdf = _principled(name)
    texture = _textured(material, bsdf, image)
    material.node_tree.links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    set_input(bsdf, ("Roughness",), 0.05)
    set_input(bsdf, ("Coat Weight", "Clearcoat"), 1.0)
    set_input(bsdf, ("Coat Roughness", "Clearcoat Roughness"), 0.02)
    material.diffuse_color = (0.9, 0.9, 0.9, 1.0)
    return material


def _teeth(name: str, image: bpy.types.Image) -> bpy.types.Material:
    material, bsdf = _principled(name)
    set_input(bsdf, ("Base Color",), (0.78, 0.74, 0.64, 1.0))
    set_input(bsdf, ("Roughness",), 0.25)
    set_input(bsdf, ("Subsurface Weight", "Subsurface"), 0.05)
    set_input(bsdf, ("Subsurface Scale",), 0.002)
    material.diffuse_color = (0.78, 0.74, 0.64, 1.0)
    return material


def _mouth(name: str, image: bpy.types.Image) -> bpy.types.Material:
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
    set_input(bsdf, ("Subsurface Scale",), 0.004)
    material.diffuse_color = (0.3, 0.1, 0.1, 1.0)
    return material


_MAKERS = {"skin": _skin, "eye": _eye, "teeth": _teeth, "mouth": _mouth}
