"""Where the person is in a photo: mediapipe's selfie segmentation (bundled model, offline).

The texture stage uses it so that no texel takes its colour from the background: the fitted
head never matches the photo's outline exactly, least of all around the neck and the top of
the head, which no landmark pins down.
"""
from __future__ import annotations

import numpy as np

__all__ = ["person_mask"]


def person_mask(image: np.ndarray) -> np.ndarray:
    """Probability (H, W) float32 0..1 that each pixel of ``image`` (H, W, 3) uint8 RGB shows
    the person (face, hair, neck, clothes) rather than the background."""
    from revive_core.avatar.detect import quiet_native_stderr

    with quiet_native_stderr():
        import mediapipe as mp  # heavy import, only when segmenting

        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
            mask = segmenter.process(np.ascontiguousarray(image[..., :3])).segmentation_mask
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
