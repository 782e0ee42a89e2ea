"""Read voice recordings of any common kind into mono float samples at a chosen rate.

Formats
    WAV (PCM 8/16/24/32-bit) is read directly. MP3, M4A/AAC, OGG/Opus, FLAC, AMR (the format of
    older WeChat and phone voice notes) and anything else ffmpeg understands are decoded with
    the ``ffmpeg`` program. WeChat and QQ voice messages in SILK v3 (files starting with
    ``#!SILK_V3``, often after one extra byte) are decoded with the ``silk-python`` package.
    A file none of these can read gives an :class:`~revive_core.errors.InputError` naming the
    file and what to do; the input file is only ever read.

Resampling
    Several channels are averaged to mono; the rate is changed with a polyphase filter
    (``scipy.signal.resample_poly``), which keeps timing exact: sample ``i`` at the new rate is
    at ``i / rate`` seconds, as before.

Functions
    load_audio      file -> (samples, rate)
    resample        samples at one rate -> another
    to_int16        float samples -> int16 (clipped)
"""
from __future__ import annotations

import functools
import io
import math
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
from scipy.signal import firwin, resample_poly

from revive_core.errors import InputError, ReviveError
from revive_core.programs import require_program

__all__ = ["MAX_DURATION_S", "load_audio", "resample", "to_int16"]

MAX_DURATION_S = 30 * 60.0
MAX_FILE_BYTES = 1024**3
_SILK_MAGIC = b"#!SILK_V3"
_SILK_RATE = 24000
_FORMATS_HINT = "Revive reads WAV, MP3, M4A/AAC, OGG, FLAC, AMR and WeChat SILK voice files."


def load_audio(path: Path, *, sample_rate: int | None = 16000) -> tuple[np.ndarray, int]:
    """Read a recording as mono float samples.

    Parameters
    ----------
    path : Path
        The recording (see the module's docstring for the formats).
    sample_rate : int or None
        Rate of the returned samples in Hz; None keeps the file's own rate.

    Returns
    -------
    samples : np.ndarray [shape=(S,), dtype=float32]
        Mono samples in -1..1.
    rate : int
        Their sample rate in Hz.

    Raises
    ------
    InputError
        The file is missing, empty, not audio, longer than 30 minutes, or in a format that
        cannot be decoded here.
    """
    path = Path(path)
    if sample_rate is not None and not (isinstance(sample_rate, int)
                                        and 1000 <= sample_rate <= 192000):
        raise InputError(f"sample_rate={sample_rate!r} must be an integer from 1000 to 192000 Hz.")
    if not path.is_file():
        raise InputError(f"The recording {path} does not exist.",
                         "Check the path; give the audio file itself, not its folder.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"The recording {path} is empty (0 bytes).",
                         "Copy the voice message again from the phone or computer it came from.")
    if size > MAX_FILE_BYTES:
        raise InputError(f"The recording {path} is {size / 1024**3:.1f} GB, too large to read.",
                         "Cut out the part with the voice (a few minutes are plenty).")
    with open(path, "rb") as f:
        head = f.read(16)
    if _SILK_MAGIC in head[:10]:
        samples, rate = _read_silk(path)
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        samples, rate = _read_wav(path)
    else:
        samples, rate = _read_ffmpeg(path)
    if samples.size == 0:
        raise InputError(f"The recording {path} holds no sound.",
                         "Choose a recording in which the person can be heard.")
    if samples.size / rate > MAX_DURATION_S:
        raise InputError(f"The recording {path} lasts {samples.size / rate / 60:.0f} minutes; "
                         f"at most {MAX_DURATION_S / 60:.0f} minutes can be used.",
                         "Cut out the part you want the avatar to say.")
    if sample_rate is not None and sample_rate != rate:
        samples, rate = resample(samples, rate, sample_rate), sample_rate
    return samples.astype(np.float32), int(rate)


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Change the sample rate of mono samples.

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono samples (float; integers are converted to float first without scaling).
    rate, new_rate : int
        Their rate and the wanted one, in Hz.

    Returns
    -------
    np.ndarray [shape=(round(S * new_rate / rate),), dtype=float64]
    """
    if rate <= 0 or new_rate <= 0:
        raise InputError(f"Sample rates must be positive (got {rate} and {new_rate}).")
    samples = np.asarray(samples, dtype=np.float64)
    if rate == new_rate:
        return samples
    g = math.gcd(int(rate), int(new_rate))
    up, down = new_rate // g, rate // g
    out = resample_poly(samples, up, down, window=_lowpass(up, down))
    return out[: int(round(samples.shape[0] * new_rate / rate))]


@functools.lru_cache(maxsize=16)
def _lowpass(up: int, down: int) -> np.ndarray:
    """The filter resample_poly would design itself (Kaiser, beta 5), designed once."""
    longest = max(up, down)
    return firwin(2 * 10 * longest + 1, 1.0 / longest, window=("kaiser", 5.0))


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in -1..1 -> int16 (values outside are clipped)."""
    return np.clip(np.round(np.asarray(samples) * 32767.0), -32768, 32767).astype(np.int16)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return _read_ffmpeg(path)  # float or compressed WAV: ffmpeg knows more kinds
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        value = bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)
        data = np.where(value >= 1 << 23, value - (1 << 24), value) / float(1 << 23)
    else:
        data = np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)
    data = data[: data.size // channels * channels].reshape(-1, channels).mean(axis=1)
    return data, rate


def _read_silk(path: Path) -> tuple[np.ndarray, int]:
    try:
        import pysilk
    except ImportError as exc:
        raise ReviveError("The SILK decoder (silk-python) is not installed.",
                          "Run scripts/setup.sh again to reinstall it.") from exc
    data = path.read_bytes()
    start = data.find(_SILK_MAGIC)
    pcm = io.BytesIO()
    try:
        pysilk.decode(io.BytesIO(data[start:]), pcm, _SILK_RATE)
    except Exception as exc:  # noqa: BLE001 - the decoder raises its own SilkError or ValueError
        raise InputError(f"The WeChat/SILK voice file {path} is damaged and could not be "
                         f"decoded ({exc}).", "Export the voice message again.") from exc
    return np.frombuffer(pcm.getvalue(), "<i2").astype(np.float64) / 32768.0, _SILK_RATE


def _read_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    ffmpeg = require_program("ffmpeg", f"Reading {path.suffix or 'this kind of'} audio",
                             instead="Or give a WAV file.")
    rate = _probe_rate(path) or 48000
    command = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
               "-ar", str(rate), "-f", "s16le", "-acodec", "pcm_s16le", "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "no sound found"
        raise InputError(f"The recording {path} could not be read as audio ({detail}).",
                         _FORMATS_HINT + " If it is one of these, the file may be damaged.")
    return np.frombuffer(result.stdout, "<i2").astype(np.float64) / 32768.0, rate


def _probe_rate(path: Path) -> int | None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    result = subprocess.run([ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
                             "stream=sample_rate", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, check=False)
    try:
        return int(result.stdout.strip().split()[0])
    except (ValueError, IndexError):
        return None
