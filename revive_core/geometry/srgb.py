"""The sRGB transfer curve and relative luminance (IEC 61966-2-1, Rec. 709 primaries)."""
from __future__ import annotations

import numpy as np

__all__ = ["REC709", "srgb_to_linear", "linear_to_srgb", "luminance"]

REC709 = np.array([0.2126, 0.7152, 0.0722])


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """Linear light (float64, 0..1) from sRGB-encoded values 0..1 (any shape)."""
    x = np.asarray(image, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    """sRGB-encoded values 0..1 from linear light 0..1 (any shape; clipped to 0..1)."""
    x = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def luminance(rgb_linear: np.ndarray) -> np.ndarray:
    """Relative luminance (..., ) of linear RGB (..., 3)."""
    return np.asarray(rgb_linear) @ REC709
