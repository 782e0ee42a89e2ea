"""Bake photos into a complete albedo texture: project -> delight -> fuse -> complete -> parts.

Three methods, each adding a step (the texture benchmark compares them):

- ``blur``: the photos' colours as they are, blended by confidence; unseen texels filled
  smoothly over the head's surface.
- ``delit``: each photo's lighting estimated and a quarter of it divided out (``DELIGHT_STRENGTH``),
  photos colour-equalised and fused (the best-seen photo wins, seams blended band by band);
  unseen texels filled smoothly.
- ``gan`` (the default): as ``delit``, then the unseen skin completed by a GAN trained on the
  person's own visible skin, with left-right symmetry.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from revive_core.avatar.texture.complete import (CompletionSettings, complete_texture,
                                                 symmetric_fill)
from revive_core.avatar.texture.eyes import photo_eye_colours
from revive_core.avatar.texture.fuse import (blend_views, equalise_colours, fill_unseen,
                                             pull_push, surface_fill, trusted_level,
                                             weighted_average)
from revive_core.avatar.texture.light import Lighting, delight, estimate_lighting
from revive_core.avatar.texture.lips import fill_lips, lip_texels
from revive_core.avatar.texture.project import PhotoView, ViewSamples, sample_view
from revive_core.avatar.texture.regions import paint_parts, photo_iris_colour, region_kinds
from revive_core.avatar.texture.tone import (DEFAULT_SKIN_AB, colourise, is_monochrome,
                                             skin_chroma)
from revive_core.avatar.texture.uv import UVLayout, mirror_texels, uv_layout
from revive_core.geometry.srgb import linear_to_srgb, luminance

__all__ = ["METHODS", "TextureResult", "bake_texture"]

METHODS = ("blur", "delit", "gan")
# The share of each photo's estimated lighting divided out (log terms). All of it washes the
# face out: the fitted surface is smoother than the face, so every texel turned from the light
# is brightened as if the light alone darkened it, and the photo's modelling, which carries
# much of the likeness, goes. None doubles the shading when renders and Blender light the head
# again (dark, glossy cheeks). A quarter keeps the modelling and evens out the strongest light
# (bench likeness on 12 people, frontal median distance: all 0.562, half 0.516; on a later head,
# delit texture, frontal / yaw-30 / yaw+30: half 0.510 / 0.540 / 0.519, a quarter 0.502 / 0.532 /
# 0.510, none 0.478 / 0.549 / 0.505).
DELIGHT_STRENGTH = 0.25


@dataclass
class TextureResult:
    """A baked texture and what was learnt on the way.

    Attributes
    ----------
    albedo : np.ndarray [shape=(S, S, 3)] uint8
        sRGB; row 0 is the top of the texture (v = 1).
    confidence : np.ndarray [shape=(S, S)] float32
        0..1: how well the best photo saw each texel (0: generated or painted).
    lighting : list of dict
        Each photo's estimated lighting (``Lighting.to_dict``), in the photos' order; empty
        for the ``blur`` method.
    colour_source : str
        "photos", or how the colour was estimated for grayscale and sepia photos.
    seconds : dict
        Time spent per stage.
    """

    albedo: np.ndarray
    confidence: np.ndarray
    lighting: list[dict] = field(default_factory=list)
    colour_source: str = "photos"
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        """What an avatar records about its texture in ``avatar.json``'s ``extra`` (JSON-ready):
        where its colour came from and each photo's lighting."""
        return {"colour_source": self.colour_source, "lighting": self.lighting}

    def files(self) -> dict[str, bytes]:
        """The texture's side files for the avatar folder: ``confidence.png`` (8-bit gray)."""
        buffer = io.BytesIO()
        Image.fromarray(np.round(self.confidence * 255).astype(np.uint8)).save(buffer, format="PNG")
        return {"confidence.png": buffer.getvalue()}


def bake_texture(faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
                 face_regions: np.ndarray, views: list[PhotoView], *, size: int = 1024,
                 region_names: list[str] | None = None, rest_vertices_m: np.ndarray | None = None,
                 method: str = "gan", completion: CompletionSettings | None = None,
                 lip_outline_uv: np.ndarray | None = None) -> TextureResult:
    """Bake ``views`` into a ``size`` x ``size`` albedo texture of the mesh's UV layout.

    Parameters
    ----------
    faces : np.ndarray [shape=(F, 3)]
        Triangles (vertex indices).
    uvs : np.ndarray [shape=(T, 2)]
        UV coordinates, origin bottom-left.
    uv_faces : np.ndarray [shape=(F, 3)]
        Triangles (UV indices).
    face_regions : np.ndarray [shape=(F,)]
        Region index of each triangle.
    views : list of PhotoView
        The photos with the fitted surface as each one sees it.
    size : int
        Texture size in texels (even; 1024 by default, 2048 for more detail).
    region_names : list of str, optional
        Names of the regions (see ``parts.region_kinds``): eyes, teeth, gums, mouth and lashes
        get painted textures, the rest is skin. Default: everything is skin.
    rest_vertices_m : np.ndarray [shape=(V, 3)], optional
        The person's neutral shape (for symmetry and the painted parts); default: the first
        view's shape.
    method : str
        One of METHODS.
    completion : CompletionSettings, optional
        The GAN's settings (``gan`` only).
    lip_outline_uv : np.ndarray [shape=(K, 2)], optional
        The outer lip contour in UV space (``lips.lip_outline_uv``): the lips the photos could
        not show are filled from the lips they did, not from the skin.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    if size % 2 or size < 16:
        raise ValueError(f"size={size} must be an even number of at least 16 texels")
    if not views:
        raise ValueError("bake_texture needs at least one view")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - clock
        clock = now

    names = region_names or ["skin"] * (int(np.max(face_regions, initial=0)) + 1)
    rest = np.asarray(views[0].vertices_m if rest_vertices_m is None else rest_vertices_m,
                      np.float64)
    layout = uv_layout(uvs, uv_faces, size, faces=faces, vertices_m=rest)
    points = layout.points(rest, faces)
    texel_region = np.asarray(face_regions)[layout.faces]
    skin = np.isin(texel_region, [i for i, k in enumerate(region_kinds(names)) if k == "skin"])
    texel_size = layout.texel_size_m(rest, faces, uvs, uv_faces)
    lips = (np.zeros(len(layout.rows), bool) if lip_outline_uv is None
            else lip_texels(layout, lip_outline_uv, skin))
    samples = [sample_view(view, faces, layout, texel_size) for view in views]
    colour_source = _handle_monochrome(views, samples, skin)
    lap("project")

    lighting: list[Lighting] = []
    if method == "blur":
        colours, confidence = weighted_average(np.stack([s.colours for s in samples]),
                                               np.stack([s.confidence for s in samples]))
        values, confidence = fill_lips(linear_to_srgb(colours), confidence, lips,
                                       trusted_level(confidence, skin), points)
        values = surface_fill(values, confidence > 0, points)
        lap("fill")
    else:
        albedos, confidences, lighting = _delit(views, samples, skin)
        lap("light")
        values, confidence = _fuse(albedos, confidences, layout)
        level = trusted_level(confidence, skin)
        values, confidence = fill_lips(values, confidence, lips, level, points)
        lap("fuse")
        if method == "delit":
            values = fill_unseen(values, confidence, level, points)
            lap("fill")
        else:
            known = skin & (confidence >= level)
            coarse, mirrored = symmetric_fill(values, known, skin, mirror_texels(points, skin),
                                              points)
            completed = complete_texture(
                layout.scatter(values), layout.scatter(confidence), layout.scatter(skin),
                pull_push(layout.scatter(coarse), layout.covered), layout.scatter(mirrored),
                level, completion or CompletionSettings())
            values = completed[layout.rows, layout.cols]
            lap("complete")

    albedo = layout.scatter(values)
    iris = next((c for c in (photo_iris_colour(v.image, v.landmarks_px) for v in views
                             if v.landmarks_px is not None) if c is not None), None)
    eye = np.isin(texel_region, [i for i, k in enumerate(region_kinds(names)) if k == "eye"])
    paint_parts(albedo, layout.rows, layout.cols, texel_region, names, points,
                confidence >= trusted_level(confidence, skin),
                seed=completion.seed if completion else 0, iris_rgb=iris,
                photo_eyes=photo_eye_colours(views, samples, layout, faces, eye))
    # Fill the gutter between UV islands from the islands' edges, so filtering never
    # mixes in a foreign colour.
    albedo = pull_push(albedo, layout.covered)
    confidence_image = layout.scatter(np.where(skin, confidence, 0.0).astype(np.float32))
    lap("parts")
    return TextureResult(np.clip(albedo * 255.0 + 0.5, 0, 255).astype(np.uint8),
                         confidence_image, [light.to_dict() for light in lighting],
                         colour_source, seconds)


def _delit(views: list[PhotoView], samples: list[ViewSamples], skin: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, list[Lighting]]:
    """Each photo's albedo (K, N, 3) and confidence (K, N) with its lighting divided out."""
    albedos, confidences, lighting = [], [], []
    for view, s in zip(views, samples):
        light = estimate_lighting(luminance(s.colours), s.normals_camera, s.confidence * skin,
                                  view.camera.matrix)
        albedo, trust = delight(s.colours, light.shading(s.normals_camera),
                                strength=DELIGHT_STRENGTH)
        lighting.append(light)
        albedos.append(albedo)
        confidences.append(s.confidence * trust)
    return np.stack(albedos), np.stack(confidences), lighting


def _fuse(albedos: np.ndarray, confidences: np.ndarray, layout: UVLayout
          ) -> tuple[np.ndarray, np.ndarray]:
    """The photos' albedos colour-equalised and blended: sRGB texel values (N, 3), confidence."""
    albedos = albedos * equalise_colours(albedos, confidences)[:, None, :]
    dense_confidence = np.stack([layout.scatter(c) for c in confidences])
    filled = np.stack([pull_push(layout.scatter(linear_to_srgb(a)), c > 0)
                       for a, c in zip(albedos, dense_confidence)])
    values = blend_views(filled, dense_confidence).clip(0, 1)[layout.rows, layout.cols]
    return values, confidences.max(0)


def _handle_monochrome(views: list[PhotoView], samples: list[ViewSamples],
                       skin: np.ndarray) -> str:
    """Give grayscale and sepia photos an estimated skin colour (see ``tone``); say so."""
    mono = [is_monochrome(v.image) for v in views]
    if not any(mono):
        return "photos"
    colour_views = [s for s, m in zip(samples, mono) if not m]
    if colour_views:
        ab = skin_chroma(np.concatenate([s.colours for s in colour_views]),
                         np.concatenate([s.confidence * skin for s in colour_views]))
        source = "estimated for grayscale/sepia photos from the colour photos' skin"
    else:
        ab = DEFAULT_SKIN_AB
        source = "estimated: grayscale/sepia photos, a neutral medium skin colour"
    for s, m in zip(samples, mono):
        if m:
            seen = s.confidence > 0
            s.colours[seen] = colourise(s.colours[seen], ab)
    return source
