"""``revive bench emotion``: accuracy, macro-F1 and confusion matrix of the emotion classifier.

Data: JSON lines of ``{"text": ..., "label": one of the seven, "lang": "en" | "zh"}``. The
project ships a tuning set (``tests/data/emotion_{en,zh}.jsonl``, used to choose the lexicon
weight and words) and a held-out set written before any tuning and never tuned on
(``tests/data/emotion_holdout_{en,zh}.jsonl``).

Functions
    read_dataset    validated rows of a JSONL file
    evaluate        scores per language
    add_bench       the command's parser
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.bench.labelled import read_labelled_jsonl
from revive_core.emotion.lexicon import EMOTIONS

__all__ = ["LanguageScores", "add_bench", "evaluate", "read_dataset"]

TARGET_MACRO_F1 = 0.70


@dataclass
class LanguageScores:
    """Scores of one language; ``confusion[i, j]`` counts truth ``EMOTIONS[i]`` predicted ``j``."""

    n: int
    accuracy: float
    macro_f1: float
    confusion: np.ndarray  # (7, 7) int counts, EMOTIONS order
    seconds_per_line: float


def read_dataset(path: Path) -> list[dict[str, str]]:
    """The rows of a JSONL file, each with ``text``, ``label`` and ``lang`` checked."""
    return read_labelled_jsonl(
        path, fields='"text", "label", "lang"',
        is_valid=lambda row: (isinstance(row.get("text"), str) and row.get("label") in EMOTIONS
                              and row.get("lang") in ("en", "zh")),
        needs=f"a text, a label among {', '.join(EMOTIONS)} and a lang of en or zh")


def evaluate(rows: list[dict[str, str]], classifier) -> dict[str, LanguageScores]:
    """Classify every row with ``classifier`` (see :func:`revive_core.emotion.classify.load_classifier`).

    Macro-F1 averages the F1 of the labels present in the truth or the predictions
    (scikit-learn's convention).
    """
    results = {}
    for lang in sorted({r["lang"] for r in rows}):
        subset = [r for r in rows if r["lang"] == lang]
        started = time.perf_counter()
        predicted = classifier.label([r["text"] for r in subset], language=lang)
        elapsed = time.perf_counter() - started
        confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
        for row, label in zip(subset, predicted):
            confusion[EMOTIONS.index(row["label"]), EMOTIONS.index(label.label)] += 1
        accuracy = float(np.trace(confusion) / len(subset))
        results[lang] = LanguageScores(n=len(subset), accuracy=accuracy,
                                       macro_f1=_macro_f1(confusion), confusion=confusion,
                                       seconds_per_line=elapsed / len(subset))
    return results


def _macro_f1(confusion: np.ndarray) -> float:
    true_positive = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    present = (predicted + actual) > 0
    f1 = np.divide(2 * true_positive, predicted + actual, out=np.zeros_like(true_positive),
                   where=present)
    return float(f1[present].mean())


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive bench emotion --data FILE.jsonl [FILE ...] [--classifier] [--json OUT]``."""
    p = subparsers.add_parser("emotion",
                              help="accuracy and macro-F1 of emotion labels per language")
    p.add_argument("--data", nargs="+", required=True, type=Path, metavar="FILE.jsonl",
                   help='lines of {"text", "label", "lang"}')
    p.add_argument("--classifier", default="builtin", metavar="builtin|lexicon|PATH")
    p.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help='write {"en": {"accuracy", "macro_f1", "n"}, "zh": {...}}')
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from revive_core.emotion.classify import load_classifier
    from revive_core.formats.storage import atomic_write_bytes, dumps_json

    rows = [row for path in args.data for row in read_dataset(path)]
    classifier = load_classifier(args.classifier)
    results = evaluate(rows, classifier)
    print(f"Emotion classifier: {classifier.name}; data: {', '.join(map(str, args.data))}")
    print(f"{'lang':<5} {'n':>4} {'accuracy':>9} {'macro-F1':>9} {'target':>7} {'ms/line':>8}")
    for lang, s in results.items():
        verdict = "ok" if s.macro_f1 >= TARGET_MACRO_F1 else "below"
        print(f"{lang:<5} {s.n:>4} {s.accuracy:>9.3f} {s.macro_f1:>9.3f} {verdict:>7} "
              f"{1000 * s.seconds_per_line:>8.1f}")
    for lang, s in results.items():
        print(f"\nConfusion ({lang}), rows = truth, columns = predicted:")
        print(" " * 9 + " ".join(f"{e[:7]:>7}" for e in EMOTIONS))
        for emotion, counts in zip(EMOTIONS, s.confusion):
            print(f"{emotion:<9}" + " ".join(f"{c:>7d}" for c in counts))
    if args.json is not None:
        document = {lang: {"accuracy": round(s.accuracy, 4), "macro_f1": round(s.macro_f1, 4),
                           "n": s.n, "labels": list(EMOTIONS), "confusion": s.confusion.tolist()}
                    for lang, s in results.items()}
        atomic_write_bytes(args.json, dumps_json(document))
