"""The outside programs Revive runs (ffmpeg and ffprobe): find them, or say how to get them."""
from __future__ import annotations

import shutil

from revive_core.errors import ReviveError

__all__ = ["require_program"]

INSTALL_HINT = ("Install it with scripts/setup.sh, or with your system's package manager "
                "(Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg), then "
                "try again.")


def require_program(name: str, needed_for: str, *, instead: str = "") -> str:
    """Path of the program ``name`` (``ffmpeg`` or ``ffprobe``, which ships with it) on PATH.

    Parameters
    ----------
    name : str
        The program's name.
    needed_for : str
        What needs it, as the start of a sentence ("Writing videos").
    instead : str
        What the user can do without it, appended to the hint ("Or give a WAV file.").

    Raises
    ------
    ReviveError
        When the program is not installed: the message says what needs it, the hint how to
        install it.
    """
    path = shutil.which(name)
    if path is None:
        raise ReviveError(f"{needed_for} needs {name} (part of ffmpeg), which was not found.",
                          f"{INSTALL_HINT} {instead}".strip())
    return path
