"""Per-vertex quantities of a triangle mesh: smooth normals, and the split of vertices at UV seams.

Shared by the texture stage (normals under each texel), the glTF export and the offscreen
renderers (one vertex per (vertex, UV) pair, as glTF and OpenGL want it).
"""
from __future__ import annotations

import numpy as np

__all__ = ["vertex_normals", "split_seams"]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Smooth unit normals of a welded triangle mesh, the area-weighted mean of the triangles'.

    Parameters
    ----------
    vertices : np.ndarray [shape=(V, 3)]
    faces : np.ndarray [shape=(F, 3)] int
        Counter-clockwise seen from outside, so the normals point outward.

    Returns
    -------
    np.ndarray [shape=(V, 3)] float64
        Unit normals; (0, 0, 1) at vertices that no triangle (or only degenerate ones) uses.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    face_normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # |n| = 2 * area
    corners = f.reshape(-1)
    normals = np.stack([np.bincount(corners, np.repeat(face_normals[:, axis], 3),
                                    minlength=len(v)) for axis in range(3)], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.where(length > 1e-20, normals / np.maximum(length, 1e-20), [0.0, 0.0, 1.0])


def split_seams(faces: np.ndarray, uv_faces: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Weld corners per unique (vertex, UV) pair, splitting vertices only along UV seams.

    Parameters
    ----------
    faces : np.ndarray [shape=(F, 3)] int
        Vertex indices.
    uv_faces : np.ndarray [shape=(F, 3)] int
        UV indices, corner for corner with ``faces``.

    Returns
    -------
    vertex_ids : np.ndarray [shape=(M,)] int64
        The mesh vertex of each new vertex; new vertices are sorted by (vertex, UV).
    uv_ids : np.ndarray [shape=(M,)] int64
        The UV of each new vertex.
    new_faces : np.ndarray [shape=(F, 3)] uint32
        Triangles indexing the new vertices, in the order of ``faces``.
    """
    faces = np.asarray(faces, dtype=np.int64)
    uv_faces = np.asarray(uv_faces, dtype=np.int64)
    stride = int(uv_faces.max(initial=0)) + 1
    keys = faces.reshape(-1) * stride + uv_faces.reshape(-1)
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique // stride, unique % stride, inverse.reshape(faces.shape).astype(np.uint32)
