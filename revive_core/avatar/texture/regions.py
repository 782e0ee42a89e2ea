"""Textures of their own for the eyes, teeth, gums, mouth interior and lashes.

A photo shows these badly (lids, shadows, reflections, a closed mouth), and they move against
the skin in animation, so they are painted: an iris with radial fibres, a dark limbal ring and a
pupil on an off-white sclera; ivory teeth; pink gums; a dark red mouth interior. The iris takes
its colour from the photos where they saw it well, else a common brown. Where a photo saw the
eyeball through the lids' opening (``eyes.photo_eye_colours``), its own colours are blended
over the painted eye, and the painted sclera takes the tone of the sclera it saw. Regions are
recognised by name (``eye``, ``iris``, ``sclera``, ``teeth``, ``gum``, ``tongue``, ``mouth``,
``lash``); anything else is skin.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = ["region_kinds", "paint_parts", "MOUTH_INTERIOR_RGB", "PART_KINDS"]

MOUTH_INTERIOR_RGB = (92, 34, 38)
PART_KINDS = ("skin", "eye", "teeth", "gums", "mouth", "lashes")
IRIS_RADIUS_M = 0.0059
PUPIL_RADIUS_M = 0.0021
DEFAULT_IRIS = np.array([0.36, 0.22, 0.12])  # brown, the commonest iris colour (sRGB 0..1)
SCLERA = np.array([0.93, 0.90, 0.86])
SCLERA_LEVELS = (0.45, 0.9)  # the painted sclera's brightness (sRGB mean): never grey-dark
TEETH = np.array([0.90, 0.86, 0.76])
GUMS = np.array([0.76, 0.40, 0.42])
LASHES = np.array([0.08, 0.06, 0.05])


def region_kinds(region_names: list[str]) -> list[str]:
    """The kind (one of PART_KINDS) of each named region."""
    kinds = []
    for name in (n.lower() for n in region_names):
        if "lash" in name:
            kinds.append("lashes")
        elif "teeth" in name or "tooth" in name:
            kinds.append("teeth")
        elif "gum" in name or "tongue" in name:
            kinds.append("gums")
        elif "mouth" in name or "socket" in name or "interior" in name:
            kinds.append("mouth")
        elif "iris" in name or "sclera" in name or "eyeball" in name or name.startswith("eye"):
            kinds.append("eye")
        else:
            kinds.append("skin")
    return kinds


def paint_parts(albedo: np.ndarray, rows: np.ndarray, cols: np.ndarray, texel_region: np.ndarray,
                region_names: list[str], points_m: np.ndarray, seen: np.ndarray,
                *, seed: int = 0, iris_rgb: np.ndarray | None = None,
                photo_eyes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Paint every non-skin region of ``albedo`` in place and return it.

    Parameters
    ----------
    albedo : np.ndarray [shape=(S, S, 3)]
        sRGB-encoded 0..1; the photos' colours where ``seen``.
    rows, cols : np.ndarray [shape=(N,)]
        The covered texels.
    texel_region : np.ndarray [shape=(N,)]
        Region index of each covered texel.
    region_names : list of str
    points_m : np.ndarray [shape=(N, 3)]
        Each texel's point on the rest shape (metres, +Y up, face toward +Z).
    seen : np.ndarray [shape=(N,)] bool
        Texels the photos saw well (used for the iris colour).
    seed : int
        Seeds the fibres and grain.
    iris_rgb : np.ndarray [shape=(3,)] or None
        The iris colour measured in a photo (``photo_iris_colour``), sRGB 0..1.
    photo_eyes : (colours (N, 3), weights (N,)) or None
        The eyes as the photos saw them (``eyes.photo_eye_colours``), blended over the paint.
    """
    rng = np.random.default_rng(seed)
    kinds = region_kinds(region_names)
    grain = rng.normal(0.0, 1.0, len(rows))
    # An eye may be several regions (sclera, iris, pupil): paint each eye as one.
    parts: dict[tuple[str, str], list[int]] = {}
    for region, (name, kind) in enumerate(zip(region_names, kinds)):
        side = next((s for s in ("left", "right") if s in name.lower()), name)
        parts.setdefault((kind, side if kind == "eye" else name), []).append(region)
    for (kind, _), regions in parts.items():
        texels = np.flatnonzero(np.isin(texel_region, regions))
        if kind == "skin" or len(texels) == 0:
            continue
        p = points_m[texels]
        if kind == "eye":
            centre = _eye_centre(points_m, texel_region, regions, region_names)
            photo, weight = (photo_eyes[0][texels], photo_eyes[1][texels]) if photo_eyes else (
                np.zeros((len(texels), 3)), np.zeros(len(texels)))
            colours = _eye(p, centre, albedo[rows[texels], cols[texels]], seen[texels], rng,
                           iris_rgb, _sclera_tone(p, centre, photo, weight))
            colours = colours * (1.0 - weight[:, None]) + photo * weight[:, None]
        elif kind == "teeth":
            colours = TEETH * (1.0 + 0.03 * grain[texels])[:, None]
        elif kind == "gums":
            colours = GUMS * (1.0 + 0.05 * grain[texels])[:, None]
        elif kind == "lashes":
            colours = np.broadcast_to(LASHES, (len(texels), 3))
        else:  # mouth interior: darker further in
            depth = (p[:, 2].max() - p[:, 2]) / max(np.ptp(p[:, 2]), 1e-6)
            colours = np.asarray(MOUTH_INTERIOR_RGB) / 255.0 * (1.0 - 0.5 * depth)[:, None]
        albedo[rows[texels], cols[texels]] = np.clip(colours, 0.0, 1.0)
    return albedo


def _eye_centre(points: np.ndarray, texel_region: np.ndarray, regions: list[int],
                names: list[str]) -> np.ndarray:
    """(x, y) of an eye's gaze axis: the middle of its pupil, else iris, else of the whole eye."""
    for part in ("pupil", "iris"):
        named = [r for r in regions if part in names[r].lower()]
        inside = np.isin(texel_region, named)
        if inside.sum() >= 3:
            return points[inside, :2].mean(0)
    return points[np.isin(texel_region, regions), :2].mean(0)


def _eye(points: np.ndarray, centre: np.ndarray, photo: np.ndarray, seen: np.ndarray,
         rng, iris_rgb: np.ndarray | None = None, sclera_rgb: np.ndarray = SCLERA) -> np.ndarray:
    """Colours (N, 3) of one eye's texels: pupil, iris with fibres, limbal ring, sclera.

    ``centre`` is the (x, y) of the eye's gaze axis; the eye looks toward +Z. The iris takes
    ``iris_rgb`` (measured in the photo, see ``photo_iris_colour``) when given, else the
    colour the photo left on the iris texels.
    """
    offset = points[:, :2] - centre
    radius = np.hypot(offset[:, 0], offset[:, 1])
    front = points[:, 2] >= points[:, 2].max() - 0.006  # the visible cap of an eyeball
    iris_colour = (_plausible_iris(iris_rgb) if iris_rgb is not None else
                   _iris_colour(photo, seen & front & (radius > 1.5 * PUPIL_RADIUS_M)
                                & (radius < 0.9 * IRIS_RADIUS_M)))
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    phases = rng.uniform(0, 2 * np.pi, 3)
    fibres = (np.sin(37 * angle + phases[0]) + 0.6 * np.sin(71 * angle + phases[1])
              + 0.4 * np.sin(113 * angle + phases[2])) / 2.0
    t = np.clip(radius / IRIS_RADIUS_M, 0, 1)
    iris = iris_colour * (0.8 + 0.2 * fibres + 0.15 * t)[:, None]
    iris *= np.where(t > 0.85, 0.55, 1.0)[:, None]  # the limbal ring
    redder = np.clip((radius - IRIS_RADIUS_M) / 0.012, 0, 1)[:, None] * [0.02, 0.10, 0.12]
    sclera = sclera_rgb - redder
    colours = np.where((front & (radius < IRIS_RADIUS_M))[:, None], iris, sclera)
    colours[front & (radius < PUPIL_RADIUS_M)] = 0.03
    return colours


def _sclera_tone(points: np.ndarray, centre: np.ndarray, photo: np.ndarray,
                 weight: np.ndarray) -> np.ndarray:
    """The median colour of the sclera where the photos saw it well, nearly grey and within
    ``SCLERA_LEVELS``; SCLERA when too little of it shows.

    The painted sclera fills what the photos did not see: the corners of the opening and the
    ball under the lids. It continues the sclera seen beside it, shade included: a paler one
    left white wedges at the corners of a shaded eye, a staring look the photo does not have."""
    radius = np.hypot(*(points[:, :2] - centre).T)
    seen = photo[(weight > 0.5) & (radius > 1.15 * IRIS_RADIUS_M)]
    if len(seen) < 20:
        return SCLERA
    tone = np.median(seen, axis=0)
    tint = np.clip(tone - tone.mean(), -0.06, 0.06)  # a tint, not a colour
    return np.clip(np.clip(tone.mean(), *SCLERA_LEVELS) + tint, 0.0, 1.0)


def _iris_colour(photo: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The median colour of well-seen iris texels, kept within plausible iris colours."""
    if usable.sum() < 20:
        return DEFAULT_IRIS
    return _plausible_iris(np.median(photo[usable], axis=0))


def photo_iris_colour(image: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray | None:
    """The iris colour (sRGB 0..1) in a photo, from mediapipe's iris points (468-477): the
    median of the lower half of the ring between the pupil and the limbus of both eyes, without
    highlights and lashes; None when too little of the irises shows."""
    height, width = image.shape[:2]
    samples = []
    for centre_index in (468, 473):
        centre = landmarks_px[centre_index, :2]
        radius = float(np.linalg.norm(landmarks_px[centre_index + 1:centre_index + 5, :2] - centre,
                                      axis=1).mean())
        r0, r1 = (int(np.clip(centre[1] + s * radius, 0, height)) for s in (-1, 1))
        c0, c1 = (int(np.clip(centre[0] + s * radius, 0, width)) for s in (-1, 1))
        rows, cols = np.mgrid[r0:r1, c0:c1]
        distance = np.hypot(cols - centre[0], rows - centre[1])
        # The ring's lower half: the upper lid and its lashes cover the top of most irises.
        ring = (distance > 0.45 * radius) & (distance < 0.9 * radius) & (rows > centre[1])
        samples.append(image[r0:r1, c0:c1][ring].astype(np.float64) / 255.0)
    pixels = np.concatenate(samples) if samples else np.zeros((0, 3))
    value = pixels.max(axis=1, initial=0.0) if len(pixels) else pixels[:, 0]
    pixels = pixels[(value > 0.08) & (value < 0.9)]
    return np.median(pixels, axis=0) if len(pixels) >= 20 else None


def _plausible_iris(colour: np.ndarray) -> np.ndarray:
    """``colour`` kept within plausible iris colours (not too saturated, dark or light)."""
    hsv = cv2.cvtColor(np.asarray(colour).reshape(1, 1, 3).astype(np.float32), cv2.COLOR_RGB2HSV)[0, 0]
    hsv[1] = min(hsv[1], 0.7)
    hsv[2] = float(np.clip(hsv[2], 0.12, 0.65))
    return cv2.cvtColor(hsv.reshape(1, 1, 3), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)
