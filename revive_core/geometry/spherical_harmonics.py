"""Real spherical harmonics of bands 0..2: the irradiance basis of Lambertian skin.

Used to estimate a photo's lighting (``texture.light``) and to explain a photo's shading while
fitting (``photometric``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["sh_basis", "sh_gradient"]


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """The 9 real spherical harmonics (N, 9) of bands 0..2 at unit vectors ``normals`` (N, 3)."""
    x, y, z = np.asarray(normals, dtype=np.float64).T
    return np.stack([
        np.full_like(x, 0.282095),
        0.488603 * y, 0.488603 * z, 0.488603 * x,
        1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3 * z * z - 1),
        1.092548 * x * z, 0.546274 * (x * x - y * y)], axis=1)


def sh_gradient(normals: np.ndarray) -> np.ndarray:
    """d sh_basis / d normal: (N, 9, 3)."""
    x, y, z = np.asarray(normals, dtype=np.float64).T
    zero, c1, c2, c3, c4 = np.zeros_like(x), 0.488603, 1.092548, 0.315392, 0.546274
    rows = [(zero, zero, zero), (zero, zero + c1, zero), (zero, zero, zero + c1),
            (zero + c1, zero, zero), (c2 * y, c2 * x, zero), (zero, c2 * z, c2 * y),
            (zero, zero, 6 * c3 * z), (c2 * z, zero, c2 * x), (2 * c4 * x, -2 * c4 * y, zero)]
    return np.stack([np.stack(r, axis=1) for r in rows], axis=1)
