"""Build an avatar from photos and home videos: detect (choose video frames) -> fit -> texture ->
hair -> Avatar folder (with avatar.glb, and the chosen frames and the video's voice)."""
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
from revive_core.avatar.clip import is_video, voice_wav
from revive_core.avatar.detect import detect_face
from revive_core.avatar.frames import ClipFrames, choose_frames
from revive_core.avatar.fit.solve import FitResult, fit_model
from revive_core.formats import Avatar, write_avatar
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.avatar.gltf import avatar_glb
from revive_core.avatar.hair import (BROWS, Hair, estimate_hair, grow_hair, hair_blend, hair_candidates,
                                     paint_hair)
from revive_core.avatar.lips_closed import close_lips
from revive_core.avatar.long_hair import (HeadRows, ShellMesh, ShellPhoto, ShellView, attach_shell,
                                          hair_shell, hair_swatch, hair_tile, make_room_for_hair,
                                          paint_shell, sample_shell)
from revive_core.avatar.model import MorphableModel
from revive_core.avatar.model.embedding import face_outline
from revive_core.avatar.model.registry import find_model
from revive_core.avatar.segment import person_mask
from revive_core.avatar.texture import CompletionSettings, PhotoView, TextureResult, bake_texture
from revive_core.avatar.texture.lips import lip_outline_uv
from revive_core.avatar.texture.project import INNER_LIPS
from revive_core.avatar.texture.uv import UVLayout, uv_layout

__all__ = ["build_avatar", "avatar_from_fit", "hair_for_fit", "expression_range"]

log = logging.getLogger(__name__)
Step = Callable[[str], None]
ReadExpression = Callable[[dict[str, float]], dict]
MIN_RANGE_VIEWS = 3  # fewer views say too little of how far the person's expressions go
RANGE_VIEW_WEIGHT = 0.5  # views that counted less in the fit (someone else?) are left out
# iBUG-68 points of the model's landmark embedding
IBUG_EYE_CORNERS, IBUG_MOUTH_CORNERS, IBUG_JAW_AT_EARS = (36, 39, 42, 45), (48, 54), (0, 16)


def build_avatar(photos: list[Path], out: Path, *, consent: dict, name: str | None = None,
                 texture_size: int = 1024, model: str | MorphableModel = "default",
                 texture_method: str = "gan",
                 texture_generator: Path | None = None, texture_seed: int = 0,
                 texture_grain: float = 0.5, step: Step = lambda _: None,
                 read_expression: ReadExpression | None = None) -> Avatar:
    """Build and write an avatar from ``photos`` of one person; returns it.

    ``photos`` may hold home videos too (``clip.VIDEO_SUFFIXES``): from each, frames are chosen
    (``frames.choose_frames``: sharp, eyes open, one face, varied head turns; with photos given,
    only frames of the person in them) and fitted with the photos as further views of one
    identity. The frames are kept in the avatar as ``sources/frame_NN.png``, a video's sound as
    ``voice/sample.wav`` (``voice/sample_2.wav``, ... for more videos), both in the provenance.
    ``model`` is an installed model's name (``default``, ``builtin``, ``ict``), a model folder, or a model.
    ``texture_method`` is ``gan`` (unseen skin completed by a GAN, default), ``delit`` (filled
    smoothly; quicker) or ``blur`` (photos' lighting kept); ``texture_generator`` is a file of
    pretrained generator weights; ``texture_seed`` seeds the GAN; ``texture_grain`` (0..1) is
    the strength of the grain it invents. ``read_expression`` reads each view's fitted
    expression (``{ARKit name: weight}``) into a record kept beside it in the provenance (the
    emotion it shows; the emotion layer sits above this one, so the caller passes it in).
    """
    model = make_room_for_hair(find_model(model) if isinstance(model, str) else model)
    inputs = [Path(p) for p in photos]
    videos = [p for p in inputs if is_video(p)]
    photo_paths = [p for p in inputs if p not in videos]
    if photo_paths:
        step("Finding the face in each photo")
    detections = [detect_face(p) for p in photo_paths]
    clips = []
    for video in videos:
        step(f"Choosing frames from {video.name}")
        clips.append(choose_frames(video, model=model, photos=detections))
    voices = [voice_wav(clip.info) for clip in clips]
    step("Fitting the face model")
    fit = fit_model(model, detections + [f.detection for c in clips for f in c.frames])
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
            seed=texture_seed, generator_path=texture_generator, grain=texture_grain),
        lip_outline_uv=lip_outline_uv(model.uvs, model.uv_faces, model.landmark_faces,
                                      model.landmark_bary))
    hair = hair_for_fit(fit)
    layout = uv_layout(model.uvs, model.uv_faces, texture_size, faces=model.faces,
                       vertices_m=fit.neutral_vertices)
    rest = close_lips(model, fit.neutral_vertices)
    with_volume = grow_hair(rest, model.faces, hair)
    shell, shell_photo = (None, None) if hair.hanging is None else _hanging_hair(
        fit, hair, with_volume, texture.confidence, layout)
    if shell_photo is not None and shell_photo.strands_colour is not None:
        # The head's painted hair shows between the shell and the face: the colour of the
        # hair hanging beside it, not of a parting or of darker roots on top.
        hair = dataclasses.replace(hair, colour=shell_photo.strands_colour)
    albedo = paint_hair(texture.albedo, texture.confidence, layout, model.faces, hair,
                        seed=texture_seed)
    if shell_photo is not None:
        albedo = paint_shell(albedo, shell_photo, colour=hair.colour, seed=texture_seed)
    texture = dataclasses.replace(texture, albedo=albedo)
    video_files, video_records = _video_sources(clips, voices)
    samples = [record["voice_sample"] for record in video_records if "voice_sample" in record]
    if samples:
        consent = {**consent, "voice_sample": f"{', '.join(samples)}: the voice in the videos "
                                              "given, under this same consent"}
    avatar = avatar_from_fit(fit, texture, consent=consent, name=name or Path(out).name,
                             sources=inputs, vertices_m=with_volume, hair=hair,
                             read_expression=read_expression)
    if shell is not None:
        avatar = attach_shell(avatar, shell)
    if video_records:
        avatar.provenance["videos"] = video_records
    step("Writing the avatar")
    write_avatar(avatar, out, extra_files={"avatar.glb": avatar_glb(avatar), **texture.files(),
                                           **video_files})
    return avatar


def _hanging_hair(fit: FitResult, hair: Hair, rest_vertices_m: np.ndarray,
                  confidence: np.ndarray, layout: UVLayout
                  ) -> tuple[ShellMesh | None, ShellPhoto | None]:
    """The long hair's shell around the rest head, and the photo's hair on the shell's tile.
    Without a tile in the model's texture the shell shows a square of the head's painted hair
    (or, with none, there is no shell)."""
    model: MorphableModel = fit.model
    tile = hair_tile(model)
    if tile is None:
        swatch = hair_swatch(hair_blend(confidence, layout, model.faces, hair), layout.covered)
        if swatch is None:
            return None, None
        return hair_shell(rest_vertices_m, _body(model), hair.hanging, swatch), None
    shell = hair_shell(rest_vertices_m, _body(model), hair.hanging, tile)
    photo = max(fit.photos, key=lambda p: p.weight)
    view = ShellView(photo.detection.image, photo.camera, photo.vertices(model, fit.identity),
                     model.faces, hair.hanging.mask)
    return shell, sample_shell(layout.size, tile, shell, view)


def expression_range(fit: FitResult) -> dict[str, float] | None:
    """The highest weight of each ARKit expression shape across the fit's views, or None.

    Only views that counted fully in the identity take part; with fewer than
    ``MIN_RANGE_VIEWS`` of them there is no range (one photo says nothing of how far a
    person's smile goes).
    """
    views = [p.expression for p in fit.photos if p.weight >= RANGE_VIEW_WEIGHT]
    if len(views) < MIN_RANGE_VIEWS:
        return None
    highest = np.max(views, axis=0)
    return {n: round(float(w), 3) for n, w in zip(fit.model.expression_names, highest)
            if n in ARKIT_BLENDSHAPES}


def _video_sources(clips: list[ClipFrames],
                   voices: list[bytes | None]) -> tuple[dict[str, bytes], list[dict]]:
    """The files the videos leave in the avatar (chosen frames, ``voices`` as WAV) and their
    provenance."""
    files: dict[str, bytes] = {}
    records = []
    frame_count = voice_count = 0
    for clip, voice in zip(clips, voices):
        frames = []
        for chosen in clip.frames:
            frame_count += 1
            name = f"sources/frame_{frame_count:02d}.png"
            files[name] = _png(chosen.frame)
            frames.append({"file": name, **chosen.score.record(), "upscaled": chosen.upscale})
        record = {"file": clip.info.path.name, "sha256": _sha256(clip.info.path),
                  "duration_s": round(clip.info.duration_s, 3),
                  "frames_looked_at": clip.candidates, "frames_with_one_face": clip.with_one_face,
                  "person_check": clip.person_check, "frames": frames}
        if voice is not None:
            voice_count += 1
            name = "voice/sample.wav" if voice_count == 1 else f"voice/sample_{voice_count}.wav"
            files[name] = voice
            record["voice_sample"] = name
        records.append(record)
    return files, records


def hair_for_fit(fit: FitResult) -> Hair:
    """The hair seen in the first (best-weighted) photo, on the fitted head."""
    model: MorphableModel = fit.model
    photo = max(fit.photos, key=lambda p: p.weight)
    neutral = fit.neutral_vertices
    brows, _ = model.landmarks(neutral)
    ibug, _ = model.ibug_landmarks(neutral)
    candidates, hidden_ok = hair_candidates(neutral, model.vertex_regions, _skin_regions(model),
                                            ibug, brow_y_m=float(brows[list(BROWS), 1].max()))
    posed = photo.vertices(model, fit.identity)
    landmarks, _ = model.landmarks(posed)
    rows = HeadRows(body=_body(model), outline=landmarks[face_outline()],
                    top_y=float(ibug[list(IBUG_EYE_CORNERS), 1].mean()),
                    reach_y=float(ibug[list(IBUG_MOUTH_CORNERS), 1].mean()),
                    z_centre=float(ibug[list(IBUG_JAW_AT_EARS), 2].mean()))
    image = photo.detection.image
    return estimate_hair(image, photo.detection.landmarks_px, photo.camera, posed, model.faces,
                         candidates, hidden_ok, person_mask(image), head_rows=rows)


def _skin_regions(model: MorphableModel) -> list[int]:
    return [model.region_names.index(n) for n in ("face", "face_side", "scalp")
            if n in model.region_names]


def _body(model: MorphableModel) -> np.ndarray:
    """(V,) bool: the head's outer surface (skin, scalp, neck and shoulders)."""
    return np.isin(model.vertex_regions, _skin_regions(model))


def avatar_from_fit(fit: FitResult, texture: TextureResult, *, consent: dict, name: str,
                    sources: list[Path], vertices_m: np.ndarray | None = None,
                    hair: Hair | None = None,
                    read_expression: ReadExpression | None = None) -> Avatar:
    """The Avatar of a fit and its texture; ``vertices_m`` replaces the fit's rest shape (the
    head with its hair volume); ``hair`` is recorded (weights per vertex, and its summary);
    ``read_expression`` adds an ``emotion`` record to each view's fitted expression."""
    model: MorphableModel = fit.model
    first = fit.photos[0]
    expressions = expression_range(fit)
    provenance = {
        "tool": f"revive {__version__}",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": [{"file": p.name, "sha256": _sha256(p)} for p in sources],
        "fit": [_view_record(p, model, read_expression) for p in fit.photos],
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
        portrait_png=_png(first.detection.image), extra={
            "texture": texture.summary(), **({"hair": hair.summary()} if hair else {}),
            **({"expression_range": expressions} if expressions else {})},
        polygon_triangles=model.polygon_triangles,
        hair_weights=hair.vertex_weights.astype(np.float32) if hair and hair.present else None)


def _view_record(view, model: MorphableModel, read_expression: ReadExpression | None) -> dict:
    expression = {n: round(float(w), 4) for n, w in zip(model.expression_names, view.expression)
                  if w > 0.01}
    record = {"file": view.detection.path.name, "landmark_rms_px": round(view.rms_px, 3),
              "weight": round(view.weight, 3), "expression": expression}
    if read_expression is not None:
        record["emotion"] = read_expression(expression)
    return record


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
