"""Shared test fixtures: a tiny but real Avatar and Take.

``tiny_avatar`` is an egg-shaped UV sphere (a head-sized "face", 0.18 m wide and 0.24 m tall,
centred on the origin, looking toward +Z) with a checker texture, a UV seam at the back and two
ARKit blendshapes: ``jawOpen`` moves the lower half down (up to 4 cm at the chin),
``eyeBlinkLeft`` pulls a small patch at the avatar's left eye (+X, upper front) down.

``tiny_take`` is one second at 25 fps with a 220 Hz tone at 22050 Hz; ``jawOpen`` ramps from 0
to 1 over the first 0.6 s (frames 0..15) and holds 1 afterwards (frames 15..24 are identical);
``eyeBlinkLeft`` stays 0; no head motion.

``avatar_builder`` and ``take_builder`` give the builders themselves, for other sizes.
"""
from __future__ import annotations

import io
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before anything imports pyrender

import numpy as np
import pytest
from PIL import Image

from revive_core.formats.avatar import Avatar
from revive_core.formats.take import Take

CHECKER_COLOURS = ((214, 160, 130), (150, 96, 70))  # light and dark skin tones
CONSENT = {"authorised_by": "Test Family", "relationship": "test fixture",
           "date": "2025-01-01", "statement": "Synthetic test head; no real person."}


def checker_png(size: int = 128, cells: int = 8,
                colours: tuple[tuple[int, int, int], ...] = CHECKER_COLOURS) -> bytes:
    """A PNG checkerboard of ``cells`` x ``cells`` squares in two colours."""
    yy, xx = np.mgrid[0:size, 0:size] * cells // size
    image = np.where(((yy + xx) % 2 == 0)[..., None], colours[0], colours[1]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def build_avatar(rings: int = 14, segments: int = 24, *, radius: float = 0.09,
                 half_height: float = 0.12, name: str = "Tiny Test Head") -> Avatar:
    """A UV-sphere head with ``rings * segments + 2`` vertices (338 by default).

    Vertices are welded everywhere (poles and seam included); the UVs form a
    ``(segments + 1) x (rings + 2)`` grid, so the seam at the back (-Z) and the poles split UVs
    but not vertices, like a real head mesh.
    """
    theta = np.pi * np.arange(1, rings + 1) / (rings + 1)  # from +Y down
    phi = np.pi * (2.0 * np.arange(segments) / segments - 1.0)  # -pi at the back, 0 at the front
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([radius * np.sin(t) * np.sin(p), half_height * np.cos(t),
                     radius * np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    vertices = np.concatenate([[[0.0, half_height, 0.0]], ring,
                               [[0.0, -half_height, 0.0]]]).astype(np.float32)
    south = len(vertices) - 1

    def vid(i: int, j: int) -> int:  # ring i in 1..rings, column j (wraps)
        return 1 + (i - 1) * segments + j % segments

    def tid(i: int, j: int) -> int:  # UV row i in 0..rings+1, column j in 0..segments
        return i * (segments + 1) + j

    faces, uv_faces = [], []
    for j in range(segments):
        faces.append((0, vid(1, j), vid(1, j + 1)))
        uv_faces.append((tid(0, j), tid(1, j), tid(1, j + 1)))
        for i in range(1, rings):
            a, b, c, d = vid(i, j), vid(i, j + 1), vid(i + 1, j + 1), vid(i + 1, j)
            ta, tb, tc, td = tid(i, j), tid(i, j + 1), tid(i + 1, j + 1), tid(i + 1, j)
            faces += [(a, d, c), (a, c, b)]
            uv_faces += [(ta, td, tc), (ta, tc, tb)]
        faces.append((vid(rings, j), south, vid(rings, j + 1)))
        uv_faces.append((tid(rings, j), tid(rings + 1, j), tid(rings, j + 1)))
    rows, cols = np.meshgrid(np.arange(rings + 2), np.arange(segments + 1), indexing="ij")
    uvs = np.stack([cols / segments, 1.0 - rows / (rings + 1)], axis=-1).reshape(-1, 2)

    x, y, z = vertices.T
    jaw = np.zeros_like(vertices)
    jaw[:, 1] = -0.04 * np.clip(-y / half_height, 0.0, 1.0)
    eye = np.zeros_like(vertices)
    near = np.exp(-((x - 0.035) ** 2 + (y - 0.03) ** 2) / (2 * 0.015**2)) * (z > 0)
    eye[:, 1] = -0.008 * near
    return Avatar(
        name=name, vertices_m=vertices, faces=np.asarray(faces, dtype=np.int32),
        uvs=uvs.astype(np.float32), uv_faces=np.asarray(uv_faces, dtype=np.int32),
        region_names=["face"], vertex_regions=np.zeros(len(vertices), dtype=np.uint8),
        landmark_faces=np.zeros(0, dtype=np.int32), landmark_bary=np.zeros((0, 3), np.float32),
        blendshape_names=["jawOpen", "eyeBlinkLeft"],
        blendshape_deltas_m=np.stack([jaw, eye]).astype(np.float32),
        albedo_png=checker_png(), model_id="test-uv-sphere", consent=dict(CONSENT),
        provenance={"tool": "tests/conftest.py"})


def build_take(*, fps: float = 25.0, seconds: float = 1.0, sample_rate: int = 22050,
               ramp_s: float = 0.6, tone_hz: float = 220.0) -> Take:
    """A take of ``seconds`` with a sine tone and ``jawOpen`` ramping 0 -> 1 over ``ramp_s``."""
    frames = int(round(seconds * fps))
    samples = int(round(seconds * sample_rate))
    t = np.arange(samples) / sample_rate
    fade = np.clip(np.minimum(t, seconds - t) / 0.01, 0.0, 1.0)
    audio = (0.3 * 32767 * fade * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)
    jaw = np.clip(np.arange(frames) / fps / ramp_s, 0.0, 1.0)
    return Take(
        fps=fps, text="Hello, this is a test.", language="en",
        blendshape_names=["jawOpen", "eyeBlinkLeft"],
        blendshapes=np.stack([jaw, np.zeros(frames)], axis=1).astype(np.float32),
        head_rotation_deg=np.zeros((frames, 3), np.float32),
        gaze_deg=np.zeros((frames, 2), np.float32), audio=audio, sample_rate=sample_rate,
        avatar={"name": "Tiny Test Head", "consent": dict(CONSENT)})


def pytest_configure(config: pytest.Config) -> None:
    # PyOpenGL 3.1.0 (pyrender's pin) calls numpy's deprecated tostring() on every texture upload.
    config.addinivalue_line("filterwarnings",
                            "ignore:tostring.. is deprecated:DeprecationWarning:OpenGL")


@pytest.fixture
def tiny_avatar() -> Avatar:
    """A 338-vertex textured UV-sphere head with jawOpen and eyeBlinkLeft."""
    return build_avatar()


@pytest.fixture
def tiny_take() -> Take:
    """One second at 25 fps: a 220 Hz tone and jawOpen ramping 0 -> 1 then holding."""
    return build_take()


@pytest.fixture(scope="session")
def avatar_builder():
    """The ``build_avatar`` function, for tests that need another size."""
    return build_avatar


@pytest.fixture(scope="session")
def take_builder():
    """The ``build_take`` function, for tests that need another length or rate."""
    return build_take
