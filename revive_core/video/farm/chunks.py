"""How a take's frames are split into chunks, one Blender render each.

Functions
---------
default_chunk   frames per chunk when the user gives none
plan_chunks     the frames still to render, as (start, end) chunks
"""
from __future__ import annotations

import math
from typing import Sequence

__all__ = ["CHUNKS_PER_WORKER", "MAX_CHUNK", "MIN_CHUNK", "default_chunk", "plan_chunks"]

CHUNKS_PER_WORKER = 3  # a worker that finishes early takes another chunk
MIN_CHUNK = 8  # each chunk pays for a Blender start and a scene build (about 1-3 s)
MAX_CHUNK = 48  # a worker killed mid-chunk loses at most this many frames


def default_chunk(frames: int, workers: int) -> int:
    """About three chunks per worker, each of 8 to 48 frames (fewer when there are fewer)."""
    if frames <= 0:
        return MIN_CHUNK
    share = math.ceil(frames / (max(1, workers) * CHUNKS_PER_WORKER))
    return max(1, min(frames, max(MIN_CHUNK, min(MAX_CHUNK, share))))


def plan_chunks(missing: Sequence[int], chunk: int) -> list[tuple[int, int]]:
    """The ``missing`` frames (sorted or not) as inclusive (start, end) runs of at most ``chunk``.

    A chunk never spans a frame that is already rendered, so no frame is rendered twice.

    Examples
    --------
    >>> plan_chunks([1, 2, 3, 4, 5, 8, 9], 2)
    [(1, 2), (3, 4), (5, 5), (8, 9)]
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    chunks: list[tuple[int, int]] = []
    for frame in sorted(set(missing)):
        if chunks and frame == chunks[-1][1] + 1 and frame - chunks[-1][0] < chunk:
            chunks[-1] = (chunks[-1][0], frame)
        else:
            chunks.append((frame, frame))
    return chunks
