"""The fit's parameter vector and the rotation derivatives shared by its landmark and photo terms.

The fit solves for one vector ``x``: the identity coefficients (``n_id``), then for each photo a
block of ``POSE_SIZE + n_ex`` numbers, its pose (a rotation vector, radians, then a translation,
metres) and its expression weights. Rotations are updated on the right, ``R(w) Exp(J_r(w) d)``,
so a point's derivative by the rotation is ``-R [p]x J_r(w)``.

Functions
    photo_block     the slice of ``x`` that belongs to one photo
    skew_matrices   cross-product matrices of vectors
    right_jacobian  SO(3)'s right Jacobian at a rotation vector
"""
from __future__ import annotations

import numpy as np

__all__ = ["POSE_SIZE", "photo_block", "right_jacobian", "skew_matrices"]

POSE_SIZE = 6  # rotation vector (3) and translation (3) at the start of each photo's block


def photo_block(x: np.ndarray, p: int, n_id: int, n_ex: int) -> np.ndarray:
    """Photo ``p``'s parameters: rotation vector, translation, expression weights.

    Parameters
    ----------
    x : np.ndarray [shape=(n_id + P * (POSE_SIZE + n_ex),)]
        The fit's parameters.
    p : int
        The photo's index.
    n_id, n_ex : int
        Numbers of identity coefficients and of fitted expressions.

    Returns
    -------
    np.ndarray [shape=(POSE_SIZE + n_ex,)]
        A view into ``x``: writing to it changes ``x``.
    """
    per = POSE_SIZE + n_ex
    return x[n_id + p * per:n_id + (p + 1) * per]


def skew_matrices(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices [shape=(..., 3, 3)] of vectors [shape=(..., 3)]: [v]x u = v x u."""
    s = np.zeros(v.shape[:-1] + (3, 3))
    s[..., 0, 1], s[..., 0, 2] = -v[..., 2], v[..., 1]
    s[..., 1, 0], s[..., 1, 2] = v[..., 2], -v[..., 0]
    s[..., 2, 0], s[..., 2, 1] = -v[..., 1], v[..., 0]
    return s


def right_jacobian(rotvec: np.ndarray) -> np.ndarray:
    """SO(3)'s right Jacobian [shape=(3, 3)]: R(w + d) ~ R(w) Exp(J_r(w) d), w in radians."""
    theta = float(np.linalg.norm(rotvec))
    k = skew_matrices(rotvec)
    if theta < 1e-8:
        return np.eye(3) - 0.5 * k
    return (np.eye(3) - (1 - np.cos(theta)) / theta**2 * k
            + (theta - np.sin(theta)) / theta**3 * k @ k)
