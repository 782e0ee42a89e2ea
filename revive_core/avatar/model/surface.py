"""Closest points on a triangle mesh: for landmark embeddings and point-to-surface distances.

Points and vertices share one unit (usually metres); results are in that unit.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["closest_points", "vertex_embedding"]


def closest_points(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                   candidates: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest surface point of the mesh to each query point.

    Parameters
    ----------
    points : np.ndarray [shape=(N, 3)]
    vertices : np.ndarray [shape=(V, 3)]
    faces : np.ndarray [shape=(F, 3)]
    candidates : int
        Triangles tried per point: those whose centroids are nearest. Enough for meshes
        whose triangles are roughly even in size.

    Returns
    -------
    face : np.ndarray [shape=(N,)] int64 index of the nearest triangle
    bary : np.ndarray [shape=(N, 3)] barycentric weights of the nearest point in it
    distance : np.ndarray [shape=(N,)]
    """
    points = np.asarray(points, np.float64)
    tri = np.asarray(vertices, np.float64)[faces]  # (F, 3, 3)
    k = min(candidates, len(faces))
    _, near = cKDTree(tri.mean(1)).query(points, k=k)
    near = near.reshape(len(points), k)
    best_d = np.full(len(points), np.inf)
    best_f = np.zeros(len(points), np.int64)
    best_b = np.zeros((len(points), 3))
    for j in range(k):
        bary = _closest_on_triangles(points, tri[near[:, j]])
        closest = np.einsum("nk,nkd->nd", bary, tri[near[:, j]])
        d = np.linalg.norm(points - closest, axis=1)
        better = d < best_d
        best_d[better], best_f[better], best_b[better] = d[better], near[better, j], bary[better]
    return best_f, best_b, best_d


def _closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Barycentric weights (N, 3) of the point of each triangle (N, 3, 3) nearest to p (N, 3).

    Ericson, Real-Time Collision Detection, 5.1.5, vectorised over the Voronoi regions.
    """
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp = p - b
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    cp = p - c
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-30
    # Inside the face by default.
    denom = va + vb + vc
    denom = np.where(np.abs(denom) < eps, eps, denom)
    v, w = vb / denom, vc / denom
    out = np.stack([1.0 - v - w, v, w], 1)
    # Edges (later assignments take precedence over the face region).
    t = np.clip((d4 - d3) / np.where(np.abs((d4 - d3) + (d5 - d6)) < eps, eps, (d4 - d3) + (d5 - d6)), 0, 1)
    on_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    out[on_bc] = np.stack([np.zeros_like(t), 1 - t, t], 1)[on_bc]
    t = np.clip(d2 / np.where(np.abs(d2 - d6) < eps, eps, d2 - d6), 0, 1)
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    out[on_ac] = np.stack([1 - t, np.zeros_like(t), t], 1)[on_ac]
    t = np.clip(d1 / np.where(np.abs(d1 - d3) < eps, eps, d1 - d3), 0, 1)
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    out[on_ab] = np.stack([1 - t, t, np.zeros_like(t)], 1)[on_ab]
    # Vertices.
    for corner, region in ((0, (d1 <= 0) & (d2 <= 0)), (1, (d3 >= 0) & (d4 <= d3)),
                           (2, (d6 >= 0) & (d5 <= d6))):
        one = np.zeros(3)
        one[corner] = 1.0
        out[region] = one
    return out


def vertex_embedding(vertex_ids: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face index (N,) and one-hot barycentric weights (N, 3) placing a point on each vertex."""
    flat = faces.ravel()
    first = np.full(int(flat.max()) + 1, -1, np.int64)
    order = np.arange(len(flat))[::-1]
    first[flat[order]] = order  # the earliest face corner listing each vertex
    slot = first[np.asarray(vertex_ids)]
    if (slot < 0).any():
        raise ValueError("a vertex to embed is not used by any face")
    bary = np.zeros((len(slot), 3), np.float32)
    bary[np.arange(len(slot)), slot % 3] = 1.0
    return (slot // 3).astype(np.int32), bary
