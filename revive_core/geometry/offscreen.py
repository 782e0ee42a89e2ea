"""Offscreen OpenGL renders of one triangle mesh (pyrender, headless).

One ``OffscreenRenderer`` owns an OpenGL context and a scene: a camera, directional lights plus
ambient, a background colour, a material (plain, or textured with an sRGB image) and one mesh
whose vertices and pose may change between renders. The model views (``avatar.model.views``),
the preview videos (``video.preview``) and the texture benchmark (``bench.texture``) all render
through it.

Two kinds of camera: a photo's pinhole ``Camera`` (the OpenGL camera stays at the origin and the
mesh is moved by the photo's model-to-camera transform, so lights are given in the camera's
frame), or a perspective camera placed in the scene by a pose.

OpenGL runs through EGL, headless (``PYOPENGL_PLATFORM=egl`` unless already set); on a machine
without a GPU, Mesa's llvmpipe renders on the CPU.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from revive_core.geometry.camera import Camera

# Headless OpenGL; must be set before pyrender (or PyOpenGL) is first imported.
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

__all__ = ["DirectionalLight", "OffscreenRenderer", "light_pose"]


@dataclass(frozen=True)
class DirectionalLight:
    """A light at infinity, shining from ``towards_light`` (the direction toward the light)."""

    towards_light: tuple[float, float, float]
    intensity: float


def light_pose(towards_light: Iterable[float]) -> np.ndarray:
    """The 4x4 pose of a directional light shining from ``towards_light`` (it lights along -Z).

    Its +Z axis points toward the light, its +X axis is horizontal (perpendicular to +Y).
    """
    z = np.asarray(towards_light, dtype=np.float64)
    z = z / np.linalg.norm(z)
    x = np.cross([0.0, 1.0, 0.0], z)
    x = x / np.linalg.norm(x) if np.linalg.norm(x) >= 1e-6 else np.array([1.0, 0.0, 0.0])
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    return pose


class OffscreenRenderer:
    """Renders one mesh at ``width`` x ``height`` pixels, reusing one OpenGL context.

    Set the camera (``look_through`` or ``set_perspective``), optionally the lights, background
    and material, then the mesh (``set_mesh``, again whenever it changes) and ``render``.
    Call ``delete()`` when done, or use it as a context manager.
    """

    def __init__(self, width: int, height: int) -> None:
        import pyrender  # heavy; opens OpenGL libraries

        self._pyrender = pyrender
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self._scene = pyrender.Scene(bg_color=[1.0, 1.0, 1.0, 1.0], ambient_light=np.zeros(3))
        self._camera_node = None
        self._light_nodes: list = []
        self._mesh_node = None
        self._view = np.eye(4)  # moves the mesh from model space into the scene
        self._pose = np.eye(4)  # the mesh's pose in model space
        self._material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=1.0)
        self.size = (int(width), int(height))

    def look_through(self, camera: Camera, *, znear: float = 0.02, zfar: float = 20.0) -> None:
        """See through a photo's pinhole ``camera`` (its size must be the renderer's)."""
        if (camera.width, camera.height) != self.size:
            raise ValueError("the camera's size differs from the renderer's")
        view = np.eye(4)
        view[:3, :3] = camera.matrix
        view[:3, 3] = camera.translation
        self._set_camera(self._pyrender.IntrinsicsCamera(
            camera.focal_px, camera.focal_px, camera.cx, camera.cy, znear=znear, zfar=zfar),
            np.eye(4), view)

    def set_perspective(self, *, yfov_rad: float, pose: np.ndarray, znear: float,
                        zfar: float) -> None:
        """A perspective camera with vertical field of view ``yfov_rad`` at the 4x4 ``pose``
        (looking down its -Z axis, +Y up), aspect ratio that of the renderer."""
        self._set_camera(self._pyrender.PerspectiveCamera(
            yfov=yfov_rad, aspectRatio=self.size[0] / self.size[1], znear=znear, zfar=zfar),
            pose, np.eye(4))

    def set_lights(self, lights: Iterable[DirectionalLight], *, ambient: float) -> None:
        """Replace the directional lights (in the camera's frame with ``look_through``, in the
        scene's with ``set_perspective``) and the grey ambient light level."""
        for node in self._light_nodes:
            self._scene.remove_node(node)
        self._light_nodes = [
            self._scene.add(self._pyrender.DirectionalLight(intensity=light.intensity),
                            pose=light_pose(light.towards_light)) for light in lights]
        self._scene.ambient_light = np.full(3, ambient)

    def set_background(self, rgb: Iterable[float]) -> None:
        """The background colour, RGB 0..1."""
        self._scene.bg_color = [*rgb, 1.0]

    def set_material(self, *, texture: np.ndarray | None = None, roughness: float = 1.0,
                     metallic: float = 0.0) -> None:
        """The mesh's material from the next ``set_mesh`` on: white, or the sRGB ``texture``
        (H, W, 3) uint8 (uploaded once, reused by every mesh until the material changes)."""
        pyrender = self._pyrender
        base = (None if texture is None
                else pyrender.Texture(source=np.asarray(texture, np.uint8), source_channels="RGB"))
        self._material = pyrender.MetallicRoughnessMaterial(
            baseColorTexture=base, baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=metallic,
            roughnessFactor=roughness)

    def set_mesh(self, positions: np.ndarray, indices: np.ndarray, *,
                 normals: np.ndarray | None = None, colours: np.ndarray | None = None,
                 texcoords: np.ndarray | None = None) -> None:
        """Replace the mesh, keeping its pose.

        Parameters
        ----------
        positions : np.ndarray [shape=(V, 3)]
            Metres, model space.
        indices : np.ndarray [shape=(F, 3)] int
            Triangles.
        normals : np.ndarray [shape=(V, 3)], optional
            Unit vertex normals (needed for lit, non-flat renders).
        colours : np.ndarray [shape=(V, 3) or (V, 4)] float, optional
            Per-vertex colours 0..1, multiplying the material's.
        texcoords : np.ndarray [shape=(V, 2)], optional
            Texture coordinates (v up) of a textured material. One per vertex: split the mesh
            at its UV seams first (``geometry.mesh.split_seams``).
        """
        pyrender = self._pyrender
        # A new node rather than updating its buffers in place: as fast (measured), and public
        # API; the material and its texture stay on the GPU.
        primitive = pyrender.Primitive(
            positions=positions, indices=np.asarray(indices, np.int32), normals=normals,
            color_0=None if colours is None else np.asarray(colours, np.float32),
            texcoord_0=texcoords, material=self._material)
        if self._mesh_node is not None:
            self._scene.remove_node(self._mesh_node)
        self._mesh_node = self._scene.add(pyrender.Mesh([primitive]), pose=self._view @ self._pose)

    def set_pose(self, pose: np.ndarray) -> None:
        """The mesh's 4x4 pose in model space (e.g. a head's rotation about the neck)."""
        self._pose = np.asarray(pose, dtype=np.float64)
        self._place_mesh()

    def render(self, *, flat: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Colour (H, W, 3) uint8 and depth (H, W) float32 metres (0 where nothing).

        ``flat``: no lighting; each pixel is the material's colour times the vertex colour.
        """
        flags = self._pyrender.RenderFlags.FLAT if flat else self._pyrender.RenderFlags.NONE
        colour, depth = self._renderer.render(self._scene, flags=flags)
        return np.ascontiguousarray(colour[..., :3]), depth

    def delete(self) -> None:
        """Release the OpenGL context."""
        self._renderer.delete()

    def __enter__(self) -> "OffscreenRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()

    def _set_camera(self, camera, pose: np.ndarray, view: np.ndarray) -> None:
        if self._camera_node is not None:
            self._scene.remove_node(self._camera_node)
        self._camera_node = self._scene.add(camera, pose=pose)
        self._view = view
        self._place_mesh()

    def _place_mesh(self) -> None:
        if self._mesh_node is not None:
            self._scene.set_pose(self._mesh_node, self._view @ self._pose)
