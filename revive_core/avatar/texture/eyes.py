"""The eyes as the photos saw them: each eyeball texel's colour inside the photo's eye opening.

A painted iris on a white ball reads as a doll's eye; the person's own eyes (the iris's pattern
and size, the sclera's tone, the shadow of the upper lid) are much of what makes a face theirs.
So wherever a photo saw the eyeball through the opening between its lids, that colour is kept,
with the lighting it had (the lid's shadow belongs to the eye). Only texels well inside the
opening mediapipe traced count, fading toward its edge: the fitted lids never match the
photo's exactly, and what lies just inside them may be lid or lashes. The rest of the eyeball
(under the lids, turned away) stays painted (``regions``).
"""
from __future__ import annotations

import cv2
import numpy as np

from revive_core.avatar.texture.project import PhotoView, ViewSamples
from revive_core.avatar.texture.uv import UVLayout
from revive_core.geometry.srgb import linear_to_srgb

__all__ = ["EYE_OPENINGS", "photo_eye_colours"]

# mediapipe's contour of each eye opening (lid margins), in order around it
EYE_OPENINGS = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
                (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))
FEATHER = 0.12  # the weight rises from 0 at the opening's edge over this share of the eye's width


def photo_eye_colours(views: list[PhotoView], samples: list[ViewSamples], layout: UVLayout,
                      faces: np.ndarray, eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each texel's colour in the photos' eye openings and how much to trust it.

    Parameters
    ----------
    views, samples : list
        The photos and what each says about every covered texel (``project.sample_view``).
    layout : UVLayout
    faces : np.ndarray [shape=(F, 3)]
    eye : np.ndarray [shape=(N,)] bool
        The eyeball texels.

    Returns
    -------
    colours : np.ndarray [shape=(N, 3)]
        sRGB 0..1, the photos' colours blended by weight (0 where none saw the texel).
    weight : np.ndarray [shape=(N,)]
        0..1: 1 well inside an opening of a photo that saw the texel squarely, 0 elsewhere.
    """
    total = np.zeros(len(eye))
    weighted = np.zeros((len(eye), 3))
    best = np.zeros(len(eye))
    for view, sample in zip(views, samples):
        if view.landmarks_px is None:
            continue
        inside = np.zeros(len(eye))
        pixels, _ = view.camera.project(layout.points(np.asarray(view.vertices_m), faces)[eye])
        inside[eye] = _inside_openings(view.landmarks_px, pixels, view.image.shape[:2])
        w = inside * np.clip(sample.confidence * 2.0, 0.0, 1.0)
        total += w
        weighted += w[:, None] * sample.colours
        best = np.maximum(best, w)
    colours = np.where(total[:, None] > 0, weighted / np.maximum(total, 1e-9)[:, None], 0.0)
    return linear_to_srgb(colours), best


def _inside_openings(landmarks_px: np.ndarray, pixels: np.ndarray,
                     shape: tuple[int, int]) -> np.ndarray:
    """(N,) 0..1 at ``pixels``: how far inside an eye opening, feathered toward its edge."""
    height, width = shape
    weights = np.zeros(len(pixels))
    for opening in EYE_OPENINGS:
        contour = np.asarray(landmarks_px, dtype=np.float64)[list(opening), :2]
        eye_width = float(np.linalg.norm(contour[0] - contour[8]))
        if eye_width < 4:
            continue
        low = np.floor(contour.min(0)).astype(int) - 2
        high = np.ceil(contour.max(0)).astype(int) + 3
        low, high = np.maximum(low, 0), np.minimum(high, [width, height])
        if np.any(high - low < 3):
            continue
        mask = np.zeros((high[1] - low[1], high[0] - low[0]), np.uint8)
        cv2.fillPoly(mask, [np.round(contour - low).astype(np.int32)], 1)
        depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3) / (FEATHER * eye_width)
        col, row = np.round(pixels - low).astype(int).T
        ok = (col >= 0) & (col < mask.shape[1]) & (row >= 0) & (row < mask.shape[0])
        weights[ok] = np.maximum(weights[ok], np.clip(depth[row[ok], col[ok]], 0.0, 1.0))
    return weights
