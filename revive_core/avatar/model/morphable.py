"""The morphable model format shared by every face model Revive can fit, and its files.

Axes: right-handed, +Y up, the face looks toward +Z, metres. "Left" in blendshape names is the
subject's own left, which is +X.

On disk a model is a folder (or a zip of one) with two files:

    model.json   format "revive.morphable-model", version, model id, units "m", axes, counts,
                 identity, expression and region names, info (source, licence, credits)
    model.npz    vertices (V,3) f32, faces (F,3) i32, uvs (T,2) f32, uv_faces (F,3) i32,
                 vertex_regions (V,) u8, identity (I,V,3) f32 or f16, expressions (E,V,3)
                 f32 or f16 (f16 halves a shipped model; loaded as f32),
                 landmark_faces (478,) i32, landmark_bary (478,3) f32,
                 ibug_faces (68,) i32, ibug_bary (68,3) f32, optional polygon_triangles (P,) u8:
                 how many consecutive faces make up each polygon, a fan from its first corner
                 (2: a quad (a,b,c),(a,c,d)); sums to F. Absent: every face is a triangle
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from revive_core.formats.polygons import polygon_problem
from revive_core.formats.storage import Source, atomic_directory, dumps_json, npz_bytes, require

__all__ = ["MorphableModel", "MODEL_FORMAT", "MODEL_VERSION", "save_model", "load_model"]

MODEL_FORMAT = "revive.morphable-model"
MODEL_VERSION = 1
AXES = {"up": "+Y", "forward": "+Z", "handedness": "right"}


@dataclass
class MorphableModel:
    """A neutral mesh with an identity basis (with priors) and ARKit-named expression shapes."""

    model_id: str
    vertices_m: np.ndarray  # (V, 3) neutral mean shape
    faces: np.ndarray  # (F, 3) int32, counter-clockwise seen from outside
    uvs: np.ndarray  # (T, 2) float32, origin bottom-left
    uv_faces: np.ndarray  # (F, 3) int32
    region_names: list[str]
    vertex_regions: np.ndarray  # (V,) uint8
    identity_names: list[str]
    identity_basis_m: np.ndarray  # (I, V, 3): one standard deviation of each component
    expression_names: list[str]
    expression_deltas_m: np.ndarray  # (E, V, 3) at full activation (weight 1)
    landmark_faces: np.ndarray  # (478,) int32 face per mediapipe landmark, -1 if not on the mesh
    landmark_bary: np.ndarray  # (478, 3) float32
    ibug_faces: np.ndarray = field(default_factory=lambda: np.full(68, -1, np.int32))  # (68,)
    ibug_bary: np.ndarray = field(default_factory=lambda: np.zeros((68, 3), np.float32))
    info: dict[str, Any] = field(default_factory=dict)  # source, licence, credits, notes
    # (P,) uint8 faces per polygon (fans, see formats/polygons.py); None: all triangles
    polygon_triangles: np.ndarray | None = None

    def shape(self, identity: np.ndarray | None = None,
              expression: Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
        """Vertices (V, 3) for identity coefficients (in standard deviations) and expression weights."""
        vertices = self.vertices_m.astype(np.float64)
        if identity is not None:
            vertices = vertices + np.tensordot(np.asarray(identity, float), self.identity_basis_m, 1)
        if expression is not None:
            if isinstance(expression, Mapping):
                index = {n: i for i, n in enumerate(self.expression_names)}
                weights = np.zeros(len(self.expression_names))
                for name, value in expression.items():
                    weights[index[name]] = value
            else:
                weights = np.asarray(expression, float)
            vertices = vertices + np.tensordot(weights, self.expression_deltas_m, 1)
        return vertices

    def landmarks(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (478, 3) of the mediapipe landmarks on ``vertices`` and a mask of which exist."""
        return embedded_points(vertices, self.faces, self.landmark_faces, self.landmark_bary)

    def ibug_landmarks(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (68, 3) of the iBUG / Multi-PIE points on ``vertices`` and a mask of which exist."""
        return embedded_points(vertices, self.faces, self.ibug_faces, self.ibug_bary)

    def region_mask(self, *names: str) -> np.ndarray:
        """(V,) bool: vertices in any of the named regions (names the model lacks are skipped)."""
        wanted = [self.region_names.index(n) for n in names if n in self.region_names]
        return np.isin(self.vertex_regions, wanted)


def embedded_points(vertices: np.ndarray, faces: np.ndarray, point_faces: np.ndarray,
                    point_bary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (L, 3) given by a face and barycentric weights each, and (L,) mask of those on the mesh."""
    mask = point_faces >= 0
    corners = vertices[faces[np.where(mask, point_faces, 0)]]  # (L, 3, 3)
    points = np.einsum("lk,lkd->ld", point_bary.astype(np.float64), corners)
    return points, mask


def save_model(model: MorphableModel, folder: Path, *, shape_dtype: type = np.float32) -> Path:
    """Write ``model`` to ``folder`` atomically (a model already there is replaced whole).

    ``shape_dtype=np.float16`` stores the identity and expression shapes at half precision
    (0.1 micrometre steps on shapes of a few centimetres), for a model that ships.
    """
    document = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "model_id": model.model_id,
        "units": "m",
        "axes": AXES,
        "vertex_count": int(len(model.vertices_m)),
        "face_count": int(len(model.faces)),
        "identity": list(model.identity_names),
        "expressions": list(model.expression_names),
        "regions": list(model.region_names),
        "info": model.info,
    }
    arrays = {
        "vertices": model.vertices_m.astype(np.float32),
        "faces": model.faces.astype(np.int32),
        "uvs": model.uvs.astype(np.float32),
        "uv_faces": model.uv_faces.astype(np.int32),
        "vertex_regions": model.vertex_regions.astype(np.uint8),
        "identity": model.identity_basis_m.astype(shape_dtype),
        "expressions": model.expression_deltas_m.astype(shape_dtype),
        "landmark_faces": model.landmark_faces.astype(np.int32),
        "landmark_bary": model.landmark_bary.astype(np.float32),
        "ibug_faces": model.ibug_faces.astype(np.int32),
        "ibug_bary": model.ibug_bary.astype(np.float32),
    }
    if model.polygon_triangles is not None:
        problem = polygon_problem(model.polygon_triangles, model.faces, model.uv_faces)
        require(problem is None, Path(folder) / "model.npz", problem or "")
        arrays["polygon_triangles"] = model.polygon_triangles.astype(np.uint8)
    with atomic_directory(Path(folder)) as tmp:
        (tmp / "model.json").write_bytes(dumps_json(document))
        (tmp / "model.npz").write_bytes(npz_bytes(arrays))
    return Path(folder)


def load_model(path: Path) -> MorphableModel:
    """Read and validate a model folder or zip; raise FormatError naming what is wrong."""
    source = Source(Path(path), "Face model")
    doc = source.json("model.json", MODEL_FORMAT, MODEL_VERSION)
    where = source.path / "model.json"
    for key, kind in (("model_id", str), ("identity", list), ("expressions", list),
                      ("regions", list)):
        require(isinstance(doc.get(key), kind), where, f"'{key}' is missing or not a {kind.__name__}.")
    require(doc.get("units") == "m", where, f"units must be 'm', found {doc.get('units')!r}.")
    a = source.npz("model.npz", {
        "vertices": ("f", 2), "faces": ("iu", 2), "uvs": ("f", 2), "uv_faces": ("iu", 2),
        "vertex_regions": ("iu", 1), "identity": ("f", 3), "expressions": ("f", 3),
        "landmark_faces": ("iu", 1), "landmark_bary": ("f", 2), "ibug_faces": ("iu", 1),
        "ibug_bary": ("f", 2)}, optional={"polygon_triangles": ("iu", 1)})
    v, f = a["vertices"], a["faces"]
    where = source.path / "model.npz"
    require(v.shape[1:] == (3,) and f.shape[1:] == (3,) and len(f) > 0, where,
            "vertices and faces must be (V, 3) and (F, 3).")
    require(int(f.min()) >= 0 and int(f.max()) < len(v), where, "faces refer to missing vertices.")
    require(a["uv_faces"].shape == f.shape and int(a["uv_faces"].max()) < len(a["uvs"]), where,
            "uv_faces must match faces and refer to existing UVs.")
    require(a["vertex_regions"].shape == (len(v),)
            and int(a["vertex_regions"].max(initial=0)) < max(len(doc["regions"]), 1), where,
            "vertex_regions need one named region per vertex.")
    require(a["identity"].shape == (len(doc["identity"]), len(v), 3), where,
            "the identity basis does not match the names in model.json.")
    require(a["expressions"].shape == (len(doc["expressions"]), len(v), 3), where,
            "the expression shapes do not match the names in model.json.")
    for name in ("landmark", "ibug"):
        faces_, bary = a[f"{name}_faces"], a[f"{name}_bary"]
        require(bary.shape == (len(faces_), 3) and int(faces_.max(initial=-1)) < len(f)
                and int(faces_.min(initial=0)) >= -1, where,
                f"{name} embedding refers to faces that do not exist.")
    polygons = a.get("polygon_triangles")
    if polygons is not None:
        problem = polygon_problem(polygons, f, a["uv_faces"])
        require(problem is None, where, problem or "")
        polygons = polygons.astype(np.uint8)
    return MorphableModel(
        model_id=doc["model_id"], vertices_m=v.astype(np.float64), faces=f.astype(np.int32),
        uvs=a["uvs"].astype(np.float32), uv_faces=a["uv_faces"].astype(np.int32),
        region_names=list(doc["regions"]), vertex_regions=a["vertex_regions"].astype(np.uint8),
        identity_names=list(doc["identity"]), identity_basis_m=a["identity"].astype(np.float32),
        expression_names=list(doc["expressions"]),
        expression_deltas_m=a["expressions"].astype(np.float32),
        landmark_faces=a["landmark_faces"].astype(np.int32),
        landmark_bary=a["landmark_bary"].astype(np.float32),
        ibug_faces=a["ibug_faces"].astype(np.int32), ibug_bary=a["ibug_bary"].astype(np.float32),
        info=doc.get("info") if isinstance(doc.get("info"), dict) else {},
        polygon_triangles=polygons)
