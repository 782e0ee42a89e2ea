"""The emotion in a voice: a built-in prosody model, or a local speech-emotion model by path.

The built-in model (default, offline, no weights)
    It reads the prosody of :mod:`revive_core.emotion.prosody` and turns each measurement into
    a standard score against typical adult speech (``NORMS``: value minus the typical value,
    over a typical spread; clipped to +-3). Pitch level is measured in semitones from the
    typical median of the speaker's register (``REGISTER_HZ``: a median under 160 Hz is taken
    as a low, usually male, voice), or from the speaker's own median when a baseline recording
    of the same person is given; with a baseline every score is relative to that person.
    Loudness level only counts against a baseline, because a microphone's gain changes it.
    Fewer pauses than typical count as typical. With less than ``RELIABLE_SPEECH_S`` of speech
    every score shrinks toward 0 in proportion: a word or two says little.

    Arousal and valence are weighted sums of the scores (``AROUSAL_WEIGHTS``,
    ``VALENCE_WEIGHTS``), squashed to -1..1 by tanh::

        score          arousal  valence    what it tells
        pitch level     +0.35     0        raised voice
        pitch spread    +0.20   +0.50      lively melody (flat melody: sad or tense)
        speaking rate   +0.20   +0.20      hurried or slow
        tilt (effort)   +0.20   -0.30      pressed, effortful voice: anger
        loudness spread +0.10     0        dynamic
        pauses          -0.15   -0.30      halting speech
        loudness level  +0.20     0        (only against a baseline)

    The label, from the arousal-valence plane and two cues (after Juslin & Laukka, 2003):

    - arousal >= ``AROUSED``: joy if valence >= ``PLEASANT``; else anger if the voice is
      effortful (tilt score >= 0.5); else fear if the pitch is high (pitch score >= 1); else
      neutral. A joyful reading whose pitch sweeps ``SURPRISE_RANGE_ST`` or more (5th to 95th
      percentile) with arousal >= 0.5 is surprise.
    - arousal <= ``SUBDUED``: sadness if valence <= ``UNPLEASANT``; else neutral (calm).
    - otherwise neutral. Disgust is never read from the voice alone.

    Intensity is ``hypot(arousal, valence)`` clipped to 0..1 (0 for neutral).

    Phrases (speech between pauses of 0.3 s or more, 1 to 6 s long) are read the same way,
    with the whole recording's scores plus how each phrase differs from the whole (its pitch,
    loudness, rate ...): a phrase louder or higher than the rest reads more stirred.

    Limits, honestly: prosody tells arousal (how stirred the voice is) far better than valence
    (pleasant or not); joy and anger, or sadness and calm, can sound alike. The norms and
    weights were set by hand from typical values for adult speech and the directions reported
    in the literature, and checked only on one human voice reading calm phone prompts (the
    Asterisk prompts): nothing was fitted to an emotion corpus, because no acted-emotion corpus
    with a licence that allows it could be found offline, and its accuracy on emotions is not
    known. Expect it to tell calm from stirred speech more than one emotion from another; run
    ``revive bench voice-emotion`` on labelled recordings you have to know more. Short clips
    (under about 2 s of speech), whispering, singing, children's voices, several speakers at
    once and steady tones in the speaking range (taken as voice) are read poorly.

A local model, by path
    No speech-emotion weights ship in a package whose licence allows it (PyPI, Debian and npm
    were searched; audEERING's openSMILE is for research only; other packages download weights
    from a hub at run time, which Revive never does). A studio that has a model may plug it in:
    a local Hugging Face audio-classification folder (``config.json``, weights,
    ``preprocessor_config.json``; e.g. a wav2vec2 emotion model), loaded with
    ``AutoFeatureExtractor`` and ``AutoModelForAudioClassification``. Its label names are
    mapped onto the seven with :data:`VOICE_LABEL_SYNONYMS` (``ang`` -> anger, ``hap`` -> joy,
    ``neu`` -> neutral ...); labels it cannot map are left out. The prosody is still measured,
    for arousal and valence. Recordings are classified in pieces of at most ``MODEL_PIECE_S``.

Functions
    voice_emotion            samples -> :class:`VoiceEmotion` (the whole and each phrase)
    read_voice_emotion       a recording file -> :class:`VoiceEmotion`
    prosody_emotion          :class:`Prosody` -> label, arousal and valence (the built-in model)
    load_voice_model         ``"builtin"`` or a local model folder
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from revive_core.emotion.classify import LABEL_SYNONYMS, EmotionLabel
from revive_core.emotion.lexicon import EMOTIONS
from revive_core.emotion.prosody import (ANALYSIS_RATE, HOP_S, NoSpeechError, Prosody,
                                         ProsodyTracks, measure, phrases, summarise)
from revive_core.errors import InputError
from revive_core.voice.audio import load_audio, resample

__all__ = ["AROUSAL_WEIGHTS", "BUILTIN", "NORMS", "PhraseEmotion", "VALENCE_WEIGHTS",
           "VOICE_LABEL_SYNONYMS", "VoiceEmotion", "VoiceEmotionModel", "load_voice_model",
           "prosody_emotion", "read_voice_emotion", "voice_emotion"]

BUILTIN = "builtin prosody"
REGISTER_HZ = {"low": 115.0, "high": 205.0}  # typical median F0 of adult men and women
LOW_REGISTER_UNDER_HZ = 160.0
# Typical value and spread of each measurement in calm adult speech.
NORMS: dict[str, tuple[float, float]] = {
    "pitch": (0.0, 3.0),  # semitones from the register's (or the baseline's) median
    "spread": (3.0, 1.5),  # F0 spread, semitones
    "rate": (4.0, 1.0),  # syllable nuclei per second of speaking time
    "effort": (-14.0, 4.0),  # alpha ratio, dB
    "dynamics": (12.0, 4.0),  # loudness interquartile range, dB
    "pauses": (0.10, 0.20),  # share of time in pauses (only more than typical counts)
    "loudness": (0.0, 4.0),  # dB from the baseline's level (0 without a baseline)
}
AROUSAL_WEIGHTS = {"pitch": 0.35, "spread": 0.20, "rate": 0.20, "effort": 0.20,
                   "dynamics": 0.10, "pauses": -0.15, "loudness": 0.20}
VALENCE_WEIGHTS = {"spread": 0.50, "rate": 0.20, "effort": -0.30, "pauses": -0.30}
AROUSED, SUBDUED = 0.3, -0.3
PLEASANT, UNPLEASANT = 0.15, -0.15
SURPRISE_RANGE_ST = 18.0
MAX_SCORE = 3.0
RELIABLE_SPEECH_S = 2.0  # with less speech than this, the scores shrink toward typical
MODEL_PIECE_S = 20.0

# Label names of common speech-emotion models (IEMOCAP, RAVDESS, CREMA-D, ESD, SUPERB),
# mapped onto the seven; the text classifier's synonyms are included.
VOICE_LABEL_SYNONYMS: dict[str, str] = {
    **LABEL_SYNONYMS,
    "ang": "anger", "hap": "joy", "exc": "joy", "neu": "neutral", "fea": "fear",
    "fearful": "fear", "sur": "surprise", "dis": "disgust", "fru": "anger",
    "frustration": "anger", "frustrated": "anger", "cal": "neutral", "neutrality": "neutral",
    "ps": "surprise", "pleasant_surprise": "surprise", "pleasant surprise": "surprise",
}


@dataclass(frozen=True)
class PhraseEmotion:
    """The voice's emotion over one phrase (speech between two pauses)."""

    start_s: float
    end_s: float
    label: EmotionLabel
    arousal: float
    valence: float


@dataclass(frozen=True)
class VoiceEmotion:
    """What a recording's voice tells of the speaker's emotion.

    Attributes
    ----------
    label : EmotionLabel
        The emotion of the whole recording.
    arousal, valence : float
        -1..1 (calm .. stirred; unpleasant .. pleasant), from the prosody.
    prosody : Prosody
        The measurements behind them.
    model : str
        ``"builtin prosody"`` or the local model that chose the label.
    phrases : tuple of PhraseEmotion
        The same for each phrase, in order, when the recording has more than one.
    """

    label: EmotionLabel
    arousal: float
    valence: float
    prosody: Prosody
    model: str = BUILTIN
    phrases: tuple[PhraseEmotion, ...] = field(default=())

    def summary(self) -> dict:
        """A JSON-ready report (rounded), as recorded in a take."""
        return {"label": self.label.label, "intensity": round(self.label.intensity, 3),
                "arousal": round(self.arousal, 3), "valence": round(self.valence, 3),
                "model": self.model, "prosody": self.prosody.rounded(),
                "phrases": [{"start_s": round(p.start_s, 3), "end_s": round(p.end_s, 3),
                             "label": p.label.label, "intensity": round(p.label.intensity, 3),
                             "arousal": round(p.arousal, 3), "valence": round(p.valence, 3)}
                            for p in self.phrases]}


class VoiceEmotionModel(Protocol):
    """Labels a piece of speech (a local model plugged in by path)."""

    name: str

    def label(self, samples: np.ndarray, sample_rate: int) -> EmotionLabel:
        """The emotion of mono samples in -1..1."""


def voice_emotion(samples: np.ndarray, sample_rate: int, *,
                  model: VoiceEmotionModel | str | Path | None = None,
                  baseline: Prosody | None = None) -> VoiceEmotion:
    """The emotion in the voice of a recording of one speaker.

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono audio in -1..1 (int16 is scaled to it).
    sample_rate : int
        Hz, at least 8000.
    model : VoiceEmotionModel, str or Path, optional
        ``None`` or ``"builtin"`` for the prosody model; a local audio-classification model
        folder (or one loaded with :func:`load_voice_model`) to choose the labels instead.
    baseline : Prosody, optional
        The same person speaking calmly (another recording): the scores become relative to it.

    Returns
    -------
    VoiceEmotion
        With one :class:`PhraseEmotion` per phrase when there are two or more.

    Raises
    ------
    NoSpeechError
        Too little voiced speech to measure (an :class:`~revive_core.errors.InputError`).

    Examples
    --------
    >>> from revive_core.voice.speech import synthesize
    >>> speech = synthesize("I can't believe it, we won!", language="en", pitch=80)
    >>> reading = voice_emotion(speech.audio, speech.sample_rate)
    >>> -1 <= reading.arousal <= 1
    True
    """
    audio = _mono_float(samples)
    if sample_rate != ANALYSIS_RATE:
        audio = resample(audio, int(sample_rate), ANALYSIS_RATE).astype(np.float32)
    resolved = load_voice_model(model) if model is None or isinstance(model, (str, Path)) \
        else model
    tracks = measure(audio, ANALYSIS_RATE)
    whole = summarise(tracks)
    label, arousal, valence = prosody_emotion(whole, baseline=baseline)
    if resolved is not None:
        label = resolved.label(audio, ANALYSIS_RATE)
    return VoiceEmotion(label=label, arousal=arousal, valence=valence, prosody=whole,
                        model=BUILTIN if resolved is None else resolved.name,
                        phrases=_phrase_emotions(tracks, whole, baseline, resolved))


def read_voice_emotion(path: Path, *, model: VoiceEmotionModel | str | Path | None = None,
                       baseline: Prosody | None = None) -> VoiceEmotion:
    """:func:`voice_emotion` of a recording file (WAV, MP3, M4A, OGG, FLAC, AMR, SILK, video).

    Raises
    ------
    InputError
        The file can't be read (see :func:`revive_core.voice.audio.load_audio`) or holds too
        little speech; the message names the file.
    """
    samples, rate = load_audio(Path(path), sample_rate=ANALYSIS_RATE)
    try:
        return voice_emotion(samples, rate, model=model, baseline=baseline)
    except NoSpeechError as error:
        raise NoSpeechError(f"No speech could be measured in {path}.", error.hint) from None


def prosody_emotion(prosody: Prosody, *, baseline: Prosody | None = None
                    ) -> tuple[EmotionLabel, float, float]:
    """The built-in model: prosody -> (label, arousal, valence); see the module's docstring."""
    scores = standard_scores(prosody, baseline=baseline)
    return _label_from(scores, prosody), _arousal(scores), _valence(scores)


def standard_scores(prosody: Prosody, *, baseline: Prosody | None = None) -> dict[str, float]:
    """Each measurement as a standard score against :data:`NORMS` (or the baseline), +-3.

    Fewer pauses than typical count as typical. Scores of a recording with less than
    ``RELIABLE_SPEECH_S`` of speech are shrunk toward 0 in proportion (a word or two says
    little about how someone feels).
    """
    if baseline is None:
        register = "low" if prosody.f0_median_hz < LOW_REGISTER_UNDER_HZ else "high"
        values = _values(prosody, REGISTER_HZ[register], prosody.loudness_db)
        reference = {k: mean for k, (mean, _) in NORMS.items()}
    else:
        values = _values(prosody, baseline.f0_median_hz, baseline.loudness_db)
        reference = _values(baseline, baseline.f0_median_hz, baseline.loudness_db)
    scores = {k: float(np.clip((values[k] - reference[k]) / NORMS[k][1], -MAX_SCORE, MAX_SCORE))
              for k in NORMS}
    scores["pauses"] = max(scores["pauses"], 0.0)  # fluent speech is no sign of anything
    evidence = min(1.0, prosody.speaking_s / RELIABLE_SPEECH_S)
    return {k: v * evidence for k, v in scores.items()}


def _values(p: Prosody, reference_hz: float, reference_db: float) -> dict[str, float]:
    return {"pitch": 12 * np.log2(p.f0_median_hz / reference_hz), "spread": p.f0_spread_st,
            "rate": p.rate_per_s, "effort": p.tilt_db, "dynamics": p.loudness_spread_db,
            "pauses": p.pause_ratio, "loudness": p.loudness_db - reference_db}


def _arousal(scores: dict[str, float]) -> float:
    return float(np.tanh(sum(w * scores[k] for k, w in AROUSAL_WEIGHTS.items())))


def _valence(scores: dict[str, float]) -> float:
    return float(np.tanh(sum(w * scores[k] for k, w in VALENCE_WEIGHTS.items())))


def _label_from(scores: dict[str, float], prosody: Prosody) -> EmotionLabel:
    arousal, valence = _arousal(scores), _valence(scores)
    strength = round(float(min(np.hypot(arousal, valence), 1.0)), 4)
    if arousal >= AROUSED:
        if valence >= PLEASANT:
            surprised = arousal >= 0.5 and prosody.f0_range_st >= SURPRISE_RANGE_ST
            return EmotionLabel("surprise" if surprised else "joy", strength)
        if scores["effort"] >= 0.5:
            return EmotionLabel("anger", strength)
        if scores["pitch"] >= 1.0:
            return EmotionLabel("fear", strength)
    elif arousal <= SUBDUED and valence <= UNPLEASANT:
        return EmotionLabel("sadness", strength)
    return EmotionLabel("neutral", 0.0)


def _phrase_emotions(tracks: ProsodyTracks, whole: Prosody, baseline: Prosody | None,
                     model: VoiceEmotionModel | None) -> tuple[PhraseEmotion, ...]:
    """Each phrase read as the whole recording's scores plus how the phrase differs from it,
    so a phrase louder or higher than the rest of the recording reads more stirred."""
    spans = phrases(tracks)
    if len(spans) < 2:
        return ()
    whole_scores = standard_scores(whole, baseline=baseline)
    whole_values = _values(whole, whole.f0_median_hz, whole.loudness_db)
    hop = int(round(tracks.sample_rate * HOP_S))
    result = []
    for first, end in spans:
        try:
            part = summarise(tracks, first, end)
        except NoSpeechError:  # a phrase of unvoiced sounds: nothing to read
            continue
        values = _values(part, whole.f0_median_hz, whole.loudness_db)
        scores = {k: float(np.clip(whole_scores[k] + (values[k] - whole_values[k]) / NORMS[k][1],
                                   -MAX_SCORE, MAX_SCORE)) for k in NORMS}
        label = _label_from(scores, part)
        if model is not None:
            label = model.label(tracks.samples[first * hop:end * hop], tracks.sample_rate)
        result.append(PhraseEmotion(start_s=first * HOP_S, end_s=end * HOP_S, label=label,
                                    arousal=_arousal(scores), valence=_valence(scores)))
    return tuple(result) if len(result) >= 2 else ()


def _mono_float(samples: np.ndarray) -> np.ndarray:
    audio = np.asarray(samples)
    if audio.ndim != 1:
        raise InputError(f"samples must be mono (one dimension), got shape {audio.shape}.")
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    return audio.astype(np.float32)


# --- A local model, by path ------------------------------------------------------------------

def load_voice_model(spec: str | Path | None = None) -> VoiceEmotionModel | None:
    """A local speech-emotion model by path, or None for the built-in prosody model.

    Parameters
    ----------
    spec : str or Path, optional
        ``None`` or ``"builtin"``: the built-in prosody model (None is returned). Anything else:
        a local Hugging Face audio-classification model folder.

    Raises
    ------
    InputError
        The folder is missing, is not an audio-classification model, or none of its labels is
        an emotion Revive knows.
    """
    if spec is None or str(spec) == "builtin":
        return None
    return _local_voice_model(str(Path(spec).expanduser().resolve()))


@functools.lru_cache(maxsize=2)
def _local_voice_model(folder: str) -> _AudioClassifier:
    return _AudioClassifier(Path(folder))


_MODEL_HINT = ("Pass a local Hugging Face audio-classification model folder (config.json, "
               "weights and preprocessor_config.json), such as a wav2vec2 speech-emotion "
               "model, or 'builtin'.")


class _AudioClassifier:
    """A local Hugging Face audio-classification model, its labels mapped onto the seven."""

    def __init__(self, folder: Path) -> None:
        _check_model_folder(folder)
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            self._extractor = AutoFeatureExtractor.from_pretrained(str(folder),
                                                                   local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"The feature extractor of {folder} could not be loaded "
                             f"({_first_line(exc)}).", _MODEL_HINT) from None
        try:
            self._model = AutoModelForAudioClassification.from_pretrained(
                str(folder), local_files_only=True).eval()
        except ValueError:
            kind = json.loads((folder / "config.json").read_text()).get("model_type", "unknown")
            raise InputError(f"{folder} holds a {kind} model, not an audio-classification "
                             "model.", _MODEL_HINT) from None
        except (OSError, KeyError) as exc:
            raise InputError(f"The weights of {folder} could not be loaded "
                             f"({_first_line(exc)}).", _MODEL_HINT) from None
        self._rate = int(getattr(self._extractor, "sampling_rate", ANALYSIS_RATE) or
                         ANALYSIS_RATE)
        id2label = self._model.config.id2label or {}
        self._columns = {int(i): VOICE_LABEL_SYNONYMS.get(str(name).strip().lower())
                         for i, name in id2label.items()}
        if not any(self._columns.values()):
            names = ", ".join(map(str, id2label.values()))
            raise InputError(f"None of the labels of {folder} ({names}) is an emotion Revive "
                             "knows.", "Set id2label in its config.json to names such as ang, "
                             "hap, neu, sad (or anger, joy, neutral, sadness ...).")
        self.name = f"model {folder.name}"

    def label(self, samples: np.ndarray, sample_rate: int) -> EmotionLabel:
        import torch

        audio = np.asarray(samples, np.float64)
        if sample_rate != self._rate:
            audio = resample(audio, int(sample_rate), self._rate)
        piece = int(MODEL_PIECE_S * self._rate)
        mass = dict.fromkeys(EMOTIONS, 0.0)
        for start in range(0, max(audio.size, 1), piece):
            chunk = audio[start:start + piece].astype(np.float32)
            if chunk.size < self._rate // 10:  # a sliver at the end: too short to hear
                continue
            inputs = self._extractor(chunk, sampling_rate=self._rate, return_tensors="pt")
            with torch.no_grad():
                probabilities = torch.softmax(self._model(**inputs).logits, dim=-1)[0].numpy()
            for column, emotion in self._columns.items():
                if emotion:
                    mass[emotion] += float(probabilities[column]) * chunk.size
        best = max(EMOTIONS, key=lambda e: mass[e])
        share = mass[best] / max(sum(mass.values()), 1e-12)
        return EmotionLabel(best, 0.0 if best == "neutral" else round(min(share, 1.0), 4))


def _check_model_folder(folder: Path) -> None:
    """InputError unless ``folder`` has a readable config.json and a preprocessor_config.json."""
    if not folder.is_dir():
        raise InputError(f"Voice emotion model folder not found: {folder}", _MODEL_HINT)
    for name in ("config.json", "preprocessor_config.json"):
        if not (folder / name).is_file():
            raise InputError(f"{folder} is not an audio-classification model: it has no "
                             f"{name}.", _MODEL_HINT)
        try:
            settings = json.loads((folder / name).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            settings = None
        if not isinstance(settings, dict):
            raise InputError(f"{folder / name} is not a JSON object of settings.", _MODEL_HINT)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
