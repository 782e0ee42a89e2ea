"""The progress lines of a Revive render: how the add-on prints them and how they are read.

The add-on's headless entry (``blender_addon/render/batch.py``) reports on stdout, one line per
event; the core (``revive_core.video.render``) and the add-on's background jobs read them back.
Both sides use the formats and patterns defined here, so they can't drift apart:

==========================================  =====================================================
line                                        pattern (groups)
==========================================  =====================================================
``Revive: device <device>``                 ``DEVICE`` (device, e.g. "CPU", "OPTIX (NVIDIA H200)")
``Revive: frame <frame> (<i>/<n>)``         ``FRAME`` (frame, i, n): the i-th of n frames written
``Revive: seconds per frame <s>``           ``SECONDS_PER_FRAME`` (seconds)
``Revive: frames <done>/<total> in <dir>``  ``FRAMES`` (done, total, frame cache)
``Revive: wrote <path>``                    ``WROTE`` (the video)
==========================================  =====================================================

A problem the user can fix is printed as ``Revive: <message>`` with its hint on the next line
(``last_message`` finds it). Only the standard library is used, so the Blender add-on ships this
module unchanged (as ``revive_formats.progress``).

Functions
---------
device_line             the line naming the render device
frame_line              the line after each frame is written
seconds_per_frame_line  the line with the mean render time of a frame
frames_line             the line saying how many of the take's frames are in the frame cache
wrote_line              the line naming the finished video
last_message            the last "Revive: <message>" among output lines, with its hint
"""
from __future__ import annotations

import os
import re
from typing import Iterable

__all__ = ["DEVICE", "FRAME", "FRAMES", "PREFIX", "SECONDS_PER_FRAME", "WROTE", "device_line",
           "frame_line", "frames_line", "last_message", "seconds_per_frame_line", "wrote_line"]

PREFIX = "Revive: "
DEVICE = re.compile(r"^Revive: device (.+)$")
FRAME = re.compile(r"^Revive: frame (\d+) \((\d+)/(\d+)\)")
SECONDS_PER_FRAME = re.compile(r"^Revive: seconds per frame ([0-9.]+)")
FRAMES = re.compile(r"^Revive: frames (\d+)/(\d+) in (.+)$")
WROTE = re.compile(r"^Revive: wrote (.+)$")


def device_line(device: str) -> str:
    """``Revive: device <device>``, e.g. for ``"CPU"``."""
    return f"{PREFIX}device {device}"


def frame_line(frame: int, done: int, total: int) -> str:
    """``Revive: frame <frame> (<done>/<total>)``: Blender frame ``frame``, the done-th of total."""
    return f"{PREFIX}frame {frame} ({done}/{total})"


def seconds_per_frame_line(seconds: float) -> str:
    """``Revive: seconds per frame <seconds>``, to the millisecond."""
    return f"{PREFIX}seconds per frame {seconds:.3f}"


def frames_line(done: int, total: int, cache: str | os.PathLike) -> str:
    """``Revive: frames <done>/<total> in <cache>``: the take's frames now in the frame cache."""
    return f"{PREFIX}frames {done}/{total} in {cache}"


def wrote_line(path: str | os.PathLike) -> str:
    """``Revive: wrote <path>``: the video is made."""
    return f"{PREFIX}wrote {path}"


def last_message(lines: Iterable[str]) -> tuple[str, str] | None:
    """The last ``Revive: <message>`` among ``lines`` and the line after it (its hint).

    Parameters
    ----------
    lines : iterable of str
        A command's output, with or without line ends; blank lines are skipped.

    Returns
    -------
    (str, str) or None
        The message without its prefix and the hint ("" when nothing follows), or None when no
        line starts with ``Revive: ``.
    """
    kept = [line.rstrip("\n") for line in lines if line.strip()]
    for i in range(len(kept) - 1, -1, -1):
        if kept[i].startswith(PREFIX):
            hint = kept[i + 1].strip() if i + 1 < len(kept) else ""
            return kept[i][len(PREFIX):], hint
    return None
