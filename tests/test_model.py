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
from revive_core.avatar.model.builtin import build_head, builtin_model
from revive_core.avatar.model.parts import CORNEA_BULGE_M, EYE_RADIUS_M, IRIS_DEG
from revive_core.avatar.model.template import load_template, make_template
from revive_core.avatar.model.topology import FACE_POINTS, GROUPS, boundary_loops, mediapipe_triangles
from revive_core.avatar.model.topology import orient_faces, pair_triangles

DIGEST = ("from revive_core.avatar.model.builtin import builtin_model; import hashlib; m = builtin_model(); "
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
    assert quads >= 0.8 * len(head.polygons)  # 85.6% when the face's triangles were paired


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


def _fan(polygons) -> np.ndarray:
    """The triangles of polygons split as fans from their first corner."""
    return np.array([(p[0], p[k], p[k + 1]) for p in polygons for k in range(1, len(p) - 1)])


def _rotation_normalised(triangles: np.ndarray) -> np.ndarray:
    """Triangles rotated to start at their lowest vertex (winding kept), rows sorted."""
    triangles = np.asarray(triangles)
    start = np.argmin(triangles, axis=1)[:, None]
    rotated = np.take_along_axis(triangles, (start + np.arange(3)) % 3, axis=1)
    return rotated[np.lexsort(rotated.T[::-1])]


def _face_polygons(head) -> list[tuple[int, ...]]:
    return [p for p in head.polygons if max(p) < FACE_POINTS]


def test_face_triangles_pair_into_quads_on_the_same_surface():
    head = build_head()
    face = _face_polygons(head)
    assert len(face) == 852 - sum(len(p) == 4 for p in face)  # every face triangle is in one
    assert sum(len(p) == 4 for p in face) >= 0.6 * len(face)  # 67.1% when written
    before = orient_faces(mediapipe_triangles(), load_template()[0])
    np.testing.assert_array_equal(_rotation_normalised(_fan(face)), _rotation_normalised(before))


def test_face_quads_are_convex_nearly_flat_and_keep_the_animation_loops():
    head = build_head()
    face = _face_polygons(head)
    quads = np.array([p for p in face if len(p) == 4])
    corners = head.vertices[quads]  # (Q, 4, 3)
    before = np.roll(corners, 1, axis=1) - corners
    after = np.roll(corners, -1, axis=1) - corners
    cosines = (before * after).sum(2) / np.linalg.norm(before, axis=2) / np.linalg.norm(after, axis=2)
    angles = np.degrees(np.arccos(cosines))
    assert angles.min() >= 45.0 and angles.max() <= 135.0
    normal = np.cross(corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1])
    assert (np.einsum("qkd,qd->qk", np.cross(after, before), normal) > 0).all()  # convex
    halves = [np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]),
              np.cross(corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 0])]
    halves = [h / np.linalg.norm(h, axis=1, keepdims=True) for h in halves]
    assert np.degrees(np.arccos(np.clip((halves[0] * halves[1]).sum(1), -1, 1))).max() <= 20.0

    def undirected(edges) -> set[tuple[int, int]]:
        return {(min(a, b), max(a, b)) for a, b in edges}

    loops = undirected((a, b) for name, points in GROUPS.items()
                       if name.split("_")[0] in ("lips", "eye", "brow")
                       for a, b in zip(points, points[1:]))
    triangles = orient_faces(mediapipe_triangles(), load_template()[0])
    outline = undirected(e for loop in boundary_loops(triangles) for e in zip(loop, np.roll(loop, -1)))
    mesh_edges = undirected(e for t in triangles for e in zip(t, np.roll(t, -1)))
    protected = (loops | outline) & mesh_edges
    assert len(loops & mesh_edges - outline) >= 30  # outer lips and brows cross the skin
    sides = undirected(e for p in face for e in zip(p, p[1:] + p[:1]))
    assert protected <= sides
    assert not protected & undirected(quads[:, [0, 2]].tolist())


def test_pair_triangles_joins_the_squarest_pairs_and_keeps_edges():
    # A 3 x 1 strip of unit squares, each split on its (0, 2) diagonal, counter-clockwise.
    vertices = np.array([(x, y, 0.0) for y in (0, 1) for x in range(4)], dtype=float)
    squares = [(x, x + 1, x + 5, x + 4) for x in range(3)]
    triangles = _fan(squares)
    polygons = pair_triangles(triangles, vertices)
    assert polygons == [(0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6)]  # the strip's own squares
    np.testing.assert_array_equal(_fan(polygons), triangles)
    kept = pair_triangles(triangles, vertices, frozenset({(1, 6)}))
    assert kept == [(0, 1, 5, 4), (1, 2, 6), (1, 6, 5), (2, 3, 7, 6)]
    # Sheared flat 3:1, the squares' corners are 18 and 162 degrees: too thin for quads.
    sheared = vertices * [1.0, 1.0, 0.0] + vertices[:, [1, 1, 1]] * [3.0, 0.0, 0.0]
    assert pair_triangles(triangles, sheared) == [tuple(t) for t in triangles.tolist()]
    # One corner lifted: the middle square folds 55 degrees across its diagonal (corners 60..90).
    folded = vertices.copy()
    folded[2, 2] = 1.0
    assert (1, 2, 6, 5) not in pair_triangles(triangles, folded)


def test_face_landmarks_sit_on_their_face_vertices(model):
    faces, bary = model.faces[model.landmark_faces[:FACE_POINTS]], model.landmark_bary[:FACE_POINTS]
    placed = np.einsum("nk,nkd->nd", bary, model.vertices_m[faces])
    np.testing.assert_allclose(placed, model.vertices_m[:FACE_POINTS], atol=1e-9)
    assert (faces[np.arange(FACE_POINTS), bary.argmax(1)] == np.arange(FACE_POINTS)).all()


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
    from revive_core.avatar.model.morphable import load_model, save_model

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
    from revive_core.avatar.model.morphable import load_model, save_model

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
    from revive_core.avatar.model.morphable import load_model, save_model

    folder = save_model(model, tmp_path / "damaged")
    damaged = damage(model.polygon_triangles.astype(np.int64))
    _rewrite_npz(folder / "model.npz", polygon_triangles=damaged)
    with pytest.raises(FormatError, match=problem) as error:
        load_model(folder)
    assert str(folder / "model.npz") in str(error.value)


def test_unknown_model_names_are_refused_with_the_installed_ones(tmp_path, monkeypatch):
    from revive_core.avatar.model.registry import find_model

    monkeypatch.setenv("REVIVE_MODELS", str(tmp_path))
    assert find_model("builtin") is builtin_model()
    with pytest.raises(InputError, match="flame") as error:
        find_model("flame")
    assert "builtin" in error.value.hint


def test_closest_points_match_dense_sampling():
    from revive_core.avatar.model.surface import closest_points

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
    from revive_core.geometry.raster import rasterize

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


def test_the_head_facing_the_camera_alone_gives_the_same_depth_test_at_half_the_triangles():
    from scipy.spatial.transform import Rotation

    from revive_core.avatar.model.registry import find_model
    from revive_core.geometry.camera import Camera
    from revive_core.geometry.raster import facing_faces, rasterize

    model = find_model("default")
    camera = Camera.for_photo(320, 320).posed((0.0, 0.5, 0.0), (0.0, 0.0, -0.7))
    vertices = model.vertices_m @ Rotation.from_euler("x", 0.2).as_matrix().T
    pixels, depth = camera.project(vertices)
    facing = facing_faces(model.faces, pixels)
    assert 0.3 < len(facing) / len(model.faces) < 0.7
    all_ids, _, all_depth = rasterize(pixels, model.faces, (320, 320), depth)
    ids, _, front_depth = rasterize(pixels, facing, (320, 320), depth)
    np.testing.assert_array_equal(ids >= 0, all_ids >= 0)
    covered = all_ids >= 0
    assert np.mean(np.abs(front_depth[covered] - all_depth[covered]) < 1e-6) > 0.999


def test_fit_counts_landmarks_on_the_far_side_of_a_turned_head_less(model):
    from scipy.spatial.transform import Rotation

    from revive_core.avatar.fit.solve import FitProblem, _facing_weights

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


def test_template_mouth_rests_like_a_neutral_face():
    vertices, _ = load_template()
    corners = vertices[[61, 291]]
    stomion_y = vertices[[13, 14], 1].mean()
    assert 0.048 < np.linalg.norm(corners[0] - corners[1]) < 0.056  # the photo's smile: 63 mm
    assert np.abs(corners[:, 1] - stomion_y).max() < 0.003  # the photo's smile: 8 mm above
