"""The Take format: one spoken line as timed sounds, per-frame face values and audio.

Files:
    take.json   format "revive.take", version, fps, frame_count, text, language, the avatar it
                was made for (name and consent reference), segments (phonemes, visemes, words,
                emotions, each with start_s/end_s), per-frame channels: "blendshapes" (name ->
                list of weights 0..1), "head_rotation_deg" (frame -> [pitch, yaw, roll]) and
                "gaze_deg" (frame -> [yaw, pitch]), and the audio's sample rate and duration;
                optionally "layers": the blendshapes split into the layers that made them
                ("mouth", "emotion", "blinks": name -> list of weights), whose sum per name,
                clipped to 0..1, is the combined curve (editors keep them as separate tracks)
    audio.wav   16-bit PCM mono
    take.srt    optional subtitles
"""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FormatError
from .storage import Source, atomic_directory, dumps_json, finite_number, require

__all__ = ["TAKE_FORMAT", "TAKE_LAYERS", "TAKE_VERSION", "Take", "read_take", "write_take",
           "wav_bytes"]

TAKE_FORMAT = "revive.take"
TAKE_VERSION = 1
MAX_FRAMES = 360_000  # four hours at 25 fps
MAX_AUDIO_BYTES = 2 * 1024**3
SEGMENT_KINDS = ("phonemes", "visemes", "words", "emotions")
TAKE_LAYERS = ("mouth", "emotion", "blinks")  # the layers Revive writes; readers keep any


@dataclass
class Take:
    """A performance: what is said, when each sound happens, and the face on every frame."""

    fps: float
    text: str
    language: str
    blendshape_names: list[str]
    blendshapes: np.ndarray  # (N, K) float32 weights, one row per frame
    head_rotation_deg: np.ndarray  # (N, 3) float32 pitch (nod), yaw (turn), roll (tilt)
    gaze_deg: np.ndarray  # (N, 2) float32 yaw, pitch of both eyes
    audio: np.ndarray  # (S,) int16 mono samples
    sample_rate: int
    segments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    avatar: dict[str, Any] = field(default_factory=dict)  # name and consent of the avatar
    subtitles_srt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Optional: layer -> blendshape name -> (N,) float32 weights (see TAKE_LAYERS)
    layers: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        return int(self.blendshapes.shape[0])

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / float(self.sample_rate)

    def curve(self, name: str) -> np.ndarray:
        """Per-frame weights (N,) of one blendshape; zeros when the take does not drive it."""
        if name not in self.blendshape_names:
            return np.zeros(self.frame_count, dtype=np.float32)
        return self.blendshapes[:, self.blendshape_names.index(name)]


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV file content from int16 samples."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def write_take(take: Take, folder: Path) -> Path:
    """Write ``take`` to ``folder`` atomically (a previous take there is replaced whole)."""
    _check(take, Path(folder))
    files = {"audio": "audio.wav"}
    if take.subtitles_srt is not None:
        files["subtitles"] = "take.srt"
    document = {
        "format": TAKE_FORMAT,
        "version": TAKE_VERSION,
        "fps": take.fps,
        "frame_count": take.frame_count,
        "text": take.text,
        "language": take.language,
        "avatar": take.avatar,
        "audio": {"sample_rate": int(take.sample_rate), "duration_s": round(take.duration_s, 6)},
        "segments": {k: take.segments.get(k, []) for k in SEGMENT_KINDS},
        "blendshapes": {name: _rounded(take.blendshapes[:, i])
                        for i, name in enumerate(take.blendshape_names)},
        "head_rotation_deg": _rounded(take.head_rotation_deg),
        "gaze_deg": _rounded(take.gaze_deg),
        "files": files,
        "extra": take.extra,
    }
    if take.layers:
        document["layers"] = {layer: {name: _rounded(values) for name, values in curves.items()}
                              for layer, curves in take.layers.items()}
    with atomic_directory(Path(folder)) as tmp:
        (tmp / "take.json").write_bytes(dumps_json(document))
        (tmp / "audio.wav").write_bytes(wav_bytes(take.audio, take.sample_rate))
        if take.subtitles_srt is not None:
            (tmp / "take.srt").write_text(take.subtitles_srt, encoding="utf-8")
    return Path(folder)


def read_take(path: Path) -> Take:
    """Read and validate a take folder or zip; raise FormatError naming what is wrong."""
    source = Source(Path(path), "Take")
    doc = source.json("take.json", TAKE_FORMAT, TAKE_VERSION)
    where = source.path / "take.json"
    require(finite_number(doc.get("fps")) and 1 <= doc["fps"] <= 240, where,
            "fps must be a number between 1 and 240.")
    count = doc.get("frame_count")
    require(isinstance(count, int) and 1 <= count <= MAX_FRAMES, where,
            f"frame_count must be an integer between 1 and {MAX_FRAMES}.")
    require(isinstance(doc.get("text"), str) and isinstance(doc.get("language"), str), where,
            "text and language must be strings.")
    channels = doc.get("blendshapes")
    require(isinstance(channels, dict), where, "'blendshapes' must map names to per-frame lists.")
    names = list(channels)
    blendshapes = np.zeros((count, len(names)), dtype=np.float32)
    for i, name in enumerate(names):
        blendshapes[:, i] = _frames(channels[name], count, (), where, f"blendshape {name!r}")
    head = _frames(doc.get("head_rotation_deg"), count, (3,), where, "head_rotation_deg")
    layers = _layers(doc.get("layers") or {}, count, where)
    gaze = _frames(doc.get("gaze_deg"), count, (2,), where, "gaze_deg")
    segments = doc.get("segments") or {}
    require(isinstance(segments, dict) and all(
        isinstance(segments.get(k, []), list) for k in SEGMENT_KINDS), where,
        "segments must map phonemes/visemes/words/emotions to lists.")
    for kind in SEGMENT_KINDS:
        for segment in segments.get(kind, []):
            require(isinstance(segment, dict) and finite_number(segment.get("start_s"))
                    and finite_number(segment.get("end_s")), where,
                    f"every {kind} segment needs numeric start_s and end_s.")
    audio, rate = _read_wav(source)
    subtitles = None
    if source.has("take.srt"):
        subtitles = source.read("take.srt", 64 * 1024**2).decode("utf-8", errors="replace")
    take = Take(fps=float(doc["fps"]), text=doc["text"], language=doc["language"],
                blendshape_names=names, blendshapes=blendshapes, head_rotation_deg=head,
                gaze_deg=gaze, audio=audio, sample_rate=rate,
                segments={k: list(segments.get(k, [])) for k in SEGMENT_KINDS},
                avatar=doc.get("avatar") or {}, subtitles_srt=subtitles, extra=doc.get("extra") or {},
                layers=layers)
    _check(take, source.path)
    return take


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 5).tolist()


def _frames(values: Any, count: int, tail: tuple[int, ...], where: Path, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {what} must be a list of numbers per frame.") from None
    require(array.shape == (count, *tail), where,
            f"{what} must have shape {(count, *tail)}, found {array.shape}.")
    require(bool(np.isfinite(array).all()), where, f"{what} contains NaN or infinite values.")
    return array


def _layers(layers: Any, count: int, where: Path) -> dict[str, dict[str, np.ndarray]]:
    require(isinstance(layers, dict) and all(isinstance(c, dict) for c in layers.values()),
            where, "'layers' must map layer names to {blendshape name: per-frame list}.")
    return {layer: {name: _frames(values, count, (), where, f"layer {layer!r} {name!r}")
                    for name, values in curves.items()}
            for layer, curves in layers.items()}


def _read_wav(source: Source) -> tuple[np.ndarray, int]:
    raw = source.read("audio.wav", MAX_AUDIO_BYTES)
    try:
        with wave.open(io.BytesIO(raw)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, RuntimeError, ValueError, OverflowError) as exc:
        # The wave module raises all of these for damaged headers and chunk sizes.
        raise FormatError(f"{source.path}: audio.wav is not a readable WAV file "
                          f"({exc or type(exc).__name__}).",
                          "Write the take again with Revive.") from None
    require(channels == 1 and width == 2 and 8000 <= rate <= 192000, source.path / "audio.wav",
            "must be 16-bit mono PCM at 8-192 kHz.")
    frames = frames[:len(frames) // 2 * 2]  # a truncated file can end in half a sample
    return np.frombuffer(frames, dtype="<i2").astype(np.int16), rate


def _check(take: Take, path: Path) -> None:
    n = take.blendshapes.shape[0]
    require(take.blendshapes.ndim == 2 and take.blendshapes.shape[1] == len(take.blendshape_names),
            path, "blendshapes must be (frames, names).")
    require(1 <= n <= MAX_FRAMES, path, f"a take needs 1 to {MAX_FRAMES} frames, found {n}.")
    require(take.head_rotation_deg.shape == (n, 3) and take.gaze_deg.shape == (n, 2), path,
            "head_rotation_deg must be (N, 3) and gaze_deg (N, 2).")
    require(take.audio.ndim == 1 and take.audio.shape[0] > 0, path, "the audio is empty.")
    require(bool(np.isfinite(take.blendshapes).all()), path, "blendshapes contain NaN or Inf.")
