"""Rendering a video in Blender from the core, without importing bpy here.

The render runs the add-on's headless entry (``blender_addon/render/batch.py``) in a
subprocess: with the ``bpy`` module when it is installed, else with a Blender binary. Its output
(the progress lines of ``revive_core.formats.progress``) is streamed, frame progress shown as a
progress bar, and the device it used reported back.

Functions
---------
render_video    avatar folder + take folder -> MP4 (H.264 + AAC, labelled AI-generated)
blender_command the command line that would run the batch entry, for logging or reuse
"""
from __future__ import annotations

import collections
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from revive_core.errors import ReviveError
from revive_core.formats.label import DEFAULT_SIZE as DEFAULT_LABEL_SIZE
from revive_core.formats.progress import (DEVICE, FRAME, FRAMES, SECONDS_PER_FRAME, WROTE,
                                          last_message)

__all__ = ["ADDON_DIR", "RenderResult", "blender_command", "render_video"]


def _addon_dir() -> Path:
    """The installed ``blender_addon`` package, found without importing it (it needs bpy)."""
    spec = importlib.util.find_spec("blender_addon")
    if spec is None or not spec.submodule_search_locations:
        return Path(__file__).resolve().parents[2] / "blender_addon"
    return Path(list(spec.submodule_search_locations)[0])


ADDON_DIR = _addon_dir()
BATCH = ADDON_DIR / "render" / "batch.py"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    """What a render made: the video, the device that rendered it, and its speed.

    ``path`` is None when the video is not made yet: frames rendered with ``frames`` wait in
    ``frame_cache`` (``frames_done`` of ``frames_total``) until the rest are rendered.
    """

    path: Path | None
    device: str  # e.g. "CPU", "OPTIX (NVIDIA H200)"
    seconds_per_frame: float  # 0 when every frame asked for was rendered before
    frames_done: int = 0
    frames_total: int = 0
    frame_cache: Path | None = None


def blender_command(blender: str | os.PathLike | None = None) -> list[str]:
    """The command that runs the batch entry, up to (not including) its own arguments.

    An explicit ``blender`` (or the REVIVE_BLENDER environment variable) wins; else the bpy
    module in this Python; else ``blender`` on PATH.

    Returns
    -------
    list of str
        ``[python, batch.py]`` or ``[blender, "-b", "--factory-startup", "--python", batch.py,
        "--"]``.
    """
    if not BATCH.is_file():
        raise ReviveError(f"The Blender add-on was not found at {ADDON_DIR}.",
                          "Rendering needs a checkout of Revive (pip install -e .), which holds "
                          "the blender_addon folder.")
    chosen = blender or os.environ.get("REVIVE_BLENDER") or None
    if chosen is None and importlib.util.find_spec("bpy") is not None:
        return [sys.executable, str(BATCH)]
    if chosen is None:
        chosen = shutil.which("blender")
        if chosen is None:
            raise ReviveError(
                "Neither the bpy module nor a Blender program was found, so Revive can't render.",
                "Install the bpy module (pip install bpy==5.0.1, Python 3.11), or install "
                "Blender 4.2 or newer and put it on PATH, pass --blender PATH or set "
                "REVIVE_BLENDER.")
    path = Path(chosen).expanduser()
    resolved = shutil.which(str(path)) if not path.is_file() else str(path)
    if resolved is None:
        raise ReviveError(f"The Blender program {chosen} was not found.",
                          "Give the full path of the blender executable (Blender 4.2 or newer).")
    return [resolved, "-b", "--factory-startup", "--python-exit-code", "1",
            "--python", str(BATCH), "--"]


def render_video(avatar_dir: str | os.PathLike, take_dir: str | os.PathLike,
                 out: str | os.PathLike, *, engine: str = "cycles", device: str = "auto",
                 preset: str = "preview", samples: int | None = None,
                 resolution: tuple[int, int] | None = None,
                 frames: tuple[int, int] | None = None, blender: str | os.PathLike | None = None,
                 visible_label: bool = True, mode: str = "studio", framing: str = "close-up",
                 light: str = "studio", background: str | None = None, subtitles: bool = False,
                 keep_frames: bool = False, label_position: str = "bottom-right",
                 label_size: float = DEFAULT_LABEL_SIZE,
                 progress: bool | None = None,
                 on_frame: Callable[[int], None] | None = None,
                 stop_with_parent: bool = False) -> RenderResult:
    """Render the avatar speaking the take to an MP4 with Blender.

    Parameters
    ----------
    avatar_dir, take_dir : path
        An avatar and a take (folders or zips).
    out : path
        The video to write, ending in ".mp4". Frames go to the frame cache ``<out>.frames/``
        first (frames already there are skipped, so a render stopped half-way goes on where
        it stopped); the video is encoded through a temporary file once all are there.
    engine : {"cycles", "eevee", "workbench"}
    device : {"auto", "cpu", "gpu"}
        Cycles only: "auto" uses a GPU when Cycles finds one, "gpu" fails without one.
    preset : {"preview", "final"}
        Quality: samples, denoising and the default resolution.
    samples : int, optional
        Samples per pixel, instead of the preset's.
    resolution : (int, int), optional
        Width and height in pixels, even numbers, instead of the preset's.
    frames : (int, int), optional
        First and last Blender frame to render, inclusive (the take's first frame is 1). The
        video is made once every frame of the take is in the cache, by this call or others
        (other processes or machines sharing the folder).
    blender : path, optional
        A Blender program to use instead of the bpy module.
    visible_label : bool
        The visible "AI-generated" mark (default on). The metadata says "AI-generated with
        Revive" either way, and the label (metadata and ``<stem>.label.json``) records which.
    label_position : {"bottom-right", "bottom-left", "top-right", "top-left"}
    label_size : float
        The mark's text height as a share of the frame height.
    mode : {"studio", "portrait"}
        "portrait": the photo itself speaks, seen through its own camera.
    framing : {"close-up", "portrait", "shoulders"}
    light : {"studio", "photo"}
    background : {"dark", "light", "transparent", "photo"}, optional
    subtitles : bool
        Burn the take's subtitles into the video.
    keep_frames : bool
        Keep the PNG frames after the video is made.
    progress : bool, optional
        Show a progress bar; by default only when stderr is a terminal.
    on_frame : callable, optional
        Called with each Blender frame number as soon as that frame is in the frame cache (the
        cluster render moves each frame to the shared cache this way).
    stop_with_parent : bool
        On Linux, Blender is stopped (SIGTERM) when the thread that started it dies, e.g. when
        a cluster worker is killed: no orphan renders on. Elsewhere this does nothing.

    Returns
    -------
    RenderResult
        The video's path (None while frames are still to come), the device used, seconds per
        frame and how many frames of the take are rendered.

    Raises
    ------
    ReviveError
        When there is neither bpy nor Blender, the inputs are wrong, or the render fails
        (the message then ends with the last lines Blender printed).
    """
    out = Path(out).expanduser().absolute()
    if out.suffix.lower() != ".mp4":
        raise ReviveError(f"out={str(out)!r} must end in .mp4.")
    command = blender_command(blender) + [
        "--avatar", str(Path(avatar_dir).expanduser().absolute()),
        "--take", str(Path(take_dir).expanduser().absolute()),
        "--out", str(out), "--engine", engine, "--device", device, "--preset", preset,
        "--mode", mode, "--framing", framing, "--light", light]
    if samples is not None:
        command += ["--samples", str(int(samples))]
    if resolution is not None:
        command += ["--resolution", "x".join(str(int(x)) for x in resolution)]
    if background is not None:
        command += ["--background", background]
    command += ["--subtitles"] * bool(subtitles) + ["--keep-frames"] * bool(keep_frames)
    if frames is not None:
        command += ["--frames", f"{int(frames[0])}-{int(frames[1])}"]
    if not visible_label:
        command.append("--no-visible-label")
    command += ["--label-position", label_position, "--label-size", f"{float(label_size):g}"]
    if stop_with_parent and sys.platform.startswith("linux"):
        command = [sys.executable, "-c", _STOP_WITH_PARENT, str(os.getpid()), *command]
    return _run(command, out, progress, on_frame)


# Run argv[2:] in place of this Python, but first ask Linux to send SIGTERM when the parent
# thread dies (prctl PR_SET_PDEATHSIG = 1, kept across exec); stop if the parent is already gone.
_STOP_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                     "ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))\n"
                     "if os.getppid() != int(sys.argv[1]):\n"
                     "    sys.exit(130)\n"
                     "os.execv(sys.argv[2], sys.argv[2:])\n")


def _run(command: Sequence[str], out: Path, progress: bool | None,
         on_frame: Callable[[int], None] | None = None) -> RenderResult:
    # The bar is made before the render starts: Ctrl-C inside tqdm's constructor would leave
    # half a bar, whose __del__ prints a traceback at exit.
    bar = progress_bar(None, progress)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True, errors="replace",
                                   bufsize=1, env=env)
    except OSError as exc:
        if bar is not None:
            bar.close()
        raise ReviveError(f"Could not start {command[0]} ({exc.strerror}).",
                          "Check the Blender path, or install the bpy module.") from None
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
    reader.start()
    tail: collections.deque[str] = collections.deque(maxlen=30)
    device, per_frame, wrote, cached = "", 0.0, None, None
    try:
        for line in process.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            if match := FRAME.match(line):
                done, total = int(match.group(2)), int(match.group(3))
                log.debug("rendered frame %d (%d of %d)", int(match.group(1)), done, total)
                if on_frame is not None:
                    on_frame(int(match.group(1)))
                if bar is not None:
                    if bar.total != total:
                        bar.reset(total=total)
                    bar.update(done - bar.n)
            elif match := DEVICE.match(line):
                device = match.group(1).strip()
            elif match := SECONDS_PER_FRAME.match(line):
                per_frame = float(match.group(1))
            elif match := WROTE.match(line):
                wrote = Path(match.group(1).strip())
            elif match := FRAMES.match(line):
                cached = (int(match.group(1)), int(match.group(2)), Path(match.group(3).strip()))
        code = process.wait()
    except BaseException:  # Ctrl-C: the render removes its unfinished video as it stops
        _stop(process, out)
        raise
    finally:
        if bar is not None:
            bar.close()
    reader.join(timeout=10)
    if code == 2:  # the batch entry's "Revive: message" and hint
        raise _batch_error(errors)
    if code != 0 or (wrote is None and (cached is None or cached[0] >= cached[1])):
        last = "\n".join([*tail, *[e.rstrip("\n") for e in errors[-15:]]][-20:])
        raise ReviveError(f"Blender failed to render the video (exit code {code}).\n{last}",
                          "Try --device cpu, a smaller resolution, or fewer samples; "
                          "report it if it keeps failing.")
    done, total, cache = cached or (0, 0, None)
    return RenderResult(path=(wrote if wrote.exists() else out) if wrote else None,
                        device=device, seconds_per_frame=per_frame, frames_done=done,
                        frames_total=total, frame_cache=cache)


def _stop(process: subprocess.Popen, out: Path) -> None:
    """Stop the render; if it can't clean up within 10 s, kill it and remove what it left."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        for unfinished in out.parent.glob(f".{out.name}.*.part"):
            shutil.rmtree(unfinished, ignore_errors=True)


def _batch_error(stderr_lines: list[str]) -> ReviveError:
    if found := last_message(stderr_lines):
        return ReviveError(*found)
    lines = [line.rstrip("\n") for line in stderr_lines if line.strip()]
    return ReviveError("Blender stopped with an error.\n" + "\n".join(lines[-15:]))


def progress_bar(total: int | None, progress: bool | None):
    """A tqdm bar of rendered frames on stderr, or None (``progress`` False, or no tqdm)."""
    if progress is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="Rendering", unit="frame",
                disable=None if progress is None else False)
