"""The client side of a cluster render: checks, the probe, the chunks, the encode, progress.

One take's render is a small state machine (``TakeRender``): the probe task first (it learns
how many frames the take has and which are already in the shared cache), then one task per
chunk of the missing frames, then the encode task that waits for all of them. ``revive render
--cluster`` drives one; ``revive batch`` drives many side by side with its builds and takes.

Functions
---------
check_workers       refuse, kindly, when a rendering worker can't see the paths or can't render
render_on_cluster   render one video on a cluster; returns a ``FarmResult``
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from revive_core import __version__
from revive_core.errors import InputError, ReviveError
from revive_core.video.farm.backend import BLENDER, Cluster, connect
from revive_core.video.farm.cache import frame_cache
from revive_core.video.farm.chunks import default_chunk, plan_chunks
from revive_core.video.render import progress_bar
from revive_core.video.farm.tasks import (ChunkReport, EncodeReport, Prepared, RenderJob,
                                          WorkerCheck, check_worker, encode_video,
                                          prepare_cache, render_chunk)

__all__ = ["FarmResult", "TakeRender", "check_workers", "describe_error", "render_on_cluster"]

log = logging.getLogger(__name__)
RETRIES = 2  # a chunk that raises is tried twice more; one whose worker died is re-run anyway
POLL_S = 0.25
SHARED_STORAGE_HINT = ("Rendering on a cluster assumes shared storage: every worker must see "
                       "the avatar, the take and the output folder at the same paths (mount the "
                       "same network folder at the same place on every machine).")


@dataclass(frozen=True)
class FarmResult:
    """What a cluster render made: the video, its chunks, and what it found on disk."""

    path: Path
    frame_count: int
    resumed: int  # frames of the same render already in the cache when it started
    chunks: tuple[ChunkReport, ...]
    encode: EncodeReport
    seconds: float  # from the probe's start to the video
    cleared: int = 0  # stale frames (other settings) removed by the probe
    devices: tuple[str, ...] = ()

    probe_rendered: int = 0  # the frame the probe rendered to learn the cache's key

    @property
    def rendered(self) -> int:
        """Frames rendered by this run: the chunks' and the probe's."""
        return sum(c.rendered for c in self.chunks) + self.probe_rendered


def describe_error(error: BaseException) -> str:
    """One line for a summary: a ReviveError's message, else the error's type and text."""
    if isinstance(error, ReviveError):
        return error.message.splitlines()[0] if error.message else type(error).__name__
    if type(error).__name__ == "KilledWorker":
        return ("the workers running it kept dying (out of memory, or killed); it was given up "
                "after several tries")
    return f"{type(error).__name__}: {error}".strip()


def check_workers(cluster: Cluster, readable: list[Path], writable: list[Path]) -> int:
    """Check every rendering worker; return how many there are.

    Raises
    ------
    InputError
        When no worker declares the ``blender`` resource, or one can't read ``readable``, write
        into ``writable``, start Blender, or runs another version of Revive.
    """
    renderers = [w for w in cluster.workers() if w.renders]
    if not renderers:
        raise InputError(f"No worker of the cluster {cluster.description} declares the "
                         f"'{BLENDER}' resource, so nothing can render.",
                         f"Start the render workers with --nthreads 1 --resources {BLENDER}=1.")
    found: dict[str, WorkerCheck] = cluster.run_everywhere(
        check_worker, [str(p) for p in readable], [str(p) for p in writable])
    problems = []
    for worker in renderers:
        check = found.get(worker.address)
        if check is None:
            continue  # it left the cluster meanwhile
        where = f"worker {worker.address} (on {check.host})"
        problems += [f"{where} can't see {path}" for path in check.unseen]
        problems += [f"{where} can't write into {path}" for path in check.unwritable]
        if check.blender:
            problems.append(f"{where} can't render: {check.blender}")
        if check.version != __version__:
            problems.append(f"{where} runs Revive {check.version}, this machine {__version__}")
    if problems:
        unseen = any("can't see" in p or "can't write" in p for p in problems)
        raise InputError("Some workers of the cluster can't do this render:\n  "
                         + "\n  ".join(problems),
                         SHARED_STORAGE_HINT if unseen else
                         "Install the same Revive, with bpy or Blender, on every worker.")
    return len(renderers)


@dataclass
class TakeRender:
    """One video's render on a cluster: probe -> chunks -> encode (call ``advance`` often)."""

    job: RenderJob
    chunk: int | None = None  # frames per chunk; None: ``default_chunk``
    name: str = "render"
    workers: int = 1  # rendering workers, for the default chunk size
    state: str = "new"  # new, probing, rendering, done, failed
    error: BaseException | None = None
    prepared: Prepared | None = None
    started: float = 0.0
    _probe: Any = None
    _chunks: list[Any] = field(default_factory=list)
    _encode: Any = None
    result: FarmResult | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def task_counts(self, cluster: Cluster) -> tuple[int, int]:
        """(finished, known) tasks of this render, for a progress bar."""
        handles = [t for t in [self._probe, *self._chunks, self._encode] if t is not None]
        return sum(1 for t in handles if cluster.done(t)), len(handles)

    def start(self, cluster: Cluster) -> None:
        """Submit the probe."""
        self.started = time.perf_counter()
        self._probe = cluster.submit(prepare_cache, self.job, key=f"revive-probe-{self.name}",
                                     resources={BLENDER: 1}, retries=1)
        self.state = "probing"

    def advance(self, cluster: Cluster) -> bool:
        """Move on when the task waited for has finished; True once the render is over."""
        if self.state == "probing" and cluster.done(self._probe):
            prepared, error = cluster.outcome(self._probe)
            if error is not None:
                return self._fail(cluster, error)
            self.prepared = prepared
            self._submit_chunks(cluster, prepared)
            self.state = "rendering"
        if self.state == "rendering" and cluster.done(self._encode):
            encoded, error = cluster.outcome(self._encode)
            if error is not None:
                return self._fail(cluster, error)
            chunks = tuple(cluster.outcome(t)[0] for t in self._chunks)
            self.result = FarmResult(
                path=encoded.path, frame_count=self.prepared.frame_count,
                resumed=self.prepared.kept, chunks=chunks, encode=encoded,
                seconds=time.perf_counter() - self.started, cleared=self.prepared.cleared,
                devices=tuple(sorted({c.device for c in chunks if c.device}
                                     | {self.prepared.device})),
                probe_rendered=self.prepared.rendered)
            self.state = "done"
        return self.finished

    def _submit_chunks(self, cluster: Cluster, prepared: Prepared) -> None:
        done = set(prepared.done)
        missing = [f for f in range(1, prepared.frame_count + 1) if f not in done]
        size = self.chunk or default_chunk(len(missing), self.workers)
        for start, end in plan_chunks(missing, size):
            self._chunks.append(cluster.submit(
                render_chunk, self.job, start, end, key=f"revive-chunk-{self.name}-{start}-{end}",
                resources={BLENDER: 1}, retries=RETRIES))
        self._encode = cluster.submit(encode_video, self.job, prepared.frame_count,
                                      *self._chunks, key=f"revive-encode-{self.name}",
                                      resources={BLENDER: 1}, retries=1)

    def _fail(self, cluster: Cluster, error: BaseException) -> bool:
        self.error, self.state = error, "failed"
        cluster.cancel([t for t in [*self._chunks, self._encode] if t is not None])
        return True


def _key_name(out: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", out.stem)[:40] or "video"


def render_on_cluster(avatar: str | os.PathLike, take: str | os.PathLike,
                      out: str | os.PathLike, *, cluster: str | Cluster = "local",
                      chunk: int | None = None, keep_frames: bool = False,
                      progress: bool | None = None, **options: Any) -> FarmResult:
    """Render the avatar speaking the take to ``out`` on a cluster, chunk by chunk.

    Parameters
    ----------
    avatar, take : path
        Folders (or zips) that every worker sees at the same path (shared storage).
    out : path
        The video (.mp4). Frames gather in ``<out>.frames/``; frames already there (from a
        render that was stopped) are kept and only the others are rendered.
    cluster : str or Cluster
        ``local``, ``local:N``, ``tcp://HOST:PORT``, or a ``Cluster`` already connected.
    chunk : int, optional
        Frames per task (one Blender start each); by default about three chunks per worker.
    keep_frames : bool
        Keep the PNG frames after the video is made.
    progress : bool, optional
        A progress bar over the take's frames (by default when stderr is a terminal).
    **options
        ``render_video``'s options: engine, device, preset, samples, resolution, blender,
        visible_label, mode, framing, light, background, subtitles, label_position, label_size.

    Returns
    -------
    FarmResult

    Raises
    ------
    InputError
        A bad cluster address or chunk size, or workers that can't see the files or render.
    ReviveError
        When the render fails (the first error of its tasks).
    """
    out = Path(out).expanduser().absolute()
    if out.suffix.lower() != ".mp4":
        raise InputError(f"The video {out} should end in .mp4.", "For example: --out video.mp4")
    if chunk is not None and chunk < 1:
        raise InputError(f"--chunk {chunk} must be at least 1 frame.", "For example: --chunk 24")
    avatar_path = Path(avatar).expanduser().absolute()
    take_path = Path(take).expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    job = RenderJob(avatar_path, take_path, out, dict(options), keep_frames)
    with _connected(cluster) as connected:
        workers = check_workers(connected, [avatar_path, take_path], [out.parent])
        render = TakeRender(job, chunk, _key_name(out), workers)
        render.start(connected)
        _drive(connected, render, progress)
    if render.error is not None:
        if isinstance(render.error, ReviveError):
            raise render.error
        raise ReviveError(f"The cluster render of {out.name} failed: "
                          f"{describe_error(render.error)}",
                          "Run the same command again: the frames already rendered are kept.")
    return render.result


@contextlib.contextmanager
def _connected(cluster: str | Cluster) -> Iterator[Cluster]:
    if isinstance(cluster, str):
        with connect(cluster) as connected:
            yield connected
    else:
        yield cluster


def _drive(cluster: Cluster, render: TakeRender, progress: bool | None) -> None:
    """Advance the render until it is over, with a bar over the frames in the shared cache."""
    bar = None
    cache = frame_cache(render.job.out)
    try:
        while not render.advance(cluster):
            if render.prepared is not None:
                if bar is None:
                    bar = progress_bar(render.prepared.frame_count, progress)
                count = min(bar.total, len(list(cache.glob("frame_*.png")))) if bar else 0
                if bar is not None and count > bar.n:
                    bar.update(count - bar.n)
            time.sleep(POLL_S)
        if bar is not None and render.state == "done":
            bar.update(bar.total - bar.n if bar.total else 0)
    except BaseException:  # Ctrl-C: the chunks not started are cancelled; frames are kept
        render._fail(cluster, KeyboardInterrupt())
        raise
    finally:
        if bar is not None:
            bar.close()
