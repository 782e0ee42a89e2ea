"""ICT-FaceKit as a second model: the importer, its landmark embedding, installing and finding
it, and fitting it to rendered photos (with a distorted scan among them)."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.avatar.detect import detect_face
from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES

ROOT = Path(__file__).resolve().parents[1]
ICT_ZIP = Path(__file__).resolve().parents[2] / "shared" / "ict-facekit" / "ICT-FaceKit.zip"
pytestmark = pytest.mark.skipif(not ICT_ZIP.is_file(), reason="needs ../shared/ict-facekit")


@pytest.fixture(scope="module")
def ict_model():
    from revive_core.avatar.model.ict import read_ict

    return read_ict(ICT_ZIP)


@pytest.fixture(scope="module")
def renderer():
    from revive_core.geometry.offscreen import OffscreenRenderer

    with OffscreenRenderer(512, 512) as r:
        yield r


def _photo(model, identity, renderer, path: Path, *, yaw: float, pitch: float = 0.0):
    from revive_core.avatar.model.embedding import paint_lips_and_brows, region_colours
    from revive_core.avatar.model.views import look_at_face, render_mesh

    camera = look_at_face(model.vertices_m[model.region_mask("face")], 512, 512, yaw_deg=yaw,
                          pitch_deg=pitch, fill=0.45)
    image, _ = render_mesh(renderer, model.shape(identity), model.faces, camera,
                           colours=paint_lips_and_brows(model, region_colours(model)))
    Image.fromarray(image).save(path)
    return detect_face(path), camera


@pytest.mark.slow
def test_import_maps_names_units_regions_and_uvs(ict_model):
    m = ict_model
    assert m.vertices_m.shape == (24591, 3) and m.faces.shape[1] == 3
    assert len(m.identity_names) == 50
    arkit = [n for n in m.expression_names if n in ARKIT_BLENDSHAPES]
    assert len(arkit) == 51 and "tongueOut" in m.info["missing_arkit"]
    assert {"cheekRaiser_L", "cheekRaiser_R", "PupilDilate_L", "PupilDilate_R"} <= set(m.expression_names)
    assert not any(n.endswith(("_L", "_R")) and n[:-2] + "Left" in ARKIT_BLENDSHAPES
                   for n in m.expression_names)
    ibug, mask = m.ibug_landmarks(m.vertices_m)
    assert mask.all()
    assert 0.08 < np.linalg.norm(ibug[36] - ibug[45]) < 0.10  # outer eye corners, metres
    assert ibug[45, 0] > 0 and ibug[30, 2] > ibug[36, 2]  # subject's left is +X, nose toward +Z
    for region in ("face", "scalp", "teeth", "mouth_interior", "eye_iris_left", "eye_pupil_right"):
        assert m.region_mask(region).any(), region
    assert m.uvs.min() >= 0.0 and m.uvs.max() <= 1.0
    # Blinks close the left lid (+X side) and leave the right one alone.
    blink = m.expression_deltas_m[m.expression_names.index("eyeBlinkLeft")]
    moved = np.linalg.norm(blink, axis=1) > 0.002
    assert moved.any() and (m.vertices_m[moved, 0] > 0).all()


@pytest.mark.slow
def test_mediapipe_embedding_matches_detection_in_an_unseen_view(ict_model, renderer, tmp_path):
    detection, camera = _photo(ict_model, np.zeros(50), renderer, tmp_path / "view.png",
                               yaw=17.0, pitch=6.0)
    points, mask = ict_model.landmarks(ict_model.vertices_m)
    pixels, _ = camera.project(points)
    error = np.linalg.norm(pixels[mask] - detection.landmarks_px[mask, :2], axis=1)
    assert mask.sum() == 478
    assert np.median(error) < 2.5, f"median {np.median(error):.2f} px"


@pytest.mark.slow
def test_installed_model_is_found_by_name_and_loads_identically(ict_model, tmp_path, monkeypatch):
    from revive_core.avatar.model.registry import find_model, install_model, installed_models

    monkeypatch.setenv("REVIVE_MODELS", str(tmp_path / "models"))
    with pytest.raises(InputError, match="import-ict"):
        find_model("ict")
    install_model(ict_model, "ict")
    assert installed_models() == ["default", "builtin", "ict"]
    loaded = find_model("ict")
    for name in ("vertices_m", "faces", "uvs", "uv_faces", "vertex_regions", "landmark_faces",
                 "landmark_bary", "ibug_faces", "polygon_triangles"):
        np.testing.assert_allclose(getattr(loaded, name), getattr(ict_model, name), atol=1e-7)
    np.testing.assert_allclose(loaded.identity_basis_m, ict_model.identity_basis_m, atol=1e-7)
    assert loaded.expression_names == ict_model.expression_names
    assert loaded.info["licence"] == "MIT" and "Permission is hereby granted" in loaded.info["licence_text"]


def test_import_reads_an_unzipped_folder_with_any_number_of_identities(tmp_path):
    from revive_core.avatar.model.ict import read_ict

    keep = ("generic_neutral_mesh.obj", "identity000.obj", "identity001.obj", "identity002.obj",
            "jawOpen.obj", "eyeBlink_L.obj", "browInnerUp_L.obj", "browInnerUp_R.obj",
            "vertex_indices.json")
    with zipfile.ZipFile(ICT_ZIP) as z:
        for member in z.namelist():
            if member.rsplit("/", 1)[-1] in keep:
                z.extract(member, tmp_path)
    folder = next(tmp_path.rglob("FaceXModel")).parent  # the ICT-FaceKit folder
    model = read_ict(folder, embed=False)
    assert model.identity_names == ["identity000", "identity001", "identity002"]
    assert set(model.expression_names) == {"jawOpen", "eyeBlinkLeft", "browInnerUp"}
    halves = read_ict(folder / "FaceXModel", embed=False)  # the FaceXModel folder works too
    np.testing.assert_array_equal(halves.expression_deltas_m, model.expression_deltas_m)


def test_import_keeps_the_quads_of_the_kept_parts():
    from revive_core.formats.polygons import polygon_corners, polygon_problem
    from revive_core.avatar.model.ict import KEPT_MATERIALS, read_ict

    model = read_ict(ICT_ZIP, embed=False)
    polygons = model.polygon_triangles
    assert polygon_problem(polygons, model.faces, model.uv_faces) is None
    assert (polygons == 2).mean() >= 0.9  # ICT-FaceKit is a quad mesh
    # Every quad of the kept materials in the OBJ, in order, corner for corner.
    with zipfile.ZipFile(ICT_ZIP) as z:
        obj = z.read(next(n for n in z.namelist() if n.endswith("/generic_neutral_mesh.obj")))
    upstream, material = [], ""
    for line in obj.decode().splitlines():
        if line.startswith("usemtl"):
            material = line.split()[1]
        elif line.startswith("f ") and material in KEPT_MATERIALS:
            upstream.append([int(c.split("/")[0]) - 1 for c in line.split()[1:]])
    corners, sizes = polygon_corners(polygons, len(model.faces))
    assert sizes.tolist() == [len(p) for p in upstream]
    assert model.faces.ravel()[corners].tolist() == [i for p in upstream for i in p]


def _revive(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "revive_core.cli.main", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})})


def test_import_of_something_else_is_a_clear_error(tmp_path):
    missing = _revive("model", "import-ict", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "ICT-FaceKit not found" in missing.stderr
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("holiday/readme.txt", "not a face model")
    wrong = _revive("model", "import-ict", str(other), env={"REVIVE_MODELS": str(tmp_path / "m")})
    assert wrong.returncode == 2 and "generic_neutral_mesh.obj" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_fit_recovers_an_ict_head_and_counts_a_distorted_scan_less(ict_model, renderer, tmp_path):
    from revive_core.avatar.fit.solve import fit_model

    person = np.random.default_rng(7).standard_normal(50)
    detections = [_photo(ict_model, person, renderer, tmp_path / f"p{i}.png", yaw=yaw)[0]
                  for i, yaw in enumerate((-22.0, 3.0, 24.0))]
    # A scan stretched sideways: its face's proportions disagree with the other photos.
    Image.open(tmp_path / "p1.png").resize((720, 512)).save(tmp_path / "stretched.png")
    detections.append(detect_face(tmp_path / "stretched.png"))
    fit = fit_model(ict_model, detections)
    assert [p.weight for p in fit.photos[:3]] == [1.0, 1.0, 1.0]
    assert fit.photos[3].weight < 0.5 and "stretched.png" in fit.notes[0]
    face = ict_model.region_mask("face")
    truth = ict_model.shape(person)[face]
    error = _aligned_distances(fit.neutral_vertices[face], truth)
    baseline = _aligned_distances(ict_model.vertices_m[face], truth)
    # Landmarks alone pin identity down only partly: better than the mean face, not far off.
    assert np.median(error) < 0.9 * np.median(baseline), (np.median(error), np.median(baseline))



@pytest.fixture(scope="module")
def three_photos(ict_model, renderer, tmp_path_factory):
    """A random ICT head photographed from the front and 30 degrees to either side, each
    photo under its own light."""
    from revive_core.avatar.model.embedding import paint_lips_and_brows, region_colours
    from revive_core.avatar.model.views import Lighting, look_at_face, render_mesh

    folder = tmp_path_factory.mktemp("three")
    person = np.random.default_rng(11).standard_normal(50)
    colours = paint_lips_and_brows(ict_model, region_colours(ict_model))
    detections = []
    for i, (yaw, light) in enumerate(((0.0, (0.5, 0.4, 1.0)), (-30.0, (-0.7, 0.2, 1.0)),
                                      (30.0, (0.3, 0.8, 1.0)))):
        camera = look_at_face(ict_model.vertices_m[ict_model.region_mask("face")], 512, 512,
                              yaw_deg=yaw, fill=0.45)
        image, _ = render_mesh(renderer, ict_model.shape(person), ict_model.faces, camera,
                               colours=colours, lighting=Lighting(direction=light))
        Image.fromarray(image).save(folder / f"p{i}.png")
        detections.append(detect_face(folder / f"p{i}.png"))
    return person, detections


@pytest.mark.slow
def test_photometric_refinement_brings_several_photos_closer_to_the_truth(ict_model,
                                                                          three_photos):
    from revive_core.avatar.fit.solve import fit_model

    person, detections = three_photos
    face = ict_model.region_mask("face")
    truth = ict_model.shape(person)[face]
    landmarks = fit_model(ict_model, detections, photometric=False)
    refined = fit_model(ict_model, detections)
    before = np.median(_aligned_distances(landmarks.neutral_vertices[face], truth))
    after = np.median(_aligned_distances(refined.neutral_vertices[face], truth))
    assert after < 0.85 * before, (after, before)
    assert max(p.rms_px for p in refined.photos) < 4.0  # still on the landmarks


@pytest.mark.slow
def test_photometric_jacobian_matches_finite_differences(ict_model, three_photos):
    from revive_core.avatar.fit.solve import FitProblem, _Photo, fit_model
    from revive_core.avatar.fit.photometric import LEVELS, PhotometricTerm

    _, detections = three_photos
    fit = fit_model(ict_model, detections, photometric=False)
    problem = FitProblem(ict_model)
    photos = [_Photo(p.camera.posed((0, 0, 0), (0, 0, 0)), d.landmarks_px[problem.used],
                     d.face_width_px) for p, d in zip(fit.photos, detections)]
    n_id, n_ex = len(ict_model.identity_names), len(problem.expression_index)
    x = np.concatenate([fit.identity] + [np.concatenate(
        [p.camera.rotation, p.camera.translation, p.expression[problem.expression_index]])
        for p in fit.photos])
    term = PhotometricTerm(ict_model, problem, photos, [d.image for d in detections], LEVELS[0])
    term.update_visibility(x, n_id, n_ex)
    term.update_appearance(x, n_id, n_ex)
    assert term.visible.any(axis=0).sum() > 500
    jacobian = term.jacobian(x, n_id, n_ex)
    per = 6 + n_ex
    for column in (0, 7, n_id, n_id + 4, n_id + per + 2, n_id + 2 * per + 5):
        step = np.zeros_like(x)
        step[column] = 1e-4 if n_id <= column and (column - n_id) % per < 6 else 1e-3
        numeric = (term.residuals(x + step, n_id, n_ex)
                   - term.residuals(x - step, n_id, n_ex)) / (2 * step[column])
        assert np.corrcoef(jacobian[:, column], numeric)[0, 1] > 0.99, column
        assert np.linalg.norm(jacobian[:, column]) == pytest.approx(np.linalg.norm(numeric),
                                                                    rel=0.05)

def _aligned_distances(points: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-vertex distances (metres) after moving ``points`` rigidly onto ``truth``."""
    from revive_core.bench.recon import _kabsch

    rotation, translation = _kabsch(points, truth)
    return np.linalg.norm(points @ rotation.T + translation - truth, axis=1)


@pytest.mark.slow
def test_build_with_the_ict_model_writes_its_head_and_credits_it(ict_model, tmp_path):
    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent
    from revive_core.formats import read_avatar

    sample = ROOT / "revive_core" / "assets" / "sample" / "astronaut.png"
    build_avatar([sample], tmp_path / "avatar", consent=parse_consent("Test Runner, self, 2026-01-01"),
                 model=ict_model, texture_method="blur", texture_size=512)
    avatar = read_avatar(tmp_path / "avatar")
    assert avatar.vertex_count == 24591 and avatar.model_id == "ict-facekit"
    assert avatar.blendshape_names == ict_model.expression_names
    assert avatar.provenance["model"]["licence"] == "MIT"
    assert avatar.provenance["fit"][0]["landmark_rms_px"] < 4.0

