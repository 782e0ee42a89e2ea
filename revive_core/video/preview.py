"""Quick preview videos of a Take on an Avatar, rendered offscreen with pyrender (no Blender).

One OffscreenRenderer and one scene serve all frames. Per frame, the blendshapes are applied
(weights from ``take.curve(name)`` for every name the avatar has), smooth normals recomputed,
the head's mesh node replaced and posed by the head rotation. The camera, lights and background
are fixed: a 30 degree perspective camera on +Z framing the neutral head to about 70% of the
frame height, a key and a fill directional light plus ambient, a dark grey background.

OpenGL runs through EGL, headless (``PYOPENGL_PLATFORM=egl`` unless already set); on a machine
without a GPU, Mesa's llvmpipe renders on the CPU.
"""
from __future__ import annotations

import io
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from revive_core import __version__

from revive_core.video import media
from revive_core.errors import InputError, ReviveError
from revive_core.formats.avatar import Avatar
from revive_core.formats.label import DEFAULT_POSITION, DEFAULT_SIZE, make_label, write_sidecar
from revive_core.formats.mp4 import write_mp4_label
from revive_core.formats.take import Take, wav_bytes
from revive_core.geometry.mesh import split_seams, vertex_normals
from revive_core.geometry.offscreen import DirectionalLight, OffscreenRenderer
from revive_core.programs import require_program

__all__ = ["head_pose", "render_frames", "render_preview"]

log = logging.getLogger(__name__)

BACKGROUND = (0.16, 0.16, 0.17)
LIGHTS = (DirectionalLight((-0.5, 0.55, 1.0), 2.6),  # key
          DirectionalLight((0.8, 0.1, 0.6), 0.9))  # fill
AMBIENT = 0.12
ROUGHNESS = 0.75
FILL_OF_FRAME = 0.7  # the head's height as a share of the frame height
YFOV_DEG = 30.0
PIVOT_DROP = 0.4  # the neck pivot: the centroid lowered by this share of the head's height


def render_preview(avatar: Avatar, take: Take, out: Path, *,
                   resolution: tuple[int, int] = (512, 512), progress: bool = True,
                   label: str | None = "AI-generated", label_position: str = DEFAULT_POSITION,
                   label_size: float = DEFAULT_SIZE) -> Path:
    """Render ``take`` performed by ``avatar`` into an H.264 + AAC video, atomically.

    Parameters
    ----------
    avatar : Avatar
        The textured head with its blendshapes.
    take : Take
        Per-frame blendshape weights, head rotation and audio.
    out : Path
        The video to write (.mp4).
    resolution : (int, int)
        Width and height in pixels.
    progress : bool
        Show a progress bar.
    label : str or None
        Visible mark drawn on every frame ("AI-generated" by default); None or "" draws none.
        The file's metadata says it is AI-generated in any case, and records which.
    label_position : {"bottom-right", "bottom-left", "top-right", "top-left"}
    label_size : float
        The visible mark's text height as a share of the frame height.

    Returns
    -------
    Path
        ``out``; its machine-readable label (consent, content id) is in its metadata and
        beside it in ``<stem>.label.json``.
    """
    out = Path(out)
    require_program("ffmpeg", "Writing a preview video")
    started = time.perf_counter()
    machine_label = make_label(
        consent=avatar.consent, tool_version=__version__, kind="preview", visible=bool(label),
        position=label_position, size=label_size, avatar_name=avatar.name,
        model_id=avatar.model_id)
    frames: Iterator[np.ndarray] = render_frames(avatar, take, resolution=resolution)
    if label:
        frames = (media.draw_label(frame, label, corner=label_position, size=label_size)
                  for frame in frames)
    metadata = {
        "comment": "AI-generated with Revive",
        "description": f"AI-generated preview of the Revive avatar {avatar.name!r}; not a "
                       "recording of a real person.",
        "title": take.text[:200] if take.text else f"{avatar.name} (Revive preview)",
    }
    with tempfile.TemporaryDirectory(prefix="revive-preview-") as folder:
        audio = Path(folder) / "audio.wav"
        audio.write_bytes(wav_bytes(take.audio, take.sample_rate))
        media.write_video(frames, out, fps=take.fps, audio_wav=audio, metadata=metadata,
                          progress=progress, total=take.frame_count,
                          finish=lambda video: write_mp4_label(video, machine_label))
    write_sidecar(out, machine_label)
    elapsed = time.perf_counter() - started
    log.info("Preview %s: %d frames at %dx%d in %.1f s (%.1f ms per frame, encoding included)",
             out, take.frame_count, resolution[0], resolution[1], elapsed,
             1000.0 * elapsed / max(take.frame_count, 1))
    return out


def render_frames(avatar: Avatar, take: Take, *,
                  resolution: tuple[int, int] = (512, 512)) -> Iterator[np.ndarray]:
    """Render the take frame by frame, without label or encoding.

    Parameters
    ----------
    avatar : Avatar
        The head.
    take : Take
        The performance; one image per frame.
    resolution : (int, int)
        Width and height in pixels.

    Returns
    -------
    Iterator of ndarray
        (height, width, 3) uint8 RGB frames, rendered lazily; the resolution is checked at
        once. One OpenGL context serves all frames and is released when the iterator ends
        or is closed.
    """
    width, height = _check_resolution(resolution)
    return _frames(avatar, take, width, height)


def _frames(avatar: Avatar, take: Take, width: int, height: int) -> Iterator[np.ndarray]:
    vertex_ids, uv_ids, faces = split_seams(avatar.faces, avatar.uv_faces)
    uv = np.asarray(avatar.uvs, dtype=np.float32)[uv_ids]
    neutral = np.asarray(avatar.vertices_m, dtype=np.float32)
    # Only the blendshapes this take moves; (N, K) weights times (K, V*3) deltas per frame.
    names = [n for n in avatar.blendshape_names if np.any(take.curve(n) != 0)]
    index = {n: i for i, n in enumerate(avatar.blendshape_names)}
    weights = np.zeros((take.frame_count, len(names)), dtype=np.float32)
    for column, name in enumerate(names):
        weights[:, column] = take.curve(name)
    deltas = np.asarray(avatar.blendshape_deltas_m, dtype=np.float32)[
        [index[n] for n in names]].reshape(len(names), neutral.size)
    rotations = np.asarray(take.head_rotation_deg, dtype=np.float64)
    pivot = _pivot(neutral)
    albedo = _albedo(avatar.albedo_png)

    with OffscreenRenderer(width, height) as renderer:
        renderer.set_background(BACKGROUND)
        renderer.set_lights(LIGHTS, ambient=AMBIENT)
        renderer.set_perspective(yfov_rad=math.radians(YFOV_DEG),
                                 pose=_camera_pose(neutral, width / height),
                                 **_clip(neutral, width / height))
        renderer.set_material(texture=albedo, roughness=ROUGHNESS)
        shown = None
        for frame in range(take.frame_count):
            if shown is None or not np.array_equal(weights[frame], shown):
                vertices = neutral + (weights[frame] @ deltas).reshape(-1, 3)
                normals = vertex_normals(vertices, avatar.faces)
                renderer.set_mesh(vertices[vertex_ids], faces, normals=normals[vertex_ids],
                                  texcoords=uv)
                shown = weights[frame]
            renderer.set_pose(head_pose(rotations[frame], pivot))
            colour, _ = renderer.render()
            yield colour


def head_pose(rotation_deg: Any, pivot: Any) -> np.ndarray:
    """The 4x4 pose of the head for one frame's [pitch, yaw, roll] in degrees.

    The rotation is ``Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (each by the right-hand rule about the
    avatar's X, Y and Z axes: positive pitch tips the face down, positive yaw turns it toward
    +X, the avatar's left), applied around ``pivot`` (a point near the neck).
    """
    pitch, yaw, roll = np.radians(np.asarray(rotation_deg, dtype=np.float64))
    cx, sx, cy, sy, cz, sz = (math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw),
                              math.cos(roll), math.sin(roll))
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    pose = np.eye(4)
    pose[:3, :3] = ry @ rx @ rz
    pivot = np.asarray(pivot, dtype=np.float64)
    pose[:3, 3] = pivot - pose[:3, :3] @ pivot
    return pose


def _check_resolution(resolution: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in resolution)
    except (TypeError, ValueError):
        raise InputError(f"resolution must be (width, height), got {resolution!r}.") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"resolution {width}x{height} is out of range.",
                         "Use between 16 and 8192 pixels per side, e.g. 512x512.")
    return width, height


def _albedo(png: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as exc:  # PIL raises many types for damaged images
        raise ReviveError(f"The avatar's albedo texture can't be read ({exc}).",
                          "Rebuild the avatar's texture with Revive.") from None


def _pivot(vertices: np.ndarray) -> np.ndarray:
    height = float(vertices[:, 1].max() - vertices[:, 1].min())
    return vertices.mean(axis=0).astype(np.float64) - [0.0, PIVOT_DROP * height, 0.0]


def _framing(vertices: np.ndarray, aspect: float) -> tuple[np.ndarray, float]:
    """Centre of the head's bounds and the camera's distance from it."""
    low, high = vertices.min(axis=0).astype(np.float64), vertices.max(axis=0).astype(np.float64)
    size = max(high[1] - low[1], (high[0] - low[0]) / aspect, 1e-6)
    distance = size / FILL_OF_FRAME / (2.0 * math.tan(math.radians(YFOV_DEG) / 2.0))
    return (low + high) / 2.0, distance


def _camera_pose(vertices: np.ndarray, aspect: float) -> np.ndarray:
    centre, distance = _framing(vertices, aspect)
    pose = np.eye(4)
    pose[:3, 3] = centre + [0.0, 0.0, distance]
    return pose


def _clip(vertices: np.ndarray, aspect: float) -> dict[str, float]:
    _, distance = _framing(vertices, aspect)
    return {"znear": 0.05 * distance, "zfar": 20.0 * distance}
