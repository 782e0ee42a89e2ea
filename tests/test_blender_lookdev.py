"""How the head looks in Blender: the close-up's framing, skin and eyes for Cycles, hair strands.

As in ``test_blender_addon``, the Blender work runs in a fresh ``python`` subprocess with the
real bpy module that prints one ``RESULT {json}`` line; the assertions stay here. The head is
the built-in model's (a real head with a neck, eyes split into sclera, iris and pupil, and the
478 face landmarks), hair weights painted on its scalp.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from revive_core.formats import write_avatar

ROOT = Path(__file__).resolve().parents[1]
BPY_PYTHON = os.environ.get("REVIVE_TEST_BPY_PYTHON", sys.executable)
HAS_BPY = subprocess.run([BPY_PYTHON, "-c", "import importlib.util, sys; "
                          "sys.exit(importlib.util.find_spec('bpy') is None)"]).returncode == 0

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module (pip install bpy)")]

BROW_LANDMARKS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
CHIN_LANDMARK = 152


def run_python(script: str, *, timeout: float = 180) -> dict:
    """Run ``script`` in a fresh Python with bpy; return its ``RESULT`` JSON."""
    result = subprocess.run([BPY_PYTHON, "-c", textwrap.dedent(script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, (
        f"exit code {result.returncode}\nstdout:\n{result.stdout[-3000:]}\n"
        f"stderr:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def staged_head(folder: Path, size: int) -> str:
    """Script lines (for ``run_python``): a fresh scene with the avatar in ``folder`` imported and
    staged at ``size`` pixels square, as ``scene`` and ``head``."""
    return f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        import numpy as np
        from blender_addon.imp.head import import_avatar
        from blender_addon.render.settings import configure_render
        from blender_addon.revive_formats import read_avatar
        from blender_addon.stage.stage import setup_stage
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        head = import_avatar(read_avatar({str(folder)!r}))
        setup_stage(scene, head, resolution=({size}, {size}), visible_label=False)
        """


def landmark(avatar, index: int) -> np.ndarray:
    """Landmark ``index`` of ``avatar`` in Revive's axes (+Y up)."""
    corners = avatar.vertices_m[avatar.faces[avatar.landmark_faces[index]]]
    return avatar.landmark_bary[index] @ corners


@pytest.fixture(scope="module")
def head_avatar(avatar_builder):
    """The built-in model's head as an avatar, its scalp (and, wrongly, its whole face)
    weighted as hair; the hair 15 mm thick."""
    from revive_core.avatar.model.builtin import builtin_model

    model = builtin_model()
    regions = model.vertex_regions
    weights = np.zeros(len(model.vertices_m), np.float32)
    weights[regions == model.region_names.index("scalp")] = 1.0
    # The face too: hair must still never grow on the face below the brows.
    weights[regions == model.region_names.index("face")] = 0.9
    return dataclasses.replace(
        avatar_builder(), vertices_m=model.vertices_m.astype(np.float32), faces=model.faces,
        uvs=model.uvs, uv_faces=model.uv_faces, region_names=model.region_names,
        vertex_regions=regions, landmark_faces=model.landmark_faces,
        landmark_bary=model.landmark_bary, blendshape_names=model.expression_names,
        blendshape_deltas_m=model.expression_deltas_m, polygon_triangles=model.polygon_triangles,
        hair_weights=weights,
        extra={"hair": {"colour_srgb": [0.3, 0.2, 0.1], "coverage": 0.6, "thickness_mm": 15.0}})


LOOKDEV_SCRIPT = """
    import json, math, sys
    sys.path.insert(0, {root!r})
    import bpy
    import numpy as np
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree
    from blender_addon.imp.hair import find_hair
    from blender_addon.imp import portrait
    from blender_addon.imp.head import head_pivot, import_avatar
    from blender_addon.revive_formats import read_avatar
    from blender_addon.stage import stage

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    avatar = read_avatar({avatar!r})
    head = import_avatar(avatar)
    out = {{}}

    # Framing: every vertex projected through each framing's camera.
    co = np.empty(len(head.data.vertices) * 3, np.float32)
    head.data.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    for framing in ("close-up", "portrait", "shoulders"):
        camera = stage.setup_stage(scene, head, resolution=(384, 384), framing=framing)
        bpy.context.view_layer.update()
        view = np.array([world_to_camera_view(scene, camera, head.matrix_world @ Vector(p))[:]
                         for p in co])
        out[framing] = view[:, :2].tolist()
    out["view"] = [scene.view_settings.view_transform, scene.view_settings.look,
                   scene.view_settings.exposure]

    # Materials by kind.
    def principled(material):
        return next(n for n in material.node_tree.nodes
                    if n.bl_idname == "ShaderNodeBsdfPrincipled")

    def value(node, name):
        socket = node.inputs[name]
        source = socket.links[0].from_node if socket.is_linked else None
        if source is not None and source.bl_idname == "ShaderNodeMix":  # the skin, away from hair
            socket = next(s for s in source.inputs if s.identifier == "A_Float")
            source = socket.links[0].from_node if socket.is_linked else None
        if source is not None and source.bl_idname == "ShaderNodeMapRange":  # skin roughness
            return [source.inputs["To Min"].default_value, source.inputs["To Max"].default_value]
        v = socket.default_value
        return v if isinstance(v, float) else list(v)[:3]

    out["materials"] = {{}}
    for material in head.data.materials:
        bsdf = principled(material)
        out["materials"][material["revive_kind"]] = {{
            name: value(bsdf, name) for name in (
                "Roughness", "Coat Weight", "IOR", "Subsurface Weight", "Subsurface Radius",
                "Subsurface Scale", "Base Color")}}
        out["materials"][material["revive_kind"]]["method"] = bsdf.subsurface_method
        out["materials"][material["revive_kind"]]["textured"] = \\
            bsdf.inputs["Base Color"].is_linked

    # Hair: roots on the surface, on hair-weighted triangles.
    hair = find_hair(head)
    out["hair"] = hair is not None
    if hair is not None:
        curves = hair.data
        points = np.empty(len(curves.points) * 3, np.float32)
        curves.position_data.foreach_get("vector", points)
        offsets = np.empty(len(curves.curves) + 1, np.int32)
        curves.curve_offset_data.foreach_get("value", offsets)
        points = points.reshape(-1, 3)
        roots, tips = points[offsets[:-1]], points[offsets[1:] - 1]
        triangles = [tuple(t) for t in avatar.faces.tolist()]
        tree = BVHTree.FromPolygons([tuple(p) for p in co], triangles)
        found = [tree.find_nearest(Vector(p)) for p in roots]
        weights = avatar.hair_weights[avatar.faces[[f[2] for f in found]]]
        lengths = np.linalg.norm(np.diff(points.reshape(len(roots), -1, 3), axis=1),
                                 axis=2).sum(axis=1)
        out["strands"] = len(roots)
        out["root_distance_m"] = max(f[3] for f in found)
        out["root_weight"] = float(weights.min())
        out["roots"] = roots.tolist()
        out["root_triangles"] = [f[2] for f in found]
        out["lengths_m"] = [float(lengths.min()), float(lengths.max())]
        out["tip_height_m"] = float(np.max([tree.find_nearest(Vector(p))[3] for p in tips]))
        out["hair_material"] = [m.node_tree.nodes["Revive hair BSDF"].bl_idname
                                for m in curves.materials]
        out["hair_parent"] = hair.parent.name == head.name
        # Portrait mode shows the photo's own hair: the strands hide, and come back after.
        portrait.use_portrait_look(head, True)
        out["hair_hidden"] = [hair.hide_render]
        portrait.use_portrait_look(head, False)
        out["hair_hidden"].append(hair.hide_render)
        # Head motion carries the hair: turn the pivot, the roots turn with it.
        pivot = head_pivot(head)
        pivot.rotation_euler = (0.0, 0.0, math.radians(30.0))
        bpy.context.view_layer.update()
        moved = hair.matrix_world @ Vector(roots[0])
        expected = head.matrix_world @ Vector(roots[0])
        out["hair_follows_head"] = (moved - expected).length
        out["hair_moved"] = (moved - Vector(roots[0])).length
    print("RESULT " + json.dumps(out))
    """


@pytest.fixture(scope="module")
def lookdev(head_avatar, tmp_path_factory):
    folder = write_avatar(head_avatar, tmp_path_factory.mktemp("lookdev") / "avatar")
    return run_python(LOOKDEV_SCRIPT.format(root=str(ROOT), avatar=str(folder)))


def test_close_up_frames_the_head_from_chin_to_crown_not_the_neck(head_avatar, lookdev):
    chin = landmark(head_avatar, CHIN_LANDMARK)[1]
    head = head_avatar.vertices_m[:, 1] >= chin - 1e-6
    neck = ~head
    assert neck.sum() > 100  # the model has a neck below the chin
    close_up = np.asarray(lookdev["close-up"])
    height = np.ptp(close_up[head, 1])
    assert 0.55 <= height <= 0.75, height
    # The whole head is in the frame, centred on the face across.
    assert close_up[head, 1].min() > 0.0 and close_up[head, 1].max() < 1.0
    face = head_avatar.vertex_regions == head_avatar.region_names.index("face")
    assert abs(close_up[face, 0].mean() - 0.5) < 0.03
    # Wider framings keep their meaning: the head fills less of the frame.
    heights = {f: np.ptp(np.asarray(lookdev[f])[head, 1]) for f in ("portrait", "shoulders")}
    assert height > heights["portrait"] * 1.2 > heights["shoulders"] * 1.4 > 0.3


def test_studio_view_keeps_skin_colour_at_a_sensible_exposure(lookdev):
    transform, look, exposure = lookdev["view"]
    assert transform == "Khronos PBR Neutral" and look == "None" and -1.0 <= exposure <= 1.0


def test_skin_has_random_walk_subsurface_in_metres_and_varying_roughness(lookdev):
    skin = lookdev["materials"]["skin"]
    assert skin["textured"] and skin["method"] in ("RANDOM_WALK", "RANDOM_WALK_SKIN")
    assert 0.15 <= skin["Subsurface Weight"] <= 0.3
    radius_m = np.asarray(skin["Subsurface Radius"]) * skin["Subsurface Scale"]
    # Around (3.6, 1.4, 0.8) mm for a 0.23 m head; this one is 0.236 m from chin to crown.
    np.testing.assert_allclose(radius_m, [0.0036, 0.0014, 0.0008], rtol=0.15)
    low, high = skin["Roughness"]
    assert 0.35 <= low < 0.45 < high <= 0.55
    assert skin["IOR"] == pytest.approx(1.4)


def test_eyes_are_a_wet_glossy_iris_a_black_pupil_and_a_rougher_sclera(lookdev):
    materials = lookdev["materials"]
    iris, pupil, sclera = materials["iris"], materials["pupil"], materials["sclera"]
    for glossy in (iris, pupil):
        assert 0.02 <= glossy["Roughness"] <= 0.05 and glossy["Coat Weight"] == 1.0
    assert iris["textured"] and sclera["textured"]
    assert max(pupil["Base Color"]) < 0.02
    assert sclera["Roughness"] > 0.1 and sclera["Coat Weight"] == 0.0


def test_hair_strands_grow_from_hair_weighted_scalp_never_the_face_below_the_brows(
        head_avatar, lookdev):
    assert lookdev["hair"] and lookdev["hair_parent"]
    assert 2000 <= lookdev["strands"] <= 50000
    # Roots on the surface, on triangles whose corners all carry hair.
    assert lookdev["root_distance_m"] < 0.002
    assert lookdev["root_weight"] > 0.5
    # None on the face below the brows (the face was weighted as hair on purpose).
    roots = np.asarray(lookdev["roots"])  # Blender axes: (x, -z, y) of Revive's
    brow = max(landmark(head_avatar, i)[1] for i in BROW_LANDMARKS)
    face = head_avatar.region_names.index("face")
    corners = head_avatar.faces[lookdev["root_triangles"]]
    on_face = (head_avatar.vertex_regions[corners] == face).any(axis=1)
    assert on_face.any()  # the forehead above the brows may grow hair ...
    assert (roots[on_face, 2] >= brow).all()  # ... but nothing below them
    # Short hair: 2.5 times its 15 mm thickness, give or take; lying close to the head.
    low, high = lookdev["lengths_m"]
    assert 0.02 <= low and high <= 0.06
    assert lookdev["tip_height_m"] < 0.012
    assert lookdev["hair_material"] == ["ShaderNodeBsdfHairPrincipled"]
    assert lookdev["hair_hidden"] == [True, False]
    # Parented to the head: turning the head turns the hair.
    assert lookdev["hair_follows_head"] < 1e-5 and lookdev["hair_moved"] > 0.005


def test_an_avatar_without_hair_weights_grows_no_hair(head_avatar, tmp_path):
    folder = write_avatar(dataclasses.replace(head_avatar, hair_weights=None), tmp_path / "a")
    bald = write_avatar(dataclasses.replace(
        head_avatar, hair_weights=np.full(head_avatar.vertex_count, 0.3, np.float32)),
        tmp_path / "b")
    r = run_python(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        from blender_addon.imp.head import import_avatar
        from blender_addon.revive_formats import read_avatar
        bpy.ops.wm.read_homefile(use_empty=True)
        import_avatar(read_avatar({str(folder)!r}))
        import_avatar(read_avatar({str(bald)!r}))
        print("RESULT " + json.dumps({{"curves": len(bpy.data.hair_curves),
                                      "objects": [o.type for o in bpy.data.objects
                                                  if o.type == "CURVES"]}}))
        """)
    assert r == {"curves": 0, "objects": []}


def test_one_cycles_frame_of_a_head_with_hair_renders_headless(head_avatar, tmp_path):
    folder = write_avatar(head_avatar, tmp_path / "avatar")
    png = tmp_path / "frame.png"
    r = run_python(staged_head(folder, 96) + f"""
        configure_render(scene, device="cpu", samples=4, denoise=False, quiet=True)
        scene.render.filepath = {str(png)!r}
        scene.render.image_settings.file_format = "PNG"
        started = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        print("RESULT " + json.dumps({{"seconds": time.perf_counter() - started}}))
        """)
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert image.shape == (96, 96, 3)
    # The head: lit, in the middle, on the dark background.
    middle, corner = image[40:56, 40:56].mean(), image[:8, :8].mean()
    assert middle > 60 and corner < 30 and r["seconds"] < 60


def test_the_preview_preset_denoises_so_hair_strands_render_without_grain(head_avatar, tmp_path):
    folder = write_avatar(head_avatar, tmp_path / "avatar")
    r = run_python(staged_head(folder, 128) + f"""
        scene.render.image_settings.file_format = "PNG"
        denoised = {{}}
        for name, denoise in (("preset", None), ("raw", False)):
            configure_render(scene, device="cpu", denoise=denoise, quiet=True)
            denoised[name] = scene.cycles.use_denoising
            scene.render.filepath = {str(tmp_path)!r} + f"/{{name}}.png"
            bpy.ops.render.render(write_still=True)
        print("RESULT " + json.dumps(denoised))
        """)
    import cv2

    assert r == {"preset": True, "raw": False}

    def grain(name: str) -> float:
        grey = cv2.imread(str(tmp_path / f"{name}.png"), cv2.IMREAD_GRAYSCALE).astype(float)
        top = grey[8:48, 32:96]  # the crown, under its strands
        return float(np.abs(top - cv2.GaussianBlur(top, (0, 0), 1.5)).mean())

    assert grain("preset") < 0.6 * grain("raw")


def test_a_long_hair_shell_imports_with_the_hair_material_and_grows_no_strands(head_avatar, tmp_path):
    from revive_core.avatar.long_hair import HangingHair, attach_shell, hair_shell

    vertices = head_avatar.vertices_m.astype(np.float64)
    body = head_avatar.vertex_regions == head_avatar.region_names.index("face")
    rows = np.linspace(np.percentile(vertices[:, 1], 60), np.percentile(vertices[:, 1], 10), 20)
    hanging = HangingHair(rows, np.full((20, 2), 0.12), z_centre_m=0.0)
    shell = hair_shell(vertices, body, hanging, (0.9, 0.9, 0.05, 0.05))
    avatar = attach_shell(dataclasses.replace(head_avatar, hair_weights=None), shell)
    folder = write_avatar(avatar, tmp_path / "a")
    r = run_python(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        from blender_addon.imp.head import import_avatar
        from blender_addon.revive_formats import read_avatar
        bpy.ops.wm.read_homefile(use_empty=True)
        mesh = import_avatar(read_avatar({str(folder)!r})).data
        index = np.empty(len(mesh.polygons), np.int32)
        mesh.polygons.foreach_get("material_index", index)
        kinds = [m["revive_kind"] for m in mesh.materials]
        hair = mesh.materials[kinds.index("hair")]
        bsdf = next(n for n in hair.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
        print("RESULT " + json.dumps({{
            "kinds": kinds, "material_index": index.tolist(), "curves": len(bpy.data.hair_curves),
            "subsurface": bsdf.inputs["Subsurface Weight"].default_value,
            "textured": any(n.bl_idname == "ShaderNodeTexImage" for n in hair.node_tree.nodes)}}))
        """)
    shell_polygons = len(shell.faces) // 2
    index = np.asarray(r["material_index"])
    hair = r["kinds"].index("hair")
    assert (index[-shell_polygons:] == hair).all() and (index[:-shell_polygons] != hair).all()
    assert r["subsurface"] == 0.0 and r["textured"]
    assert r["curves"] == 0


def test_the_skin_is_matte_where_the_head_carries_painted_hair(head_avatar, tmp_path):
    """The hair weights travel into Blender as a mesh attribute and turn the skin material
    rough and without subsurface there: painted hair shone like a bald crown in the light."""
    folder = write_avatar(head_avatar, tmp_path / "avatar")
    r = run_python(staged_head(folder, 64) + """
        from blender_addon.imp.materials import HAIR_ATTRIBUTE
        weights = np.zeros(len(head.data.vertices), np.float32)
        head.data.attributes[HAIR_ATTRIBUTE].data.foreach_get("value", weights)
        skin = next(m for m in head.data.materials if m["revive_kind"] == "skin")
        bsdf = next(n for n in skin.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
        driven = {}
        for name in ("Roughness", "Subsurface Weight"):
            mix = bsdf.inputs[name].links[0].from_node
            socket = {s.identifier: s for s in mix.inputs}
            driven[name] = [socket["Factor_Float"].links[0].from_node.attribute_name,
                            socket["B_Float"].default_value]
        print("RESULT " + json.dumps({"weights": weights.tolist(), "driven": driven}))
        """)
    assert head_avatar.hair_weights is not None
    np.testing.assert_allclose(r["weights"], np.clip(head_avatar.hair_weights, 0, 1), atol=1e-6)
    attribute, roughness = r["driven"]["Roughness"]
    assert attribute == "revive_hair" and roughness > 0.8
    assert r["driven"]["Subsurface Weight"] == ["revive_hair", 0.0]
