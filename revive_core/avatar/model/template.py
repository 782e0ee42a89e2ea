"""The neutral face template of the built-in model: mediapipe landmarks of the bundled sample
photo, made pose-free, left-right symmetric and metric, with the photo's smile relaxed (mouth
corners moved to where they rest in a neutral adult face) and the lips closed.

``assets/model/face_template.npz`` is this module's output, committed so the model does not
change with mediapipe's numerics; ``python -m revive_core.avatar.model.template`` writes it again and a
test checks that doing so reproduces it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from revive_core.formats.storage import atomic_write_bytes, npz_bytes
from revive_core.avatar.model.topology import FACE_POINTS, GROUPS
from revive_core.assets import asset_path

__all__ = ["TEMPLATE_PATH", "SOURCE_PHOTO", "template_from_landmarks", "load_template", "main"]

TEMPLATE_PATH = asset_path("model", "face_template.npz")
SOURCE_PHOTO = asset_path("sample", "astronaut.png")
EYE_CORNER_DISTANCE_M = 0.089  # mean ex-ex width of adults (Farkas, anthropometric norms)
EYE_OUTER = (33, 263)
MOUTH_CORNERS = (61, 291)
STOMION = (13, 14)
RESTING_MOUTH_WIDTH_M = 0.052  # ch-ch of adults at rest (Farkas: about 50-54 mm)
RESTING_CORNER_LIFT_M = 0.002  # at rest the mouth corners sit about this far above the stomion
SMILE_FALLOFF_M = 0.012  # the skin around a corner follows it over about this distance


def template_from_landmarks(landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric metric template from one frontal face's landmarks.

    Parameters
    ----------
    landmarks_px : np.ndarray [shape=(>=468, 3)]
        mediapipe landmarks: x right, y down, z depth (smaller is nearer), all in pixels.

    Returns
    -------
    vertices_m : np.ndarray [shape=(468, 3)]
        +Y up, the face toward +Z, metres, centred between the eyes' outer corners.
    mirror : np.ndarray [shape=(468,)]
        Index of each point's left-right counterpart (itself on the midline).
    """
    points = landmarks_px[:FACE_POINTS].astype(np.float64) * np.array([1.0, -1.0, -1.0])
    points = _frontal(points - points.mean(0))
    flip = np.array([-1.0, 1.0, 1.0])
    _, mirror = linear_sum_assignment(
        np.linalg.norm(points[:, None] - points[None] * flip, axis=2))
    for _ in range(10):
        symmetric = 0.5 * (points + points[mirror] * flip)
        points = _procrustes(points, symmetric)
    points = _frontal(0.5 * (points + points[mirror] * flip))
    points[np.abs(points[:, 0]) < 1e-9, 0] = 0.0
    points = _close_lips(points)
    scale = EYE_CORNER_DISTANCE_M / np.linalg.norm(points[EYE_OUTER[0]] - points[EYE_OUTER[1]])
    points = points * scale
    points -= 0.5 * (points[EYE_OUTER[0]] + points[EYE_OUTER[1]]) * np.array([1, 1, 1])
    return np.round(_relax_smile(points), 5), mirror.astype(np.int32)


def _relax_smile(points_m: np.ndarray) -> np.ndarray:
    """The sample photo smiles (corners 8 mm above the lips' contact line, a 63 mm wide mouth):
    move each mouth corner to where it rests in a neutral face, the skin around it following
    with a Gaussian falloff. Both corners move mirror-symmetrically, so the face stays
    symmetric."""
    points = points_m.copy()
    stomion_y = points[list(STOMION), 1].mean()
    shifts = []
    for corner in MOUTH_CORNERS:
        side = np.sign(points[corner, 0])
        target = np.array([side * RESTING_MOUTH_WIDTH_M / 2, stomion_y + RESTING_CORNER_LIFT_M,
                           points[corner, 2]])
        reach = np.exp(-((points_m - points_m[corner]) ** 2).sum(1) / (2 * SMILE_FALLOFF_M**2))
        shifts.append(reach[:, None] * (target - points_m[corner]))
    return points + sum(shifts)


def _close_lips(points: np.ndarray) -> np.ndarray:
    """A rig's rest pose has the lips together: meet the inner lip contours halfway."""
    points = points.copy()
    upper, lower = GROUPS["lips_upper_inner"][1:-1], GROUPS["lips_lower_inner"][1:-1]
    for top, bottom in zip(upper, lower):
        middle = 0.5 * (points[top, 1:] + points[bottom, 1:])
        points[top, 1:] = middle + [0.0003, 0.0]
        points[bottom, 1:] = middle - [0.0003, 0.0]
    return points


def _frontal(points: np.ndarray) -> np.ndarray:
    """Rotate so the eye corners lie along +X and the eye/mouth corner plane faces +Z."""
    right, left = points[EYE_OUTER[0]], points[EYE_OUTER[1]]
    mouth = 0.5 * (points[MOUTH_CORNERS[0]] + points[MOUTH_CORNERS[1]])
    x_axis = (left - right) / np.linalg.norm(left - right)
    up = 0.5 * (left + right) - mouth
    y_axis = up - x_axis * (up @ x_axis)
    y_axis /= np.linalg.norm(y_axis)
    z_axis = np.cross(x_axis, y_axis)
    return points @ np.stack([x_axis, y_axis, z_axis]).T


def _procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` rigidly moved (rotation + translation) onto ``target``."""
    sc, tc = source.mean(0), target.mean(0)
    u, _, vt = np.linalg.svd((source - sc).T @ (target - tc))
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    return (source - sc) @ rotation + tc


def load_template() -> tuple[np.ndarray, np.ndarray]:
    """The committed template: (vertices_m (468, 3), mirror (468,))."""
    with np.load(TEMPLATE_PATH, allow_pickle=False) as data:
        return data["vertices"].astype(np.float64), data["mirror"].astype(np.int64)


def make_template(photo: Path = SOURCE_PHOTO) -> tuple[np.ndarray, np.ndarray]:
    from revive_core.avatar.detect import detect_face

    return template_from_landmarks(detect_face(photo).landmarks_px)


def main() -> None:
    vertices, mirror = make_template()
    atomic_write_bytes(TEMPLATE_PATH, npz_bytes({"vertices": vertices.astype(np.float32),
                                                 "mirror": mirror}))
    print(f"wrote {TEMPLATE_PATH}")


if __name__ == "__main__":
    main()
