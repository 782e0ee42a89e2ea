"""Lips that stay lips: the part of the lips a photo could not show is filled from the lips it did.

A smiling or speaking photo stretches the lips and parts them: the lips' inner halves are inside
the mouth's opening (left out of the texture, so teeth are never painted on them) or rolled out of
sight. When the avatar closes its mouth those halves face the camera. Filled like the rest of the
unseen skin, they came out skin-coloured: a pale band across a closed mouth, and thin lips. Here
they take the colour of the lips seen next to them instead.
"""
from __future__ import annotations

import cv2
import numpy as np

from revive_core.avatar.model.topology import GROUPS
from revive_core.avatar.texture.fuse import surface_fill
from revive_core.avatar.texture.uv import UVLayout

__all__ = ["LIP_OUTLINE", "lip_outline_uv", "lip_texels", "fill_lips"]

# mediapipe's outer lip contour, once around: the upper lip from corner to corner, then the lower
# lip back (its corners are the upper lip's).
LIP_OUTLINE = GROUPS["lips_upper_outer"] + GROUPS["lips_lower_outer"][-2:0:-1]
MIN_SEEN_SHARE = 0.1  # below this share of the lips well seen, their colour is not known
LIP_VOXEL_M = 0.002  # the fill's finest cell: the lips are about 10 mm tall


def lip_outline_uv(uvs: np.ndarray, uv_faces: np.ndarray, landmark_faces: np.ndarray,
                   landmark_bary: np.ndarray) -> np.ndarray | None:
    """The outer lip contour in UV space (K, 2), from the model's embedded landmarks; None when
    the model does not carry the whole contour."""
    faces = np.asarray(landmark_faces)[list(LIP_OUTLINE)]
    if (faces < 0).any():
        return None
    bary = np.asarray(landmark_bary, np.float64)[list(LIP_OUTLINE)]
    return (np.asarray(uvs, np.float64)[np.asarray(uv_faces)[faces]] * bary[..., None]).sum(1)


def lip_texels(layout: UVLayout, outline_uv: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """(N,) bool: the ``allowed`` texels of ``layout`` inside the lip outline (UV, origin
    bottom-left)."""
    size = layout.size
    polygon = np.stack([outline_uv[:, 0] * size, (1.0 - outline_uv[:, 1]) * size], 1)
    image = np.zeros((size, size), np.uint8)
    cv2.fillPoly(image, [np.round(polygon - 0.5).astype(np.int32)], 1)
    return (image[layout.rows, layout.cols] > 0) & allowed


def fill_lips(values: np.ndarray, confidence: np.ndarray, lips: np.ndarray, level: float,
              points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (N, 3) with the lip texels seen less than ``level`` filled from the well-seen
    lip texels only, and ``confidence`` (N,) raised to ``level`` there, so later steps keep
    them. Unchanged when too little of the lips was seen to know their colour."""
    seen = lips & (confidence >= level)
    if not lips.any() or seen.sum() < MIN_SEEN_SHARE * lips.sum():
        return values, confidence
    filled = surface_fill(values[lips], seen[lips], points_m[lips], voxel_m=LIP_VOXEL_M)
    alpha = np.clip(confidence[lips] / level, 0.0, 1.0)[:, None]
    values, confidence = values.copy(), confidence.copy()
    values[lips] = alpha * values[lips] + (1.0 - alpha) * filled
    confidence[lips] = np.maximum(confidence[lips], level)
    return values, confidence
