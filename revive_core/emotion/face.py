"""The emotion a face shows, from its ARKit blendshape weights, by FACS prototypes.

An avatar records each photo's fitted expression (``provenance["fit"][i]["expression"]``, a
``{ARKit name: weight}`` mapping, weights 0..1). Each ARKit blendshape is close to one facial
action unit (AU) of the Facial Action Coding System; an emotion is a prototype of AUs shown
together (Ekman & Friesen's EMFACS):

    emotion    action units                          ARKit blendshapes
    joy        AU6 + AU12                            cheekSquint*, mouthSmile*
    sadness    AU1 + AU4 + AU15                      browInnerUp, browDown*, mouthFrown*
    surprise   AU1 + AU2 + AU5 + AU26                browInnerUp, browOuterUp*, eyeWide*, jawOpen
    fear       AU1 + AU2 + AU4 + AU5 + AU20 + AU26   ... + browDown*, mouthStretch*
    anger      AU4 + AU5/AU7 + AU23                  browDown*, eyeWide*/eyeSquint*, mouthPress*
    disgust    AU9 + AU10                            noseSneer*, mouthUpperUp*

An AU's activation is the mean of its left and right blendshapes (or the one unpaired one).
An emotion's score is the weighted mean of its AUs' activations (``PROTOTYPES``), but only
when its key AUs (the first of each prototype, e.g. AU12 for joy, AU15 for sadness) reach
``KEY_MIN``: a frown is needed for sadness, lowered brows alone are not anger. The highest
score wins when it reaches ``MIN_SCORE``; otherwise the face is neutral. The intensity is
the score, scaled so that a score of ``FULL_SCORE`` or more is 1.

Limits: a photo is one instant; a polite smile and a happy one look alike (AU6 tells them
apart only in part), and a face fitted to landmarks of a photo carries the fit's own bias
(brows read slightly lowered on many neutral faces, for instance), which is why the
thresholds ask for a clear, combined signal.

Functions
    face_emotion        {ARKit name: weight} -> EmotionLabel
    explain_face        the same with each emotion's score and the blendshapes it came from
    face_emotion_record the reading as an avatar records it (JSON-ready)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from revive_core.emotion.classify import EmotionLabel
from revive_core.emotion.lexicon import EMOTIONS
from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES

__all__ = ["ACTION_UNITS", "FaceReading", "PROTOTYPES", "explain_face", "face_emotion",
           "face_emotion_record"]

# Action units and the ARKit blendshapes that make them.
ACTION_UNITS: dict[str, tuple[str, ...]] = {
    "AU1 inner brow raiser": ("browInnerUp",),
    "AU2 outer brow raiser": ("browOuterUpLeft", "browOuterUpRight"),
    "AU4 brow lowerer": ("browDownLeft", "browDownRight"),
    "AU5 upper lid raiser": ("eyeWideLeft", "eyeWideRight"),
    "AU6 cheek raiser": ("cheekSquintLeft", "cheekSquintRight"),
    "AU7 lid tightener": ("eyeSquintLeft", "eyeSquintRight"),
    "AU9 nose wrinkler": ("noseSneerLeft", "noseSneerRight"),
    "AU10 upper lip raiser": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "AU12 lip corner puller": ("mouthSmileLeft", "mouthSmileRight"),
    "AU15 lip corner depressor": ("mouthFrownLeft", "mouthFrownRight"),
    "AU20 lip stretcher": ("mouthStretchLeft", "mouthStretchRight"),
    "AU23 lip tightener": ("mouthPressLeft", "mouthPressRight"),
    "AU26 jaw drop": ("jawOpen",),
}
# Each emotion: its key action units (all needed) and the weight of every action unit.
PROTOTYPES: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "joy": (("AU12",), {"AU12": 0.7, "AU6": 0.3}),
    "sadness": (("AU15",), {"AU15": 0.45, "AU1": 0.3, "AU4": 0.25}),
    "surprise": (("AU26", "AU1"), {"AU1": 0.25, "AU2": 0.25, "AU5": 0.25, "AU26": 0.25}),
    "fear": (("AU20", "AU1"), {"AU1": 0.15, "AU2": 0.1, "AU4": 0.15, "AU5": 0.2, "AU20": 0.25,
                               "AU26": 0.15}),
    "anger": (("AU4", "AU23"), {"AU4": 0.35, "AU5": 0.1, "AU7": 0.2, "AU23": 0.35}),
    "disgust": (("AU9",), {"AU9": 0.6, "AU10": 0.4}),
}
KEY_MIN = 0.3  # each key action unit must be at least this active
MIN_SCORE = 0.4  # a weaker best score is a neutral face
FULL_SCORE = 0.8  # this score or more is intensity 1


@dataclass(frozen=True)
class FaceReading:
    """A face's emotion with the evidence behind it.

    Attributes
    ----------
    label : EmotionLabel
    scores : dict of str to float
        Each emotion of :data:`PROTOTYPES` and its score 0..1 (0 when a key unit is missing).
    top_blendshapes : tuple of (str, float)
        The blendshapes of the winning emotion's action units, strongest first (for neutral,
        the strongest blendshapes of the face).
    """

    label: EmotionLabel
    scores: dict[str, float]
    top_blendshapes: tuple[tuple[str, float], ...]


def face_emotion(expression: Mapping[str, float]) -> EmotionLabel:
    """The emotion shown by a face's ARKit blendshape weights.

    Parameters
    ----------
    expression : mapping of str to float
        ARKit blendshape names and their weights 0..1; missing names count as 0 and names that
        are not ARKit's are ignored (a face model may have a few extra shapes).

    Returns
    -------
    EmotionLabel

    Examples
    --------
    >>> face_emotion({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.7, "cheekSquintLeft": 0.4})
    EmotionLabel(label='joy', intensity=0.7312)
    >>> face_emotion({"browDownLeft": 0.6, "browDownRight": 0.5}).label
    'neutral'
    """
    return explain_face(expression).label


def explain_face(expression: Mapping[str, float], *, top: int = 3) -> FaceReading:
    """:func:`face_emotion` with every emotion's score and the ``top`` blendshapes behind it."""
    weights = _checked(expression)
    units = {name.split()[0]: sum(weights.get(s, 0.0) for s in shapes) / len(shapes)
             for name, shapes in ACTION_UNITS.items()}
    scores = {}
    for emotion, (keys, mix) in PROTOTYPES.items():
        if emotion not in EMOTIONS:
            continue
        complete = all(units[k] >= KEY_MIN for k in keys)
        scores[emotion] = round(sum(w * units[u] for u, w in mix.items()), 4) if complete else 0.0
    best = max(scores, key=scores.get)
    if scores[best] < MIN_SCORE:
        strongest = sorted(weights.items(), key=lambda kv: -kv[1])[:top]
        return FaceReading(EmotionLabel("neutral", 0.0), scores,
                           tuple((n, round(w, 3)) for n, w in strongest if w > 0))
    shapes = {s for unit in PROTOTYPES[best][1] for s in _shapes_of(unit)}
    evidence = sorted(((s, weights.get(s, 0.0)) for s in shapes), key=lambda kv: -kv[1])
    return FaceReading(EmotionLabel(best, round(min(scores[best] / FULL_SCORE, 1.0), 4)), scores,
                       tuple((n, round(w, 3)) for n, w in evidence[:top] if w > 0))


def face_emotion_record(expression: Mapping[str, float]) -> dict:
    """``{"label", "intensity", "from": [[blendshape, weight], ...]}``: the emotion of a face's
    expression and the blendshapes it came from, strongest first (as an avatar records it)."""
    reading = explain_face(expression)
    return {"label": reading.label.label, "intensity": reading.label.intensity,
            "from": [[name, weight] for name, weight in reading.top_blendshapes]}


def _shapes_of(unit: str) -> tuple[str, ...]:
    return next(shapes for name, shapes in ACTION_UNITS.items() if name.split()[0] == unit)


def _checked(expression: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(expression, Mapping):
        raise InputError(f"A face's expression must map ARKit names to weights, got "
                         f"{type(expression).__name__}.")
    weights = {}
    for name, weight in expression.items():
        if name not in ARKIT_BLENDSHAPES:
            continue
        if not (isinstance(weight, (int, float)) and -0.01 <= weight <= 1.01):
            raise InputError(f"Blendshape {name} has weight {weight!r}; weights are 0..1.")
        weights[name] = min(max(float(weight), 0.0), 1.0)
    return weights
