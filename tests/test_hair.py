"""Tests of revive_core.avatar.hair: hair found in a real photo, none on a bald head."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from revive_core.assets import asset_path
from revive_core.avatar.build import hair_for_fit
from revive_core.avatar.detect import Detection, detect_face
from revive_core.avatar.fit.solve import fit_model
from revive_core.avatar.hair import BROWS, grow_hair
from revive_core.avatar.model.registry import find_model
from revive_core.avatar.segment import person_mask

SAMPLE = asset_path("sample", "astronaut.png")


@pytest.fixture(scope="module")
def fitted():
    model = find_model("default")
    detection = detect_face(SAMPLE)
    return model, detection, fit_model(model, [detection])


@pytest.mark.slow
def test_short_dark_hair_is_found_with_its_colour_and_a_volume(fitted):
    model, detection, fit = fitted
    hair = hair_for_fit(fit)
    assert hair.coverage > 0.5
    cheek = detection.image[int(detection.landmarks_px[50, 1]), int(detection.landmarks_px[50, 0])]
    assert hair.colour.mean() * 255 < cheek.mean() - 40, "the hair is darker than the skin"
    assert 0.003 < hair.thickness_m <= 0.02
    grown = grow_hair(fit.neutral_vertices, model.faces, hair)
    top = np.argmax(fit.neutral_vertices[:, 1])
    assert grown[top, 1] - fit.neutral_vertices[top, 1] > 0.5 * hair.thickness_m
    lowest_landmark = model.landmarks(fit.neutral_vertices)[0][:, 1].min()
    chin = fit.neutral_vertices[:, 1] < lowest_landmark  # below the chin: never hair
    assert np.allclose(grown[chin], fit.neutral_vertices[chin])


@pytest.mark.slow
def test_a_bald_head_gets_no_hair(fitted):
    model, detection, fit = fitted
    image = detection.image.copy()
    points = detection.landmarks_px[:, :2]
    brow_row = int(points[list(BROWS), 1].min())
    cheek = image[int(points[50, 1]) - 3:int(points[50, 1]) + 4,
                  int(points[50, 0]) - 3:int(points[50, 0]) + 4].reshape(-1, 3).mean(0)
    image[:brow_row] = cheek.astype(np.uint8)  # skin everywhere above the brows
    bald = Detection(Path("bald.png"), image, detection.landmarks_px, detection.face_width_px, 1)
    bald_fit = dataclasses.replace(fit, photos=[dataclasses.replace(fit.photos[0], detection=bald)])
    hair = hair_for_fit(bald_fit)
    assert hair.coverage < 0.35
    assert hair.thickness_m == 0.0
    np.testing.assert_array_equal(grow_hair(fit.neutral_vertices, model.faces, hair),
                                  fit.neutral_vertices)



def _with_scalp(detection: Detection, *, strands: bool) -> Detection:
    """The photo with skin above the brows that darkens towards the top (a scalp in shadow: the
    cheeks' hue, 25 to 35 L* darker), smooth like skin or, with ``strands``, streaked with
    fine strands of the same colour."""
    points = detection.landmarks_px[:, :2]
    brow_row = int(points[list(BROWS), 1].min())
    lab = cv2.cvtColor(detection.image, cv2.COLOR_RGB2LAB).astype(np.float32)
    cheek = lab[int(points[50, 1]) - 3:int(points[50, 1]) + 4,
                int(points[50, 0]) - 3:int(points[50, 0]) + 4].reshape(-1, 3).mean(0)
    darker = 2.55 * (25.0 + 10.0 * np.linspace(1.0, 0.0, brow_row)[:, None])  # OpenCV L*: 0..255
    scalp = np.broadcast_to(cheek, (brow_row, lab.shape[1], 3)).copy()
    scalp[..., 0] -= darker
    if strands:
        columns = np.arange(lab.shape[1])
        scalp[..., 0] += 30.0 * (np.sin(columns * 2.1) * np.sin(columns * 0.37))[None, :]
    head = person_mask(detection.image)[:brow_row] > 0.5  # the background stays
    lab[:brow_row][head] = scalp[head]
    image = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    return Detection(Path("scalp.png"), image, detection.landmarks_px, detection.face_width_px, 1)


@pytest.mark.slow
@pytest.mark.parametrize("strands", [False, True])
def test_a_scalp_in_shadow_is_skin_and_strands_of_its_colour_are_hair(fitted, strands):
    model, detection, fit = fitted
    scalp = _with_scalp(detection, strands=strands)
    scalp_fit = dataclasses.replace(fit, photos=[dataclasses.replace(fit.photos[0], detection=scalp)])
    hair = hair_for_fit(scalp_fit)
    if strands:
        assert hair.coverage > 0.35
        assert hair.vertex_weights[np.argmax(fit.neutral_vertices[:, 1])] == 1.0
    else:
        assert hair.coverage < 0.35
        top = fit.neutral_vertices[:, 1] > fit.neutral_vertices[:, 1].max() - 0.05
        assert hair.vertex_weights[top].max() == 0.0, "no hair on a bald top, seen or unseen"


def around_the_face(detection: Detection) -> np.ndarray:
    """(H, W) bool: the person beside and above the face's oval, down to the chin."""
    points = detection.landmarks_px[:, :2]
    oval = np.zeros(detection.image.shape[:2], np.uint8)
    cv2.fillConvexPoly(oval, cv2.convexHull(points.astype(np.int32)), 1)
    around = (person_mask(detection.image) > 0.5) & (oval == 0)
    around[int(points[152, 1]):] = False
    return around


def hair_of_repainted_photo(fit, image: np.ndarray):
    """The hair found when the fitted photo is replaced by ``image`` (same landmarks)."""
    detection = fit.photos[0].detection
    repainted = Detection(Path("repainted.png"), image, detection.landmarks_px,
                          detection.face_width_px, 1)
    return hair_for_fit(dataclasses.replace(
        fit, photos=[dataclasses.replace(fit.photos[0], detection=repainted)]))


@pytest.mark.slow
def test_hair_colour_is_read_on_top_of_the_head_not_beside_the_face(fitted):
    """Grey hair before a magenta backdrop that the person mask takes in around the head: the
    hair's colour is the grey over the forehead, even where more magenta than grey is found."""
    model, detection, fit = fitted
    image = detection.image.copy()
    points = detection.landmarks_px[:, :2]
    around = around_the_face(detection)
    top = np.zeros_like(around)
    top[:int(points[10, 1]), int(points[234, 0]):int(points[454, 0])] = True  # over the forehead
    grey, magenta = np.array([150, 150, 156]), np.array([200, 40, 170])
    image[around & ~top] = magenta
    image[around & top] = grey
    hair = hair_of_repainted_photo(fit, image)
    assert (around & ~top).sum() > (around & top).sum(), "more backdrop than hair"
    np.testing.assert_allclose(hair.colour * 255, grey, atol=12)


@pytest.mark.slow
def test_hair_colour_is_the_lit_strands_not_the_shadows_between_them(fitted):
    """Blond hair whose pixels run evenly from shadow to lit strand: the colour is that of the
    lit strands (a plain median gave the mid-tone, and blond hair came out mousy)."""
    model, detection, fit = fitted
    image = detection.image.copy()
    around = around_the_face(detection)
    shadow, lit = np.array([70.0, 55.0, 35.0]), np.array([225.0, 195.0, 130.0])
    t = np.random.default_rng(0).uniform(0.0, 1.0, around.sum())[:, None]
    image[around] = np.round(shadow + t * (lit - shadow)).astype(np.uint8)
    hair = hair_of_repainted_photo(fit, image)
    # The 40th-80th percentile of the strands' lightness: 60 % of the way to the lit tone.
    np.testing.assert_allclose(hair.colour * 255, shadow + 0.6 * (lit - shadow), atol=8)


def test_a_side_of_the_head_gets_hair_where_the_photo_shows_hair_beside_the_face_there():
    from revive_core.avatar.hair import _hair_beside

    hair_px = np.zeros((100, 200), bool)
    hair_px[20:60, 150:175] = True  # hair beside the face's right edge (x = 150), rows 20-60
    face_width, centre_x = 100.0, 100.0
    points = np.array([[149.0, 40.0],   # right side, at the hair's height: hair
                       [149.0, 80.0],   # right side, below it (an ear): none
                       [51.0, 40.0]])   # left side: nothing beside it
    np.testing.assert_array_equal(_hair_beside(hair_px, points, centre_x, face_width), [1, 0, 0])


def _with_long_hair(detection: Detection, colour: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The photo with strands of ``colour`` (sRGB 0..1) painted beside the face and neck, from
    the eyes to below the chin; and the painted strands' outer edges (pixel columns)."""
    image = detection.image.copy()
    points = detection.landmarks_px[:, :2]
    face_width = points[454, 0] - points[234, 0]
    top, bottom = int(points[33, 1]), int(points[152, 1] + 0.6 * face_width)
    rng = np.random.default_rng(0)
    outer_edges = []
    for edge, outward in ((points[234, 0], -1), (points[454, 0], 1)):
        near, far = sorted((int(edge - outward * 0.05 * face_width), int(edge + outward * 0.3 * face_width)))
        streaks = 1.0 + 0.25 * rng.standard_normal((1, far - near, 1))
        image[top:bottom, near:far] = np.clip(colour * 255 * streaks, 0, 255).astype(np.uint8)
        outer_edges.append(far if outward > 0 else near)
    return image, outer_edges


@pytest.mark.slow
def test_short_hair_hangs_nowhere_and_long_hair_hangs_where_the_photo_shows_it(fitted):
    """The sample's short hair gives no hanging hair. Strands of her hair's colour painted
    beside her face and neck, from the eyes to below the chin, hang on both sides, as wide as
    the paint."""
    model, detection, fit = fitted
    short = hair_for_fit(fit)
    assert short.hanging is None
    image, outer_edges = _with_long_hair(detection, short.colour)
    hanging = hair_of_repainted_photo(fit, image).hanging
    assert hanging is not None
    assert not np.isnan(hanging.half_width_m).all(axis=0).any(), "hair on both sides"
    chin_row = hanging.rows_y[np.argmin(np.abs(hanging.rows_y - model.landmarks(
        fit.neutral_vertices)[0][152, 1]))]
    assert hanging.rows_y[-1] <= chin_row, "the hair hangs below the chin"
    middle = len(hanging.rows_y) // 2
    sides = np.array([[-hanging.half_width_m[middle, 0], hanging.rows_y[middle], hanging.z_centre_m],
                      [hanging.half_width_m[middle, 1], hanging.rows_y[middle], hanging.z_centre_m]])
    pixels, _ = fit.photos[0].camera.project(sides)
    face_width = detection.landmarks_px[454, 0] - detection.landmarks_px[234, 0]
    np.testing.assert_allclose(sorted(pixels[:, 0]), sorted(outer_edges), atol=0.06 * face_width)


@pytest.mark.slow
def test_an_avatar_built_from_a_photo_with_long_hair_wears_it_textured_from_the_photo(
        fitted, tmp_path):
    from PIL import Image

    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent
    from revive_core.avatar.long_hair import HAIR_REGION, hair_tile, make_room_for_hair
    from revive_core.formats import read_avatar

    model, detection, fit = fitted
    colour = np.array([0.62, 0.27, 0.12])  # auburn: unlike anything else in the photo
    image, _ = _with_long_hair(detection, colour)
    on_top = around_the_face(detection)
    on_top[int(detection.landmarks_px[10, 1]):] = False
    image[on_top] = np.round(colour * 255).astype(np.uint8)  # and over the forehead
    Image.fromarray(image).save(tmp_path / "long.png")
    build_avatar([tmp_path / "long.png"], tmp_path / "avatar", consent=parse_consent(
        "Test Runner, self, 2026-01-01"), texture_method="delit", texture_size=512)
    avatar = read_avatar(tmp_path / "avatar")
    hair = avatar.vertex_regions == avatar.region_names.index(HAIR_REGION)
    assert hair.sum() > 500 and avatar.vertex_count == len(model.vertices_m) + hair.sum()
    u0, v0, width, height = hair_tile(make_room_for_hair(model))
    with Image.open(tmp_path / "avatar" / "albedo.png") as png:
        albedo = np.asarray(png.convert("RGB")) / 255.0
    tile = albedo[int((1 - v0 - height) * 512) + 1:int((1 - v0) * 512) - 1,
                  int(u0 * 512) + 1:int((u0 + width) * 512) - 1]
    np.testing.assert_allclose(np.median(tile.reshape(-1, 3), axis=0), colour, atol=0.08)


@pytest.mark.slow
def test_the_heads_painted_hair_takes_the_colour_of_the_long_hair_beside_the_face(fitted, tmp_path):
    """Over the forehead half the hair is fair (sun-bleached, a headband), beside the face it
    is auburn: the hair painted on the head, which shows between the shell and the face, and
    the colour the avatar records are the auburn of the hair hanging beside it."""
    from PIL import Image

    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent
    from revive_core.formats import read_avatar

    model, detection, fit = fitted
    auburn, fair = np.array([0.62, 0.27, 0.12]), np.array([0.85, 0.72, 0.45])
    image, _ = _with_long_hair(detection, auburn)
    on_top = around_the_face(detection)
    on_top[int(detection.landmarks_px[10, 1]):] = False
    image[on_top] = np.round(auburn * 255).astype(np.uint8)
    middle = int(detection.landmarks_px[10, 0])
    on_top[:, :middle] = False
    image[on_top] = np.round(fair * 255).astype(np.uint8)
    assert np.abs(hair_of_repainted_photo(fit, image).colour - auburn).max() > 0.1, \
        "the top alone reads another colour"
    Image.fromarray(image).save(tmp_path / "long.png")
    build_avatar([tmp_path / "long.png"], tmp_path / "avatar", consent=parse_consent(
        "Test Runner, self, 2026-01-01"), texture_method="delit", texture_size=512)
    avatar = read_avatar(tmp_path / "avatar")
    np.testing.assert_allclose(avatar.extra["hair"]["colour_srgb"], auburn, atol=0.08)
    with Image.open(tmp_path / "avatar" / "albedo.png") as png:
        albedo = np.asarray(png.convert("RGB")) / 255.0
    # The back of the head, which the photo cannot see: painted hair.
    back = (avatar.hair_weights > 0.5) & (avatar.vertices_m[:, 2] < np.percentile(avatar.vertices_m[:, 2], 10))
    uv = avatar.uvs[np.unique(avatar.uv_faces[np.isin(avatar.faces, np.flatnonzero(back)).all(axis=1)])]
    texels = albedo[((1 - uv[:, 1]) * 511).astype(int), (uv[:, 0] * 511).astype(int)]
    np.testing.assert_allclose(np.median(texels, axis=0), auburn, atol=0.08)


def test_the_hairline_curves_down_over_the_temples_without_a_step():
    from revive_core.avatar.build import _skin_regions
    from revive_core.avatar.hair import hair_candidates

    model = find_model("default")
    vertices = model.vertices_m
    brows, _ = model.landmarks(vertices)
    ibug, _ = model.ibug_landmarks(vertices)
    brow_y = float(brows[list(BROWS), 1].max())
    candidates, _ = hair_candidates(vertices, model.vertex_regions, _skin_regions(model), ibug,
                                    brow_y_m=brow_y)
    ear_z = 0.5 * (ibug[0, 2] + ibug[16, 2])  # the jaw's ends, at the ears
    front = candidates & (vertices[:, 2] > ear_z + 0.02)
    # The lowest candidate per 5 mm band across the forehead and temples: falls toward the
    # sides, never by more than a few millimetres from one band to the next.
    bands = np.arange(0.0, 0.065, 0.005)
    lowest = [vertices[front & (np.abs(vertices[:, 0]) >= b) & (np.abs(vertices[:, 0]) < b + 0.005), 1].min()
              for b in bands]
    assert lowest[0] > brow_y + 0.01 and lowest[-1] < brow_y + 0.005
    assert np.diff(lowest).max() < 0.004 and np.diff(lowest).min() > -0.008


def test_the_hidden_scalp_next_to_seen_skin_takes_after_it():
    from revive_core.avatar.hair import _seen_into_hidden

    model = find_model("default")
    faces, count = model.faces, len(model.vertices_m)
    up = model.vertices_m[:, 1] > np.percentile(model.vertices_m[:, 1], 80)
    hidden = up & (model.vertices_m[:, 0] > 0.02)  # the top's left part unseen
    seen_skin = up & ~hidden  # the rest of the top seen, bare
    weights = np.where(hidden, 1.0, 0.0)
    blended = _seen_into_hidden(weights, faces, hidden, up)
    np.testing.assert_array_equal(blended[seen_skin], 0.0)
    neighbours = np.unique(faces[np.isin(faces, np.flatnonzero(seen_skin)).any(axis=1)])
    border = np.intersect1d(neighbours, np.flatnonzero(hidden))
    far = hidden & (model.vertices_m[:, 0] > 0.06)
    assert border.size and blended[border].max() < 0.9, "the bare skin goes on a little way"
    assert far.any() and np.allclose(blended[far], 1.0), "far from it, the hidden scalp keeps its hair"
    assert count == len(blended)


def test_the_ears_stay_bare_while_the_scalp_above_them_and_the_sideburns_get_hair_unseen():
    from revive_core.avatar.build import _skin_regions
    from revive_core.avatar.hair import hair_candidates

    model = find_model("default")
    vertices = model.vertices_m
    brows, _ = model.landmarks(vertices)
    ibug, _ = model.ibug_landmarks(vertices)
    candidates, hidden_ok = hair_candidates(vertices, model.vertex_regions, _skin_regions(model),
                                            ibug, brow_y_m=float(brows[list(BROWS), 1].max()))
    x, y, z = np.abs(vertices[:, 0]), vertices[:, 1], vertices[:, 2]
    skin = np.isin(model.vertex_regions, _skin_regions(model))
    jaw_y = 0.5 * (ibug[0, 1] + ibug[16, 1])
    # The ear: what stands out farthest from the midline around the jaw's end.
    level = skin & (y > jaw_y - 0.06) & (y < jaw_y + 0.01)
    ear = level & (x > x[level].max() - 0.012)
    ear_top, ear_front = y[ear].max(), z[ear].max()
    above_ear = skin & (x > 0.05) & (y > ear_top + 0.008) & (y < ear_top + 0.02) & (z < ear_front) & (z > z[ear].min())
    sideburn = skin & (x > 0.05) & (y > ear_top - 0.015) & (y < ear_top) & (z > ear_front + 0.005) & (z < ear_front + 0.015)
    assert ear.sum() > 100 and above_ear.sum() > 10 and sideburn.sum() > 5
    assert not candidates[ear].any(), "hair in the photo over an ear is not painted on it"
    assert hidden_ok[above_ear].all() and hidden_ok[sideburn].all()


def test_hair_is_painted_only_where_no_photo_saw_the_texel_well():
    from revive_core.avatar.hair import Hair, hair_blend
    from revive_core.avatar.texture.uv import uv_layout

    model = find_model("default")
    layout = uv_layout(model.uvs, model.uv_faces, 128, faces=model.faces, vertices_m=model.vertices_m)
    count = len(model.vertices_m)
    hair = Hair(colour=np.full(3, 0.2), coverage=1.0, vertex_weights=np.ones(count),
                volume_weights=np.ones(count), thickness_m=0.01)
    confidence = np.zeros((128, 128))
    rows, cols = layout.rows, layout.cols
    best, well, poorly = rows < 40, (rows >= 40) & (rows < 80), rows >= 80
    confidence[rows[best], cols[best]] = 0.95
    confidence[rows[well], cols[well]] = 0.4  # above the trusted level (0.3 of the best)
    confidence[rows[poorly], cols[poorly]] = 0.1
    blend = hair_blend(confidence, layout, model.faces, hair)[rows, cols]
    assert blend[best].max() == 0.0 and blend[well].max() == 0.0, "a well-seen texel keeps the photo"
    np.testing.assert_allclose(np.median(blend[poorly]), 1.0 - 0.1 / (0.3 * 0.95), atol=0.02)
