"""Prosody of a recording: pitch, loudness, speaking rate, pauses and spectral tilt.

These are the measurements the built-in voice emotion model (:mod:`revive_core.emotion.voice`)
reads. Everything is computed with numpy and scipy; no model, nothing downloaded.

Pitch (F0)
    YIN (de Cheveigné & Kawahara, 2002): the cumulative-mean-normalised difference function of
    25 ms frames every 10 ms, its first dip under ``YIN_THRESHOLD`` refined by a parabola; a
    frame is voiced when that dip is deep enough and the frame is speech (loud enough). Single
    frames an octave off their neighbours are pulled back by a 5-frame median of log F0.
    Range ``F0_RANGE_HZ`` (60-500 Hz) covers adult and children's speaking voices.

Loudness
    RMS level of 25 ms frames in dB relative to full scale (dBFS). Its *level* depends on the
    microphone and its gain, so the emotion model compares it only within one recording.

Speech and pauses
    A frame is speech when it is louder than both ``noise floor + SPEECH_OVER_NOISE_DB`` and
    ``peak - SPEECH_UNDER_PEAK_DB``. Pauses are silent gaps of at least ``MIN_PAUSE_S`` between
    the first and the last speech frame; leading and trailing silence is not counted.

Speaking rate
    Syllable nuclei after de Jong & Wempe (2009): peaks of the smoothed loudness at least
    ``NUCLEUS_DIP_DB`` above the dips around them, in voiced speech, at least 0.1 s apart. The
    rate is nuclei per second of speaking time (pauses left out: the "articulation rate"). It
    under-counts syllables that run together; compare rates of one speaker, not absolute counts.

Spectral tilt and brightness
    The alpha ratio of voiced frames: energy of 1-4 kHz over 50 Hz-1 kHz, in dB (eGeMAPS uses
    1-5 kHz; 4 kHz survives telephone and voice-note codecs). A flatter tilt (closer to 0 dB)
    means more vocal effort. Brightness is the spectral centroid of 50 Hz-4 kHz.

Functions
    track_pitch        samples -> F0 per frame and how periodic each frame is
    frame_loudness_db  samples -> RMS level per frame, dBFS
    measure            samples -> :class:`ProsodyTracks` (pitch, level and speech per frame)
    summarise          tracks (or a stretch of them) -> :class:`Prosody`
    prosody            samples -> :class:`Prosody` (measure, then summarise)
    phrases            tracks -> stretches of speech between pauses
    speech_frames, pause_ratio, syllable_nuclei, spectral_tilt
                       the steps of ``summarise``, one measurement each
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import find_peaks

from revive_core.errors import InputError

__all__ = ["ANALYSIS_RATE", "F0_RANGE_HZ", "HOP_S", "NoSpeechError", "Prosody", "ProsodyTracks",
           "frame_loudness_db", "measure", "pause_ratio", "phrases", "prosody", "spectral_tilt",
           "speech_frames", "summarise", "syllable_nuclei", "track_pitch"]

ANALYSIS_RATE = 16000  # Hz; callers resample to it (load_audio does)
HOP_S = 0.010
WINDOW_S = 0.025
F0_RANGE_HZ = (60.0, 500.0)
YIN_THRESHOLD = 0.15  # the first dip of the normalised difference under this is the period
VOICED_MAX_DIP = 0.35  # a frame whose deepest dip stays above this is not voiced
SPEECH_OVER_NOISE_DB = 12.0
SPEECH_UNDER_PEAK_DB = 40.0
MIN_PAUSE_S = 0.25
NUCLEUS_DIP_DB = 2.0
MIN_SPEECH_S = 0.3  # less voiced speech than this and nothing can be measured
_BLOCK_FRAMES = 2048  # YIN runs on this many frames at a time (bounded memory)


class NoSpeechError(InputError):
    """Too little voiced speech in a recording (or a stretch of it) to measure its prosody."""


@dataclass(frozen=True)
class Prosody:
    """A recording's prosody, summarised over its speech.

    Attributes
    ----------
    duration_s : float
        The whole recording.
    speaking_s : float
        Time in speech frames (pauses and silence left out).
    voiced_s : float
        Time in voiced frames (where a pitch was found).
    f0_median_hz : float
        Median F0 of voiced frames.
    f0_spread_st : float
        Spread of F0 in semitones: interquartile range / 1.349 (a standard deviation robust to
        octave errors).
    f0_range_st : float
        5th to 95th percentile of F0, in semitones.
    loudness_db : float
        Median RMS level of speech frames, dBFS (depends on the microphone's gain).
    loudness_spread_db : float
        Interquartile range of the level of speech frames, dB.
    rate_per_s : float
        Syllable nuclei per second of speaking time.
    pause_ratio : float
        Share of the time from first to last speech frame spent in pauses, 0..1.
    tilt_db : float
        Alpha ratio of voiced frames, dB (1-4 kHz over 50 Hz-1 kHz; nearer 0 = more effort).
    brightness_hz : float
        Spectral centroid of voiced frames, 50 Hz-4 kHz.
    """

    duration_s: float
    speaking_s: float
    voiced_s: float
    f0_median_hz: float
    f0_spread_st: float
    f0_range_st: float
    loudness_db: float
    loudness_spread_db: float
    rate_per_s: float
    pause_ratio: float
    tilt_db: float
    brightness_hz: float

    def rounded(self) -> dict[str, float]:
        """The attributes rounded for a report (JSON-ready)."""
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


def track_pitch(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE, *,
                f0_range_hz: tuple[float, float] = F0_RANGE_HZ,
                hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """F0 of each frame by YIN.

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono audio in -1..1.
    sample_rate : int
        Hz; at least 8000.
    f0_range_hz : (float, float)
        Lowest and highest F0 searched, Hz.
    hop_s : float
        Seconds between frames; frame ``i`` is centred at ``i * hop_s``.

    Returns
    -------
    f0_hz : np.ndarray [shape=(F,)]
        F0 of each frame in Hz, NaN where not voiced.
    periodicity : np.ndarray [shape=(F,)]
        1 minus the frame's deepest normalised-difference dip: near 1 for a clean periodic
        voice, near 0 for noise.
    """
    _check_audio(samples, sample_rate)
    low_hz, high_hz = f0_range_hz
    if not 0 < low_hz < high_hz < sample_rate / 4:
        raise InputError(f"f0_range_hz={f0_range_hz!r} must rise within 0..{sample_rate / 4} Hz.")
    hop = max(1, int(round(hop_s * sample_rate)))
    window = int(round(WINDOW_S * sample_rate))
    tau_min = max(2, int(sample_rate / high_hz))
    tau_max = int(np.ceil(sample_rate / low_hz))
    span = window + tau_max
    signal = np.asarray(samples, np.float64)
    padded = np.pad(signal, (window // 2, span))
    n_frames = 1 + signal.size // hop
    f0 = np.full(n_frames, np.nan)
    periodicity = np.zeros(n_frames)
    for first in range(0, n_frames, _BLOCK_FRAMES):
        starts = np.arange(first, min(first + _BLOCK_FRAMES, n_frames)) * hop
        frames = padded[starts[:, None] + np.arange(span)]
        cmnd = _normalised_difference(frames, window, tau_max)
        f0[first:first + starts.size], periodicity[first:first + starts.size] = \
            _pick_periods(cmnd, tau_min, sample_rate)
    voiced = np.isfinite(f0)
    if voiced.any():  # a frame an octave off its neighbours: 5-frame median of log F0
        log_f0 = np.log(np.where(voiced, f0, 1.0))
        smooth = median_filter(np.where(voiced, log_f0, np.nan), size=5, mode="nearest")
        fix = voiced & np.isfinite(smooth) & (np.abs(log_f0 - smooth) > np.log(1.6))
        f0[fix] = np.exp(smooth[fix])
    return f0, periodicity


def _normalised_difference(frames: np.ndarray, window: int, tau_max: int) -> np.ndarray:
    """YIN's cumulative-mean-normalised difference d'(tau) of each frame [shape=(N, tau_max+1)]."""
    size = 1 << int(np.ceil(np.log2(frames.shape[1] + window)))
    spectrum = np.fft.rfft(frames, size)
    head = np.fft.rfft(frames[:, :window], size)
    correlation = np.fft.irfft(spectrum * np.conj(head), size)[:, :tau_max + 1]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    shifted = energy[:, window:window + tau_max + 1] - energy[:, :tau_max + 1]
    difference = np.maximum(shifted[:, :1] + shifted - 2 * correlation, 0.0)
    difference[:, 0] = 0.0
    cumulative = np.cumsum(difference[:, 1:], axis=1) / np.arange(1, tau_max + 1)
    cmnd = np.ones_like(difference)
    cmnd[:, 1:] = difference[:, 1:] / np.maximum(cumulative, 1e-12)
    return cmnd


def _pick_periods(cmnd: np.ndarray, tau_min: int, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 (NaN when unvoiced) and periodicity of each frame from its normalised difference."""
    search = cmnd[:, tau_min:]
    rows = np.arange(len(search))
    last = search.shape[1] - 1
    under = search < YIN_THRESHOLD
    start = np.where(under.any(1), under.argmax(1), search.argmin(1))
    # From there, walk down to the bottom of the dip: the first lag whose next is not lower.
    rising = np.diff(search, axis=1) >= 0
    rising &= np.arange(last)[None, :] >= start[:, None]
    tau = np.where(rising.any(1), rising.argmax(1), last)
    depth = search[rows, tau]
    f0 = np.full(len(search), np.nan)
    ok = (depth <= VOICED_MAX_DIP) & (tau > 0) & (tau < last)
    a, b, c = (search[rows[ok], tau[ok] + k] for k in (-1, 0, 1))
    curvature = a - 2 * b + c
    offset = np.divide(0.5 * (a - c), curvature, out=np.zeros_like(a), where=curvature > 1e-12)
    f0[ok] = rate / (tau_min + tau[ok] + np.clip(offset, -0.5, 0.5))
    return f0, 1.0 - np.clip(depth, 0.0, 1.0)


def frame_loudness_db(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE, *,
                      hop_s: float = HOP_S, window_s: float = WINDOW_S) -> np.ndarray:
    """RMS level of each frame in dBFS (a full-scale sine is -3 dB) [shape=(F,)].

    Frame ``i`` is centred at ``i * hop_s``, as in :func:`track_pitch`; silence is -120 dB.
    """
    _check_audio(samples, sample_rate)
    hop = max(1, int(round(hop_s * sample_rate)))
    window = int(round(window_s * sample_rate))
    power = np.pad(np.asarray(samples, np.float64) ** 2, (window // 2, window))
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(1 + len(samples) // hop) * hop
    mean = (cumulative[starts + window] - cumulative[starts]) / window
    return 10 * np.log10(np.maximum(mean, 1e-12))


@dataclass(frozen=True)
class ProsodyTracks:
    """Frame-by-frame measurements of a recording, every ``HOP_S`` seconds.

    Attributes
    ----------
    samples : np.ndarray [shape=(S,)]
        The audio measured, mono, -1..1.
    sample_rate : int
        Hz.
    f0_hz : np.ndarray [shape=(F,)]
        F0 per frame, NaN where not voiced.
    level_db : np.ndarray [shape=(F,)]
        RMS level per frame, dBFS.
    speech : np.ndarray [shape=(F,), dtype=bool]
        Frames loud enough to be speech (see the module's docstring).
    """

    samples: np.ndarray
    sample_rate: int
    f0_hz: np.ndarray
    level_db: np.ndarray
    speech: np.ndarray


def measure(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE) -> ProsodyTracks:
    """Pitch, level and speech of every frame of a recording (see :class:`ProsodyTracks`)."""
    f0, _ = track_pitch(samples, sample_rate)
    level = frame_loudness_db(samples, sample_rate)[:f0.size]
    return ProsodyTracks(samples=np.asarray(samples), sample_rate=int(sample_rate), f0_hz=f0,
                         level_db=level, speech=speech_frames(level))


def prosody(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE) -> Prosody:
    """Measure the prosody of a recording of one speaker.

    Parameters
    ----------
    samples : np.ndarray [shape=(S,)]
        Mono audio in -1..1, ideally at :data:`ANALYSIS_RATE` (others work; the tilt needs
        8 kHz or more).
    sample_rate : int
        Hz.

    Returns
    -------
    Prosody

    Raises
    ------
    NoSpeechError
        Less than ``MIN_SPEECH_S`` of voiced speech was found (silence, noise, music, a tone).

    See Also
    --------
    summarise : the same for a stretch of frames of :func:`measure`'s tracks.

    Examples
    --------
    >>> from revive_core.voice.speech import synthesize
    >>> speech = synthesize("Hello, how are you today?", language="en")
    >>> p = prosody(speech.audio / 32768.0, speech.sample_rate)
    >>> 70 < p.f0_median_hz < 200
    True
    """
    return summarise(measure(samples, sample_rate))


def summarise(tracks: ProsodyTracks, first: int = 0, end: int | None = None) -> Prosody:
    """The :class:`Prosody` of frames ``first`` to ``end`` (exclusive) of ``tracks``.

    Raises
    ------
    NoSpeechError
        Less than ``MIN_SPEECH_S`` of voiced speech in those frames.
    """
    end = tracks.f0_hz.size if end is None else end
    f0, level = tracks.f0_hz[first:end], tracks.level_db[first:end]
    speech = tracks.speech[first:end]
    voiced = np.isfinite(f0) & speech
    if voiced.sum() * HOP_S < MIN_SPEECH_S:
        raise NoSpeechError("No speech could be measured in the recording (less than "
                            f"{MIN_SPEECH_S} s of voice was found).",
                            "Choose a recording in which the person can be heard speaking.")
    semitones = 12 * np.log2(f0[voiced])
    q05, q25, q75, q95 = np.percentile(semitones, [5, 25, 75, 95])
    l25, l50, l75 = np.percentile(level[speech], [25, 50, 75])
    speaking_s = float(speech.sum() * HOP_S)
    hop = int(round(HOP_S * tracks.sample_rate))
    tilt_db, brightness_hz = spectral_tilt(tracks.samples[first * hop:end * hop + hop],
                                           tracks.sample_rate, voiced)
    return Prosody(
        duration_s=(end - first) * HOP_S, speaking_s=speaking_s,
        voiced_s=float(voiced.sum() * HOP_S),
        f0_median_hz=float(np.median(f0[voiced])), f0_spread_st=float((q75 - q25) / 1.349),
        f0_range_st=float(q95 - q05), loudness_db=float(l50),
        loudness_spread_db=float(l75 - l25),
        rate_per_s=syllable_nuclei(level, voiced).size / speaking_s,
        pause_ratio=pause_ratio(speech), tilt_db=tilt_db, brightness_hz=brightness_hz)


def phrases(tracks: ProsodyTracks, *, min_pause_s: float = 0.3, min_speech_s: float = 1.0,
            max_s: float = 6.0) -> list[tuple[int, int]]:
    """Stretches of speech between pauses, as (first frame, end frame) pairs.

    Speech is cut at silences of ``min_pause_s`` or more; a stretch with less than
    ``min_speech_s`` of speech joins its neighbour; one longer than ``max_s`` is cut into
    equal parts. A recording without a pause is one phrase.
    """
    where = np.flatnonzero(tracks.speech)
    if where.size == 0:
        return []
    gap = int(round(min_pause_s / HOP_S))
    cuts = np.flatnonzero(np.diff(where) > gap)
    spans = [[int(a), int(b) + 1] for a, b in zip(np.r_[where[0], where[cuts + 1]],
                                                   np.r_[where[cuts], where[-1]])]
    merged: list[list[int]] = []
    for span in spans:
        if merged and (tracks.speech[merged[-1][0]:merged[-1][1]].sum() * HOP_S < min_speech_s
                       or tracks.speech[span[0]:span[1]].sum() * HOP_S < min_speech_s):
            merged[-1][1] = span[1]
        else:
            merged.append(span)
    result = []
    longest = int(round(max_s / HOP_S))
    for a, b in merged:
        parts = max(1, int(np.ceil((b - a) / longest)))
        edges = np.linspace(a, b, parts + 1).round().astype(int)
        result += list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    return result


def speech_frames(level_db: np.ndarray) -> np.ndarray:
    """Which frames are speech: above the noise floor and not far under the peak [bool, (F,)]."""
    floor = float(np.percentile(level_db, 5))
    peak = float(np.percentile(level_db, 99))
    return level_db > max(floor + SPEECH_OVER_NOISE_DB, peak - SPEECH_UNDER_PEAK_DB)


def pause_ratio(speech: np.ndarray, *, hop_s: float = HOP_S,
                min_pause_s: float = MIN_PAUSE_S) -> float:
    """Share of the span from first to last speech frame spent in gaps of ``min_pause_s``+."""
    where = np.flatnonzero(speech)
    if where.size < 2:
        return 0.0
    inner = speech[where[0]:where[-1] + 1]
    edges = np.diff(np.concatenate([[1], inner.astype(np.int8), [1]]))
    gaps = np.flatnonzero(edges == 1) - np.flatnonzero(edges == -1)
    paused = gaps[gaps * hop_s >= min_pause_s].sum()
    return float(paused / inner.size)


def syllable_nuclei(level_db: np.ndarray, voiced: np.ndarray, *, hop_s: float = HOP_S
                    ) -> np.ndarray:
    """Frames of syllable nuclei: voiced loudness peaks standing ``NUCLEUS_DIP_DB`` above their
    dips, at least 0.1 s apart (de Jong & Wempe, 2009) [shape=(K,), frame indices]."""
    smooth = np.convolve(level_db, np.hanning(7) / np.hanning(7).sum(), mode="same")
    floor = float(np.median(smooth[voiced])) - 15.0 if voiced.any() else np.inf
    peaks, _ = find_peaks(smooth, prominence=NUCLEUS_DIP_DB, height=floor,
                          distance=max(1, int(round(0.1 / hop_s))))
    return peaks[voiced[peaks]]


def spectral_tilt(samples: np.ndarray, sample_rate: int, frames: np.ndarray, *,
                  hop_s: float = HOP_S) -> tuple[float, float]:
    """Alpha ratio (dB, 1-4 kHz over 50 Hz-1 kHz) and spectral centroid (Hz, 50 Hz-4 kHz)
    of the power spectrum summed over the chosen frames (``frames``: bool, one per frame)."""
    hop = max(1, int(round(hop_s * sample_rate)))
    size = 1 << int(np.ceil(np.log2(WINDOW_S * sample_rate * 1.6)))
    chosen = np.flatnonzero(frames)
    padded = np.pad(np.asarray(samples, np.float64), (size // 2, size))
    power = np.zeros(size // 2 + 1)
    taper = np.hanning(size)
    for first in range(0, chosen.size, _BLOCK_FRAMES):
        starts = chosen[first:first + _BLOCK_FRAMES] * hop
        power += (np.abs(np.fft.rfft(padded[starts[:, None] + np.arange(size)] * taper)) ** 2
                  ).sum(0)
    hz = np.fft.rfftfreq(size, 1 / sample_rate)
    low = power[(hz >= 50) & (hz < 1000)].sum()
    high = power[(hz >= 1000) & (hz < 4000)].sum()
    band = (hz >= 50) & (hz < 4000)
    centroid = float((hz[band] * power[band]).sum() / max(power[band].sum(), 1e-20))
    return float(10 * np.log10(max(high, 1e-20) / max(low, 1e-20))), centroid


def _check_audio(samples: np.ndarray, sample_rate: int) -> None:
    if not (isinstance(sample_rate, (int, np.integer)) and sample_rate >= 8000):
        raise InputError(f"sample_rate={sample_rate!r} must be an integer of at least 8000 Hz.")
    if np.ndim(samples) != 1:
        raise InputError(f"samples must be mono (one dimension), got shape {np.shape(samples)}.")
