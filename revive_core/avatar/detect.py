"""Detect faces and their 478 dense landmarks in photos (mediapipe FaceMesh, bundled model).

Landmarks are in pixels of the photo as loaded (EXIF rotation applied, scans longer than
``MAX_WORKING_SIDE`` scaled down): ``x`` to the right, ``y`` down, and ``z`` (relative depth,
same scale as ``x``, smaller is nearer the camera).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from revive_core.errors import InputError

__all__ = ["Detection", "load_photo", "detect_face", "find_faces", "quiet_native_stderr",
           "MIN_FACE_PX"]

log = logging.getLogger(__name__)

MIN_FACE_PX = 80  # below this face width the 478 landmarks are mostly guesses
MAX_PHOTO_PIXELS = 120_000_000
MAX_WORKING_SIDE = 4096  # larger scans are scaled down as they load: fitting needs no more
DETECT_LONG_SIDE = 1280  # photos are searched at this size, landmarks mapped back


@dataclass(frozen=True)
class Detection:
    """One face found in one photo."""

    path: Path
    image: np.ndarray  # (H, W, 3) uint8 RGB, EXIF-rotated
    landmarks_px: np.ndarray  # (478, 3) float64: x, y in pixels; z relative depth in pixels
    face_width_px: float
    faces_found: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.image.shape[1], self.image.shape[0]


def load_photo(path: Path) -> np.ndarray:
    """Read a photo as (H, W, 3) uint8 RGB, applying its EXIF orientation.

    Grayscale, palette, 16-bit, CMYK and alpha images are converted; a photo with a side
    longer than ``MAX_WORKING_SIDE`` pixels is scaled down to it. The file is never modified.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Photo not found: {path}", "Check the file name and folder.")
    Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
    try:
        with Image.open(path) as img:
            img.draft("RGB", (MAX_WORKING_SIDE, MAX_WORKING_SIDE))  # JPEG: decode at 1/2..1/8
            img = ImageOps.exif_transpose(img)
            if max(img.size) > MAX_WORKING_SIDE:
                scale = MAX_WORKING_SIDE / max(img.size)
                img = img.resize((max(1, round(img.width * scale)),
                                  max(1, round(img.height * scale))), Image.LANCZOS,
                                 reducing_gap=3.0)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(img, dtype=np.float64)
                scale = 255.0 / max(float(array.max()), 1.0)
                img = Image.fromarray((array * scale).astype(np.uint8))
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except Image.DecompressionBombError:
        raise InputError(f"{path} is larger than {MAX_PHOTO_PIXELS // 1_000_000} megapixels.",
                         "Scale the photo down (a face about 500 pixels wide is plenty).") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The photo {path} could not be read ({exc}).",
                         "Check that it is a complete JPEG, PNG, TIFF or WebP image; "
                         "re-export it from a photo viewer if it is damaged.") from None


def detect_face(path: Path, *, min_face_px: int = MIN_FACE_PX) -> Detection:
    """Find the largest face in the photo at ``path`` and its 478 landmarks.

    Raises InputError when the photo can't be read, holds no face, or the face is too small.
    Several faces: the largest is used and a warning is logged.
    """
    image = load_photo(path)
    search, scale = _search_image(image)
    faces = _face_mesh_landmarks(search)
    if not faces or max(_width(f) for f in faces) / scale < min_face_px:
        _refuse_upside_down(search, path, min_face_px * scale)
    if not faces:
        raise InputError(f"No face was found in {path}.",
                         "Use a sharp photo where the face is clearly visible, turned less than "
                         "about 45 degrees from the camera, and not covered.")
    if len(faces) > 1:
        log.warning("%s shows %d faces; using the largest one.", path, len(faces))
    faces.sort(key=_width, reverse=True)
    landmarks = faces[0] / scale
    face_width = _width(landmarks)
    if face_width < min_face_px:
        raise InputError(f"The face in {path} is only {face_width:.0f} pixels wide.",
                         f"Revive needs at least {min_face_px} pixels; use a larger or sharper "
                         "scan of the photo, or crop less tightly before scaling.")
    return Detection(path=Path(path), image=image, landmarks_px=landmarks,
                     face_width_px=face_width, faces_found=len(faces))


def find_faces(images: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
    """Every face's 478 landmarks in each of ``images`` (frames already in memory), largest first.

    One face mesh serves all the images (cheaper than ``detect_face`` once per frame).

    Parameters
    ----------
    images : sequence of np.ndarray [shape=(H, W, 3), dtype=uint8]
        RGB; each is searched at most ``DETECT_LONG_SIDE`` pixels long.

    Returns
    -------
    list of list of np.ndarray [shape=(478, 3)]
        Per image, its faces sorted by width: x, y in pixels of that image, z relative depth.
    """
    found = []
    with _face_mesh() as mesh:
        for image in images:
            search, scale = _search_image(image)
            faces = [f / scale for f in _mesh_landmarks(mesh, np.ascontiguousarray(search))]
            found.append(sorted(faces, key=_width, reverse=True))
    return found


def _search_image(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image to search for faces, at most ``DETECT_LONG_SIDE`` long, and its scale."""
    height, width = image.shape[:2]
    scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
    if scale == 1.0:
        return image, scale
    return np.asarray(Image.fromarray(image).resize(
        (round(width * scale), round(height * scale)), Image.LANCZOS)), scale


def _refuse_upside_down(image: np.ndarray, path: Path, min_width: float) -> None:
    """InputError if the face is found only once the photo is turned upside down.

    The face mesh finds faces turned up to about 90 degrees, not upside down; then it finds
    nothing, or a small face where there is none.
    """
    turned = _face_mesh_landmarks(np.ascontiguousarray(image[::-1, ::-1]))
    if turned and max(_width(f) for f in turned) >= min_width:
        raise InputError(f"The face in {path} is upside down.",
                         "Turn the photo upright (any photo viewer can rotate it and save a "
                         "copy), then try again.")


def _width(landmarks: np.ndarray) -> float:
    return float(np.ptp(landmarks[:, 0]))


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence mediapipe's C++ start-up chatter (TFLite and absl write straight to fd 2)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _face_mesh_landmarks(image: np.ndarray) -> list[np.ndarray]:
    """All faces' landmarks in pixels, as (478, 3) arrays."""
    with _face_mesh() as mesh:
        return _mesh_landmarks(mesh, image)


@contextlib.contextmanager
def _face_mesh() -> Iterator:
    """mediapipe's face mesh for still images (up to 4 faces, irises refined)."""
    with quiet_native_stderr():
        import mediapipe as mp  # heavy import, only when detecting

        mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4,
                                               refine_landmarks=True,
                                               min_detection_confidence=0.5)
    try:
        yield mesh
    finally:
        with quiet_native_stderr():
            mesh.close()


def _mesh_landmarks(mesh, image: np.ndarray) -> list[np.ndarray]:
    """All faces' landmarks found by ``mesh`` in ``image``, in pixels, as (478, 3) arrays."""
    height, width = image.shape[:2]
    with quiet_native_stderr():
        result = mesh.process(image)
    faces = []
    for face in result.multi_face_landmarks or []:
        points = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
        faces.append(points * np.array([width, height, width]))
    return faces
