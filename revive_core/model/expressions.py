"""ARKit expression shapes of the built-in model, computed from its neutral mesh.

Each shape is a smooth, local displacement at full activation (weight 1), sized from
published ranges of facial motion (jaw opening about 20 degrees, lip corner travel about
1 cm). Shapes needing geometry this model does not have yet (eyeballs for eyeLook*, a tongue
for tongueOut) are not produced.
"""
from __future__ import annotations

import numpy as np

from .fields import gaussian, rotation_x, side, smoothstep
from .topology import GROUPS

__all__ = ["expression_shapes", "MeshParts"]


class MeshParts:
    """Where things are on a built-in mesh: landmark vertices, lids, lips and added parts."""

    def __init__(self, vertices: np.ndarray, regions: np.ndarray, region_names: list[str],
                 pocket_rim: dict[int, int]) -> None:
        self.v = vertices
        self.face = regions == region_names.index("face")
        self.pocket = regions == region_names.index("mouth_interior")
        self.pocket_rim = pocket_rim  # pocket vertex -> the lip vertex it hangs from

    def points(self, group: str) -> np.ndarray:
        return self.v[list(GROUPS[group])]

    def mouth_line_y(self) -> float:
        inner = list(GROUPS["lips_upper_inner"]) + list(GROUPS["lips_lower_inner"])
        return float(self.v[inner, 1].mean())


def expression_shapes(parts: MeshParts) -> dict[str, np.ndarray]:
    """All shapes this model can make: ARKit name -> (V, 3) displacement in metres."""
    v = parts.v
    shapes: dict[str, np.ndarray] = {}
    jaw_weight = _jaw_weight(parts)
    jaw_open = _jaw_rotation(v, jaw_weight, np.radians(20.0))
    shapes["jawOpen"] = jaw_open
    shapes["jawForward"] = jaw_weight[:, None] * np.array([0.0, 0.0, 0.006])
    lips = gaussian(v, np.vstack([parts.points("lips_upper_outer"),
                                  parts.points("lips_lower_outer")]), 0.008)
    lower_lip = gaussian(v, parts.points("lips_lower_outer"), 0.007) * (jaw_weight > 0.5)
    upper_lip = gaussian(v, parts.points("lips_upper_outer"), 0.007) * (jaw_weight < 0.5)
    shapes["mouthClose"] = -jaw_open * gaussian(v, parts.points("lips_lower_inner"), 0.012)[:, None]
    centre_x = np.array([1.0, 0.0, 0.0]) * v
    opening = (lower_lip[:, None] * [0, -0.003, 0] + upper_lip[:, None] * [0, 0.002, 0])
    shapes["mouthFunnel"] = lips[:, None] * (-0.25 * centre_x + [0, 0, 0.004]) + opening
    shapes["mouthPucker"] = lips[:, None] * (-0.4 * centre_x + [0, 0, 0.008]) \
        + upper_lip[:, None] * [0, -0.001, 0] + lower_lip[:, None] * [0, 0.001, 0]
    shapes["mouthRollLower"] = lower_lip[:, None] * [0, 0.002, -0.004]
    shapes["mouthRollUpper"] = upper_lip[:, None] * [0, -0.002, -0.004]
    chin = gaussian(v, parts.points("chin"), 0.015)
    shapes["mouthShrugLower"] = (lower_lip + 0.6 * chin)[:, None] * [0, 0.003, 0.001]
    shapes["mouthShrugUpper"] = upper_lip[:, None] * [0, 0.002, 0.001]
    for name, sign in (("Left", 1.0), ("Right", -1.0)):
        low = name.lower()
        corner = gaussian(v, parts.points(f"mouth_corner_{low}"), 0.018) * side(v, sign)
        cheek = gaussian(v, parts.points(f"cheek_{low}"), 0.02)
        half = side(v, sign, 0.012)
        shapes[f"mouthSmile{name}"] = corner[:, None] * [sign * 0.006, 0.008, -0.003] \
            + cheek[:, None] * [0, 0.003, 0.001]
        shapes[f"mouthFrown{name}"] = corner[:, None] * [sign * 0.002, -0.007, -0.001]
        shapes[f"mouthStretch{name}"] = corner[:, None] * [sign * 0.006, -0.003, -0.002]
        shapes[f"mouthDimple{name}"] = corner[:, None] * [sign * 0.003, 0.0, -0.003]
        shapes[f"mouthPress{name}"] = (half * upper_lip)[:, None] * [0, -0.001, 0] \
            + (half * lower_lip)[:, None] * [0, 0.0015, 0]
        shapes[f"mouthLowerDown{name}"] = (half * lower_lip)[:, None] * [0, -0.004, 0.0005]
        shapes[f"mouthUpperUp{name}"] = (half * upper_lip)[:, None] * [0, 0.004, 0.0005]
        shapes[f"mouth{name}"] = (lips + 0.5 * chin)[:, None] * [sign * 0.006, 0, 0]
        shapes[f"jaw{name}"] = jaw_weight[:, None] * [sign * 0.006, 0, 0]
        shapes[f"cheekSquint{name}"] = cheek[:, None] * [0, 0.003, 0.001]
        wing = gaussian(v, parts.points(f"nose_{low}_wing"), 0.008)
        shapes[f"noseSneer{name}"] = wing[:, None] * [0, 0.003, 0.001]
        brow = gaussian(v, parts.points(f"brow_{low}"), 0.012)
        shapes[f"browDown{name}"] = brow[:, None] * [-sign * 0.001, -0.004, 0]
        outer = gaussian(v, parts.points(f"brow_{low}_outer"), 0.012)
        shapes[f"browOuterUp{name}"] = outer[:, None] * [0, 0.005, 0]
        blink, lower_lid, upper_lid = _eyelids(parts, low)
        shapes[f"eyeBlink{name}"] = blink
        shapes[f"eyeSquint{name}"] = lower_lid[:, None] * [0, 0.0015, 0] \
            + upper_lid[:, None] * [0, -0.001, 0] + cheek[:, None] * [0, 0.001, 0]
        shapes[f"eyeWide{name}"] = upper_lid[:, None] * [0, 0.002, 0.0005]
    inner_brows = np.vstack([parts.points("brow_left_inner"), parts.points("brow_right_inner")])
    shapes["browInnerUp"] = gaussian(v, inner_brows, 0.012)[:, None] * [0, 0.006, 0]
    puff = gaussian(v, np.vstack([parts.points("cheek_left"), parts.points("cheek_right")]), 0.02)
    shapes["cheekPuff"] = puff[:, None] * (np.sign(v[:, :1]) * [0.005, 0, 0] + [0, 0, 0.003])
    return {name: _follow_rim(parts, delta) for name, delta in shapes.items()}


def _jaw_weight(parts: MeshParts) -> np.ndarray:
    """1 on the jaw (lower lip, chin, jaw line), 0 above the mouth, blended on the cheeks."""
    v = parts.v
    mouth_y = parts.mouth_line_y()
    band = 0.002 + 0.03 * smoothstep((np.abs(v[:, 0]) - 0.025) / 0.03)
    weight = smoothstep(0.5 - (v[:, 1] - mouth_y) / band)
    weight[list(GROUPS["lips_lower_inner"][1:-1]) + list(GROUPS["lips_lower_outer"][1:-1])] = 1.0
    weight[list(GROUPS["lips_upper_inner"]) + list(GROUPS["lips_upper_outer"])] = 0.0
    return weight


def _jaw_rotation(v: np.ndarray, weight: np.ndarray, angle_rad: float) -> np.ndarray:
    """Displacement of rotating about the jaw's hinge (in front of the ears) by ``angle_rad``."""
    pivot = np.array([0.0, -0.025, -0.075])
    rotated = (v - pivot) @ rotation_x(angle_rad).T + pivot
    return weight[:, None] * (rotated - v)


def _eyelids(parts: MeshParts, low: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blink (upper lid margin onto the lower), and the lids' weights for squint and wide."""
    v = parts.v
    upper = np.array(GROUPS[f"eye_{low}_upper"])
    lower = np.array(GROUPS[f"eye_{low}_lower"])
    upper_x = np.sort(v[upper, 0])
    upper_y = v[upper[np.argsort(v[upper, 0])], 1]
    lower_y = np.interp(upper_x, np.sort(v[lower, 0]), v[lower[np.argsort(v[lower, 0])], 1])
    gap = np.interp(v[:, 0], upper_x, lower_y - upper_y, left=0.0, right=0.0)  # <= 0
    margin_y = np.interp(v[:, 0], upper_x, upper_y)
    above = (v[:, 1] >= margin_y - 1e-6) & parts.face
    above[lower[1:-1]] = False
    upper_lid = gaussian(v, v[upper[1:-1]], 0.005) * above
    lower_lid = gaussian(v, v[lower[1:-1]], 0.004) * parts.face
    lower_lid[upper] = 0.0
    blink = np.zeros_like(v)
    blink[:, 1] = upper_lid * gap + lower_lid * 0.0008
    blink[upper[1:-1], 1] = gap[upper[1:-1]] + 0.0008
    blink[:, 2] = upper_lid * 0.0015  # the closed lid bulges over the eyeball
    return blink, lower_lid, upper_lid


def _follow_rim(parts: MeshParts, delta: np.ndarray) -> np.ndarray:
    """The mouth's pocket moves with the lips it hangs from."""
    delta = delta.copy()
    for pocket_vertex, rim_vertex in parts.pocket_rim.items():
        delta[pocket_vertex] = 0.8 * delta[rim_vertex]
    return delta
