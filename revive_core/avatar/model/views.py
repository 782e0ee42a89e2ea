"""Offscreen renders of a model's plain, vertex-coloured mesh through a photo's ``Camera``.

Used to derive landmark embeddings (render, detect, back-project), for contact sheets of the
expression shapes, and by the reconstruction benchmark to make its synthetic photos.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from revive_core.geometry.camera import Camera
from revive_core.geometry.mesh import vertex_normals
from revive_core.geometry.offscreen import DirectionalLight, OffscreenRenderer

__all__ = ["Lighting", "render_mesh", "look_at_face"]

GREY_RGB = (190, 190, 190)
ROUGHNESS = 0.8


@dataclass(frozen=True)
class Lighting:
    """One directional light (pointing from ``direction`` toward the origin) plus ambient."""

    direction: tuple[float, float, float] = (0.3, 0.4, 1.0)  # towards the light, camera space
    intensity: float = 3.0
    ambient: float = 0.35


def render_mesh(renderer: OffscreenRenderer, vertices_m: np.ndarray, faces: np.ndarray,
                camera: Camera, *, colours: np.ndarray | None = None,
                lighting: Lighting = Lighting(),
                background: tuple[int, int, int] = (255, 255, 255)) -> tuple[np.ndarray, np.ndarray]:
    """Render the posed mesh, smooth-shaded, on ``renderer`` (which keeps the scene).

    Parameters
    ----------
    renderer : OffscreenRenderer
        Of the camera's size.
    vertices_m : np.ndarray [shape=(V, 3)]
    faces : np.ndarray [shape=(F, 3)] int
    camera : Camera
    colours : np.ndarray [shape=(V, 3)], optional
        Per-vertex RGB 0..255 (default: a light grey).
    lighting : Lighting
    background : (int, int, int)
        RGB 0..255.

    Returns
    -------
    colour : np.ndarray [shape=(H, W, 3)] uint8
    depth : np.ndarray [shape=(H, W)] metres, 0 where nothing
    """
    if colours is None:
        colours = np.tile(np.asarray(GREY_RGB, np.float32), (len(vertices_m), 1))
    renderer.look_through(camera)
    renderer.set_background(np.asarray(background) / 255.0)
    renderer.set_lights([DirectionalLight(lighting.direction, lighting.intensity)],
                        ambient=lighting.ambient)
    renderer.set_material(roughness=ROUGHNESS)
    renderer.set_mesh(vertices_m, faces, normals=vertex_normals(vertices_m, faces),
                      colours=np.asarray(colours, np.float32) / 255.0)
    return renderer.render()


def look_at_face(vertices_m: np.ndarray, width: int, height: int, *, yaw_deg: float = 0.0,
                 pitch_deg: float = 0.0, roll_deg: float = 0.0, fill: float = 0.55) -> Camera:
    """A portrait camera on ``vertices_m`` (the face region), turned by yaw/pitch/roll.

    The face's width fills ``fill`` of the image's shorter side.
    """
    from scipy.spatial.transform import Rotation

    base = Camera.for_photo(width, height)
    centre = 0.5 * (vertices_m.min(0) + vertices_m.max(0))
    face_width = float(np.ptp(vertices_m[:, 0]))
    distance = base.focal_px * face_width / (fill * min(width, height))
    rotation = Rotation.from_euler("YXZ", [yaw_deg, pitch_deg, roll_deg], degrees=True)
    translation = -rotation.apply(centre) + [0.0, 0.0, -distance]
    return base.posed(rotation.as_rotvec(), translation)
