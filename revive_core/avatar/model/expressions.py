"""All 52 ARKit expression shapes of the built-in head, computed from its neutral mesh.

Each shape is a smooth, local displacement at full activation (weight 1), sized from published
ranges of facial motion (jaw opening about 20 degrees, lip corner travel about 1 cm, gaze about
20 degrees up, 25 down and 25 sideways). How the parts move:

- skin shapes act on the face and its shell only; the eyeballs, upper teeth and ears never move
  with them;
- the jaw (jawOpen, jawForward, jawLeft/Right, mouthClose) carries the lower teeth and tongue
  rigidly and the floor of the mouth's inside with it;
- the mouth's inside follows the lips it hangs from, less and less toward the back;
- eyelids turn about the eyeball's centre, so they keep their distance from it: a blink brings
  the upper lid's margin down onto the lower lid's along the eyeball, never through it;
- eyeLook shapes turn the eyeballs (the upper lid follows vertical gaze a little);
- tongueOut slides the tongue forward past the teeth, with the jaw dropped a little (40% of
  jawOpen) to let it through.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from revive_core.avatar.model.fields import gaussian, rotation_x, side, smoothstep
from revive_core.avatar.model.topology import GROUPS

if TYPE_CHECKING:
    from revive_core.avatar.model.builtin import HeadParts

__all__ = ["expression_shapes", "JAW_PIVOT", "JAW_OPEN_DEG"]

JAW_PIVOT = np.array([0.0, -0.025, -0.075])  # in front of the ears
JAW_OPEN_DEG = 20.0
GAZE_DEG = {"Up": 20.0, "Down": 25.0, "In": 25.0, "Out": 25.0}


def expression_shapes(head: "HeadParts") -> dict[str, np.ndarray]:
    """Every ARKit shape: name -> (V, 3) displacement in metres."""
    v = head.vertices
    skin = head.region("face") | head.region("scalp") | head.region("neck")
    jaw = _jaw_weight(head)
    shapes: dict[str, np.ndarray] = {}
    jaw_open = _rotation_about(v, JAW_PIVOT, rotation_x(np.radians(JAW_OPEN_DEG)))
    shapes["jawOpen"] = jaw[:, None] * jaw_open
    shapes["jawForward"] = jaw[:, None] * np.array([0.0, 0.0, 0.006])
    lips = gaussian(v, np.vstack([head.points("lips_upper_outer"),
                                  head.points("lips_lower_outer")]), 0.008) * skin
    lower_lip = gaussian(v, head.points("lips_lower_outer"), 0.007) * (jaw > 0.5) * skin
    upper_lip = gaussian(v, head.points("lips_upper_outer"), 0.007) * (jaw < 0.5) * skin
    shapes["mouthClose"] = -shapes["jawOpen"] * gaussian(
        v, head.points("lips_lower_inner"), 0.012)[:, None] * skin[:, None]
    centre_x = np.array([1.0, 0.0, 0.0]) * v
    opening = (lower_lip[:, None] * [0, -0.003, 0] + upper_lip[:, None] * [0, 0.002, 0])
    shapes["mouthFunnel"] = lips[:, None] * (-0.25 * centre_x + [0, 0, 0.004]) + opening
    shapes["mouthPucker"] = lips[:, None] * (-0.4 * centre_x + [0, 0, 0.008]) \
        + upper_lip[:, None] * [0, -0.001, 0] + lower_lip[:, None] * [0, 0.001, 0]
    shapes["mouthRollLower"] = lower_lip[:, None] * [0, 0.002, -0.004]
    shapes["mouthRollUpper"] = upper_lip[:, None] * [0, -0.002, -0.004]
    chin = gaussian(v, head.points("chin"), 0.015) * skin
    shapes["mouthShrugLower"] = (lower_lip + 0.6 * chin)[:, None] * [0, 0.003, 0.001]
    shapes["mouthShrugUpper"] = upper_lip[:, None] * [0, 0.002, 0.001]
    for name, sign in (("Left", 1.0), ("Right", -1.0)):
        low = name.lower()
        corner = gaussian(v, head.points(f"mouth_corner_{low}"), 0.018) * side(v, sign) * skin
        cheek = gaussian(v, head.points(f"cheek_{low}"), 0.02) * skin
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
        shapes[f"jaw{name}"] = jaw[:, None] * [sign * 0.006, 0, 0]
        shapes[f"cheekSquint{name}"] = cheek[:, None] * [0, 0.003, 0.001]
        wing = gaussian(v, head.points(f"nose_{low}_wing"), 0.008) * skin
        shapes[f"noseSneer{name}"] = wing[:, None] * [0, 0.003, 0.001]
        brow = gaussian(v, head.points(f"brow_{low}"), 0.012) * skin
        shapes[f"browDown{name}"] = brow[:, None] * [-sign * 0.001, -0.004, 0]
        outer = gaussian(v, head.points(f"brow_{low}_outer"), 0.012) * skin
        shapes[f"browOuterUp{name}"] = outer[:, None] * [0, 0.005, 0]
        lids = _Lids(head, low)
        shapes[f"eyeBlink{name}"] = lids.turn(upper=1.0, lower=0.12)
        shapes[f"eyeSquint{name}"] = lids.turn(upper=0.12, lower=0.3)
        shapes[f"eyeWide{name}"] = lids.turn(upper=-0.35, lower=-0.05)
        for direction, degrees in GAZE_DEG.items():
            shapes[f"eyeLook{direction}{name}"] = _gaze(head, low, sign, direction, degrees, lids)
    inner_brows = np.vstack([head.points("brow_left_inner"), head.points("brow_right_inner")])
    shapes["browInnerUp"] = (gaussian(v, inner_brows, 0.012) * skin)[:, None] * [0, 0.006, 0]
    puff = gaussian(v, np.vstack([head.points("cheek_left"), head.points("cheek_right")]), 0.02) * skin
    shapes["cheekPuff"] = puff[:, None] * (np.sign(v[:, :1]) * [0.005, 0, 0] + [0, 0, 0.003])
    shapes = {name: _carry_parts(head, delta) for name, delta in shapes.items()}
    shapes["tongueOut"] = _tongue_out(head, shapes["jawOpen"])
    return shapes


def _rotation_about(v: np.ndarray, pivot: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Displacement (V, 3) of rotating every vertex about ``pivot``."""
    return (v - pivot) @ rotation.T + pivot - v


def _jaw_weight(head: "HeadParts") -> np.ndarray:
    """1 on the jaw (lower lip, chin, jaw line, lower teeth, tongue), 0 above the mouth."""
    v = head.vertices
    mouth_y = head.mouth_line_y()
    band = 0.002 + 0.03 * smoothstep((np.abs(v[:, 0]) - 0.025) / 0.03)
    weight = smoothstep(0.5 - (v[:, 1] - mouth_y) / band)
    face = head.region("face")
    weight[list(GROUPS["lips_lower_inner"][1:-1]) + list(GROUPS["lips_lower_outer"][1:-1])] = 1.0
    weight[list(GROUPS["lips_upper_inner"]) + list(GROUPS["lips_upper_outer"])] = 0.0
    # The shell under the chin follows the jaw, fading toward the ears and down the neck.
    shell = head.region("scalp") | head.region("neck")
    under = smoothstep((mouth_y - 0.01 - v[:, 1]) / 0.03) * smoothstep((v[:, 2] + 0.08) / 0.05) \
        * (1 - smoothstep((-0.13 - v[:, 1]) / 0.04))
    weight = np.where(face, weight, np.where(shell, under, 0.0))
    for part in ("teeth_lower", "tongue"):
        weight[head.parts[part]] = 1.0
    return weight


class _Lids:
    """One eye's lids, turning about the eyeball's centre (so they never reach into it)."""

    def __init__(self, head: "HeadParts", low: str) -> None:
        self.v = head.vertices
        self.centre = head.eye_centres[low]
        upper = np.array(GROUPS[f"eye_{low}_upper"])
        lower = np.array(GROUPS[f"eye_{low}_lower"])
        face = head.region("face")
        angle = self.elevation(self.v)
        # Angle of each lid's margin across the eye, by x.
        ux = self.v[upper, 0]
        order = np.argsort(ux)
        self.upper_x, self.upper_angle = ux[order], angle[upper][order]
        lx = self.v[lower, 0]
        order = np.argsort(lx)
        self.lower_angle_at = np.interp(self.upper_x, lx[order], angle[lower][order])
        margin = np.interp(self.v[:, 0], self.upper_x, self.upper_angle)
        near = np.linalg.norm(self.v[:, :2] - self.centre[:2], axis=1) < 0.03
        above = face & near & (angle >= margin - 1e-6)
        above[lower[1:-1]] = False
        self.upper_weight = gaussian(self.v, self.v[upper[1:-1]], 0.006) * above
        self.upper_weight[upper[1:-1]] = 1.0
        self.lower_weight = gaussian(self.v, self.v[lower[1:-1]], 0.004) * face * near * ~above
        self.lower_weight[upper] = 0.0
        # The gap each column must close: upper margin angle minus lower margin angle.
        self.gap = np.interp(self.v[:, 0], self.upper_x, self.upper_angle - self.lower_angle_at,
                             left=0.0, right=0.0)

    def elevation(self, points: np.ndarray) -> np.ndarray:
        """Angle (N,) of points about the eyeball centre's x axis, 0 straight ahead, + upward."""
        d = points - self.centre
        return np.arctan2(d[:, 1], d[:, 2])

    def turn(self, *, upper: float, lower: float) -> np.ndarray:
        """Displacement closing the upper lid by ``upper`` and raising the lower by ``lower``,
        as fractions of the opening (negative opens)."""
        # With upper = 1 the upper margin lands exactly on the risen lower margin.
        turn = (-self.upper_weight * upper * (1.0 - lower) + self.lower_weight * lower) * self.gap
        return _turn_about_x(self.v, self.centre, turn)


def _turn_about_x(v: np.ndarray, centre: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Displacement of each vertex turned by its own ``angle`` (V,) about the x axis through
    ``centre`` (positive turns +Z toward +Y)."""
    d = v - centre
    c, s = np.cos(angle), np.sin(angle)
    y = d[:, 1] * c + d[:, 2] * s
    z = -d[:, 1] * s + d[:, 2] * c
    out = np.zeros_like(v)
    out[:, 1] = y - d[:, 1]
    out[:, 2] = z - d[:, 2]
    return out


def _gaze(head: "HeadParts", low: str, sign: float, direction: str, degrees: float,
          lids: _Lids) -> np.ndarray:
    """The eyeball turned toward ``direction`` (In = toward the nose), the upper lid following
    vertical gaze by half."""
    v = head.vertices
    eye = head.parts[f"eye_{low}"]
    centre = head.eye_centres[low]
    a = np.radians(degrees)
    if direction in ("Up", "Down"):
        turn = a if direction == "Up" else -a
        delta = _turn_about_x(v, centre, np.where(np.isin(np.arange(len(v)), eye), turn, 0.0))
        delta += _turn_about_x(v, centre, 0.5 * turn * lids.upper_weight)
        return delta
    # Sideways: Out turns the front toward the subject's own side (+X for the left eye).
    turn = sign * a if direction == "Out" else -sign * a
    c, s = np.cos(turn), np.sin(turn)
    rotation = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    delta = np.zeros_like(v)
    delta[eye] = _rotation_about(v[eye], centre, rotation)
    return delta


def _carry_parts(head: "HeadParts", delta: np.ndarray) -> np.ndarray:
    """Attach the parts to a skin shape: the jaw's parts move with the jaw, the mouth's inside
    with the lips, and nothing else (eyeballs, upper teeth, ears) unless set by the shape."""
    delta = delta.copy()
    if head.bag_rim is None:
        return delta
    bag = head.parts["mouth_bag"]
    count = len(head.bag_rim)
    rings = (len(bag) - 1) // count
    rim_delta = delta[head.bag_rim]
    jaw_part = delta[head.parts["teeth_lower"]].mean(0)
    lower = head.vertices[bag, 1] < head.mouth_line_y() - 1e-4
    for ring in range(rings):
        ids = bag[ring * count:(ring + 1) * count]
        fade = 1.0 - (ring + 1) / (rings + 1)
        target = np.where(lower[ring * count:(ring + 1) * count, None], jaw_part, 0.0)
        delta[ids] = fade * rim_delta + (1 - fade) * target
    delta[bag[-1]] = jaw_part * 0.5
    return delta


def _tongue_out(head: "HeadParts", jaw_open: np.ndarray) -> np.ndarray:
    delta = 0.4 * jaw_open
    tongue = head.parts["tongue"]
    v = head.vertices[tongue]
    back = v[:, 2].min()
    stretch = (v[:, 2] - back) / np.ptp(v[:, 2])
    # Over the lower incisors and onto the lower lip: forward, the tip lifted clear.
    delta[tongue] += np.column_stack([np.zeros(len(v)), 0.003 + 0.003 * stretch,
                                      0.022 + 0.014 * stretch])
    return delta
