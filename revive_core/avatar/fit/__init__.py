"""Fit: a morphable model fitted jointly to the landmarks of all photos of one person.

One identity is shared by every photo; each photo has its own pose, expression and camera.
With two or more photos the landmark fit is refined by how the skin looks in them.

Modules
    pose        the layout of the parameter vector and the rotation derivatives
    photometric the photos' shading explained by one albedo and per-photo light
    solve       the Levenberg-Marquardt fit: ``fit_model`` -> ``FitResult``
"""
from revive_core.avatar.fit.solve import FitResult, fit_model

__all__ = ["FitResult", "fit_model"]
