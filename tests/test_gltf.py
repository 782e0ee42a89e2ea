"""Tests of revive_core.avatar.gltf (and the mesh helpers it uses): a valid .glb with UVs, morph
targets, texture and labels."""
from __future__ import annotations

import dataclasses
import io
import json
import struct

import numpy as np
import pytest
import trimesh

from revive_core.avatar.gltf import avatar_glb
from revive_core.geometry.mesh import split_seams, vertex_normals

COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}
DTYPES = {5126: np.float32, 5125: np.uint32}


def parse_glb(data: bytes) -> tuple[dict, bytes]:
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_length % 4 == 0
    document = json.loads(data[20:20 + json_length].decode("utf-8"))
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert bin_type == 0x004E4942 and bin_length % 4 == 0
    start = 28 + json_length
    assert start + bin_length == len(data)
    return document, data[start:start + bin_length]


def read_accessor(document: dict, binary: bytes, index: int) -> np.ndarray:
    accessor = document["accessors"][index]
    view = document["bufferViews"][accessor["bufferView"]]
    width = COMPONENTS[accessor["type"]]
    array = np.frombuffer(binary, dtype=DTYPES[accessor["componentType"]],
                          count=accessor["count"] * width, offset=view["byteOffset"])
    return array.reshape(accessor["count"], width) if width > 1 else array


@pytest.fixture
def glb(tiny_avatar):
    return avatar_glb(tiny_avatar)


def test_split_seams_welds_all_but_the_seams(tiny_avatar):
    vertex_ids, uv_ids, faces = split_seams(tiny_avatar.faces, tiny_avatar.uv_faces)
    assert np.array_equal(vertex_ids[faces], tiny_avatar.faces)
    assert np.array_equal(uv_ids[faces], tiny_avatar.uv_faces)
    assert tiny_avatar.vertex_count < len(vertex_ids) < tiny_avatar.faces.size
    pairs = set(zip(vertex_ids.tolist(), uv_ids.tolist()))
    assert len(pairs) == len(vertex_ids)  # each (vertex, UV) pair once


def test_vertex_normals_point_outward(tiny_avatar):
    normals = vertex_normals(tiny_avatar.vertices_m, tiny_avatar.faces)
    assert normals.shape == tiny_avatar.vertices_m.shape
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert ((normals * tiny_avatar.vertices_m).sum(axis=1) > 0).all()


def test_glb_structure_and_accessors(glb, tiny_avatar):
    document, binary = parse_glb(glb)
    assert document["asset"]["version"] == "2.0"
    assert document["asset"]["generator"] == "Revive"
    extras = document["asset"]["extras"]
    assert extras["consent"] == tiny_avatar.consent
    assert extras["ai_generated"] is True and "AI-generated" in extras["note"]
    for view in document["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
        assert view["byteOffset"] + view["byteLength"] <= document["buffers"][0]["byteLength"]
    assert document["buffers"][0]["byteLength"] == len(binary)

    (mesh,) = document["meshes"]
    (primitive,) = mesh["primitives"]
    vertex_ids, uv_ids, faces = split_seams(tiny_avatar.faces, tiny_avatar.uv_faces)
    count = len(vertex_ids)
    attributes = primitive["attributes"]
    for name in ("POSITION", "NORMAL", "TEXCOORD_0"):
        assert document["accessors"][attributes[name]]["count"] == count
    indices = read_accessor(document, binary, primitive["indices"])
    assert indices.shape == (tiny_avatar.faces.size,) and int(indices.max()) < count

    positions = read_accessor(document, binary, attributes["POSITION"])
    assert np.allclose(positions, tiny_avatar.vertices_m[vertex_ids])
    accessor = document["accessors"][attributes["POSITION"]]
    assert np.allclose(accessor["min"], positions.min(axis=0))
    assert np.allclose(accessor["max"], positions.max(axis=0))
    texcoords = read_accessor(document, binary, attributes["TEXCOORD_0"])
    assert np.allclose(texcoords[:, 0], tiny_avatar.uvs[uv_ids, 0])
    assert np.allclose(texcoords[:, 1], 1.0 - tiny_avatar.uvs[uv_ids, 1])  # v flipped
    normals = read_accessor(document, binary, attributes["NORMAL"])
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    # every corner of the glTF triangles is the avatar's corner, winding kept
    assert np.array_equal(vertex_ids[indices.reshape(-1, 3)], tiny_avatar.faces)


def test_morph_targets_reproduce_the_blendshapes(glb, tiny_avatar):
    document, binary = parse_glb(glb)
    (mesh,) = document["meshes"]
    (primitive,) = mesh["primitives"]
    names = tiny_avatar.blendshape_names
    assert mesh["extras"]["targetNames"] == names
    assert mesh["weights"] == [0.0] * len(names)
    assert len(primitive["targets"]) == len(names)
    vertex_ids, _, _ = split_seams(tiny_avatar.faces, tiny_avatar.uv_faces)
    base = read_accessor(document, binary, primitive["attributes"]["POSITION"])
    for name, target in zip(names, primitive["targets"]):
        accessor = document["accessors"][target["POSITION"]]
        assert accessor["count"] == len(vertex_ids)
        deltas = read_accessor(document, binary, target["POSITION"])
        assert np.allclose(accessor["min"], deltas.min(axis=0))
        assert np.allclose(accessor["max"], deltas.max(axis=0))
        shaped = tiny_avatar.shape({name: 1.0})[vertex_ids]
        assert np.allclose(base + deltas, shaped, atol=1e-6)


def test_texture_is_the_embedded_albedo(glb, tiny_avatar):
    document, binary = parse_glb(glb)
    (material,) = document["materials"]
    texture = document["textures"][material["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = document["images"][texture["source"]]
    assert image["mimeType"] == "image/png"
    view = document["bufferViews"][image["bufferView"]]
    embedded = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    assert embedded == tiny_avatar.albedo_png
    assert "sampler" in texture and document["samplers"]


def test_trimesh_loads_it(glb, tiny_avatar):
    loaded = trimesh.load(io.BytesIO(glb), file_type="glb", process=False)
    (geometry,) = loaded.geometry.values()
    vertex_ids, _, _ = split_seams(tiny_avatar.faces, tiny_avatar.uv_faces)
    assert len(geometry.vertices) == len(vertex_ids)
    assert len(geometry.faces) == len(tiny_avatar.faces)
    assert np.allclose(geometry.vertices, tiny_avatar.vertices_m[vertex_ids])
    assert geometry.visual.uv.shape == (len(vertex_ids), 2)
    assert geometry.visual.material.baseColorTexture.size == (128, 128)


def test_avatar_without_blendshapes(tiny_avatar):
    bare = dataclasses.replace(tiny_avatar, blendshape_names=[],
                               blendshape_deltas_m=np.zeros((0, tiny_avatar.vertex_count, 3),
                                                            np.float32))
    document, _ = parse_glb(avatar_glb(bare))
    (mesh,) = document["meshes"]
    assert "targets" not in mesh["primitives"][0] and "weights" not in mesh
    assert trimesh.load(io.BytesIO(avatar_glb(bare)), file_type="glb").geometry
