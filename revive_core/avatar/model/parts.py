"""The built-in head's separate parts: eyeballs, teeth, mouth interior, tongue and ears.

Each function returns a ``Part``: vertices (metres, +Y up, face toward +Z), polygons (quads
where the shape allows, triangles at poles), per-vertex UVs in the part's own 0..1 square (packed
into the atlas by ``builtin.py``) and per-vertex region names. Sizes are adult means: eyeball
radius 12 mm with a 2 mm corneal bulge over an 11.5 mm iris and a 3.5 mm pupil; teeth crowns
about 9 mm tall on an arch 5 cm across at the molars; ears 62 mm tall and 34 mm wide, set
20 degrees out from the head.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Part", "eyeball", "eyeball_centre", "teeth_row", "mouth_bag", "tongue", "ear",
           "EYE_RADIUS_M", "IRIS_DEG", "PUPIL_DEG"]

EYE_RADIUS_M = 0.012
CORNEA_BULGE_M = 0.0018
IRIS_DEG, PUPIL_DEG = 29.0, 8.5
LID_CLEARANCE_M = 0.0015  # skin thickness between the lids and the eyeball


@dataclass
class Part:
    vertices: np.ndarray  # (N, 3)
    polygons: list[tuple[int, ...]]
    uvs: np.ndarray  # (N, 2) in the part's own unit square
    regions: list[str]  # (N,) region name per vertex
    anchors: dict[str, np.ndarray] = field(default_factory=dict)  # named points (e.g. landmarks)


def _grid_polygons(rows: int, columns: int, *, wrap: bool, offset: int = 0) -> list[tuple[int, ...]]:
    """Quads of a rows x columns vertex grid (row-major), wrapping around the columns if asked."""
    quads = []
    last = columns if wrap else columns - 1
    for r in range(rows - 1):
        for c in range(last):
            c2 = (c + 1) % columns
            quads.append((offset + r * columns + c, offset + (r + 1) * columns + c,
                          offset + (r + 1) * columns + c2, offset + r * columns + c2))
    return quads


def eyeball_centre(lid_loop: np.ndarray, nearby_skin: np.ndarray) -> np.ndarray:
    """Centre (3,) of an eyeball behind an eye opening, as far forward as the lids allow.

    The opening's centre in x and y; in depth, the most forward position that keeps every
    nearby skin point (the lids) at least the eyeball radius plus skin thickness away.
    """
    centre = lid_loop.mean(0)
    reach = EYE_RADIUS_M + LID_CLEARANCE_M
    planar = np.hypot(nearby_skin[:, 0] - centre[0], nearby_skin[:, 1] - centre[1])
    close = planar < reach
    z = np.min(nearby_skin[close, 2] - np.sqrt(reach**2 - planar[close] ** 2))
    return np.array([centre[0], centre[1], z])


def eyeball(centre: np.ndarray, side: str) -> Part:
    """A UV sphere looking toward +Z with a corneal bulge; sclera, iris and pupil regions.

    Anchors: ``iris`` (5, 3): centre, then the iris edge at +X, top, -X and bottom, the order
    of mediapipe's iris landmarks.
    """
    angles = np.concatenate([np.arange(4.0, 28.1, 4.0), [IRIS_DEG], np.arange(36.0, 176.1, 10.0)])
    columns = 24
    azimuth = 2 * np.pi * np.arange(columns) / columns
    a = np.radians(angles)[:, None]
    radius = EYE_RADIUS_M + CORNEA_BULGE_M * np.clip(1 - (np.degrees(a) / IRIS_DEG) ** 2, 0, 1)
    ring = np.stack([radius * np.sin(a) * np.cos(azimuth), radius * np.sin(a) * np.sin(azimuth),
                     radius * np.cos(a) * np.ones_like(azimuth)], -1).reshape(-1, 3)
    front = np.array([[0.0, 0.0, EYE_RADIUS_M + CORNEA_BULGE_M]])
    back = np.array([[0.0, 0.0, -EYE_RADIUS_M]])
    vertices = centre + np.vstack([front, ring, back])
    n = len(vertices)
    polygons = [(0, 1 + c, 1 + (c + 1) % columns) for c in range(columns)]
    polygons += _grid_polygons(len(angles), columns, wrap=True, offset=1)
    last = 1 + (len(angles) - 1) * columns
    polygons += [(last + c, n - 1, last + (c + 1) % columns) for c in range(columns)]
    polar = np.concatenate([[0.0], np.repeat(angles, columns), [180.0]])
    regions = [f"eye_pupil_{side}" if p < PUPIL_DEG else f"eye_iris_{side}" if p <= IRIS_DEG + 0.1
               else f"eye_sclera_{side}" for p in polar]
    # A polar UV disc: the pupil at the centre, the back of the eye at the rim.
    az = np.concatenate([[0.0], np.tile(azimuth, len(angles)), [0.0]])
    uvs = 0.5 + 0.5 * (polar / 180.0)[:, None] * np.stack([np.cos(az), np.sin(az)], 1)
    iris_edge = EYE_RADIUS_M * np.sin(np.radians(IRIS_DEG))
    iris_z = EYE_RADIUS_M * np.cos(np.radians(IRIS_DEG))
    anchors = centre + np.array([[0, 0, EYE_RADIUS_M + CORNEA_BULGE_M], [iris_edge, 0, iris_z],
                                 [0, iris_edge, iris_z], [-iris_edge, 0, iris_z],
                                 [0, -iris_edge, iris_z]])
    return Part(vertices, polygons, uvs, regions, {"iris": anchors, "centre": centre[None]})


def teeth_row(front_z: float, edge_y: float, *, upper: bool, half_width: float = 0.024,
              depth: float = 0.034, segments: int = 16) -> Part:
    """One arch of teeth: a rounded band of crowns along a parabola, biting edge at ``edge_y``."""
    x = half_width * np.sin(np.linspace(-np.pi / 2, np.pi / 2, segments + 1))
    z = front_z - depth * (x / half_width) ** 2
    tangent = np.stack([np.gradient(x), np.gradient(z)], 1)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    normal *= np.sign(normal[segments // 2, 1])  # outward = toward the lips (+Z) at the front
    height, thickness = 0.0095, 0.0065
    sign = 1.0 if upper else -1.0
    # Cross-section, outside to inside: labial face, biting edge (two points), lingual face.
    section = [(0.0, 1.0), (0.0, 0.12), (0.5, 0.0), (1.0, 0.12), (1.0, 1.0)]
    vertices = []
    for inward, along_height in section:
        offset = -normal * thickness * inward
        y = edge_y + sign * height * along_height
        vertices.append(np.column_stack([x + offset[:, 0], np.full_like(x, y), z + offset[:, 1]]))
    vertices = np.stack(vertices).reshape(-1, 3)
    polygons = _grid_polygons(len(section), segments + 1, wrap=False)
    if not upper:
        polygons = [p[::-1] for p in polygons]
    u = np.tile(np.linspace(0, 1, segments + 1), len(section))
    v = np.repeat(np.linspace(0, 1, len(section)), segments + 1)
    return Part(vertices, polygons, np.stack([u, v], 1), ["teeth"] * len(vertices))


def mouth_bag(rim: np.ndarray, upper: np.ndarray, mouth_y: float) -> Part:
    """The mouth's inside: rings growing back from the inner lip loop into a closed cavity.

    ``rim`` (R, 3) is the lips' inner loop; ``upper`` (R,) marks its upper-lip points. The
    rim itself is not repeated: polygon index -k-1 stands for rim point k.
    """
    centre_x = rim[:, 0].mean()
    front_z = rim[:, 2].max()
    half = np.abs(rim[:, 0] - centre_x).max()
    # Ring: (width scale, half height m, depth behind the lips m)
    rings = [(1.05, 0.003, 0.005), (1.25, 0.011, 0.013), (1.35, 0.016, 0.027),
             (1.2, 0.015, 0.042), (0.8, 0.010, 0.052)]
    side = np.where(upper, 1.0, -1.0)
    side[np.abs(rim[:, 0] - centre_x) > 0.98 * half] = 0.0  # the corners
    vertices = []
    for width, height, back in rings:
        x = centre_x + (rim[:, 0] - centre_x) * width
        profile = np.sqrt(np.clip(1 - ((rim[:, 0] - centre_x) / half) ** 2, 0, 1))
        y = mouth_y + side * height * profile
        z = np.minimum(rim[:, 2], front_z) - back
        vertices.append(np.column_stack([x, y, z]))
    vertices = np.vstack(vertices + [[[centre_x, mouth_y, front_z - 0.056]]])
    count = len(rim)
    polygons = []
    for k in range(count):  # rim to the first ring; rim indices are negative
        k2 = (k + 1) % count
        polygons.append((-k - 1, k, k2, -k2 - 1))
    polygons += _grid_polygons(len(rings), count, wrap=True)
    last = (len(rings) - 1) * count
    polygons += [(last + k, len(vertices) - 1, last + (k + 1) % count) for k in range(count)]
    angle = np.arctan2(side, (rim[:, 0] - centre_x) / half)
    disc = np.stack([np.cos(angle), np.sin(angle)], 1)
    uvs = np.vstack([0.5 + 0.5 * disc * (1 - (i + 1) / (len(rings) + 1)) for i in range(len(rings))]
                    + [[[0.5, 0.5]]])
    return Part(vertices, polygons, uvs, ["mouth_interior"] * len(vertices))


def tongue(tip: np.ndarray) -> Part:
    """A flattened half-ellipsoid lying on the mouth's floor, its tip at ``tip`` (3,)."""
    rows, columns = 7, 16
    radii = np.array([0.021, 0.007, 0.030])
    centre = tip - [0.0, 0.0, radii[2]]
    polar = np.linspace(0.0, np.pi / 2, rows + 1)[1:]  # from the top centre down to the floor
    azimuth = 2 * np.pi * np.arange(columns) / columns
    p, a = np.meshgrid(polar, azimuth, indexing="ij")
    ring = np.stack([radii[0] * np.sin(p) * np.sin(a), radii[1] * np.cos(p),
                     radii[2] * np.sin(p) * np.cos(a)], -1).reshape(-1, 3)
    vertices = centre + np.vstack([[[0.0, radii[1], 0.0]], ring, [[0.0, -0.001, 0.0]]])
    n = len(vertices)
    polygons = [(0, 1 + (c + 1) % columns, 1 + c) for c in range(columns)]
    polygons += [q[::-1] for q in _grid_polygons(rows, columns, wrap=True, offset=1)]
    last = 1 + (rows - 1) * columns
    polygons += [(last + c, last + (c + 1) % columns, n - 1) for c in range(columns)]
    uvs = np.vstack([[0.5, 0.5], 0.5 + 0.5 * (p.reshape(-1, 1) / (np.pi / 2)) * np.stack(
        [np.cos(a.reshape(-1)), np.sin(a.reshape(-1))], 1), [0.5, 0.5]])
    return Part(vertices, polygons, uvs, ["tongue"] * n)


def ear(attachment: np.ndarray, side: float) -> Part:
    """An outer ear: helix rim, concha bowl and lobe, hinged at its front edge on the head.

    ``attachment`` (3,) is the front of the ear's root (near the tragus); ``side`` is +1 for
    the subject's left ear (+X), -1 for the right. The shell is open along the root, which sits
    inside the head.
    """
    rows, columns = 7, 20
    height, width = 0.062, 0.034
    rho = np.linspace(0.0, 1.0, rows)[1:]  # 0 = the concha's centre, 1 = the rim
    gamma = np.linspace(0.0, 2 * np.pi, columns, endpoint=False)  # 0 = up, turning backward
    r, g = np.meshgrid(rho, gamma, indexing="ij")
    # Outline: taller than wide, the lobe narrower, drawn in the ear's plane (back, up).
    back = 0.5 * width * r * np.sin(g) * (1 - 0.25 * (np.cos(g) < 0) * -np.cos(g))
    up = 0.5 * height * r * np.cos(g)
    helix = 0.0045 * np.exp(-((r - 0.9) / 0.08) ** 2) * (np.cos(g) > -0.55)
    concha = -0.006 * np.exp(-(r / 0.45) ** 2) * (1 - 0.5 * np.cos(g))
    lateral = helix + concha + 0.002 * r
    front = np.stack([back, up, lateral], -1).reshape(-1, 3)
    # The back surface: the same rings from the rim inward, a little smaller, toward the head.
    behind = np.stack([back[::-1] * 0.92, up[::-1] * 0.92,
                       -0.003 - 0.004 * (1 - r[::-1])], -1).reshape(-1, 3)
    local = np.vstack([[[0.0, 0.0, -0.004]], front, behind, [[0.0, 0.0, -0.008]]])
    # Hinge at the root: the ear's front edge (most forward point) is the local origin.
    local[:, 0] += 0.5 * width
    # Into head space: the ear's plane tilts 20 degrees out from the head's side and leans back.
    flare, lean = np.radians(20.0), np.radians(12.0)
    lean_m = np.array([[1, 0, 0], [0, np.cos(lean), -np.sin(lean)], [0, np.sin(lean), np.cos(lean)]])
    # local (back, up, lateral) -> head (x = side * lateral, y = up, z = -back)
    basis = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [side, 0.0, 0.0]])
    flare_m = np.array([[np.cos(flare), 0, -side * np.sin(flare)], [0, 1, 0],
                        [side * np.sin(flare), 0, np.cos(flare)]])  # the back edge swings out
    vertices = attachment + ((local @ lean_m.T) @ basis) @ flare_m.T + [0.0, -0.004, -0.004]
    rings = 2 * (rows - 1)  # front rings outward, then back rings inward: one closed strip
    last = len(local) - 1
    polygons = [(0, 1 + c, 1 + (c + 1) % columns) for c in range(columns)]
    polygons += _grid_polygons(rings, columns, wrap=True, offset=1)
    end_ring = 1 + (rings - 1) * columns
    polygons += [(end_ring + c, last, end_ring + (c + 1) % columns) for c in range(columns)]
    if side < 0:
        polygons = [p[::-1] for p in polygons]
    uv_front = 0.25 + 0.25 * np.stack([back.reshape(-1) / (0.5 * width), up.reshape(-1) / (0.5 * height)], 1)
    uv_back = 0.25 + 0.25 * np.stack([back[::-1].reshape(-1) / (0.5 * width),
                                       up[::-1].reshape(-1) / (0.5 * height)], 1)
    uvs = np.vstack([[0.25, 0.25], uv_front, uv_back + [0.5, 0.0], [0.75, 0.25]])
    uvs = np.clip(uvs, 0.0, 1.0)
    return Part(vertices, polygons, uvs, ["ears"] * len(vertices))
