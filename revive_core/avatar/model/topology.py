"""The mediapipe FaceMesh topology: triangles, holes and named landmark groups.

mediapipe ships its tessellation only as a set of edges; the 852 triangles are its 3-cliques,
less two spurious cliques that the edge set also contains. ``pair_triangles`` joins neighbouring
triangles into quads where they make good ones, leaving the triangles themselves unchanged.
"""
from __future__ import annotations

import collections
from functools import lru_cache

import numpy as np

__all__ = ["LANDMARKS", "mediapipe_triangles", "boundary_loops", "GROUPS", "IBUG_FROM_MEDIAPIPE",
           "loop_edges", "pair_triangles"]

LANDMARKS = 478  # 468 face points + 10 iris points (refine_landmarks=True)
FACE_POINTS = 468
_SPURIOUS = {(279, 294, 358), (49, 64, 129)}
# A pair of triangles makes a quad only when every corner is within these angles and the two
# triangles' normals differ by at most the fold (nearly planar).
QUAD_ANGLES_DEG = (45.0, 135.0)
QUAD_MAX_FOLD_DEG = 20.0
LOOP_GROUP_PREFIXES = ("lips_", "eye_", "brow_")  # groups whose edges animators need as loops

GROUPS: dict[str, tuple[int, ...]] = {
    # Subject's left is +X (image right in an unmirrored photo).
    "lips_upper_inner": (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308),
    "lips_lower_inner": (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308),
    "lips_upper_outer": (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291),
    "lips_lower_outer": (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291),
    "mouth_corner_left": (291, 308),
    "mouth_corner_right": (61, 78),
    "eye_left_upper": (263, 466, 388, 387, 386, 385, 384, 398, 362),
    "eye_left_lower": (263, 249, 390, 373, 374, 380, 381, 382, 362),
    "eye_right_upper": (33, 246, 161, 160, 159, 158, 157, 173, 133),
    "eye_right_lower": (33, 7, 163, 144, 145, 153, 154, 155, 133),
    "brow_left": (276, 283, 282, 295, 285, 300, 293, 334, 296, 336),
    "brow_right": (46, 53, 52, 65, 55, 70, 63, 105, 66, 107),
    "brow_left_inner": (285, 336, 296, 295),
    "brow_right_inner": (55, 107, 66, 65),
    "brow_left_outer": (276, 283, 300, 293),
    "brow_right_outer": (46, 53, 70, 63),
    "nose_tip": (1, 4),
    "nose_left_wing": (294, 278, 279, 360),
    "nose_right_wing": (64, 48, 49, 131),
    "cheek_left": (425, 411, 280, 352),
    "cheek_right": (205, 187, 50, 123),
    "chin": (152, 175, 199, 200, 18, 148, 377),
    "forehead": (10, 151, 9, 108, 337, 67, 297),
    "face_left_edge": (454, 356, 323, 361),
    "face_right_edge": (234, 127, 93, 132),
}

# The 68 iBUG / Multi-PIE points as mediapipe landmarks, chosen by what each point marks (jaw
# line from the subject's right ear to the left, brows, nose bridge and base, eyes from the
# outer corner, lips from the right corner). Jaw points are the face outline's at similar
# heights; in photos they follow the silhouette, so they agree only roughly.
IBUG_FROM_MEDIAPIPE: tuple[int, ...] = (
    127, 234, 93, 132, 58, 172, 150, 176, 152, 400, 379, 397, 288, 361, 323, 454, 356,  # jaw
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # brows
    168, 197, 5, 4, 98, 97, 2, 326, 327,  # nose
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips
)


@lru_cache(maxsize=1)
def mediapipe_triangles() -> np.ndarray:
    """(852, 3) int32 triangles over the 468 face points, in a stable order (unoriented)."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    neighbours = collections.defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    triangles = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    return np.array(sorted(triangles - _SPURIOUS), dtype=np.int32)


def boundary_loops(faces) -> list[np.ndarray]:
    """Closed loops of boundary edges (edges used by one polygon), longest first.

    ``faces``: triangles (an (F, 3) array) or polygons of any size, consistently oriented;
    each loop follows the boundary edges' direction.
    """
    counts = collections.Counter(tuple(sorted(e)) for f in faces for e in _edges(f))
    following = {a: b for f in faces for a, b in _edges(f) if counts[tuple(sorted((a, b)))] == 1}
    loops = []
    while following:
        start = next(iter(following))
        loop = [start]
        while (nxt := following.pop(loop[-1])) != start:
            loop.append(nxt)
        loops.append(np.array(loop, dtype=np.int32))
    return sorted(loops, key=len, reverse=True)


def _edges(polygon) -> tuple[tuple[int, int], ...]:
    """The directed edges of a polygon (a triangle, a quad, ...), following its winding."""
    corners = [int(x) for x in polygon]
    return tuple(zip(corners, corners[1:] + corners[:1]))


def orient_faces(faces: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Faces re-wound consistently (neighbours agree), facing away from the mesh's back.

    Orientation is propagated across shared edges, then flipped as a whole so that most normals
    point toward +Z (the face looks toward +Z).
    """
    faces = faces.copy()
    by_edge = collections.defaultdict(list)
    for i, f in enumerate(faces):
        for a, b in _edges(f):
            by_edge[(min(a, b), max(a, b))].append(i)
    done = np.zeros(len(faces), dtype=bool)
    for seed in range(len(faces)):
        if done[seed]:
            continue
        done[seed] = True
        queue = collections.deque([seed])
        while queue:
            i = queue.popleft()
            for a, b in _edges(faces[i]):
                for j in by_edge[(min(a, b), max(a, b))]:
                    if done[j]:
                        continue
                    # A consistent neighbour runs the shared edge the other way (b -> a).
                    if (a, b) in _edges(faces[j]):
                        faces[j] = faces[j][[0, 2, 1]]
                    done[j] = True
                    queue.append(j)
    v = vertices[faces]
    normals = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    if normals[:, 2].sum() < 0:
        faces = faces[:, [0, 2, 1]]
    return faces


def loop_edges() -> frozenset[tuple[int, int]]:
    """Edges (low, high) between consecutive points of the lip, eye and brow groups.

    These run along the lip contours, eye openings and brows, the edge loops that an animator
    needs; pairs that are not mesh edges are harmless (they never match a diagonal).
    """
    return frozenset((min(a, b), max(a, b)) for name, points in GROUPS.items()
                     if name.startswith(LOOP_GROUP_PREFIXES) for a, b in zip(points, points[1:]))


def pair_triangles(triangles: np.ndarray, vertices: np.ndarray,
                   keep_edges: frozenset[tuple[int, int]] = frozenset()) -> list[tuple[int, ...]]:
    """Polygons: neighbouring triangles joined into good quads, the rest left as triangles.

    ``triangles`` (F, 3) must be consistently oriented. A quad (a, x, b, y) replaces the two
    triangles on each side of its diagonal a-b, so its fan (a, x, b), (a, b, y) is exactly those
    triangles, same winding. Only interior edges not in ``keep_edges`` (low, high) become
    diagonals, so the boundary and the kept edges stay edges. Candidates are taken greedily,
    squarest first (ties by triangle index); each triangle joins at most one quad. Polygons
    come in the order of their first triangle.
    """
    candidates = []
    for (a, b), (i, j) in _interior_edges(triangles).items():
        if (a, b) in keep_edges:
            continue
        quad = _quad_across(triangles[i], triangles[j], a, b)
        badness = _quad_badness(vertices[list(quad)])
        if badness is not None:
            candidates.append((badness, min(i, j), max(i, j), quad))
    polygons: dict[int, tuple[int, ...]] = {}
    paired: set[int] = set()
    for _, i, j, quad in sorted(candidates):
        if i not in paired and j not in paired:
            paired |= {i, j}
            polygons[i] = quad
    for i, triangle in enumerate(triangles):
        if i not in paired:
            polygons[i] = tuple(int(v) for v in triangle)
    return [polygons[i] for i in sorted(polygons)]


def _interior_edges(triangles: np.ndarray) -> dict[tuple[int, int], tuple[int, int]]:
    """Edge (low, high) -> the two triangles that share it, running it in opposite directions."""
    by_edge = collections.defaultdict(list)
    for i, triangle in enumerate(triangles):
        for a, b in _edges(triangle):
            by_edge[(min(a, b), max(a, b))].append((i, a < b))
    return {edge: (uses[0][0], uses[1][0]) for edge, uses in by_edge.items()
            if len(uses) == 2 and uses[0][1] != uses[1][1]}


def _quad_across(first: np.ndarray, second: np.ndarray, a: int, b: int) -> tuple[int, ...]:
    """The quad (a, x, b, y) whose fan from ``a`` is the two triangles sharing edge a-b."""
    if (b, a) not in _edges(first):
        first, second = second, first
    x = next(int(v) for v in first if v not in (a, b))
    y = next(int(v) for v in second if v not in (a, b))
    return (a, x, b, y)


def _quad_badness(corners: np.ndarray) -> float | None:
    """The worst corner's departure from a right angle (degrees), or None for a poor quad.

    A poor quad is folded more than ``QUAD_MAX_FOLD_DEG`` across its diagonal (corners 0-2),
    not convex, or has a corner angle outside ``QUAD_ANGLES_DEG``.
    """
    normals = np.cross(corners[[1, 2]] - corners[0], corners[[2, 3]] - corners[0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    if _degrees_between(normals[0], normals[1]) > QUAD_MAX_FOLD_DEG:
        return None
    before = np.roll(corners, 1, axis=0) - corners
    after = np.roll(corners, -1, axis=0) - corners
    # Each corner turns the same way as the quad's mean normal only when the quad is convex.
    if (np.cross(after, before) @ normals.sum(0) <= 0).any():
        return None
    angles = np.array([_degrees_between(p, n) for p, n in zip(before, after)])
    low, high = QUAD_ANGLES_DEG
    if angles.min() < low or angles.max() > high:
        return None
    return float(np.abs(angles - 90.0).max())


def _degrees_between(u: np.ndarray, v: np.ndarray) -> float:
    """The angle between two vectors, in degrees."""
    cosine = float(u @ v) / float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
