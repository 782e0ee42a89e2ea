"""Make a take: text -> speech with phoneme times -> emotion -> animation -> Take folder.

Emotion: ``"auto"`` labels the text; with a recording it also reads the voice and combines the
two (:mod:`revive_core.emotion.combine`). What was read is kept in the take's
``extra["emotion"]``: the rule that decided, the text's label and, with a recording, the
voice's label, arousal, valence, prosody and each phrase's reading.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from revive_core.take.animate import animate
from revive_core.take.cues import write_cues
from revive_core.emotion.classify import EMOTIONS, EmotionLabel, classify
from revive_core.emotion.combine import combine
from revive_core.emotion.prosody import NoSpeechError
from revive_core.emotion.voice import VoiceEmotionModel, load_voice_model, voice_emotion
from revive_core.errors import InputError
from revive_core.formats import Avatar, Take, write_take
from revive_core.voice.speech import synthesize
from revive_core.voice.timing import Phoneme, Speech, Word
from revive_core.voice.textnorm import normalize

__all__ = ["make_take", "subtitles_srt"]

log = logging.getLogger(__name__)

REST_BEFORE_S = 0.5  # silence before and after generated speech
REST_AFTER_S = 0.7


def make_take(avatar: Avatar, text: str | None, out: Path, *, language: str = "auto",
              emotion: str = "auto", intensity: float = 0.6, fps: float = 25.0,
              seed: int = 0, audio: Path | None = None, transcript: str | None = None,
              voice_model: str | Path | None = None) -> Take:
    """Speak ``text`` with ``avatar``'s face and write the take to ``out``.

    With ``audio`` (a recording of the person), the take follows the recording instead: it is
    aligned to ``transcript`` (or ``text``; transcribed when both are None) and the mouth
    follows its phonemes and loudness; with ``emotion="auto"`` the emotion combines the
    transcript's with the voice's (read by the built-in prosody model, or by the local
    audio-classification model folder ``voice_model``). Rhubarb mouth cues are written beside
    the take.
    """
    # a bad model folder fails before the work; it is loaded only when it will be used
    voice_reader = load_voice_model(voice_model) if audio is not None and emotion == "auto" \
        else None
    if audio is not None:
        from revive_core.voice.align import align_recording

        speech = align_recording(audio, transcript=transcript if transcript is not None
                                 else text, language=language)
        text = speech.text
    elif text is None:
        raise InputError("There is nothing to say.", "Give the words with --text, or a "
                         "recording with --audio.")
    else:
        speech = _with_rest(synthesize(normalize(text, language=language), language=language))
    label, emotion_record = _emotion(text, speech.language, emotion, intensity,
                                     recording=speech if audio is not None else None,
                                     voice_model=voice_reader)
    performance = animate(speech, fps=fps, emotion=label, available=avatar.blendshape_names,
                          seed=seed, expression_range=avatar.extra.get("expression_range"))
    take = Take(
        fps=fps, text=text, language=speech.language,
        blendshape_names=performance.blendshape_names, blendshapes=performance.blendshapes,
        head_rotation_deg=performance.head_rotation_deg, gaze_deg=performance.gaze_deg,
        audio=speech.audio, sample_rate=speech.sample_rate,
        segments={
            "phonemes": [{"symbol": p.symbol, "start_s": round(p.start_s, 4),
                          "end_s": round(p.end_s, 4)} for p in speech.phonemes],
            "visemes": performance.visemes,
            "words": [{"text": w.text, "start_s": round(w.start_s, 4), "end_s": round(w.end_s, 4)}
                      for w in speech.words],
            "emotions": [{"label": label.label, "intensity": round(label.intensity, 3),
                          "start_s": 0.0, "end_s": round(speech.duration_s, 4)}],
        },
        avatar={"name": avatar.name, "model": avatar.model_id, "consent": avatar.consent},
        subtitles_srt=subtitles_srt(speech),
        extra={"speech_engine": speech.engine, "blinks_s": performance.blinks_s, "seed": seed,
               "emotion": emotion_record},
        layers={layer: dict(zip(performance.blendshape_names, weights.T))
                for layer, weights in performance.layers.items()},
    )
    write_take(take, out)
    write_cues(out, performance.visemes, duration_s=speech.duration_s)
    return take


def _with_rest(speech: Speech, *, before_s: float = REST_BEFORE_S,
               after_s: float = REST_AFTER_S) -> Speech:
    """Silence around generated speech: the face rests, anticipates the first sound, lets its
    emotion rise before the words and settle after them."""
    pad = [np.zeros(int(round(t * speech.sample_rate)), np.int16) for t in (before_s, after_s)]
    shift = pad[0].size / speech.sample_rate
    return Speech(audio=np.concatenate([pad[0], speech.audio, pad[1]]),
                  sample_rate=speech.sample_rate, language=speech.language, text=speech.text,
                  phonemes=[Phoneme(p.symbol, p.start_s + shift, p.end_s + shift)
                            for p in speech.phonemes],
                  words=[Word(w.text, w.start_s + shift, w.end_s + shift) for w in speech.words],
                  engine=speech.engine)


def _emotion(text: str, language: str, emotion: str, intensity: float, *,
             recording: Speech | None = None, voice_model: VoiceEmotionModel | None = None
             ) -> tuple[EmotionLabel, dict]:
    """The line's emotion and a record of how it was chosen (for the take's extra)."""
    if emotion != "auto":
        if emotion not in EMOTIONS:
            raise InputError(f"Unknown emotion {emotion!r}.",
                             f"Choose one of: auto, {', '.join(EMOTIONS)}.")
        if not 0.0 <= intensity <= 1.0:
            raise InputError(f"Emotion intensity {intensity} is outside 0..1.",
                             "Use a value such as 0.3 (subtle) to 0.9 (strong).")
        return EmotionLabel(emotion, intensity), {"rule": "fixed: chosen by the user"}
    from_text = classify(text, language=language)
    text_record = {"label": from_text.label, "intensity": round(from_text.intensity, 3)}
    if recording is None:
        return from_text, {"rule": "the text decides (no recording)", "text": text_record}
    try:
        voice = voice_emotion(recording.audio, recording.sample_rate, model=voice_model)
    except NoSpeechError:
        log.warning("The voice's emotion could not be read (too little voiced speech); the "
                    "emotion comes from the words alone.")
        return from_text, {"rule": "the text decides (too little voice to read)",
                           "text": text_record}
    combined = combine(from_text, voice)
    return combined.label, combined.summary()


def subtitles_srt(speech: Speech, *, max_chars: int = 42) -> str:
    """SubRip subtitles: the words grouped into lines of at most ``max_chars`` characters."""
    joiner = "" if speech.language == "zh" else " "
    cues, current = [], []
    for word in speech.words:
        if current and len(joiner.join(w.text for w in current + [word])) > max_chars:
            cues.append(current)
            current = []
        current.append(word)
    if current:
        cues.append(current)
    if not cues:
        return ""
    lines = []
    for i, cue in enumerate(cues, 1):
        lines += [str(i), f"{_srt_time(cue[0].start_s)} --> {_srt_time(cue[-1].end_s)}",
                  joiner.join(w.text for w in cue), ""]
    return "\n".join(lines)


def _srt_time(seconds: float) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
