"""What runs on a cluster worker: the path check, the cache probe, one chunk, the encode.

Each task is a plain function of plain, picklable values (a ``RenderJob``, frame numbers) that
calls the single-machine ``render_video``: the same Blender scene, renderer, encoder and label.

Functions
---------
check_worker    what this worker can see and do (paths, Blender, Revive's version)
prepare_cache   the probe: learn the render's key, clear stale frames, list the frames done
render_chunk    render the missing frames of one chunk into the shared cache
encode_video    encode and label the video once every frame is in the shared cache
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revive_core import __version__
from revive_core.errors import ReviveError
from revive_core.video.farm.cache import (KEY, complete_png, copy_devices, done_frames,
                                          farm_folder, frame_cache, frame_path, install_key,
                                          move_frame, new_attempt, read_key, remove_attempt)
from revive_core.video.render import blender_command, render_video

__all__ = ["RENDER_OPTIONS", "ChunkReport", "EncodeReport", "Prepared", "RenderJob",
           "WorkerCheck", "check_worker", "encode_video", "prepare_cache", "render_chunk"]

# render_video's keyword arguments that a job may set (out, frames and keep_frames are the farm's)
RENDER_OPTIONS = frozenset({"engine", "device", "preset", "samples", "resolution", "blender",
                            "visible_label", "mode", "framing", "light", "background",
                            "subtitles", "label_position", "label_size"})


@dataclass(frozen=True)
class RenderJob:
    """One video to render: absolute paths (the same on every worker) and render options."""

    avatar: Path
    take: Path
    out: Path
    options: dict[str, Any] = field(default_factory=dict)
    keep_frames: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.options) - RENDER_OPTIONS)
        if unknown:
            raise ValueError(f"unknown render options: {', '.join(unknown)}")


@dataclass(frozen=True)
class WorkerCheck:
    """What one worker found: its host, Revive's version, why it can't render, what it can't see."""

    host: str
    version: str
    blender: str  # "" when it can start Blender (bpy or a binary), else why not
    unseen: tuple[str, ...]  # paths it can't read
    unwritable: tuple[str, ...]  # folders it can't write into


@dataclass(frozen=True)
class Prepared:
    """The probe's answer: the take's frames, those in the cache now, what it found and did."""

    frame_count: int
    done: tuple[int, ...]  # every frame in the shared cache after the probe
    kept: int  # frames already there, of the same render, before the probe (resumed)
    cleared: int  # frames of another render removed
    rendered: int  # 0 or 1: the frame the probe rendered to learn the key
    device: str


@dataclass(frozen=True)
class ChunkReport:
    """One chunk's work: frames rendered, wall time, Blender's own render time, where."""

    start: int
    end: int
    rendered: int
    seconds: float  # the whole task: Blender's start, the scene, the frames, the moves
    render_seconds: float  # the frames alone, as Blender measured them
    host: str
    pid: int
    device: str = ""

    @property
    def overhead_seconds(self) -> float:
        """What the chunk cost beyond rendering its frames (0 when it rendered none)."""
        return max(0.0, self.seconds - self.render_seconds) if self.rendered else 0.0


@dataclass(frozen=True)
class EncodeReport:
    """The video, who encoded it, and the attempts that workers left behind (killed mid-chunk)."""

    path: Path
    device: str
    seconds: float
    abandoned: tuple[str, ...]


def check_worker(readable: list[str], writable: list[str]) -> WorkerCheck:
    """Run on a worker: can it see ``readable`` and write into ``writable``, and start Blender?"""
    unseen = tuple(p for p in readable if not os.access(p, os.R_OK))
    unwritable = tuple(p for p in writable
                       if not (os.path.isdir(p) and os.access(p, os.W_OK | os.X_OK)))
    try:
        blender_command()
        blender = ""
    except ReviveError as error:
        blender = error.message
    return WorkerCheck(socket.gethostname(), __version__, blender, unseen, unwritable)


def _render(job: RenderJob, out: Path, frames: tuple[int, int], on_frame=None):
    return render_video(job.avatar, job.take, out, frames=frames, keep_frames=True,
                        progress=False, on_frame=on_frame, stop_with_parent=True, **job.options)


def prepare_cache(job: RenderJob) -> Prepared:
    """The probe, run once before the chunks: make the shared cache hold this render's key.

    The key (``render.json``) is written by the add-on itself, so the probe renders one frame
    in an attempt folder: a frame already in the shared cache (then Blender only checks that
    the key is the same and renders nothing), else frame 1. When the shared cache's key differs
    (another avatar, take or settings) its stale frames are removed first.
    """
    shared = frame_cache(job.out)
    shared.mkdir(parents=True, exist_ok=True)
    attempt = new_attempt(job.out, "probe")
    try:
        private_out = attempt / "video.mp4"
        private = frame_cache(private_out)
        present = sorted(int(p.stem[len("frame_"):]) for p in shared.glob("frame_*.png")
                         if p.stem[len("frame_"):].isdigit() and complete_png(p))
        frame = present[0] if present and read_key(shared) is not None else 1
        if frame in present:  # the same key: Blender keeps this frame and renders nothing
            private.mkdir(parents=True)
            (private / KEY).write_bytes((shared / KEY).read_bytes())
            frame_path(private, frame).write_bytes(frame_path(shared, frame).read_bytes())
        result = _render(job, private_out, (frame, frame))
        rendered = int(result.seconds_per_frame > 0)  # 0 s per frame: it kept the copy
        cleared = install_key(shared, private / KEY)
        if rendered:
            move_frame(private, shared, frame)
        copy_devices(private, shared)
    finally:
        remove_attempt(attempt)
    done = tuple(done_frames(shared, 1, result.frames_total))
    return Prepared(result.frames_total, done,
                    len(done) - rendered, cleared, rendered, result.device)


def render_chunk(job: RenderJob, start: int, end: int, *_after: Any) -> ChunkReport:
    """Render the frames of ``start..end`` that the shared cache lacks; move each one in.

    Blender renders into an attempt folder of its own; each frame is moved into the shared
    cache as soon as it is written, so a worker killed mid-chunk loses at most the frame it was
    on, and the chunk retried elsewhere renders only what is still missing.
    """
    started = time.perf_counter()
    shared = frame_cache(job.out)
    wanted = read_key(shared)
    if wanted is None:
        raise ReviveError(f"The frame folder {shared} has lost its render.json.",
                          "Was it removed while rendering? Run the same command again.")
    missing = [f for f in range(start, end + 1) if not complete_png(frame_path(shared, f))]
    if not missing:
        return ChunkReport(start, end, 0, time.perf_counter() - started, 0.0,
                           socket.gethostname(), os.getpid())
    attempt = new_attempt(job.out, f"chunk-{start:06d}-{end:06d}")
    private_out = attempt / "video.mp4"
    private = frame_cache(private_out)
    rendered: list[int] = []

    def arrived(frame: int) -> None:
        if not rendered:
            _same_key(private, wanted, shared)
        rendered.append(frame)
        move_frame(private, shared, frame)

    try:
        result = _render(job, private_out, (missing[0], missing[-1]), arrived)
        _same_key(private, wanted, shared)
        for frame in missing:  # any frame whose line was missed
            move_frame(private, shared, frame)
        copy_devices(private, shared)
    finally:
        remove_attempt(attempt)
    still = [f for f in range(start, end + 1) if not complete_png(frame_path(shared, f))]
    if still:
        raise ReviveError(f"Frames {still[0]}-{still[-1]} of chunk {start}-{end} were not "
                          "rendered.", "Run the same command again; finished frames are kept.")
    return ChunkReport(start, end, len(rendered), time.perf_counter() - started,
                       result.seconds_per_frame * len(rendered), socket.gethostname(),
                       os.getpid(), result.device)


def _same_key(private: Path, wanted: dict, shared: Path) -> None:
    if read_key(private) != wanted:
        raise ReviveError(f"This worker rendered other pixels than the frames in {shared} "
                          "(another avatar, take, add-on version or settings).",
                          "Make sure every worker runs the same Revive and sees the same "
                          "avatar and take, then run the same command again.")


def encode_video(job: RenderJob, frame_count: int, *_after: Any) -> EncodeReport:
    """Once every frame is in the shared cache: encode and label the video (H.264 + AAC).

    The single-machine render does it, finding every frame already rendered, so the video,
    its metadata and its label sidecar are made exactly as without a cluster.
    """
    started = time.perf_counter()
    shared = frame_cache(job.out)
    missing = [f for f in range(1, frame_count + 1) if not complete_png(frame_path(shared, f))]
    if missing:
        raise ReviveError(f"{len(missing)} frames are still missing in {shared} (the first is "
                          f"{missing[0]}), so the video can't be made.",
                          "Run the same command again to render them.")
    farm = farm_folder(job.out)
    abandoned = tuple(sorted(p.name for p in farm.iterdir() if p.is_dir())) \
        if farm.is_dir() else ()
    result = render_video(job.avatar, job.take, job.out, keep_frames=job.keep_frames,
                          progress=False, stop_with_parent=True, **job.options)
    if result.path is None:
        raise ReviveError(f"Blender did not write the video {job.out}.",
                          "Run the same command again; the frames are kept.")
    for leftover in farm.glob("*"):
        remove_attempt(leftover)
    try:
        farm.rmdir()
    except OSError:
        pass
    return EncodeReport(result.path, result.device, time.perf_counter() - started, abandoned)
