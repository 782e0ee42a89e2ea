"""Timed speech: what the speech stage hands to animation (no engine code here)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Phoneme", "Word", "Speech"]


@dataclass(frozen=True)
class Phoneme:
    """One speech sound. ``symbol`` is IPA (tone digits allowed for Mandarin)."""

    symbol: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float


@dataclass
class Speech:
    """Audio with the phonemes and words it contains, times in seconds from the audio's start."""

    audio: np.ndarray  # (S,) int16 mono
    sample_rate: int
    language: str  # "en" or "zh"
    text: str
    phonemes: list[Phoneme] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    engine: str = ""

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / float(self.sample_rate)
