"""The pinhole camera of a photo, shared by fitting, texturing and the portrait mode.

OpenGL/Blender convention: the camera sits at the origin looking down -Z, +Y up. A model point
``X`` is seen at ``R @ X + t``; pixels have x to the right and y down, origin top-left.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = ["Camera", "PORTRAIT_FOCAL_FACTOR"]

PORTRAIT_FOCAL_FACTOR = 1.4  # focal length / longest side: about a 50 mm lens on full frame


@dataclass(frozen=True)
class Camera:
    focal_px: float
    cx: float
    cy: float
    width: int
    height: int
    rotation: tuple[float, float, float]  # rotation vector (axis * angle, radians)
    translation: tuple[float, float, float]  # metres

    @classmethod
    def for_photo(cls, width: int, height: int) -> "Camera":
        """A centred camera with the default portrait focal length, not yet posed."""
        return cls(PORTRAIT_FOCAL_FACTOR * max(width, height), width / 2.0, height / 2.0,
                   int(width), int(height), (0.0, 0.0, 0.0), (0.0, 0.0, -1.0))

    def posed(self, rotation, translation) -> "Camera":
        return Camera(self.focal_px, self.cx, self.cy, self.width, self.height,
                      tuple(float(x) for x in rotation), tuple(float(x) for x in translation))

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) rotation matrix from model to camera space."""
        return Rotation.from_rotvec(self.rotation).as_matrix()

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return points @ self.matrix.T + np.asarray(self.translation)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (N, 2) and depth (N,) in metres in front of the camera."""
        cam = self.to_camera(points)
        depth = -cam[:, 2]
        safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        pixels = np.stack([self.cx + self.focal_px * cam[:, 0] / safe,
                           self.cy - self.focal_px * cam[:, 1] / safe], axis=1)
        return pixels, depth

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rotation"], d["translation"] = list(self.rotation), list(self.translation)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        return cls(float(d["focal_px"]), float(d["cx"]), float(d["cy"]), int(d["width"]),
                   int(d["height"]), tuple(d["rotation"]), tuple(d["translation"]))
