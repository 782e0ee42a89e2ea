"""The ``revive`` command: parses arguments, calls the stages, reports progress kindly.

Every user mistake ends with a plain message, a hint and exit code 2; ``--debug`` shows the
traceback too. Ctrl-C stops cleanly (outputs are written atomically, so nothing is half-done).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from . import __version__
from .errors import InputError, ReviveError

__all__ = ["main"]

log = logging.getLogger("revive")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEMO_PHOTO = ASSETS / "sample" / "astronaut.png"
DEMO_TEXT = "Hello, my dear. I am so proud of you, and I will always love you."
DEMO_CONSENT = "Revive sample (public-domain NASA portrait), demonstration, 2026-11-28"
# Stages with commands of their own: each module has add_bench(subparsers) or
# add_commands(subparsers), which adds its parsers with set_defaults(run=...). Their heavy
# imports belong inside the run functions, so `revive --help` stays fast.
BENCHES: dict[str, str] = {}
COMMAND_MODULES: list[str] = []


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="Revive: %(message)s", stream=sys.stderr)
    for noisy in ("PIL", "matplotlib", "absl", "trimesh", "OpenGL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.run(args) or 0
    except ReviveError as error:
        if args.debug:
            log.exception("details")
        print(f"Revive: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  {error.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nRevive: stopped. Nothing half-written was left behind; run the same command "
              "again to start over.", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revive", description="Photos, words and a voice rebuilt as a talking 3D avatar.")
    parser.add_argument("--version", action="version", version=f"revive {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build an avatar from photos of one person")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--out", required=True, type=Path, metavar="AVATAR_DIR")
    p.add_argument("--consent", required=False, default=None,
                   help='who authorised this, their relationship, the date: "Mei Chen, daughter, 2026-11-28"')
    p.add_argument("--consent-document", default=None, help="optional reference to a signed form")
    p.add_argument("--name", default=None, help="the avatar's name (default: the folder's name)")
    p.add_argument("--texture-size", type=int, default=1024, choices=(512, 1024, 2048))
    p.set_defaults(run=_build)

    p = sub.add_parser("say", help="make a take: the avatar speaking a line")
    p.add_argument("avatar", type=Path, metavar="AVATAR_DIR")
    p.add_argument("--text", required=True)
    p.add_argument("--lang", default="auto", choices=("auto", "en", "zh"))
    p.add_argument("--emotion", default="auto",
                   help="auto, joy, sadness, anger, fear, surprise, disgust or neutral")
    p.add_argument("--intensity", type=float, default=0.6, help="emotion strength 0..1 (not for auto)")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--seed", type=int, default=0, help="varies blinks and head motion")
    p.add_argument("--out", required=True, type=Path, metavar="TAKE_DIR")
    p.set_defaults(run=_say)

    p = sub.add_parser("render", help="render a take with Blender (Cycles by default)")
    _render_arguments(p)
    p.add_argument("--engine", default="cycles", choices=("cycles", "eevee", "workbench"))
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--frames", default=None, metavar="START-END")
    p.add_argument("--blender", default=None, help="a Blender binary (default: the bpy module)")
    p.set_defaults(run=_render)

    p = sub.add_parser("preview", help="render a quick preview without Blender (pyrender)")
    _render_arguments(p)
    p.set_defaults(run=_preview)

    p = sub.add_parser("demo", help="the whole chain on the bundled sample -> out/demo.mp4")
    p.add_argument("--out-dir", type=Path, default=Path("out"))
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--resolution", default="384x384")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.set_defaults(run=_demo)

    bench = sub.add_parser("bench", help="measure a stage against known truth (prints a table)")
    benches = bench.add_subparsers(dest="bench", required=True)
    for name, module in BENCHES.items():
        importlib.import_module(module).add_bench(benches)  # each adds `revive bench <name>`
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return parser


def _render_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("avatar", type=Path, metavar="AVATAR_DIR")
    p.add_argument("take", type=Path, metavar="TAKE_DIR")
    p.add_argument("--out", required=True, type=Path, metavar="VIDEO.mp4")
    p.add_argument("--resolution", default="512x512", metavar="WxH")


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise InputError(f"Resolution {text!r} is not WIDTHxHEIGHT.", "For example: 1280x720") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"Resolution {text} is outside 16..8192 pixels a side.")
    return width, height


def _video_path(path: Path) -> Path:
    if path.suffix.lower() != ".mp4":
        raise InputError(f"The video {path} should end in .mp4.", "For example: --out video.mp4")
    return path


def _build(args) -> None:
    from .build import build_avatar
    from .consent import parse_consent

    consent = parse_consent(args.consent, document=args.consent_document)
    with _Steps(4) as steps:
        avatar = build_avatar(args.photos, args.out, consent=consent, name=args.name,
                              texture_size=args.texture_size, step=steps)
    log.info("Avatar written to %s (%d vertices, %d shape keys).", args.out,
             avatar.vertex_count, len(avatar.blendshape_names))


def _say(args) -> None:
    from .formats import read_avatar
    from .say import make_take

    take = make_take(read_avatar(args.avatar), args.text, args.out, language=args.lang,
                     emotion=args.emotion, intensity=args.intensity, fps=args.fps, seed=args.seed)
    label = take.segments["emotions"][0]
    log.info("Take written to %s: %.1f s, %d frames, emotion %s (%.1f).", args.out,
             take.duration_s, take.frame_count, label["label"], label["intensity"])


def _render(args) -> None:
    from .render import render_video

    frames = None
    if args.frames:
        try:
            start, end = (int(x) for x in args.frames.split("-"))
        except ValueError:
            raise InputError(f"--frames {args.frames!r} is not START-END.", "For example: --frames 1-50") from None
        frames = (start, end)
    result = render_video(args.avatar, args.take, _video_path(args.out), engine=args.engine,
                          device=args.device, samples=args.samples,
                          resolution=_resolution(args.resolution), frames=frames,
                          blender=args.blender)
    log.info("Video written to %s (rendered on %s, %.2f s per frame).", result.path,
             result.device, result.seconds_per_frame)


def _preview(args) -> None:
    from .formats import read_avatar, read_take
    from .preview import render_preview

    render_preview(read_avatar(args.avatar), read_take(args.take), _video_path(args.out),
                   resolution=_resolution(args.resolution))


def _demo(args) -> None:
    from .build import build_avatar
    from .consent import parse_consent
    from .formats import read_avatar, read_take
    from .preview import render_preview
    from .render import render_video
    from .say import make_take

    out = args.out_dir
    avatar_dir, take_dir = out / "demo_avatar", out / "demo_take"
    timings = {}
    with _Steps(4) as steps:
        started = time.perf_counter()
        avatar = build_avatar([DEMO_PHOTO], avatar_dir, consent=parse_consent(DEMO_CONSENT),
                              name="Eileen (sample)", step=steps)
        timings["build avatar"] = time.perf_counter() - started
        steps("Speaking and animating the line")
        started = time.perf_counter()
        make_take(avatar, DEMO_TEXT, take_dir, language="en")
        timings["speech + animation"] = time.perf_counter() - started
    started = time.perf_counter()
    render_preview(read_avatar(avatar_dir), read_take(take_dir), out / "demo_preview.mp4",
                   resolution=_resolution(args.resolution))
    timings["preview (pyrender)"] = time.perf_counter() - started
    started = time.perf_counter()
    result = render_video(avatar_dir, take_dir, out / "demo.mp4", samples=args.samples,
                          device=args.device, resolution=_resolution(args.resolution))
    timings["render (Blender)"] = time.perf_counter() - started
    for stage, seconds in timings.items():
        log.info("%-20s %6.1f s", stage, seconds)
    log.info("Demo video: %s (rendered on %s, %.2f s per frame); preview: %s", result.path,
             result.device, result.seconds_per_frame, out / "demo_preview.mp4")


class _Steps:
    """A progress bar over a command's named steps, shown from the first step on."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._bar = None

    def __call__(self, description: str) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=self._total, desc=description, file=sys.stderr,
                             bar_format="{n_fmt}/{total_fmt} {desc} [{elapsed}]")
        else:
            self._bar.update(1)
            self._bar.set_description_str(description)

    def __enter__(self) -> "_Steps":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            if exc[0] is None:
                self._bar.update(self._total - self._bar.n)
            self._bar.close()


if __name__ == "__main__":
    sys.exit(main())
