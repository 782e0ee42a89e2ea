"""Build an avatar from photos: detect -> fit -> texture -> hair -> Avatar folder (with avatar.glb)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from revive_core import __version__
from revive_core.avatar.detect import detect_face
from revive_core.avatar.fit.solve import FitResult, fit_model
from revive_core.formats import Avatar, write_avatar
from revive_core.avatar.gltf import avatar_glb
from revive_core.avatar.hair import BROWS, Hair, estimate_hair, grow_hair, hair_candidates, paint_hair
from revive_core.avatar.model import MorphableModel
from revive_core.avatar.model.registry import find_model
from revive_core.avatar.segment import person_mask
from revive_core.avatar.texture import CompletionSettings, PhotoView, TextureResult, bake_texture
from revive_core.avatar.texture.project import INNER_LIPS
from revive_core.avatar.texture.uv import uv_layout

__all__ = ["build_avatar", "avatar_from_fit", "hair_for_fit"]

log = logging.getLogger(__name__)
Step = Callable[[str], None]


def build_avatar(photos: list[Path], out: Path, *, consent: dict, name: str | None = None,
                 texture_size: int = 1024, model: str | MorphableModel = "default",
                 texture_method: str = "gan",
                 texture_generator: Path | None = None, texture_seed: int = 0,
                 texture_grain: float = 0.5, step: Step = lambda _: None) -> Avatar:
    """Build and write an avatar from ``photos`` of one person; returns it.

    ``model`` is an installed model's name (``default``, ``builtin``, ``ict``), a model folder, or a model.
    ``texture_method`` is ``gan`` (unseen skin completed by a GAN, default), ``delit`` (filled
    smoothly; quicker) or ``blur`` (photos' lighting kept); ``texture_generator`` is a file of
    pretrained generator weights; ``texture_seed`` seeds the GAN; ``texture_grain`` (0..1) is
    the strength of the grain it invents.
    """
    model = find_model(model) if isinstance(model, str) else model
    step("Finding the face in each photo")
    detections = [detect_face(Path(p)) for p in photos]
    step("Fitting the face model")
    fit = fit_model(model, detections)
    for note in fit.notes:
        log.warning(note)
    step("Painting the skin texture")
    face_regions = model.vertex_regions[model.faces].max(1)
    texture = bake_texture(
        model.faces, model.uvs, model.uv_faces, face_regions,
        [PhotoView(p.detection.image, p.camera, p.vertices(model, fit.identity),
                   mouth_px=p.detection.landmarks_px[list(INNER_LIPS), :2],
                   landmarks_px=p.detection.landmarks_px) for p in fit.photos],
        size=texture_size, region_names=model.region_names, rest_vertices_m=fit.neutral_vertices,
        method=texture_method, completion=CompletionSettings(
            seed=texture_seed, generator_path=texture_generator, grain=texture_grain))
    hair = hair_for_fit(fit)
    texture = dataclasses.replace(texture, albedo=paint_hair(
        texture.albedo, texture.confidence,
        uv_layout(model.uvs, model.uv_faces, texture_size, faces=model.faces,
                  vertices_m=fit.neutral_vertices), model.faces, hair, seed=texture_seed))
    avatar = avatar_from_fit(fit, texture, consent=consent, name=name or Path(out).name,
                             sources=[Path(p) for p in photos],
                             vertices_m=grow_hair(fit.neutral_vertices, model.faces, hair),
                             hair=hair)
    step("Writing the avatar")
    write_avatar(avatar, out, extra_files={"avatar.glb": avatar_glb(avatar), **texture.files()})
    return avatar


def hair_for_fit(fit: FitResult) -> Hair:
    """The hair seen in the first (best-weighted) photo, on the fitted head."""
    model: MorphableModel = fit.model
    photo = max(fit.photos, key=lambda p: p.weight)
    neutral = fit.neutral_vertices
    brows, _ = model.landmarks(neutral)
    ibug, _ = model.ibug_landmarks(neutral)
    skin = [model.region_names.index(n) for n in ("face", "face_side", "scalp")
            if n in model.region_names]
    candidates, hidden_ok = hair_candidates(neutral, model.vertex_regions, skin, ibug,
                                            brow_y_m=float(brows[list(BROWS), 1].max()))
    image = photo.detection.image
    return estimate_hair(image, photo.detection.landmarks_px, photo.camera,
                         photo.vertices(model, fit.identity), model.faces, candidates,
                         hidden_ok, person_mask(image))


def avatar_from_fit(fit: FitResult, texture: TextureResult, *, consent: dict, name: str,
                    sources: list[Path], vertices_m: np.ndarray | None = None,
                    hair: Hair | None = None) -> Avatar:
    """The Avatar of a fit and its texture; ``vertices_m`` replaces the fit's rest shape (the
    head with its hair volume); ``hair`` is recorded (weights per vertex, and its summary)."""
    model: MorphableModel = fit.model
    first = fit.photos[0]
    provenance = {
        "tool": f"revive {__version__}",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": [{"file": p.name, "sha256": _sha256(p)} for p in sources],
        "fit": [{"file": p.detection.path.name, "landmark_rms_px": round(p.rms_px, 3),
                 "weight": round(p.weight, 3),
                 "expression": {n: round(float(w), 4) for n, w in
                                zip(model.expression_names, p.expression) if w > 0.01}}
                for p in fit.photos],
        "fit_notes": list(fit.notes),
        "identity": [round(float(x), 4) for x in fit.identity],
        "model": {k: model.info[k] for k in ("source", "licence", "licence_text") if k in model.info},
    }
    return Avatar(
        name=name, vertices_m=(fit.neutral_vertices if vertices_m is None else vertices_m
                               ).astype(np.float32), faces=model.faces,
        uvs=model.uvs, uv_faces=model.uv_faces, region_names=model.region_names,
        vertex_regions=model.vertex_regions, landmark_faces=model.landmark_faces,
        landmark_bary=model.landmark_bary, blendshape_names=list(model.expression_names),
        blendshape_deltas_m=model.expression_deltas_m.astype(np.float32),
        albedo_png=_png(texture.albedo), model_id=model.model_id, consent=consent,
        provenance=provenance,
        portrait={**first.camera.to_dict(),
                  "expression": {n: float(w) for n, w in zip(model.expression_names, first.expression)}},
        portrait_png=_png(first.detection.image), extra={"texture": texture.summary(),
                                                      **({"hair": hair.summary()} if hair else {})},
        polygon_triangles=model.polygon_triangles,
        hair_weights=hair.vertex_weights.astype(np.float32) if hair and hair.present else None)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
