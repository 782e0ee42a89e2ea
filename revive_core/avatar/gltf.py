"""Export an Avatar as binary glTF 2.0 (.glb) with one morph target per blendshape.

Written by hand with json, struct and numpy (no extra dependency). The glTF mesh has one vertex
per unique (vertex, UV) pair of the Avatar, so UV seams split vertices while everything else
stays welded (``geometry.mesh.split_seams``, which the preview renderer shares).

Conventions of the file (both Blender's importer and three.js read them):

- metres, +Y up, the face looks toward +Z (the Avatar's own axes, so no conversion);
- TEXCOORD_0 with v flipped (glTF's image origin is top-left): ``v_gltf = 1 - v``;
- morph targets hold POSITION deltas; ``mesh.extras.targetNames`` names them; weights are 0;
- ``asset.extras`` carries the consent record and an "AI-generated" note.
"""
from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from revive_core.formats.avatar import Avatar
from revive_core.geometry.mesh import split_seams, vertex_normals

__all__ = ["avatar_glb"]

_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
AI_NOTE = ("AI-generated: this head was reconstructed by Revive from photos; it is a "
           "likeness made by software, not a recording of a real person.")


def avatar_glb(avatar: Avatar) -> bytes:
    """The avatar as a binary glTF 2.0 file (.glb) with morph targets and embedded texture.

    Parameters
    ----------
    avatar : Avatar
        The head to export.

    Returns
    -------
    bytes
        The .glb file content.
    """
    vertex_ids, uv_ids, faces = split_seams(avatar.faces, avatar.uv_faces)
    positions = np.asarray(avatar.vertices_m, dtype=np.float32)[vertex_ids]
    normals = vertex_normals(avatar.vertices_m, avatar.faces)[vertex_ids]
    uv = np.asarray(avatar.uvs, dtype=np.float32)[uv_ids]
    texcoords = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1).astype(np.float32)

    builder = _Builder()
    attributes = {
        "POSITION": builder.accessor(positions, "VEC3", bounds=True),
        "NORMAL": builder.accessor(normals, "VEC3"),
        "TEXCOORD_0": builder.accessor(texcoords, "VEC2"),
    }
    primitive: dict[str, Any] = {
        "attributes": attributes,
        "indices": builder.accessor(faces.reshape(-1), "SCALAR", target=_ELEMENT_ARRAY_BUFFER),
        "material": 0,
        "mode": 4,
    }
    names = list(avatar.blendshape_names)
    mesh: dict[str, Any] = {"name": avatar.name, "primitives": [primitive]}
    if names:
        deltas = np.asarray(avatar.blendshape_deltas_m, dtype=np.float32)
        primitive["targets"] = [{"POSITION": builder.accessor(deltas[k][vertex_ids], "VEC3",
                                                              bounds=True)}
                                for k in range(len(names))]
        mesh["weights"] = [0.0] * len(names)
        mesh["extras"] = {"targetNames": names}
    image_view = builder.view(avatar.albedo_png, target=None)

    document = {
        "asset": {"version": "2.0", "generator": "Revive",
                  "extras": {"ai_generated": True, "note": AI_NOTE, "consent": avatar.consent,
                             "model": avatar.model_id}},
        "scene": 0,
        "scenes": [{"name": avatar.name, "nodes": [0]}],
        "nodes": [{"name": avatar.name, "mesh": 0}],
        "meshes": [mesh],
        "materials": [{
            "name": f"{avatar.name} skin",
            "pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                     "baseColorFactor": [1.0, 1.0, 1.0, 1.0],
                                     "metallicFactor": 0.0, "roughnessFactor": 0.7},
        }],
        "textures": [{"sampler": 0, "source": 0}],
        "images": [{"name": "albedo", "bufferView": image_view, "mimeType": "image/png"}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}],
        "accessors": builder.accessors,
        "bufferViews": builder.views,
        "buffers": [{"byteLength": builder.length}],
    }
    return _glb(document, builder.binary())


class _Builder:
    """Collects the binary buffer, its bufferViews and accessors, 4-byte aligned."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.length = 0
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def view(self, data: bytes, *, target: int | None) -> int:
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        padding = (-len(data)) % 4
        self.parts += [data, b"\0" * padding]
        self.length += len(data) + padding
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, *, bounds: bool = False,
                 target: int = _ARRAY_BUFFER) -> int:
        if array.dtype == np.uint32:
            component = _UINT32
        else:
            array, component = array.astype(np.float32), _FLOAT
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        accessor: dict[str, Any] = {"bufferView": self.view(data, target=target),
                                    "componentType": component, "count": int(array.shape[0]),
                                    "type": kind}
        if bounds or kind == "SCALAR":
            flat = array.reshape(array.shape[0], -1)
            cast = int if component == _UINT32 else float
            accessor["min"] = [cast(x) for x in flat.min(axis=0)]
            accessor["max"] = [cast(x) for x in flat.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def binary(self) -> bytes:
        return b"".join(self.parts)


def _glb(document: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    binary += b"\0" * ((-len(binary)) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join([struct.pack("<III", _GLB_MAGIC, 2, total),
                     struct.pack("<II", len(text), _CHUNK_JSON), text,
                     struct.pack("<II", len(binary), _CHUNK_BIN), binary])
