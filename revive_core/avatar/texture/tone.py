"""Colour handling of photos: what to do with grayscale and sepia prints (sRGB decoding is in
``geometry.srgb``).

Choice for old photos: a grayscale or sepia photo keeps its own light and dark (its luminance),
and its colour is *estimated*: taken from the person's colour photos when there are any, else a
neutral, medium skin colour. Sepia's brown cast is a property of the print, not of the skin, so it
is removed first (only the luminance is kept). The texture then looks like living skin under
any light, consistently across photos, rather than grey or brown; ``TextureResult.colour_source``
says which was done so the avatar records that its colour was estimated.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = ["is_monochrome", "colourise", "skin_chroma", "DEFAULT_SKIN_AB"]

# CIELAB a*, b* of a medium skin tone (between the light and dark ends of published skin
# colour measurements, which cluster around a* 10..18, b* 12..22).
DEFAULT_SKIN_AB = (13.0, 17.0)
MIN_CHROMA = 6.0  # Lab units: pixels greyer than this are left out of the test
OFF_CURVE_AB = 10.0  # Lab units from the chroma expected at a pixel's lightness...
MAX_OFF_CURVE_SHARE = 0.005  # ...in more than this share of coloured pixels: a colour photo


def is_monochrome(image: np.ndarray) -> bool:
    """Whether an sRGB photo (H, W, 3) uint8 is grayscale or toned (sepia, cyanotype, ...).

    In such a photo the chroma (CIELAB a*, b*) is a function of lightness alone: none at all in
    grayscale, the toner's hue growing with lightness in sepia. In a colour photo, some coloured
    pixels stray far from the chroma typical of their lightness (lips, eyes, hair, clothes
    beside skin): measured 2-9% of them in colour portraits, under 0.01% in toned prints, even
    after JPEG compression. Only coloured pixels count, so a plain grey backdrop does not.
    """
    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    # Chroma is unreliable near black and white; near-grey pixels carry no hue.
    usable = (lab[:, 0] > 8) & (lab[:, 0] < 97) & (np.hypot(lab[:, 1], lab[:, 2]) > MIN_CHROMA)
    if usable.sum() < 0.01 * len(lab):
        return True
    lightness, ab = lab[usable, 0], lab[usable, 1:]
    bins = np.minimum((lightness / 5).astype(int), 19)
    expected = np.zeros_like(ab)
    for b in np.unique(bins):
        expected[bins == b] = np.median(ab[bins == b], axis=0)
    off_curve = np.linalg.norm(ab - expected, axis=1) > OFF_CURVE_AB
    return bool(off_curve.mean() < MAX_OFF_CURVE_SHARE)


def skin_chroma(rgb_linear: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted median CIELAB (a*, b*) of linear colours (N, 3): the skin's own hue."""
    lab = cv2.cvtColor(rgb_linear.astype(np.float32).reshape(-1, 1, 3),
                       cv2.COLOR_LRGB2Lab).reshape(-1, 3)
    keep = weights > 0
    if keep.sum() < 50:
        return DEFAULT_SKIN_AB
    return tuple(float(_weighted_median(lab[keep, c], weights[keep])) for c in (1, 2))


def colourise(rgb_linear: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    """Linear colours (..., 3) with their lightness kept and their chroma set to ``ab``."""
    shape = rgb_linear.shape
    lab = cv2.cvtColor(np.clip(rgb_linear, 0, 1).astype(np.float32).reshape(-1, 1, 3),
                       cv2.COLOR_LRGB2Lab)
    # Chroma fades toward black and white, as it does on real skin in shadow and highlight.
    lightness = lab[..., 0:1] / 100.0
    fade = np.clip(np.minimum(lightness / 0.35, (1.0 - lightness) / 0.1), 0.0, 1.0)
    lab[..., 1:] = np.asarray(ab, dtype=np.float32) * fade
    return cv2.cvtColor(lab, cv2.COLOR_Lab2LRGB).reshape(shape).clip(0, 1).astype(np.float64)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
