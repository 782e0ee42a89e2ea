"""Data Revive made itself and ships as package data: the built-in face template, the emotion
examples and classifier, the lip-sync sentences and the sample photo for the demo."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["asset_path"]


def asset_path(*parts: str) -> Path:
    """The path of a shipped asset, e.g. ``asset_path("sample", "astronaut.png")``."""
    return Path(str(resources.files(__name__).joinpath(*parts)))
