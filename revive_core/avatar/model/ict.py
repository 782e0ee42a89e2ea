"""Import ICT-FaceKit (USC ICT's MIT-licensed morphable head) into Revive's model format.

:func:`read_ict` takes the upstream ICT-FaceKit folder, its FaceXModel folder, or a zip of
either (as downloaded) and converts it; ``revive model import-ict PATH``
(:mod:`revive_core.cli.model`) installs the result where ``--model ict`` finds it (see
``registry.py``). Nothing of ICT-FaceKit is part of Revive; the user downloads it.

The conversion:

- Units: centimetres -> metres. Axes already match (+Y up, face toward +Z, subject's left +X).
- Geometry kept: face, head and neck, mouth socket, eye sockets, gums and tongue, teeth and
  eyeballs (sclera, iris). Dropped: lacrimal fluid, eye blend, eye occlusion and eyelash strips,
  which are see-through overlays that need Unreal-style shaders. Quads are split in two
  triangles (a, b, c) + (a, c, d), and ``polygon_triangles`` keeps them quads for Blender.
- UVs: upstream puts each material in its own UDIM tile; they are packed into one 0..1 atlas
  (face 0.75 wide at the top left, back of head, gums and teeth in the right column, each eye's
  sclera and iris along the bottom: the eyes get tiles of their own, or each eye's painted pupil
  would show on the other's iris too).
- Identity: ``identityNNN.obj - neutral``, any number of them, each one standard deviation
  (upstream's own sampler draws every weight from N(0, 1)).
- Expressions: ``X_L``/``X_R`` become ARKit's ``XLeft``/``XRight``; the split halves of
  browInnerUp and cheekPuff are summed into ARKit's single shape; shapes ARKit lacks
  (cheekRaiser_L/R, PupilDilate_L/R) keep their own names. ICT has no tongueOut.
- Landmarks: the 68 Multi-PIE points are upstream's vertex indices (vertex_indices.json). The
  478 mediapipe points are derived here: the neutral head is rendered from a few views,
  mediapipe finds its landmarks, and each is back-projected to the surface (see
  ``embedding.py``). Rendering and detection are deterministic, so the import is too.
"""
from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np

from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.avatar.model.morphable import MorphableModel
from revive_core.avatar.model.surface import vertex_embedding

__all__ = ["read_ict", "ICT_MODEL_NAME"]

log = logging.getLogger(__name__)

ICT_MODEL_NAME = "ict"
CM = 0.01
NEUTRAL = "generic_neutral_mesh.obj"
VERTEX_COUNT = 26719
KEPT_MATERIALS = ("M_Face", "M_BackHead", "M_GumsTongue", "M_Teeth", "M_ScleraLeft",
                  "M_IrisLeft", "M_ScleraRight", "M_IrisRight")
# Where each material's UDIM tile goes in the packed atlas: (u0, v0, size).
ATLAS = {"M_Face": (0.0, 0.25, 0.75), "M_BackHead": (0.75, 0.75, 0.25),
         "M_GumsTongue": (0.75, 0.5, 0.25), "M_Teeth": (0.75, 0.25, 0.25),
         "M_ScleraLeft": (0.0, 0.0, 0.25), "M_ScleraRight": (0.5, 0.0, 0.25),
         "M_IrisLeft": (0.25, 0.0, 0.25), "M_IrisRight": (0.75, 0.0, 0.25)}
# Upstream's vertex ranges (README, "Face Model Topology" and "Eyeball Details"), end exclusive.
REGION_RANGES = (
    ("face", 0, 6706),  # the narrow face area
    ("face_side", 6706, 9409),  # the rest of the face mesh: sides, ears, under the jaw
    ("scalp", 9409, 11248),  # head and neck
    ("mouth_interior", 11248, 13294),  # mouth socket
    ("lid_lining", 13294, 14062),  # upstream's eye sockets: skin behind the lids
    ("gums_tongue", 14062, 17039),
    ("teeth", 17039, 21451),
    ("eye_sclera_left", 21451, 22221),
    ("eye_iris_left", 22221, 23021),  # upstream's iris, hidden behind the cornea
    ("eye_sclera_right", 23021, 23791),
    ("eye_iris_right", 23791, 24591),
)
REGION_NAMES = ["face", "face_side", "scalp", "mouth_interior", "lid_lining", "gums_tongue",
                "teeth", "eye_sclera_left", "eye_iris_left", "eye_sclera_right", "eye_iris_right",
                "eye_pupil_left", "eye_pupil_right"]
# The sclera mesh's front bulge is the cornea: opaque renders show the iris there. Angles from
# the eyeball's forward axis (+Z) about its best-fit sphere's centre, degrees.
IRIS_DEG, PUPIL_DEG = 28.0, 10.0
SUMMED = {"browInnerUp": ("browInnerUp_L", "browInnerUp_R"),
          "cheekPuff": ("cheekPuff_L", "cheekPuff_R")}
IMPORT_HINT = ("Pass the ICT-FaceKit folder downloaded from its repository, its FaceXModel "
               "folder, or the zip of either.")


class _Files:
    """The FaceXModel files of an ICT-FaceKit folder or zip, read by file name."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"ICT-FaceKit not found at {self.path}.", IMPORT_HINT)
        self._zip = None
        if self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputError(f"{self.path} is not a readable zip file ({exc}).", IMPORT_HINT) from None
            names = [n for n in self._zip.namelist() if n.endswith("/" + NEUTRAL) or n == NEUTRAL]
            if not names:
                raise InputError(f"{self.path} holds no FaceXModel/{NEUTRAL}.", IMPORT_HINT)
            self._prefix = min(names, key=len)[: -len(NEUTRAL)]
            self.names = sorted(n[len(self._prefix):] for n in self._zip.namelist()
                                if n.startswith(self._prefix) and "/" not in n[len(self._prefix):])
        else:
            folder = self.path / "FaceXModel" if (self.path / "FaceXModel").is_dir() else self.path
            if not (folder / NEUTRAL).is_file():
                raise InputError(f"{self.path} holds no {NEUTRAL} (nor FaceXModel/{NEUTRAL}).",
                                 IMPORT_HINT)
            self._folder = folder
            self.names = sorted(p.name for p in folder.iterdir() if p.is_file())

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        return (self._folder / name).read_bytes()

    def where(self, name: str) -> str:
        return f"{self.path}:{self._prefix}{name}" if self._zip is not None else str(self._folder / name)


def _obj_vertices(data: bytes, where: str) -> np.ndarray:
    """(V, 3) float64 from an OBJ's ``v`` lines, parsed by numpy (about 20 ms for 27k)."""
    lines = re.findall(rb"^v[ \t]+([^\n\r]*)", data, re.M)
    values = np.fromstring(b" ".join(lines), sep=" ")  # noqa: NPY201 (text mode is not deprecated)
    if len(lines) == 0 or values.size != 3 * len(lines):
        raise InputError(f"{where} does not look like an ICT-FaceKit mesh (unreadable vertices).",
                         IMPORT_HINT)
    return values.reshape(-1, 3)


def _obj_polygons(data: bytes) -> tuple[np.ndarray, list[tuple[str, list[int], list[int]]]]:
    """UVs (T, 2) and polygons (material, vertex indices, uv indices), 0-based."""
    uvs = np.fromstring(b" ".join(re.findall(rb"^vt[ \t]+([^\n\r]*)", data, re.M)), sep=" ")
    polygons = []
    material = ""
    for line in re.findall(rb"^(?:usemtl|f)[ \t][^\n\r]*", data, re.M):
        if line.startswith(b"usemtl"):
            material = line.split()[1].decode()
            continue
        corners = [c.split(b"/") for c in line.split()[1:]]
        polygons.append((material, [int(c[0]) - 1 for c in corners], [int(c[1]) - 1 for c in corners]))
    return uvs.reshape(-1, 2), polygons


def _triangulated(polygons, uvs: np.ndarray, kept: np.ndarray):
    """Triangles (F, 3), UVs packed into one atlas (T, 2), uv faces (F, 3), over kept vertices,
    and triangles per polygon (P,) uint8: each polygon is a fan from its first corner."""
    faces, uv_keys, polygon_triangles = [], [], []
    rect_ids = {m: i for i, m in enumerate(ATLAS)}
    for material, vids, tids in polygons:
        if material not in KEPT_MATERIALS:
            continue
        polygon_triangles.append(len(vids) - 2)
        for k in range(1, len(vids) - 1):
            faces.append((vids[0], vids[k], vids[k + 1]))
            uv_keys.append([(rect_ids[material], tids[j]) for j in (0, k, k + 1)])
    faces = np.array(faces, np.int64)
    if not kept[faces].all():
        raise InputError("The ICT-FaceKit mesh does not have upstream's layout of parts.", IMPORT_HINT)
    remap = np.cumsum(kept) - 1
    keys = np.array(uv_keys, np.int64).reshape(-1, 2)
    unique, inverse = np.unique(keys[:, 0] * len(uvs) + keys[:, 1], return_inverse=True)
    rect, tid = unique // len(uvs), unique % len(uvs)
    origin = np.array([ATLAS[m][:2] for m in ATLAS])[rect]
    size = np.array([ATLAS[m][2] for m in ATLAS])[rect]
    packed = origin + (uvs[tid] - np.floor(uvs[tid])) * size[:, None]
    # Tiles are upstream's UDIMs: u in [n, n+1). floor() maps each into 0..1 before packing.
    return (remap[faces].astype(np.int32), packed.astype(np.float32),
            inverse.reshape(-1, 3).astype(np.int32), np.array(polygon_triangles, np.uint8))


def _expression_name(stem: str) -> str:
    for suffix, side in (("_L", "Left"), ("_R", "Right")):
        if stem.endswith(suffix) and stem[:-2] + side in ARKIT_BLENDSHAPES:
            return stem[:-2] + side
    return stem


def read_ict(path: Path, *, embed: bool = True, model_id: str = "ict-facekit") -> MorphableModel:
    """Read ICT-FaceKit at ``path`` (folder, FaceXModel folder or zip) as a MorphableModel.

    ``embed=False`` skips deriving the mediapipe landmark embedding (which renders and detects;
    about 10 s): enough for ground truth in benchmarks.
    """
    files = _Files(path)
    neutral_data = files.read(NEUTRAL)
    neutral = _obj_vertices(neutral_data, files.where(NEUTRAL))
    if len(neutral) != VERTEX_COUNT:
        raise InputError(f"{files.where(NEUTRAL)} has {len(neutral)} vertices; ICT-FaceKit's "
                         f"head has {VERTEX_COUNT}.", IMPORT_HINT)
    uvs, polygons = _obj_polygons(neutral_data)
    kept = np.zeros(VERTEX_COUNT, bool)
    kept[:REGION_RANGES[-1][2]] = True
    faces, packed_uvs, uv_faces, polygon_triangles = _triangulated(polygons, uvs, kept)
    regions = np.zeros(int(kept.sum()), np.uint8)
    for name, start, end in REGION_RANGES:
        regions[start:end] = REGION_NAMES.index(name)
    _mark_cornea(neutral * CM, regions)

    def deltas(name: str) -> np.ndarray:
        shape = _obj_vertices(files.read(name), files.where(name))
        if shape.shape != neutral.shape:
            raise InputError(f"{files.where(name)} has {len(shape)} vertices, not {VERTEX_COUNT}.",
                             "Every OBJ in FaceXModel must share the neutral mesh's topology.")
        return ((shape - neutral)[kept] * CM).astype(np.float32)

    identity_files = sorted((n for n in files.names if re.fullmatch(r"identity\d+\.obj", n)),
                            key=lambda n: int(n[8:-4]))
    if not identity_files:
        raise InputError(f"{path} holds no identityNNN.obj shapes.", IMPORT_HINT)
    expression_files = sorted(n for n in files.names if n.endswith(".obj") and n != NEUTRAL
                              and n not in identity_files)
    log.info("Reading %d identity and %d expression shapes", len(identity_files),
             len(expression_files))
    identity = np.stack([deltas(n) for n in identity_files])
    raw = {n[:-4]: deltas(n) for n in expression_files}
    shapes: dict[str, np.ndarray] = {}
    for arkit, halves in SUMMED.items():
        if all(h in raw for h in halves):
            shapes[arkit] = raw.pop(halves[0]) + raw.pop(halves[1])
    for stem, delta in raw.items():
        shapes[_expression_name(stem)] = delta
    ordered = [n for n in ARKIT_BLENDSHAPES if n in shapes] + sorted(n for n in shapes
                                                                     if n not in ARKIT_BLENDSHAPES)
    ibug_faces, ibug_bary = _ibug_embedding(files, faces)
    model = MorphableModel(
        model_id=model_id, vertices_m=neutral[kept] * CM, faces=faces, uvs=packed_uvs,
        uv_faces=uv_faces, region_names=list(REGION_NAMES), vertex_regions=regions,
        identity_names=[n[:-4] for n in identity_files], identity_basis_m=identity,
        expression_names=ordered, expression_deltas_m=np.stack([shapes[n] for n in ordered]),
        landmark_faces=np.full(478, -1, np.int32), landmark_bary=np.zeros((478, 3), np.float32),
        ibug_faces=ibug_faces, ibug_bary=ibug_bary,
        info={"source": "ICT-FaceKit, USC Institute for Creative Technologies, Vision and "
                        "Graphics Lab (https://github.com/ICT-VGL/ICT-FaceKit)",
              "licence": "MIT", "licence_text": _licence_notice(neutral_data),
              "imported_from": str(Path(path).resolve()), "identity_components": len(identity_files),
              "dropped": "lacrimal fluid, eye blend, eye occlusion, eyelashes",
              "missing_arkit": [n for n in ARKIT_BLENDSHAPES if n not in shapes]},
        polygon_triangles=polygon_triangles)
    if embed:
        from revive_core.avatar.model.embedding import derive_mediapipe_embedding

        model.landmark_faces, model.landmark_bary = derive_mediapipe_embedding(model)
    return model


def _mark_cornea(vertices: np.ndarray, regions: np.ndarray) -> None:
    """Relabel each sclera mesh's front as iris and pupil (in place), by angle from forward."""
    for side in ("left", "right"):
        sclera = np.flatnonzero(regions == REGION_NAMES.index(f"eye_sclera_{side}"))
        points = vertices[sclera]
        # Least-squares sphere: |p|^2 = 2 c.p + (r^2 - |c|^2).
        solution = np.linalg.lstsq(np.c_[2 * points, np.ones(len(points))], (points**2).sum(1),
                                   rcond=None)[0]
        offset = points - solution[:3]
        angle = np.degrees(np.arccos(offset[:, 2] / np.linalg.norm(offset, axis=1)))
        regions[sclera[angle < IRIS_DEG]] = REGION_NAMES.index(f"eye_iris_{side}")
        regions[sclera[angle < PUPIL_DEG]] = REGION_NAMES.index(f"eye_pupil_{side}")


def _licence_notice(obj: bytes) -> str:
    """Upstream's MIT notice, from the comment block that opens every ICT-FaceKit OBJ."""
    lines = []
    for line in obj[:8192].decode("utf-8", "replace").splitlines():
        if not line.startswith("#"):
            break
        text = line.strip("# ").rstrip("#").strip()
        if text:
            lines.append(text)
    return " ".join(lines)


def _ibug_embedding(files: _Files, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 68 Multi-PIE points: upstream's landmark vertices, from vertex_indices.json."""
    name = "vertex_indices.json"
    if name not in files.names:
        raise InputError(f"{files.path} has no FaceXModel/{name} (it lists the 68 landmarks).",
                         IMPORT_HINT)
    try:
        indices = np.array(json.loads(files.read(name))["idx_to_landmark_verts"], np.int64)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{files.where(name)} is not readable ({exc}).", IMPORT_HINT) from None
    if indices.shape != (68,):
        raise InputError(f"{files.where(name)} lists {indices.size} landmarks, not 68.", IMPORT_HINT)
    return vertex_embedding(indices, faces)
