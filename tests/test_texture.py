"""Tests of revive_core.avatar.texture: projection, lighting removal, fusion, fills, painted parts,
old-photo colour, the completion GAN and its weights, and whole bakes of a rendered head."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from revive_core.bench.texture import Light, render_textured
from revive_core.geometry.camera import Camera
from revive_core.geometry.offscreen import OffscreenRenderer
from revive_core.geometry.spherical_harmonics import sh_basis
from revive_core.geometry.srgb import linear_to_srgb, srgb_to_linear
from revive_core.errors import InputError
from revive_core.avatar.texture import (CompletionSettings, PhotoView, bake_texture, load_generator,
                                 save_generator)
from revive_core.avatar.texture.complete import Generator, complete_texture, symmetric_fill
from revive_core.avatar.texture.fuse import (blend_views, equalise_colours, fill_unseen, pull_push,
                                      surface_fill)
from revive_core.avatar.texture.light import delight, estimate_lighting
from revive_core.avatar.texture.regions import paint_parts, region_kinds
from revive_core.avatar.texture.project import sample_view
from revive_core.avatar.texture.tone import colourise, is_monochrome
from revive_core.avatar.texture.uv import mirror_texels, uv_layout
from revive_core.assets import asset_path

SKIN = np.array([0.78, 0.57, 0.46])  # sRGB 0..1
KEY = np.array([0.5, 0.35, 0.8]) / np.linalg.norm([0.5, 0.35, 0.8])
PHOTO = 256


def _light() -> Light:
    """Ambient 0.3 plus a key light, exposed so the brightest shading is 1."""
    return Light(0.3, KEY[None], np.array([0.7]))


def _camera(yaw_deg: float = 0.0) -> Camera:
    from scipy.spatial.transform import Rotation

    return Camera.for_photo(PHOTO, PHOTO).posed(
        Rotation.from_euler("y", yaw_deg, degrees=True).as_rotvec(), (0.0, 0.0, -0.7))


def _unit_sphere_points(count: int, seed: int = 0) -> np.ndarray:
    points = np.random.default_rng(seed).normal(size=(count, 3))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


SKIN_ROWS = slice(0, 70)  # the texture's rows that are plain skin (the collar is below)


@pytest.fixture(scope="module")
def rendered(avatar_builder):
    """The test head painted skin with a blue collar, rendered from the front under ``_light``."""
    avatar = avatar_builder(rings=28, segments=48)
    albedo = np.broadcast_to(SKIN, (128, 128, 3)).copy()
    albedo[80:96] = [0.35, 0.45, 0.85]  # a colour photo has more than one hue
    with OffscreenRenderer(PHOTO, PHOTO) as renderer:
        image, _ = render_textured(renderer, avatar.vertices_m, avatar, albedo, _camera(),
                                   _light())
    return avatar, image


def _bake(avatar, image, method: str, **options):
    regions = np.zeros(len(avatar.faces), int)
    view = PhotoView(image, _camera(), avatar.vertices_m.astype(np.float64))
    return bake_texture(avatar.faces, avatar.uvs, avatar.uv_faces, regions, [view], size=128,
                        method=method, **options)


# -- uv --------------------------------------------------------------------------------------

def test_texels_lie_on_the_mesh_and_mirror_across_x(tiny_avatar):
    layout = uv_layout(tiny_avatar.uvs, tiny_avatar.uv_faces, 64)
    points = layout.points(tiny_avatar.vertices_m.astype(np.float64), tiny_avatar.faces)
    assert layout.covered.sum() == len(points) > 0.8 * 64 * 64
    # The egg: (x / 0.09)^2 + (y / 0.12)^2 + (z / 0.09)^2 = 1 at the vertices, a little less
    # inside the flat triangles.
    radius = np.linalg.norm(points / [0.09, 0.12, 0.09], axis=1)
    assert radius.max() <= 1.0 + 1e-6 and radius.min() > 0.9
    mirror = mirror_texels(points, np.ones(len(points), bool))
    found = mirror >= 0
    assert found.mean() > 0.95
    assert np.abs(points[mirror[found], 0] + points[found, 0]).max() < 0.004


def test_overlapping_uv_islands_go_to_the_front_most_surface():
    # Two triangles on the same UV island: a back one (z = -1) listed last, a front one (z = 0).
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, -1], [1, 0, -1], [0, 1, -1]],
                        float)
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    uv_faces = np.array([[0, 1, 2], [0, 1, 2]])
    assert (uv_layout(uvs, uv_faces, 16).faces == 1).all()  # without geometry: the last one
    layout = uv_layout(uvs, uv_faces, 16, faces=faces, vertices_m=vertices)
    assert len(layout.faces) > 50 and (layout.faces == 0).all()


# -- light -----------------------------------------------------------------------------------

def test_lighting_is_recovered_despite_darker_lips_and_brows():
    normals = _unit_sphere_points(6000)
    normals = normals[normals[:, 2] > -0.2]  # what one photo sees: the front and a bit more
    shading = _light().shading(normals)
    albedo = np.full(len(normals), 0.5)
    albedo[:300] = 0.2  # lips and brows: darker, not a shadow
    lighting = estimate_lighting(albedo * shading, normals, np.ones(len(normals)), np.eye(3))
    estimated = lighting.shading(normals)
    skin = slice(300, None)
    assert np.abs(estimated[skin] - shading[skin]).max() < 0.08
    recovered, trust = delight(np.repeat((albedo * shading)[:, None], 3, 1), estimated)
    assert np.median(np.abs(recovered[skin, 0] - 0.5)) < 0.03  # within 6%: SH2 is smooth
    assert np.median(recovered[:300, 0]) < 0.25  # the dark parts stay dark
    summary = lighting.to_dict()
    angle = np.degrees(np.arccos(np.clip(np.dot(summary["sun_direction_camera"], KEY), -1, 1)))
    assert angle < 15
    assert len(summary["coefficients"]) == 9 and trust.min() >= 0


def test_half_delighting_divides_by_the_square_root_and_keeps_a_bright_texel_s_hue():
    colours = np.array([[0.2, 0.1, 0.05], [0.9, 0.7, 0.6]])
    shading = np.array([0.25, 0.5])
    albedo, _ = delight(colours, shading, strength=0.5)
    np.testing.assert_allclose(albedo[0], colours[0] / 0.5)
    # 0.9 / sqrt(0.5) > 1: scaled down as a whole, not clipped channel by channel.
    assert albedo[1].max() == pytest.approx(1.0)
    np.testing.assert_allclose(albedo[1] / albedo[1, 0], colours[1] / colours[1, 0])
    full, _ = delight(colours, shading)
    np.testing.assert_allclose(full[0], colours[0] / 0.25)


def test_sh_basis_is_orthonormal_over_the_sphere():
    basis = sh_basis(_unit_sphere_points(200_000))
    gram = basis.T @ basis * (4 * np.pi / len(basis))
    assert np.abs(gram - np.eye(9)).max() < 0.03


# -- fuse ------------------------------------------------------------------------------------

def test_pull_push_keeps_known_texels_and_fills_from_neighbours():
    image = np.zeros((32, 32, 3))
    image[:, :16] = [1.0, 0.0, 0.0]
    image[:, 16:] = [0.0, 0.0, 1.0]
    known = np.ones((32, 32), bool)
    known[:, 12:20] = False
    filled = pull_push(image, known)
    assert np.array_equal(filled[known], image[known])
    assert filled[:, 12, 0].min() > filled[:, 12, 2].max()  # near red: red
    assert filled[:, 19, 2].min() > filled[:, 19, 0].max()  # near blue: blue


def test_surface_fill_crosses_uv_islands_by_3d_distance():
    points = _unit_sphere_points(20_000) * 0.1
    values = np.where(points[:, :1] > 0, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    known = np.abs(points[:, 1]) < 0.05  # a band around the middle; the caps are unknown
    filled = surface_fill(values, known, points)
    assert np.array_equal(filled[known], values[known])
    top = ~known & (points[:, 1] > 0.09)  # the cap: the fill follows the side it is nearest
    side = np.sign(points[top, 0])
    assert (np.sign(filled[top, 0] - filled[top, 2]) == side).mean() > 0.85
    confidence = np.where(known, 1.0, 0.0)
    confidence[known & (points[:, 0] > 0.05)] = 0.5  # half trusted: half photo, half fill
    mixed = fill_unseen(values, confidence, 1.0, points)
    trusted_fill = surface_fill(values, confidence >= 1.0, points)
    assert np.array_equal(mixed[confidence == 1], values[confidence == 1])
    assert np.allclose(mixed[confidence == 0], trusted_fill[confidence == 0])
    half = confidence == 0.5
    assert half.any() and np.allclose(mixed[half], 0.5 * values[half] + 0.5 * trusted_fill[half])


def test_colour_gains_and_multiband_seams():
    rng = np.random.default_rng(1)
    texture = rng.uniform(0.3, 0.7, (2, 500, 3))
    colours = np.stack([texture[0], texture[0] / np.array([1.2, 1.0, 0.9])])
    confidence = np.array([np.full(500, 0.9), np.full(500, 0.5)])
    gains = equalise_colours(colours, confidence)
    assert np.allclose(gains[0], 1.0) and np.allclose(gains[1], [1.2, 1.0, 0.9], atol=1e-6)

    left, right = np.full((64, 64, 3), 0.3), np.full((64, 64, 3), 0.7)
    conf = np.zeros((2, 64, 64))
    conf[0, :, :32], conf[1, :, 32:] = 1.0, 1.0
    blended = blend_views(np.stack([left, right]), conf, levels=4)
    row = blended[32, :, 0]
    assert abs(row[2] - 0.3) < 0.02 and abs(row[-3] - 0.7) < 0.02
    assert np.abs(np.diff(row)).max() < 0.1  # no hard step at the seam


# -- tone --------------------------------------------------------------------------------------

def test_grayscale_and_sepia_are_recognised_and_colourised(sample_photo):
    assert not is_monochrome(sample_photo)
    gray = cv2.cvtColor(cv2.cvtColor(sample_photo, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    sepia = np.clip(gray * np.array([1.0, 0.86, 0.66]), 0, 255).astype(np.uint8)
    assert is_monochrome(gray) and is_monochrome(sepia)
    linear = srgb_to_linear(np.array([[0.5, 0.5, 0.5], [0.3, 0.3, 0.3]]))
    coloured = colourise(linear, (13.0, 17.0))
    lab_before = cv2.cvtColor(linear.astype(np.float32)[None], cv2.COLOR_LRGB2Lab)[0]
    lab_after = cv2.cvtColor(coloured.astype(np.float32)[None], cv2.COLOR_LRGB2Lab)[0]
    assert np.allclose(lab_after[:, 0], lab_before[:, 0], atol=1.0)
    assert np.all(coloured[:, 0] > coloured[:, 1]) and np.all(coloured[:, 1] > coloured[:, 2])


@pytest.fixture(scope="module")
def sample_photo():
    path = asset_path("sample", "astronaut.png")
    return np.asarray(Image.open(path).convert("RGB"))


# -- parts -----------------------------------------------------------------------------------

def test_regions_are_recognised_by_name():
    names = ["face", "face_side", "scalp", "mouth_interior", "lid_lining", "gums_tongue", "teeth",
             "eye_sclera_left", "eye_iris_left", "eye_pupil_right", "eye_left", "eyelashes"]
    assert region_kinds(names) == ["skin", "skin", "skin", "mouth", "skin", "gums", "teeth",
                                   "eye", "eye", "eye", "eye", "lashes"]


def test_painted_eye_has_a_dark_pupil_a_coloured_iris_and_white_sclera():
    rng = np.random.default_rng(0)
    # An eyeball of radius 12 mm looking toward +Z, one texel per point.
    points = _unit_sphere_points(4000) * 0.012
    rows, cols = np.divmod(np.arange(len(points)), 64)
    albedo = np.zeros((64, 64, 3))
    paint_parts(albedo, rows, cols, np.zeros(len(points), int), ["eye_left"], points,
                np.zeros(len(points), bool), seed=int(rng.integers(100)))
    colours = albedo[rows, cols]
    radius = np.hypot(points[:, 0], points[:, 1])
    front = points[:, 2] > 0.008
    pupil, iris = front & (radius < 0.0015), front & (radius > 0.003) & (radius < 0.005)
    sclera = points[:, 2] < 0.0
    assert colours[pupil].max() < 0.1
    assert colours[sclera].min() > 0.7
    assert 0.1 < colours[iris].mean() < 0.6 and (colours[iris, 0] > colours[iris, 2]).all()


def test_photo_eye_weight_is_one_inside_the_opening_and_fades_to_its_edge():
    from revive_core.avatar.detect import detect_face
    from revive_core.avatar.texture.eyes import EYE_OPENINGS, _inside_openings

    detection = detect_face(asset_path("sample", "astronaut.png"))
    points = 4.0 * detection.landmarks_px[:, :2]  # as in a photo 4 times as large
    opening = points[list(EYE_OPENINGS[0])]
    middle = 0.5 * (points[159] + points[145])  # between the upper and lower lid
    near_corner = middle + 0.92 * (opening[0] - middle)
    past_corner = middle + 1.2 * (opening[0] - middle)  # on the skin beyond the corner
    height, width = detection.image.shape[:2]
    weights = _inside_openings(points, np.stack([middle, near_corner, past_corner]),
                               (4 * height, 4 * width))
    assert weights[0] > 0.8 and weights[1] < 0.6 and weights[2] == 0.0


EYEBALL = _unit_sphere_points(4000) * 0.012
EYEBALL_RADIUS = np.hypot(EYEBALL[:, 0], EYEBALL[:, 1])  # from the gaze axis
OPENING = (EYEBALL[:, 2] > 0.006) & (np.abs(EYEBALL[:, 1]) < 0.004)  # a band across the front
NEVER_SEEN = EYEBALL[:, 2] < -0.006


def _eye_painted_over(sclera_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A photo's colours on ``EYEBALL`` (a blue iris, ``sclera_rgb`` around it, (N, 3) or (3,))
    and the eye ``paint_parts`` paints with what the photo saw through ``OPENING``."""
    rows, cols = np.divmod(np.arange(len(EYEBALL)), 64)
    photo = np.where((EYEBALL_RADIUS < 0.0058)[:, None], [0.30, 0.45, 0.60], sclera_rgb)
    albedo = np.zeros((64, 64, 3))
    paint_parts(albedo, rows, cols, np.zeros(len(EYEBALL), int), ["eye_left"], EYEBALL,
                np.zeros(len(EYEBALL), bool), photo_eyes=(photo, OPENING.astype(float)))
    return photo, albedo[rows, cols]


def test_painted_eye_takes_the_photo_where_it_saw_the_eye_and_its_sclera_tone():
    photo, colours = _eye_painted_over(np.array([0.70, 0.68, 0.66]))
    np.testing.assert_allclose(colours[OPENING], photo[OPENING])
    # never seen: painted, in the tone of the sclera seen
    assert np.abs(colours[NEVER_SEEN].mean() - 0.68).max() < 0.04


def test_the_painted_sclera_continues_the_shaded_sclera_the_photo_saw():
    """A photo's sclera is shaded by the lids and the corners of the eye; the painted rest of
    the ball takes that tone, not a whiter one that shows as white wedges beside it."""
    shade = np.where(EYEBALL[:, 1] > 0, 0.62, 0.50)[:, None]  # the half under the upper lid darker
    photo, colours = _eye_painted_over(shade)
    seen_sclera = OPENING & (EYEBALL_RADIUS > 0.007)
    painted = colours[NEVER_SEEN].mean()
    assert abs(painted - np.median(photo[seen_sclera].mean(1))) < 0.04, painted


# -- bakes of a rendered head ----------------------------------------------------------------

def test_delighting_takes_out_a_quarter_of_the_lighting_that_blur_keeps(rendered):
    avatar, image = rendered
    blur = _bake(avatar, image, "blur")
    delit = _bake(avatar, image, "delit")
    well_seen = delit.confidence > 0.5 * delit.confidence.max()
    well_seen[SKIN_ROWS.stop:] = False
    truth = srgb_to_linear(SKIN)

    def log_shading(albedo):  # what is left of the light on each texel, log of linear green
        return np.log(srgb_to_linear(albedo[well_seen, 1] / 255.0) / truth[1])

    kept = np.std(log_shading(delit.albedo)) / np.std(log_shading(blur.albedo))
    assert 0.6 < kept < 0.9, f"about three quarters of the photo's lighting should be left, not {kept:.2f}"
    sun = delit.lighting[0]["sun_direction_camera"]
    assert np.degrees(np.arccos(np.clip(np.dot(sun, KEY), -1, 1))) < 30  # one view: roughly
    # The back of the head was never seen: filled with the skin's colour, not black.
    back = delit.confidence == 0
    back[SKIN_ROWS.stop:] = False
    seen_mean = delit.albedo[well_seen].mean(0)
    assert back.any() and np.abs(delit.albedo[back].mean(0) - seen_mean).max() < 25
    assert blur.lighting == [] and delit.seconds["project"] > 0


def test_grayscale_photo_gives_skin_coloured_albedo(rendered):
    avatar, image = rendered
    gray = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    result = _bake(avatar, gray, "delit")
    assert result.colour_source.startswith("estimated")
    seen = result.confidence > 0
    seen[SKIN_ROWS.stop:] = False
    mean = result.albedo[seen].mean(0)
    assert mean[0] > mean[1] + 10 > mean[2] + 10  # a skin hue, not gray
    def lightness(rgb):
        return cv2.cvtColor(rgb.astype(np.float32)[None, None], cv2.COLOR_RGB2Lab)[0, 0, 0]

    assert abs(lightness(mean / 255) - lightness(SKIN)) < 8


def test_result_holds_the_confidence_map_and_a_json_ready_lighting(rendered):
    avatar, image = rendered
    result = _bake(avatar, image, "delit")
    confidence = np.asarray(Image.open(io.BytesIO(result.files()["confidence.png"])))
    assert confidence.shape == (128, 128) and confidence.dtype == np.uint8
    assert confidence.max() > 100 and (confidence == 0).any()
    summary = json.loads(json.dumps(result.summary()))
    assert summary["colour_source"] == "photos" and len(summary["lighting"]) == 1
    assert len(summary["lighting"][0]["coefficients"]) == 9


def test_projection_sees_only_the_front(rendered):
    avatar, image = rendered
    layout = uv_layout(avatar.uvs, avatar.uv_faces, 64)
    vertices = avatar.vertices_m.astype(np.float64)
    samples = sample_view(PhotoView(image, _camera(), vertices), avatar.faces, layout,
                          layout.texel_size_m(vertices, avatar.faces, avatar.uvs, avatar.uv_faces))
    points = layout.points(vertices, avatar.faces)
    assert (samples.confidence[points[:, 2] < 0] == 0).all()  # the back: hidden
    assert (samples.confidence[points[:, 2] > 0.06] > 0.3).mean() > 0.9  # the front: seen



def test_person_mask_covers_the_face_not_the_background(sample_photo):
    from revive_core.avatar.segment import person_mask

    mask = person_mask(sample_photo)
    assert mask.shape == sample_photo.shape[:2] and mask.dtype == np.float32
    assert mask[90:160, 195:250].min() > 0.9  # eyes, nose and mouth
    assert mask[:40, :40].max() < 0.1  # the flag behind her


def test_projection_takes_no_colour_from_the_background(rendered):
    avatar, image = rendered
    layout = uv_layout(avatar.uvs, avatar.uv_faces, 64)
    vertices = avatar.vertices_m.astype(np.float64)
    texel_size = layout.texel_size_m(vertices, avatar.faces, avatar.uvs, avatar.uv_faces)
    everywhere = np.ones(image.shape[:2], np.float32)
    right_half = everywhere.copy()
    right_half[:, : PHOTO // 2] = 0.0  # the left half of the photo is background
    whole = sample_view(PhotoView(image, _camera(), vertices, everywhere), avatar.faces, layout,
                        texel_size)
    half = sample_view(PhotoView(image, _camera(), vertices, right_half), avatar.faces, layout,
                       texel_size)
    x_px = _camera().project(layout.points(vertices, avatar.faces))[0][:, 0]
    seen = whole.confidence > 0
    assert (half.confidence[seen & (x_px < PHOTO / 2 - 1)] == 0).all()
    right = seen & (x_px > PHOTO / 2 + 1)
    assert right.sum() > 50
    assert np.allclose(half.confidence[right], whole.confidence[right])

# -- GAN ---------------------------------------------------------------------------------------

def _grainy_half_seen(size: int = 64):
    rng = np.random.default_rng(3)
    albedo = np.clip(SKIN + 0.04 * rng.normal(size=(size, size, 1)), 0, 1)
    confidence = np.zeros((size, size))
    confidence[:, : size // 2] = 1.0
    fill = np.ones((size, size), bool)
    coarse = np.where(confidence[..., None] > 0, albedo, SKIN)
    return albedo, confidence, fill, coarse


def _complete(seed: int, steps: int = 30):
    albedo, confidence, fill, coarse = _grainy_half_seen()
    settings = CompletionSettings(steps=steps, patch=16, batch=4, seed=seed, progress=False,
                                  device="cpu")
    result = complete_texture(albedo, confidence, fill, coarse, np.zeros_like(fill), 0.3, settings)
    return result, settings.history, albedo, confidence


@pytest.mark.slow
def test_gan_learns_and_is_reproducible_with_a_seed():
    first, history, albedo, confidence = _complete(seed=7)
    again, _, _, _ = _complete(seed=7)
    other, _, _, _ = _complete(seed=8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    seen = confidence > 0
    assert np.array_equal(first[seen], albedo[seen])  # seen skin is kept as it is
    losses = [h["reconstruction"] for h in history]
    assert len(losses) == 30 and np.mean(losses[-8:]) < np.mean(losses[:8])
    # The unseen half gets grain around the skin's colour, not a flat fill.
    unseen = first[~seen]
    assert np.abs(unseen.mean(0) - SKIN).max() < 0.05 and unseen.std(0).mean() > 0.005


def test_grain_strength_scales_the_fine_detail_and_keeps_the_tone():
    from revive_core.avatar.texture.complete import _with_grain

    rng = np.random.default_rng(0)
    coarse = np.full((1024, 1024, 3), 0.6, np.float32)
    tone = np.broadcast_to(np.linspace(-0.1, 0.1, 1024, dtype=np.float32)[None, :, None],
                           coarse.shape)
    generated = coarse + tone + rng.normal(0.0, 0.03, coarse.shape).astype(np.float32)
    full, half, smooth = (_with_grain(generated, coarse, k) for k in (1.0, 0.5, 0.0))
    assert np.allclose(full, generated, atol=1e-5)
    assert np.abs((smooth - coarse).mean(axis=(0, 2)) - tone[0, :, 0])[8:-8].max() < 0.005
    assert (half - smooth).std() == pytest.approx(0.5 * (full - smooth).std(), rel=0.01)
    assert (smooth - coarse - tone).std() < 0.2 * (full - coarse - tone).std()

def test_symmetric_fill_copies_the_seen_side(tiny_avatar):
    layout = uv_layout(tiny_avatar.uvs, tiny_avatar.uv_faces, 64)
    points = layout.points(tiny_avatar.vertices_m.astype(np.float64), tiny_avatar.faces)
    values = np.where(points[:, 1:2] > 0, [[0.8, 0.5, 0.4]], [[0.5, 0.3, 0.2]])  # top/bottom
    known = points[:, 0] > 0.01  # the subject's left seen, the right not
    skin = np.ones(len(points), bool)
    coarse, mirrored = symmetric_fill(values, known, skin, mirror_texels(points, skin), points)
    far = mirrored & (points[:, 0] < -0.04)  # well away from the seam
    assert far.sum() > 50
    assert np.abs(coarse[far] - values[far]).max() < 0.05  # the mirror has the same colours


def test_generator_weights_round_trip_and_foreign_files_are_refused(tmp_path):
    torch.manual_seed(0)
    generator = Generator()
    path = tmp_path / "generator.pt"
    save_generator(generator, path)
    loaded = load_generator(path)
    for (name, a), (_, b) in zip(generator.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name

    pickled = tmp_path / "pickled.pt"
    torch.save({"weights": _NotATensor()}, pickled)
    with pytest.raises(InputError, match="can't be read as texture generator weights"):
        load_generator(pickled)
    wrong = tmp_path / "wrong.pt"
    torch.save({"head.weight": torch.zeros(3)}, wrong)
    with pytest.raises(InputError, match="don't fit"):
        load_generator(wrong)
    with pytest.raises(InputError, match="do not exist"):
        load_generator(tmp_path / "missing.pt")


class _NotATensor:
    """Anything but tensors must never be unpickled."""


@pytest.mark.slow
def test_bake_with_pretrained_generator_path(rendered, tmp_path):
    avatar, image = rendered
    path = tmp_path / "generator.pt"
    torch.manual_seed(1)
    save_generator(Generator(), path)
    settings = CompletionSettings(steps=8, patch=16, batch=2, generator_path=path, progress=False)
    result = _bake(avatar, image, "gan", completion=settings)
    assert len(settings.history) == 2  # a quarter of the steps fine-tunes the given weights
    assert result.albedo.shape == (128, 128, 3)
    unseen = result.confidence == 0
    unseen[SKIN_ROWS.stop:] = False
    assert np.abs(result.albedo[unseen].mean(0) - SKIN * 255).max() < 30


def test_srgb_round_trip():
    x = np.linspace(0, 1, 101)
    assert np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-9)


def test_iris_colour_is_read_from_the_photo_at_the_iris_landmarks():
    from revive_core.avatar.detect import detect_face
    from revive_core.avatar.texture.regions import photo_iris_colour

    detection = detect_face(asset_path("sample", "astronaut.png"))
    image = np.full_like(detection.image, 200)
    for centre in (468, 473):
        x, y = detection.landmarks_px[centre, :2]
        radius = np.linalg.norm(detection.landmarks_px[centre + 1:centre + 5, :2] - [x, y], axis=1).mean()
        rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
        image[np.hypot(cols - x, rows - y) < radius] = (60, 90, 160)  # a blue iris
    colour = photo_iris_colour(image, detection.landmarks_px)
    np.testing.assert_allclose(colour, np.array([60, 90, 160]) / 255, atol=0.02)


def test_lips_the_photo_did_not_show_take_the_seen_lips_colour_not_the_skins():
    from revive_core.avatar.model.registry import find_model
    from revive_core.avatar.texture.lips import fill_lips, lip_outline_uv, lip_texels

    model = find_model("default")
    layout = uv_layout(model.uvs, model.uv_faces, 512, faces=model.faces,
                       vertices_m=model.vertices_m)
    points = layout.points(model.vertices_m, model.faces)
    skin = np.isin(model.vertex_regions[model.faces].max(1)[layout.faces],
                   [i for i, k in enumerate(region_kinds(model.region_names)) if k == "skin"])
    outline = lip_outline_uv(model.uvs, model.uv_faces, model.landmark_faces, model.landmark_bary)
    lips = lip_texels(layout, outline, skin)
    mouth = model.landmarks(model.vertices_m)[0][[61, 291, 0, 17]]  # corners, top, bottom
    assert lips.sum() > 500
    assert (points[lips, 0].min() >= mouth[0, 0] - 0.003) and (points[lips, 0].max() <= mouth[1, 0] + 0.003)
    assert (points[lips, 1].min() >= mouth[3, 1] - 0.003) and (points[lips, 1].max() <= mouth[2, 1] + 0.003)
    # A smile: the photo saw the lips' outer halves (red) and the skin, not the lips' middle,
    # where the mouth was open.
    middle_y = np.median(points[lips, 1])
    hidden = lips & (np.abs(points[:, 1] - middle_y) < 0.003)
    red, skin_colour = np.array([0.7, 0.25, 0.3]), np.array([0.8, 0.6, 0.5])
    values = np.where(lips[:, None], red, skin_colour)
    confidence = np.where(hidden, 0.0, 1.0)
    values[hidden] = 0.0
    filled, trusted = fill_lips(values, confidence, lips, 0.5, points)
    np.testing.assert_allclose(filled[hidden], np.broadcast_to(red, filled[hidden].shape), atol=0.02)
    assert (trusted[hidden] >= 0.5).all(), "kept by the completion that follows"
    np.testing.assert_array_equal(filled[~hidden], values[~hidden])
    # Too little of the lips seen: their colour is unknown, nothing is filled.
    unchanged, _ = fill_lips(values, np.where(lips, 0.0, 1.0), lips, 0.5, points)
    np.testing.assert_array_equal(unchanged, values)


def test_near_the_silhouette_shaded_skin_is_kept_and_hair_or_background_dropped():
    from revive_core.avatar.texture.project import _colour_outliers

    skin = srgb_to_linear(np.array([0.85, 0.64, 0.52]))
    reference = np.tile(skin, (400, 1))
    shaded = skin * 0.3  # the same skin turned away from the light: darker, the same hue
    grey_hair, backdrop = srgb_to_linear(np.array([0.55, 0.55, 0.56])), srgb_to_linear(np.array([0.2, 0.35, 0.7]))
    colours = np.concatenate([reference, [shaded, grey_hair, backdrop]])
    confidence = np.concatenate([np.ones(400), [0.2, 0.2, 0.2]])
    well_seen = np.arange(len(colours)) < 400
    np.testing.assert_array_equal(_colour_outliers(colours, confidence, well_seen)[400:],
                                  [False, True, True])
