"""Headless rendering of a Revive video, from Blender or from the ``bpy`` module.

    blender -b --factory-startup --python blender_addon/render/batch.py -- \
        --avatar A --take T --out V.mp4
    python blender_addon/render/batch.py --avatar A --take T --out V.mp4    (with bpy installed)

Options: ``--preset preview|final`` (samples, denoising, resolution) ``--samples N``
``--resolution WxH`` ``--engine cycles|eevee|workbench`` ``--device auto|cpu|gpu``
``--frames START-END`` (Blender frames, the take's first frame is 1, inclusive)
``--mode studio|portrait`` ``--framing close-up|portrait|shoulders`` ``--light studio|photo``
``--background dark|light|transparent|photo`` ``--subtitles`` ``--keep-frames``
``--no-visible-label`` ``--label-position bottom-right|bottom-left|top-right|top-left``
``--label-size 0.05``.

It starts from an empty scene and builds the head, the take's layers and the stage with the
add-on's own code (``stage.scene.build_scene``), renders the frames it is asked for into the
frame cache ``<video>.frames/`` (skipping frames already there: see ``frames``), and once the
cache holds every frame of the take encodes the H.264 + AAC MP4 through a temporary file, writes
the label into its metadata and beside it (``<video stem>.label.json``), and removes the cache.
It prints machine-readable lines on stdout (``revive_formats.progress``):
``Revive: device <device>``, ``Revive: frame <frame> (<i>/<n>)``,
``Revive: seconds per frame <s>``, ``Revive: frames <done>/<total> in <cache>`` and, when the
video is made, ``Revive: wrote <path>``. Exit codes: 0 done (also when other frames are still to
come), 2 a problem the user can fix (printed as "Revive: <message>" and a hint on stderr, no
traceback), 1 a bug, 130 stopped by Ctrl-C or SIGTERM (the frames rendered so far are kept).
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: import this file as a module of its package
    import importlib
    import os

    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == _here:
        del sys.path[0]  # the script's folder: its modules must load as the package's
    # The add-on's root is the highest folder still holding an __init__.py (its own name may be
    # anything: blender_addon in a checkout, revive once installed as an extension).
    _root, _module = _here, [os.path.basename(_here), "batch"]
    while os.path.isfile(os.path.join(os.path.dirname(_root), "__init__.py")):
        _root = os.path.dirname(_root)
        _module.insert(0, os.path.basename(_root))
    sys.path.insert(0, os.path.dirname(_root))
    _batch = importlib.import_module(".".join(_module))
    sys.stdout.flush()
    sys.exit(_batch.run(_batch.script_args(sys.argv)))

import argparse
import hashlib
import os
import shutil
import signal
from pathlib import Path

import bpy

from ..about import VERSION
from ..revive_formats import ReviveError, read_avatar, read_take
from ..revive_formats.label import DEFAULT_SIZE, LABEL_POSITIONS
from ..revive_formats.progress import device_line, frames_line, seconds_per_frame_line, wrote_line
from ..stage.scene import build_scene
from ..stage.stage import BACKGROUNDS, FRAMINGS, LIGHTS, MODES
from .frames import (cached_devices, encode_video, frame_cache, missing_frames, open_cache,
                     record_device, render_frames)
from .settings import DEVICES, ENGINES, PRESETS, configure_render

__all__ = ["main", "run", "script_args"]


def script_args(argv: list[str]) -> list[str]:
    """The arguments meant for Revive: after "--" under Blender, else after the script."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # a ReviveError, not argparse's SystemExit
        raise ReviveError(f"{message}.", f"usage: {self.format_usage().strip()[7:]}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="batch.py", description="Render a Revive avatar speaking a take to MP4.")
    p.add_argument("--avatar", required=True, help="avatar folder or zip")
    p.add_argument("--take", required=True, help="take folder or zip")
    p.add_argument("--out", required=True, help="the video to write (.mp4)")
    p.add_argument("--preset", default="preview", choices=list(PRESETS),
                   help="quality: preview (8 samples, denoised, 1280x720) or final (128 samples, "
                        "denoised, 1920x1080)")
    p.add_argument("--samples", type=int, default=None, help="samples per pixel (the preset's)")
    p.add_argument("--resolution", default=None,
                   help="WIDTHxHEIGHT in pixels, even numbers (the preset's by default)")
    p.add_argument("--engine", default="cycles", choices=list(ENGINES))
    p.add_argument("--device", default="auto", choices=list(DEVICES))
    p.add_argument("--frames", default=None,
                   help="START-END: render only these frames (1 is the first); the video is "
                        "made once all frames are in the frame cache")
    p.add_argument("--mode", default="studio", choices=list(MODES),
                   help="portrait: the photo itself speaks, in its own camera")
    p.add_argument("--framing", default="close-up", choices=list(FRAMINGS))
    p.add_argument("--light", default="studio", choices=list(LIGHTS))
    p.add_argument("--background", default=None, choices=list(BACKGROUNDS),
                   help="dark (studio default), light, transparent or photo (portrait default)")
    p.add_argument("--subtitles", action="store_true", help="burn the take's subtitles in")
    p.add_argument("--keep-frames", action="store_true",
                   help="keep the frame cache (PNG frames) after the video is made")
    p.add_argument("--no-visible-label", dest="visible_label", action="store_false",
                   help="leave out the visible AI-generated mark (the metadata keeps the label)")
    p.add_argument("--label-position", default="bottom-right", choices=list(LABEL_POSITIONS))
    p.add_argument("--label-size", type=float, default=DEFAULT_SIZE,
                   help="the mark's text height as a share of the frame height")
    return p


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ReviveError(f"--resolution {text!r} is not WIDTHxHEIGHT.",
                          "For example --resolution 1280x720.") from None
    return width, height


def _frames(text: str | None, count: int) -> tuple[int, int]:
    if text is None:
        return 1, count
    try:
        start, end = (int(x) for x in text.split("-"))
    except ValueError:
        raise ReviveError(f"--frames {text!r} is not START-END.",
                          f"For example --frames 1-{count}.") from None
    if not 1 <= start <= end <= count:
        raise ReviveError(f"--frames {text} is outside the take's frames 1-{count}.",
                          f"Choose START and END with 1 <= START <= END <= {count}.")
    return start, end


def run(argv: list[str]) -> int:
    """Render as the command line ``argv`` asks; return the exit code (0, or 2 on ReviveError)."""
    try:
        return _render(_parser().parse_args(argv))
    except ReviveError as exc:
        sys.stdout.flush()
        print(f"Revive: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        sys.stderr.flush()
        return 2


def main() -> None:
    sys.exit(run(script_args(sys.argv)))


def _render(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser().absolute()
    if out.suffix.lower() != ".mp4":
        raise ReviveError(f"--out {args.out} must end in .mp4.", "For example --out video.mp4.")
    if out.is_dir():
        raise ReviveError(f"--out {out} is a folder.", "Give the path of the video file.")
    preset = PRESETS[args.preset]
    resolution = _resolution(args.resolution) if args.resolution else preset.resolution
    avatar_path, take_path = Path(args.avatar).expanduser(), Path(args.take).expanduser()
    avatar, take = read_avatar(avatar_path), read_take(take_path)
    count = take.frame_count
    start, end = _frames(args.frames, count)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviveError(f"Can't create the folder {out.parent} ({exc.strerror}).",
                          "Choose an output path in a folder you can write to.") from None

    # An empty scene, whatever the user's startup file holds.
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    build_scene(scene, avatar, take, subtitles=args.subtitles, mode=args.mode,
                resolution=resolution, framing=args.framing, light=args.light,
                background=args.background, visible_label=args.visible_label,
                label_position=args.label_position, label_size=args.label_size)
    if not args.visible_label:
        print("Revive: the visible AI-generated label is off; the video's metadata still "
              "says it is AI-generated.", flush=True)
    device = configure_render(scene, engine=args.engine, device=args.device,
                              preset=args.preset, samples=args.samples)
    print(device_line(device), flush=True)

    cache = frame_cache(out)
    settings = {"engine": args.engine, "preset": args.preset, "samples": args.samples,
                "denoise": bool(getattr(scene.cycles, "use_denoising", False)),
                "resolution": [scene.render.resolution_x, scene.render.resolution_y],
                "mode": args.mode, "framing": args.framing, "light": args.light,
                "background": args.background, "visible_label": args.visible_label,
                "label_position": args.label_position, "label_size": args.label_size}
    kept = open_cache(cache, {"format": "revive.frames", "version": 1,
                              "addon": list(VERSION),
                              "avatar": _content_hash(avatar_path),
                              "take": _content_hash(take_path), "settings": settings})
    record_device(cache, device)
    handlers = _stop_cleanly(out, cache)
    try:
        if kept:
            skipped = (end - start + 1) - len(missing_frames(cache, start, end))
            if skipped:
                print(f"Revive: {skipped} of frames {start}-{end} are already rendered in "
                      f"{cache}; skipping them.", flush=True)
        rendered, seconds = render_frames(scene, cache, start, end)
        if rendered:
            print(seconds_per_frame_line(seconds / rendered), flush=True)
        missing = missing_frames(cache, 1, count, remove_broken=False)  # others may be busy
        print(frames_line(count - len(missing), count, cache), flush=True)
        if missing:
            print(f"Revive: the video is made once all {count} frames are rendered; "
                  f"{len(missing)} are still to come (the first is {missing[0]}). Run the "
                  "same command for them (with --frames, or without to render the rest).",
                  flush=True)
            return 0
        encode_video(scene, cache, 1, count, out, render={
            "engine": args.engine, "devices": cached_devices(cache), "preset": args.preset,
            "samples": scene.cycles.samples if args.engine == "cycles" else args.samples})
    finally:
        for number, handler in handlers.items():
            if handler is not None:  # None: a handler set by Blender's C code, not restorable
                signal.signal(number, handler)
    if not args.keep_frames:
        shutil.rmtree(cache, ignore_errors=True)
    print(wrote_line(out), flush=True)
    return 0


def _content_hash(path: Path) -> str:
    """sha256 over an avatar's or take's files (a folder's names and contents, or a zip)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if file != path else b"")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _stop_cleanly(out: Path, cache: Path) -> dict:
    """On Ctrl-C or a stop request, remove an unfinished video and exit with code 130.

    Blender catches exceptions raised while it renders, so the handler exits at once instead
    of raising. Frames already in the cache stay (a frame cut short is redone next time).
    Returns the previous handlers.
    """
    def stop(number, _frame) -> None:
        for unfinished in out.parent.glob(f".{out.name}.*.part"):
            shutil.rmtree(unfinished, ignore_errors=True)
        print(f"Revive: stopped. The frames rendered so far are kept in {cache}; run the same "
              "command again to go on from there.", file=sys.stderr, flush=True)
        os._exit(130)

    return {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
