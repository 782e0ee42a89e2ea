"""``revive bench farm``: the same take rendered on 1 worker and on a LocalCluster of 2.

By default it builds the bundled sample avatar (the public-domain astronaut photo, ``delit``
texture, 512 px) and makes a short take from it, cut to ``--frames`` frames, in a temporary
folder; ``--avatar`` and ``--take`` render yours instead. Each cluster size renders the whole
take from an empty frame cache with ``revive render --cluster local:N`` (Cycles on the CPU),
keeping the frames, and the table shows:

- seconds: from the first task to the labelled video (the probe, the chunks, the encode), not
  counting the cluster's own start (shown apart);
- frames/s: the take's frames over those seconds, and the speed-up over the first row;
- overhead/chunk: a chunk's wall time minus Blender's own time for its frames (Blender's start,
  building the scene, moving the frames, Dask), averaged over the chunks;
- same frames: whether every frame's pixels equal the first row's.

On a machine with few cores, two workers share them: each Blender already renders with every
core, so the speed-up there comes only from overlapping one worker's start-up with the other's
rendering. Machines of their own (``tcp://`` clusters) add their cores.

Functions
    add_bench   the ``revive bench farm`` command
    run_bench   render the take on each cluster size; returns one ``FarmRow`` each
    sample_inputs   the sample avatar and a short take cut to N frames
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from revive_core.errors import InputError

__all__ = ["FarmRow", "add_bench", "run_bench", "sample_inputs"]

log = logging.getLogger(__name__)
SAMPLE_TEXT = "Hello, my dear. I am so proud of you, and I will always love you."
SAMPLE_CONSENT = "Revive sample (public-domain NASA portrait), demonstration, 2026-11-28"


@dataclass(frozen=True)
class FarmRow:
    """One cluster size's render of the take."""

    workers: int
    frames: int
    chunks: int
    start_s: float  # the LocalCluster's start
    seconds: float  # first task to labelled video
    frames_per_s: float
    speedup: float
    overhead_per_chunk_s: float
    render_s_per_frame: float  # Blender's own time per frame, averaged over the chunks
    same_frames: bool


def add_bench(subparsers) -> None:
    """Add ``revive bench farm``."""
    p = subparsers.add_parser("farm", help="cluster render: 1 worker vs a LocalCluster of 2")
    p.add_argument("--avatar", type=Path, default=None, help="an avatar folder (default: the "
                   "bundled sample, built in a temporary folder)")
    p.add_argument("--take", type=Path, default=None,
                   help="a take folder (default: a short line of the sample avatar)")
    p.add_argument("--frames", type=int, default=24,
                   help="without --take: the sample take's length in frames (default 24)")
    p.add_argument("--resolution", default="128x128", metavar="WxH")
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--chunk", type=int, default=6, metavar="FRAMES")
    p.add_argument("--workers", default="1,2", help="cluster sizes to compare (default 1,2)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    try:
        width, height = (int(x) for x in args.resolution.lower().split("x"))
        sizes = [int(x) for x in args.workers.split(",")]
    except ValueError:
        raise InputError("--resolution is WIDTHxHEIGHT and --workers a list like 1,2.",
                         "For example: --resolution 128x128 --workers 1,2") from None
    if args.take is not None and args.avatar is None:
        raise InputError("--take needs the --avatar it was made for.")
    if args.frames < 1 or args.samples < 1 or args.chunk < 1 or min(sizes) < 1:
        raise InputError("--frames, --samples, --chunk and --workers must be at least 1.")
    with tempfile.TemporaryDirectory(prefix="revive-bench-farm-") as folder:
        work = Path(folder)
        if args.avatar is None:
            avatar, take = sample_inputs(work, args.frames)
        else:
            avatar = args.avatar
            take = args.take or _short_take(avatar, work, args.frames)
        rows = run_bench(avatar, take, work, workers=sizes, chunk=args.chunk,
                         samples=args.samples, resolution=(width, height))
    print(table(rows, samples=args.samples, resolution=(width, height), chunk=args.chunk))
    if args.json is not None:
        from revive_core.formats.storage import atomic_write_bytes, dumps_json

        atomic_write_bytes(args.json, dumps_json({
            "format": "revive.bench.farm", "version": 1, "samples": args.samples,
            "resolution": [width, height], "chunk": args.chunk,
            "rows": [dataclasses.asdict(r) for r in rows]}))


def sample_inputs(folder: Path, frames: int) -> tuple[Path, Path]:
    """The bundled sample avatar (built into ``folder``) and a take of it cut to ``frames``."""
    from revive_core.assets import asset_path
    from revive_core.avatar.build import build_avatar
    from revive_core.avatar.consent import parse_consent

    avatar = folder / "sample_avatar"
    log.info("Building the sample avatar (delit texture, 512 px) ...")
    build_avatar([asset_path("sample", "astronaut.png")], avatar,
                 consent=parse_consent(SAMPLE_CONSENT), name="Eileen (sample)",
                 texture_size=512, texture_method="delit")
    return avatar, _short_take(avatar, folder, frames)


def _short_take(avatar: Path, folder: Path, frames: int) -> Path:
    """A take of ``avatar`` saying the sample line, cut to its first ``frames`` frames."""
    from revive_core.formats import read_avatar, write_take
    from revive_core.take.say import make_take

    take = make_take(read_avatar(avatar), SAMPLE_TEXT, folder / "full_take", language="en",
                     emotion="neutral")
    if frames > take.frame_count:
        raise InputError(f"--frames {frames}: the sample line has only {take.frame_count} "
                         "frames.", f"Choose --frames {take.frame_count} or fewer.")
    seconds = frames / take.fps
    samples = int(round(seconds * take.sample_rate))
    cut = dataclasses.replace(
        take, blendshapes=take.blendshapes[:frames],
        head_rotation_deg=take.head_rotation_deg[:frames], gaze_deg=take.gaze_deg[:frames],
        audio=take.audio[:samples], subtitles_srt=None,
        segments={name: [s for s in items if float(s.get("start_s", 0.0)) < seconds]
                  for name, items in take.segments.items()},
        layers={layer: {name: curve[:frames] for name, curve in curves.items()}
                for layer, curves in take.layers.items()})
    return write_take(cut, folder / "take")


def run_bench(avatar: Path, take: Path, folder: Path, *, workers: Sequence[int] = (1, 2),
              chunk: int = 6, samples: int = 4,
              resolution: tuple[int, int] = (128, 128)) -> list[FarmRow]:
    """Render ``take`` on a LocalCluster of each size in ``workers``; one row each."""
    from revive_core.video.farm.backend import connect
    from revive_core.video.farm.driver import render_on_cluster

    rows: list[FarmRow] = []
    first_frames: Path | None = None
    for count in workers:
        out = folder / f"workers-{count}" / "video.mp4"
        started = time.perf_counter()
        with connect(f"local:{count}") as cluster:
            cluster.client.wait_for_workers(count, timeout=120)
            start_s = time.perf_counter() - started
            result = render_on_cluster(avatar, take, out, cluster=cluster, chunk=chunk,
                                       keep_frames=True, progress=False, device="cpu",
                                       samples=samples, resolution=resolution)
        frames_dir = Path(str(out) + ".frames")
        worked = [c for c in result.chunks if c.rendered]
        rendered = sum(c.rendered for c in worked)
        same = True if first_frames is None else _same_pixels(first_frames, frames_dir,
                                                              result.frame_count)
        first_frames = first_frames or frames_dir
        speed = result.frame_count / result.seconds
        rows.append(FarmRow(
            workers=count, frames=result.frame_count, chunks=len(result.chunks),
            start_s=round(start_s, 2), seconds=round(result.seconds, 2),
            frames_per_s=round(speed, 3),
            speedup=round(speed / rows[0].frames_per_s, 2) if rows else 1.0,
            overhead_per_chunk_s=round(float(np.mean([c.overhead_seconds for c in worked]))
                                       if worked else 0.0, 2),
            render_s_per_frame=round(sum(c.render_seconds for c in worked) / rendered, 3)
            if rendered else 0.0,
            same_frames=same))
        log.info("%d worker(s): %.1f s", count, result.seconds)
    return rows


def _same_pixels(a: Path, b: Path, count: int) -> bool:
    from PIL import Image

    for frame in range(1, count + 1):
        name = f"frame_{frame:06d}.png"
        if not np.array_equal(np.asarray(Image.open(a / name).convert("RGB")),
                              np.asarray(Image.open(b / name).convert("RGB"))):
            return False
    return True


def table(rows: list[FarmRow], *, samples: int, resolution: tuple[int, int], chunk: int) -> str:
    """The rows as a plain text table."""
    lines = [f"Cluster render, Cycles CPU, {resolution[0]}x{resolution[1]}, {samples} samples, "
             f"{chunk} frames per chunk",
             f"{'workers':>7} {'frames':>6} {'chunks':>6} {'start s':>7} {'seconds':>7} "
             f"{'frames/s':>8} {'speed-up':>8} {'overhead/chunk s':>16} {'render s/frame':>14} "
             f"{'same frames':>11}"]
    for r in rows:
        lines.append(f"{r.workers:>7} {r.frames:>6} {r.chunks:>6} {r.start_s:>7.1f} "
                     f"{r.seconds:>7.1f} {r.frames_per_s:>8.2f} {r.speedup:>8.2f} "
                     f"{r.overhead_per_chunk_s:>16.2f} {r.render_s_per_frame:>14.3f} "
                     f"{'yes' if r.same_frames else 'NO':>11}")
    return "\n".join(lines)
