"""``revive emotion TEXT``: label the emotion of each sentence of a text and print it.

Functions
    add_commands    the ``revive emotion`` command
"""
from __future__ import annotations

import argparse
import json

from revive_core.emotion.classify import LANGUAGES, classify_sentences, load_classifier
from revive_core.errors import InputError

__all__ = ["add_commands"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive emotion TEXT [--lang] [--classifier] [--json]``."""
    p = subparsers.add_parser("emotion", help="label the emotion of each sentence of a text")
    p.add_argument("text")
    p.add_argument("--lang", default="auto", choices=LANGUAGES)
    p.add_argument("--classifier", default="builtin", metavar="builtin|lexicon|PATH",
                   help="a local Hugging Face text-classification model folder, or "
                        "builtin / lexicon")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(run=_run_emotion)


def _run_emotion(args: argparse.Namespace) -> None:
    results = classify_sentences(args.text, language=args.lang,
                                 classifier=load_classifier(args.classifier))
    if not results:
        raise InputError("The text has no words to label.",
                         'For example: revive emotion "I miss you."')
    for sentence, label in results:
        if args.json:
            print(json.dumps({"text": sentence, "label": label.label,
                              "intensity": label.intensity}, ensure_ascii=False))
        else:
            print(f"{label.label:<9} {label.intensity:4.2f}  {sentence}")
