"""Read home videos with ffmpeg: what a clip holds, frames at chosen times, its sound.

The avatar stage is below ``video/`` (and beside ``voice/``), so the little decoding it needs is
here: ``ffprobe`` and ``ffmpeg`` run as subprocesses, nothing is written beside the user's file
(frames go through a temporary folder that is removed), and the file itself is only read.

A clip is a video by its extension (``VIDEO_SUFFIXES``) or, with another extension or none, by
what ffprobe says its container is (MP4/MOV/3GP or Matroska/WebM with a video stream).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from revive_core.errors import InputError
from revive_core.programs import require_program

__all__ = ["VIDEO_SUFFIXES", "MIN_CLIP_S", "ClipInfo", "is_video", "probe_clip", "read_frames",
           "voice_wav"]

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".3gp"})
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif",
                            ".heic"})
VIDEO_CONTAINERS = ("mov", "mp4", "3gp", "3g2", "matroska", "webm")  # ffprobe's format names
MIN_CLIP_S = 1.0
MAX_FRAME_SIDE = 1280  # frames are decoded at most this long: faces need no more
PROBE_TIMEOUT_S = 30
DECODE_TIMEOUT_S = 600
FORMATS_HINT = "Use an MP4, MOV, M4V, WebM or 3GP video (phones save one of these)."
PHOTOS_INSTEAD = "Or give photos instead of a video."


@dataclass(frozen=True)
class ClipInfo:
    """What ffprobe says of a clip."""

    path: Path
    duration_s: float
    fps: float
    width: int  # as stored (a phone's rotation is applied when frames are decoded)
    height: int
    has_audio: bool


def is_video(path: Path) -> bool:
    """Whether ``path`` is a video clip (by extension; by ffprobe for unknown extensions).

    A missing file or one with a photo's extension is not a video (the photo reader reports it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    if suffix in PHOTO_SUFFIXES or not path.is_file() or shutil.which("ffprobe") is None:
        return False
    try:
        document = _ffprobe(path)
    except InputError:
        return False
    names = str(document.get("format", {}).get("format_name", "")).split(",")
    return any(name in VIDEO_CONTAINERS for name in names) and _video_stream(document) is not None


def probe_clip(path: Path) -> ClipInfo:
    """What ``path`` holds: duration, frame rate, size and whether it has sound.

    Raises
    ------
    InputError
        If ffprobe is missing, the file is missing or unreadable, it holds no video stream, or
        it is shorter than ``MIN_CLIP_S``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Video not found: {path}", "Check the file name and folder.")
    document = _ffprobe(path)
    stream = _video_stream(document)
    if stream is None:
        raise InputError(f"The file {path} holds no video that Revive can read.", FORMATS_HINT)
    duration = _number(document.get("format", {}).get("duration")) or _number(stream.get("duration"))
    if duration is None:
        raise InputError(f"The length of the video {path} could not be read.",
                         f"The file may be damaged or still being copied. {FORMATS_HINT}")
    if duration < MIN_CLIP_S:
        raise InputError(f"The video {path} is only {duration:.2f} s long.",
                         f"Use a video of at least {MIN_CLIP_S:g} second, where the face is seen "
                         "for a while (a few seconds, turning a little, is best).")
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")) or 25.0
    has_audio = any(s.get("codec_type") == "audio" for s in document.get("streams", []))
    return ClipInfo(path, float(duration), fps, int(stream.get("width") or 0),
                    int(stream.get("height") or 0), has_audio)


def read_frames(info: ClipInfo, *, rate_hz: float, start_s: float = 0.0,
                end_s: float | None = None) -> list[tuple[float, np.ndarray]]:
    """Frames of the clip sampled ``rate_hz`` times a second between ``start_s`` and ``end_s``.

    Returns
    -------
    list of (float, np.ndarray [shape=(H, W, 3), dtype=uint8])
        Each frame's time in seconds from the clip's start and its RGB pixels, upright (a phone's
        rotation applied), the longer side at most ``MAX_FRAME_SIDE``.
    """
    end_s = info.duration_s if end_s is None else min(end_s, info.duration_s)
    if rate_hz <= 0 or end_s <= start_s:
        raise InputError(f"No frames to read from {info.path} between {start_s:.2f} s and "
                         f"{end_s:.2f} s at {rate_hz:g} a second.")
    fit = (f"scale='if(gt(iw,ih),min(iw,{MAX_FRAME_SIDE}),-2)':"
           f"'if(gt(iw,ih),-2,min(ih,{MAX_FRAME_SIDE}))'")
    with tempfile.TemporaryDirectory(prefix="revive-frames-") as folder:
        _ffmpeg(["-ss", f"{start_s:.3f}", "-i", str(info.path), "-t", f"{end_s - start_s:.3f}",
                 "-an", "-sn", "-vf", f"fps={rate_hz:.6f},{fit}", "-pix_fmt", "rgb24",
                 str(Path(folder) / "%05d.png")], info.path)
        frames = []
        for index, file in enumerate(sorted(Path(folder).glob("*.png"))):
            with Image.open(file) as image:
                frames.append((start_s + index / rate_hz,
                               np.asarray(image.convert("RGB"), dtype=np.uint8).copy()))
    if not frames:
        raise InputError(f"No frames could be decoded from the video {info.path}.",
                         f"The file may be damaged. {FORMATS_HINT}")
    return frames


def voice_wav(info: ClipInfo) -> bytes | None:
    """The clip's sound as a mono 16-bit WAV at its own sample rate; None without a sound track.

    Returns None as well when the sound track is silent (below -60 dBFS throughout): a phone
    that recorded no voice leaves nothing worth keeping.
    """
    if not info.has_audio:
        return None
    with tempfile.TemporaryDirectory(prefix="revive-voice-") as folder:
        wav = Path(folder) / "voice.wav"
        _ffmpeg(["-i", str(info.path), "-vn", "-sn", "-map", "0:a:0", "-ac", "1",
                 "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact",
                 str(wav)], info.path)
        data = wav.read_bytes()
    samples = np.frombuffer(data[_wav_data_offset(data):], dtype="<i2")
    if samples.size == 0 or np.abs(samples).max() < 32768 * 10 ** (-60 / 20):
        return None
    return data


def _wav_data_offset(data: bytes) -> int:
    """Where the samples of a RIFF WAV start (after its ``data`` chunk header)."""
    position = 12
    while position + 8 <= len(data):
        size = int.from_bytes(data[position + 4:position + 8], "little")
        if data[position:position + 4] == b"data":
            return position + 8
        position += 8 + size + (size & 1)
    return len(data)


def _ffprobe(path: Path) -> dict:
    """ffprobe's JSON on ``path``'s container and streams."""
    ffprobe = require_program("ffprobe", "Reading videos", instead=PHOTOS_INSTEAD)
    command = [ffprobe, "-v", "error", "-show_entries",
               "format=format_name,duration:stream=codec_type,width,height,avg_frame_rate,"
               "r_frame_rate,duration", "-of", "json", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"Reading the video {path} took too long.", FORMATS_HINT) from None
    if done.returncode != 0:
        raise InputError(f"The video {path} could not be read ({_first_line(done.stderr)}).",
                         f"The file may be damaged or not a video. {FORMATS_HINT}")
    try:
        return json.loads(done.stdout or b"{}")
    except ValueError:
        raise InputError(f"The video {path} could not be read.", FORMATS_HINT) from None


def _ffmpeg(arguments: list[str], source: Path) -> None:
    ffmpeg = require_program("ffmpeg", "Reading videos", instead=PHOTOS_INSTEAD)
    command = [ffmpeg, "-v", "error", "-nostdin", "-y", *arguments]
    try:
        done = subprocess.run(command, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"Decoding the video {source} took more than {DECODE_TIMEOUT_S} s.",
                         "Trim the video to the part that shows the person (a minute is "
                         "plenty).") from None
    if done.returncode != 0:
        raise InputError(f"The video {source} could not be decoded ({_first_line(done.stderr)}).",
                         f"The file may be damaged. {FORMATS_HINT}")


def _video_stream(document: dict) -> dict | None:
    for stream in document.get("streams", []):
        if stream.get("codec_type") == "video" and stream.get("width") and stream.get("height"):
            return stream
    return None


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _rate(text) -> float | None:
    """A frame rate written ``"30000/1001"``, or None."""
    try:
        numerator, _, denominator = str(text).partition("/")
        rate = float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if 0 < rate < 1000 else None


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no details"
