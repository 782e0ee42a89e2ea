"""The morphable model format shared by every face model Revive can fit.

Axes: right-handed, +Y up, the face looks toward +Z, metres. "Left" in blendshape names is the
subject's own left, which is +X.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["MorphableModel"]


@dataclass
class MorphableModel:
    """A neutral mesh with an identity basis (with priors) and ARKit-named expression shapes."""

    model_id: str
    vertices_m: np.ndarray  # (V, 3) neutral mean shape
    faces: np.ndarray  # (F, 3) int32
    uvs: np.ndarray  # (T, 2) float32, origin bottom-left
    uv_faces: np.ndarray  # (F, 3) int32
    region_names: list[str]
    vertex_regions: np.ndarray  # (V,) uint8
    identity_names: list[str]
    identity_basis_m: np.ndarray  # (I, V, 3): one standard deviation of each component
    expression_names: list[str]
    expression_deltas_m: np.ndarray  # (E, V, 3) at full activation (weight 1)
    landmark_faces: np.ndarray  # (478,) int32 face per mediapipe landmark, -1 if not on the mesh
    landmark_bary: np.ndarray  # (478, 3) float32

    def shape(self, identity: np.ndarray | None = None,
              expression: Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
        """Vertices (V, 3) for identity coefficients (in standard deviations) and expression weights."""
        vertices = self.vertices_m.astype(np.float64)
        if identity is not None:
            vertices = vertices + np.tensordot(np.asarray(identity, float), self.identity_basis_m, 1)
        if expression is not None:
            if isinstance(expression, Mapping):
                index = {n: i for i, n in enumerate(self.expression_names)}
                weights = np.zeros(len(self.expression_names))
                for name, value in expression.items():
                    weights[index[name]] = value
            else:
                weights = np.asarray(expression, float)
            vertices = vertices + np.tensordot(weights, self.expression_deltas_m, 1)
        return vertices

    def landmarks(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (L, 3) of the embedded landmarks on ``vertices`` and a mask of which exist."""
        mask = self.landmark_faces >= 0
        corners = vertices[self.faces[np.where(mask, self.landmark_faces, 0)]]  # (L, 3, 3)
        points = np.einsum("lk,lkd->ld", self.landmark_bary.astype(np.float64), corners)
        return points, mask
