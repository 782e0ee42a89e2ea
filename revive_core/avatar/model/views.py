"""Offscreen renders of a model's mesh through a ``Camera`` (pyrender, headless EGL).

Used to derive landmark embeddings (render, detect, back-project), for contact sheets of the
expression shapes, and by the reconstruction benchmark to make its synthetic photos.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from revive_core.geometry.camera import Camera

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before pyrender is first imported

__all__ = ["Lighting", "MeshRenderer", "look_at_face"]


@dataclass(frozen=True)
class Lighting:
    """One directional light (pointing from ``direction`` toward the origin) plus ambient."""

    direction: tuple[float, float, float] = (0.3, 0.4, 1.0)  # towards the light, camera space
    intensity: float = 3.0
    ambient: float = 0.35


class MeshRenderer:
    """Renders meshes of one size, reusing one OpenGL context; call ``close()`` when done."""

    def __init__(self, width: int, height: int) -> None:
        import pyrender  # heavy; opens OpenGL libraries

        self._pyrender = pyrender
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self.size = (width, height)

    def render(self, vertices_m: np.ndarray, faces: np.ndarray, camera: Camera, *,
               colours: np.ndarray | None = None, lighting: Lighting = Lighting(),
               background: tuple[int, int, int] = (255, 255, 255)) -> tuple[np.ndarray, np.ndarray]:
        """Colour (H, W, 3) uint8 and depth (H, W) metres (0 where nothing) of the posed mesh.

        ``colours`` are per-vertex RGB (V, 3) in 0..255 (default: a light grey).
        """
        pyrender = self._pyrender
        if colours is None:
            colours = np.full((len(vertices_m), 3), 190.0)
        rgba = np.concatenate([np.asarray(colours, np.float32) / 255.0,
                               np.ones((len(vertices_m), 1), np.float32)], axis=1)
        primitive = pyrender.Primitive(positions=np.asarray(vertices_m, np.float32),
                                       indices=np.asarray(faces, np.int32), color_0=rgba,
                                       normals=_vertex_normals(vertices_m, faces),
                                       material=pyrender.MetallicRoughnessMaterial(
                                           baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0,
                                           roughnessFactor=0.8))
        scene = pyrender.Scene(bg_color=np.array([*background, 255]) / 255.0,
                               ambient_light=np.full(3, lighting.ambient))
        pose = np.eye(4)
        pose[:3, :3] = camera.matrix
        pose[:3, 3] = camera.translation
        scene.add(pyrender.Mesh([primitive]), pose=pose)
        scene.add(pyrender.IntrinsicsCamera(camera.focal_px, camera.focal_px, camera.cx,
                                            camera.cy, znear=0.02, zfar=20.0))
        scene.add(pyrender.DirectionalLight(intensity=lighting.intensity),
                  pose=_light_pose(lighting.direction))
        if (self.size[0], self.size[1]) != (camera.width, camera.height):
            raise ValueError("the camera's size differs from the renderer's")
        colour, depth = self._renderer.render(scene)
        return np.ascontiguousarray(colour[..., :3]), depth

    def close(self) -> None:
        self._renderer.delete()

    def __enter__(self) -> "MeshRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    v = np.asarray(vertices, np.float64)
    tri = v[faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(v)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-20
    return normals.astype(np.float32)


def _light_pose(towards_light) -> np.ndarray:
    """A pose whose -Z axis points from the light toward the scene."""
    z = np.asarray(towards_light, float)
    z = z / np.linalg.norm(z)
    x = np.cross([0.0, 1.0, 0.0], z)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    return pose
