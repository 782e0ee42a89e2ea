"""Morphable face models: one format whatever the source, and the built-in model's generator."""
from .morphable import MorphableModel

__all__ = ["MorphableModel"]
