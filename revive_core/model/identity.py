"""Identity components of the built-in model: smooth, symmetric ways in which faces differ.

Each component is one standard deviation of an adult facial measurement, taken from published
anthropometric norms (Farkas, "Anthropometry of the Head and Face", 1994; adult means and
standard deviations, rounded): face width (zy-zy, sd ~6 mm), face height (n-gn, sd ~7 mm),
lower face height (sn-gn, sd ~5 mm), mandible width (go-go, sd ~6 mm), nose width (al-al,
sd ~3 mm), nose height (n-sn, sd ~4 mm), nose projection (sd ~2.5 mm), intercanthal width
(en-en, sd ~3 mm), mouth width (ch-ch, sd ~4 mm), upper and lower vermilion height (sd ~1.5 mm),
and similar for brows, forehead, chin and cheeks. A displacement of half the measurement's sd
on each side gives one sd in the measured distance.
"""
from __future__ import annotations

import numpy as np

from .expressions import MeshParts
from .fields import gaussian, smoothstep

__all__ = ["identity_components"]


def identity_components(parts: MeshParts) -> dict[str, np.ndarray]:
    """Component name -> (V, 3) displacement of one standard deviation, metres."""
    v = parts.v
    width = float(np.abs(v[:, 0]).max())
    top, bottom = float(v[:, 1].max()), float(v[:, 1].min())
    sx = np.sign(v[:, 0])
    lower = smoothstep((parts.mouth_line_y() + 0.01 - v[:, 1]) / 0.04)
    nose = gaussian(v, parts.points("nose_tip"), 0.014)
    chin = gaussian(v, parts.points("chin"), 0.018)
    lips_upper = gaussian(v, parts.points("lips_upper_outer"), 0.005)
    lips_lower = gaussian(v, parts.points("lips_lower_outer"), 0.005)
    corners = gaussian(v, np.vstack([parts.points("mouth_corner_left"),
                                     parts.points("mouth_corner_right")]), 0.012)
    eyes = gaussian(v, np.vstack([parts.points(g) for g in (
        "eye_left_upper", "eye_left_lower", "eye_right_upper", "eye_right_lower")]), 0.01)
    eye_centre_y = float(parts.points("eye_left_upper")[:, 1].mean())
    brows = gaussian(v, np.vstack([parts.points("brow_left"), parts.points("brow_right")]), 0.012)
    cheeks = gaussian(v, np.vstack([parts.points("cheek_left"), parts.points("cheek_right")]), 0.02)
    wings = gaussian(v, np.vstack([parts.points("nose_left_wing"),
                                   parts.points("nose_right_wing")]), 0.008)
    forehead = smoothstep((v[:, 1] - 0.02) / 0.03)
    zero = np.zeros(len(v))

    def vec(x, y, z) -> np.ndarray:
        return np.stack([np.broadcast_to(a, (len(v),)) for a in (x, y, z)], axis=1).astype(float)

    return {
        "face_width": vec(v[:, 0] / width * 0.003, zero, zero),
        "face_height": vec(zero, np.where(v[:, 1] > 0, v[:, 1] / top, -v[:, 1] / bottom) * 0.0035, zero),
        "face_depth": vec(zero, zero, (v[:, 2] - v[:, 2].min()) / np.ptp(v[:, 2]) * 0.004),
        "lower_face_height": vec(zero, -lower * 0.005, zero),
        "jaw_width": vec(lower * v[:, 0] / width * 0.003, zero, zero),
        "cheekbone_width": vec(sx * cheeks * 0.003, zero, cheeks * 0.001),
        "forehead_height": vec(zero, forehead * (v[:, 1] - 0.02) / max(top - 0.02, 1e-6) * 0.006, zero),
        "nose_height": vec(zero, -nose * 0.004, zero),
        "nose_width": vec(sx * wings * 0.0015, zero, zero),
        "nose_projection": vec(zero, zero, nose * 0.0025),
        "eye_spacing": vec(sx * eyes * 0.0015, zero, zero),
        "eye_height": vec(zero, eyes * (v[:, 1] - eye_centre_y) * 0.15, zero),
        "mouth_width": vec(sx * corners * 0.002, zero, zero),
        "upper_lip_height": vec(zero, lips_upper * 0.0015, lips_upper * 0.0005),
        "lower_lip_height": vec(zero, -lips_lower * 0.0015, lips_lower * 0.0005),
        "brow_height": vec(zero, brows * 0.003, zero),
        "chin_projection": vec(zero, zero, chin * 0.003),
        "chin_height": vec(zero, -chin * 0.004, zero),
        "cheek_fullness": vec(sx * cheeks * 0.0015, zero, cheeks * 0.003),
        "face_taper": vec(v[:, 0] / width * (v[:, 1] - bottom) / (top - bottom) * 0.004, zero, zero),
    }
