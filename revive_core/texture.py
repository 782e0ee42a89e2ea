"""Bake the photos into the model's UV texture (albedo.png).

Each photo is sampled where the fitted surface is visible (depth test) and faces the camera;
texels seen by several photos are blended by how squarely each saw them; what no photo saw is
filled from its surroundings (pull-push). The mouth's inside gets its own colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .camera import Camera
from .raster import rasterize

__all__ = ["TextureResult", "PhotoView", "bake_texture", "MOUTH_INTERIOR_RGB"]

MOUTH_INTERIOR_RGB = (92, 34, 38)
MIN_FACING = 0.2  # cosine of the steepest viewing angle that still counts


@dataclass
class PhotoView:
    """One photo and the fitted surface as it appears in it."""

    image: np.ndarray  # (H, W, 3) uint8
    camera: Camera
    vertices_m: np.ndarray  # (V, 3) posed by the fit, with the photo's expression


@dataclass
class TextureResult:
    albedo: np.ndarray  # (S, S, 3) uint8, row 0 = top of the texture (v = 1)
    confidence: np.ndarray  # (S, S) float32 0..1: how squarely the best photo saw each texel


def bake_texture(faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
                 face_regions: np.ndarray, views: list[PhotoView], *, size: int = 1024,
                 mouth_region: int | None = None) -> TextureResult:
    """Bake ``views`` into a ``size`` x ``size`` texture of the mesh's UV layout."""
    uv_px = np.stack([uvs[:, 0] * size, (1.0 - uvs[:, 1]) * size], 1)
    texel_face, texel_bary, _ = rasterize(uv_px, uv_faces, (size, size))
    covered = texel_face >= 0
    rows, cols = np.nonzero(covered)
    fids = texel_face[rows, cols]
    bary = texel_bary[rows, cols].astype(np.float64)
    colour_sum = np.zeros((len(rows), 3))
    weight_sum = np.zeros(len(rows))
    best = np.zeros(len(rows))
    for view in views:
        colours, weights = _sample_view(view, faces, fids, bary)
        colour_sum += colours * weights[:, None] ** 2
        weight_sum += weights ** 2
        best = np.maximum(best, weights)
    albedo = np.zeros((size, size, 3))
    known = np.zeros((size, size))
    seen = weight_sum > 0
    albedo[rows[seen], cols[seen]] = colour_sum[seen] / weight_sum[seen, None]
    known[rows[seen], cols[seen]] = 1.0
    confidence = np.zeros((size, size), dtype=np.float32)
    confidence[rows, cols] = best
    albedo = _pull_push(albedo, known)
    if mouth_region is not None:
        inside = covered.copy()
        inside[rows, cols] = face_regions[fids] == mouth_region
        albedo[inside] = MOUTH_INTERIOR_RGB
        # Let the colour bleed a little past the island's edge for filtering.
        grown = cv2.dilate(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        albedo[grown & ~covered] = MOUTH_INTERIOR_RGB
    return TextureResult(np.clip(albedo + 0.5, 0, 255).astype(np.uint8), confidence)


def _sample_view(view: PhotoView, faces: np.ndarray, fids: np.ndarray, bary: np.ndarray):
    """Colours (N, 3) and weights (N,) of texels as seen in one photo (weight 0 if unseen)."""
    cam = view.camera
    vertices = view.vertices_m
    points = np.einsum("nk,nkd->nd", bary, vertices[faces[fids]])
    pixels, depth = cam.project(points)
    vertex_px, vertex_depth = cam.project(vertices)
    _, _, zbuffer = rasterize(vertex_px, faces, (cam.width, cam.height), depth=vertex_depth)
    col = np.clip(pixels[:, 0].astype(int), 0, cam.width - 1)
    row = np.clip(pixels[:, 1].astype(int), 0, cam.height - 1)
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < cam.width) & \
             (pixels[:, 1] >= 0) & (pixels[:, 1] < cam.height) & (depth > 0)
    visible = inside & (depth <= zbuffer[row, col] + 0.002 + 0.002 * depth)
    tri = cam.to_camera(vertices)[faces[fids]]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    to_camera = -cam.to_camera(points)
    to_camera /= np.linalg.norm(to_camera, axis=1, keepdims=True) + 1e-12
    facing = (normals * to_camera).sum(1)
    weights = np.where(visible, np.clip((facing - MIN_FACING) / (1 - MIN_FACING), 0, 1), 0.0)
    colours = _bilinear(view.image, pixels)
    return colours, weights


def _bilinear(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Colours (N, 3) of ``image`` at pixel positions (N, 2), bilinearly interpolated."""
    n = len(pixels)
    rows = -(-n // 1024)  # cv2.remap wants maps under 32767 pixels a side
    maps = np.zeros((2, rows * 1024), dtype=np.float32)
    maps[:, :n] = (pixels - 0.5).T
    sampled = cv2.remap(image, maps[0].reshape(rows, 1024), maps[1].reshape(rows, 1024),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled.reshape(-1, 3)[:n].astype(np.float64)


def _pull_push(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill unknown pixels from a pyramid of known ones (smooth, no seams at the islands)."""
    if known.all() or not known.any():
        return image
    height, width = known.shape
    if min(height, width) <= 2:
        mean = (image * known[..., None]).sum((0, 1)) / known.sum()
        return np.where(known[..., None] > 0, image, mean)
    h2, w2 = (height + 1) // 2, (width + 1) // 2
    padded_w = np.zeros((h2 * 2, w2 * 2))
    padded_i = np.zeros((h2 * 2, w2 * 2, 3))
    padded_w[:height, :width] = known
    padded_i[:height, :width] = image * known[..., None]
    small_w = padded_w.reshape(h2, 2, w2, 2).sum((1, 3))
    small_i = padded_i.reshape(h2, 2, w2, 2, 3).sum((1, 3))
    small_known = (small_w > 0).astype(float)
    small = _pull_push(small_i / np.maximum(small_w, 1e-9)[..., None], small_known)
    up = cv2.resize(small.astype(np.float32), (w2 * 2, h2 * 2),
                    interpolation=cv2.INTER_LINEAR)[:height, :width].astype(np.float64)
    return np.where(known[..., None] > 0, image, up)
