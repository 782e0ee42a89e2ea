"""The one exception family of Revive.

It lives here, beside the formats, because the Blender add-on ships this package alone and must
raise and catch the same errors as the core.
"""
from __future__ import annotations


class ReviveError(Exception):
    """A problem the user can act on: a message saying what went wrong and a hint what to do.

    The command line prints both kindly and exits non-zero, without a traceback.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  {self.hint}" if self.hint else self.message


class FormatError(ReviveError):
    """An Avatar or Take file that is missing, damaged or of a version this Revive can't read."""
