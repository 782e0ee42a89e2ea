"""``revive render ... --cluster local[:N]|tcp://HOST:PORT [--chunk FRAMES]``: the cluster path.

Functions
    render_on_cluster   run ``revive render`` with --cluster on the farm and report it
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from revive_core.errors import InputError

__all__ = ["render_on_cluster"]

log = logging.getLogger("revive")


def render_on_cluster(args: argparse.Namespace, out: Path, resolution: tuple[int, int] | None,
                      label_options: dict) -> None:
    """``revive render`` on a cluster: the same options, the same video, chunk by chunk."""
    from revive_core.video.farm.driver import render_on_cluster as render

    if args.cluster is None:
        raise InputError("--chunk only applies to a render on a cluster.",
                         "Add --cluster local (or local:N, or tcp://HOST:PORT), or leave out "
                         "--chunk.")
    if args.frames:
        raise InputError("--frames and --cluster don't go together: the cluster renders every "
                         "frame not yet in VIDEO.mp4.frames/ and then makes the video.",
                         "Leave out --frames (frames already rendered are kept and skipped).")
    result = render(args.avatar, args.take, out, cluster=args.cluster, chunk=args.chunk,
                    keep_frames=args.keep_frames, engine=args.engine, device=args.device,
                    preset=args.preset, samples=args.samples, resolution=resolution,
                    mode=args.mode, framing=args.framing, light=args.light,
                    background=args.background, subtitles=args.subtitles,
                    blender=args.blender, **label_options)
    retried = len(result.encode.abandoned)
    log.info("Video written to %s: %d frames in %.1f s on %s (%d chunks; %d frames rendered "
             "now, %d were already on disk%s).", result.path, result.frame_count,
             result.seconds, ", ".join(result.devices) or "?", len(result.chunks),
             result.rendered, result.resumed,
             f"; {retried} chunk attempts were cut short and done again" if retried else "")
