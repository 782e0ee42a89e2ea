"""Hair from the photo: where the person's hair is, its colour, and its volume over the scalp.

Every face model is a bald head. In the photo the avatar is built from, hair is the part of
the person (mediapipe's person segmentation) above and beside the face whose colour is not the
skin's. From it come:

- the hair colour (the median of the lit strands over the forehead, sRGB);
- which head vertices carry hair: those facing the camera that land on hair in the photo, and,
  when the photo shows hair on top of the head, the scalp the photo cannot see (top and back,
  down to the nape);
- the hair's thickness, from how far the person's outline stands above the bald head's outline
  in the photo (metres, at the head's depth);
- hair hanging beside the face and neck, when it reaches below the mouth (``long_hair``).

The avatar gets a scalp raised by that thickness (a hair volume that tapers to the hairline)
and hair-coloured texels where no photo saw the scalp. Someone bald keeps their bald head: too
little of the top of their head differs from their skin.

Functions
---------
estimate_hair  photo + fitted head -> Hair (colour, vertex weights, thickness, hanging hair)
grow_hair      rest vertices + Hair -> vertices with the hair volume
hair_blend     Hair -> how much hair each texel is painted with
paint_hair     albedo texture + Hair -> albedo with hair where no photo saw the scalp
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from revive_core.avatar.long_hair import (HangingHair, HeadRows, hair_grain, lit_strands_colour,
                                          measure_hanging_hair)
from revive_core.avatar.texture.fuse import trusted_level
from revive_core.avatar.texture.uv import UVLayout
from revive_core.geometry.camera import Camera
from revive_core.geometry.mesh import vertex_normals

__all__ = ["BROWS", "Hair", "estimate_hair", "grow_hair", "hair_blend", "hair_candidates",
           "paint_hair"]

# mediapipe landmark indices (FaceMesh topology)
FOREHEAD_TOP, CHIN = 10, 152
FACE_LEFT, FACE_RIGHT = 234, 454  # the face oval's outermost points at the cheekbones
BROWS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
CHEEKS = (50, 101, 118, 280, 330, 347)
EYE_CORNERS = (33, 133, 263, 362)
# iBUG-68 points of the model (its own landmark embedding): nose bottom, jaw at the ears
IBUG_NOSE_BOTTOM, IBUG_JAW_LEFT, IBUG_JAW_RIGHT = 33, 0, 16

EAR_HALF_WIDTH_M = 0.062  # farther from the midline than this, at ear height, is ear
# Where a side of the head is hair when the photo cannot see it, from the ear forward (metres,
# from the ear's front edge): above the ear's top over the ear, down to the sideburn's end in
# front of it, rising over the temple to the hairline's height at the brows.
EAR_FRONT_BEHIND_JAW_M = 0.027  # the ear's front edge lies this far behind the jaw's end
EAR_DEPTH_M = 0.03  # from the ear's front edge to its back
SIDE_HAIRLINE_Z_M = (-0.003, 0.002, 0.02, 0.047)
SIDE_HAIRLINE_ABOVE_JAW_M = (0.005, -0.02, -0.02)  # ... then the hairline's height at the brows
# The highest a hairline may come down, above the brows, from the forehead to the sides
HAIRLINE_CURVE_X_M, HAIRLINE_ABOVE_BROWS_M = (0.04, EAR_HALF_WIDTH_M), (0.012, -0.005)
MIN_COVERAGE = 0.35  # share of the head top that must be hair for the hidden scalp to get hair
HAIR_DELTA_E = 22.0  # colour distance (CIE76, Lab) from the skin above which a pixel is hair
SKIN_CHROMA_DISTANCE = 9.0  # (a, b) distance from the skin's within which a pixel is skin-hued
SKIN_DARKER_L = 20.0  # ... unless it is this much darker (L*) than the skin
SMOOTH_SCALP_RATIO = 2.0  # darker skin-hued pixels with less fine detail than this x cheeks: scalp
MAX_THICKNESS_M = 0.02  # more is mostly the fitted skull being too low, not hair
UNSEEN_THICKNESS_M = 0.012  # when the photo cuts off the top of the head
SIDE_HAIR_REACH = 0.2  # beside a side point, the photo is searched this far out (face widths)
SIDE_HAIR_SHARE = 0.3  # ... and shows hair there when this share of the pixels is hair
MIN_HAIR_SAMPLES = 50  # pixels, for the hair's colour
DEFAULT_HAIR = np.array([0.23, 0.17, 0.12])  # dark brown, when the photo shows too little hair
SMOOTHING_STEPS = 40  # mesh smoothing of the hair weights: the volume tapers to the hairline
HAIRLINE_SMOOTHING_STEPS = 4  # ... and a little, for a painted hairline free of triangle steps
HIDDEN_BLEND_STEPS = 3  # rings of the hidden scalp that take after the seen scalp beside them


@dataclass
class Hair:
    """The person's hair as seen in one photo.

    Attributes
    ----------
    colour : np.ndarray [shape=(3,)] float
        sRGB 0..1 median colour of the hair pixels.
    coverage : float
        Share (0..1) of the person's pixels above the forehead that are hair.
    vertex_weights : np.ndarray [shape=(V,)] float
        0..1 per head vertex: how much it is covered by hair.
    volume_weights : np.ndarray [shape=(V,)] float
        0..1 per head vertex: share of the full thickness it is raised by (the weights
        smoothed over the mesh, so the volume tapers to nothing at the hairline).
    thickness_m : float
        Hair thickness over the top of the head, metres.
    hanging : HangingHair or None
        Long hair beside the face and neck; None for short hair or none.
    """

    colour: np.ndarray
    coverage: float
    vertex_weights: np.ndarray
    volume_weights: np.ndarray
    thickness_m: float
    hanging: HangingHair | None = None

    @property
    def present(self) -> bool:
        return bool(self.vertex_weights.max(initial=0.0) > 0.0)

    def summary(self) -> dict:
        return {"colour_srgb": [round(float(c), 3) for c in self.colour],
                "coverage": round(self.coverage, 3), "thickness_mm": round(1e3 * self.thickness_m, 1),
                "hair_vertices": int((self.vertex_weights > 0.5).sum()),
                **({"hanging": self.hanging.summary()} if self.hanging else {})}


def estimate_hair(image: np.ndarray, landmarks_px: np.ndarray, camera: Camera,
                  vertices_m: np.ndarray, faces: np.ndarray, candidates: np.ndarray,
                  hidden_ok: np.ndarray, person: np.ndarray, head_rows: HeadRows | None = None) -> Hair:
    """Find the hair in ``image`` and on the head fitted to it.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3)] uint8
        The photo (RGB).
    landmarks_px : np.ndarray [shape=(478, 2+)]
        mediapipe landmarks in the photo, pixels.
    camera : Camera
        The fitted camera: ``camera.project`` maps ``vertices_m`` into the photo.
    vertices_m : np.ndarray [shape=(V, 3)]
        The head as fitted to the photo (with the photo's expression), model frame.
    faces : np.ndarray [shape=(F, 3)]
    candidates, hidden_ok : np.ndarray [shape=(V,)] bool
        Vertices hair may cover, and those of them that get hair unseen (``hair_candidates``).
    person : np.ndarray [shape=(H, W)] float
        Probability that each pixel shows the person (``segment.person_mask``).
    head_rows : HeadRows, optional
        Where to look for hair hanging beside the face and neck; not looked for without.
    """
    height, width = image.shape[:2]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    points = landmarks_px[:, :2]
    skin = _median_lab(lab, points[list(CHEEKS)], radius=max(2, int(0.02 * width)))
    hair_px = _hair_pixels(lab, person > 0.5, points, skin)

    face_width = points[FACE_RIGHT, 0] - points[FACE_LEFT, 0]
    top_zone = _zone(height, width, rows=(0, points[FOREHEAD_TOP, 1]),
                     cols=(points[FACE_LEFT, 0], points[FACE_RIGHT, 0])) & (person > 0.5)
    coverage = float(hair_px[top_zone].mean()) if top_zone.any() else 0.0

    pixels, depth = camera.project(vertices_m)
    normals = vertex_normals(vertices_m, faces) @ camera.matrix.T  # camera space
    towards_camera = -camera.to_camera(vertices_m)
    facing = np.einsum("vd,vd->v", normals, towards_camera / np.linalg.norm(
        towards_camera, axis=1, keepdims=True)) > 0.35
    cols = np.clip(np.round(pixels[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.round(pixels[:, 1]).astype(int), 0, height - 1)
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
    seen = candidates & facing & inside
    weights = np.zeros(len(vertices_m))
    near_hair = cv2.dilate(hair_px.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    weights[seen] = near_hair[rows[seen], cols[seen]]
    colour = _hair_colour(image, lab[..., 0], hair_px, top_zone)
    hidden = hidden_ok & ~seen
    if coverage >= MIN_COVERAGE:
        weights[hidden] = 1.0
        weights = _seen_into_hidden(weights, faces, hidden, candidates)
        # Only the temples, above the eyes: lower, hair beside the face is mostly long hair
        # falling past the cheeks and ears, not lying on them.
        eye_row = points[list(EYE_CORNERS), 1].min()
        sides = candidates & ~hidden_ok & ~seen & inside & (pixels[:, 1] < eye_row)
        weights[sides] = _hair_beside(hair_px, pixels[sides], points[FOREHEAD_TOP, 0], face_width)
    else:  # a bald top: what looked like hair above the brows is shadow or the outline's edge
        on_top = ((pixels[:, 1] < points[list(BROWS), 1].min())
                  & (np.abs(pixels[:, 0] - points[FOREHEAD_TOP, 0]) < 0.65 * face_width))
        weights[on_top] = 0.0
    volume = _smooth(weights, faces, candidates, SMOOTHING_STEPS) ** 2

    thickness, hanging = 0.0, None
    if coverage >= MIN_COVERAGE:
        thickness = _thickness(person > 0.5, pixels, depth, seen & (weights > 0.5), camera,
                               centre_x=points[FOREHEAD_TOP, 0], half_width=0.25 * face_width)
        if head_rows is not None:
            below_brows = _zone(height, width, rows=(points[list(BROWS), 1].min(), height),
                                cols=(0, width))
            not_skin = _hair_pixels(lab, person > 0.5, points, skin, zone=below_brows)
            hanging = measure_hanging_hair(lab, not_skin, hair_px & top_zone, camera, vertices_m,
                                           head_rows)
            if hanging is not None:  # the photo's hair may be anywhere on the person but the face
                hanging.mask = (person > 0.5) & ~_inside_face(points, (height, width))
    return Hair(colour=colour, coverage=coverage, vertex_weights=weights, volume_weights=volume,
                thickness_m=thickness, hanging=hanging)


def _hair_beside(hair_px: np.ndarray, pixels: np.ndarray, centre_x: float,
                 face_width: float) -> np.ndarray:
    """(N,) 1.0 where the photo shows hair just beside the face at the height (and on the side)
    of each unseen point of the head's side, else 0: hair that shows beside the temples covers
    the temples, which a frontal photo cannot see."""
    height, width = hair_px.shape
    reach = max(2, int(round(SIDE_HAIR_REACH * face_width)))
    found = np.zeros(len(pixels))
    for k, (x, y) in enumerate(pixels):
        row = int(np.clip(round(y), 0, height - 1))
        start = int(round(x))
        span = (range(start, min(width, start + reach)) if x > centre_x
                else range(max(0, start - reach), start))
        if len(span):
            found[k] = float(hair_px[row, span.start:span.stop].mean() >= SIDE_HAIR_SHARE)
    return found


def _hair_colour(image: np.ndarray, lightness: np.ndarray, hair: np.ndarray,
                 top: np.ndarray) -> np.ndarray:
    """sRGB 0..1: the median of the lit strands (``lit_strands_colour``) among the hair
    pixels on top of the head, else among all of them, else a dark brown.

    Beside the face and the neck the hair mask can take in a background or collar of another
    colour; above the forehead it is the hair. The shadows between strands are not the hair's
    colour (a median over them made blond hair mousy), and neither are its sheen's highlights.
    """
    for pixels in (hair & top, hair):
        if pixels.sum() >= MIN_HAIR_SAMPLES:
            return lit_strands_colour(image[pixels] / 255.0, lightness[pixels])
    return DEFAULT_HAIR


def hair_candidates(vertices_m: np.ndarray, regions: np.ndarray, skin_regions: list[int],
                    ibug_points_m: np.ndarray, brow_y_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Skin vertices hair may cover, as two (V,) bool masks.

    ``candidates``: above the brows, above and behind the ears down to the height of the nose's
    base (the nape), and the head's sides in front of the ears; never the ears themselves.
    ``hidden_ok``: the candidates that get hair even where the photo does not see them (when it
    shows hair on top): all but the sides below the sideburns and the temples, which only get
    hair where the photo shows it on them (or, for the temples, just beside the face at their
    height).
    """
    skin = np.isin(regions, skin_regions)
    ear_z = 0.5 * (ibug_points_m[IBUG_JAW_LEFT, 2] + ibug_points_m[IBUG_JAW_RIGHT, 2])
    jaw_y = 0.5 * (ibug_points_m[IBUG_JAW_LEFT, 1] + ibug_points_m[IBUG_JAW_RIGHT, 1])
    nape_y = ibug_points_m[IBUG_NOSE_BOTTOM, 1]
    lateral = np.abs(vertices_m[:, 0]) > EAR_HALF_WIDTH_M
    # Hair starts a little above the brows on the forehead and curves down over the temples to
    # the ears' top on the sides (a step there showed as a notch in the hairline).
    hairline = np.interp(np.abs(vertices_m[:, 0]), HAIRLINE_CURVE_X_M, HAIRLINE_ABOVE_BROWS_M)
    above_brows = vertices_m[:, 1] > brow_y_m + hairline
    behind_ears = (vertices_m[:, 2] < ear_z - 0.03) & (vertices_m[:, 1] > nape_y)
    beside_ears = (lateral & ~above_brows & (vertices_m[:, 1] > nape_y - 0.01)
                   & (vertices_m[:, 2] > ear_z - 0.05) & (vertices_m[:, 2] < ear_z + 0.02))
    # Above the ears, the sideburns and the temples are hair for nearly everyone with hair on
    # top; left to the photo alone, which sees them edge-on, they came out a bald patch.
    ahead_of_ear = vertices_m[:, 2] - (ear_z - EAR_FRONT_BEHIND_JAW_M)
    side_hairline = np.interp(ahead_of_ear, SIDE_HAIRLINE_Z_M,
                              (*(jaw_y + np.array(SIDE_HAIRLINE_ABOVE_JAW_M)),
                               brow_y_m + HAIRLINE_ABOVE_BROWS_M[-1]))
    sides = beside_ears & (vertices_m[:, 1] <= side_hairline)
    # The ear itself is skin: hair the photo shows there lies over it (long hair, its own shell)
    # or is the ear drawn a little off, and painted on the ear it looked like a stain.
    ear = (lateral & (vertices_m[:, 1] > nape_y - 0.01)
           & (vertices_m[:, 1] <= jaw_y + SIDE_HAIRLINE_ABOVE_JAW_M[0])
           & (ahead_of_ear > -EAR_DEPTH_M) & (ahead_of_ear < SIDE_HAIRLINE_Z_M[1]))
    candidates = skin & (above_brows | behind_ears | beside_ears) & ~ear
    return candidates, candidates & ~sides


def grow_hair(vertices_m: np.ndarray, faces: np.ndarray, hair: Hair) -> np.ndarray:
    """``vertices_m`` (V, 3) with the hair volume: moved out along their normals by the hair's
    thickness times each vertex's volume weight."""
    if hair.thickness_m <= 0.0:
        return vertices_m.copy()
    normals = vertex_normals(vertices_m, faces)
    return vertices_m + normals * (hair.thickness_m * hair.volume_weights)[:, None]


def paint_hair(albedo: np.ndarray, confidence: np.ndarray, layout: UVLayout, faces: np.ndarray,
               hair: Hair, *, seed: int = 0) -> np.ndarray:
    """``albedo`` (S, S, 3) uint8 with hair where the weights say so and no photo saw well.

    Where a photo saw the texel well (``confidence`` at the texture's trusted level or above,
    ``fuse.trusted_level``) its colour is kept: it is the real hair or the real hairline.
    Elsewhere the hair colour with a fine, strand-like grain is blended in by the hair weight.
    """
    blend = hair_blend(confidence, layout, faces, hair)
    texture = np.clip(hair.colour[None, None, :] * hair_grain(layout.size, seed)[..., None], 0.0, 1.0)
    out = albedo.astype(np.float32) / 255.0
    out = out * (1.0 - blend[..., None]) + texture * blend[..., None]
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def hair_blend(confidence: np.ndarray, layout: UVLayout, faces: np.ndarray, hair: Hair) -> np.ndarray:
    """(S, S) 0..1: how much of the hair's colour ``paint_hair`` paints on each texel."""
    # The weights are 0 or 1 per vertex: smoothed over the mesh and sharpened again per texel,
    # the hairline becomes a smooth curve instead of following the triangles' edges.
    smoothed = _smooth(hair.vertex_weights, faces, np.ones(len(hair.vertex_weights), bool),
                       HAIRLINE_SMOOTHING_STEPS)
    weight = _smoothstep(np.einsum("nk,nk->n", layout.bary, smoothed[faces[layout.faces]]), 0.3, 0.7)
    # Relative to the trusted level, as the texture itself counts a texel as seen: measured
    # against 1, a forehead the photo saw well still took a third of the hair's colour where
    # the weights said hair, a dark band down a tall forehead under slicked-back hair.
    level = trusted_level(confidence, confidence > 0)
    seen = np.clip(confidence[layout.rows, layout.cols] / level, 0.0, 1.0)
    blend = layout.scatter(np.clip(weight, 0.0, 1.0) * (1.0 - seen))
    # Texels just outside the UV islands (the gutter) take their nearest island texel's blend,
    # or seams would show the old colour as a thin line when the texture is filtered.
    gutter_index = distance_transform_edt(~layout.covered, return_distances=False, return_indices=True)
    return blend[gutter_index[0], gutter_index[1]]


def _hair_pixels(lab: np.ndarray, person: np.ndarray, points: np.ndarray,
                 skin_lab: np.ndarray, *, zone: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: person pixels around the head (above the brows, or beside the face down to
    the chin; or in ``zone``), outside the face, whose colour is far from the skin's."""
    height, width = lab.shape[:2]
    face_width = points[FACE_RIGHT, 0] - points[FACE_LEFT, 0]
    brow_y = points[list(BROWS), 1].min()
    around = _zone(height, width, rows=(0, brow_y),
                   cols=(points[FACE_LEFT, 0] - 0.3 * face_width, points[FACE_RIGHT, 0] + 0.3 * face_width))
    beside = _zone(height, width, rows=(brow_y, points[CHIN, 1]),
                   cols=(points[FACE_LEFT, 0] - 0.5 * face_width, points[FACE_RIGHT, 0] + 0.5 * face_width))
    if zone is not None:
        around, beside = np.zeros_like(zone), zone.copy()
    beside &= ~_inside_face(points, (height, width))
    distance = np.linalg.norm(lab - skin_lab, axis=2)
    # A bald scalp differs from the cheeks in lightness (highlights, less colour) but keeps the
    # skin's hue; hair of the skin's hue is darker than the skin, unless that darker part is as
    # smooth as the cheeks: then it is a scalp in shadow (hair has strands, skin has none).
    hued = np.linalg.norm(lab[..., 1:] - skin_lab[1:], axis=2) < SKIN_CHROMA_DISTANCE
    darker = lab[..., 0] <= skin_lab[0] - SKIN_DARKER_L
    candidate = person & (around | beside) & (distance > HAIR_DELTA_E)
    skin_like = hued & ~darker
    if _smooth_as_skin(lab[..., 0], candidate & hued & darker, points, face_width):
        skin_like = hued
    hair = candidate & ~skin_like
    # Highlights in the hair come close to the skin's colour: close the small gaps they leave.
    size = max(3, int(0.08 * face_width) | 1)
    closed = cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    return (closed > 0) & person & (around | beside)


def _inside_face(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: inside the convex hull of the face's landmarks."""
    inside = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(inside, cv2.convexHull(points.astype(np.float32)).astype(np.int32), 1)
    return inside > 0


def _smooth_as_skin(lightness: np.ndarray, region: np.ndarray, points: np.ndarray,
                    face_width: float) -> bool:
    """Whether ``region`` of the photo is about as smooth as the cheeks: its fine detail (the
    lightness minus its blur at 1 % of the face width) is under SMOOTH_SCALP_RATIO times the
    cheeks' (measured: strands 2.4-11 times, bald scalps and bare foreheads about 1.6)."""
    if region.sum() < 50:
        return False
    detail = np.abs(lightness - cv2.GaussianBlur(lightness, (0, 0), max(0.7, 0.01 * face_width)))
    cheeks = np.zeros(lightness.shape, bool)
    radius = max(2, int(0.03 * face_width))
    for x, y in np.round(points[list(CHEEKS)]).astype(int):
        cheeks[max(0, y - radius):y + radius, max(0, x - radius):x + radius] = True
    return bool(np.median(detail[region]) < SMOOTH_SCALP_RATIO * max(np.median(detail[cheeks]), 1e-3))


def _median_lab(lab: np.ndarray, points: np.ndarray, *, radius: int) -> np.ndarray:
    patches = []
    height, width = lab.shape[:2]
    for x, y in np.round(points).astype(int):
        r0, r1 = np.clip([y - radius, y + radius + 1], 0, height)
        c0, c1 = np.clip([x - radius, x + radius + 1], 0, width)
        patches.append(lab[r0:r1, c0:c1].reshape(-1, 3))
    return np.median(np.concatenate(patches), axis=0)


def _zone(height: int, width: int, *, rows: tuple[float, float], cols: tuple[float, float]) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    r0, r1 = (int(np.clip(round(r), 0, height)) for r in rows)
    c0, c1 = (int(np.clip(round(c), 0, width)) for c in cols)
    mask[r0:r1, c0:c1] = True
    return mask


def _smoothstep(x: np.ndarray, low: float, high: float) -> np.ndarray:
    t = np.clip((x - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _directed_edges(faces: np.ndarray) -> np.ndarray:
    """(2E, 2) every edge of the triangles ``faces`` (F, 3), once each way."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.concatenate([edges, edges[:, ::-1]])


def _seen_into_hidden(weights: np.ndarray, faces: np.ndarray, hidden: np.ndarray,
                      candidates: np.ndarray) -> np.ndarray:
    """``weights`` with the hidden scalp next to the seen taking after it: the skin of a
    receding temple goes on a little way past where the photo stops seeing it, and the hairline
    curves there instead of running along the edge of what the photo saw."""
    count = len(weights)
    edges = _directed_edges(faces)
    edges = edges[candidates[edges[:, 1]]]  # only hair's candidates speak for a neighbour
    degree = np.bincount(edges[:, 0], minlength=count).astype(float)
    w = weights.astype(float)
    for _ in range(HIDDEN_BLEND_STEPS):
        summed = np.bincount(edges[:, 0], weights=w[edges[:, 1]], minlength=count)
        w = np.where(hidden & (degree > 0), summed / np.maximum(degree, 1), w)
    return w


def _smooth(weights: np.ndarray, faces: np.ndarray, allowed: np.ndarray, steps: int) -> np.ndarray:
    """Average each vertex with its neighbours ``steps`` times; zero outside ``allowed``."""
    count = len(weights)
    edges = _directed_edges(faces)
    degree = np.bincount(edges[:, 0], minlength=count).astype(float)
    w = weights.astype(float)
    for _ in range(steps):
        summed = np.bincount(edges[:, 0], weights=w[edges[:, 1]], minlength=count)
        w = np.where(degree > 0, 0.5 * w + 0.5 * summed / np.maximum(degree, 1), w)
        w[~allowed] = 0.0
    return np.clip(w, 0.0, 1.0)


def _thickness(person: np.ndarray, pixels: np.ndarray, depth: np.ndarray, hair_vertices: np.ndarray,
               camera: Camera, *, centre_x: float, half_width: float) -> float:
    """How far (metres) the person's outline stands above the head's, over the top of the head."""
    columns = (pixels[:, 0] > centre_x - half_width) & (pixels[:, 0] < centre_x + half_width)
    top = hair_vertices & columns
    if not top.any():
        return UNSEEN_THICKNESS_M
    head_top_row = float(pixels[top, 1].min())
    head_depth = float(np.median(depth[top]))
    c0, c1 = (int(np.clip(round(c), 0, person.shape[1])) for c in (centre_x - half_width, centre_x + half_width))
    band = person[:, c0:c1]
    has_person = band.any(axis=0)
    if not has_person.any():
        return UNSEEN_THICKNESS_M
    person_top_row = float(np.median(band.argmax(axis=0)[has_person]))
    if person_top_row <= 1.0:  # the photo cuts off the top of the head
        return UNSEEN_THICKNESS_M
    thickness = (head_top_row - person_top_row) * head_depth / camera.focal_px
    return float(np.clip(thickness, 0.0, MAX_THICKNESS_M))
