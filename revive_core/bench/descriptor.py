"""Face descriptors for likeness: dlib's ResNet embedding of a face, 128 numbers.

Two photos of the same person lie closer than 0.6 apart (Euclidean distance, dlib's
same-person threshold; about 99.4% right on the LFW benchmark); photos of different people
lie farther. The network's weights come with ``face_recognition_models`` (CC0); the face is
found by dlib's HOG detector and aligned by its 68-point shape predictor (same package). Both
packages are the ``bench`` extra, installed only for evaluation, never part of the product.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from revive_core.errors import ReviveError

__all__ = ["FaceDescriber", "descriptor_distance", "SAME_PERSON_DISTANCE"]

SAME_PERSON_DISTANCE = 0.6  # dlib's threshold: below it, the same person
DESCRIBE_LONG_SIDE = 1024  # photos are searched at most this large: the chip is 150 px anyway
UPSAMPLE_TRIES = (1, 2)  # detector upsampling: once, then (small faces) twice


class FaceDescriber:
    """Find the largest face in an image and compute its 128-number descriptor.

    Raises
    ------
    ReviveError
        If dlib or face_recognition_models is not installed.
    """

    def __init__(self) -> None:
        models = _model_folder()
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self._network = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def describe(self, image: np.ndarray) -> np.ndarray | None:
        """The descriptor of the largest face in ``image``, or None where no face is found.

        Parameters
        ----------
        image : np.ndarray [shape=(H, W, 3), dtype=uint8]
            RGB.

        Returns
        -------
        np.ndarray [shape=(128,)] or None
        """
        image = _shrunk(np.ascontiguousarray(image[..., :3], dtype=np.uint8))
        for upsample in UPSAMPLE_TRIES:
            faces = self._detector(image, upsample)
            if faces:
                break
        else:
            return None
        face = max(faces, key=lambda r: r.width() * r.height())
        shape = self._predictor(image, face)
        return np.asarray(self._network.compute_face_descriptor(image, shape, num_jitters=1),
                          dtype=np.float64)


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors (below ``SAME_PERSON_DISTANCE``: same person)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def _model_folder() -> Path:
    """The folder of face_recognition_models' data files; ReviveError if dlib or it is missing."""
    # Found without importing the package: its __init__ needs pkg_resources, which newer
    # setuptools no longer ships; its data files are all that is needed.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or importlib.util.find_spec("dlib") is None:
        raise ReviveError("The likeness benchmark needs dlib and face_recognition_models.",
                          "install the bench extra: pip install .[bench]")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _shrunk(image: np.ndarray) -> np.ndarray:
    """``image`` scaled down so its longer side is at most ``DESCRIBE_LONG_SIDE``."""
    height, width = image.shape[:2]
    scale = DESCRIBE_LONG_SIDE / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))
