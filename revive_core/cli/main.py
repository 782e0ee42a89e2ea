"""The ``revive`` command: parses arguments, calls the stages, reports progress kindly.

Every user mistake ends with a plain message, a hint and exit code 2; ``--debug`` shows the
traceback too. Ctrl-C stops cleanly (outputs are written atomically, so nothing is half-done).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
import time
from pathlib import Path

from revive_core import __version__
from revive_core.errors import InputError, ReviveError
from revive_core.formats.label import DEFAULT_SIZE as DEFAULT_LABEL_SIZE
from revive_core.assets import asset_path

__all__ = ["main"]

log = logging.getLogger("revive")
DEMO_PHOTO = asset_path("sample", "astronaut.png")
DEMO_TEXT = "Hello, my dear. I am so proud of you, and I will always love you."
DEMO_CONSENT = "Revive sample (public-domain NASA portrait), demonstration, 2026-11-28"
# Commands defined elsewhere: each bench module has add_bench(subparsers), each module of
# COMMAND_MODULES (all in revive_core/cli) add_commands(subparsers); they add their parsers
# with set_defaults(run=...). Their heavy imports belong inside the run functions, so
# `revive --help` stays fast.
BENCHES: dict[str, str] = {
    "emotion": "revive_core.bench.emotion",
    "voice-emotion": "revive_core.bench.voice_emotion",
    "lipsync": "revive_core.bench.lipsync",
    "persona": "revive_core.bench.persona",
    "likeness": "revive_core.bench.likeness",
    "video": "revive_core.bench.video",
    "recon": "revive_core.bench.recon",
    "texture": "revive_core.bench.texture",
    "farm": "revive_core.bench.farm",
}
COMMAND_MODULES: list[str] = [
    "revive_core.cli.emotion",
    "revive_core.cli.persona",
    "revive_core.cli.describe",
    "revive_core.cli.model",
    "revive_core.cli.batch",
]


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
    except OSError as error:  # the disk or the file system, not a bug: full, read-only, ...
        if args.debug:
            log.exception("details")
        message, hint = _os_error(error, getattr(args, "out", None))
        print(f"Revive: {message}\n  {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nRevive: stopped. Nothing half-written was left behind; run the same command "
              "again to start over.", file=sys.stderr)
        return 130


def _os_error(error: OSError, out: Path | None) -> tuple[str, str]:
    """A kind message and a hint for a file that could not be read or written."""
    where = f" ({error.filename})" if error.filename else ""
    unchanged = "Nothing you had before was changed; run the same command again afterwards."
    if error.errno == errno.ENOSPC:
        where = f", so {error.filename or out or 'the output'} could not be written"
        return f"The disk is full{where}.", f"Free some space or choose another --out. {unchanged}"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"Revive is not allowed to write or read there{where}.",
                f"Choose a folder you can write to, or check the file's permissions. {unchanged}")
    return (f"A file could not be read or written{where}: {error.strerror or error}.",
            f"Check the path and the disk. {unchanged}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revive", description="Photos, words and a voice rebuilt as a talking 3D avatar.")
    parser.add_argument("--version", action="version", version=f"revive {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build an avatar from photos and home videos of one person")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO_OR_VIDEO",
                   help="photos and videos (MP4, MOV, M4V, WebM, 3GP) of the person: frames are "
                        "chosen from each video, and its sound kept as their voice sample")
    p.add_argument("--out", required=True, type=Path, metavar="AVATAR_DIR")
    p.add_argument("--consent", required=False, default=None,
                   help='who authorised this, their relationship, the date: "Mei Chen, daughter, 2026-11-28"')
    p.add_argument("--consent-document", default=None, help="optional reference to a signed form")
    p.add_argument("--name", default=None, help="the avatar's name (default: the folder's name)")
    p.add_argument("--texture-size", type=int, default=1024, choices=(512, 1024, 2048))
    p.add_argument("--model", default="default",
                   help="face model: default (learned from head scans, ships with Revive), "
                        "builtin, ict (after `revive model import-ict`), or a model folder")
    p.add_argument("--texture-method", default="gan", choices=("gan", "delit", "blur"),
                   help="gan: complete unseen skin with a GAN (default); delit: smooth fill, "
                        "quicker; blur: keep the photos' lighting")
    p.add_argument("--texture-generator", type=Path, default=None, metavar="PATH",
                   help="pretrained texture generator weights (a PyTorch state dict)")
    p.add_argument("--texture-seed", type=int, default=0, help="seeds the texture GAN")
    p.add_argument("--texture-grain", type=float, default=0.5, metavar="0..1",
                   help="strength of the skin grain the GAN invents where no photo saw the skin "
                        "(default 0.5; 0 smooth, 1 as generated)")
    p.set_defaults(run=_build)

    p = sub.add_parser("say", help="make a take: the avatar speaking a line")
    p.add_argument("avatar", type=Path, metavar="AVATAR_DIR")
    p.add_argument("--text", default=None, help="the words to say (or give --audio)")
    p.add_argument("--audio", type=Path, default=None, metavar="VOICE",
                   help="a recording of the person to lip-sync instead (WAV, MP3, M4A, AMR, SILK)")
    p.add_argument("--transcript", default=None,
                   help="what is said in --audio (default: transcribed offline)")
    p.add_argument("--persona", type=Path, default=None, metavar="PERSONA_DIR",
                   help="say the persona's answer to --prompt instead of --text")
    p.add_argument("--prompt", default=None, help="what you say to the persona (with --persona)")
    p.add_argument("--llm", default=None, metavar="PATH",
                   help="with --persona: a local causal LM folder or .gguf file")
    p.add_argument("--lang", default="auto", choices=("auto", "en", "zh"))
    p.add_argument("--emotion", default="auto",
                   help="auto (from the words, and the voice of --audio), joy, sadness, anger, "
                        "fear, surprise, disgust or neutral")
    p.add_argument("--intensity", type=float, default=0.6, help="emotion strength 0..1 (not for auto)")
    p.add_argument("--voice-model", default=None, metavar="PATH",
                   help="with --audio and --emotion auto: a local Hugging Face audio-"
                        "classification model folder to read the voice's emotion (default: "
                        "the built-in prosody model)")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--seed", type=int, default=0, help="varies blinks and head motion")
    p.add_argument("--out", required=True, type=Path, metavar="TAKE_DIR")
    p.set_defaults(run=_say)

    p = sub.add_parser("render", help="render a take with Blender (Cycles by default)")
    _render_arguments(p)
    p.add_argument("--engine", default="cycles", choices=("cycles", "eevee", "workbench"))
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--preset", default="preview", choices=("preview", "final"),
                   help="quality: preview (8 samples, denoised, 1280x720) or final (128 samples, "
                        "denoised, 1920x1080)")
    p.add_argument("--samples", type=int, default=None, help="samples per pixel (the preset's)")
    p.add_argument("--frames", default=None, metavar="START-END",
                   help="render only these frames into VIDEO.mp4.frames/; the video is made "
                        "once all are there (split a take across machines, resume after a crash)")
    p.add_argument("--mode", default="studio", choices=("studio", "portrait"),
                   help="portrait: the photo itself speaks, in its own camera")
    p.add_argument("--framing", default="close-up", choices=("close-up", "portrait", "shoulders"))
    p.add_argument("--light", default="studio", choices=("studio", "photo"),
                   help="photo: matched to the photo's estimated lighting, when the avatar has it")
    p.add_argument("--background", default=None, choices=("dark", "light", "transparent", "photo"))
    p.add_argument("--subtitles", action="store_true", help="burn the take's subtitles in")
    p.add_argument("--keep-frames", action="store_true", help="keep the PNG frames afterwards")
    p.add_argument("--blender", default=None, help="a Blender binary (default: the bpy module)")
    p.add_argument("--cluster", default=None, metavar="CLUSTER",
                   help="render in chunks on Dask: local[:N] (N worker processes here) or "
                        "tcp://HOST:PORT (a scheduler; shared storage, see docs/farm.md)")
    p.add_argument("--chunk", type=int, default=None, metavar="FRAMES",
                   help="with --cluster: frames per task (default: about 3 chunks per worker)")
    p.set_defaults(run=_render, resolution=None)  # None: the preset's resolution

    p = sub.add_parser("preview", help="render a quick preview without Blender (pyrender)")
    _render_arguments(p)
    p.set_defaults(run=_preview)

    p = sub.add_parser("demo", help="the whole chain on the bundled sample -> out/demo.mp4")
    p.add_argument("--out-dir", type=Path, default=Path("out"))
    p.add_argument("--samples", type=int, default=None, help="the preview preset's by default")
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
    p.add_argument("--no-visible-label", dest="visible_label", action="store_false",
                   help="leave out the visible AI-generated mark (recorded in the video's "
                        "label; the metadata still says it is AI-generated)")
    p.add_argument("--label-position", default="bottom-right",
                   choices=("bottom-right", "bottom-left", "top-right", "top-left"))
    p.add_argument("--label-size", type=float, default=DEFAULT_LABEL_SIZE,
                   help="the mark's text height as a share of the frame height (0.01-0.25)")


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
    from revive_core.avatar.build import build_avatar
    from revive_core.emotion.face import face_emotion_record
    from revive_core.avatar.clip import is_video
    from revive_core.avatar.consent import parse_consent

    consent = parse_consent(args.consent, document=args.consent_document)
    if not 0.0 <= args.texture_grain <= 1.0:
        raise InputError(f"--texture-grain {args.texture_grain} must be between 0 and 1.",
                         "For example: --texture-grain 0.5")
    if args.texture_generator is not None:
        from revive_core.avatar.texture import load_generator

        load_generator(args.texture_generator)  # a bad file is reported before the long work
    videos = sum(is_video(p) for p in args.photos)
    with _Steps(3 + (videos < len(args.photos)) + videos) as steps:
        avatar = build_avatar(args.photos, args.out, consent=consent, name=args.name,
                              texture_size=args.texture_size, model=args.model,
                              texture_method=args.texture_method,
                              texture_generator=args.texture_generator,
                              texture_seed=args.texture_seed,
                              texture_grain=args.texture_grain, step=steps,
                              read_expression=face_emotion_record)
    log.info("Avatar written to %s (%d vertices, %d shape keys).", args.out,
             avatar.vertex_count, len(avatar.blendshape_names))
    for video in avatar.provenance.get("videos", []):
        log.info("%s: built from %d of its frames (kept in %s/sources)%s.", video["file"],
                 len(video["frames"]), args.out, f"; its sound kept as the voice sample "
                 f"{video['voice_sample']}" if video.get("voice_sample") else "")


def _say(args) -> None:
    from revive_core.formats import read_avatar
    from revive_core.take.say import make_take

    if args.persona is not None or args.prompt is not None:
        from revive_core.persona.reply import persona_line

        args.text = persona_line(args.persona, args.prompt, text=args.text, audio=args.audio,
                                 llm=args.llm)
    take = make_take(read_avatar(args.avatar), args.text, args.out, language=args.lang,
                     emotion=args.emotion, intensity=args.intensity, fps=args.fps, seed=args.seed,
                     audio=args.audio, transcript=args.transcript, voice_model=args.voice_model)
    label = take.segments["emotions"][0]
    log.info("Take written to %s: %.1f s, %d frames, emotion %s (%.1f).", args.out,
             take.duration_s, take.frame_count, label["label"], label["intensity"])
    chosen = take.extra.get("emotion") or {}
    if chosen.get("voice"):
        log.info("Emotion: %s (words: %s, voice: %s).", chosen["rule"], chosen["text"]["label"],
                 chosen["voice"]["label"])


def _render(args) -> None:
    from revive_core.video.render import render_video

    if args.cluster is not None or args.chunk is not None:
        from revive_core.cli.farm import render_on_cluster

        return render_on_cluster(args, _video_path(args.out),
                                 _resolution(args.resolution) if args.resolution else None,
                                 _label_options(args))
    frames = None
    if args.frames:
        try:
            start, end = (int(x) for x in args.frames.split("-"))
        except ValueError:
            raise InputError(f"--frames {args.frames!r} is not START-END.", "For example: --frames 1-50") from None
        frames = (start, end)
    result = render_video(args.avatar, args.take, _video_path(args.out), engine=args.engine,
                          device=args.device, preset=args.preset, samples=args.samples,
                          resolution=_resolution(args.resolution) if args.resolution else None,
                          frames=frames, mode=args.mode, framing=args.framing,
                          light=args.light, background=args.background,
                          subtitles=args.subtitles, keep_frames=args.keep_frames,
                          blender=args.blender, **_label_options(args))
    if result.path is None:
        log.info("Rendered on %s (%.2f s per frame); %d of %d frames are in %s. The video is "
                 "made when the rest are rendered.", result.device, result.seconds_per_frame,
                 result.frames_done, result.frames_total, result.frame_cache)
        return
    log.info("Video written to %s (rendered on %s, %.2f s per frame).", result.path,
             result.device, result.seconds_per_frame)


def _preview(args) -> None:
    from revive_core.formats import read_avatar, read_take
    from revive_core.video.preview import render_preview

    options = _label_options(args)
    render_preview(read_avatar(args.avatar), read_take(args.take), _video_path(args.out),
                   resolution=_resolution(args.resolution),
                   label="AI-generated" if options["visible_label"] else None,
                   label_position=options["label_position"], label_size=options["label_size"])


def _label_options(args) -> dict:
    from revive_core.formats.label import check_position_and_size

    check_position_and_size(args.label_position, args.label_size)
    if not args.visible_label:
        log.info("The visible AI-generated mark is off, as asked; the video's label records "
                 "that, and its metadata still says it is AI-generated.")
    return {"visible_label": args.visible_label, "label_position": args.label_position,
            "label_size": args.label_size}


def _demo(args) -> None:
    from revive_core.avatar.build import build_avatar
    from revive_core.emotion.face import face_emotion_record
    from revive_core.avatar.consent import parse_consent
    from revive_core.formats import read_avatar, read_take
    from revive_core.video.preview import render_preview
    from revive_core.video.render import render_video
    from revive_core.take.say import make_take

    out = args.out_dir
    avatar_dir, take_dir = out / "demo_avatar", out / "demo_take"
    timings = {}
    with _Steps(4) as steps:
        started = time.perf_counter()
        avatar = build_avatar([DEMO_PHOTO], avatar_dir, consent=parse_consent(DEMO_CONSENT),
                              name="Eileen (sample)", step=steps,
                              read_expression=face_emotion_record)
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
