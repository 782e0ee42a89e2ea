"""Building an avatar from the sample photo: fit accuracy seen through a real render, the avatar
folder it writes, and the clear refusals of bad input."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.avatar.build import build_avatar
from revive_core.avatar.consent import parse_consent
from revive_core.avatar.detect import detect_face
from revive_core.avatar.lips_closed import close_lips
from revive_core.errors import InputError
from revive_core.formats import read_avatar
from revive_core.avatar.model.registry import find_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "revive_core" / "assets" / "sample" / "astronaut.png"
CONSENT = parse_consent("Test Runner, self, 2026-01-01")


@pytest.fixture(scope="module")
def sample_avatar(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "avatar"
    build_avatar([SAMPLE], out, consent=CONSENT, name="Sample", texture_method="blur")
    return out


def _depth_in_photo_camera(avatar) -> np.ndarray:
    """pyrender's depth buffer of the fitted mesh seen through the photo's fitted camera."""
    import pyrender
    from scipy.spatial.transform import Rotation

    portrait = avatar.portrait
    vertices = avatar.shape(portrait["expression"]).astype(np.float32)
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_rotvec(portrait["rotation"]).as_matrix()
    pose[:3, 3] = portrait["translation"]
    scene = pyrender.Scene()
    scene.add(pyrender.Mesh([pyrender.Primitive(positions=vertices, indices=avatar.faces)]), pose=pose)
    scene.add(pyrender.IntrinsicsCamera(portrait["focal_px"], portrait["focal_px"], portrait["cx"],
                                        portrait["cy"], znear=0.05, zfar=10.0))
    renderer = pyrender.OffscreenRenderer(portrait["width"], portrait["height"])
    try:
        return renderer.render(scene, flags=pyrender.RenderFlags.DEPTH_ONLY)
    finally:
        renderer.delete()


@pytest.mark.slow
def test_fitted_mesh_rendered_in_the_photo_camera_lands_on_the_detected_landmarks(sample_avatar):
    """Render the fit with pyrender; each landmark vertex visible in the render must sit on its
    detected landmark (pyrender's depth at that pixel is the landmark's own depth)."""
    from revive_core.avatar.model.morphable import embedded_points
    from revive_core.geometry.camera import Camera

    avatar = read_avatar(sample_avatar)
    depth = _depth_in_photo_camera(avatar)
    camera = Camera.from_dict(avatar.portrait)
    on_mesh = np.flatnonzero(avatar.landmark_faces[:468] >= 0)
    points, _ = embedded_points(avatar.shape(avatar.portrait["expression"]), avatar.faces,
                             avatar.landmark_faces[on_mesh], avatar.landmark_bary[on_mesh])
    pixels, distance = camera.project(points)
    cols, rows = pixels[:, 0].astype(int), pixels[:, 1].astype(int)
    rendered = depth[rows, cols]
    visible = np.abs(rendered - distance) < 0.004
    assert visible.mean() > 0.8, "most landmarks of a frontal photo are visible in the render"
    detected = detect_face(SAMPLE).landmarks_px[on_mesh, :2]
    error = np.linalg.norm(pixels[visible] - detected[visible], axis=1)
    assert np.median(error) < 2.0, f"median landmark error {np.median(error):.2f} px"
    assert np.percentile(error, 95) < 5.0


def test_avatar_folder_holds_every_file_and_the_consent(sample_avatar):
    for name in ("avatar.json", "mesh.npz", "blendshapes.npz", "albedo.png", "portrait.png",
                 "avatar.glb"):
        assert (sample_avatar / name).is_file(), name
    avatar = read_avatar(sample_avatar)
    assert avatar.consent["authorised_by"] == "Test Runner"
    assert avatar.provenance["inputs"][0]["file"] == "astronaut.png"
    assert avatar.provenance["fit"][0]["landmark_rms_px"] < 3.0
    assert set(avatar.blendshape_names) == set(find_model("default").expression_names)
    np.testing.assert_array_equal(avatar.polygon_triangles, find_model("default").polygon_triangles)
    albedo = np.asarray(Image.open(io.BytesIO(avatar.albedo_png)))
    assert albedo.shape == (1024, 1024, 3)
    centre = albedo[300:700, 300:700].reshape(-1, 3).mean(0)
    assert centre[0] > centre[2] + 15  # skin, not a grey placeholder


def test_rig_neutral_has_the_photo_expression_removed_and_its_lips_together(sample_avatar):
    avatar = read_avatar(sample_avatar)
    model = find_model("default")
    rest = close_lips(model, model.shape(np.array(avatar.provenance["identity"])))
    brows = model.landmarks(rest)[0][[70, 300], 1].min()
    # The middle of the face below the brows: the hair volume never reaches it.
    face = model.region_mask("face") & (rest[:, 1] < brows - 0.01) & (np.abs(rest[:, 0]) < 0.05)
    assert face.sum() > 1000
    assert np.abs(avatar.vertices_m[face] - rest[face]).max() < 1e-4


@pytest.mark.slow
def test_the_eyes_seen_in_the_photo_camera_are_the_photo_s_eyes(sample_avatar):
    """Inside the photo's eye openings, the textured avatar rendered through the fitted camera
    shows the photo's own eyes (its iris and the sclera's tone), not a painted doll's eye."""
    from revive_core.avatar.texture.eyes import _inside_openings
    from revive_core.bench.texture import Light, render_textured
    from revive_core.geometry.camera import Camera
    from revive_core.geometry.offscreen import OffscreenRenderer

    avatar = read_avatar(sample_avatar)
    detection = detect_face(SAMPLE)
    camera = Camera.from_dict(avatar.portrait)
    albedo = np.asarray(Image.open(io.BytesIO(avatar.albedo_png)).convert("RGB")) / 255.0
    with OffscreenRenderer(camera.width, camera.height) as renderer:  # unlit: the texture alone
        image, _ = render_textured(renderer, avatar.shape(avatar.portrait["expression"]), avatar,
                                   albedo, camera, Light(1.0, np.zeros((0, 3)), np.zeros(0)))
    rows, cols = np.mgrid[0:camera.height, 0:camera.width]
    pixels = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)
    inside = _inside_openings(detection.landmarks_px, pixels, (camera.height, camera.width))
    inside = inside.reshape(camera.height, camera.width) > 0.8
    assert inside.sum() > 30
    difference = np.abs(image[inside].astype(float) - detection.image[inside]).mean()
    # Measured on the sample: 21 levels (the fitted eyeball is not exactly where the photo's
    # is); painted eyes alone: 36.
    assert difference < 28, f"{difference:.1f} levels from the photo's eyes"


def test_glb_has_a_morph_target_per_shape_key(sample_avatar):
    data = (sample_avatar / "avatar.glb").read_bytes()
    length = int.from_bytes(data[12:16], "little")
    document = json.loads(data[20:20 + length])
    assert document["meshes"][0]["extras"]["targetNames"] == read_avatar(sample_avatar).blendshape_names


@pytest.mark.parametrize("consent", [None, "", "just a name", "Mei, daughter, yesterday",
                                     "Mei, daughter, 2999-01-01"])
def test_consent_must_be_complete(consent):
    with pytest.raises(InputError):
        parse_consent(consent)


def _revive(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "revive_core.cli.main", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_build_with_a_model_not_installed_says_how_to_install_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "revive_core.cli.main", "build", str(SAMPLE), "--out", str(tmp_path / "a"),
         "--consent", "A, b, 2026-01-01", "--model", "ict"], capture_output=True, text=True,
        cwd=ROOT, env={**os.environ, "REVIVE_MODELS": str(tmp_path / "models")})
    assert result.returncode == 2 and "revive model import-ict" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "a").exists()


def test_build_without_consent_refuses_kindly(tmp_path):
    result = _revive("build", str(SAMPLE), "--out", str(tmp_path / "a"))
    assert result.returncode == 2
    assert "consent" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()


def test_photo_without_a_face_is_a_clear_error(tmp_path):
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((400, 400, 3), 200, np.uint8)).save(blank)
    result = _revive("build", str(blank), "--out", str(tmp_path / "a"), "--consent", "A, b, 2026-01-01")
    assert result.returncode == 2
    assert "No face was found in" in result.stderr and "wall.png" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_photo_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(SAMPLE.read_bytes()[:2000])
    with pytest.raises(InputError, match="broken.jpg"):
        detect_face(broken)


def test_too_small_face_is_a_clear_error(tmp_path):
    small = tmp_path / "small.png"
    Image.open(SAMPLE).resize((200, 200)).save(small)
    with pytest.raises(InputError, match="pixels wide"):
        detect_face(small)


def test_several_faces_use_the_largest_with_a_warning(tmp_path, caplog):
    photo = np.asarray(Image.open(SAMPLE).convert("RGB"))
    face = photo[40:260, 110:330]
    canvas = np.full((600, 900, 3), 235, np.uint8)
    canvas[40:480, 20:460] = np.asarray(Image.fromarray(face).resize((440, 440)))
    canvas[100:320, 600:820] = face
    path = tmp_path / "two.png"
    Image.fromarray(canvas).save(path)
    with caplog.at_level("WARNING"):
        detection = detect_face(path)
    assert detection.faces_found == 2
    assert detection.landmarks_px[:, 0].mean() < 460
    assert "using the largest" in caplog.text


def test_the_built_in_fallback_model_builds_an_avatar_with_hair_from_the_sample(tmp_path):
    """The fallback model's body ends at the jaw (its neck is a region of its own): looking for
    hair hanging past the neck must not stop the build."""
    avatar = build_avatar([SAMPLE], tmp_path / "avatar", consent=CONSENT, model="builtin",
                          texture_method="delit", texture_size=256)
    assert read_avatar(tmp_path / "avatar").vertex_count == avatar.vertex_count
    assert avatar.hair_weights is not None and (avatar.hair_weights > 0.5).sum() > 100
