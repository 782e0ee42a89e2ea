"""``revive emotion``: the emotion of a text, of a voice recording, or of both combined.

``revive emotion TEXT`` labels each sentence of the text. ``revive emotion --audio FILE`` reads
the voice (the built-in prosody model, or ``--voice-model PATH``; relative to a calm recording
of the same person with ``--baseline FILE``), labels the words (given with ``--text`` or as
TEXT, or else transcribed offline by Whisper) and prints both and the combined emotion
(:mod:`revive_core.emotion.combine`).

Functions
    add_commands    the ``revive emotion`` command
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from revive_core.emotion.classify import LANGUAGES, classify_sentences, load_classifier
from revive_core.errors import InputError, ReviveError

__all__ = ["add_commands"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive emotion [TEXT] [--audio FILE] [--text] [--baseline FILE] [--voice-model]
    [--lang] [--classifier] [--json]``."""
    p = subparsers.add_parser("emotion", help="the emotion of a text, a voice recording or both")
    p.add_argument("text", nargs="?", default=None, help="the words (or give --audio)")
    p.add_argument("--audio", type=Path, default=None, metavar="FILE",
                   help="a voice recording (WAV, MP3, M4A, OGG, FLAC, AMR, SILK, or a video)")
    p.add_argument("--text", dest="words", default=None, metavar="TEXT",
                   help="with --audio: what is said in it (default: transcribed offline)")
    p.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                   help="with --audio: a recording of the same person speaking calmly; the "
                        "voice is then read relative to it")
    p.add_argument("--voice-model", default="builtin", metavar="builtin|PATH",
                   help="a local Hugging Face audio-classification model folder, or builtin "
                        "(the prosody model)")
    p.add_argument("--lang", default="auto", choices=LANGUAGES)
    p.add_argument("--classifier", default="builtin", metavar="builtin|lexicon|PATH",
                   help="a local Hugging Face text-classification model folder, or "
                        "builtin / lexicon")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_run_emotion)


def _run_emotion(args: argparse.Namespace) -> None:
    if args.text is not None and args.words is not None:
        raise InputError("The words were given twice (as TEXT and with --text).",
                         "Give them once.")
    words = args.text if args.text is not None else args.words
    if args.audio is not None:
        _run_voice(args, words)
        return
    if words is None:
        raise InputError("There is nothing to label.",
                         'Give a text (revive emotion "I miss you.") or a recording (--audio).')
    results = classify_sentences(words, language=args.lang,
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


def _run_voice(args: argparse.Namespace, words: str | None) -> None:
    from revive_core.emotion.classify import classify
    from revive_core.emotion.combine import combine
    from revive_core.emotion.prosody import ANALYSIS_RATE, NoSpeechError, prosody
    from revive_core.emotion.voice import voice_emotion
    from revive_core.voice.audio import load_audio

    baseline = None
    if args.baseline is not None:
        try:
            baseline = prosody(load_audio(args.baseline, sample_rate=ANALYSIS_RATE)[0])
        except NoSpeechError as error:
            raise InputError(f"No speech could be measured in {args.baseline}.",
                             error.hint) from None
    samples, rate = load_audio(args.audio, sample_rate=ANALYSIS_RATE)
    try:
        voice = voice_emotion(samples, rate, model=args.voice_model, baseline=baseline)
    except NoSpeechError as error:
        raise InputError(f"No speech could be measured in {args.audio}.", error.hint) from None
    language, source, note = args.lang, "given", None
    if words is None:
        words, language, note = _transcribed(samples, rate, args.lang)
        source = "transcribed offline by Whisper"
    text = None
    if words is not None:
        text = classify(words, language=language, classifier=load_classifier(args.classifier))
    combined = combine(text, voice)
    if args.json:
        print(json.dumps({"file": str(args.audio), "words": words, "words_source": source,
                          "note": note, **combined.summary()}, ensure_ascii=False))
        return
    print("\n".join(_voice_lines(voice) + [
        _line("text", text, f"{words}  ({source})" if words is not None else f"({note})"),
        _line("combined", combined.label, combined.rule)]))


def _transcribed(samples, rate: int, language: str) -> tuple[str | None, str, str | None]:
    """The words Whisper hears (or None, with why), and their language."""
    from revive_core.voice.transcribe import transcribe

    try:
        words, found = transcribe(samples, rate, language=language)
    except ReviveError as error:
        return None, language, f"no words: {error.message}"
    return words, found, None


def _voice_lines(voice) -> list[str]:
    p = voice.prosody
    lines = [_line("voice", voice.label, f"arousal {voice.arousal:+.2f}, valence "
                                         f"{voice.valence:+.2f}  ({voice.model})"),
             f"{'':<10}pitch {p.f0_median_hz:.0f} Hz (spread {p.f0_spread_st:.1f} st, range "
             f"{p.f0_range_st:.1f} st), loudness {p.loudness_db:.1f} dBFS (spread "
             f"{p.loudness_spread_db:.1f} dB),",
             f"{'':<10}{p.rate_per_s:.1f} syllables/s, pauses {100 * p.pause_ratio:.0f} %, "
             f"tilt {p.tilt_db:.1f} dB, {p.speaking_s:.1f} s of speech"]
    for phrase in voice.phrases:
        lines.append(f"{'':<10}{phrase.start_s:5.1f}-{phrase.end_s:5.1f} s  "
                     f"{phrase.label.label:<9} {phrase.label.intensity:4.2f}  arousal "
                     f"{phrase.arousal:+.2f}, valence {phrase.valence:+.2f}")
    return lines


def _line(what: str, label, detail: str) -> str:
    if label is None:
        return f"{what:<10}{'-':<9} {'':4}  {detail}"
    return f"{what:<10}{label.label:<9} {label.intensity:4.2f}  {detail}"
