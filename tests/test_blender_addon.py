"""The Blender add-on with the real bpy module: extension zip, operators, scene, render, batch.

bpy is one global Blender per process, and Blender state (scenes, registered classes, the
Cycles device preferences) would leak from test to test. So every test that touches bpy runs
its Blender work in a fresh ``python`` subprocess (about 0.5 s to start): a failure can't
poison the next test, the pytest process never imports bpy, and a crash (EEVEE without EGL
aborts the whole process) fails one test instead of the run. The subprocess scripts print one
``RESULT {json}`` line; the assertions stay here, where pytest shows them well.

``REVIVE_TEST_BPY_PYTHON`` names another Python with bpy for those subprocesses (e.g. a venv
with bpy 4.2, to check the add-on on Blender 4.x); by default it is this Python.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.formats import write_avatar, write_take

ROOT = Path(__file__).resolve().parents[1]
BPY_PYTHON = os.environ.get("REVIVE_TEST_BPY_PYTHON", sys.executable)
HAS_BPY = subprocess.run([BPY_PYTHON, "-c", "import importlib.util, sys; "
                          "sys.exit(importlib.util.find_spec('bpy') is None)"]).returncode == 0
HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
SAMPLE_PHOTO = ROOT / "revive_core" / "assets" / "sample" / "astronaut.png"
REVIVE = Path(sys.executable).with_name("revive")

pytestmark = pytest.mark.blender
needs_bpy = pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module (pip install bpy)")
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="needs ffmpeg and ffprobe")
needs_core_bpy = pytest.mark.skipif(importlib.util.find_spec("bpy") is None,
                                    reason="revive_core.video.render needs bpy in this Python")


# --- helpers ---------------------------------------------------------------------------------

def run_python(script: str, *, env: dict | None = None, timeout: float = 180) -> dict:
    """Run ``script`` in a fresh Python with bpy; return its ``RESULT`` JSON."""
    result = subprocess.run([BPY_PYTHON, "-c", textwrap.dedent(script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, (
        f"exit code {result.returncode}\nstdout:\n{result.stdout[-3000:]}\n"
        f"stderr:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def run_batch(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([BPY_PYTHON, str(ROOT / "blender_addon" / "render" / "batch.py"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def decode_frame(video: Path, index: int) -> np.ndarray:
    """Frame ``index`` of ``video`` as an (H, W, 3) uint8 RGB array."""
    info = ffprobe(video)
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    width, height = int(stream["width"]), int(stream["height"])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-vf",
                          f"select=eq(n\\,{index})", "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def ffprobe(video: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format",
                          "-of", "json", str(video)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO_SIZE = 128


def with_portrait(avatar):
    """``avatar`` as if built from a photo: the sample photo, seen by a posed camera."""
    photo = np.asarray(Image.open(SAMPLE_PHOTO).convert("RGB").resize((PHOTO_SIZE, PHOTO_SIZE)))
    camera = {"focal_px": 1.4 * PHOTO_SIZE, "cx": 60.0, "cy": 66.0, "width": PHOTO_SIZE,
              "height": PHOTO_SIZE, "rotation": [0.08, -0.15, 0.03],
              "translation": [0.01, -0.005, -0.62], "expression": {"jawOpen": 0.1}}
    return dataclasses.replace(avatar, portrait=camera, portrait_png=png_bytes(photo))


def regioned(avatar):
    """``avatar`` with eye, teeth and mouth regions, eye-look shapes and a lighting estimate."""
    x, y, z = avatar.vertices_m.T
    regions = np.zeros(avatar.vertex_count, dtype=np.uint8)
    regions[(np.hypot(x - 0.035, y - 0.03) < 0.025) & (z > 0)] = 1
    regions[(np.abs(x) < 0.045) & (y > -0.045) & (y < -0.01) & (z > 0)] = 2
    regions[(np.abs(x) < 0.045) & (y > -0.09) & (y < -0.055) & (z > 0)] = 3
    look = np.zeros((2, avatar.vertex_count, 3), np.float32)
    look[0, regions == 1, 0] = 0.004  # the left eye's patch turns outward (+X)
    look[1, regions == 1, 0] = -0.004
    return dataclasses.replace(
        avatar, region_names=["face", "eye_left", "Teeth_upper", "mouth_interior"],
        vertex_regions=regions,
        blendshape_names=[*avatar.blendshape_names, "eyeLookOutLeft", "eyeLookInLeft"],
        blendshape_deltas_m=np.concatenate([avatar.blendshape_deltas_m, look]),
        extra={"lighting": {"direction": [0.6, 0.5, 0.62], "color": [1.0, 0.9, 0.8],
                            "ambient": [0.3, 0.3, 0.35]}})


SRT = ("1\n00:00:00,000 --> 00:00:00,200\nHello there,\n\n"
       "2\n00:00:00,200 --> 00:00:00,400\nmy dear.\n")


def layered_take(take_builder):
    """10 frames whose layers overlap on jawOpen (their sum passes 1), a blink and a glance."""
    take = take_builder(seconds=0.4, ramp_s=0.4)
    n = take.frame_count
    mouth_jaw = np.linspace(0.0, 0.8, n, dtype=np.float32)
    emotion_jaw = np.full(n, 0.3, np.float32)
    blink = np.zeros(n, np.float32)
    blink[4:7] = (0.5, 1.0, 0.5)
    take.blendshape_names = ["jawOpen", "eyeBlinkLeft", "browInnerUp"]
    take.blendshapes = np.stack([np.clip(mouth_jaw + emotion_jaw, 0, 1), blink,
                                 np.zeros(n, np.float32)], axis=1)
    take.layers = {"mouth": {"jawOpen": mouth_jaw},
                   "emotion": {"jawOpen": emotion_jaw, "browInnerUp": np.zeros(n, np.float32)},
                   "blinks": {"eyeBlinkLeft": blink}}
    take.gaze_deg[:, 0] = np.linspace(0.0, 30.0, n)
    take.head_rotation_deg[:, 1] = np.linspace(0.0, 10.0, n)
    take.subtitles_srt = SRT
    return take


@pytest.fixture
def folders(tmp_path, tiny_avatar, tiny_take):
    """The fixture avatar (with a portrait) and take as folders, the take with a head turn."""
    n = tiny_take.frame_count
    tiny_take.head_rotation_deg[:, 0] = 4.0 * np.sin(np.arange(n) / 4.0)  # nod
    tiny_take.head_rotation_deg[:, 1] = np.linspace(0.0, 12.0, n)  # turn
    avatar = write_avatar(with_portrait(tiny_avatar), tmp_path / "avatar")
    take = write_take(tiny_take, tmp_path / "take")
    return avatar, take, tiny_avatar, tiny_take


@pytest.fixture
def short_take(tmp_path, take_builder):
    """A 3-frame take (0.12 s at 25 fps) with subtitles, for real renders."""
    take = take_builder(seconds=0.12, ramp_s=0.08)
    take.subtitles_srt = "1\n00:00:00,000 --> 00:00:00,120\nHello.\n"
    assert take.frame_count == 3
    return write_take(take, tmp_path / "short_take"), take


# --- the extension zip and its operators -----------------------------------------------------

def test_addon_version_is_the_same_in_bl_info_about_and_the_manifest():
    """bl_info must be a literal Blender reads unrun, so the version is written in three places."""
    import ast
    import tomllib

    def assigned(path: Path, name: str):
        tree = ast.parse(path.read_text())
        return next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, (ast.Assign, ast.AnnAssign))
                    and name in [getattr(t, "id", None) for t in
                                 (node.targets if isinstance(node, ast.Assign) else [node.target])])

    addon = ROOT / "blender_addon"
    manifest = tomllib.loads((addon / "blender_manifest.toml").read_text())["version"]
    assert assigned(addon / "__init__.py", "bl_info")["version"] == \
        assigned(addon / "about.py", "VERSION") == tuple(int(x) for x in manifest.split("."))


@needs_bpy
def test_extension_zip_installs_and_its_operators_work_headless(tmp_path, folders):
    avatar_dir, take_dir, avatar, take = folders
    build = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--out-dir",
                            str(tmp_path / "dist")], capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, build.stderr
    zip_path = Path(build.stdout.strip().splitlines()[-1])
    assert zip_path.name == "revive-0.1.0.zip" and zip_path.is_file()
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        info = {i.filename: i for i in zf.infolist()}
        assert "blender_manifest.toml" in names and "__init__.py" in names
        addon = {p.relative_to(ROOT / "blender_addon").as_posix()
                 for p in (ROOT / "blender_addon").rglob("*.py")
                 if "revive_formats" not in p.parts}
        assert {"stage/scene.py", "imp/rig.py", "imp/portrait.py", "render/frames.py",
                "ui/jobs.py", "render/batch.py", "imp/__init__.py"} <= addon <= set(names)
        formats = sorted(p.name for p in (ROOT / "revive_core" / "formats").glob("*.py"))
        assert sorted(n.split("/", 1)[1] for n in names
                      if n.startswith("revive_formats/")) == formats
        assert zf.read("revive_formats/take.py") == \
            (ROOT / "revive_core" / "formats" / "take.py").read_bytes()
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        assert all((i.external_attr >> 16) & 0o170000 != 0o120000 for i in info.values())
    assert not list((tmp_path / "dist").glob("*.part"))

    user = tmp_path / "blender_user"
    env = {"BLENDER_USER_RESOURCES": str(user), "BLENDER_USER_CONFIG": str(user / "config"),
           "BLENDER_USER_SCRIPTS": str(user / "scripts"),
           "BLENDER_USER_EXTENSIONS": str(user / "extensions")}
    result = run_python(f"""
        import json, sys, bpy
        r = bpy.ops.extensions.package_install_files(
            filepath={str(zip_path)!r}, repo="user_default", enable_on_install=True)
        module = sys.modules["bl_ext.user_default.revive"]
        prefs = bpy.context.preferences.addons["bl_ext.user_default.revive"].preferences
        prefs.revive_command = {str(REVIVE)!r}
        out = {{"install": sorted(r), "module_file": module.__file__,
               "panels": [hasattr(bpy.types, p) for p in (
                   "REVIVE_PT_panel", "REVIVE_PT_create", "REVIVE_PT_face", "REVIVE_PT_layers",
                   "REVIVE_PT_render")],
               "panel_category": bpy.types.REVIVE_PT_panel.bl_category}}

        def op(name, **kw):
            try:
                return sorted(getattr(bpy.ops.revive, name)(**kw))
            except RuntimeError as exc:  # how an operator's error report reaches a script
                return str(exc)

        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        scene.render.resolution_x, scene.render.resolution_y = 64, 64
        out["avatar_op"] = op("import_avatar", filepath={str(avatar_dir)!r})
        head = bpy.context.active_object
        out["head"] = head.name
        out["keys"] = [k.name for k in head.data.shape_keys.key_blocks]
        out["take_op"] = op("import_take", filepath={str(take_dir / "take.json")!r})
        out["frame_end"] = scene.frame_end
        out["has_camera"] = scene.camera is not None
        out["missing_take"] = op("import_take", filepath="/no/such/take")

        controls = next(o for o in scene.objects if o.name.startswith("Revive Face Controls"))
        controls["jawOpen"] = 0.7
        out["reset_op"] = op("reset_face")
        out["jaw_after_reset"] = controls["jawOpen"]
        out["key_op"] = op("key_face")
        action = controls.animation_data.action
        out["keyed"] = action is not None

        scene.revive.mode = "portrait"
        out["stage_op"] = op("setup_stage")
        out["portrait_resolution"] = [scene.render.resolution_x, scene.render.resolution_y]
        out["camera_lens"] = round(scene.camera.data.lens, 3)
        scene.revive.mode = "studio"
        scene.revive.framing, scene.revive.background = "shoulders", "light"
        out["studio_op"] = op("setup_stage")

        scene.revive.line_text = "Hello."
        scene.revive.language = "en"
        out["speak_op"] = op("speak_line")
        out["spoken_frames"] = scene.frame_end
        out["spoken_text"] = scene.get("revive_take_text")
        out["preview_op"] = op("preview")
        out["build_without_consent"] = op("build_avatar", directory={str(SAMPLE_PHOTO.parent)!r},
                                          files=[{{"name": {SAMPLE_PHOTO.name!r}}}])

        scene.revive.samples, scene.revive.device = 1, "cpu"
        scene.render.resolution_x, scene.render.resolution_y = 32, 32
        scene.frame_end = 3
        out["render_op"] = op("render_video", filepath={str(tmp_path / "ui.mp4")!r})
        out["last_device"] = scene.revive.last_device
        print("RESULT " + json.dumps(out))
        """, env=env)
    assert result["install"] == ["FINISHED"]
    assert Path(result["module_file"]).is_relative_to(user), "installed outside the temp dir"
    assert all(result["panels"]) and result["panel_category"] == "Revive"
    assert result["avatar_op"] == ["FINISHED"] and result["head"] == avatar.name
    assert result["keys"] == ["Basis", *avatar.blendshape_names, "Portrait expression"]
    assert result["take_op"] == ["FINISHED"] and result["frame_end"] == take.frame_count
    assert result["has_camera"]
    assert "Take not found: /no/such/take" in result["missing_take"]
    assert "Traceback" not in result["missing_take"]
    assert result["reset_op"] == ["FINISHED"] and result["jaw_after_reset"] == 0.0
    assert result["key_op"] == ["FINISHED"] and result["keyed"]
    assert result["stage_op"] == ["FINISHED"] and result["studio_op"] == ["FINISHED"]
    assert result["portrait_resolution"] == [64, 64]  # the photo's shape inside 64 x 64
    assert result["camera_lens"] == pytest.approx(1.4 * 36.0, abs=1e-3)  # f = 1.4 x width
    # The line was spoken by the real `revive say` in the background and applied as a take.
    assert result["speak_op"] == ["FINISHED"] and result["spoken_text"] == "Hello."
    assert result["spoken_frames"] > 5
    spoken = sorted(Path(f"{avatar_dir}.takes").iterdir())
    assert len(spoken) == 1 and (spoken[0] / "take.json").is_file()
    assert result["preview_op"] == ["FINISHED"] and (spoken[0] / "preview.mp4").stat().st_size
    assert "only with a consent record" in result["build_without_consent"]
    assert result["render_op"] == ["FINISHED"] and result["last_device"] == "CPU"
    assert (tmp_path / "ui.mp4").stat().st_size > 0
    assert not (tmp_path / "ui.mp4.frames").exists()  # the frame cache is gone once encoded


@needs_bpy
def test_a_background_job_reports_progress_and_stops_when_cancelled(tmp_path):
    """The real `revive build` (minutes of work) stopped after its first step."""
    out = tmp_path / "avatar"
    result = run_python(f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from blender_addon.ui.jobs import Job
        job = Job([{str(REVIVE)!r}, "build", {str(SAMPLE_PHOTO)!r}, "--out", {str(out)!r},
                   "--consent", "Test Family, fixture, 2026-01-01"], "Building the avatar")
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = job.poll()
            seen.append(status.message)
            if status.fraction is not None or not status.running:
                break
            time.sleep(0.1)
        started = time.monotonic()
        job.cancel()
        status = job.wait(timeout=30)
        print("RESULT " + json.dumps({{"messages": seen[-3:], "fraction": status.fraction,
            "running": status.running, "code": status.exit_code, "cancelled": job.cancelled,
            "message": status.message, "stop_s": time.monotonic() - started}}))
        """)
    assert not result["running"] and result["cancelled"] and result["code"] != 0
    assert result["message"] == "Stopped" and result["stop_s"] < 10
    assert result["fraction"] is not None and result["fraction"] < 1  # it had begun its steps
    assert not out.exists() and not list(tmp_path.glob(".avatar*"))  # nothing half-written


# --- the head, its rig and materials, the take's layers, the stage ---------------------------

SCENE_SCRIPT = """
    import json, sys
    sys.path.insert(0, {root!r})
    import bpy
    import numpy as np
    from bpy_extras.object_utils import world_to_camera_view
    from blender_addon.imp.head import import_avatar
    from blender_addon.imp.rig import find_controls
    from blender_addon.revive_formats import read_avatar, read_take
    from blender_addon.stage import stage
    from blender_addon.stage.performance import apply_take

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    avatar, take = read_avatar({avatar!r}), read_take({take!r})
    head = import_avatar(avatar)
    controls = find_controls(head)
    out = {{"controls": controls.name, "controls_parent": controls.parent.name}}

    # The rig: every shape key is driven by its control, and the control moves the mesh.
    keys = head.data.shape_keys
    drivers = {{d.data_path: d for d in keys.animation_data.drivers}}
    out["driven"] = sorted(b.name for b in keys.key_blocks
                           if f'key_blocks["{{b.name}}"].value' in drivers)
    out["simple"] = all(d.driver.is_simple_expression for d in drivers.values())

    def evaluated():
        depsgraph = bpy.context.evaluated_depsgraph_get()
        mesh = head.evaluated_get(depsgraph).to_mesh()
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        head.evaluated_get(depsgraph).to_mesh_clear()
        return co.reshape(-1, 3)

    rest = evaluated()
    controls["jawOpen"] = 1.0
    controls.update_tag()  # a script's change to a custom property needs this (the UI tags it)
    bpy.context.view_layer.update()
    out["jaw_key"] = keys.key_blocks["jawOpen"].value
    out["jaw_moved_m"] = (evaluated() - rest).tolist()
    controls["jawOpen"] = 0.0
    controls["gazeYaw"] = 15.0
    controls.update_tag()
    bpy.context.view_layer.update()
    out["gaze_keys"] = [keys.key_blocks[n].value for n in ("eyeLookOutLeft", "eyeLookInLeft")]
    controls["gazeYaw"] = 0.0

    # Materials by region.
    mesh = head.data
    out["materials"] = [m["revive_kind"] for m in mesh.materials]
    index = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("material_index", index)
    out["material_index"] = index.tolist()

    def principled(material):
        return next(n for n in material.node_tree.nodes
                    if n.bl_idname == "ShaderNodeBsdfPrincipled")

    def value(node, *names):
        socket = next(node.inputs[n] for n in names if n in node.inputs)
        return socket.default_value if isinstance(socket.default_value, float) else \\
            list(socket.default_value)[:3]

    skin, eye, teeth, mouth = (principled(m) for m in mesh.materials)
    rough = skin.inputs["Roughness"].links[0].from_node  # the mix toward matte painted hair
    rough = next(s for s in rough.inputs if s.identifier == "A_Float").links[0].from_node
    out["skin"] = {{"roughness": [rough.inputs["To Min"].default_value,
                                 rough.inputs["To Max"].default_value],
                   "subsurface": value(skin, "Subsurface Weight", "Subsurface"),
                   "radius_m": (np.asarray(value(skin, "Subsurface Radius"))
                                * value(skin, "Subsurface Scale")).tolist(),
                   "method": skin.subsurface_method, "ior": value(skin, "IOR"),
                   "textured": skin.inputs["Base Color"].is_linked}}
    out["eye"] = {{"roughness": value(eye, "Roughness"),
                  "coat": value(eye, "Coat Weight", "Clearcoat"),
                  "textured": eye.inputs["Base Color"].is_linked}}
    out["teeth"] = value(teeth, "Base Color")
    out["mouth_darkened"] = mouth.inputs["Base Color"].links[0].from_node.name

    # The take as layers.
    apply_take(head, take, subtitles=True)
    apply_take(head, take, subtitles=True)  # a second take replaces the first
    pivot = head.parent
    tracks = controls.animation_data.nla_tracks

    def channels(track):
        action = track.strips[0].action
        if hasattr(action, "slots"):
            from bpy_extras.anim_utils import action_get_channelbag_for_slot
            curves = action_get_channelbag_for_slot(action, track.strips[0].action_slot).fcurves
        else:
            curves = action.fcurves
        return sorted((c.data_path, c.array_index) for c in curves)

    out["tracks"] = [(t.name, t.strips[0].blend_type, channels(t)) for t in tracks]
    out["head_tracks"] = [(t.name, t.strips[0].blend_type, channels(t))
                          for t in pivot.animation_data.nla_tracks]
    out["active_actions"] = [controls.animation_data.action is None,
                             pivot.animation_data.action is None]
    out["actions"] = len(bpy.data.actions)
    frames = {frames!r}
    values = {{"jawOpen": [], "eyeBlinkLeft": [], "eyeLookOutLeft": [], "yaw": []}}
    for f in frames:
        scene.frame_set(f + 1)
        for name in ("jawOpen", "eyeBlinkLeft", "eyeLookOutLeft"):
            values[name].append(keys.key_blocks[name].value)
        values["yaw"].append(pivot.rotation_euler.z)
    out["values"] = values
    out["fps"] = [scene.render.fps, scene.render.fps_base]
    out["range"] = [scene.frame_start, scene.frame_end]
    strips = scene.sequence_editor.strips if hasattr(scene.sequence_editor, "strips") \\
        else scene.sequence_editor.sequences
    out["strips"] = sorted((s.name, s.type, int(s.frame_final_start), int(s.frame_final_end))
                           for s in strips)
    out["sound_packed"] = next(s for s in strips if s.type == "SOUND").sound.packed_file is not None

    # The stage: framings from near to far, lights, backgrounds.
    scene.frame_set(1)
    heights = {{}}
    for framing in ("close-up", "portrait", "shoulders"):
        camera = stage.setup_stage(scene, head, resolution=(320, 240), framing=framing)
        bpy.context.view_layer.update()
        points = [world_to_camera_view(scene, camera, head.matrix_world @ v.co)
                  for v in head.data.vertices]
        ys = [p.y for p in points]
        heights[framing] = max(ys) - min(ys)
    out["heights"] = heights
    out["view"] = [scene.view_settings.view_transform, scene.view_settings.look]
    out["lights"] = sorted(o.name for o in scene.objects if o.type == "LIGHT")
    out["cameras"] = len([o for o in scene.objects if o.type == "CAMERA"])
    camera = stage.setup_stage(scene, head, resolution=(320, 240), light="photo",
                               background="light")
    bpy.context.view_layer.update()
    light = next(o for o in scene.objects if o.type == "LIGHT")
    target = np.mean([head.matrix_world @ v.co for v in head.data.vertices], axis=0)
    out["photo_light"] = [light.name, (np.asarray(light.location) - target).tolist()]
    out["lights_photo"] = len([o for o in scene.objects if o.type == "LIGHT"])
    # A single warm distant light from the model's +X as spherical harmonics (radiance).
    sh = np.zeros((9, 3))
    sh[0], sh[3] = 0.2821 * np.array([1.0, 0.8, 0.6]), 0.4886 * np.array([1.0, 0.8, 0.6])
    direction, key, ambient, directional = stage.light_estimate({{"sh": sh.tolist()}})
    out["sh"] = [direction.tolist(), key.tolist(), directional]
    out["world_seen"] = list(scene.world.color)
    out["film_transparent"] = [scene.render.film_transparent]
    stage.setup_stage(scene, head, resolution=(320, 240), background="transparent")
    out["film_transparent"].append(scene.render.film_transparent)
    camera = stage.setup_stage(scene, head, resolution=(320, 240), background="photo")
    bpy.context.view_layer.update()
    backdrop = next(o for o in scene.objects if o.name.startswith("Revive backdrop"))
    out["backdrop"] = [backdrop.parent.name, backdrop.visible_shadow]
    label = next(o for o in scene.objects if o.get("revive_label"))
    out["label_in_view"] = list(world_to_camera_view(scene, camera, label.matrix_world.translation))
    print("RESULT " + json.dumps(out))
"""


@needs_bpy
def test_head_rig_materials_layers_and_stage(tmp_path, avatar_builder, take_builder):
    avatar = regioned(avatar_builder())
    take = layered_take(take_builder)
    avatar_dir = write_avatar(with_portrait(avatar), tmp_path / "avatar")
    take_dir = write_take(take, tmp_path / "take")
    frames = [0, 3, 5, 9]
    r = run_python(SCENE_SCRIPT.format(root=str(ROOT), avatar=str(avatar_dir),
                                       take=str(take_dir), frames=frames))
    assert r["controls"] == "Revive Face Controls" and r["controls_parent"] == "Revive Head"

    # Every ARKit key is driven by its slider (the portrait expression is not a control) ...
    assert r["driven"] == sorted(avatar.blendshape_names) and r["simple"]
    # ... and moving the slider moves the mesh by the shape's delta (Blender axes: x, -z, y).
    assert r["jaw_key"] == pytest.approx(1.0)
    jaw = avatar.blendshape_deltas_m[0]
    np.testing.assert_allclose(r["jaw_moved_m"], np.stack([jaw[:, 0], -jaw[:, 2], jaw[:, 1]], 1),
                               atol=1e-6)
    # The gaze drives the eye-look keys: 15 degrees toward +X is half of eyeLookOutLeft.
    assert r["gaze_keys"] == pytest.approx([0.5, 0.0], abs=1e-5)

    # One material per kind of region, each triangle with its region's material.
    assert r["materials"] == ["skin", "eye", "teeth", "mouth"]
    corners = avatar.vertex_regions[avatar.faces]
    whole = (corners == corners[:, :1]).all(axis=1)
    assert np.array_equal(np.asarray(r["material_index"])[whole], corners[whole, 0])
    assert set(np.asarray(r["material_index"])[whole]) == {0, 1, 2, 3}
    # Skin for Cycles: roughness 0.45 +- 0.05, random-walk subsurface of a few millimetres
    # (red deepest), sized to the head.
    assert r["skin"]["roughness"] == pytest.approx([0.4, 0.5])
    assert r["skin"]["subsurface"] == pytest.approx(0.2) and r["skin"]["textured"]
    assert r["skin"]["method"] in ("RANDOM_WALK", "RANDOM_WALK_SKIN")
    assert r["skin"]["ior"] == pytest.approx(1.4)
    radius = np.asarray(r["skin"]["radius_m"])
    assert radius[0] > radius[1] > radius[2] and 0.001 < radius[0] < 0.006
    assert r["eye"]["roughness"] < 0.1 and r["eye"]["coat"] == 1.0 and r["eye"]["textured"]
    assert r["teeth"] == pytest.approx([0.78, 0.74, 0.64])
    assert r["mouth_darkened"] == "Revive mouth darkening"

    # The take as layers: three NLA tracks on the controls, one on the pivot, no active action.
    assert r["tracks"] == [
        ["Mouth", "REPLACE", [['["jawOpen"]', 0]]],
        ["Emotion", "ADD", [['["jawOpen"]', 0]]],  # browInnerUp is zero throughout: left out
        ["Blinks and gaze", "ADD", [['["eyeBlinkLeft"]', 0], ['["gazeYaw"]', 0]]]]
    assert r["head_tracks"] == [["Head motion", "REPLACE",
                                 [["rotation_euler", 0], ["rotation_euler", 1],
                                  ["rotation_euler", 2]]]]
    assert r["active_actions"] == [True, True] and r["actions"] == 4  # old ones removed
    # Mouth + emotion + blinks, clamped to 0..1, is the take's combined curve, frame by frame.
    values = r["values"]
    np.testing.assert_allclose(values["jawOpen"], take.curve("jawOpen")[frames], atol=1e-4)
    assert values["jawOpen"][-1] == pytest.approx(1.0)  # 0.8 + 0.3, clamped
    np.testing.assert_allclose(values["eyeBlinkLeft"], take.curve("eyeBlinkLeft")[frames],
                               atol=1e-4)
    np.testing.assert_allclose(values["eyeLookOutLeft"], take.gaze_deg[frames, 0] / 30.0,
                               atol=1e-4)
    np.testing.assert_allclose(values["yaw"], np.radians(take.head_rotation_deg[frames, 1]),
                               atol=1e-4)
    assert r["fps"] == [25, 1.0] and r["range"] == [1, take.frame_count]
    # The voice and the subtitles (cue times in frames, 1-based) in the sequencer.
    assert r["strips"] == [["Revive subtitle 1", "TEXT", 1, 6],
                           ["Revive subtitle 2", "TEXT", 6, 11],
                           ["Revive voice", "SOUND", 1, 11]]
    assert r["sound_packed"]

    # The stage: the head (here all of it: the tiny head has no neck) fills about two thirds
    # of the frame's height in close-up, less from portrait to shoulders; PBR Neutral in the studio.
    heights = r["heights"]
    assert 0.55 < heights["close-up"] < 0.75
    assert heights["close-up"] > heights["portrait"] * 1.2 > heights["shoulders"] * 1.4
    assert r["view"] == ["Khronos PBR Neutral", "None"]
    assert r["lights"] == ["Revive fill light", "Revive key light", "Revive rim light"]
    assert r["cameras"] == 1
    # The photo's light comes from its estimated direction (model +X/+Y/+Z -> Blender x/-z/y).
    name, offset = r["photo_light"]
    direction = np.array([0.6, -0.62, 0.5]) / np.linalg.norm([0.6, 0.5, 0.62])
    assert name == "Revive photo light" and r["lights_photo"] == 1
    assert np.dot(np.asarray(offset) / np.linalg.norm(offset), direction) > 0.99
    sh_direction, sh_key, sh_directional = r["sh"]
    assert sh_direction == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)
    assert sh_key == pytest.approx([1.0, 0.8, 0.6]) and sh_directional == pytest.approx(1.0, abs=0.01)
    assert r["world_seen"] == pytest.approx([0.75] * 3)
    assert r["film_transparent"] == [False, True]
    assert r["backdrop"] == ["Revive camera", False]
    lx, ly, _ = r["label_in_view"]
    assert lx > 0.9 and ly < 0.1


@needs_bpy
def test_a_take_without_layers_is_split_by_channel_name(tmp_path, tiny_avatar, tiny_take):
    avatar_dir = write_avatar(tiny_avatar, tmp_path / "avatar")
    take_dir = write_take(tiny_take, tmp_path / "take")
    r = run_python(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        from blender_addon.imp.head import import_avatar
        from blender_addon.imp.rig import find_controls
        from blender_addon.revive_formats import read_avatar, read_take
        from blender_addon.stage.performance import apply_take
        bpy.ops.wm.read_homefile(use_empty=True)
        head = import_avatar(read_avatar({str(avatar_dir)!r}))
        take = read_take({str(take_dir)!r})
        apply_take(head, take)
        tracks = find_controls(head).animation_data.nla_tracks
        jaw = []
        for f in (1, 8, 16, 25):
            bpy.context.scene.frame_set(f)
            jaw.append(head.data.shape_keys.key_blocks["jawOpen"].value)
        print("RESULT " + json.dumps({{"tracks": [t.name for t in tracks], "jaw": jaw,
                                      "layers": bool(take.layers)}}))
        """)
    assert r["layers"] is False
    assert r["tracks"] == ["Mouth"]  # eyeBlinkLeft is zero throughout, no emotion channels
    np.testing.assert_allclose(r["jaw"], tiny_take.curve("jawOpen")[[0, 7, 15, 24]], atol=1e-4)


def builtin_head_avatar(tiny_avatar):
    """The built-in model's head as an avatar (with a portrait): quads and triangles."""
    from revive_core.avatar.model.builtin import builtin_model

    model = builtin_model()
    return with_portrait(dataclasses.replace(
        tiny_avatar, vertices_m=model.vertices_m.astype(np.float32), faces=model.faces,
        uvs=model.uvs, uv_faces=model.uv_faces, region_names=model.region_names,
        vertex_regions=model.vertex_regions, landmark_faces=model.landmark_faces,
        landmark_bary=model.landmark_bary, blendshape_names=model.expression_names,
        blendshape_deltas_m=model.expression_deltas_m, polygon_triangles=model.polygon_triangles))


MESH_SCRIPT = """
    import json, sys
    sys.path.insert(0, {root!r})
    import bpy
    import numpy as np
    from blender_addon.imp.head import import_avatar
    from blender_addon.revive_formats import read_avatar

    bpy.ops.wm.read_homefile(use_empty=True)
    out, arrays = {{}}, {{}}
    for label, folder in (("quads", {quads!r}), ("triangles", {triangles!r})):
        mesh = import_avatar(read_avatar(folder)).data
        loops, polygons = len(mesh.loops), len(mesh.polygons)
        sizes = np.empty(polygons, np.int32)
        mesh.polygons.foreach_get("loop_total", sizes)
        arrays[label + "_sizes"] = sizes
        arrays[label + "_corners"] = np.empty(loops, np.int32)
        mesh.loops.foreach_get("vertex_index", arrays[label + "_corners"])
        arrays[label + "_material"] = np.empty(polygons, np.int32)
        mesh.polygons.foreach_get("material_index", arrays[label + "_material"])
        for layer in mesh.uv_layers:
            arrays[label + "_uv_" + layer.name] = np.empty(2 * loops, np.float32)
            layer.data.foreach_get("uv", arrays[label + "_uv_" + layer.name])
        keys = mesh.shape_keys.key_blocks
        arrays[label + "_keys"] = np.empty((len(keys), 3 * len(mesh.vertices)), np.float32)
        for k, block in enumerate(keys):
            block.data.foreach_get("co", arrays[label + "_keys"][k])
        out[label] = {{"vertices": len(mesh.vertices), "keys": [b.name for b in keys],
                       "uv_layers": [layer.name for layer in mesh.uv_layers]}}
    np.savez({arrays!r}, **arrays)
    print("RESULT " + json.dumps(out))
    """


@needs_bpy
def test_builtin_head_imports_as_quads_with_the_same_uvs_materials_and_keys(tmp_path,
                                                                            tiny_avatar):
    from revive_core.formats.polygons import polygon_corners

    avatar = builtin_head_avatar(tiny_avatar)
    quads_dir = write_avatar(avatar, tmp_path / "quads")
    triangles_dir = write_avatar(dataclasses.replace(avatar, polygon_triangles=None),
                                 tmp_path / "triangles")
    r = run_python(MESH_SCRIPT.format(root=str(ROOT), quads=str(quads_dir),
                                      triangles=str(triangles_dir),
                                      arrays=str(tmp_path / "mesh.npz")))
    mesh = dict(np.load(tmp_path / "mesh.npz"))
    corners, sizes = polygon_corners(avatar.polygon_triangles, len(avatar.faces))

    # One Blender polygon per stored polygon: mostly quads, the rest triangles.
    assert np.array_equal(mesh["quads_sizes"], sizes)
    assert len(sizes) == len(avatar.polygon_triangles) < len(avatar.faces)
    assert (mesh["quads_sizes"] == 4).sum() == (avatar.polygon_triangles == 2).sum()
    assert (mesh["quads_sizes"] == 4).mean() >= 0.7
    assert np.array_equal(mesh["triangles_sizes"], np.full(len(avatar.faces), 3))
    # Each corner has the vertex, UVs (albedo and portrait) and material of the triangle mesh.
    assert np.array_equal(mesh["quads_corners"], avatar.faces.ravel()[corners])
    assert r["quads"]["uv_layers"] == r["triangles"]["uv_layers"] == ["UVMap", "Portrait"]
    for layer in r["quads"]["uv_layers"]:
        quads = mesh[f"quads_uv_{layer}"].reshape(-1, 2)
        triangles = mesh[f"triangles_uv_{layer}"].reshape(-1, 2)
        assert np.array_equal(quads, triangles[corners]), layer
    np.testing.assert_allclose(mesh["quads_uv_UVMap"].reshape(-1, 2),
                               avatar.uvs[avatar.uv_faces.ravel()[corners]])
    first = np.cumsum(avatar.polygon_triangles.astype(int)) - avatar.polygon_triangles
    assert np.array_equal(mesh["quads_material"], mesh["triangles_material"][first])
    assert len(set(mesh["quads_material"])) > 2
    # Vertices and shape keys are untouched by the polygons.
    assert r["quads"]["vertices"] == r["triangles"]["vertices"] == avatar.vertex_count
    assert r["quads"]["keys"] == r["triangles"]["keys"]
    assert r["quads"]["keys"][1:1 + len(avatar.blendshape_names)] == avatar.blendshape_names
    assert np.array_equal(mesh["quads_keys"], mesh["triangles_keys"])


# --- portrait mode ---------------------------------------------------------------------------

@needs_bpy
def test_portrait_mode_at_rest_renders_the_photo_itself(tmp_path, tiny_avatar, take_builder):
    # A face mask like the built-in model's: the front of the head, open at its border.
    front_faces = (tiny_avatar.vertices_m[tiny_avatar.faces, 2] > -0.03).all(axis=1)
    avatar = with_portrait(dataclasses.replace(tiny_avatar, faces=tiny_avatar.faces[front_faces],
                                               uv_faces=tiny_avatar.uv_faces[front_faces]))
    avatar_dir = write_avatar(avatar, tmp_path / "avatar")
    take = take_builder(seconds=0.08)
    take.blendshapes[:] = 0.0
    take_dir = write_take(take, tmp_path / "take")
    r = run_python(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import bpy
        import numpy as np
        from bpy_extras.object_utils import world_to_camera_view
        from blender_addon.imp.rig import find_controls
        from blender_addon.render.settings import configure_render
        from blender_addon.revive_formats import read_avatar, read_take
        from blender_addon.stage.scene import build_scene

        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        head = build_scene(scene, read_avatar({str(avatar_dir)!r}), read_take({str(take_dir)!r}),
                           mode="portrait", resolution=(256, 256), visible_label=False)
        configure_render(scene, device="cpu", samples=8)
        scene.frame_set(1)
        camera = scene.camera
        projected = [list(world_to_camera_view(scene, camera, head.matrix_world @ v.co))
                     for v in head.data.vertices]
        border = np.empty(len(head.data.vertices), np.float32)
        head.data.attributes["revive_border"].data.foreach_get("value", border)
        scene.render.image_settings.file_format = "PNG"
        scene.render.filepath = {str(tmp_path / "rest.png")!r}
        bpy.ops.render.render(write_still=True)
        controls = find_controls(head)
        controls["jawOpen"] = 1.0  # pose the face by hand
        controls.update_tag()
        scene.render.filepath = {str(tmp_path / "open.png")!r}
        bpy.ops.render.render(write_still=True)
        print("RESULT " + json.dumps({{
            "resolution": [scene.render.resolution_x, scene.render.resolution_y],
            "projected": projected, "border": border.tolist(),
            "expression": head.data.shape_keys.key_blocks["Portrait expression"].value,
            "slots": [s.link for s in head.material_slots]}}))
        """)
    assert r["resolution"] == [PHOTO_SIZE, PHOTO_SIZE]  # the photo's own size fits 256 x 256
    assert r["expression"] == 1.0 and r["slots"] == ["OBJECT"]

    # The mesh sits where the photo's camera saw it: its vertices project as the camera says.
    from revive_core.geometry.camera import Camera

    camera = Camera.from_dict(avatar.portrait)
    pixels, _ = camera.project(avatar.vertices_m)  # the mesh's own (rest) coordinates
    projected = np.asarray(r["projected"])
    np.testing.assert_allclose(projected[:, 0] * PHOTO_SIZE, pixels[:, 0], atol=0.05)
    np.testing.assert_allclose((1 - projected[:, 1]) * PHOTO_SIZE, pixels[:, 1], atol=0.05)

    # The outer border fades (0 on it, 1 well inside).
    border = np.asarray(r["border"])[np.unique(avatar.faces)]
    assert border.min() == 0.0 and border.max() == 1.0 and (border == 1.0).mean() > 0.3

    # At rest the render is the photo: small differences over the face, where the head is.
    photo = np.asarray(Image.open(SAMPLE_PHOTO).convert("RGB").resize((PHOTO_SIZE,) * 2),
                       np.float64)
    rest = np.asarray(Image.open(tmp_path / "rest.png").convert("RGB"), np.float64)
    opened = np.asarray(Image.open(tmp_path / "open.png").convert("RGB"), np.float64)
    front = avatar.vertices_m[:, 2] > 0.02
    xs, ys = pixels[front, 0], pixels[front, 1]
    face = (slice(int(ys.min()) + 4, int(ys.max()) - 4), slice(int(xs.min()) + 4,
                                                             int(xs.max()) - 4))
    rest_error = np.abs(rest - photo)[face].mean()
    assert rest_error < 3.0, f"the rest frame differs from the photo by {rest_error:.2f}"
    assert np.abs(rest - photo).mean() < 3.0
    # Opening the jaw by hand changes the face (the head is really there, not just the photo).
    assert np.abs(opened - photo)[face].mean() > 4 * rest_error


# --- rendering: frames, resume, video --------------------------------------------------------

@pytest.mark.slow
@needs_bpy
@needs_ffmpeg
def test_three_frames_render_resume_after_a_crash_and_encode_once(tmp_path, folders,
                                                                  short_take):
    take_dir, take = short_take
    video = tmp_path / "out" / "take.mp4"
    cache = tmp_path / "out" / "take.mp4.frames"
    common = ["--avatar", str(folders[0]), "--take", str(take_dir), "--out", str(video),
              "--device", "cpu", "--samples", "2", "--resolution", "96x96", "--subtitles",
              "--keep-frames"]
    first = run_batch(*common, "--frames", "1-2")
    assert first.returncode == 0, first.stderr
    assert "Revive: device CPU" in first.stdout
    assert "Revive: frames 2/3 in" in first.stdout and not video.exists()
    assert sorted(p.name for p in cache.glob("*.png")) == ["frame_000001.png",
                                                           "frame_000002.png"]
    # A crash cut frame 2 short; the next run redoes it, skips frame 1, renders frame 3.
    frame_2 = cache / "frame_000002.png"
    frame_2.write_bytes(frame_2.read_bytes()[:200])
    second = run_batch(*common)
    assert second.returncode == 0, second.stderr
    rendered = [line for line in second.stdout.splitlines() if line.startswith("Revive: frame ")]
    assert rendered == ["Revive: frame 2 (1/2)", "Revive: frame 3 (2/2)"]
    assert f"Revive: wrote {video}" in second.stdout

    info = ffprobe(video)
    assert {s["codec_type"]: s["codec_name"] for s in info["streams"]} == \
        {"video": "h264", "audio": "aac"}
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert int(stream["nb_frames"]) == take.frame_count
    label = json.loads(info["format"]["tags"]["revive_label"])
    assert label["render"]["devices"] == ["CPU"] and label["render"]["samples"] == 2
    assert info["format"]["tags"]["comment"] == "AI-generated with Revive"
    assert (tmp_path / "out" / "take.label.json").is_file()
    # The video is the cached frames, with the subtitle burnt in at the bottom centre.
    frame = decode_frame(video, 2).astype(np.float64)
    cached = np.asarray(Image.open(cache / "frame_000003.png").convert("RGB"), np.float64)
    top, bottom = np.abs(frame - cached)[:48], np.abs(frame - cached)[72:, 20:76]
    assert top.mean() < 6 and bottom.mean() > 3 * top.mean()

    # The same settings again: nothing to render, the video is encoded again from the cache.
    third = run_batch(*common)
    assert third.returncode == 0 and "Revive: frame " not in third.stdout
    assert "3 of frames 1-3 are already rendered" in third.stdout
    # Other settings: the stale frames are dropped, not mixed in.
    fourth = run_batch(*common[:-4], "--resolution", "64x64", "--frames", "1-1")
    assert fourth.returncode == 0, fourth.stderr
    assert "show another avatar, take or settings" in fourth.stdout
    assert sorted(p.name for p in cache.glob("*.png")) == ["frame_000001.png"]


@pytest.mark.slow
@needs_core_bpy
@needs_ffmpeg
def test_render_video_writes_h264_aac_mp4_with_the_label(tmp_path, folders, short_take):
    from revive_core.video.render import render_video

    avatar_dir = folders[0]
    take_dir, take = short_take
    labelled = render_video(avatar_dir, take_dir, tmp_path / "out" / "labelled.mp4",
                            device="cpu", samples=2, resolution=(96, 96), progress=False)
    plain = render_video(avatar_dir, take_dir, tmp_path / "out" / "plain.mp4", device="cpu",
                         samples=2, resolution=(96, 96), visible_label=False, progress=False)
    assert labelled.path == tmp_path / "out" / "labelled.mp4" and labelled.path.is_file()
    assert labelled.device == "CPU" and labelled.seconds_per_frame > 0
    assert labelled.frames_done == labelled.frames_total == take.frame_count
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "labelled.label.json", "labelled.mp4", "plain.label.json", "plain.mp4"]
    assert labelled.path.stat().st_size > 1000

    info = ffprobe(labelled.path)
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert int(video["nb_frames"]) == take.frame_count
    frame_s = 1.0 / take.fps
    assert abs(float(info["format"]["duration"]) - take.duration_s) <= frame_s
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert abs(float(audio["duration"]) - take.duration_s) <= frame_s
    assert info["format"]["tags"].get("comment") == "AI-generated with Revive"
    assert ffprobe(plain.path)["format"]["tags"].get("comment") == "AI-generated with Revive"

    # The audio is the take's tone, not silence.
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(labelled.path), "-f", "s16le",
                          "-ac", "1", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(pcm, "<i2").astype(np.float64)
    assert np.sqrt(np.mean(samples ** 2)) > 0.2 * np.sqrt(np.mean(take.audio.astype(float) ** 2))

    # --frames renders part of the take: no video until the rest is there.
    part = render_video(avatar_dir, take_dir, tmp_path / "part" / "part.mp4", device="cpu",
                        samples=1, resolution=(32, 32), frames=(2, 3), progress=False)
    assert part.path is None and (part.frames_done, part.frames_total) == (2, 3)
    assert part.frame_cache == tmp_path / "part" / "part.mp4.frames"

    # The label brightens pixels in the lower-right corner, and only there.
    a = decode_frame(labelled.path, take.frame_count - 1).astype(np.int16)
    b = decode_frame(plain.path, take.frame_count - 1).astype(np.int16)
    changed = np.abs(a - b).max(axis=2) > 40
    rows, cols = np.nonzero(changed)
    assert changed.sum() >= 10, "the label did not change the picture"
    assert rows.min() >= 0.8 * a.shape[0] and cols.min() >= 0.5 * a.shape[1], \
        "pixels changed outside the lower-right corner"
    assert a[changed].mean() > b[changed].mean() + 40  # brighter where the label is


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("blender") is None,
                    reason="no Blender binary; `bash scripts/setup.sh --tests` installs one")
def test_blender_binary_renders_through_the_same_batch_entry(tmp_path, folders, short_take):
    """`blender -b --python batch.py -- ...`: the studio path, with Blender's own Python."""
    from revive_core.video.render import render_video

    take_dir, take = short_take
    result = render_video(folders[0], take_dir, tmp_path / "binary.mp4", device="cpu", samples=1,
                          resolution=(64, 64), blender=shutil.which("blender"), progress=False)
    info = ffprobe(result.path)
    assert {s["codec_type"]: s["codec_name"] for s in info["streams"]} == \
        {"video": "h264", "audio": "aac"}
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert int(video["nb_frames"]) == take.frame_count
    assert result.device == "CPU"
    assert info["format"]["tags"].get("comment") == "AI-generated with Revive"


# --- the batch entry's errors ----------------------------------------------------------------

@needs_bpy
def test_batch_missing_avatar_folder_exits_2_naming_it_without_traceback(tmp_path, folders):
    missing = tmp_path / "no_such_avatar"
    result = run_batch("--avatar", str(missing), "--take", str(folders[1]),
                       "--out", str(tmp_path / "v.mp4"))
    assert result.returncode == 2
    assert str(missing) in result.stderr and result.stderr.startswith("Revive: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "v.mp4").exists()


@needs_bpy
@pytest.mark.parametrize("args, message", [
    (["--frames", "3-99"], "outside the take's frames 1-25"),
    (["--resolution", "97x96"], "must be even numbers"),
    (["--engine", "povray"], "invalid choice"),
    (["--preset", "cinema"], "invalid choice"),
])
def test_batch_bad_options_exit_2_with_a_message(tmp_path, folders, args, message):
    result = run_batch("--avatar", str(folders[0]), "--take", str(folders[1]),
                       "--out", str(tmp_path / "v.mp4"), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@needs_bpy
def test_portrait_mode_without_a_photo_fails_kindly(tmp_path, tiny_avatar, short_take):
    avatar_dir = write_avatar(tiny_avatar, tmp_path / "avatar")
    result = run_batch("--avatar", str(avatar_dir), "--take", str(short_take[0]),
                       "--out", str(tmp_path / "v.mp4"), "--mode", "portrait")
    assert result.returncode == 2
    assert "carries no portrait photo" in result.stderr and "revive build" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "v.mp4.frames").exists()


@needs_bpy
def test_batch_device_gpu_without_a_gpu_fails_clearly(tmp_path, folders, short_take):
    result = run_batch("--avatar", str(folders[0]), "--take", str(short_take[0]),
                       "--out", str(tmp_path / "v.mp4"), "--device", "gpu",
                       "--resolution", "32x32", "--samples", "1")
    if result.returncode == 0:  # a machine with a GPU: it must have been used, not the CPU
        assert "Revive: device CPU" not in result.stdout
        return
    assert result.returncode == 2
    assert "No GPU that Cycles can use was found" in result.stderr
    assert "--device cpu" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "v.mp4").exists()
    assert list(tmp_path.glob(".v.mp4.*")) == []  # no temporary left behind


# --- the core side stays free of bpy ---------------------------------------------------------

def test_core_render_module_does_not_import_bpy_and_names_a_missing_blender():
    script = """
        import json, sys
        from revive_core.video import render
        from revive_core.errors import ReviveError
        try:
            render.render_video("a", "t", "x.mp4", blender="/no/such/blender")
            message = None
        except ReviveError as exc:
            message = exc.message
        print("RESULT " + json.dumps({"bpy": "bpy" in sys.modules, "message": message}))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    assert result["bpy"] is False
    assert result["message"] == "The Blender program /no/such/blender was not found."


@needs_bpy
def test_gpu_selection_prefers_optix_and_enables_only_gpu_devices():
    """The one stand-in: a GPU this machine lacks. The real no-GPU path is tested above."""
    result = run_python("""
        import json, sys
        sys.path.insert(0, ".")
        from blender_addon.render.settings import find_gpu

        class Device:
            def __init__(self, name, type):
                self.name, self.type, self.use = name, type, False

        class Preferences:  # Cycles' preferences on a machine with one NVIDIA GPU
            def __init__(self, offered):
                self.offered, self._type, self.devices = offered, "NONE", []
            @property
            def compute_device_type(self):
                return self._type
            @compute_device_type.setter
            def compute_device_type(self, value):
                if value not in self.offered + ("NONE",):
                    raise TypeError(value)
                self._type = value
            def refresh_devices(self):
                self.devices = [Device("CPU", "CPU")] + [
                    Device("NVIDIA H200", self._type)] * (self._type in ("OPTIX", "CUDA"))

        both = Preferences(("CUDA", "OPTIX", "HIP"))
        cuda_only = Preferences(("CUDA", "HIP"))
        none = Preferences(("HIP",))
        print("RESULT " + json.dumps({
            "both": find_gpu(both), "cpu_used": both.devices[0].use,
            "gpu_used": both.devices[1].use, "cuda_only": find_gpu(cuda_only),
            "none": find_gpu(none)}))
    """)
    assert result["both"] == ["OPTIX", ["NVIDIA H200"]]
    assert result["gpu_used"] is True and result["cpu_used"] is False
    assert result["cuda_only"] == ["CUDA", ["NVIDIA H200"]]
    assert result["none"] is None
