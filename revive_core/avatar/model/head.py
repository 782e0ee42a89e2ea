"""The built-in head's shell: scalp, back of the head, jaw underside and neck around the face.

A smooth proxy of the head (skull, jaw and neck ellipsoids joined by a smooth minimum, sized
from adult anthropometric means: head breadth eu-eu 15 cm, head length g-op 19 cm, vertex to
chin 23 cm, neck about 37 cm round) is sampled as a quad grid: rays from a point inside the
skull, in rings of polar angle from the crown down to the neck's cut. The grid cells in front
of the face are removed, and the hole's rim is bridged to the face mask's outline, then the
seam is relaxed so it does not show. Metres, +Y up, face toward +Z.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from revive_core.avatar.model.topology import boundary_loops

__all__ = ["Shell", "head_shell", "view_angles", "inside_polygon"]

CENTRE = np.array([0.0, 0.0, -0.058])  # rays start here, inside the skull
RINGS, SEGMENTS = 36, 48
POLAR_MAX_DEG = 164.0  # the neck's cut, measured from straight up
SKULL = (np.array([0.0, 0.028, -0.066]), np.array([0.076, 0.098, 0.097]))
JAW = (np.array([0.0, -0.066, -0.032]), np.array([0.060, 0.044, 0.052]))
NECK = (np.array([0.0, -0.16, -0.06]), np.array([0.059, 0.16, 0.056]))
BLEND_M = 0.022  # smooth-minimum radius joining skull, jaw and neck
HOLE_MARGIN = 1.04  # the face's angular outline grown by this much before cutting the grid
RELAX_ITERATIONS = 30
RIM_SPREAD_DEG, RIM_FADE_DEG = 10.0, 22.0  # how the shell bends to meet the face's rim


@dataclass
class Shell:
    vertices: np.ndarray  # (N, 3) the shell's own vertices (the face mask's are not repeated)
    polygons: list[tuple[int, ...]]  # quads and bridge triangles; indices < 0 mean face vertex -i-1
    uvs: np.ndarray  # (N, 2) equirectangular, before packing into the atlas
    rows: np.ndarray  # (N,) ring index of each vertex (0 = crown), -1 for bridge vertices


def _ellipsoid(p: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Approximate signed distance (N,) to an ellipsoid (exact on its surface, negative inside)."""
    return (np.linalg.norm((p - centre) / radii, axis=-1) - 1.0) * radii.min()


def proxy_distance(p: np.ndarray) -> np.ndarray:
    """Signed distance (N,) to the head proxy: skull, jaw and neck, smoothly joined."""
    d = np.stack([_ellipsoid(p, *SKULL), _ellipsoid(p, *JAW), _ellipsoid(p, *NECK)])
    k = BLEND_M
    # Polynomial smooth minimum, applied pairwise.
    out = d[0]
    for other in d[1:]:
        h = np.clip(0.5 + 0.5 * (other - out) / k, 0.0, 1.0)
        out = other * (1 - h) + out * h - k * h * (1 - h)
    return out


def _surface_along(directions: np.ndarray) -> np.ndarray:
    """Where rays from CENTRE along ``directions`` (N, 3) leave the proxy (N, 3), by bisection."""
    lo = np.zeros(len(directions))
    hi = np.full(len(directions), 0.4)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        inside = proxy_distance(CENTRE + directions * mid[:, None]) < 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return CENTRE + directions * (0.5 * (lo + hi))[:, None]


def _directions(polar: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    """Unit vectors: polar angle from +Y, azimuth around Y from +Z toward +X (radians)."""
    polar, azimuth = np.broadcast_arrays(polar, azimuth)
    return np.stack([np.sin(polar) * np.sin(azimuth), np.cos(polar),
                     np.sin(polar) * np.cos(azimuth)], axis=-1)


def _conforming(directions: np.ndarray, rim: np.ndarray) -> np.ndarray:
    """Proxy surface points along ``directions``, pushed in or out to meet the face's rim.

    The radial gap between each rim point and the proxy is spread smoothly over nearby
    directions (Gaussian in angle), fading to nothing a little way from the face.
    """
    surface = _surface_along(directions)
    rim_directions = (rim - CENTRE) / np.linalg.norm(rim - CENTRE, axis=1, keepdims=True)
    gap = np.linalg.norm(rim - CENTRE, axis=1) - np.linalg.norm(
        _surface_along(rim_directions) - CENTRE, axis=1)
    angle = np.arccos(np.clip(directions @ rim_directions.T, -1.0, 1.0))  # (N, rim)
    weights = np.exp(-0.5 * (angle / np.radians(RIM_SPREAD_DEG)) ** 2)
    nearest = angle.min(1)
    offset = (weights @ gap) / (weights.sum(1) + 1e-12) * np.exp(
        -0.5 * (nearest / np.radians(RIM_FADE_DEG)) ** 2)
    return surface + directions * offset[:, None]


def view_angles(points: np.ndarray) -> np.ndarray:
    """(N, 2) azimuth and elevation of points as seen from CENTRE, radians."""
    d = points - CENTRE
    return np.stack([np.arctan2(d[:, 0], d[:, 2]), np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2]))], 1)


def inside_polygon(points2d: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) which 2D points lie inside a 2D polygon (even-odd rule)."""
    x, y = points2d[:, 0, None], points2d[:, 1, None]
    a, b = polygon, np.roll(polygon, -1, axis=0)
    crosses = (a[:, 1] > y) != (b[:, 1] > y)
    at_x = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / np.where(b[:, 1] == a[:, 1], 1e-12,
                                                                    b[:, 1] - a[:, 1])
    return (crosses & (x < at_x)).sum(1) % 2 == 1


def head_shell(face_vertices: np.ndarray, outline: np.ndarray) -> Shell:
    """The shell around a face mask whose outline loop is ``outline`` (indices in the order of
    the mask's boundary edges)."""
    polar = np.radians(POLAR_MAX_DEG) * np.arange(1, RINGS + 1) / RINGS
    azimuth = 2 * np.pi * np.arange(SEGMENTS) / SEGMENTS
    directions = np.vstack([[0.0, 1.0, 0.0],
                            _directions(polar[:, None], azimuth[None, :]).reshape(-1, 3)])
    vertices = _conforming(directions, face_vertices[outline])
    rows = np.concatenate([[0], np.repeat(np.arange(1, RINGS + 1), SEGMENTS)])

    def at(ring: int, seg: int) -> int:
        return 1 + (ring - 1) * SEGMENTS + seg % SEGMENTS

    polygons: list[tuple[int, ...]] = []
    for s in range(SEGMENTS):  # outward normals: counter-clockwise seen from outside
        polygons.append((0, at(1, s), at(1, s + 1)))
        for r in range(1, RINGS):
            polygons.append((at(r, s), at(r + 1, s), at(r + 1, s + 1), at(r, s + 1)))
    # Cut the grid where the face is: inside the face outline's (grown) angular footprint.
    rim = face_vertices[outline]
    footprint = view_angles(rim)
    centre2d = footprint.mean(0)
    grown = centre2d + (footprint - centre2d) * HOLE_MARGIN
    cut = inside_polygon(view_angles(vertices), grown)
    polygons = [p for p in polygons if not cut[list(p)].any()]
    hole = next(loop.tolist() for loop in boundary_loops(polygons)
                if rows[loop].max() < RINGS)  # not the neck's open end
    bridge = _bridge(face_vertices, list(outline), vertices, hole)
    polygons += bridge
    used = sorted({i for p in polygons for i in p if i >= 0})
    remap = -np.ones(len(vertices), int)
    remap[used] = np.arange(len(used))
    polygons = [tuple(int(remap[i]) if i >= 0 else i for i in p) for p in polygons]
    vertices, rows = vertices[used], rows[used]
    # The grid is symmetric but the seam's triangles are not: relax, then average each vertex
    # with its mirror image (found on the symmetric grid before relaxing).
    _, mirror = cKDTree(vertices).query(vertices * [-1.0, 1.0, 1.0])
    vertices = _relax(vertices, polygons, face_vertices, rows)
    vertices = 0.5 * (vertices + vertices[mirror] * [-1.0, 1.0, 1.0])
    vertices[np.abs(vertices[:, 0]) < 1e-9, 0] = 0.0
    angles = view_angles(vertices)
    uvs = np.stack([(angles[:, 0] + np.pi) / (2 * np.pi), rows / RINGS], 1)
    return Shell(vertices, polygons, uvs, rows)


def _bridge(face_vertices: np.ndarray, outline: list[int], vertices: np.ndarray,
            hole: list[int]) -> list[tuple[int, ...]]:
    """Triangles joining the face outline (inner loop) to the grid's hole rim (outer loop).

    Both loops are walked together by their angle around the face's centre as seen from
    CENTRE (a zipper), so each triangle spans the gap where the two loops face each other.
    The face's vertices are written as -index-1 so they stay apart from the shell's.
    """
    inner_p = face_vertices[np.array(outline)]
    centre2d = view_angles(inner_p).mean(0)

    def around(points: np.ndarray) -> np.ndarray:
        d = view_angles(points) - centre2d
        return np.arctan2(d[:, 1], d[:, 0])

    def ordered(ids: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The loop turned to run the way the angle grows, from its smallest angle, unwrapped."""
        angle = around(points)
        if np.sum(np.angle(np.exp(1j * np.diff(np.append(angle, angle[0]))))) < 0:
            ids, angle = ids[::-1], angle[::-1]
        start = int(np.argmin(angle))
        ids, angle = np.roll(ids, -start), np.roll(angle, -start)
        return ids, np.concatenate([[angle[0]], angle[0] + np.cumsum(
            np.angle(np.exp(1j * np.diff(angle))))])

    inner, t_in = ordered(-np.asarray(outline) - 1, inner_p)
    outer, t_out = ordered(np.asarray(hole), vertices[np.asarray(hole)])
    t_in = np.append(t_in, t_in[0] + 2 * np.pi)
    t_out = np.append(t_out, t_out[0] + 2 * np.pi)
    tris = []
    i = j = 0
    n, m = len(inner), len(outer)
    while i < n or j < m:
        a, b = int(inner[i % n]), int(outer[j % m])
        if j >= m or (i < n and t_in[i + 1] <= t_out[j + 1]):
            tris.append((a, int(inner[(i + 1) % n]), b))
            i += 1
        else:
            tris.append((a, int(outer[(j + 1) % m]), b))
            j += 1
    # The strip is wound consistently; it must run the face's boundary edges backwards.
    following = {-o - 1: -outline[(k + 1) % len(outline)] - 1 for k, o in enumerate(outline)}
    if following[int(inner[0])] == int(inner[1]):
        tris = [(t[0], t[2], t[1]) for t in tris]
    return tris


def _position(i: int, face_vertices: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    return face_vertices[-i - 1] if i < 0 else vertices[i]


def _relax(vertices: np.ndarray, polygons, face_vertices: np.ndarray, rows: np.ndarray,
           iterations: int = RELAX_ITERATIONS) -> np.ndarray:
    """Smooth the shell near the face seam (Laplacian), the face's own vertices held fixed."""
    neighbours: list[set[int]] = [set() for _ in range(len(vertices))]
    for poly in polygons:
        for a, b in zip(poly, poly[1:] + poly[:1]):
            if a >= 0:
                neighbours[a].add(b)
            if b >= 0:
                neighbours[b].add(a)
    # Distance in edges from the seam decides how freely a vertex moves.
    seam = {i for poly in polygons if min(poly) < 0 for i in poly if i >= 0}
    depth = np.full(len(vertices), 99)
    frontier = set(seam)
    for level in range(6):
        for i in frontier:
            depth[i] = min(depth[i], level)
        frontier = {k for i in frontier for k in neighbours[i] if k >= 0 and depth[k] == 99}
    free = np.clip(1.0 - depth / 6.0, 0.0, 1.0) * 0.5
    free[rows == RINGS] = 0.0  # keep the neck's cut ring in its plane
    v = vertices.copy()
    for _ in range(iterations):
        average = np.array([np.mean([_position(k, face_vertices, v) for k in neighbours[i]], axis=0)
                            if neighbours[i] else v[i] for i in range(len(v))])
        v = v + free[:, None] * (average - v)
    return v
