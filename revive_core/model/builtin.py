"""Revive's built-in morphable face model, generated deterministically by this code.

Neutral face: ``template.py`` (mediapipe's 468-point topology, made symmetric and metric).
To it this module adds what a rig needs: eye surfaces behind the lids, a mouth pocket behind the
lips, a cylindrical UV layout, region labels, the landmark embedding, the identity basis
(``identity.py``) and the ARKit expression shapes (``expressions.py``). No data from elsewhere,
so it ships under the project's own licence without registration.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..formats.arkit import ARKIT_BLENDSHAPES
from .expressions import MeshParts, expression_shapes
from .identity import identity_components
from .morphable import MorphableModel
from .template import load_template
from .topology import FACE_POINTS, LANDMARKS, boundary_loops, mediapipe_triangles, orient_faces

__all__ = ["builtin_model", "BUILTIN_ID", "REGIONS"]

BUILTIN_ID = "revive-builtin-face-1"
REGIONS = ["face", "eye_left", "eye_right", "mouth_interior"]
EYE_RECESS_M = 0.0015
POCKET_DEPTH_M = 0.012
POCKET_UV_CENTRE = np.array([0.08, 0.08])  # its own island in a corner the face leaves free


@lru_cache(maxsize=1)
def builtin_model() -> MorphableModel:
    """The built-in model (cached; arrays must not be modified)."""
    template, _ = load_template()
    face_faces = orient_faces(mediapipe_triangles(), template)
    face_uvs = _cylindrical_uvs(template)
    loops = boundary_loops(face_faces)
    mouth = min(loops[1:], key=lambda l: template[l, 1].mean())
    eyes = sorted((l for l in loops[1:] if l is not mouth), key=lambda l: -template[l, 0].mean())

    vertices = [template]
    faces = [face_faces]
    uvs = [face_uvs]
    uv_faces = [face_faces]
    regions = [np.zeros(FACE_POINTS, dtype=np.uint8)]
    for eye, region in zip(eyes, (1, 2)):  # subject's left eye is at +X
        _add_eye(eye, vertices, faces, uvs, uv_faces, regions, region)
    pocket_rim = _add_pocket(mouth, vertices, faces, uvs, uv_faces, regions)

    v = np.vstack(vertices)
    vertex_regions = np.concatenate(regions)
    parts = MeshParts(v, vertex_regions, REGIONS, pocket_rim)
    identity = identity_components(parts)
    made = expression_shapes(parts)
    shapes = {name: made[name] for name in ARKIT_BLENDSHAPES if name in made}
    f = np.vstack(faces).astype(np.int32)
    landmark_faces, landmark_bary = _landmark_embedding(f)
    return MorphableModel(
        model_id=BUILTIN_ID, vertices_m=v, faces=f,
        uvs=np.vstack(uvs).astype(np.float32), uv_faces=np.vstack(uv_faces).astype(np.int32),
        region_names=list(REGIONS), vertex_regions=vertex_regions,
        identity_names=list(identity), identity_basis_m=np.stack(list(identity.values())),
        expression_names=list(shapes), expression_deltas_m=np.stack(list(shapes.values())),
        landmark_faces=landmark_faces, landmark_bary=landmark_bary)


def _cylindrical_uvs(v: np.ndarray) -> np.ndarray:
    """Unwrap around a vertical axis behind the face: even texel density on the cheeks."""
    axis_z = v[:, 2].min() - 0.04
    angle = np.arctan2(v[:, 0], v[:, 2] - axis_z)
    radius = float(np.median(np.hypot(v[:, 0], v[:, 2] - axis_z)))
    u, w = angle * radius, v[:, 1]
    span = max(np.ptp(u), np.ptp(w)) / 0.96
    return np.stack([0.5 + (u - (u.max() + u.min()) / 2) / span,
                     0.5 + (w - (w.max() + w.min()) / 2) / span], axis=1)


def _add_eye(loop, vertices, faces, uvs, uv_faces, regions, region: int) -> None:
    """A slightly recessed surface filling the eye opening; it takes the photo's eye."""
    base = sum(len(x) for x in vertices)
    rim = vertices[0][loop]
    ring = rim - [0.0, 0.0, EYE_RECESS_M]
    centre = rim.mean(0) - [0.0, 0.0, EYE_RECESS_M * 0.5]
    vertices.append(np.vstack([ring, centre]))
    n = len(loop)
    tris = np.array([[base + i, base + (i + 1) % n, base + n] for i in range(n)])
    faces.append(_facing(tris, np.vstack(vertices), [0.0, 0.0, 1.0]))
    uv_base = sum(len(x) for x in uvs)
    rim_uv = uvs[0][loop]
    uvs.append(np.vstack([rim_uv, rim_uv.mean(0)]))
    uv_faces.append(faces[-1] - base + uv_base)
    regions.append(np.full(n + 1, region, dtype=np.uint8))


def _add_pocket(loop, vertices, faces, uvs, uv_faces, regions) -> dict[int, int]:
    """A dark pocket behind the lips so an open mouth shows an inside, not the background."""
    base = sum(len(x) for x in vertices)
    rim = vertices[0][loop]
    centre = rim.mean(0)
    ring = centre + (rim - centre) * 0.8 - [0.0, 0.0, POCKET_DEPTH_M * 0.5]
    back = centre - [0.0, 0.0, POCKET_DEPTH_M]
    vertices.append(np.vstack([ring, back]))
    n = len(loop)
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris += [[loop[i], loop[j], base + j], [loop[i], base + j, base + i],
                 [base + i, base + j, base + n]]
    tris = np.array(tris)
    all_vertices = np.vstack(vertices)
    oriented = _facing(tris, all_vertices, None, towards=centre + [0.0, 0.0, 0.02])
    faces.append(oriented)
    # Own UV island: rim on a circle, ring inside it, the back at its centre.
    uv_base = sum(len(x) for x in uvs)
    angles = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], 1)
    uvs.append(np.vstack([POCKET_UV_CENTRE + 0.07 * circle, POCKET_UV_CENTRE + 0.04 * circle,
                          POCKET_UV_CENTRE]))
    remap = {int(loop[i]): uv_base + i for i in range(n)}
    remap.update({base + i: uv_base + n + i for i in range(n + 1)})
    uv_faces.append(np.vectorize(remap.__getitem__)(oriented))
    regions.append(np.full(n + 1, 3, dtype=np.uint8))
    rim_of = {base + i: int(loop[i]) for i in range(n)}
    rim_of[base + n] = 14  # the back follows the middle of the lower lip
    return rim_of


def _facing(tris: np.ndarray, v: np.ndarray, direction, towards=None) -> np.ndarray:
    """Triangles wound so their normals point along ``direction`` (or toward a point)."""
    p = v[tris]
    normals = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    target = (np.asarray(towards) - p.mean(1)) if towards is not None else np.asarray(direction)
    flip = (normals * target).sum(-1) < 0
    tris = tris.copy()
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris


def _landmark_embedding(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each of the 468 face landmarks is a vertex of the template; the iris points are not."""
    landmark_faces = np.full(LANDMARKS, -1, dtype=np.int32)
    landmark_bary = np.zeros((LANDMARKS, 3), dtype=np.float32)
    for index in range(FACE_POINTS):
        face, corner = np.argwhere(faces == index)[0]
        landmark_faces[index] = face
        landmark_bary[index, corner] = 1.0
    return landmark_faces, landmark_bary
