"""Smooth displacement fields on a face mesh: the building blocks of the built-in model's
identity components and expression shapes. Functions take vertices (V, 3) and return weights
(V,) or displacements (V, 3), metres, +Y up, face toward +Z, subject's left = +X."""
from __future__ import annotations

import numpy as np

__all__ = ["gaussian", "smoothstep", "side", "rotation_x"]


def gaussian(vertices: np.ndarray, centres: np.ndarray, radius_m: float) -> np.ndarray:
    """Weights (V,) in 0..1: exp(-d^2 / 2r^2), d = distance to the nearest of ``centres``."""
    centres = np.atleast_2d(centres)
    d2 = ((vertices[:, None, :] - centres[None]) ** 2).sum(-1).min(1)
    return np.exp(-d2 / (2.0 * radius_m**2))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a smooth cubic in between."""
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def side(vertices: np.ndarray, sign: float, soft_m: float = 0.006) -> np.ndarray:
    """Weights (V,): 1 on the ``sign`` side of the midline (+1 = subject's left), blended across."""
    return smoothstep(0.5 + sign * vertices[:, 0] / (2.0 * soft_m))


def rotation_x(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
