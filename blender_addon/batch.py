"""Headless rendering of a Revive video, from Blender or from the ``bpy`` module.

    blender -b --factory-startup --python blender_addon/batch.py -- --avatar A --take T --out V.mp4
    python blender_addon/batch.py --avatar A --take T --out V.mp4          (with bpy installed)

Options: ``--engine cycles|eevee|workbench`` ``--device auto|cpu|gpu`` ``--samples N``
``--resolution WxH`` ``--frames START-END`` (Blender frames, the take's first frame is 1,
inclusive) ``--framing close-up|medium`` ``--no-visible-label``.

It starts from an empty scene, imports the avatar, applies the take, adds camera, lights and
the "AI-generated" label, renders to a temporary file beside the output, writes the
machine-readable label into the MP4's metadata and renames it into place only when all of
that succeeded. It prints machine-readable lines on stdout:
``Revive: device <device>``, ``Revive: frame <frame> (<i>/<n>)``,
``Revive: seconds per frame <s>`` and ``Revive: wrote <path>``. Exit codes: 0 done, 2 a
problem the user can fix (printed as "Revive: <message>" and a hint on stderr, no traceback),
1 a bug.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: import this file's package by its folder name
    import importlib
    import os

    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == _here:
        del sys.path[0]  # the script's folder: its modules must load as the package's
    sys.path.insert(0, os.path.dirname(_here))
    _batch = importlib.import_module(os.path.basename(_here) + ".batch")
    sys.stdout.flush()
    sys.exit(_batch.run(_batch.script_args(sys.argv)))

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import bpy

from .render_settings import DEVICES, ENGINES, configure_render, label_mp4
from .revive_formats import ReviveError, read_avatar, read_take
from .scene import FRAMINGS, apply_take, import_avatar, setup_stage

__all__ = ["main", "run", "script_args"]

DEFAULT_RESOLUTION = (1280, 720)


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
    p.add_argument("--engine", default="cycles", choices=list(ENGINES))
    p.add_argument("--device", default="auto", choices=list(DEVICES))
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--resolution", default="x".join(map(str, DEFAULT_RESOLUTION)),
                   help="WIDTHxHEIGHT in pixels, even numbers (default 1280x720)")
    p.add_argument("--frames", default=None, help="START-END, Blender frames (1 is the first)")
    p.add_argument("--framing", default="close-up", choices=list(FRAMINGS))
    p.add_argument("--no-visible-label", dest="visible_label", action="store_false",
                   help="leave out the visible AI-generated mark (the metadata keeps the label)")
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
    resolution = _resolution(args.resolution)
    avatar = read_avatar(Path(args.avatar).expanduser())
    take = read_take(Path(args.take).expanduser())
    start, end = _frames(args.frames, take.frame_count)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviveError(f"Can't create the folder {out.parent} ({exc.strerror}).",
                          "Choose an output path in a folder you can write to.") from None

    # An empty scene, whatever the user's startup file holds.
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    head = import_avatar(avatar, scene=scene)
    apply_take(head, take, scene=scene)
    setup_stage(scene, head, resolution=resolution, framing=args.framing,
                visible_label=args.visible_label)
    if not args.visible_label:
        print("Revive: the visible AI-generated label is off; the video's metadata still "
              "says it is AI-generated.", flush=True)
    scene.frame_start, scene.frame_end = start, end

    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        partial = folder / "render.mp4"
        device = configure_render(scene, engine=args.engine, device=args.device,
                                  samples=args.samples, resolution=resolution, out_path=partial)
        print(f"Revive: device {device}", flush=True)
        seconds = _render_animation(scene, end - start + 1)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise ReviveError("Blender finished without writing the video.",
                              "Run again; if it keeps failing, report it with the output above.")
        if not label_mp4(partial):
            print("Revive: warning: could not add the AI-generated label to the video's "
                  "metadata.", flush=True)
        os.replace(partial, out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per_frame = seconds / (end - start + 1)
    print(f"Revive: seconds per frame {per_frame:.3f}", flush=True)
    print(f"Revive: wrote {out}", flush=True)
    return 0


def _render_animation(scene: bpy.types.Scene, count: int) -> float:
    """Render the scene's frame range, printing a line per frame; return the seconds taken."""
    done = [0]

    def frame_written(*_args) -> None:
        done[0] += 1
        print(f"Revive: frame {scene.frame_current} ({done[0]}/{count})", flush=True)

    bpy.app.handlers.render_write.append(frame_written)
    started = time.perf_counter()
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
    except RuntimeError as exc:
        raise ReviveError(f"Blender could not render the video: {exc}".rstrip(),
                          "Try --device cpu, a smaller --resolution or fewer --samples.") from None
    finally:
        bpy.app.handlers.render_write.remove(frame_written)
    return time.perf_counter() - started
