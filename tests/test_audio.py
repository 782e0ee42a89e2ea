"""Reading recordings: WAV of every width, MP3/M4A through ffmpeg, WeChat SILK, clear errors."""
from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from revive_core.voice.audio import load_audio, resample, to_int16
from revive_core.errors import InputError

RATE = 22050
TONE_HZ = 440.0


def tone(seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * TONE_HZ * t)


def write_wav(path: Path, samples: np.ndarray, rate: int, *, width: int = 2,
              channels: int = 1) -> Path:
    data = np.repeat(samples[:, None], channels, axis=1)
    if width == 1:
        raw = np.round(data * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        raw = to_int16(data).astype("<i2").tobytes()
    elif width == 3:
        ints = np.round(data * (2**23 - 1)).astype(np.int32).reshape(-1)
        raw = np.stack([ints & 255, (ints >> 8) & 255, (ints >> 16) & 255], 1)
        raw = raw.astype(np.uint8).tobytes()
    else:
        raw = np.round(data * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate / samples.size)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_of_any_width_reads_back_the_same_tone(tmp_path: Path, width: int) -> None:
    path = write_wav(tmp_path / "voice.wav", tone(), RATE, width=width, channels=2)
    before = path.read_bytes()
    samples, rate = load_audio(path, sample_rate=None)
    assert rate == RATE and samples.dtype == np.float32 and samples.ndim == 1
    assert samples.size == RATE
    np.testing.assert_allclose(samples, tone(), atol=0.01)
    assert path.read_bytes() == before  # inputs are never modified


def test_resampling_keeps_pitch_and_duration(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "voice.wav", tone(2.0), RATE)
    samples, rate = load_audio(path, sample_rate=16000)
    assert rate == 16000 and samples.size == 32000
    assert abs(dominant_hz(samples, rate) - TONE_HZ) < 1.0
    assert resample(np.ones(100), 8000, 8000).size == 100


@pytest.mark.parametrize(("suffix", "codec"), [(".mp3", "libmp3lame"), (".m4a", "aac")])
def test_compressed_formats_decode_through_ffmpeg(tmp_path: Path, suffix: str, codec: str) -> None:
    wav = write_wav(tmp_path / "voice.wav", tone(1.5), RATE)
    out = tmp_path / f"voice{suffix}"
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(wav), "-c:a", codec,
                    str(out)], check=True)
    samples, rate = load_audio(out, sample_rate=16000)
    assert rate == 16000
    assert abs(samples.size / rate - 1.5) < 0.1  # encoder padding only
    assert abs(dominant_hz(samples, rate) - TONE_HZ) < 2.0


def test_wechat_silk_voice_message(tmp_path: Path) -> None:
    import pysilk

    pcm = io.BytesIO(to_int16(tone(1.0, 24000)).tobytes())
    encoded = io.BytesIO()
    pysilk.encode(pcm, encoded, 24000, 24000, tencent=True)
    path = tmp_path / "msg.silk"
    path.write_bytes(encoded.getvalue())
    assert path.read_bytes()[:10].find(b"#!SILK_V3") >= 0
    samples, rate = load_audio(path, sample_rate=16000)
    assert rate == 16000 and abs(samples.size / rate - 1.0) < 0.1
    assert abs(dominant_hz(samples, rate) - TONE_HZ) < 3.0


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "does not exist"),
    (b"", "empty"),
    (b"this is a note, not a recording" * 10, "could not be read as audio"),
    (b"#!SILK_V3" + b"\x00\x07garbage!", "damaged"),
])
def test_unreadable_files_give_a_kind_error_naming_the_file(tmp_path: Path, content: bytes | None,
                                                            fragment: str) -> None:
    path = tmp_path / "voice.m4a"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_audio(path)
    assert fragment in info.value.message and str(path) in info.value.message
    assert info.value.hint


def test_bad_sample_rate_is_refused(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "voice.wav", tone(), RATE)
    with pytest.raises(InputError, match="sample_rate"):
        load_audio(path, sample_rate=10)
