"""The built-in head: deterministic, symmetric, complete (52 ARKit shapes, eyes, teeth, ears),
and each shape a plausible local motion; the model file format, the registry, and the geometry
helpers (closest points, rasterizer) that fitting and the benchmark rely on."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial import cKDTree

from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.formats.errors import FormatError
from revive_core.model.builtin import build_head, builtin_model
from revive_core.model.parts import CORNEA_BULGE_M, EYE_RADIUS_M, IRIS_DEG
from revive_core.model.template import load_template, make_template
from revive_core.model.topology import GROUPS

DIGEST = ("from revive_core.model.builtin import builtin_model; import hashlib; m = builtin_model(); "
          "h = hashlib.sha256(); [h.update(a.tobytes()) for a in (m.vertices_m, m.faces, m.uvs, "
          "m.uv_faces, m.vertex_regions, m.identity_basis_m, m.expression_deltas_m, "
          "m.landmark_faces, m.landmark_bary, m.polygon_triangles)]; print(h.hexdigest())")


@pytest.fixture(scope="module")
def model():
    return builtin_model()


@pytest.fixture(scope="module")
def mirror(model):
    """Index of each vertex's left-right mirror image."""
    distance, index = cKDTree(model.vertices_m).query(model.vertices_m * [-1, 1, 1])
    assert distance.max() < 1e-6, "the neutral head is symmetric"
    return index


def test_head_has_every_part_shape_and_landmark(model):
    assert model.expression_names == list(ARKIT_BLENDSHAPES)
    assert len(model.identity_names) >= 30
    for region in ("face", "scalp", "neck", "ears", "teeth", "mouth_interior", "tongue",
                   "eye_sclera_left", "eye_iris_left", "eye_pupil_left", "eye_sclera_right",
                   "eye_iris_right", "eye_pupil_right"):
        assert model.region_mask(region).sum() > 10, region
    assert (model.landmark_faces >= 0).all() and (model.ibug_faces >= 0).all()
    assert model.uvs.min() >= 0.0 and model.uvs.max() <= 1.0
    head = build_head()
    quads = sum(len(p) == 4 for p in head.polygons)
    assert quads > 0.5 * len(head.polygons) - 852 / 2  # all but the face mask's triangles


def test_head_keeps_its_quads_as_fans_of_two_triangles(model):
    from revive_core.formats.polygons import polygon_corners, polygon_problem

    polygons = model.polygon_triangles
    assert polygons.dtype == np.uint8 and int(polygons.sum()) == len(model.faces)
    assert polygon_problem(polygons, model.faces, model.uv_faces) is None
    assert (polygons == 2).mean() >= 0.7 and set(polygons.tolist()) == {1, 2}
    # The corners rebuilt from the fans are the head's own polygons, in order.
    head = build_head()
    corners, sizes = polygon_corners(polygons, len(model.faces))
    assert sizes.tolist() == [len(p) for p in head.polygons]
    assert model.faces.ravel()[corners].tolist() == [i for p in head.polygons for i in p]


def test_model_is_generated_identically_in_separate_processes():
    digests = {subprocess.run([sys.executable, "-c", DIGEST], capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2)}
    assert len(digests) == 1


@pytest.mark.slow
def test_template_regenerates_from_the_sample_photo():
    committed, mirror = load_template()
    fresh, fresh_mirror = make_template()
    assert np.abs(fresh - committed).max() < 5e-4  # half a millimetre
    np.testing.assert_array_equal(fresh_mirror, mirror)


def test_identity_components_change_the_head_but_keep_its_symmetry(model, mirror):
    for name, basis in zip(model.identity_names, model.identity_basis_m):
        assert np.abs(basis).max() > 5e-4, name
        np.testing.assert_allclose(basis[mirror] * [-1, 1, 1], basis, atol=2e-5, err_msg=name)
    ears = model.region_mask("ears")
    moved = np.abs(model.identity_basis_m[:, ears]).max(axis=(1, 2)) > 1e-3
    assert {"ear_length", "ear_protrusion", "ear_height"} <= {
        n for n, m in zip(model.identity_names, moved) if m}


def _clearance(vertices: np.ndarray, centre: np.ndarray) -> float:
    """Smallest gap (m) between the points and the eyeball (sphere with its corneal bulge)."""
    offset = vertices - centre
    distance = np.linalg.norm(offset, axis=1)
    angle = np.degrees(np.arccos(np.clip(offset[:, 2] / distance, -1, 1)))
    radius = EYE_RADIUS_M + CORNEA_BULGE_M * np.clip(1 - (angle / IRIS_DEG) ** 2, 0, 1)
    return float((distance - radius).min())


def test_blink_closes_the_lids_on_the_eyeball_without_entering_it(model):
    head = build_head()
    skin = model.region_mask("face", "scalp", "neck")
    for side in ("left", "right"):
        shape = f"eyeBlink{side.title()}"
        for weight in np.linspace(0.0, 1.0, 6):
            lids = model.shape(expression={shape: weight})[skin]
            assert _clearance(lids, head.eye_centres[side]) > 0.0, (shape, weight)
        closed = model.shape(expression={shape: 1.0})
        upper = closed[list(GROUPS[f"eye_{side}_upper"][2:-2])]
        lower = closed[list(GROUPS[f"eye_{side}_lower"][2:-2])]
        assert np.abs(upper[:, 1].mean() - lower[:, 1].mean()) < 0.0008
        neutral = model.vertices_m
        gap = (neutral[list(GROUPS[f"eye_{side}_upper"][2:-2]), 1].mean()
               - neutral[list(GROUPS[f"eye_{side}_lower"][2:-2]), 1].mean())
        assert gap > 0.005


def test_gaze_turns_only_the_eyeball_toward_its_side(model):
    pupil = model.region_mask("eye_pupil_left")
    eyes = model.region_mask("eye_sclera_left", "eye_iris_left", "eye_pupil_left")
    for shape, axis, sign in (("eyeLookOutLeft", 0, 1), ("eyeLookInLeft", 0, -1),
                              ("eyeLookUpLeft", 1, 1), ("eyeLookDownLeft", 1, -1)):
        delta = model.expression_deltas_m[model.expression_names.index(shape)]
        assert sign * delta[pupil, axis].mean() > 0.003, shape
        assert np.abs(delta[model.region_mask("eye_pupil_right")]).max() == 0.0
        assert np.abs(delta[~eyes & ~model.region_mask("face")]).max() == 0.0


def test_jaw_opens_the_lips_carries_the_lower_teeth_and_mouth_close_closes_them(model):
    upper, lower = 13, 14  # middle of the inner lips
    neutral_gap = model.vertices_m[upper, 1] - model.vertices_m[lower, 1]
    opened = model.shape(expression={"jawOpen": 1.0})
    assert opened[upper, 1] - opened[lower, 1] > neutral_gap + 0.015
    closed = model.shape(expression={"jawOpen": 1.0, "mouthClose": 1.0})
    assert abs((closed[upper, 1] - closed[lower, 1]) - neutral_gap) < 0.003
    assert opened[152, 1] < model.vertices_m[152, 1] - 0.015  # the chin drops
    head = build_head()
    jaw = model.expression_deltas_m[model.expression_names.index("jawOpen")]
    assert jaw[head.parts["teeth_lower"], 1].mean() < -0.008
    assert np.abs(jaw[head.parts["teeth_upper"]]).max() == 0.0


def test_tongue_out_passes_the_lips(model):
    head = build_head()
    out = model.shape(expression={"tongueOut": 1.0})
    assert out[head.parts["tongue"], 2].max() > model.vertices_m[[13, 14], 2].max()
    assert model.vertices_m[head.parts["tongue"], 2].max() < model.vertices_m[[13, 14], 2].min()


def test_skin_shapes_are_local_and_sided(model):
    smile = model.expression_deltas_m[model.expression_names.index("mouthSmileLeft")]
    left_corner, right_corner, forehead = 291, 61, 10
    assert np.linalg.norm(smile[left_corner]) > 0.008
    assert np.linalg.norm(smile[right_corner]) < 0.002
    assert np.linalg.norm(smile[forehead]) < 1e-4
    assert smile[left_corner, 1] > 0  # corners go up
    fixed = model.region_mask("ears", "eye_sclera_left", "eye_iris_left", "eye_pupil_left")
    for name in ("mouthSmileLeft", "browInnerUp", "cheekPuff", "jawOpen"):
        delta = model.expression_deltas_m[model.expression_names.index(name)]
        assert np.abs(delta[fixed]).max() == 0.0, name


def test_saved_model_loads_back_and_is_checked(model, tmp_path):
    from revive_core.model.morphable import load_model, save_model

    folder = save_model(model, tmp_path / "builtin")
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.vertices_m, model.vertices_m, atol=1e-7)
    np.testing.assert_array_equal(loaded.faces, model.faces)
    np.testing.assert_allclose(loaded.expression_deltas_m, model.expression_deltas_m, atol=1e-7)
    assert loaded.expression_names == model.expression_names
    np.testing.assert_array_equal(loaded.polygon_triangles, model.polygon_triangles)
    assert loaded.polygon_triangles.dtype == np.uint8
    (folder / "model.json").write_text('{"format": "revive.avatar", "version": 1}')
    with pytest.raises(FormatError, match="not a Face model"):
        load_model(folder)


def _rewrite_npz(path, **changes):
    """Rewrite the npz at ``path`` with some arrays replaced (None: removed)."""
    with np.load(path) as data:
        arrays = dict(data)
    for name, array in changes.items():
        if array is None:
            arrays.pop(name)
        else:
            arrays[name] = array
    np.savez(path, **arrays)


def test_model_without_polygons_loads_as_triangles(model, tmp_path):
    from revive_core.model.morphable import load_model, save_model

    folder = save_model(model, tmp_path / "older")
    _rewrite_npz(folder / "model.npz", polygon_triangles=None)  # as written before quads
    loaded = load_model(folder)
    assert loaded.polygon_triangles is None
    np.testing.assert_array_equal(loaded.faces, model.faces)


@pytest.mark.parametrize("damage, problem", [
    (lambda p: p[:-1], "add up to"),
    (lambda p: np.concatenate([[0], p]), "between 1 and 255"),
    (lambda p: np.r_[np.full(p.sum() // 2, 2), np.ones(p.sum() % 2, int)],  # pairs, most unrelated
     "do not match faces"),
])
def test_model_with_damaged_polygons_is_refused_naming_the_file(model, tmp_path, damage, problem):
    from revive_core.model.morphable import load_model, save_model

    folder = save_model(model, tmp_path / "damaged")
    damaged = damage(model.polygon_triangles.astype(np.int64))
    _rewrite_npz(folder / "model.npz", polygon_triangles=damaged)
    with pytest.raises(FormatError, match=problem) as error:
        load_model(folder)
    assert str(folder / "model.npz") in str(error.value)


def test_unknown_model_names_are_refused_with_the_installed_ones(tmp_path, monkeypatch):
    from revive_core.model.registry import find_model

    monkeypatch.setenv("REVIVE_MODELS", str(tmp_path))
    assert find_model("builtin") is builtin_model()
    with pytest.raises(InputError, match="flame") as error:
        find_model("flame")
    assert "builtin" in error.value.hint


def test_closest_points_match_dense_sampling():
    from revive_core.model.surface import closest_points

    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(40, 3))
    faces = np.array([f for f in rng.integers(0, 40, (60, 3)) if len(set(f)) == 3])
    points = rng.normal(size=(200, 3)) * 1.5
    _, bary, distance = closest_points(points, vertices, faces, candidates=len(faces))
    samples = np.einsum("sk,fkd->fsd", rng.dirichlet([1, 1, 1], 3000), vertices[faces]).reshape(-1, 3)
    sampled, _ = cKDTree(samples).query(points)
    assert (distance <= sampled + 1e-9).all() and np.median(sampled - distance) < 0.02
    assert np.allclose(bary.sum(1), 1.0) and (bary >= -1e-9).all()


def test_rasterizer_matches_a_per_pixel_reference():
    from revive_core.raster import rasterize

    rng = np.random.default_rng(1)
    points = rng.uniform(-10, 70, (30, 2))
    faces = rng.integers(0, 30, (25, 3))
    depth = rng.uniform(1, 2, 30)
    face_id, bary, zbuffer = rasterize(points, faces, (64, 48), depth)
    ys, xs = np.mgrid[0:48, 0:64] + 0.5
    best = np.full((48, 64), np.inf)
    expected = np.full((48, 64), -1)
    for f, (a, b, c) in enumerate(points[faces]):
        det = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1])
        if abs(det) < 1e-12:
            continue
        w0 = ((b[1] - c[1]) * (xs - c[0]) + (c[0] - b[0]) * (ys - c[1])) / det
        w1 = ((c[1] - a[1]) * (xs - c[0]) + (a[0] - c[0]) * (ys - c[1])) / det
        w2 = 1 - w0 - w1
        z = w0 * depth[faces[f, 0]] + w1 * depth[faces[f, 1]] + w2 * depth[faces[f, 2]]
        hit = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6) & (z < best)
        best[hit], expected[hit] = z[hit], f
    np.testing.assert_array_equal(face_id, expected)
    np.testing.assert_allclose(zbuffer[face_id >= 0], best[face_id >= 0])
    assert np.allclose(bary[face_id >= 0].sum(1), 1.0, atol=1e-5)


def test_fit_counts_landmarks_on_the_far_side_of_a_turned_head_less(model):
    from scipy.spatial.transform import Rotation

    from revive_core.fit import FitProblem, _facing_weights

    problem = FitProblem(model)
    points = problem.base
    identity = np.zeros(len(model.identity_names))
    expression = np.zeros(len(problem.expression_index))
    turned = np.concatenate([Rotation.from_euler("y", 40, degrees=True).as_rotvec(),
                             [0.0, 0.0, -0.6], expression])
    weights = _facing_weights(problem, identity, turned)
    # Turned 40 degrees toward the subject's right: their left cheek (+X) faces away.
    far, near = points[:, 0] > 0.045, points[:, 0] < -0.045
    assert weights[far].mean() < 0.5 < 0.9 < weights[near].mean()
    nose_tip = list(problem.used).index(GROUPS["nose_tip"][0])
    assert weights[nose_tip] == 1.0
    frontal = _facing_weights(problem, identity, np.concatenate([[0.0] * 3, [0.0, 0.0, -0.6],
                                                                  expression]))
    assert abs(frontal[far].mean() - frontal[near].mean()) < 0.05  # seen from the front: even
