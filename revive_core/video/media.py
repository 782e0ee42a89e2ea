"""Video files through ffmpeg: write H.264 + AAC atomically, probe, and mark frames as AI-made.

ffmpeg and ffprobe run as subprocesses with argument lists (never a shell string). Frames are
piped to ffmpeg as raw RGB on its standard input; the video is written beside its destination
under a temporary name and renamed into place only when ffmpeg has finished successfully, so
``out`` is either the complete new video or untouched.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from revive_core.errors import InputError, ReviveError
from revive_core.formats.label import DEFAULT_SIZE as DEFAULT_LABEL_SIZE
from revive_core.formats.storage import atomic_file
from revive_core.programs import require_program

__all__ = ["draw_label", "probe", "write_video"]

# Container tags the MP4/MOV muxer writes as standard atoms; any other key needs mdta tags.
_STANDARD_TAGS = frozenset({
    "title", "author", "artist", "album_artist", "album", "composer", "date", "comment",
    "description", "synopsis", "genre", "copyright", "grouping", "lyrics", "encoder",
    "show", "episode_id", "network", "keywords", "track", "disc", "compilation"})
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")


def write_video(frames: Iterable[np.ndarray], out: Path, *, fps: float,
                audio_wav: Path | None, metadata: Mapping[str, str] | None = None,
                progress: bool = False, total: int | None = None,
                finish: Callable[[Path], None] | None = None) -> Path:
    """Encode RGB frames (and optionally a WAV sound track) into a video file, atomically.

    Parameters
    ----------
    frames : iterable of ndarray
        Frames of shape (H, W, 3), dtype uint8, all the same size. Odd sizes are padded by one
        pixel (H.264 in yuv420p needs even dimensions).
    out : Path
        Destination; its suffix picks the container (.mp4 by default, also .mov, .mkv).
    fps : float
        Frames per second.
    audio_wav : Path or None
        A sound track, encoded as AAC; None for a silent video.
    metadata : mapping of str to str, optional
        Container tags such as ``comment`` or ``description`` (``-metadata key=value``).
    progress : bool
        Show a tqdm progress bar.
    total : int, optional
        Number of frames, for the progress bar.
    finish : callable, optional
        Called with the complete temporary file before it is renamed to ``out`` (to add a
        label to its metadata, say); what it raises leaves ``out`` untouched.

    Returns
    -------
    Path
        ``out``, complete.

    Raises
    ------
    ReviveError
        When ffmpeg is missing or fails (with the end of its error output), or when the
        frames are empty or not all of one size. ``out`` is then left as it was, and no
        temporary file remains.
    """
    out = Path(out)
    if not (isinstance(fps, (int, float)) and 0 < fps <= 1000):
        raise InputError(f"fps must be a number between 0 and 1000, got {fps!r}.")
    if audio_wav is not None and not Path(audio_wav).is_file():
        raise InputError(f"The sound track {audio_wav} does not exist.",
                         "Pass the path of a WAV file, or None for a silent video.")
    ffmpeg = require_program("ffmpeg", "Writing videos")
    iterator = iter(frames)
    if progress:
        from tqdm import tqdm
        iterator = iter(tqdm(iterator, total=total, unit="frame", desc=f"Writing {out.name}"))
    first = next(iterator, None)
    if first is None:
        raise InputError("There are no frames to write.", "A video needs at least one frame.")
    first = _check_frame(first, None, 0)
    height, width = first.shape[:2]

    with atomic_file(out) as tmp, tempfile.TemporaryFile() as errors:
        command = _command(ffmpeg, tmp, width, height, fps, audio_wav, metadata or {},
                           _CONTAINERS.get(out.suffix.lower(), "mp4"))
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        try:
            try:
                process.stdin.write(first.tobytes())
                for index, frame in enumerate(iterator, start=1):
                    process.stdin.write(_check_frame(frame, (height, width), index).tobytes())
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its exit status and stderr say why
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(OSError, ValueError):
                process.stdin.close()
            process.wait()
        errors.seek(0)
        tail = errors.read().decode("utf-8", errors="replace").strip()[-1500:]
        if "No space left on device" in tail:  # ffmpeg can exit 0 even then
            raise ReviveError(f"The disk is full, so {out} could not be written.",
                              "Free some space or choose another --out; nothing you had "
                              "before was changed. Then run the same command again.")
        if code != 0:
            raise ReviveError(f"ffmpeg could not write {out} (exit status {code}):\n{tail}",
                              "Check the frames and the sound track; if it persists, "
                              "run scripts/setup.sh to reinstall ffmpeg.")
        if finish is not None:
            finish(tmp)
    return out


def _check_frame(frame: Any, size: tuple[int, int] | None, index: int) -> np.ndarray:
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8 or min(array.shape) < 1:
        raise ReviveError(f"Frame {index} has shape {array.shape} and dtype {array.dtype}; "
                          "expected (height, width, 3) uint8 RGB.")
    if size is not None and array.shape[:2] != size:
        raise ReviveError(f"Frame {index} is {array.shape[1]}x{array.shape[0]} pixels but the "
                          f"first frame was {size[1]}x{size[0]}.",
                          "All frames of a video must have the same size.")
    return np.ascontiguousarray(array)


def _command(ffmpeg: str, tmp: Path, width: int, height: int, fps: float,
             audio_wav: Path | None, metadata: Mapping[str, str], container: str) -> list[str]:
    rate = Fraction(fps).limit_denominator(1001)
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
    if audio_wav is not None:
        command += ["-i", str(audio_wav)]
    command += ["-map", "0:v:0"]
    if audio_wav is not None:
        command += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "160k"]
    command += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "medium",
                "-crf", "18", "-pix_fmt", "yuv420p"]
    flags = "+faststart"
    if container in ("mp4", "mov") and any(k not in _STANDARD_TAGS for k in metadata):
        flags += "+use_metadata_tags"
    if container in ("mp4", "mov"):
        command += ["-movflags", flags]
    for key, value in metadata.items():
        if not key or "=" in key:
            raise InputError(f"Metadata key {key!r} is not allowed.",
                             "Use plain names such as 'comment' or 'description'.")
        command += ["-metadata", f"{key}={value}"]
    return command + ["-f", container, str(tmp)]


def probe(path: Path) -> dict[str, Any]:
    """Describe a media file with ffprobe.

    Parameters
    ----------
    path : Path
        A video or audio file.

    Returns
    -------
    dict
        ``duration_s`` (float or None), ``format_name``, ``tags`` (container tags) and
        ``streams``: one dict per stream with ``codec_type``, ``codec_name``, ``duration_s``,
        ``nb_frames``, ``width``, ``height``, ``sample_rate``, ``channels``, ``avg_frame_rate``
        and ``tags`` (absent values are None).

    Raises
    ------
    ReviveError
        When ffprobe is missing or cannot read the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file.")
    command = [require_program("ffprobe", "Reading videos"), "-v", "error", "-show_streams",
               "-show_format", "-of", "json", str(path)]
    result = subprocess.run(command, capture_output=True, timeout=120)
    try:
        info = json.loads(result.stdout.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "format" not in info:
        tail = result.stderr.decode("utf-8", errors="replace").strip()[-800:]
        raise ReviveError(f"{path} is not a readable media file: {tail or 'ffprobe failed'}",
                          "The file may be damaged or incomplete; render it again.")
    fmt = info["format"]
    streams = [{
        "index": _int(s.get("index")),
        "codec_type": s.get("codec_type"),
        "codec_name": s.get("codec_name"),
        "duration_s": _float(s.get("duration")),
        "nb_frames": _int(s.get("nb_frames")),
        "width": _int(s.get("width")),
        "height": _int(s.get("height")),
        "pix_fmt": s.get("pix_fmt"),
        "avg_frame_rate": s.get("avg_frame_rate"),
        "sample_rate": _int(s.get("sample_rate")),
        "channels": _int(s.get("channels")),
        "tags": dict(s.get("tags") or {}),
    } for s in info.get("streams", [])]
    return {"duration_s": _float(fmt.get("duration")), "format_name": fmt.get("format_name"),
            "tags": dict(fmt.get("tags") or {}), "streams": streams}


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def draw_label(frame: np.ndarray, text: str = "AI-generated", *,
               corner: str = "bottom-right", size: float = DEFAULT_LABEL_SIZE) -> np.ndarray:
    """Draw a visible label (white text on a semi-transparent dark box) into a frame's corner.

    Parameters
    ----------
    frame : ndarray
        (H, W, 3) uint8 RGB image; it is not modified.
    text : str
        The label, "AI-generated" by default.
    corner : {"bottom-right", "bottom-left", "top-right", "top-left"}
        Where the label goes.
    size : float
        The font size as a share of the frame height (at least 10 pixels).

    Returns
    -------
    ndarray
        A new (H, W, 3) uint8 image with the label.
    """
    if corner not in _CORNERS:
        raise InputError(f"Unknown label corner {corner!r}.", f"Use one of {', '.join(_CORNERS)}.")
    array = np.ascontiguousarray(frame)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(f"A frame must be (height, width, 3) uint8 RGB, got {array.shape} "
                         f"{array.dtype}.")
    image = Image.fromarray(array).convert("RGBA")
    width, height = image.size
    font_px = max(10, round(size * height))  # readable on small frames too
    font = _font(font_px)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, font_px // 3)
    margin = max(4, round(0.02 * min(width, height)))
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    x0 = width - margin - box_w if corner.endswith("right") else margin
    y0 = height - margin - box_h if corner.startswith("bottom") else margin
    draw.rectangle((x0, y0, x0 + box_w - 1, y0 + box_h - 1), fill=(0, 0, 0, 150))
    draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(image, overlay).convert("RGB"))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: scalable
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()
