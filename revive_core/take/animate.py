"""Turn timed speech into a facial performance: ARKit blendshape curves, head rotation and gaze.

Layers, from the bottom up, all sampled at the frame times ``i / fps``:

1. Mouth: each phoneme maps to one of the 15 Oculus visemes, each viseme to target weights of
   ARKit mouth shapes (table below). Targets are blended with a dominance model of
   coarticulation (Cohen & Massaro 1993): segment ``s`` has dominance
   ``D_s(t) = alpha_s * exp(-theta_s * d_s(t))`` where ``d_s`` is the distance in seconds from
   ``t`` to the segment (0 inside it), and the mouth is ``sum(D_s T_s) / sum(D_s)``. Gaps and
   pauses are ``sil`` segments (the rest pose), so the mouth leaves rest some 60-100 ms before
   the first sound (anticipation) and returns after the last. Lip closures (``PP``) and lip-teeth
   contacts (``FF``) have a high alpha and a steep theta: they win inside their segment without
   reaching far, and they are widened to half a frame each side so no closure falls between
   two frames.
2. Jaw: the blended viseme ``jawOpen`` is scaled by the loudness of the audio,
   ``jawOpen *= 0.6 + 0.6 * loudness`` (loudness: 0..1, smoothed RMS in dB, 30 dB range), and
   closed further wherever ``mouthClose`` is high.
3. Emotion: facial action units (FACS) of the label, scaled by its intensity and by an envelope
   that ramps in 0.3 s before the speech and out 0.3 s after it, added on top of the mouth.
   Where the lips are closed their mouth-opening shapes are suppressed; where they are rounded
   the smile is halved. With the person's own expression range (the avatar's
   ``extra.expression_range``: each shape's highest weight in the photos and video frames it
   was built from) each shape the person was seen making (at least ``RANGE_SHOWN``) is scaled by
   how far they went over the table's strongest weight for it, within ``RANGE_GAIN``: a
   person who smiles wide gets a wider smile of joy. Left and right count together (the larger).
4. Blinks: about 17 a minute, gamma-distributed intervals (shape 3, mean 3.4 s, at least 0.6 s
   apart), drawn toward pauses of the speech; each 150-250 ms, closing in 35 % of it and opening
   in the rest, both eyes together, the fully closed moment on a frame.
5. Head and gaze: nods of 1-3 degrees on loudness peaks (syllable stress), the head raised a
   little with the voice's pitch, slow seeded drift of about a degree, an emotion's posture,
   and at rest breathing (12-18 breaths a minute, the head lifting 0.6 degrees as it breathes
   in); eye saccades every 0.5-2 s, partly counter-rotating the head to keep eye contact.

Viseme -> ARKit weights (L/R: both ``...Left`` and ``...Right``)

=======  =====================  ============================================================
viseme   phonemes (IPA)         ARKit weights
=======  =====================  ============================================================
sil      pause                  rest (all 0)
PP       p b m                  mouthClose .9, mouthPress L/R .4, jawOpen .05
FF       f v                    mouthRollLower .6, mouthUpperUp L/R .3, jawOpen .1
TH       θ ð                    tongueOut .3, mouthStretch L/R .1, jawOpen .15
DD       t d ɾ                  mouthLowerDown L/R .15, jawOpen .15
kk       k g ŋ x h ʔ            mouthStretch L/R .1, mouthLowerDown L/R .1, jawOpen .22
CH       tʃ dʒ ʃ ʒ tɕ ɕ tʂ ʂ    mouthFunnel .4, mouthPucker .2, mouthShrugUpper .2, jawOpen .15
SS       s z ts dz              mouthStretch L/R .3, mouthSmile L/R .1, jawOpen .08
nn       n l ɲ ɳ                mouthLowerDown L/R .15, jawOpen .15
RR       r ɹ ɻ ʐ ɚ              mouthFunnel .3, mouthPucker .3, jawOpen .15
aa       a ɑ æ ʌ ɐ              mouthLowerDown L/R .2, mouthStretch L/R .1, jawOpen .6
E        e ɛ ə ɜ ɤ              mouthStretch L/R .3, mouthLowerDown L/R .15, jawOpen .3
ih       i ɪ ɨ ɯ j              mouthSmile L/R .15, mouthStretch L/R .2, jawOpen .2
oh       o ɔ ɵ œ                mouthFunnel .55, mouthPucker .2, jawOpen .35
ou       u ʊ y ø w ɥ            mouthPucker .75, mouthFunnel .35, jawOpen .12
=======  =====================  ============================================================

Dominance (alpha, theta in 1/s): PP (5, 50), FF (3, 40), TH (2, 25), CH (2, 20), SS (1.5, 20),
RR (1.2, 15), DD and nn (0.8, 15), kk (0.5, 15), vowels (1, 12), rounded oh/ou (1.2, 10),
sil (1, 12).

Emotion -> action units -> ARKit weights at intensity 1

========  =====================  ===========================================================
emotion   action units           ARKit weights
========  =====================  ===========================================================
joy       AU6 AU12               cheekSquint L/R .6, eyeSquint L/R .3, mouthSmile L/R .7
sadness   AU1 AU4 AU15           browInnerUp .7, browDown L/R .3, mouthFrown L/R .5
anger     AU4 AU5 AU7 AU23       browDown L/R .8, eyeWide L/R .3, eyeSquint L/R .4,
                                 mouthPress L/R .5
fear      AU1 AU2 AU4 AU5 AU20   browInnerUp .7, browOuterUp L/R .5, browDown L/R .3,
                                 eyeWide L/R .6, mouthStretch L/R .5
surprise  AU1 AU2 AU5 AU26       browInnerUp .8, browOuterUp L/R .8, eyeWide L/R .7, jawOpen .2
disgust   AU9 AU15 AU16 (AU10)   noseSneer L/R .7, mouthUpperUp L/R .3, mouthFrown L/R .4,
                                 mouthLowerDown L/R .3
neutral   none                   nothing
========  =====================  ===========================================================

Emotion posture of the head (degrees, pitch/yaw/roll, at intensity 1): joy (-1.5, 0, 1.5),
sadness (4, 0, -1), anger (2, 0, 0), fear (1, 0, 0), surprise (-3, 0, 0), disgust (-1, 2, 0).

Axes: head rotation ``[pitch, yaw, roll]`` in degrees about the core's +X, +Y, +Z axes (right
handed, +Y up, the face looking toward +Z): positive pitch tips the face down (a nod), positive
yaw turns it toward +X (the avatar's left), positive roll tilts it toward its right shoulder.
Gaze ``[yaw, pitch]`` is the eyes' rotation relative to the head, with the same signs.

Functions
    phoneme_to_viseme   one phoneme symbol -> viseme
    viseme_segments     phonemes -> merged viseme runs with times
    animate             Speech -> Performance
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from revive_core.emotion.classify import EMOTIONS, EmotionLabel
from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.formats.take import MAX_FRAMES
from revive_core.voice.timing import Phoneme, Speech

__all__ = ["VISEMES", "VISEME_TARGETS", "EMOTION_TARGETS", "Performance", "phoneme_to_viseme",
           "viseme_segments", "animate", "range_gains"]

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa",
                            "E", "ih", "oh", "ou")


def _lr(name: str, weight: float) -> dict[str, float]:
    return {f"{name}Left": weight, f"{name}Right": weight}


VISEME_TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jawOpen": 0.05, "mouthClose": 0.9, **_lr("mouthPress", 0.4)},
    "FF": {"jawOpen": 0.1, "mouthRollLower": 0.6, **_lr("mouthUpperUp", 0.3)},
    "TH": {"jawOpen": 0.15, "tongueOut": 0.3, **_lr("mouthStretch", 0.1)},
    "DD": {"jawOpen": 0.15, **_lr("mouthLowerDown", 0.15)},
    "kk": {"jawOpen": 0.22, **_lr("mouthStretch", 0.1), **_lr("mouthLowerDown", 0.1)},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.4, "mouthPucker": 0.2, "mouthShrugUpper": 0.2},
    "SS": {"jawOpen": 0.08, **_lr("mouthStretch", 0.3), **_lr("mouthSmile", 0.1)},
    "nn": {"jawOpen": 0.15, **_lr("mouthLowerDown", 0.15)},
    "RR": {"jawOpen": 0.15, "mouthFunnel": 0.3, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.6, **_lr("mouthLowerDown", 0.2), **_lr("mouthStretch", 0.1)},
    "E": {"jawOpen": 0.3, **_lr("mouthStretch", 0.3), **_lr("mouthLowerDown", 0.15)},
    "ih": {"jawOpen": 0.2, **_lr("mouthSmile", 0.15), **_lr("mouthStretch", 0.2)},
    "oh": {"jawOpen": 0.35, "mouthFunnel": 0.55, "mouthPucker": 0.2},
    "ou": {"jawOpen": 0.12, "mouthPucker": 0.75, "mouthFunnel": 0.35},
}

# (alpha, theta [1/s]) of the dominance function alpha * exp(-theta * distance_s)
DOMINANCE: dict[str, tuple[float, float]] = {
    "sil": (1.0, 12.0), "PP": (5.0, 50.0), "FF": (3.0, 40.0), "TH": (2.0, 25.0),
    "DD": (0.8, 15.0), "kk": (0.5, 15.0), "CH": (2.0, 20.0), "SS": (1.5, 20.0),
    "nn": (0.8, 15.0), "RR": (1.2, 15.0), "aa": (1.0, 12.0), "E": (1.0, 12.0),
    "ih": (1.0, 12.0), "oh": (1.2, 10.0), "ou": (1.2, 10.0),
}
CONTACT_VISEMES = frozenset({"PP", "FF"})  # widened to at least one frame
DOMINANCE_REACH_S = 0.6  # beyond this a segment's dominance is treated as 0
MIN_GAP_S = 0.06  # shorter gaps between phonemes are not pauses

ACTION_UNITS: dict[str, dict[str, float]] = {
    "AU1": {"browInnerUp": 1.0},
    "AU2": _lr("browOuterUp", 1.0),
    "AU4": _lr("browDown", 1.0),
    "AU5": _lr("eyeWide", 1.0),
    "AU6": {**_lr("cheekSquint", 1.0), **_lr("eyeSquint", 0.5)},
    "AU7": _lr("eyeSquint", 1.0),
    "AU9": _lr("noseSneer", 1.0),
    "AU10": _lr("mouthUpperUp", 1.0),
    "AU12": _lr("mouthSmile", 1.0),
    "AU15": _lr("mouthFrown", 1.0),
    "AU16": _lr("mouthLowerDown", 1.0),
    "AU20": _lr("mouthStretch", 1.0),
    "AU23": _lr("mouthPress", 1.0),
    "AU26": {"jawOpen": 1.0},
}
EMOTION_AUS: dict[str, dict[str, float]] = {
    "joy": {"AU6": 0.6, "AU12": 0.7},
    "sadness": {"AU1": 0.7, "AU4": 0.3, "AU15": 0.5},
    "anger": {"AU4": 0.8, "AU5": 0.3, "AU7": 0.4, "AU23": 0.5},
    "fear": {"AU1": 0.7, "AU2": 0.5, "AU4": 0.3, "AU5": 0.6, "AU20": 0.5},
    "surprise": {"AU1": 0.8, "AU2": 0.8, "AU5": 0.7, "AU26": 0.2},
    "disgust": {"AU9": 0.7, "AU10": 0.3, "AU15": 0.4, "AU16": 0.3},
    "neutral": {},
}


def _au_weights(units: dict[str, float]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for unit, strength in units.items():
        for name, w in ACTION_UNITS[unit].items():
            weights[name] = max(weights.get(name, 0.0), w * strength)
    return weights


EMOTION_TARGETS: dict[str, dict[str, float]] = {e: _au_weights(EMOTION_AUS[e]) for e in EMOTIONS}
EMOTION_HEAD_DEG: dict[str, tuple[float, float, float]] = {
    "joy": (-1.5, 0.0, 1.5), "sadness": (4.0, 0.0, -1.0), "anger": (2.0, 0.0, 0.0),
    "fear": (1.0, 0.0, 0.0), "surprise": (-3.0, 0.0, 0.0), "disgust": (-1.0, 2.0, 0.0),
    "neutral": (0.0, 0.0, 0.0),
}
EMOTION_RAMP_S = 0.3
RANGE_SHOWN = 0.15  # a shape seen at least this strongly counts as one the person made
RANGE_GAIN = (0.75, 1.5)  # the person's range scales an emotion's shape at most this much
OPENING_SHAPES = frozenset({"jawOpen", "mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight",
                            "mouthUpperUpLeft", "mouthUpperUpRight"})

JAW_FLOOR, JAW_GAIN = 0.6, 0.6  # jawOpen *= JAW_FLOOR + JAW_GAIN * loudness
LOUDNESS_RANGE_DB = 30.0
BLINK_SHAPE, BLINK_MEAN_S, BLINK_MIN_GAP_S = 3.0, 3.4, 0.6
BLINK_DURATION_S = (0.15, 0.25)
BLINK_CLOSING = 0.35  # fraction of a blink spent closing
SACCADE_INTERVAL_S = (0.5, 2.0)
BREATHS_PER_MIN, BREATH_DEG = (12.0, 18.0), 0.6
GAZE_COUNTER_ROTATION = 0.6
MAX_FPS = 240.0

BLINK_SHAPES = ("eyeBlinkLeft", "eyeBlinkRight")
_DRIVEN = set(BLINK_SHAPES).union(*VISEME_TARGETS.values(), *EMOTION_TARGETS.values())
DRIVEN_BLENDSHAPES: tuple[str, ...] = tuple(n for n in ARKIT_BLENDSHAPES if n in _DRIVEN)
_INDEX = {name: i for i, name in enumerate(ARKIT_BLENDSHAPES)}


# Phonemes -> visemes ---------------------------------------------------------------------------

_SILENCE = frozenset({"", "_", "sil", "sp", "spn", "pau", "#", "|", "||", "<sil>", "<eps>", "h#"})
_IPA: dict[str, str] = {}
for _viseme, _letters in {
    "PP": "p b m ɓ ʙ", "FF": "f v ɸ β ɱ ʋ", "TH": "θ ð", "DD": "t d ɾ ʈ ɖ ɗ ɽ",
    "kk": "k g ɡ ŋ x ɣ χ q ɢ ʔ h ɦ ħ ʕ ɰ c ɟ ɴ", "CH": "ʃ ʒ ɕ ʑ ʂ ʝ tʃ dʒ tɕ dʑ tʂ dʐ ʧ ʤ",
    "SS": "s z ts dz ʦ ʣ", "nn": "n ɲ ɳ l ɫ ɭ ʎ ɬ ɮ ʟ", "RR": "r ɹ ɻ ʀ ʁ ʐ ɺ ɚ ɝ",
    "aa": "a ɑ ɒ æ ʌ ɐ ɶ", "E": "e ɛ ə ɘ ɜ ɞ ɤ", "ih": "i ɪ ɨ ᵻ ɯ ɿ ʅ j",
    "oh": "o ɔ ɵ œ", "ou": "u ʊ y ʏ ø ɷ w ɥ ʍ",
}.items():
    _IPA.update(dict.fromkeys(_letters.split(), _viseme))
_VOWEL_OPENNESS = {"aa": 4, "E": 3, "oh": 3, "RR": 2, "ih": 1, "ou": 1}
_VOWELS = frozenset("aɑɒæʌɐɶeɛəɘɜɞɤiɪɨᵻɯɿʅoɔɵœuʊyʏøɷɚɝ")
# Spellings some engines use: ARPAbet-like lower case for English, pinyin initials for Chinese.
_LANGUAGE_IPA: dict[str, dict[str, str]] = {
    "en": {"th": "TH", "dh": "TH", "sh": "CH", "ch": "CH", "zh": "CH", "jh": "CH", "ng": "kk",
           "hh": "kk", "er": "RR"},
    "zh": {"zh": "CH", "ch": "CH", "sh": "CH", "c": "SS", "q": "CH", "r": "RR", "er": "RR",
           "ng": "kk"},
}
# espeak-ng writes retroflex consonants and the apical vowel with a dot ("ts.", "s.", "i.")
_ESPEAK_DOTS = (("ts.", "tʂ"), ("dz.", "dʐ"), ("s.", "ʂ"), ("z.", "ʐ"), ("t.", "ʈ"), ("d.", "ɖ"),
                ("n.", "ɳ"), ("l.", "ɭ"), ("r.", "ɻ"), ("i.", "ɨ"))
_ARPABET: dict[str, str] = {
    "AA": "aa", "AE": "aa", "AH": "aa", "AO": "oh", "AW": "aa", "AY": "aa", "B": "PP",
    "CH": "CH", "D": "DD", "DH": "TH", "EH": "E", "ER": "RR", "EY": "E", "F": "FF", "G": "kk",
    "HH": "kk", "IH": "ih", "IY": "ih", "JH": "CH", "K": "kk", "L": "nn", "M": "PP", "N": "nn",
    "NG": "kk", "OW": "oh", "OY": "oh", "P": "PP", "R": "RR", "S": "SS", "SH": "CH", "T": "DD",
    "TH": "TH", "UH": "ou", "UW": "ou", "V": "FF", "W": "ou", "Y": "ih", "Z": "SS", "ZH": "CH",
    "SIL": "sil", "SP": "sil", "SPN": "sil",
}
_ARPABET_SYMBOL = re.compile(r"([A-Z]{1,3})([0-2]?)")
FALLBACK_VISEME = "E"


def phoneme_to_viseme(symbol: str, language: str = "en") -> str:
    """The viseme of one phoneme symbol.

    Parameters
    ----------
    symbol : str
        IPA, as espeak-ng and most aligners write it; stress (``ˈ ˌ``), length (``ː``), tone
        letters and digits, diacritics and aspiration (``ʰ``, a trailing ``h``) are ignored.
        espeak-ng's dotted retroflex names (``ts.``, ``s.``, ``i.``) and ARPAbet (``AA1``, ``M``)
        are understood too. A symbol holding several vowels (``aɪ``, ``iɑ``) takes its most
        open vowel.
    language : str
        ``"en"`` or ``"zh"``; only used for the few non-IPA spellings each language's tools use
        (``"th"`` is θ in English, an aspirated t in Chinese).

    Returns
    -------
    str
        One of :data:`VISEMES`; ``"sil"`` for pauses, ``"E"`` (mid-open) for unknown symbols.

    Examples
    --------
    >>> phoneme_to_viseme("m", "en"), phoneme_to_viseme("oʊ", "en"), phoneme_to_viseme("tɕh", "zh")
    ('PP', 'oh', 'CH')
    """
    raw = str(symbol).strip()
    if raw.lower() in _SILENCE:
        return "sil"
    arpabet = _ARPABET_SYMBOL.fullmatch(raw)
    if arpabet and arpabet.group(1) in _ARPABET:
        if arpabet.group(1) == "AH" and arpabet.group(2) == "0":
            return "E"  # unstressed AH is a schwa
        return _ARPABET[arpabet.group(1)]
    base = _base_letters(raw)
    if not base:
        return "sil"
    table = {**_IPA, **_LANGUAGE_IPA.get(language, {})}
    if base in table:
        return table[base]
    if len(base) > 1 and base.endswith("h") and base[:-1] in table:
        return table[base[:-1]]  # aspirated stop written with h (espeak-ng's "ph", "tɕh")
    vowels = [table[ch] for ch in base if ch in _VOWELS]
    if vowels:
        return max(vowels, key=lambda v: _VOWEL_OPENNESS[v])
    for ch in base:
        if ch in table:
            return table[ch]
    return FALLBACK_VISEME


def _base_letters(symbol: str) -> str:
    for dotted, ipa in _ESPEAK_DOTS:
        symbol = symbol.replace(dotted, ipa)
    symbol = symbol.replace("ç", "ʃ")  # keep the palatal fricative apart from c when decomposing
    letters = (ch for ch in unicodedata.normalize("NFD", symbol)
               if unicodedata.category(ch) in ("Ll", "Lu", "Lo"))
    return "".join(letters).lower()


def viseme_segments(phonemes: Iterable[Phoneme], *, language: str = "en") -> list[dict]:
    """Phonemes -> visemes, touching runs of the same viseme merged.

    Parameters
    ----------
    phonemes : iterable of Phoneme
        In time order, times in seconds.
    language : str
        Passed to :func:`phoneme_to_viseme`.

    Returns
    -------
    list of dict
        ``{"viseme": str, "start_s": float, "end_s": float}`` in time order. Pauses given as
        phonemes (``"_"``) are ``sil`` segments; gaps between phonemes are left out.
    """
    segments: list[dict] = []
    for p in sorted(phonemes, key=lambda p: (p.start_s, p.end_s)):
        viseme = phoneme_to_viseme(p.symbol, language)
        last = segments[-1] if segments else None
        if last and last["viseme"] == viseme and abs(p.start_s - last["end_s"]) < 1e-6:
            last["end_s"] = max(last["end_s"], float(p.end_s))
        else:
            segments.append({"viseme": viseme, "start_s": float(p.start_s),
                             "end_s": float(p.end_s)})
    return segments


# The performance -------------------------------------------------------------------------------

@dataclass
class Performance:
    """A face's performance of one spoken line, one row per frame at ``i / fps`` seconds.

    The timeline starts ``lead_in_s`` before the audio: the audio's sample 0 plays at frame time
    ``lead_in_s``. Times in ``visemes`` and ``blinks_s`` are on this timeline.
    """

    fps: float
    blendshape_names: list[str]
    blendshapes: np.ndarray  # (N, K) float32 weights 0..1, columns as blendshape_names
    head_rotation_deg: np.ndarray  # (N, 3) float32 pitch, yaw, roll in degrees
    gaze_deg: np.ndarray  # (N, 2) float32 yaw, pitch in degrees, relative to the head
    visemes: list[dict] = field(default_factory=list)  # {"viseme", "start_s", "end_s"}
    blinks_s: list[float] = field(default_factory=list)  # when each blink starts to close
    lead_in_s: float = 0.0
    # The same weights split by layer ("mouth", "emotion", "blinks"), each (N, K) like
    # ``blendshapes``: their sum, clipped to 0..1, is ``blendshapes``.
    layers: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        return int(self.blendshapes.shape[0])

    def curve(self, name: str) -> np.ndarray:
        """(N,) weights of one blendshape; zeros when it is not driven."""
        if name not in self.blendshape_names:
            return np.zeros(self.frame_count, dtype=np.float32)
        return self.blendshapes[:, self.blendshape_names.index(name)]


def animate(speech: Speech, *, fps: float = 25.0, emotion: EmotionLabel | None = None,
            available: Sequence[str] = ARKIT_BLENDSHAPES, seed: int = 0,
            lead_in_s: float = 0.0,
            expression_range: Mapping[str, float] | None = None) -> Performance:
    """Animate a face speaking ``speech``.

    Parameters
    ----------
    speech : Speech
        Audio (int16 mono, or float in -1..1) and its phonemes with times in seconds.
    fps : float
        Frames per second, 0 < fps <= 240.
    emotion : EmotionLabel or None
        The line's emotion, layered on the whole speech; None or ``neutral`` adds nothing.
    available : sequence of str
        Blendshape names the avatar has; only those get columns.
    seed : int
        Seeds blinks, head drift, nods and gaze; the same seed gives the same performance.
    lead_in_s : float
        Seconds of rest before the audio starts (the caller plays the audio that late), giving
        the face time to anticipate a sound at the very start of the audio.
    expression_range : mapping of str to float, or None
        The person's own range (the avatar's ``extra["expression_range"]``: blendshape name ->
        highest weight seen); scales the emotion's shapes (see :func:`range_gains`). None: the
        table's weights as they are.

    Returns
    -------
    Performance
        ``N = max(1, ceil((lead_in_s + speech.duration_s) * fps))`` frames. Columns are the names
        of :data:`ARKIT_BLENDSHAPES` (in that order) that are both driven here and available.

    Examples
    --------
    >>> import numpy as np
    >>> from revive_core.voice.timing import Phoneme, Speech
    >>> speech = Speech(np.zeros(16000, np.int16), 16000, "en", "ma",
    ...                 [Phoneme("m", 0.3, 0.4), Phoneme("a", 0.4, 0.7)])
    >>> animate(speech).blendshapes.shape[0]
    25
    """
    audio, rate = _check_speech(speech)
    fps, lead_in_s = _check_options(fps, lead_in_s, emotion)
    duration = audio.shape[0] / rate
    n = max(1, math.ceil((lead_in_s + duration) * fps - 1e-9))
    if n > MAX_FRAMES:
        raise InputError(f"{n} frames is more than a take may hold ({MAX_FRAMES}).",
                         "Split the line into shorter takes or lower the fps.")
    times = np.arange(n) / fps
    end_s = max(n / fps, lead_in_s + duration)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4)]

    loudness, f0_hz = _audio_features(audio, rate, times - lead_in_s, fps)
    phonemes = [Phoneme(p.symbol, p.start_s + lead_in_s, p.end_s + lead_in_s)
                for p in speech.phonemes]
    visemes = viseme_segments(phonemes, language=speech.language)
    segments = _with_pauses(visemes, end_s)
    spoken = [s for s in visemes if s["viseme"] != "sil"]
    if spoken:
        speech_span = (spoken[0]["start_s"], max(s["end_s"] for s in spoken))
    else:
        speech_span = _loud_span(times, loudness, end_s)

    # Mouth and jaw
    weights = np.zeros((n, len(ARKIT_BLENDSHAPES)))
    if spoken:
        weights += _coarticulate(segments, times, fps)
        weights[:, _INDEX["jawOpen"]] *= JAW_FLOOR + JAW_GAIN * loudness
    else:
        weights[:, _INDEX["jawOpen"]] = 0.35 * loudness  # unaligned audio: the jaw follows it
    closed = np.clip((weights[:, _INDEX["mouthClose"]] - 0.2) / 0.3, 0.0, 1.0)
    weights[:, _INDEX["jawOpen"]] *= 1.0 - 0.85 * closed
    mouth = weights.copy()

    # Emotion
    envelope = _emotion_envelope(times, speech_span)
    if emotion is not None and emotion.label != "neutral":
        weights += _emotion_layer(emotion, envelope, weights, closed,
                                  range_gains(expression_range or {}))
    with_emotion = weights.copy()

    # Blinks
    pauses = [(s["start_s"], s["end_s"]) for s in segments if s["viseme"] == "sil"]
    blinks_s, blink = _blinks(rngs[0], times, fps, end_s, pauses)
    for name in BLINK_SHAPES:
        weights[:, _INDEX[name]] = np.maximum(weights[:, _INDEX[name]], blink)
    for name in ("eyeWideLeft", "eyeWideRight"):
        weights[:, _INDEX[name]] *= 1.0 - blink

    head = _head_motion(rngs[1], rngs[2], times, fps, loudness, f0_hz, envelope, emotion,
                        speech_span)
    gaze = _gaze(rngs[3], times, head)

    wanted = set(available)
    columns = [i for i, name in enumerate(ARKIT_BLENDSHAPES)
               if name in DRIVEN_BLENDSHAPES and name in wanted]
    return Performance(
        fps=fps, blendshape_names=[ARKIT_BLENDSHAPES[i] for i in columns],
        blendshapes=np.clip(weights[:, columns], 0.0, 1.0).astype(np.float32),
        head_rotation_deg=head.astype(np.float32), gaze_deg=gaze.astype(np.float32),
        visemes=visemes, blinks_s=blinks_s, lead_in_s=lead_in_s,
        layers={name: layer[:, columns].astype(np.float32) for name, layer in (
            ("mouth", mouth), ("emotion", with_emotion - mouth), ("blinks", weights - with_emotion))})


def _check_speech(speech: Speech) -> tuple[np.ndarray, int]:
    audio = np.asarray(speech.audio)
    if audio.ndim != 1 or audio.shape[0] == 0:
        raise InputError(f"speech audio must be mono samples (S,), found shape {audio.shape}.",
                         "Give the speech stage's audio, or mix a recording down to mono.")
    rate = int(speech.sample_rate)
    if rate <= 0:
        raise InputError(f"sample_rate={speech.sample_rate} must be a positive integer.")
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float64) / float(np.iinfo(audio.dtype).max + 1)
    else:
        audio = np.nan_to_num(audio.astype(np.float64))
    for p in speech.phonemes:
        if not (math.isfinite(p.start_s) and math.isfinite(p.end_s) and p.end_s >= p.start_s):
            raise InputError(f"phoneme {p.symbol!r} has bad times {p.start_s}..{p.end_s} s.",
                             "Phoneme times must be finite seconds with end >= start.")
    return audio, rate


def _check_options(fps: float, lead_in_s: float,
                   emotion: EmotionLabel | None) -> tuple[float, float]:
    if not (isinstance(fps, (int, float)) and 0.0 < fps <= MAX_FPS):
        raise InputError(f"fps={fps!r} must be a number in (0, {MAX_FPS:g}].",
                         "25 or 30 are usual.")
    if not (isinstance(lead_in_s, (int, float)) and 0.0 <= lead_in_s <= 60.0):
        raise InputError(f"lead_in_s={lead_in_s!r} must be 0 to 60 seconds.")
    if emotion is not None and not isinstance(emotion, EmotionLabel):
        raise InputError(f"emotion must be an EmotionLabel or None, got {type(emotion).__name__}.")
    return float(fps), float(lead_in_s)


# Mouth -----------------------------------------------------------------------------------------

def _with_pauses(visemes: list[dict], end_s: float) -> list[dict]:
    """Viseme segments with ``sil`` filling the gaps, the start and the end of the timeline."""
    out: list[dict] = []
    cursor = 0.0
    for s in visemes:
        if s["start_s"] - cursor >= MIN_GAP_S or (not out and s["start_s"] > cursor):
            out.append({"viseme": "sil", "start_s": cursor, "end_s": s["start_s"]})
        out.append(s)
        cursor = max(cursor, s["end_s"])
    out.append({"viseme": "sil", "start_s": cursor, "end_s": max(end_s, cursor) + 1.0})
    return out


def _coarticulate(segments: list[dict], times: np.ndarray, fps: float) -> np.ndarray:
    """(N, 52) dominance-blended viseme targets at ``times`` (seconds)."""
    targets = {v: np.zeros(len(ARKIT_BLENDSHAPES)) for v in VISEMES}
    for viseme, shape in VISEME_TARGETS.items():
        for name, w in shape.items():
            targets[viseme][_INDEX[name]] = w
    numerator = np.zeros((times.shape[0], len(ARKIT_BLENDSHAPES)))
    denominator = np.full(times.shape[0], 1e-6)  # rest where nothing reaches
    for s in segments:
        alpha, theta = DOMINANCE[s["viseme"]]
        centre = 0.5 * (s["start_s"] + s["end_s"])
        half = 0.5 * (s["end_s"] - s["start_s"])
        if s["viseme"] in CONTACT_VISEMES:
            half = max(half, 0.5 / fps)
        lo, hi = np.searchsorted(times, [centre - half - DOMINANCE_REACH_S,
                                         centre + half + DOMINANCE_REACH_S])
        if lo >= hi:
            continue
        distance = np.maximum(np.abs(times[lo:hi] - centre) - half, 0.0)
        dominance = alpha * np.exp(-theta * distance)
        numerator[lo:hi] += dominance[:, None] * targets[s["viseme"]]
        denominator[lo:hi] += dominance
    return numerator / denominator[:, None]


# Audio -----------------------------------------------------------------------------------------

def _audio_features(audio: np.ndarray, rate: int, times_s: np.ndarray,
                    fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Loudness (N,) 0..1 and pitch (N,) Hz (0 where unvoiced) of 40 ms windows at ``times_s``.

    Loudness is the RMS in dB mapped so the loud end of the speech (95th percentile) is 1 and
    30 dB below it 0, then smoothed (30 ms). Pitch is the autocorrelation peak in 70-400 Hz.
    """
    n = times_s.shape[0]
    window = max(int(round(0.04 * rate)), 16)
    centres = np.round(times_s * rate).astype(np.int64)
    inside = (times_s >= 0.0) & (times_s <= audio.shape[0] / rate)
    padded = np.pad(audio, (window, window))
    rms = np.zeros(n)
    f0 = np.zeros(n)
    taper = np.hanning(window)
    size = 1 << int(math.ceil(math.log2(2 * window)))
    lags = np.arange(size // 2 + 1)
    search = (lags >= rate / 400.0) & (lags <= rate / 70.0)
    frames_idx = np.flatnonzero(inside)
    for chunk in np.array_split(frames_idx, max(1, math.ceil(frames_idx.size / 2048))):
        if chunk.size == 0:
            continue
        starts = np.clip(centres[chunk] + window - window // 2, 0, padded.shape[0] - window)
        frames = padded[starts[:, None] + np.arange(window)]
        rms[chunk] = np.sqrt(np.mean(frames**2, axis=1))
        spectrum = np.fft.rfft(frames * taper, n=size, axis=1)
        acf = np.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=1)[:, :size // 2 + 1]
        if not search.any():
            continue
        part = acf[:, search]
        best = np.argmax(part, axis=1)
        strength = part[np.arange(chunk.size), best] / np.maximum(acf[:, 0], 1e-12)
        voiced = (strength > 0.45) & (rms[chunk] > 1e-4)
        f0[chunk] = np.where(voiced, rate / lags[search][best], 0.0)
    db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    audible = db > -70.0
    if not audible.any():
        return np.zeros(n), f0
    reference = np.percentile(db[audible], 95)
    loudness = np.clip((db - (reference - LOUDNESS_RANGE_DB)) / LOUDNESS_RANGE_DB, 0.0, 1.0)
    loudness = gaussian_filter1d(loudness, max(0.03 * fps, 0.3), mode="nearest")
    return np.clip(loudness, 0.0, 1.0), f0


def _loud_span(times: np.ndarray, loudness: np.ndarray, end_s: float) -> tuple[float, float]:
    loud = np.flatnonzero(loudness > 0.2)
    if loud.size == 0:
        return 0.0, end_s
    return float(times[loud[0]]), float(times[loud[-1]])


# Emotion ---------------------------------------------------------------------------------------

def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _emotion_envelope(times: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    """(N,) 0..1: ramps in over 0.3 s up to the speech's start (later if it starts at 0 s) and
    out over 0.3 s after its end."""
    onset = max(0.0, span[0] - EMOTION_RAMP_S)
    rise = _smoothstep((times - onset) / EMOTION_RAMP_S)
    fall = 1.0 - _smoothstep((times - span[1]) / EMOTION_RAMP_S)
    return rise * fall


def range_gains(expression_range: Mapping[str, float]) -> dict[str, float]:
    """How much a person's own expression range scales each emotion shape.

    Parameters
    ----------
    expression_range : mapping of str to float
        Blendshape name -> the highest weight (0..1) the person was seen making.

    Returns
    -------
    dict of str to float
        For each shape of :data:`EMOTION_TARGETS` the person was seen making (at least
        ``RANGE_SHOWN``, ``...Left`` and ``...Right`` taken together): their highest weight over
        the table's strongest weight for it, clipped to ``RANGE_GAIN``. Shapes not in it keep
        their weights (gain 1).

    Examples
    --------
    >>> gains = range_gains({"mouthSmileLeft": 0.95, "mouthSmileRight": 0.9, "jawOpen": 0.05})
    >>> {name: round(gain, 2) for name, gain in gains.items()}
    {'mouthSmileLeft': 1.36, 'mouthSmileRight': 1.36}
    """
    strongest: dict[str, float] = {}
    for targets in EMOTION_TARGETS.values():
        for name, w in targets.items():
            strongest[name] = max(strongest.get(name, 0.0), w)
    gains = {}
    for name, generic in strongest.items():
        pair = [name] + [name[:-len(side)] + other for side, other in
                         (("Left", "Right"), ("Right", "Left")) if name.endswith(side)]
        seen = [float(expression_range[n]) for n in pair if n in expression_range
                and math.isfinite(float(expression_range[n]))]
        if seen and max(seen) >= RANGE_SHOWN:
            gains[name] = float(np.clip(max(seen) / generic, *RANGE_GAIN))
    return gains


def _emotion_layer(emotion: EmotionLabel, envelope: np.ndarray, mouth: np.ndarray,
                   closed: np.ndarray, gains: Mapping[str, float]) -> np.ndarray:
    """(N, 52) emotion weights to add on top of ``mouth``, each shape scaled by ``gains``."""
    layer = np.zeros_like(mouth)
    rounded = np.maximum(mouth[:, _INDEX["mouthPucker"]], mouth[:, _INDEX["mouthFunnel"]])
    for name, w in EMOTION_TARGETS[emotion.label].items():
        curve = w * gains.get(name, 1.0) * emotion.intensity * envelope
        if name in OPENING_SHAPES:
            curve = curve * (1.0 - closed)  # never open a lip closure
        if name.startswith(("mouthSmile", "mouthStretch")):
            curve = curve * (1.0 - 0.5 * np.clip(rounded / 0.6, 0.0, 1.0))
        layer[:, _INDEX[name]] = curve
    return layer


# Blinks ----------------------------------------------------------------------------------------

def _blinks(rng: np.random.Generator, times: np.ndarray, fps: float, end_s: float,
            pauses: list[tuple[float, float]]) -> tuple[list[float], np.ndarray]:
    """Blink start times (s) and the (N,) eyelid curve 0..1."""
    scale = BLINK_MEAN_S / BLINK_SHAPE
    starts: list[float] = []
    long_pauses = [(a, b) for a, b in pauses if b - a >= 0.2 and a < end_s]
    t = 0.3 + 0.5 * rng.gamma(BLINK_SHAPE, scale)
    while t < end_s - 0.3:
        # Drawn to a pause that starts up to 0.8 s later or has started already
        for a, b in long_pauses:
            snapped = a + min(0.1, (b - a) / 3.0)
            if a - 0.8 <= t <= b and (not starts or snapped - starts[-1] >= BLINK_MIN_GAP_S):
                t = snapped
                break
        starts.append(t)
        t += max(BLINK_MIN_GAP_S, rng.gamma(BLINK_SHAPE, scale))
    # A long pause without a blink gets one more often than not
    for a, b in long_pauses:
        t = a + 0.1
        if b - a >= 1.0 and t < end_s - 0.3 and rng.random() < 0.6 \
                and not any(a - 1.0 <= s <= b + 0.5 for s in starts):
            starts.append(t)
    starts.sort()

    curve = np.zeros(times.shape[0])
    placed: list[float] = []
    for start in starts:
        duration = rng.uniform(*BLINK_DURATION_S)
        closing = BLINK_CLOSING * duration
        peak = round((start + closing) * fps) / fps  # fully closed on a frame
        start = peak - closing
        if start < 0.0 or (placed and start - placed[-1] < BLINK_MIN_GAP_S):
            continue
        placed.append(round(start, 4))
        s = times - peak
        closing_part = 0.5 - 0.5 * np.cos(np.pi * np.clip(1.0 + s / closing, 0.0, 1.0))
        opening_part = 0.5 + 0.5 * np.cos(np.pi * np.clip(s / (duration - closing), 0.0, 1.0))
        curve = np.maximum(curve, np.where(s <= 0.0, closing_part, opening_part))
    return placed, curve


# Head and gaze ---------------------------------------------------------------------------------

def _head_motion(rng_drift: np.random.Generator, rng_nods: np.random.Generator, times: np.ndarray,
                 fps: float, loudness: np.ndarray, f0_hz: np.ndarray, envelope: np.ndarray,
                 emotion: EmotionLabel | None, span: tuple[float, float]) -> np.ndarray:
    """(N, 3) pitch, yaw, roll in degrees."""
    n = times.shape[0]
    head = np.zeros((n, 3))
    speaking = ((times >= span[0]) & (times <= span[1])).astype(np.float64)
    activity = gaussian_filter1d(speaking, max(0.5 * fps, 1.0), mode="nearest")

    # Slow drift: three sinusoids per axis, a little larger while speaking
    for axis, amplitude in enumerate((0.7, 1.2, 0.6)):
        freqs = rng_drift.uniform(0.04, 0.3, 3)
        phases = rng_drift.uniform(0.0, 2.0 * np.pi, 3)
        wave = np.sin(2.0 * np.pi * freqs[None, :] * times[:, None] + phases[None, :]).sum(axis=1)
        head[:, axis] += amplitude / math.sqrt(3.0) * wave * (0.6 + 0.4 * activity)

    # Breathing at rest: 12-18 breaths a minute lift the head a little on each inhalation
    breath_hz = rng_drift.uniform(*BREATHS_PER_MIN) / 60.0
    phase = rng_drift.uniform(0.0, 2.0 * np.pi)
    breath = 0.5 - 0.5 * np.cos(2.0 * np.pi * breath_hz * times + phase)
    head[:, 0] -= BREATH_DEG * breath * (1.0 - activity)

    # Nods on loudness peaks (stressed syllables): down 1-3 degrees, starting 100 ms ahead
    smooth = gaussian_filter1d(loudness, max(0.06 * fps, 0.5), mode="nearest")
    peaks, props = find_peaks(smooth, height=0.5, prominence=0.15,
                              distance=max(1, int(round(0.35 * fps))))
    tau = 0.15
    for peak, prominence in zip(peaks, props["prominences"]):
        if rng_nods.random() > 0.7:
            continue
        amplitude = rng_nods.uniform(1.0, 3.0) * min(1.0, prominence / 0.4)
        s = np.maximum(times - (times[peak] - 0.1), 0.0) / tau
        bump = s * np.exp(1.0 - s)
        head[:, 0] += amplitude * bump
        head[:, 1] += rng_nods.uniform(-0.3, 0.3) * amplitude * bump

    # A higher voice lifts the head a little (0.3 degrees a semitone, at most 2.5)
    voiced = f0_hz > 0
    if voiced.sum() >= 3:
        semitones = np.zeros(n)
        semitones[voiced] = 12.0 * np.log2(f0_hz[voiced] / np.median(f0_hz[voiced]))
        sigma = max(0.15 * fps, 0.5)
        weight = gaussian_filter1d(voiced.astype(np.float64), sigma, mode="nearest")
        lifted = gaussian_filter1d(semitones, sigma, mode="nearest") / np.maximum(weight, 1e-3)
        head[:, 0] -= np.clip(0.3 * lifted * np.clip(weight * 2.0, 0.0, 1.0), -2.5, 2.5)

    if emotion is not None:
        posture = np.asarray(EMOTION_HEAD_DEG[emotion.label])
        head += emotion.intensity * envelope[:, None] * posture[None, :]
    return np.clip(head, -20.0, 20.0)


def _gaze(rng: np.random.Generator, times: np.ndarray, head: np.ndarray) -> np.ndarray:
    """(N, 2) yaw, pitch in degrees: saccades every 0.5-2 s, partly countering the head."""
    n = times.shape[0]
    gaze = np.zeros((n, 2))
    t, target = 0.0, np.zeros(2)
    end = times[-1] if n else 0.0
    while t <= end:
        index = int(np.searchsorted(times, t))
        gaze[index:] = target
        if rng.random() < 0.45:
            target = rng.normal(0.0, 0.5, 2)  # back to the listener's eyes
        else:
            target = np.clip(rng.normal(0.0, (4.0, 2.5)), (-12.0, -8.0), (12.0, 8.0))
        t += rng.uniform(*SACCADE_INTERVAL_S)
    gaze[:, 0] -= GAZE_COUNTER_ROTATION * head[:, 1]
    gaze[:, 1] -= GAZE_COUNTER_ROTATION * head[:, 0]
    return gaze
