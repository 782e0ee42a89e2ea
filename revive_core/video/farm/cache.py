"""The shared frame cache ``VIDEO.mp4.frames/``, seen from the core (no Blender here).

The add-on's ``render/frames.py`` owns the cache's layout: ``frame_000001.png``...,
``render.json`` (the key: what the frames show) and ``device-<host>-<pid>.json`` records. On a
cluster each chunk renders into a folder of its own (an *attempt*, under ``.VIDEO.mp4.farm/``
beside the video, on the same file system) and each finished frame is moved into the shared
cache with one ``os.replace``: a frame in the shared cache is always whole, and a worker killed
mid-frame leaves nothing half-written there.

Functions
---------
frame_cache     the shared cache of a video
farm_folder     the folder of a video's chunk attempts
frame_path      one frame's file in a cache
complete_png    whether a PNG file is whole (from formats.storage: the add-on checks the same way)
done_frames     the frames of a range that a cache holds whole
read_key        a cache's key (render.json), or None
install_key     make a cache hold the frames of ``key`` only (stale frames are removed)
move_frame      move one whole frame from an attempt into the shared cache, atomically
copy_devices    copy an attempt's device records into the shared cache
new_attempt     a fresh, empty attempt folder
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from pathlib import Path

from revive_core.formats.storage import atomic_write_bytes, complete_png

__all__ = ["KEY", "complete_png", "copy_devices", "done_frames", "farm_folder", "frame_cache",
           "frame_path", "install_key", "move_frame", "new_attempt", "read_key",
           "remove_attempt"]

KEY = "render.json"  # the add-on's frames.MANIFEST


def frame_cache(video: str | os.PathLike) -> Path:
    """``<video>.frames`` beside the video (the add-on's ``frames.frame_cache``)."""
    video = Path(video)
    return video.with_name(video.name + ".frames")


def farm_folder(video: str | os.PathLike) -> Path:
    """``.<video>.farm`` beside the video: the chunk attempts' own folders."""
    video = Path(video)
    return video.with_name(f".{video.name}.farm")


def frame_path(folder: str | os.PathLike, frame: int) -> Path:
    return Path(folder) / f"frame_{frame:06d}.png"


def done_frames(folder: str | os.PathLike, start: int, end: int) -> list[int]:
    """The frames of ``start..end`` (inclusive) whose PNG in ``folder`` is whole."""
    return [frame for frame in range(start, end + 1) if complete_png(frame_path(folder, frame))]


def read_key(folder: str | os.PathLike) -> dict | None:
    """The key (``render.json``) of a cache, or None when it has none or it is unreadable."""
    try:
        key = json.loads((Path(folder) / KEY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return key if isinstance(key, dict) else None


def install_key(folder: str | os.PathLike, key_file: Path) -> int:
    """Make ``folder`` a cache for the key in ``key_file``; return how many stale frames went.

    When the cache's own key differs (another avatar, take or settings), its frames and device
    records are removed before the new key is written (atomically), as the add-on does.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = json.loads(key_file.read_text(encoding="utf-8"))
    if read_key(folder) == wanted:
        return 0
    stale = sorted(folder.glob("frame_*.png"))
    for path in [*stale, *folder.glob("device-*.json")]:
        path.unlink(missing_ok=True)
    atomic_write_bytes(folder / KEY, key_file.read_bytes())
    return len(stale)


def move_frame(attempt_cache: Path, shared_cache: Path, frame: int) -> bool:
    """Move a whole frame from an attempt's cache into the shared cache; False if not whole.

    ``os.replace`` on one file system: the shared cache sees the whole frame or nothing. A
    frame already there (the same pixels, from an earlier attempt) is replaced.
    """
    source = frame_path(attempt_cache, frame)
    if not complete_png(source):
        return False
    os.replace(source, frame_path(shared_cache, frame))
    return True


def copy_devices(attempt_cache: Path, shared_cache: Path) -> None:
    """Copy the attempt's ``device-*.json`` records (the label lists every device used)."""
    for record in Path(attempt_cache).glob("device-*.json"):
        atomic_write_bytes(Path(shared_cache) / record.name, record.read_bytes())


def new_attempt(video: Path, name: str) -> Path:
    """A new empty folder ``.<video>.farm/<name>.<host>.<pid>.<random>/`` for one attempt."""
    unique = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    folder = farm_folder(video) / f"{name}.{unique}"
    folder.mkdir(parents=True)
    return folder


def remove_attempt(folder: Path) -> None:
    """Remove an attempt's folder and what is left in it."""
    shutil.rmtree(folder, ignore_errors=True)
