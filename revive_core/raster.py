"""A small triangle rasterizer in numpy: which triangle covers each pixel, and where in it.

Used to bake textures (rasterizing in UV space) and to test visibility (a depth buffer in photo
space). Pixel (row, col) has its centre at (col + 0.5, row + 0.5).
"""
from __future__ import annotations

import numpy as np

__all__ = ["rasterize"]


def rasterize(points_px: np.ndarray, faces: np.ndarray, size: tuple[int, int],
              depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterize triangles.

    Parameters
    ----------
    points_px : np.ndarray [shape=(N, 2)]
        Vertex positions in pixels (x right, y down).
    faces : np.ndarray [shape=(F, 3)]
    size : (width, height)
    depth : np.ndarray [shape=(N,)], optional
        Distance from the camera; the nearest triangle wins. Without it, later triangles win.

    Returns
    -------
    face_id : np.ndarray [shape=(H, W)] int32, -1 where no triangle
    bary : np.ndarray [shape=(H, W, 3)] float32 barycentric weights
    zbuffer : np.ndarray [shape=(H, W)] float64, inf where no triangle
    """
    width, height = size
    face_id = np.full((height, width), -1, dtype=np.int32)
    bary = np.zeros((height, width, 3), dtype=np.float32)
    zbuffer = np.full((height, width), np.inf)
    tri = points_px[faces].astype(np.float64)  # (F, 3, 2)
    lo = np.clip(np.floor(tri.min(1) - 0.5).astype(int), 0, [width - 1, height - 1])
    hi = np.clip(np.ceil(tri.max(1) - 0.5).astype(int), 0, [width - 1, height - 1])
    for f in range(len(faces)):
        (x0, y0), (x1, y1) = lo[f], hi[f]
        if x1 < x0 or y1 < y0:
            continue
        xs, ys = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        a, b, c = tri[f]
        det = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1])
        if abs(det) < 1e-12:
            continue
        w0 = ((b[1] - c[1]) * (xs - c[0]) + (c[0] - b[0]) * (ys - c[1])) / det
        w1 = ((c[1] - a[1]) * (xs - c[0]) + (a[0] - c[0]) * (ys - c[1])) / det
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
        if not inside.any():
            continue
        rows, cols = np.nonzero(inside)
        rows, cols = rows + y0, cols + x0
        weights = np.stack([w0[inside], w1[inside], w2[inside]], 1)
        if depth is not None:
            z = weights @ depth[faces[f]]
            nearer = z < zbuffer[rows, cols]
            rows, cols, weights, z = rows[nearer], cols[nearer], weights[nearer], z[nearer]
            zbuffer[rows, cols] = z
        else:
            zbuffer[rows, cols] = 0.0
        face_id[rows, cols] = f
        bary[rows, cols] = weights
    return face_id, bary, zbuffer
