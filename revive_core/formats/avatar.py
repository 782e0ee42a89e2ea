"""The Avatar format: a rigged, textured head in a folder (or a zip of it).

Files:
    avatar.json      format "revive.avatar", version, name, units "m", axes, model id, counts,
                     blendshape and region names, files, provenance, consent, optional portrait
    mesh.npz         vertices (V,3) f32, faces (F,3) i32, uvs (T,2) f32, uv_faces (F,3) i32,
                     vertex_regions (V,) u8, landmark_faces (L,) i32 (-1: not on the mesh),
                     landmark_bary (L,3) f32, optional polygon_triangles (P,) u8: how many
                     consecutive faces make up each polygon, a fan from its first corner
                     (2: a quad (a,b,c),(a,c,d)); sums to F. Absent: every face is a triangle;
                     optional hair_weights (V,) f32 0..1: how much hair covers each vertex
                     (where a renderer grows hair strands); absent: no hair
    blendshapes.npz  deltas (K,V,3) f32, in the order of avatar.json's blendshapes
    albedo.png       the skin texture
    portrait.png     optional: the source photo the portrait camera looks through
    avatar.glb       optional: the same head as glTF with morph targets

Axes: right-handed, +Y up, the face looks toward +Z, metres (glTF's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .polygons import polygon_problem
from .storage import Source, atomic_directory, dumps_json, finite_number, npz_bytes, png_size, require

__all__ = ["AVATAR_FORMAT", "AVATAR_VERSION", "Avatar", "read_avatar", "write_avatar"]

AVATAR_FORMAT = "revive.avatar"
AVATAR_VERSION = 1
MAX_VERTICES = 2_000_000
MAX_BLENDSHAPES = 1024
MAX_PNG_BYTES = 256 * 1024**2
AXES = {"up": "+Y", "forward": "+Z", "handedness": "right"}


@dataclass
class Avatar:
    """A head: mesh, UVs, ARKit-named blendshapes, texture, and where it came from."""

    name: str
    vertices_m: np.ndarray  # (V, 3) float32, metres, +Y up, face toward +Z
    faces: np.ndarray  # (F, 3) int32 vertex indices, counter-clockwise seen from outside
    uvs: np.ndarray  # (T, 2) float32, origin bottom-left (glTF flips v on export)
    uv_faces: np.ndarray  # (F, 3) int32 indices into uvs
    region_names: list[str]
    vertex_regions: np.ndarray  # (V,) uint8 index into region_names
    landmark_faces: np.ndarray  # (L,) int32 face index per landmark, -1 where not on the mesh
    landmark_bary: np.ndarray  # (L, 3) float32 barycentric weights in that face
    blendshape_names: list[str]
    blendshape_deltas_m: np.ndarray  # (K, V, 3) float32, metres
    albedo_png: bytes
    model_id: str
    consent: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    portrait: dict[str, Any] | None = None  # camera of the source photo: see DESIGN.md
    portrait_png: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, kept through a round trip
    # (P,) uint8 faces per polygon (fans, see polygons.py); None: every face is a triangle
    polygon_triangles: np.ndarray | None = None
    hair_weights: np.ndarray | None = None  # (V,) float32 0..1; None: no hair

    @property
    def vertex_count(self) -> int:
        return int(self.vertices_m.shape[0])

    def shape(self, weights: Mapping[str, float]) -> np.ndarray:
        """Vertices (V, 3) with the named blendshapes applied at the given weights."""
        vertices = self.vertices_m.astype(np.float64)
        index = {n: i for i, n in enumerate(self.blendshape_names)}
        for name, weight in weights.items():
            if name in index and weight:
                vertices = vertices + weight * self.blendshape_deltas_m[index[name]]
        return vertices


def write_avatar(avatar: Avatar, folder: Path, *, extra_files: Mapping[str, bytes] = ()) -> Path:
    """Write ``avatar`` to ``folder`` atomically (a previous avatar there is replaced whole)."""
    _check_arrays(avatar, Path(folder))
    _check_polygons(avatar, Path(folder))
    files = {"mesh": "mesh.npz", "blendshapes": "blendshapes.npz", "albedo": "albedo.png"}
    if avatar.portrait_png is not None:
        files["portrait"] = "portrait.png"
    for name in dict(extra_files):
        files[Path(name).stem] = name
    document = {
        "format": AVATAR_FORMAT,
        "version": AVATAR_VERSION,
        "name": avatar.name,
        "units": "m",
        "axes": AXES,
        "model": avatar.model_id,
        "vertex_count": avatar.vertex_count,
        "face_count": int(avatar.faces.shape[0]),
        "landmark_count": int(avatar.landmark_faces.shape[0]),
        "blendshapes": list(avatar.blendshape_names),
        "regions": list(avatar.region_names),
        "files": files,
        "provenance": avatar.provenance,
        "consent": avatar.consent,
        "portrait": avatar.portrait,
        "extra": avatar.extra,
    }
    mesh = {
        "vertices": avatar.vertices_m.astype(np.float32),
        "faces": avatar.faces.astype(np.int32),
        "uvs": avatar.uvs.astype(np.float32),
        "uv_faces": avatar.uv_faces.astype(np.int32),
        "vertex_regions": avatar.vertex_regions.astype(np.uint8),
        "landmark_faces": avatar.landmark_faces.astype(np.int32),
        "landmark_bary": avatar.landmark_bary.astype(np.float32),
    }
    if avatar.polygon_triangles is not None:
        mesh["polygon_triangles"] = avatar.polygon_triangles.astype(np.uint8)
    if avatar.hair_weights is not None:
        mesh["hair_weights"] = avatar.hair_weights.astype(np.float32)
    with atomic_directory(Path(folder)) as tmp:
        (tmp / "avatar.json").write_bytes(dumps_json(document))
        (tmp / "mesh.npz").write_bytes(npz_bytes(mesh))
        (tmp / "blendshapes.npz").write_bytes(
            npz_bytes({"deltas": avatar.blendshape_deltas_m.astype(np.float32)}))
        (tmp / "albedo.png").write_bytes(avatar.albedo_png)
        if avatar.portrait_png is not None:
            (tmp / "portrait.png").write_bytes(avatar.portrait_png)
        for name, data in dict(extra_files).items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # e.g. sources/frame_01.png
            (tmp / name).write_bytes(data)
    return Path(folder)


def read_avatar(path: Path) -> Avatar:
    """Read and validate an avatar folder or zip; raise FormatError naming what is wrong."""
    source = Source(Path(path), "Avatar")
    doc = source.json("avatar.json", AVATAR_FORMAT, AVATAR_VERSION)
    where = source.path / "avatar.json"
    for key, kind in (("name", str), ("model", str), ("blendshapes", list), ("regions", list),
                      ("consent", dict)):
        require(isinstance(doc.get(key), kind), where, f"'{key}' is missing or not a {kind.__name__}.")
    require(doc.get("units") == "m", where, f"units must be 'm', found {doc.get('units')!r}.")
    require(all(isinstance(n, str) for n in doc["blendshapes"] + doc["regions"]), where,
            "blendshape and region names must be strings.")
    mesh = source.npz("mesh.npz", {
        "vertices": ("f", 2), "faces": ("iu", 2), "uvs": ("f", 2), "uv_faces": ("iu", 2),
        "vertex_regions": ("iu", 1), "landmark_faces": ("iu", 1), "landmark_bary": ("f", 2)},
        optional={"polygon_triangles": ("iu", 1), "hair_weights": ("f", 1)})
    deltas = source.npz("blendshapes.npz", {"deltas": ("f", 3)})["deltas"]
    albedo = source.read("albedo.png", MAX_PNG_BYTES)
    require(_is_png(albedo), source.path / "albedo.png", "is not a PNG image.")
    portrait_png = None
    if source.has("portrait.png"):
        portrait_png = source.read("portrait.png", MAX_PNG_BYTES)
        require(_is_png(portrait_png), source.path / "portrait.png", "is not a PNG image.")
    portrait = doc.get("portrait")
    require(portrait is None or (isinstance(portrait, dict) and all(
        finite_number(portrait.get(k)) for k in ("focal_px", "cx", "cy", "width", "height"))),
        where, "'portrait' must hold the camera's focal_px, cx, cy, width and height.")
    avatar = Avatar(
        name=doc["name"], vertices_m=mesh["vertices"].astype(np.float32),
        faces=mesh["faces"].astype(np.int32), uvs=mesh["uvs"].astype(np.float32),
        uv_faces=mesh["uv_faces"].astype(np.int32), region_names=list(doc["regions"]),
        vertex_regions=mesh["vertex_regions"].astype(np.uint8),
        landmark_faces=mesh["landmark_faces"].astype(np.int32),
        landmark_bary=mesh["landmark_bary"].astype(np.float32),
        blendshape_names=list(doc["blendshapes"]), blendshape_deltas_m=deltas.astype(np.float32),
        albedo_png=albedo, model_id=doc["model"], consent=doc["consent"],
        provenance=doc.get("provenance") or {}, portrait=portrait, portrait_png=portrait_png,
        extra=doc.get("extra") or {}, polygon_triangles=mesh.get("polygon_triangles"),
        hair_weights=mesh.get("hair_weights"))
    _check_arrays(avatar, source.path)
    _check_polygons(avatar, source.path / "mesh.npz")
    if avatar.polygon_triangles is not None:
        avatar.polygon_triangles = avatar.polygon_triangles.astype(np.uint8)
    if avatar.hair_weights is not None:
        hair = avatar.hair_weights
        require(hair.shape == (avatar.vertex_count,) and bool(np.all((hair >= 0) & (hair <= 1))),
                source.path / "mesh.npz", "hair_weights must be one number 0..1 per vertex.")
        avatar.hair_weights = hair.astype(np.float32)
    require(doc.get("vertex_count") == avatar.vertex_count, where,
            f"vertex_count {doc.get('vertex_count')} does not match mesh.npz ({avatar.vertex_count}).")
    return avatar


def _is_png(data: bytes) -> bool:
    try:
        width, height = png_size(data)
    except Exception:
        return False
    return 0 < width <= 16384 and 0 < height <= 16384


def _check_arrays(a: Avatar, path: Path) -> None:
    v = a.vertices_m.shape[0] if a.vertices_m.ndim == 2 else -1
    require(a.vertices_m.ndim == 2 and a.vertices_m.shape[1] == 3 and 3 <= v <= MAX_VERTICES,
            path, f"vertices must be (V, 3) with 3 <= V <= {MAX_VERTICES}, got {a.vertices_m.shape}.")
    require(a.faces.ndim == 2 and a.faces.shape[1] == 3 and a.faces.shape[0] >= 1, path,
            f"faces must be (F, 3) triangles, got {a.faces.shape}.")
    require(int(a.faces.min()) >= 0 and int(a.faces.max()) < v, path,
            "faces refer to vertices that do not exist.")
    require(a.uvs.ndim == 2 and a.uvs.shape[1] == 2 and a.uvs.shape[0] >= 1, path,
            f"uvs must be (T, 2), got {a.uvs.shape}.")
    require(a.uv_faces.shape == a.faces.shape, path, "uv_faces must have the shape of faces.")
    require(int(a.uv_faces.min()) >= 0 and int(a.uv_faces.max()) < a.uvs.shape[0], path,
            "uv_faces refer to UVs that do not exist.")
    require(a.vertex_regions.shape == (v,), path, "vertex_regions needs one entry per vertex.")
    require(int(a.vertex_regions.max(initial=0)) < max(len(a.region_names), 1), path,
            "vertex_regions refer to regions that are not named.")
    lm = a.landmark_faces.shape[0]
    require(a.landmark_bary.shape == (lm, 3), path, "landmark_bary must be (L, 3).")
    require(int(a.landmark_faces.max(initial=-1)) < a.faces.shape[0]
            and int(a.landmark_faces.min(initial=0)) >= -1, path,
            "landmark_faces refer to faces that do not exist.")
    k = len(a.blendshape_names)
    require(k <= MAX_BLENDSHAPES and len(set(a.blendshape_names)) == k, path,
            f"blendshape names must be unique and at most {MAX_BLENDSHAPES}.")
    require(a.blendshape_deltas_m.shape == (k, v, 3), path,
            f"blendshape deltas must be ({k}, {v}, 3), got {a.blendshape_deltas_m.shape}.")
    for name, array in (("vertices", a.vertices_m), ("uvs", a.uvs),
                        ("blendshape deltas", a.blendshape_deltas_m)):
        require(bool(np.isfinite(array).all()), path, f"{name} contain NaN or infinite values.")
    require(isinstance(a.consent, dict) and bool(a.consent.get("authorised_by")), path,
            "the consent record (who authorised this avatar) is missing.")


def _check_polygons(a: Avatar, path: Path) -> None:
    """The polygons, when stored, must be fans of consecutive faces (see polygons.py)."""
    if a.polygon_triangles is not None:
        problem = polygon_problem(a.polygon_triangles, a.faces, a.uv_faces)
        require(problem is None, path, problem or "")
