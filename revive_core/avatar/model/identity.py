"""Identity components of the built-in head: smooth, symmetric ways in which heads differ.

Each component is one standard deviation of an adult measurement, sized from published
anthropometric norms (Farkas, "Anthropometry of the Head and Face", 2nd ed., 1994, adult means
and standard deviations, rounded; ears from the same tables). A displacement of half the sd on
each side gives one sd in a bilateral distance. The standard deviations used:

    face:  width zy-zy 6 mm, height n-gn 7 mm, lower face sn-gn 5 mm, depth 4 mm,
           mandible width go-go 6 mm, jaw angle 4 mm, cheekbones 3 mm, cheek fullness 3 mm,
           cheek hollows 2 mm, forehead height 6 mm, forehead slope 3 mm, brow ridge 2 mm,
           brow height 3 mm, chin height 4 mm, chin projection 3 mm, face taper 4 mm
    nose:  width al-al 3 mm, height n-sn 4 mm, projection 2.5 mm, bridge 2 mm,
           tip rotation 2 mm
    eyes:  intercanthal en-en 3 mm, eye height 1.5 mm, canthal tilt 1.5 mm
    mouth: width ch-ch 4 mm, upper and lower vermilion 1.5 mm, lip protrusion 2 mm
    head:  breadth eu-eu 6 mm, length g-op 7 mm, height v-n 6 mm, occiput 4 mm, neck width 5 mm
    ears:  length 4 mm, protrusion 5 degrees, height 4 mm

Rigid parts go along: each eyeball with its eye opening, the upper teeth with the upper lip,
the lower teeth and tongue with the chin, each ear with the side of the head it sits on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from revive_core.avatar.model.fields import gaussian, smoothstep

if TYPE_CHECKING:
    from revive_core.avatar.model.builtin import HeadParts

__all__ = ["identity_components"]


def identity_components(head: "HeadParts") -> dict[str, np.ndarray]:
    """Component name -> (V, 3) displacement of one standard deviation, metres."""
    v = head.vertices
    face = head.region("face")
    shell = head.region("scalp") | head.region("neck")
    skin = face | shell
    fv = v[face]  # the face's own extent sizes the whole-face components
    width = float(np.abs(fv[:, 0]).max())
    top, bottom = float(fv[:, 1].max()), float(fv[:, 1].min())
    sx = np.sign(v[:, 0])
    mouth_y = head.mouth_line_y()
    lower = smoothstep((mouth_y + 0.01 - v[:, 1]) / 0.04) * skin
    nose = gaussian(v, head.points("nose_tip"), 0.014) * skin
    bridge = gaussian(v, v[[168, 6, 197]], 0.008) * skin
    chin = gaussian(v, head.points("chin"), 0.018) * skin
    # Lip heights move the vermilion's outer border; the line where the lips meet stays.
    seam = 1.0 - gaussian(v, np.vstack([head.points("lips_upper_inner"),
                                        head.points("lips_lower_inner")]), 0.0025)
    lips_upper = gaussian(v, head.points("lips_upper_outer"), 0.005) * skin * seam
    lips_lower = gaussian(v, head.points("lips_lower_outer"), 0.005) * skin * seam
    lips = gaussian(v, np.vstack([head.points("lips_upper_outer"),
                                  head.points("lips_lower_outer")]), 0.007) * skin
    corners = gaussian(v, np.vstack([head.points("mouth_corner_left"),
                                     head.points("mouth_corner_right")]), 0.012) * skin
    eye_groups = ("eye_left_upper", "eye_left_lower", "eye_right_upper", "eye_right_lower")
    eyes = gaussian(v, np.vstack([head.points(g) for g in eye_groups]), 0.01) * skin
    outer_corners = gaussian(v, v[[33, 263]], 0.008) * skin
    eye_centre_y = float(head.points("eye_left_upper")[:, 1].mean())
    brows = gaussian(v, np.vstack([head.points("brow_left"), head.points("brow_right")]), 0.012) * skin
    cheeks = gaussian(v, np.vstack([head.points("cheek_left"), head.points("cheek_right")]), 0.02) * skin
    hollows = gaussian(v, v[[205, 425]] - [0.0, 0.012, 0.0], 0.014) * skin
    jaw_angles = gaussian(v, v[[172, 397]], 0.02) * skin
    wings = gaussian(v, np.vstack([head.points("nose_left_wing"),
                                   head.points("nose_right_wing")]), 0.008) * skin
    front = smoothstep((v[:, 2] + 0.03) / 0.05) * skin  # the front of the head, fading back
    forehead = smoothstep((v[:, 1] - 0.02) / 0.03) * skin
    back = smoothstep((-0.07 - v[:, 2]) / 0.06) * shell
    cranium = smoothstep((v[:, 1] + 0.02) / 0.04) * skin * (1 - smoothstep((v[:, 2] + 0.01) / 0.04))
    occiput = gaussian(v, np.array([[0.0, 0.0, -0.16]]), 0.05) * skin
    neck = head.region("neck") * smoothstep((-0.09 - v[:, 1]) / 0.03)
    zero = np.zeros(len(v))

    def vec(x, y, z) -> np.ndarray:
        return np.stack([np.broadcast_to(a, (len(v),)) for a in (x, y, z)], axis=1).astype(float)

    components = {
        "face_width": vec(v[:, 0] / width * 0.003 * skin, zero, zero),
        "face_height": vec(zero, np.where(v[:, 1] > 0, v[:, 1] / top, -v[:, 1] / -bottom)
                           .clip(-1.5, 1.5) * 0.0035 * skin, zero),
        "face_depth": vec(zero, zero, np.clip((v[:, 2] + 0.06) / 0.1, 0, 1) * 0.004 * skin),
        "lower_face_height": vec(zero, -lower * 0.005, zero),
        "jaw_width": vec(lower * v[:, 0] / width * 0.003, zero, zero),
        "jaw_angle": vec(sx * jaw_angles * 0.002, -jaw_angles * 0.002, zero),
        "cheekbone_width": vec(sx * cheeks * 0.0015, zero, cheeks * 0.001),
        "cheek_fullness": vec(sx * cheeks * 0.0015, zero, cheeks * 0.003),
        "cheek_hollows": vec(zero, zero, -hollows * 0.002),
        "forehead_height": vec(zero, forehead * np.clip((v[:, 1] - 0.02) / max(top - 0.02, 1e-6), 0, 2)
                               * 0.006, zero),
        "forehead_slope": vec(zero, zero, -forehead * front * np.clip(v[:, 1] - 0.02, 0, None) * 0.1),
        "brow_ridge": vec(zero, zero, brows * 0.002),
        "brow_height": vec(zero, brows * 0.003, zero),
        "chin_height": vec(zero, -chin * 0.004, zero),
        "chin_projection": vec(zero, zero, chin * 0.003),
        "face_taper": vec(v[:, 0] / width * np.clip((v[:, 1] - bottom) / (top - bottom), 0, 1)
                          * 0.004 * skin, zero, zero),
        "nose_width": vec(sx * wings * 0.0015, zero, zero),
        "nose_height": vec(zero, -nose * 0.004, zero),
        "nose_projection": vec(zero, zero, nose * 0.0025),
        "nose_bridge": vec(zero, zero, bridge * 0.002),
        "nose_tip_rotation": vec(zero, gaussian(v, v[[1, 2]], 0.006) * skin * 0.002, zero),
        "eye_spacing": vec(sx * eyes * 0.0015, zero, zero),
        "eye_height": vec(zero, eyes * (v[:, 1] - eye_centre_y) * 0.2, zero),
        "canthal_tilt": vec(zero, outer_corners * 0.0015, zero),
        "mouth_width": vec(sx * corners * 0.002, zero, zero),
        "upper_lip_height": vec(zero, lips_upper * 0.0015, lips_upper * 0.0005),
        "lower_lip_height": vec(zero, -lips_lower * 0.0015, lips_lower * 0.0005),
        "lip_protrusion": vec(zero, zero, lips * 0.002),
        "head_breadth": vec(sx * cranium * np.abs(v[:, 0]) / 0.076 * 0.003, zero, zero),
        "head_length": vec(zero, zero, -back * 0.007),
        "head_height": vec(zero, cranium * smoothstep((v[:, 1] - 0.03) / 0.08) * 0.006, zero),
        "occiput": vec(zero, zero, -occiput * 0.004),
        "neck_width": vec(neck * v[:, 0] / 0.06 * 0.0025, zero, neck * (v[:, 2] + 0.06) / 0.056 * 0.002),
    }
    components = {name: _carry_rigid(head, delta) for name, delta in components.items()}
    components.update(_ear_components(head))
    return components


def _carry_rigid(head: "HeadParts", delta: np.ndarray) -> np.ndarray:
    """Rigid parts take the mean motion of the skin they sit in (ears: of the shell nearby);
    the lips' meeting line moves as one, so the lips never cross."""
    from revive_core.avatar.model.topology import GROUPS

    delta = delta.copy()
    v = head.vertices
    pairs = np.array([GROUPS["lips_upper_inner"], GROUPS["lips_lower_inner"]])
    delta[pairs] = delta[pairs].mean(0)
    anchors = {"eye_left": _eye_loop(head, "left"), "eye_right": _eye_loop(head, "right"),
               "teeth_upper": [0, 37, 267, 13, 82, 312],
               "teeth_lower": [17, 84, 314, 14, 87, 317], "tongue": [17, 84, 314, 14, 87, 317]}
    for part, ids in anchors.items():
        delta[head.parts[part]] = delta[ids].mean(0)
    shell = np.flatnonzero(head.region("scalp") | head.region("neck"))
    for side in ("left", "right"):
        near = shell[np.linalg.norm(v[shell] - head.ear_roots[side], axis=1) < 0.02]
        delta[head.parts[f"ear_{side}"]] = delta[near].mean(0)
    return delta


def _eye_loop(head: "HeadParts", low: str) -> list[int]:
    from revive_core.avatar.model.topology import GROUPS

    return list(GROUPS[f"eye_{low}_upper"]) + list(GROUPS[f"eye_{low}_lower"])


def _ear_components(head: "HeadParts") -> dict[str, np.ndarray]:
    """Ear length (scaled about the root), protrusion (turned about the root's vertical axis)
    and height (moved up), both ears alike."""
    v = head.vertices
    out = {name: np.zeros_like(v) for name in ("ear_length", "ear_protrusion", "ear_height")}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ids = head.parts[f"ear_{side}"]
        root = head.ear_roots[side]
        local = v[ids] - root
        out["ear_length"][ids] = local * (0.004 / 0.062)
        a = -np.radians(5.0) * sign
        turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        # Turning the ear's back edge outward about the root: the front stays, the back flares.
        out["ear_protrusion"][ids] = local @ turn.T - local
        out["ear_height"][ids] = [0.0, 0.004, 0.0]
    return out
