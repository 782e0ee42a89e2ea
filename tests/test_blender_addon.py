"""The Blender add-on with the real bpy module: extension zip, scene building, render, batch.

bpy is one global Blender per process, and Blender state (scenes, registered classes, the
Cycles device preferences) would leak from test to test. So every test that touches bpy runs
its Blender work in a fresh ``python`` subprocess (about 0.5 s to start): a failure can't
poison the next test, the pytest process never imports bpy, and a crash (EEVEE without EGL
aborts the whole process) fails one test instead of the run. The subprocess scripts print one
``RESULT {json}`` line; the assertions stay here, where pytest shows them well.
"""
from __future__ import annotations

import importlib.util
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

from revive_core.formats import write_avatar, write_take

ROOT = Path(__file__).resolve().parents[1]
HAS_BPY = importlib.util.find_spec("bpy") is not None
HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None

pytestmark = pytest.mark.blender
needs_bpy = pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module (pip install bpy)")
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="needs ffmpeg and ffprobe")


# --- helpers ---------------------------------------------------------------------------------

def run_python(script: str, *, env: dict | None = None, timeout: float = 120) -> dict:
    """Run ``script`` in a fresh Python with bpy; return its ``RESULT`` JSON."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, (
        f"exit code {result.returncode}\nstdout:\n{result.stdout[-3000:]}\n"
        f"stderr:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def run_batch(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "blender_addon" / "batch.py"), *args],
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


@pytest.fixture
def folders(tmp_path, tiny_avatar, tiny_take):
    """The fixture avatar and take written as folders, the take with a head turn added."""
    n = tiny_take.frame_count
    tiny_take.head_rotation_deg[:, 0] = 4.0 * np.sin(np.arange(n) / 4.0)  # nod
    tiny_take.head_rotation_deg[:, 1] = np.linspace(0.0, 12.0, n)  # turn
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(tiny_take, tmp_path / "take")
    return avatar, take, tiny_avatar, tiny_take


@pytest.fixture
def short_take(tmp_path, take_builder):
    """A 4-frame take (0.16 s at 25 fps) for real renders."""
    take = take_builder(seconds=0.16, ramp_s=0.12)
    assert take.frame_count == 4
    return write_take(take, tmp_path / "short_take"), take


# --- the extension zip -----------------------------------------------------------------------

@needs_bpy
def test_extension_zip_installs_and_its_operators_import_avatar_and_take(tmp_path, folders):
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
        assert {"scene.py", "render_settings.py", "ui.py", "batch.py"} <= set(names)
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
        out = {{"install": sorted(r), "module_file": module.__file__,
               "panel": hasattr(bpy.types, "REVIVE_PT_panel"),
               "panel_category": bpy.types.REVIVE_PT_panel.bl_category,
               "operators": [n in dir(bpy.ops.revive)
                             for n in ("import_avatar", "import_take", "render_video")]}}
        bpy.ops.wm.read_homefile(use_empty=True)
        out["avatar_op"] = sorted(bpy.ops.revive.import_avatar(filepath={str(avatar_dir)!r}))
        head = bpy.context.active_object
        out["head"] = head.name
        out["keys"] = [k.name for k in head.data.shape_keys.key_blocks]
        out["take_op"] = sorted(bpy.ops.revive.import_take(
            filepath={str(take_dir / "take.json")!r}))
        out["frame_end"] = bpy.context.scene.frame_end
        out["has_camera"] = bpy.context.scene.camera is not None
        try:
            bpy.ops.revive.import_take(filepath="/no/such/take")
            out["error"] = None
        except RuntimeError as exc:  # how an operator's error report reaches a script
            out["error"] = str(exc)
        scene = bpy.context.scene
        scene.revive.samples, scene.revive.device = 1, "cpu"
        scene.render.resolution_x, scene.render.resolution_y = 32, 32
        scene.frame_end = 3
        video = {str(tmp_path / "ui.mp4")!r}
        out["render_op"] = sorted(bpy.ops.revive.render_video(filepath=video))
        out["last_device"] = scene.revive.last_device
        prefs = bpy.context.preferences.addons["bl_ext.user_default.revive"].preferences
        out["prefs"] = hasattr(prefs, "revive_command")
        print("RESULT " + json.dumps(out))
        """, env=env)
    assert result["install"] == ["FINISHED"]
    assert Path(result["module_file"]).is_relative_to(user), "installed outside the temp dir"
    assert result["panel"] and result["panel_category"] == "Revive"
    assert result["operators"] == [True, True, True]
    assert result["avatar_op"] == ["FINISHED"] and result["head"] == avatar.name
    assert result["keys"] == ["Basis", *avatar.blendshape_names]
    assert result["take_op"] == ["FINISHED"] and result["frame_end"] == take.frame_count
    assert result["has_camera"]
    assert "Take not found: /no/such/take" in result["error"]
    assert "Traceback" not in result["error"]
    assert result["render_op"] == ["FINISHED"] and result["last_device"] == "CPU"
    assert (tmp_path / "ui.mp4").stat().st_size > 0
    assert result["prefs"]


# --- scene building --------------------------------------------------------------------------

SCENE_SCRIPT = """
    import json, sys
    sys.path.insert(0, {root!r})
    import bpy
    from bpy_extras.anim_utils import action_get_channelbag_for_slot
    from bpy_extras.object_utils import world_to_camera_view
    from blender_addon import scene as revive_scene
    from blender_addon.revive_formats import read_avatar, read_take

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    avatar, take = read_avatar({avatar!r}), read_take({take!r})
    head = revive_scene.import_avatar(avatar)
    revive_scene.apply_take(head, take)
    revive_scene.apply_take(head, take)  # a second take replaces the first
    revive_scene.setup_stage(scene, head, resolution=(320, 240))
    camera = revive_scene.setup_stage(scene, head, resolution=(320, 240))  # replaces the first

    def curves(datablock):
        ad = datablock.animation_data
        return action_get_channelbag_for_slot(ad.action, ad.action_slot).fcurves

    frames = {frames!r}
    jaw = curves(head.data.shape_keys).find('key_blocks["jawOpen"].value')
    rotation = [curves(head.parent).find("rotation_euler", index=i) for i in range(3)]
    material = head.data.materials[0]
    textures = [n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeTexImage"]
    image = textures[0].image
    bsdf = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    strips = scene.sequence_editor.strips
    label = next(o for o in scene.objects if o.get("revive_label"))
    scene.frame_set(1)
    face_centre = sum((head.matrix_world @ v.co for v in head.data.vertices),
                      start=head.matrix_world.translation * 0) / len(head.data.vertices)
    label_corner = world_to_camera_view(scene, camera, label.matrix_world.translation)
    out = {{
        "keys": [k.name for k in head.data.shape_keys.key_blocks],
        "vertex_count": len(head.data.vertices),
        "jaw": [jaw.evaluate(f + 1) for f in frames],
        "curve_count": len(curves(head.data.shape_keys)),
        "actions": len(bpy.data.actions),
        "rotation_x": [rotation[0].evaluate(f + 1) for f in frames],
        "rotation_z": [rotation[2].evaluate(f + 1) for f in frames],
        "rotation_mode": head.parent.rotation_mode,
        "pivot": head.parent.name,
        "image_size": list(image.size), "image_packed": image.packed_file.size,
        "image_linked": bool(textures[0].outputs["Color"].links) and
                        textures[0].outputs["Color"].links[0].to_socket.name == "Base Color",
        "roughness": bsdf.inputs["Roughness"].default_value,
        "consent": json.loads(head["revive_consent"]),
        "fps": [scene.render.fps, scene.render.fps_base],
        "range": [scene.frame_start, scene.frame_end],
        "strips": [s.name for s in strips], "sound_packed": strips[0].sound.packed_file is not None,
        "cameras": len([o for o in scene.objects if o.type == "CAMERA"]),
        "lights": sorted(o.data.type for o in scene.objects if o.type == "LIGHT"),
        "face_in_view": list(world_to_camera_view(scene, camera, face_centre)),
        "label_in_view": list(label_corner),
        "label_parent": label.parent.name,
        "label_body": label.data.body,
        "world": list(scene.world.color),
    }}
    print("RESULT " + json.dumps(out))
"""


@needs_bpy
def test_import_avatar_and_apply_take_key_the_take_on_shape_keys_and_head(folders):
    avatar_dir, take_dir, avatar, take = folders
    frames = [0, 3, 7, 15, take.frame_count - 1]
    r = run_python(SCENE_SCRIPT.format(root=str(ROOT), avatar=str(avatar_dir),
                                       take=str(take_dir), frames=frames))
    assert r["keys"] == ["Basis", "jawOpen", "eyeBlinkLeft"]
    assert r["vertex_count"] == avatar.vertex_count
    np.testing.assert_allclose(r["jaw"], take.curve("jawOpen")[frames], atol=1e-4)
    assert r["curve_count"] == 2 and r["actions"] == 2  # old actions were replaced
    # Pitch is Blender X, yaw is Blender Z, in radians, on the "Revive Head" pivot.
    np.testing.assert_allclose(r["rotation_x"],
                               np.radians(take.head_rotation_deg[frames, 0]), atol=1e-4)
    np.testing.assert_allclose(r["rotation_z"],
                               np.radians(take.head_rotation_deg[frames, 1]), atol=1e-4)
    assert r["rotation_mode"] == "YXZ" and r["pivot"] == "Revive Head"
    assert r["image_size"] == [128, 128] and r["image_linked"]
    assert r["image_packed"] == len(avatar.albedo_png)
    assert r["roughness"] == pytest.approx(0.5)
    assert r["consent"] == avatar.consent
    assert r["fps"] == [25, 1.0] and r["range"] == [1, take.frame_count]
    assert r["strips"] == ["Revive voice"] and r["sound_packed"]
    assert r["cameras"] == 1 and r["lights"] == ["AREA", "AREA", "AREA"]
    # The camera looks at the face: its centre projects near the middle of the frame.
    x, y, depth = r["face_in_view"]
    assert abs(x - 0.5) < 0.1 and abs(y - 0.5) < 0.15 and depth > 0
    # The label sits in the lower-right corner, in front of the camera.
    lx, ly, ldepth = r["label_in_view"]
    assert lx > 0.9 and ly < 0.1 and 0 < ldepth < depth
    assert r["label_parent"] == "Revive camera" and r["label_body"] == "AI-generated"


# --- a real render through revive_core.render ------------------------------------------------

@pytest.mark.slow
@needs_bpy
@needs_ffmpeg
def test_render_video_writes_h264_aac_mp4_with_the_label(tmp_path, folders, short_take):
    from revive_core.render import render_video

    avatar_dir = folders[0]
    take_dir, take = short_take
    labelled = render_video(avatar_dir, take_dir, tmp_path / "out" / "labelled.mp4",
                            device="cpu", samples=2, resolution=(96, 96), progress=False)
    plain = render_video(avatar_dir, take_dir, tmp_path / "out" / "plain.mp4", device="cpu",
                         samples=2, resolution=(96, 96), visible_label=False, progress=False)
    assert labelled.path == tmp_path / "out" / "labelled.mp4" and labelled.path.is_file()
    assert labelled.device == "CPU" and labelled.seconds_per_frame > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["labelled.mp4", "plain.mp4"]
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

    # --frames renders part of the take.
    part = render_video(avatar_dir, take_dir, tmp_path / "out" / "part.mp4", device="cpu",
                        samples=1, resolution=(32, 32), frames=(2, 3), progress=False)
    part_video = next(s for s in ffprobe(part.path)["streams"] if s["codec_type"] == "video")
    assert int(part_video["nb_frames"]) == 2

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
    from revive_core.render import render_video

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
])
def test_batch_bad_options_exit_2_with_a_message(tmp_path, folders, args, message):
    result = run_batch("--avatar", str(folders[0]), "--take", str(folders[1]),
                       "--out", str(tmp_path / "v.mp4"), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


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
        from revive_core import render
        from revive_core.errors import ReviveError
        try:
            render.render_video("a", "t", "/tmp/x.mp4", blender="/no/such/blender")
            message = None
        except ReviveError as exc:
            message = exc.message
        print("RESULT " + json.dumps({"bpy": "bpy" in sys.modules, "message": message}))
    """
    result = run_python(script)
    assert result["bpy"] is False
    assert result["message"] == "The Blender program /no/such/blender was not found."


@pytest.mark.blender
def test_gpu_selection_prefers_optix_and_enables_only_gpu_devices():
    """The one stand-in: a GPU this machine lacks. The real no-GPU path is tested above."""
    result = run_python("""
        import json, sys
        sys.path.insert(0, ".")
        from blender_addon.render_settings import find_gpu

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
