"""Revive's built-in morphable head, generated deterministically by this code.

Parts, all made here (no data from elsewhere, so it ships under the project's own licence):

- the face: ``template.py``'s 468-point mediapipe-topology face, made symmetric and metric,
  its triangles paired into quads where they make good ones (``topology.pair_triangles``);
- the shell (``head.py``): scalp, back of the head, jaw underside and neck, a quad grid
  stitched to the face's outline;
- separate eyeballs (sclera, iris and pupil regions), upper and lower teeth, the mouth's inside
  and a tongue, and both ears (``parts.py``);
- one UV atlas: face at the top left, shell at the top right, the small parts along the bottom;
- the landmark embedding: the 468 face points are the face's own vertices, the 10 iris points
  lie on the eyeballs' irises, and the 68 iBUG points follow ``IBUG_FROM_MEDIAPIPE``;
- identity components (``identity.py``) and all 52 ARKit shapes (``expressions.py``).

``python -m revive_core.avatar.model.builtin --contact-sheet PNG`` renders every expression shape.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.avatar.model.expressions import expression_shapes
from revive_core.avatar.model.head import head_shell
from revive_core.avatar.model.identity import identity_components
from revive_core.avatar.model.morphable import MorphableModel
from revive_core.avatar.model.parts import Part, ear, eyeball, eyeball_centre, mouth_bag, teeth_row, tongue
from revive_core.avatar.model.template import load_template
from revive_core.avatar.model.topology import FACE_POINTS, GROUPS, IBUG_FROM_MEDIAPIPE, LANDMARKS, boundary_loops
from revive_core.avatar.model.topology import loop_edges, mediapipe_triangles, orient_faces, pair_triangles

__all__ = ["builtin_model", "BUILTIN_ID", "REGIONS", "HeadParts", "build_head"]

BUILTIN_ID = "revive-builtin-head-3"
REGIONS = ["face", "scalp", "neck", "ears", "eye_sclera_left", "eye_iris_left", "eye_pupil_left",
           "eye_sclera_right", "eye_iris_right", "eye_pupil_right", "teeth", "mouth_interior",
           "tongue"]
NECK_BELOW_Y = -0.085  # shell vertices below this (and behind the jaw) are the neck
# Atlas islands: (u0, v0, width, height) in the 0..1 texture.
ATLAS = {"face": (0.0, 0.4, 0.6, 0.6), "shell": (0.6, 0.4, 0.4, 0.6),
         "ear_left": (0.0, 0.2, 0.2, 0.2), "ear_right": (0.2, 0.2, 0.2, 0.2),
         "eye": (0.4, 0.25, 0.15, 0.15), "teeth_upper": (0.55, 0.3, 0.25, 0.1),
         "teeth_lower": (0.55, 0.2, 0.25, 0.1), "mouth": (0.8, 0.2, 0.2, 0.2),
         "tongue": (0.4, 0.1, 0.15, 0.15)}


@dataclass
class HeadParts:
    """The assembled neutral head and where its parts are (vertex index arrays)."""

    vertices: np.ndarray  # (V, 3)
    polygons: list[tuple[int, ...]]
    corner_uvs: list[np.ndarray]  # per polygon: (n, 2) atlas UVs of its corners
    regions: np.ndarray  # (V,) index into REGIONS
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # part name -> vertex indices
    eye_centres: dict[str, np.ndarray] = field(default_factory=dict)  # "left"/"right" -> (3,)
    iris_points: dict[str, np.ndarray] = field(default_factory=dict)  # side -> (5, 3)
    bag_rim: np.ndarray | None = None  # (R,) face vertex each mouth-bag ring column hangs from
    ear_roots: dict[str, np.ndarray] = field(default_factory=dict)  # side -> (3,)

    def region(self, name: str) -> np.ndarray:
        return self.regions == REGIONS.index(name)

    def points(self, group: str) -> np.ndarray:
        return self.vertices[list(GROUPS[group])]

    def mouth_line_y(self) -> float:
        inner = list(GROUPS["lips_upper_inner"]) + list(GROUPS["lips_lower_inner"])
        return float(self.vertices[inner, 1].mean())


@lru_cache(maxsize=1)
def builtin_model() -> MorphableModel:
    """The built-in model (cached; arrays must not be modified)."""
    head = build_head()
    identity = identity_components(head)
    made = expression_shapes(head)
    shapes = {name: made[name] for name in ARKIT_BLENDSHAPES}
    faces, uv_faces, uvs, polygon_triangles = _triangles(head)
    landmark_faces, landmark_bary = _landmark_embedding(head, faces)
    return MorphableModel(
        model_id=BUILTIN_ID, vertices_m=head.vertices, faces=faces, uvs=uvs, uv_faces=uv_faces,
        region_names=list(REGIONS), vertex_regions=head.regions.astype(np.uint8),
        identity_names=list(identity),
        identity_basis_m=np.stack(list(identity.values())).astype(np.float32),
        expression_names=list(shapes),
        expression_deltas_m=np.stack(list(shapes.values())).astype(np.float32),
        landmark_faces=landmark_faces, landmark_bary=landmark_bary,
        ibug_faces=landmark_faces[list(IBUG_FROM_MEDIAPIPE)],
        ibug_bary=landmark_bary[list(IBUG_FROM_MEDIAPIPE)],
        info={"source": "Revive's own code (revive_core/model)", "licence": "MIT",
              "polygons": "quads and triangles; each quad is two consecutive triangles"},
        polygon_triangles=polygon_triangles)


def build_head() -> HeadParts:
    """The neutral head with every part in place (deterministic)."""
    face, _ = load_template()
    face_tris = orient_faces(mediapipe_triangles(), face)
    loops = boundary_loops(face_tris)
    outline = loops[0]
    mouth = min(loops[1:], key=lambda loop: face[loop, 1].mean())
    eyes = {("left" if face[loop, 0].mean() > 0 else "right"): loop for loop in loops[1:]
            if loop is not mouth}
    face = _clear_eyeballs(face, eyes)

    vertices: list[np.ndarray] = [face]
    # Quads where two triangles make a good one; lip, eye and brow loops stay edges.
    polygons: list[tuple[int, ...]] = pair_triangles(face_tris, face, loop_edges())
    face_uv = _island(_cylindrical_uvs(face), "face")
    corner_uvs: list[np.ndarray] = [face_uv[list(p)] for p in polygons]
    regions: list[np.ndarray] = [np.full(FACE_POINTS, REGIONS.index("face"))]
    head = HeadParts(face, polygons, corner_uvs, regions[0])
    parts: dict[str, np.ndarray] = {"face": np.arange(FACE_POINTS)}

    def add(part: Part, name: str, island: str, *, rim: np.ndarray | None = None,
            rim_uvs: np.ndarray | None = None) -> None:
        """Append a part; its polygon index -k-1 means face vertex ``rim[k]`` (UV ``rim_uvs[k]``)."""
        base = sum(len(v) for v in vertices)
        vertices.append(part.vertices)
        regions.append(np.array([REGIONS.index(r) for r in part.regions]))
        uv = _island(part.uvs, island)
        for poly in part.polygons:
            polygons.append(tuple(int(rim[-i - 1]) if i < 0 else base + i for i in poly))
            corner_uvs.append(np.array([rim_uvs[-i - 1] if i < 0 else uv[i] for i in poly]))
        parts[name] = np.arange(base, base + len(part.vertices))

    # Shell: its polygons refer to face vertices as -i-1.
    shell = head_shell(face, outline)
    base = FACE_POINTS
    vertices.append(shell.vertices)
    shell_uv = _shell_uvs(shell.uvs)
    outline_uv = _shell_uvs(_face_shell_uv(face))
    shell_region = np.where((shell.vertices[:, 1] < NECK_BELOW_Y), REGIONS.index("neck"),
                            REGIONS.index("scalp"))
    regions.append(shell_region)
    for poly in shell.polygons:
        polygons.append(tuple(-i - 1 if i < 0 else base + i for i in poly))
        uv = np.array([outline_uv[-i - 1] if i < 0 else shell_uv[i] for i in poly])
        crown = [k for k, i in enumerate(poly) if i >= 0 and shell.rows[i] == 0]
        others = [k for k in range(len(poly)) if k not in crown]
        if np.ptp(uv[others, 0]) > 0.5 * ATLAS["shell"][2]:  # crosses the seam at the back
            uv[uv[:, 0] < ATLAS["shell"][0] + 0.5 * ATLAS["shell"][2], 0] += ATLAS["shell"][2] / 1.03
        if crown:  # the pole has no azimuth of its own: take its neighbours'
            uv[crown, 0] = uv[others, 0].mean()
        corner_uvs.append(uv)
    parts["shell"] = np.arange(base, base + len(shell.vertices))

    # Eyeballs.
    for side, loop in eyes.items():
        near = np.linalg.norm(face[:, :2] - face[loop, :2].mean(0), axis=1) < 0.03
        centre = eyeball_centre(face[loop], face[near])
        ball = eyeball(centre, side)
        add(ball, f"eye_{side}", "eye")
        head.eye_centres[side] = centre
        head.iris_points[side] = ball.anchors["iris"]

    # Teeth, tongue and the mouth's inside.
    mouth_y = head.mouth_line_y()
    front_z = float(face[[13, 14], 2].mean()) - 0.0055
    add(teeth_row(front_z, mouth_y + 0.0004, upper=True), "teeth_upper", "teeth_upper")
    add(teeth_row(front_z - 0.0022, mouth_y - 0.0004, upper=False), "teeth_lower", "teeth_lower")
    add(tongue(np.array([0.0, mouth_y - 0.0075, front_z - 0.006])), "tongue", "tongue")
    upper = np.isin(mouth, GROUPS["lips_upper_inner"][1:-1])
    bag = mouth_bag(face[mouth], upper, mouth_y)
    # The lip rim gets UVs of its own at the island's edge (the first ring's, pushed outward).
    add(bag, "mouth_bag", "mouth", rim=np.asarray(mouth),
        rim_uvs=_island(0.5 + (bag.uvs[:len(mouth)] - 0.5) * 1.2, "mouth"))
    head.bag_rim = np.asarray(mouth)

    # Ears, rooted on the shell beside the jaw joint.
    shell_v = shell.vertices
    for side, sign in (("left", 1.0), ("right", -1.0)):
        root = shell_v[np.argmin(np.linalg.norm(shell_v - [sign * 0.075, -0.018, -0.072], axis=1))]
        root = root - [sign * 0.004, 0.0, 0.0]
        add(ear(root, sign), f"ear_{side}", f"ear_{side}")
        head.ear_roots[side] = root

    head.vertices = np.vstack(vertices)
    head.polygons = polygons
    head.corner_uvs = corner_uvs
    head.regions = np.concatenate(regions)
    head.parts = parts
    return head


def _clear_eyeballs(face: np.ndarray, eyes: dict[str, np.ndarray]) -> np.ndarray:
    """The face with the skin around each eye opening pushed just clear of a spherical eyeball.

    The eyeball is placed as far forward as the lid margins allow; lid skin that would still
    be closer than the radius plus skin thickness is moved out along the radius.
    """
    from revive_core.avatar.model.parts import EYE_RADIUS_M, LID_CLEARANCE_M

    face = face.copy()
    for loop in eyes.values():
        near = np.linalg.norm(face[:, :2] - face[loop, :2].mean(0), axis=1) < 0.03
        centre = eyeball_centre(face[loop], face[near])
        offset = face - centre
        distance = np.linalg.norm(offset, axis=1)
        reach = EYE_RADIUS_M + LID_CLEARANCE_M
        inside = near & (distance < reach)
        face[inside] = centre + offset[inside] / distance[inside, None] * reach
    return face


def _island(uvs: np.ndarray, name: str) -> np.ndarray:
    u0, v0, width, height = ATLAS[name]
    return np.column_stack([u0 + np.clip(uvs[:, 0], 0, 1) * width,
                            v0 + np.clip(uvs[:, 1], 0, 1) * height])


def _shell_uvs(uvs: np.ndarray) -> np.ndarray:
    """Shell equirectangular UVs (u around, v down from the crown) into its island."""
    u0, v0, width, height = ATLAS["shell"]
    return np.column_stack([u0 + uvs[:, 0] * width / 1.03, v0 + (1 - uvs[:, 1]) * height])


def _face_shell_uv(face: np.ndarray) -> np.ndarray:
    """Shell-space UVs of face vertices, for the seam triangles that join the two."""
    from revive_core.avatar.model.head import POLAR_MAX_DEG, view_angles

    angles = view_angles(face)
    polar = np.degrees(np.pi / 2 - angles[:, 1])
    return np.column_stack([(angles[:, 0] + np.pi) / (2 * np.pi), polar / POLAR_MAX_DEG])


def _cylindrical_uvs(v: np.ndarray) -> np.ndarray:
    """Unwrap around a vertical axis behind the face: even texel density on the cheeks."""
    axis_z = v[:, 2].min() - 0.04
    angle = np.arctan2(v[:, 0], v[:, 2] - axis_z)
    radius = float(np.median(np.hypot(v[:, 0], v[:, 2] - axis_z)))
    u, w = angle * radius, v[:, 1]
    span = max(np.ptp(u), np.ptp(w)) / 0.96
    return np.stack([0.5 + (u - (u.max() + u.min()) / 2) / span,
                     0.5 + (w - (w.max() + w.min()) / 2) / span], axis=1)


def _triangles(head: HeadParts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triangles (F, 3), their UV indices (F, 3), the UVs (T, 2) and triangles per polygon (P,).

    Each polygon becomes a fan of consecutive triangles from its first corner, so a quad is two
    triangles split on its first diagonal; ``polygon_triangles`` (uint8) lets readers rebuild it.
    """
    faces, corner = [], []
    for poly, uv in zip(head.polygons, head.corner_uvs):
        for k in range(1, len(poly) - 1):
            faces.append((poly[0], poly[k], poly[k + 1]))
            corner.append(np.stack([uv[0], uv[k], uv[k + 1]]))
    corner = np.round(np.stack(corner).reshape(-1, 2), 6)
    uvs, uv_index = np.unique(corner, axis=0, return_inverse=True)
    polygon_triangles = np.array([len(poly) - 2 for poly in head.polygons], np.uint8)
    return (np.array(faces, np.int32), uv_index.reshape(-1, 3).astype(np.int32),
            uvs.astype(np.float32), polygon_triangles)


def _landmark_embedding(head: HeadParts, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 468 face points are face vertices; the 10 iris points lie on the irises."""
    from revive_core.avatar.model.surface import closest_points, vertex_embedding

    landmark_faces = np.full(LANDMARKS, -1, np.int32)
    landmark_bary = np.zeros((LANDMARKS, 3), np.float32)
    landmark_faces[:FACE_POINTS], landmark_bary[:FACE_POINTS] = vertex_embedding(
        np.arange(FACE_POINTS), faces)
    for side, first in (("right", 468), ("left", 473)):  # mediapipe's order (468: subject's right)
        eye = head.parts[f"eye_{side}"]
        triangles = np.flatnonzero(np.isin(faces, eye).all(1))
        f, bary, _ = closest_points(head.iris_points[side], head.vertices, faces[triangles])
        landmark_faces[first:first + 5] = triangles[f]
        landmark_bary[first:first + 5] = bary
    return landmark_faces, landmark_bary


def contact_sheet(path: Path, *, size: int = 256, columns: int = 8) -> Path:
    """Render every expression shape of the built-in model at full weight into one PNG."""
    from PIL import Image, ImageDraw

    from revive_core.avatar.model.embedding import region_colours
    from revive_core.avatar.model.views import Lighting, look_at_face, render_mesh
    from revive_core.geometry.offscreen import OffscreenRenderer

    model = builtin_model()
    colours = region_colours(model)
    face = model.vertices_m[model.region_mask("face")]
    names = ["neutral"] + model.expression_names
    shown = {"mouthClose": {"jawOpen": 1.0, "mouthClose": 1.0}}  # ARKit's mouthClose needs jawOpen
    rows = -(-len(names) // columns)
    sheet = Image.new("RGB", (columns * size, rows * size), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    with OffscreenRenderer(size, size) as renderer:
        camera = look_at_face(face, size, size, yaw_deg=-25.0, pitch_deg=-5.0, fill=0.5)
        for index, name in enumerate(names):
            vertices = model.shape(expression=None if name == "neutral"
                                   else shown.get(name, {name: 1.0}))
            image, _ = render_mesh(renderer, vertices, model.faces, camera, colours=colours,
                                   lighting=Lighting(direction=(0.4, 0.5, 1.0)))
            x, y = (index % columns) * size, (index // columns) * size
            sheet.paste(Image.fromarray(image), (x, y))
            draw.text((x + 4, y + 4), " + ".join(shown.get(name, {name: 1.0})), fill=(0, 0, 0))
    sheet.save(path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contact-sheet", type=Path, required=True, metavar="PNG")
    args = parser.parse_args(argv)
    print(f"wrote {contact_sheet(args.contact_sheet)}")


if __name__ == "__main__":
    main()
