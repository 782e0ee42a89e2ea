"""Polygons (quads, n-gons) stored as runs of consecutive triangles, shared by both mesh formats.

A mesh's ``faces`` (F, 3) stay triangles for every consumer that needs them (fitting, baking,
glTF). The optional ``polygon_triangles`` (P,) uint8 says how many consecutive triangles make
up each polygon, as a fan from the polygon's first vertex: 1 is a triangle, 2 a quad
(a, b, c, d) stored as (a, b, c), (a, c, d), n - 2 an n-gon. The counts sum to F. Without it,
every triangle is a polygon of its own.

Functions
---------
fan_counts          the triangles of each polygon, ones when the mesh has no polygons stored
first_triangles     each polygon's first triangle
polygon_corners     the corners of each polygon as indices into ``faces.ravel()``
polygon_problem     what is wrong with ``polygon_triangles`` for a mesh, or None
"""
from __future__ import annotations

import numpy as np

__all__ = ["MAX_FAN", "fan_counts", "first_triangles", "polygon_corners", "polygon_problem"]

MAX_FAN = 255  # stored as uint8: a polygon has at most 257 corners


def fan_counts(polygon_triangles: np.ndarray | None, face_count: int) -> np.ndarray:
    """Triangles per polygon (P,), int64; one each when ``polygon_triangles`` is None.

    Raises ValueError when the counts do not add up to ``face_count`` (faces were changed
    without their polygons).
    """
    if polygon_triangles is None:
        return np.ones(face_count, dtype=np.int64)
    counts = np.asarray(polygon_triangles, dtype=np.int64)
    if counts.ndim != 1 or int(counts.sum()) != face_count or (counts < 1).any():
        raise ValueError(f"polygon_triangles describe {int(counts.sum())} triangles, "
                         f"the mesh has {face_count}.")
    return counts


def first_triangles(polygon_triangles: np.ndarray | None, face_count: int) -> np.ndarray:
    """Index (P,) of each polygon's first triangle in ``faces``."""
    counts = fan_counts(polygon_triangles, face_count)
    return np.cumsum(counts) - counts


def polygon_corners(polygon_triangles: np.ndarray | None,
                    face_count: int) -> tuple[np.ndarray, np.ndarray]:
    """The polygons' corners, in order, as indices into ``faces.ravel()``, and their sizes.

    A fan's first triangle gives the first three corners; each further triangle adds its last.

    Returns
    -------
    corners : np.ndarray [shape=(C,), dtype=int64]
        ``faces.ravel()[corners]`` are the polygons' vertices one after the other (and the same
        indices pick per-corner UVs from ``uv_faces.ravel()``).
    sizes : np.ndarray [shape=(P,), dtype=int64]
        Corners per polygon (triangles + 2); they sum to C.
    """
    counts = fan_counts(polygon_triangles, face_count)
    starts_polygon = np.zeros(face_count, dtype=bool)
    starts_polygon[np.cumsum(counts) - counts] = True
    per_triangle = np.where(starts_polygon, 3, 1)
    first_corner = 3 * np.arange(face_count) + np.where(starts_polygon, 0, 2)
    offsets = np.cumsum(per_triangle) - per_triangle
    within = np.arange(int(per_triangle.sum())) - np.repeat(offsets, per_triangle)
    return np.repeat(first_corner, per_triangle) + within, counts + 2


def polygon_problem(polygon_triangles: np.ndarray, faces: np.ndarray,
                    uv_faces: np.ndarray | None = None) -> str | None:
    """What is wrong with ``polygon_triangles`` for triangles ``faces``, or None if nothing.

    Each count must be 1..255, they must sum to F, and each triangle after a polygon's first
    must share the fan vertex and the previous triangle's last edge, in ``faces`` and (when
    given) in ``uv_faces``, so that the polygon's corners are well defined.
    """
    counts = np.asarray(polygon_triangles)
    if counts.ndim != 1 or counts.dtype.kind not in "iu":
        return f"polygon_triangles must be (P,) integers, got {counts.dtype} {counts.shape}."
    if counts.size and (int(counts.min()) < 1 or int(counts.max()) > MAX_FAN):
        return f"polygon_triangles must each be between 1 and {MAX_FAN}."
    total = int(counts.astype(np.int64).sum())
    if total != len(faces):
        return f"polygon_triangles add up to {total} triangles, but there are {len(faces)} faces."
    continues = np.ones(len(faces), dtype=bool)
    continues[first_triangles(counts, len(faces))] = False
    later = np.flatnonzero(continues)
    for name, triangles in (("faces", faces), ("uv_faces", uv_faces)):
        if triangles is None:
            continue
        triangles = np.asarray(triangles)
        if not (np.array_equal(triangles[later, 0], triangles[later - 1, 0])
                and np.array_equal(triangles[later, 1], triangles[later - 1, 2])):
            return (f"polygon_triangles do not match {name}: a polygon's triangles must fan "
                    "out from its first corner, each sharing the previous one's last edge.")
    return None
