"""Errors of Revive: one family, each with a message and a hint for the person using it."""
from __future__ import annotations

from revive_core.formats.errors import FormatError, ReviveError

__all__ = ["FormatError", "InputError", "ReviveError"]


class InputError(ReviveError):
    """Something the user gave (a photo, a text, an audio file, an option) can't be used."""
