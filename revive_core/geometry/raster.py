"""A triangle rasterizer in numpy: which triangle covers each pixel, and where in it.

Used to bake textures (rasterizing in UV space) and to test visibility (a depth buffer in photo
space). Pixel (row, col) has its centre at (col + 0.5, row + 0.5).

Triangles are processed in batches of similar bounding-box size: each batch tests every pixel of
its boxes at once, and the nearest (or latest) triangle per pixel is picked with one sort, so
a 50k-triangle head rasterizes in well under a second.
"""
from __future__ import annotations

import numpy as np

__all__ = ["facing_faces", "rasterize"]

BATCH_PIXELS = 2_000_000  # candidate pixels tested at once (memory ~ 100 bytes each)


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
    faces = np.asarray(faces, np.int64)
    tri = np.asarray(points_px, np.float64)[faces]  # (F, 3, 2)
    lo = np.clip(np.floor(tri.min(1) - 0.5).astype(np.int64), 0, [width - 1, height - 1])
    hi = np.clip(np.ceil(tri.max(1) - 0.5).astype(np.int64), 0, [width - 1, height - 1])
    extent = hi - lo + 1  # (F, 2) box width, height
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    # Skip degenerate triangles and those entirely off the image.
    inside_image = (tri.max(1) >= 0).all(1) & (tri.min(1)[:, 0] < width) & (tri.min(1)[:, 1] < height)
    usable = np.flatnonzero((np.abs(det) > 1e-12) & inside_image)
    order = usable[np.argsort(extent[usable, 0] * extent[usable, 1], kind="stable")]
    pixel_parts, face_parts, bary_parts, z_parts = [], [], [], []
    start = 0
    while start < len(order):
        box_w, box_h = extent[order[start]]
        end = start + 1
        # Grow the batch while its largest box times its count stays under the budget.
        while end < len(order):
            w, h = np.maximum(extent[order[end]], (box_w, box_h))
            if w * h * (end + 1 - start) > BATCH_PIXELS:
                break
            box_w, box_h, end = w, h, end + 1
        batch = order[start:end]
        start = end
        xs = lo[batch, 0, None, None] + np.arange(box_w)[None, None, :]  # (B, 1, W)
        ys = lo[batch, 1, None, None] + np.arange(box_h)[None, :, None]  # (B, H, 1)
        px, py = xs + 0.5, ys + 0.5
        ab, bb, cb, d = a[batch], b[batch], c[batch], det[batch]

        def col(v):
            return v[:, None, None]

        w0 = (col(bb[:, 1] - cb[:, 1]) * (px - col(cb[:, 0]))
              + col(cb[:, 0] - bb[:, 0]) * (py - col(cb[:, 1]))) / col(d)
        w1 = (col(cb[:, 1] - ab[:, 1]) * (px - col(cb[:, 0]))
              + col(ab[:, 0] - cb[:, 0]) * (py - col(cb[:, 1]))) / col(d)
        w2 = 1.0 - w0 - w1
        hit = ((w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
               & (xs <= col(hi[batch, 0])) & (ys <= col(hi[batch, 1])))
        which, row, column = np.nonzero(hit)
        if not len(which):
            continue
        weights = np.stack([w0[which, row, column], w1[which, row, column],
                            w2[which, row, column]], 1)
        face = batch[which]
        pixel_parts.append((lo[face, 1] + row) * width + lo[face, 0] + column)
        face_parts.append(face)
        bary_parts.append(weights)
        z_parts.append((weights * depth[faces[face]]).sum(1) if depth is not None
                       else np.zeros(len(face)))
    face_id = np.full(height * width, -1, dtype=np.int32)
    bary = np.zeros((height * width, 3), dtype=np.float32)
    zbuffer = np.full(height * width, np.inf)
    if pixel_parts:
        pixels = np.concatenate(pixel_parts)
        face = np.concatenate(face_parts)
        weights = np.concatenate(bary_parts)
        z = np.concatenate(z_parts)
        # Per pixel, the winner sorts first: the nearest, or without depth the latest face.
        key = z if depth is not None else -face.astype(np.float64)
        order = np.lexsort((key, pixels))
        first = np.ones(len(order), bool)
        first[1:] = pixels[order[1:]] != pixels[order[:-1]]
        win = order[first]
        face_id[pixels[win]] = face[win]
        bary[pixels[win]] = weights[win]
        zbuffer[pixels[win]] = z[win]
    return (face_id.reshape(height, width), bary.reshape(height, width, 3),
            zbuffer.reshape(height, width))


def facing_faces(faces: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """The triangles of ``faces`` turned toward the camera: counter-clockwise in the image
    (y down) for a mesh whose triangles wind counter-clockwise seen from outside. A closed
    mesh's others lie behind them, so a depth test needs only these (about half the work)."""
    a, b, c = (points_px[faces[:, k]] for k in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return faces[signed < 0]
