"""``revive bench voice-emotion``: how well the voice's emotion is read from labelled recordings.

Corpus layouts (any mix, found by walking ``--corpus DIR``)
    Folders      ``DIR/<label>/*.wav``: the nearest folder named as a label gives it, one of
                 the seven or a common synonym (happy, sad, angry, fearful, surprised,
                 disgusted, calm -> neutral; see
                 :data:`revive_core.emotion.voice.VOICE_LABEL_SYNONYMS`). A folder named ``en``
                 or ``zh`` above it gives the language (``DIR/zh/happy/1.wav``).
    RAVDESS      ``03-01-05-01-02-01-12.wav``: modality-channel-emotion-intensity-statement-
                 repetition-actor; emotion 01 neutral, 02 calm (-> neutral), 03 happy, 04 sad,
                 05 angry, 06 fearful, 07 disgust, 08 surprised. English. Songs (channel 02)
                 and video-only files (modality 02) are left out.
    CREMA-D      ``1001_DFA_ANG_XX.wav``: actor_sentence_emotion_level; ANG, DIS, FEA, HAP,
                 NEU, SAD. English.
    ESD          ``0011/Angry/0011_000351.wav`` (Emotional Speech Dataset): speakers 0001-0010
                 speak Mandarin, 0011-0020 English; emotion folders Angry, Happy, Neutral, Sad,
                 Surprise.

    Audio files: WAV, MP3, M4A, OGG, FLAC, AMR and video files ffmpeg reads (RAVDESS' MP4).
    A file without a label in any of these layouts is not counted; one without measurable
    speech is listed as skipped.

Scores, per model and per language (and all together)
    Accuracy, macro-F1 (the mean F1 of the labels present in the truth or the predictions, as
    in ``revive bench emotion``), a confusion table (rows truth, columns predicted) and the
    mean arousal of each true label (a stirred emotion should read higher than a calm one).

No acted-emotion corpus with a licence that allows it ships with Revive or any package it uses;
run this on a corpus you have (RAVDESS is CC BY-NC-SA, CREMA-D ODbL, ESD for research), or on
your own labelled recordings.

Functions
    read_corpus     a folder -> labelled recordings
    label_of        one file's label and language, from its name and folders
    evaluate        scores of one model
    add_bench       the command's parser
"""
from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from revive_core.bench.emotion import _macro_f1
from revive_core.emotion.lexicon import EMOTIONS
from revive_core.errors import InputError

__all__ = ["AUDIO_SUFFIXES", "Clip", "ModelScores", "add_bench", "evaluate", "label_of",
           "read_corpus"]

AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".amr", ".silk",
                  ".mp4", ".flv", ".webm"}
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_RAVDESS_EMOTIONS = {"01": "neutral", "02": "neutral", "03": "joy", "04": "sadness",
                     "05": "anger", "06": "fear", "07": "disgust", "08": "surprise"}
_CREMA_D = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_([A-Z]{1,2})$")
_CREMA_D_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "joy",
                     "NEU": "neutral", "SAD": "sadness"}
_ESD = re.compile(r"^(\d{4})_(\d{6})$")
_LANGUAGE_FOLDERS = {"en": "en", "english": "en", "zh": "zh", "cmn": "zh", "mandarin": "zh",
                     "chinese": "zh"}
ANY_LANGUAGE = "any"


@dataclass(frozen=True)
class Clip:
    """One labelled recording of the corpus."""

    path: Path
    label: str  # one of EMOTIONS
    language: str  # "en", "zh" or ANY_LANGUAGE
    layout: str  # "folders", "RAVDESS", "CREMA-D" or "ESD"


@dataclass
class ModelScores:
    """One model's scores on one language; ``confusion[i, j]`` counts truth ``EMOTIONS[i]``
    read as ``EMOTIONS[j]``; ``arousal[i]`` is the mean arousal of truth ``EMOTIONS[i]``."""

    n: int
    accuracy: float
    macro_f1: float
    confusion: np.ndarray
    arousal: np.ndarray
    seconds_per_clip: float
    skipped: list[str] = field(default_factory=list)


def label_of(path: Path, root: Path) -> Clip | None:
    """The label and language of ``path`` (under ``root``) by the layouts above, or None."""
    from revive_core.emotion.voice import VOICE_LABEL_SYNONYMS

    stem, folders = path.stem, [p.lower() for p in path.relative_to(root).parts[:-1]]
    if match := _RAVDESS.match(stem):
        modality, channel, emotion = match.group(1, 2, 3)
        if modality == "02" or channel != "01" or emotion not in _RAVDESS_EMOTIONS:
            return None
        return Clip(path, _RAVDESS_EMOTIONS[emotion], "en", "RAVDESS")
    if match := _CREMA_D.match(stem):
        return Clip(path, _CREMA_D_EMOTIONS[match.group(3)], "en", "CREMA-D")
    label = next((VOICE_LABEL_SYNONYMS[f] for f in reversed(folders) if f in VOICE_LABEL_SYNONYMS),
                 None)
    if label is None:
        return None
    if (match := _ESD.match(stem)) and 1 <= int(match.group(1)) <= 20:
        return Clip(path, label, "zh" if int(match.group(1)) <= 10 else "en", "ESD")
    language = next((_LANGUAGE_FOLDERS[f] for f in reversed(folders) if f in _LANGUAGE_FOLDERS),
                    ANY_LANGUAGE)
    return Clip(path, label, language, "folders")


def read_corpus(folder: Path, *, max_per_label: int | None = None) -> list[Clip]:
    """Every labelled recording under ``folder``, sorted by path.

    ``max_per_label`` keeps at most that many of each label and language, spread evenly over
    the sorted files (the same ones every run).

    Raises
    ------
    InputError
        The folder is missing or holds no labelled recording.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Corpus folder not found: {folder}",
                         "Pass a folder with one sub-folder per emotion (happy/, sad/ ...) or "
                         "RAVDESS, CREMA-D or ESD files.")
    clips = [clip for path in sorted(folder.rglob("*"))
             if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES
             and (clip := label_of(path, folder)) is not None]
    if not clips:
        raise InputError(f"No labelled recordings were found in {folder}.",
                         "Put them in one folder per emotion (e.g. happy/1.wav, sad/2.wav) or "
                         "keep RAVDESS, CREMA-D or ESD file names.")
    if max_per_label is not None:
        if max_per_label < 1:
            raise InputError(f"max_per_label={max_per_label} must be at least 1.")
        kept = []
        for key in sorted({(c.label, c.language) for c in clips}):
            group = [c for c in clips if (c.label, c.language) == key]
            picks = np.linspace(0, len(group) - 1, min(max_per_label, len(group))).round()
            kept += [group[int(i)] for i in sorted(set(picks))]
        clips = sorted(kept, key=lambda c: c.path)
    return clips


def evaluate(clips: list[Clip], model=None) -> dict[str, ModelScores]:
    """Read every clip with ``model`` (None: the built-in prosody model; or a local model
    folder, or one from :func:`revive_core.emotion.voice.load_voice_model`).

    Returns
    -------
    dict of str to ModelScores
        One per language found, and ``"all"`` when there are several.
    """
    from revive_core.emotion.prosody import NoSpeechError
    from revive_core.emotion.voice import read_voice_emotion

    read: list[tuple[Clip, str, float]] = []
    skipped: list[str] = []
    started = time.perf_counter()
    for clip in clips:
        try:
            reading = read_voice_emotion(clip.path, model=model)
        except NoSpeechError:
            skipped.append(f"{clip.path.name} (no speech could be measured)")
            continue
        except InputError as error:
            skipped.append(f"{clip.path.name} ({error.message})")
            continue
        read.append((clip, reading.label.label, reading.arousal))
    per_clip = (time.perf_counter() - started) / max(len(clips), 1)
    languages = sorted({clip.language for clip, _, _ in read})
    groups = {lang: [r for r in read if r[0].language == lang] for lang in languages}
    if len(languages) > 1:
        groups["all"] = read
    if not read:
        return {"all": ModelScores(0, 0.0, 0.0, np.zeros((len(EMOTIONS),) * 2, np.int64),
                                   np.full(len(EMOTIONS), np.nan), per_clip, skipped)}
    return {lang: _scores(rows, per_clip, skipped) for lang, rows in groups.items()}


def _scores(rows: list[tuple[Clip, str, float]], per_clip: float, skipped: list[str]
            ) -> ModelScores:
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    arousal_sum = np.zeros(len(EMOTIONS))
    for clip, predicted, arousal in rows:
        truth = EMOTIONS.index(clip.label)
        confusion[truth, EMOTIONS.index(predicted)] += 1
        arousal_sum[truth] += arousal
    counts = confusion.sum(1)
    arousal = np.divide(arousal_sum, counts, out=np.full(len(EMOTIONS), np.nan),
                        where=counts > 0)
    return ModelScores(n=len(rows), accuracy=float(np.trace(confusion) / len(rows)),
                       macro_f1=_macro_f1(confusion), confusion=confusion, arousal=arousal,
                       seconds_per_clip=per_clip, skipped=skipped)


# --- The command ----------------------------------------------------------------------------

def add_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive bench voice-emotion --corpus DIR [--voice-model PATH] [--max-per-label N]
    [--json OUT]``."""
    p = subparsers.add_parser("voice-emotion",
                              help="accuracy and macro-F1 of the voice's emotion on labelled "
                                   "recordings")
    p.add_argument("--corpus", required=True, type=Path, metavar="DIR",
                   help="one folder per emotion, or RAVDESS / CREMA-D / ESD files")
    p.add_argument("--voice-model", default=None, metavar="PATH",
                   help="also score a local Hugging Face audio-classification model folder")
    p.add_argument("--max-per-label", type=int, default=None, metavar="N",
                   help="at most N recordings of each label and language (a quicker run)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help="write the scores as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from revive_core.emotion.voice import BUILTIN, load_voice_model
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    clips = read_corpus(args.corpus, max_per_label=args.max_per_label)
    models = {BUILTIN: None}
    if args.voice_model is not None:
        model = load_voice_model(args.voice_model)
        models[model.name] = model
    layouts = sorted({c.layout for c in clips})
    print(f"Voice emotion bench: {len(clips)} labelled recordings in {args.corpus} "
          f"({', '.join(f'{sum(c.layout == x for c in clips)} {x}' for x in layouts)})")
    results = {name: evaluate(clips, model) for name, model in models.items()}
    print(f"{'model':<24} {'lang':<5} {'n':>5} {'accuracy':>9} {'macro-F1':>9} {'s/clip':>7}")
    for name, by_language in results.items():
        for lang, s in by_language.items():
            print(f"{name[:24]:<24} {lang:<5} {s.n:>5} {s.accuracy:>9.3f} {s.macro_f1:>9.3f} "
                  f"{s.seconds_per_clip:>7.2f}")
    for name, by_language in results.items():
        for lang, s in by_language.items():
            print(f"\nConfusion ({name}, {lang}), rows = truth, columns = read:")
            print(" " * 9 + " ".join(f"{e[:8]:>8}" for e in EMOTIONS) + f" {'arousal':>8}")
            for i, emotion in enumerate(EMOTIONS):
                if s.confusion[i].sum():
                    print(f"{emotion:<9}" + " ".join(f"{c:>8d}" for c in s.confusion[i])
                          + f" {s.arousal[i]:>+8.2f}")
        skipped = next(iter(by_language.values())).skipped
        if skipped:
            print(f"\n{name}: {len(skipped)} recordings skipped: " + "; ".join(skipped[:5])
                  + (" ..." if len(skipped) > 5 else ""))
    if args.json is not None:
        document = {name: {lang: {"n": s.n, "accuracy": round(s.accuracy, 4),
                                  "macro_f1": round(s.macro_f1, 4), "labels": list(EMOTIONS),
                                  "confusion": s.confusion.tolist(),
                                  "mean_arousal": [None if np.isnan(a) else round(float(a), 4)
                                                   for a in s.arousal],
                                  "skipped": s.skipped}
                           for lang, s in by_language.items()}
                    for name, by_language in results.items()}
        atomic_write_bytes(args.json, dumps_json(document))
