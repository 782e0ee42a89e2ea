"""A photo's lighting as second-order spherical harmonics, estimated from the fitted normals and
divided out of the photo's colours so what remains is albedo.

Model: a texel's linear colour is ``albedo * E(n)``, where ``E`` is the irradiance over the
surface normal ``n`` (camera frame), expanded in the 9 real spherical harmonics of bands 0..2
(Ramamoorthi & Hanrahan 2001: such a smooth function holds about 99% of the irradiance of any
distant lighting). ``E`` is fitted to the skin's luminance by robust least squares, treating the
skin's albedo as roughly constant; lips and brows, which are not, are down-weighted as outliers.

One ambiguity remains: a darker skin under brighter light looks the same. Revive assumes the
photo was exposed for the lit skin (as photographers and cameras do): the brightest-lit skin
has shading 1, so its albedo is its colour in the photo. The light's colour is taken as white.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from revive_core.geometry.spherical_harmonics import sh_basis

__all__ = ["Lighting", "estimate_lighting", "delight"]

# Band-1 coefficient of a unit directional light's irradiance: A1 * Y1 = (2 pi / 3) * 0.488603.
_BAND1_PER_INTENSITY = 2.0 * np.pi / 3.0 * 0.488603
_DC_PER_INTENSITY = np.pi * 0.282095**2  # the constant part a unit directional light adds (1/4)
# Band 0 is free; bands 1 and 2 are held back a little where the normals do not constrain them
# (one photo sees only the front half of the head).
_RIDGE = np.array([0.0, 1, 1, 1, 4, 4, 4, 4, 4]) * 1e-3
EXPOSURE_PERCENTILE = 99.5
MIN_SHADING = 0.08


@dataclass
class Lighting:
    """One photo's estimated irradiance: ``shading(n) = sh_basis(n) @ coefficients``.

    Attributes
    ----------
    coefficients : np.ndarray [shape=(9,)]
        Irradiance SH coefficients in the photo's camera frame (+Y up, looking down -Z),
        normalised so the brightest-lit skin has shading 1.
    rotation : np.ndarray [shape=(3, 3)]
        Model-to-camera rotation of the photo, to express the light in the head's frame.
    """

    coefficients: np.ndarray
    rotation: np.ndarray

    def shading(self, normals_camera: np.ndarray) -> np.ndarray:
        """(N,) shading at unit normals (N, 3) in the camera frame, at least MIN_SHADING."""
        return np.maximum(sh_basis(normals_camera) @ self.coefficients, MIN_SHADING)

    def to_dict(self) -> dict:
        """JSON-ready summary: the SH coefficients and a sun + ambient that approximate them.

        ``sun_direction_model`` points from the head toward the light, in the head's frame
        (+Y up, face toward +Z): what a Blender sun lamp needs to match the photo.
        """
        band1 = self.coefficients[[3, 1, 2]]  # (x, y, z) order
        strength = float(np.linalg.norm(band1) / _BAND1_PER_INTENSITY)
        direction = band1 / max(np.linalg.norm(band1), 1e-12)
        ambient = float(self.coefficients[0] * 0.282095 - _DC_PER_INTENSITY * strength)
        return {
            "model": "sh2-irradiance",
            "frame": "camera (+Y up, looking down -Z)",
            "normalisation": "brightest-lit skin has shading 1; white light",
            "coefficients": [round(float(c), 6) for c in self.coefficients],
            "sun_direction_camera": [round(float(c), 5) for c in direction],
            "sun_direction_model": [round(float(c), 5) for c in self.rotation.T @ direction],
            "sun_strength": round(strength, 5),
            "ambient": round(max(ambient, 0.0), 5),
        }


def estimate_lighting(luminance: np.ndarray, normals_camera: np.ndarray, weights: np.ndarray,
                      rotation: np.ndarray, *, iterations: int = 4) -> Lighting:
    """Fit a photo's irradiance to the luminance of its skin texels.

    Parameters
    ----------
    luminance : np.ndarray [shape=(N,)]
        Linear luminance (0..1) of the texels as the photo sees them.
    normals_camera : np.ndarray [shape=(N, 3)]
        Their unit normals in the photo's camera frame.
    weights : np.ndarray [shape=(N,)]
        How much each texel counts (0: unseen, or not skin).
    rotation : np.ndarray [shape=(3, 3)]
        The photo's model-to-camera rotation (kept in the result).
    iterations : int
        Rounds of reweighting (Huber) that discount lips, brows, shadows and highlights.
    """
    use = (weights > 0) & (luminance > 0.01) & (luminance < 0.97)
    if use.sum() < 50:  # too little skin seen: uniform light
        return Lighting(np.array([1 / 0.282095] + [0.0] * 8), rotation)
    basis, target, prior = sh_basis(normals_camera[use]), luminance[use], weights[use]
    robust = np.ones_like(target)
    for _ in range(iterations):
        w = prior * robust
        normal_matrix = (basis * w[:, None]).T @ basis + np.diag(_RIDGE) * w.sum()
        coefficients = np.linalg.solve(normal_matrix, (basis * w[:, None]).T @ target)
        residual = target - basis @ coefficients
        scale = 1.4826 * np.median(np.abs(residual)) + 1e-6
        robust = np.minimum(1.0, 1.5 * scale / np.maximum(np.abs(residual), 1e-12))
    brightest = np.percentile(basis @ coefficients, EXPOSURE_PERCENTILE)
    return Lighting(coefficients / max(brightest, 1e-6), np.asarray(rotation, dtype=np.float64))


def delight(colours_linear: np.ndarray, shading: np.ndarray, *, strength: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Albedo (N, 3) from linear colours (N, 3) and shading (N,), and how far to trust it (N,).

    ``strength`` is the share of the lighting divided out, in log terms: 1 all of it, 0.5 half
    (``colour / shading ** 0.5``). A texel that comes out brighter than white is scaled down
    as a whole, so it keeps its hue (clipping each channel turns bright skin green-white).
    Texels in deep shadow are divided by a small number and amplify the photo's noise, so their
    trust falls to 0 at MIN_SHADING.
    """
    albedo = colours_linear / (shading ** strength)[:, None]
    albedo = np.clip(albedo / np.maximum(albedo.max(axis=1, keepdims=True), 1.0), 0.0, 1.0)
    trust = np.clip((shading - MIN_SHADING) / 0.25, 0.0, 1.0)
    return albedo, trust
