"""One emotion from what was said (the text) and how it was said (the voice).

The rule, in order:

1. The text decides the emotion when it is confident: not neutral, with an intensity of at
   least ``TEXT_DECIDES_AT``. The voice's arousal then scales the intensity: it is multiplied
   by ``1 + AROUSAL_GAIN * arousal`` (x0.5 for a flat, subdued voice, x1.5 for a stirred one),
   kept within 0.05..1. Words are the surer guide to *which* emotion; the voice tells how
   strongly it is felt.
2. Otherwise, when the voice reads an emotion, the voice decides (label and intensity): a
   neutral or unsure text says little, the voice says more.
3. Otherwise a weak emotion of the text is kept, scaled by the arousal as in 1.
4. Otherwise the line is neutral.

Functions
    combine     text label + voice reading -> :class:`CombinedEmotion`
"""
from __future__ import annotations

from dataclasses import dataclass

from revive_core.emotion.classify import EmotionLabel
from revive_core.emotion.voice import VoiceEmotion

__all__ = ["AROUSAL_GAIN", "CombinedEmotion", "TEXT_DECIDES_AT", "combine"]

TEXT_DECIDES_AT = 0.3
AROUSAL_GAIN = 0.5
MIN_INTENSITY = 0.05


@dataclass(frozen=True)
class CombinedEmotion:
    """The line's emotion, which rule chose it, and the two readings it came from."""

    label: EmotionLabel
    rule: str  # plain words, for reports and the take's record
    text: EmotionLabel | None
    voice: VoiceEmotion

    def summary(self) -> dict:
        """A JSON-ready record (as kept in a take's ``extra["emotion"]``)."""
        return {"label": self.label.label, "intensity": round(self.label.intensity, 3),
                "rule": self.rule,
                "text": None if self.text is None else
                {"label": self.text.label, "intensity": round(self.text.intensity, 3)},
                "voice": self.voice.summary()}


def combine(text: EmotionLabel | None, voice: VoiceEmotion) -> CombinedEmotion:
    """Combine the text's emotion with the voice's (see the module's docstring for the rule).

    Parameters
    ----------
    text : EmotionLabel or None
        The emotion of the words (None when there are none).
    voice : VoiceEmotion
        The reading of the recording.

    Returns
    -------
    CombinedEmotion

    Examples
    --------
    >>> from revive_core.emotion.prosody import Prosody
    >>> calm = Prosody(*([1.0] * 12))
    >>> stirred = VoiceEmotion(EmotionLabel("neutral", 0.0), arousal=0.8, valence=0.0,
    ...                        prosody=calm)
    >>> combine(EmotionLabel("joy", 0.5), stirred).label
    EmotionLabel(label='joy', intensity=0.7)
    """
    if text is not None and text.label != "neutral" and text.intensity >= TEXT_DECIDES_AT:
        return CombinedEmotion(_scaled(text, voice.arousal), "the text decides the emotion; "
                               "the voice's arousal scales its intensity", text, voice)
    if voice.label.label != "neutral":
        why = "there are no words" if text is None else (
            "the text is neutral" if text.label == "neutral" else "the text is unsure")
        return CombinedEmotion(voice.label, f"{why}, so the voice decides", text, voice)
    if text is not None and text.label != "neutral":
        return CombinedEmotion(_scaled(text, voice.arousal), "the text's weak emotion is kept; "
                               "the voice is neutral", text, voice)
    why = "the voice is neutral and there are no words" if text is None else \
        "text and voice are both neutral"
    return CombinedEmotion(EmotionLabel("neutral", 0.0), why, text, voice)


def _scaled(label: EmotionLabel, arousal: float) -> EmotionLabel:
    intensity = label.intensity * (1.0 + AROUSAL_GAIN * arousal)
    return EmotionLabel(label.label, round(min(max(intensity, MIN_INTENSITY), 1.0), 4))
