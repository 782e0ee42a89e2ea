"""Derive where mediapipe's 478 landmarks lie on a model's surface: render, detect, back-project.

The neutral head is rendered (pyrender: skin, white eyes with a dark iris, and redder lips and
darker brows painted where the model's own iBUG points put them) from a few views around the
front. The lips and brows matter: mediapipe places its brow and lip points by what it sees, and
on a face without brows it guesses them about 5 % of the face's width too low. mediapipe finds its landmarks in each render; each landmark is lifted
to the surface through the render's depth buffer and taken back into model space. Per landmark
the lifted points are averaged over the views (the face-outline points only over the near-frontal
ones: elsewhere they follow the silhouette), made left-right symmetric with their mirror point,
and snapped to the nearest surface point: a face index and barycentric weights.

Rendering (llvmpipe) and mediapipe's CPU graph are deterministic, so the same model always gets
the same embedding.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from revive_core.errors import ReviveError
from revive_core.avatar.model.morphable import MorphableModel
from revive_core.avatar.model.surface import closest_points
from revive_core.avatar.model.views import Lighting, look_at_face, render_mesh
from revive_core.geometry.offscreen import OffscreenRenderer
from revive_core.geometry.polyline import polyline_distance

__all__ = ["derive_mediapipe_embedding", "face_outline", "region_colours", "paint_lips_and_brows", "VIEWS"]

log = logging.getLogger(__name__)

SIZE = 512
VIEWS = ((0.0, 0.0), (-12.0, 0.0), (12.0, 0.0), (0.0, -8.0), (0.0, 8.0), (-24.0, 0.0), (24.0, 0.0))
FRONTAL_YAW_DEG = 12.0
FACE_POINTS = 468
SKIN_RGB = (212, 160, 135)
COLOURS = {"sclera": (236, 232, 226), "iris": (88, 60, 40), "pupil": (15, 12, 12),
           "teeth": (232, 226, 210), "gums": (150, 60, 65), "tongue": (170, 80, 85),
           "mouth_interior": (110, 40, 45)}
SURFACE_REGIONS = ("face", "face_side", "lid_lining")
LIP_TINT = (0.85, 0.62, 0.62)
BROW_RGB = (60, 45, 35)
BROW_HALF_WIDTH_M = 0.0035


def region_colours(model: MorphableModel, skin_rgb=SKIN_RGB) -> np.ndarray:
    """Per-vertex RGB (V, 3) 0..255: skin, with eyes, teeth and mouth coloured by region."""
    colours = np.tile(np.asarray(skin_rgb, float), (len(model.vertices_m), 1))
    for index, name in enumerate(model.region_names):
        for part, rgb in COLOURS.items():
            if part in name:
                colours[model.vertex_regions == index] = rgb
    return colours


def paint_lips_and_brows(model: MorphableModel, colours: np.ndarray, *,
                         brow_rgb=BROW_RGB) -> np.ndarray:
    """``colours`` (V, 3) with redder lips and darker brows, placed by the model's iBUG points.

    Lips: inside the outer lip contour (points 48-59), brows: within 3.5 mm of the brow lines
    (17-21, 22-26), both seen from the front and only on the front of the face.
    """
    from revive_core.avatar.model.head import inside_polygon

    v = model.vertices_m
    colours = np.array(colours, dtype=float)
    skin = model.region_mask("face", "face_side", "scalp", "lid_lining")
    landmarks, _ = model.ibug_landmarks(v)
    front = skin & (v[:, 2] > landmarks[30, 2] - 0.05)
    lips = front & (inside_polygon(v[:, :2], landmarks[48:60, :2])
                    | (polyline_distance(v[:, :2], landmarks[48:60, :2], closed=True) < 0.0015))
    colours[lips] = colours[lips] * LIP_TINT
    brow_distance = np.minimum(polyline_distance(v[:, :2], landmarks[17:22, :2]),
                               polyline_distance(v[:, :2], landmarks[22:27, :2]))
    brows = front & (brow_distance < BROW_HALF_WIDTH_M)
    colours[brows] = 0.5 * colours[brows] + 0.5 * np.asarray(brow_rgb, float)
    return colours


def derive_mediapipe_embedding(model: MorphableModel, *, views=VIEWS
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Face index (478,) and barycentric weights (478, 3) of each mediapipe landmark.

    Raises ReviveError if mediapipe finds no face in the frontal render.
    """
    from revive_core.avatar.detect import detect_face

    vertices = model.vertices_m
    face = vertices[model.region_mask("face")]
    colours = paint_lips_and_brows(model, region_colours(model))
    lifted: list[np.ndarray] = []
    frontal: list[bool] = []
    with OffscreenRenderer(SIZE, SIZE) as renderer, tempfile.TemporaryDirectory() as tmp:
        for yaw, pitch in views:
            camera = look_at_face(face, SIZE, SIZE, yaw_deg=yaw, pitch_deg=pitch, fill=0.5)
            image, depth = render_mesh(renderer, vertices, model.faces, camera, colours=colours,
                                       lighting=Lighting(direction=(0.2, 0.3, 1.0)))
            path = Path(tmp) / f"view_{yaw:+.0f}_{pitch:+.0f}.png"
            Image.fromarray(image).save(path)
            try:
                landmarks = detect_face(path).landmarks_px
            except ReviveError:
                log.debug("no face found in the render at yaw %.0f, pitch %.0f", yaw, pitch)
                continue
            lifted.append(_lift(landmarks[:, :2], depth, camera))
            frontal.append(abs(yaw) <= FRONTAL_YAW_DEG)
    if not any(frontal):
        raise ReviveError("mediapipe found no face in the frontal render of the model, so its "
                          "landmarks could not be placed.", "Check that the model is a human head "
                          "in Revive's axes (+Y up, looking toward +Z).")
    stack = np.stack(lifted)  # (views, 478, 3), NaN where a landmark hit nothing
    points = np.nanmedian(stack, axis=0)
    outline = face_outline()
    points[outline] = np.nanmedian(stack[np.array(frontal)][:, outline], axis=0)
    points = _symmetric(points)
    landmark_faces = np.full(len(points), -1, np.int32)
    landmark_bary = np.zeros((len(points), 3), np.float32)
    eyes = tuple(n for n in model.region_names if n.startswith("eye_"))
    for ids, regions in ((np.arange(FACE_POINTS), SURFACE_REGIONS),
                         (np.arange(FACE_POINTS, len(points)), eyes)):
        triangles = np.flatnonzero(model.region_mask(*regions)[model.faces].all(1))
        ok = ids[np.isfinite(points[ids]).all(1)]
        f, bary, _ = closest_points(points[ok], vertices, model.faces[triangles])
        landmark_faces[ok] = triangles[f]
        landmark_bary[ok] = bary
    return landmark_faces, landmark_bary


def _lift(landmarks_px: np.ndarray, depth: np.ndarray, camera) -> np.ndarray:
    """Model-space points (L, 3) under each landmark pixel (NaN where the render is empty)."""
    height, width = depth.shape
    cols = np.clip(np.round(landmarks_px[:, 0] - 0.5).astype(int), 0, width - 1)
    rows = np.clip(np.round(landmarks_px[:, 1] - 0.5).astype(int), 0, height - 1)
    d = depth[rows, cols].astype(np.float64)
    # On the outline a landmark may fall just off the silhouette: take the nearest depth inside.
    for i in np.flatnonzero(d <= 0):
        r0, c0 = rows[i], cols[i]
        window = depth[max(r0 - 4, 0):r0 + 5, max(c0 - 4, 0):c0 + 5]
        if (window > 0).any():
            d[i] = window[window > 0].min()
    x = (landmarks_px[:, 0] - camera.cx) * d / camera.focal_px
    y = -(landmarks_px[:, 1] - camera.cy) * d / camera.focal_px
    in_camera = np.stack([x, y, -d], axis=1)
    points = (in_camera - np.asarray(camera.translation)) @ camera.matrix  # R^T (p - t)
    points[d <= 0] = np.nan
    return points


def face_outline() -> np.ndarray:
    """mediapipe's face oval: the indices of its landmarks on the face's outline, sorted."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_FACE_OVAL

    return np.array(sorted({i for edge in FACEMESH_FACE_OVAL for i in edge}))


def _symmetric(points: np.ndarray) -> np.ndarray:
    """Each point averaged with its left-right mirror partner (the models are symmetric)."""
    from scipy.optimize import linear_sum_assignment

    from revive_core.avatar.model.template import load_template

    _, mirror = load_template()
    iris = points[FACE_POINTS:]
    flip = np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(iris[:, None] - iris[None] * flip, axis=2)
    _, partner = linear_sum_assignment(np.nan_to_num(cost, nan=1.0))
    mirror = np.concatenate([mirror, FACE_POINTS + partner])
    return np.nanmean(np.stack([points, points[mirror] * flip]), axis=0)
