"""Is a face in a video frame the person in the photos? By a face descriptor, else by its shape.

Two ways to compare, the best one installed is used:

- ``descriptor``: dlib's ResNet face descriptor (128 numbers; the same person lies closer than
  0.6, about 99.4% right on LFW), the face aligned on five of mediapipe's landmarks (the eyes'
  corners and the base of the nose, the points of dlib's own 5-point model). The weights come
  with ``face_recognition_models`` (CC0) and dlib is the ``bench`` extra, so this is used only
  where both are importable; dlib's 68-point model (trained on data that forbids commercial
  use) is never used here. On the 12 people of ``../shared/real-faces`` photos of one person lie
  0.40 apart (median; 95% below 0.65) and of two people 0.89 (95% above 0.74).
- ``shape``, the fallback: the 3D shape of mediapipe's landmarks on the parts of the face an
  expression moves little (not the lips, brows or eyelids), aligned by rotation, translation and
  scale, as the RMS distance over the shape's size. Much weaker: on the same photos one person's
  pairs lie 0.043 apart (median) and two people's 0.056; ``SHAPE_THRESHOLD`` (the 95th percentile
  of one person's pairs) catches only about a third of other people's faces. It tells apart
  clearly different proportions, not look-alikes.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np

from revive_core.avatar.detect import Detection

__all__ = ["FaceMatcher", "face_matcher", "rigid_points", "DESCRIPTOR_THRESHOLD",
           "SHAPE_THRESHOLD"]

DESCRIPTOR_THRESHOLD = 0.6  # dlib's same-person distance
SHAPE_THRESHOLD = 0.076
DLIB_FIVE_POINTS = (263, 362, 33, 133, 2)  # mediapipe's points in dlib's 5-point order


@dataclass
class FaceMatcher:
    """Distances from a face to the faces of the reference photos (the person to keep)."""

    method: str  # "descriptor" or "shape"
    threshold: float  # at most this far: the same person
    references: list[np.ndarray] = field(default_factory=list)
    network: object = None  # dlib's face recognition network (descriptor method)

    def distance(self, image: np.ndarray, landmarks_px: np.ndarray) -> float:
        """The median distance of the face at ``landmarks_px`` in ``image`` to the photos' faces.

        Parameters
        ----------
        image : np.ndarray [shape=(H, W, 3), dtype=uint8]
            RGB.
        landmarks_px : np.ndarray [shape=(478, 3)]
            mediapipe's landmarks of the face, pixels.
        """
        feature = self._feature(image, landmarks_px)
        return float(np.median([self._compare(feature, r) for r in self.references]))

    def _feature(self, image: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
        if self.method == "descriptor":
            return _descriptor(self.network, image, landmarks_px)
        return _rigid_shape(landmarks_px)

    def _compare(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.method == "descriptor":
            return float(np.linalg.norm(a - b))
        return _shape_distance(a, b)


def face_matcher(photos: Sequence[Detection]) -> FaceMatcher:
    """A matcher for the person in ``photos``: by descriptor where dlib is installed, else shape."""
    network = _descriptor_network()
    matcher = (FaceMatcher("descriptor", DESCRIPTOR_THRESHOLD, network=network)
               if network is not None else FaceMatcher("shape", SHAPE_THRESHOLD))
    matcher.references = [matcher._feature(p.image, p.landmarks_px) for p in photos]
    return matcher


def _descriptor_network():
    """dlib's face recognition network, or None where dlib or its weights are missing."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or importlib.util.find_spec("dlib") is None:
        return None
    # Found without importing the package: its __init__ needs pkg_resources, which newer
    # setuptools no longer ships; its data files are all that is needed.
    weights = (Path(next(iter(spec.submodule_search_locations))) / "models"
               / "dlib_face_recognition_resnet_model_v1.dat")
    if not weights.is_file():
        return None
    import dlib

    return dlib.face_recognition_model_v1(str(weights))


def _descriptor(network, image: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """dlib's 128-number descriptor of the face, aligned on mediapipe's five points."""
    import dlib

    points = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    low, high = points.min(0), points.max(0)
    box = dlib.rectangle(int(low[0]), int(low[1]), int(high[0]), int(high[1]))
    shape = dlib.full_object_detection(
        box, [dlib.point(int(round(points[i, 0])), int(round(points[i, 1])))
              for i in DLIB_FIVE_POINTS])
    pixels = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    return np.asarray(network.compute_face_descriptor(pixels, shape, 0), dtype=np.float64)


@cache
def rigid_points() -> np.ndarray:
    """mediapipe's landmarks outside the lips, brows and eyes (what expressions move most)."""
    from mediapipe.python.solutions import face_mesh_connections as mesh

    moving = set()
    for edges in (mesh.FACEMESH_LIPS, mesh.FACEMESH_LEFT_EYEBROW, mesh.FACEMESH_RIGHT_EYEBROW,
                  mesh.FACEMESH_LEFT_EYE, mesh.FACEMESH_RIGHT_EYE):
        moving.update(i for edge in edges for i in edge)
    return np.array([i for i in range(468) if i not in moving])


def _rigid_shape(landmarks_px: np.ndarray) -> np.ndarray:
    """(P, 3) the rigid points, centred and scaled to unit RMS size."""
    points = np.asarray(landmarks_px, dtype=np.float64)[rigid_points(), :3].copy()
    points -= points.mean(0)
    return points / max(float(np.sqrt((points**2).sum(1).mean())), 1e-12)


def _shape_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS distance of unit-size shape ``a`` to ``b`` rotated and scaled onto it (Procrustes)."""
    u, s, vt = np.linalg.svd(b.T @ a)
    reflect = np.sign(np.linalg.det(u @ vt))
    signs = np.array([1.0, 1.0, reflect])
    rotation = u @ np.diag(signs) @ vt
    scale = float((s * signs).sum() / (b**2).sum())
    return float(np.sqrt(((a - scale * b @ rotation) ** 2).sum(1).mean()))
