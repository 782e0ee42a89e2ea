"""Distance from points to a polyline in the plane, e.g. to a brow or lip line seen from the front.

Used to paint lips and brows where a model's landmarks put them (``avatar.model.embedding``)
and to draw the benchmark's procedural skin (``bench.texture``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["polyline_distance"]


def polyline_distance(points: np.ndarray, line: np.ndarray, *, closed: bool = False) -> np.ndarray:
    """Distance from each point to the nearest point of a polyline, in 2D.

    Parameters
    ----------
    points : np.ndarray [shape=(N, 2)]
    line : np.ndarray [shape=(K, 2)]
        The polyline's corners, in order.
    closed : bool
        Also join the last corner back to the first.

    Returns
    -------
    np.ndarray [shape=(N,)] float64
    """
    points = np.asarray(points, dtype=np.float64)
    starts = np.asarray(line, dtype=np.float64)
    ends = np.roll(starts, -1, axis=0)
    if not closed:
        starts, ends = starts[:-1], ends[:-1]
    distance = np.full(len(points), np.inf)
    # One segment at a time: a dense texel grid times every segment would not fit in memory.
    for a, b in zip(starts, ends):
        ab = b - a
        t = np.clip(((points - a) * ab).sum(1) / max((ab**2).sum(), 1e-12), 0.0, 1.0)
        nearest = a + t[:, None] * ab
        distance = np.minimum(distance, np.linalg.norm(points - nearest, axis=1))
    return distance
