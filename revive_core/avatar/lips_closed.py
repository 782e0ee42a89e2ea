"""A rest face with its lips together.

The default model's neutral face parts its lips by about a millimetre: from the front the upper
teeth's edge shows through the slit. A renderer with ambient occlusion (Cycles) shades that
slit dark, as a real mouth is; one without (pyrender: previews, the likeness bench) showed a
dotted white line between the lips of every resting face. ``close_lips`` adds the least of the
model's ``mouthClose`` shape that hides the teeth from the front, found by bisection on a
small orthographic depth test of the mouth. It moves the lips a fraction of a millimetre to a
few: speech opens them as before, and the lips meet at rest.
"""
from __future__ import annotations

import numpy as np

from revive_core.avatar.model.morphable import MorphableModel
from revive_core.geometry.raster import facing_faces, rasterize

__all__ = ["close_lips", "teeth_showing"]

CLOSE_SHAPE = "mouthClose"
MAX_WEIGHT = 0.2  # never more: the shape closes an open jaw's lips, a lot of it folds them
STEPS = 5  # bisection steps: the weight to MAX_WEIGHT / 32, the lips to about 0.1 mm
PX_PER_M = 2000.0  # the depth test's resolution: half a millimetre per pixel
MOUTH_MARGIN_M = 0.01  # the test covers the teeth's box and this much around it


def teeth_showing(model: MorphableModel, vertices_m: np.ndarray) -> int:
    """Pixels of the teeth seen from straight in front of the face (orthographic, +Z), at
    ``PX_PER_M``; 0 when the model has no teeth."""
    teeth = model.region_mask("teeth")
    if not teeth.any():
        return 0
    low = vertices_m[teeth, :2].min(0) - MOUTH_MARGIN_M
    high = vertices_m[teeth, :2].max(0) + MOUTH_MARGIN_M
    # In front of the teeth's back and within their box: the lips, the teeth and what is around.
    near = (((vertices_m[:, :2] >= low) & (vertices_m[:, :2] <= high)).all(1)
            & (vertices_m[:, 2] > vertices_m[teeth, 2].min()))
    pixels = np.stack([(vertices_m[:, 0] - low[0]) * PX_PER_M,
                       (high[1] - vertices_m[:, 1]) * PX_PER_M], 1)
    faces = facing_faces(model.faces[near[model.faces].all(1)], pixels)
    size = tuple(int(np.ceil(s)) for s in (high - low) * PX_PER_M)
    face_id, _, _ = rasterize(pixels, faces, size, depth=-vertices_m[:, 2])
    hit = face_id[face_id >= 0]
    return int(teeth[faces[hit, 0]].sum())


def close_lips(model: MorphableModel, vertices_m: np.ndarray) -> np.ndarray:
    """``vertices_m`` (V, 3, a rest face of ``model``) with the least ``mouthClose`` (at most
    ``MAX_WEIGHT``) that hides its teeth from the front; unchanged when no teeth show or the
    model has no such shape."""
    if CLOSE_SHAPE not in model.expression_names or not teeth_showing(model, vertices_m):
        return vertices_m
    delta = model.expression_deltas_m[model.expression_names.index(CLOSE_SHAPE)].astype(np.float64)
    low, high = 0.0, MAX_WEIGHT
    if teeth_showing(model, vertices_m + high * delta):
        return vertices_m
    for _ in range(STEPS):
        middle = 0.5 * (low + high)
        if teeth_showing(model, vertices_m + middle * delta):
            low = middle
        else:
            high = middle
    return vertices_m + high * delta
