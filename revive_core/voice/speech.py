"""Offline text-to-speech with phoneme and word times taken from the engine itself.

English (voice ``en-us``) and Mandarin Chinese (voice ``cmn``) are spoken by libespeak-ng 1.52,
loaded through ctypes from the ``espeakng-loader`` package, which bundles the library and its
data. The engine reports each phoneme's start as it writes the audio, so the times returned here
are exact for the audio returned (to the sample), not estimated afterwards.

Phonemes
    Symbols are the IPA names espeak-ng gives its phonemes, with its stress marks (``ˈ``, ``ˌ``)
    removed, so ``hello`` is ``h ə l oʊ``. Length marks (``ː``) stay: they are part of the vowel.
    Real pauses are the symbol ``"_"``; zero-length events are left out. Each phoneme ends where
    the next event starts; the last ends at the end of the audio. The Mandarin voice reports
    neither tones nor tone digits in its phoneme events (tones live in the pitch of the audio)
    and names a few phonemes in espeak-ng's own way (``ph``, ``o-``).

Words
    One :class:`~revive_core.voice.timing.Word` per word of the input, in order, its text cut
    from the input (punctuation around it removed). A number spoken as several words ("42" ->
    "forty two") stays one word; Chinese words are the engine's own (``你好`` is one word). A
    word runs from its first to its last sounding phoneme.

Determinism
    espeak-ng keeps part of its synthesis state in static variables (pitch flutter, glottal
    cycle counters) that neither ``espeak_Initialize`` nor a voice change resets, so the same
    text came out slightly different on every call. Each call therefore loads the library
    afresh, initialises it, speaks and unloads it again (about 3 ms), under a lock: the same
    call gives byte-identical audio, in any order and any process. This holds as long as
    nothing else in the process keeps the same library file loaded. Phoneme times stay
    identical in any case, but the audio of a voice variant (``f2`` ...) was seen to change
    slightly after Piper (onnxruntime) had run in the same process.

Licence
    espeak-ng is GPL-3.0-or-later. Revive uses it only as a run-time library installed from its
    own package (``espeakng-loader``); no espeak-ng code or data is copied into Revive.
"""
from __future__ import annotations

import _ctypes
import collections
import ctypes
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.errors import InputError, ReviveError
from revive_core.text.language import detect_language
from revive_core.voice.timing import Phoneme, Speech, Word

__all__ = ["SUPPORTED_LANGUAGES", "MAX_TEXT_CHARS", "SILENCE", "synthesize"]

SUPPORTED_LANGUAGES = ("en", "zh")
MAX_TEXT_CHARS = 5000
RATE_RANGE_WPM = (80, 450)  # espeakRATE_MINIMUM, espeakRATE_MAXIMUM
SILENCE = "_"
_REINSTALL = "Run scripts/setup.sh again to reinstall it."

_VOICES = {"en": "en-us", "zh": "cmn"}
_STRESS_MARKS = str.maketrans("", "", "ˈˌ")

# speak_lib.h (API revision 12)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters, 1-based
        ("length", ctypes.c_int),  # characters, word events
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample index (what audio_position is computed from)
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class _Mark:
    """One event as the engine reported it: a word (``symbol`` None) or a phoneme."""

    symbol: str | None
    sample: int
    text_position: int = 0
    length: int = 0


_lock = threading.Lock()
_chunks: list[bytes] = []
_marks: list[_Mark] = []


def synthesize(text: str, *, language: str = "auto", rate_wpm: int = 165, pitch: int = 50,
               variant: str = "") -> Speech:
    """Speak a text and return the audio with the times of its phonemes and words.

    Parameters
    ----------
    text : str
        What to say, at most 5000 characters.
    language : str
        ``"en"``, ``"zh"`` or ``"auto"`` (see
        :func:`revive_core.text.language.detect_language`). Region suffixes such
        as ``"en-US"`` or ``"zh-CN"`` are accepted.
    rate_wpm : int
        Speaking rate in words per minute, 80 to 450.
    pitch : int
        Base pitch, 0 to 100 (espeak-ng's scale; 50 is the voice's own).
    variant : str
        An espeak-ng voice variant (``"f2"``, ``"m3"``, ``"klatt"`` ...) that changes the
        voice's timbre; empty for the plain voice.

    Returns
    -------
    Speech
        int16 mono audio at the engine's sample rate (22050 Hz), nothing trimmed; phonemes and
        words with times in seconds from the start of that audio. The same call always gives
        the same result.

    Raises
    ------
    InputError
        The text is empty, too long or has nothing to speak; the language or rate is not
        supported.
    ReviveError
        The speech library could not be loaded.
    """
    lang = _check_inputs(text, language, rate_wpm)
    if not (isinstance(pitch, int) and 0 <= pitch <= 100):
        raise InputError(f"pitch={pitch!r} must be an integer from 0 to 100.",
                         "50 is the voice's own.")
    if variant and not re.fullmatch(r"[a-z0-9_-]{1,20}", variant):
        raise InputError(f"The voice variant {variant!r} is not a variant name.",
                         "Use a name such as f2, m3 or klatt, or leave it empty.")
    voice = _VOICES[lang] + (f"+{variant}" if variant else "")
    with _lock:
        lib = _open_library()
        try:
            sample_rate, version = _initialise(lib)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ReviveError(f"The {voice} voice of the speech library could not be loaded.",
                                  _REINSTALL)
            lib.espeak_SetParameter(_PARAM_RATE, int(rate_wpm), 0)
            lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            _chunks.clear()
            _marks.clear()
            data = text.replace("\x00", " ").encode("utf-8", "replace")  # same length in characters
            status = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                      None, None)
            audio = np.frombuffer(b"".join(_chunks), dtype=np.int16).copy()
            marks = list(_marks)
        finally:
            _chunks.clear()
            _marks.clear()
            _close_library(lib)
    if status != 0:
        raise ReviveError(f"The speech library failed on this text (error {status}).",
                          "Try again; if it keeps failing, run scripts/setup.sh again.")
    phonemes, word_firsts = _timed_phonemes(marks, sample_rate, audio.shape[0])
    if not any(p.symbol != SILENCE for p in phonemes):
        raise _nothing_to_speak()
    return Speech(audio=audio, sample_rate=sample_rate, language=lang, text=text,
                  phonemes=phonemes,
                  words=_words(text, marks, word_firsts, phonemes, sample_rate),
                  engine=f"espeak-ng {version} ({voice})")


def _check_inputs(text: str, language: str, rate_wpm: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("There is no text to speak.", "Write the words you want said.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The text is {len(text)} characters long; one line can have at most "
                         f"{MAX_TEXT_CHARS}.", "Please split it into several lines.")
    code = str(language).strip().lower().replace("_", "-")
    if code != "auto":
        code = code.split("-")[0]
        if code == "cmn":
            code = "zh"
    if code not in SUPPORTED_LANGUAGES + ("auto",):
        raise InputError(f"The language '{language}' is not supported for speech.",
                         f"Choose one of: {', '.join(SUPPORTED_LANGUAGES)} (or auto).")
    lo, hi = RATE_RANGE_WPM
    if not lo <= rate_wpm <= hi:
        raise InputError(f"A speaking rate of {rate_wpm} words per minute is not possible.",
                         f"Choose a rate from {lo} to {hi}; 165 is an everyday pace.")
    if not any(ch.isalnum() for ch in text):
        raise _nothing_to_speak()
    script = _foreign_script(text)
    if script is not None:
        raise InputError(f"This text is written in the {script} script; Revive speaks English "
                         "and Mandarin Chinese only.", "Write the line in English or Chinese.")
    return detect_language(text) if code == "auto" else code


def _foreign_script(text: str) -> str | None:
    """The main script of a text whose letters are mostly neither Latin nor Chinese, else None.

    The voices would spell such letters out one by one ("Cyrillic letter pe ..."). Under a
    quarter of foreign letters (a name, a symbol) is left to the voice.
    """
    scripts = collections.Counter(unicodedata.name(ch, "?").split(" ")[0]
                                  for ch in text if ch.isalpha())
    foreign = {s: n for s, n in scripts.items() if s not in ("LATIN", "CJK", "FULLWIDTH")}
    if 4 * sum(foreign.values()) <= sum(scripts.values()):
        return None
    return max(foreign, key=foreign.get).title()


def _nothing_to_speak() -> InputError:
    return InputError("This text has no words that can be spoken.",
                      "Write the line with letters or Chinese characters.")


def _open_library() -> ctypes.CDLL:
    """Load a fresh instance of libespeak-ng (the caller holds the lock)."""
    try:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
    except (ImportError, OSError) as exc:
        raise ReviveError(f"The speech library (espeak-ng) could not be loaded ({exc}).",
                          _REINSTALL) from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Terminate.restype = ctypes.c_int
    return lib


def _initialise(lib: ctypes.CDLL) -> tuple[int, str]:
    """Start the engine with phoneme events in IPA; return its sample rate and version."""
    try:
        import espeakng_loader

        data = Path(espeakng_loader.get_data_path())
    except (ImportError, RuntimeError) as exc:
        raise ReviveError(f"The speech data of espeak-ng is missing ({exc}).",
                          _REINSTALL) from exc
    options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
    # path: the folder that contains espeak-ng-data (speak_lib.h)
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data.parent).encode(), options)
    if rate <= 0:
        raise ReviveError("The speech library (espeak-ng) could not start.", _REINSTALL)
    lib.espeak_SetSynthCallback(_callback)
    version = (lib.espeak_Info(None) or b"").decode("ascii", "replace").split()
    return rate, version[0] if version else ""


def _close_library(lib: ctypes.CDLL) -> None:
    """Free the engine and unload the library, so the next call starts from a clean state."""
    lib.espeak_Terminate()
    dlclose = getattr(_ctypes, "dlclose", None)
    if dlclose is not None:
        dlclose(lib._handle)


def _on_synth(wav, numsamples: int, events) -> int:  # noqa: ANN001 - ctypes pointers
    """Collect audio and the word and phoneme events as espeak-ng hands them over."""
    if wav and numsamples > 0:
        _chunks.append(ctypes.string_at(wav, numsamples * 2))
    i = 0
    while events and events[i].type != _EVENT_LIST_TERMINATED:
        ev = events[i]
        if ev.type == _EVENT_PHONEME:
            name = ev.id.string.decode("utf-8", "ignore")  # up to 8 bytes, may be cut short
            _marks.append(_Mark(name, ev.sample))
        elif ev.type == _EVENT_WORD:
            _marks.append(_Mark(None, ev.sample, ev.text_position, ev.length))
        i += 1
    return 0


_callback = _CALLBACK(_on_synth)


def _symbol(name: str) -> str:
    """IPA name of an event -> phoneme symbol; pauses and voice switches ("(en)") -> silence."""
    name = name.translate(_STRESS_MARKS).strip()
    return SILENCE if not name or name.startswith("(") or name.startswith("_") else name


def _timed_phonemes(marks: list[_Mark], rate: int, n_samples: int
                    ) -> tuple[list[Phoneme], list[int]]:
    """Phonemes with times, and for each word mark the index of the first phoneme after it."""
    samples = [max(m.sample, 0) for m in marks if m.symbol is not None]
    starts = np.minimum(np.maximum.accumulate(samples), n_samples) if samples else []
    phonemes: list[Phoneme] = []
    word_firsts: list[int] = []
    i = 0
    for mark in marks:
        if mark.symbol is None:
            word_firsts.append(len(phonemes))
            continue
        start = int(starts[i])
        end = int(starts[i + 1]) if i + 1 < len(starts) else n_samples
        i += 1
        if end <= start:
            continue
        symbol = _symbol(mark.symbol)
        if symbol == SILENCE and phonemes and phonemes[-1].symbol == SILENCE:
            phonemes[-1] = Phoneme(SILENCE, phonemes[-1].start_s, end / rate)
        else:
            phonemes.append(Phoneme(symbol, start / rate, end / rate))
    return phonemes, word_firsts


def _is_trim(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PZC"


def _word_range(text: str, position: int, length: int, limit: int) -> tuple[int, int]:
    """Characters of the input a word event stands for, extended over the rest of its word.

    espeak-ng can report a shorter length than the word it read ("I" of "I'm", "well" of
    "well-known", one character of a two-character Chinese word); the word is extended over
    letters, digits and inner apostrophes or hyphens, but never past the next word's start.
    """
    start = min(max(position - 1, 0), len(text))
    end = min(start + max(length, 1), len(text))
    while end < limit and (text[end].isalnum() or (text[end] in "'’-‐" and end + 1 < limit
                                                   and text[end + 1].isalnum())):
        end += 1
    while start < end and _is_trim(text[start]):
        start += 1
    while end > start and _is_trim(text[end - 1]):
        end -= 1
    return start, end


def _words(text: str, marks: list[_Mark], word_firsts: list[int], phonemes: list[Phoneme],
           rate: int) -> list[Word]:
    """Group word events into the words of the input and time them by their phonemes."""
    word_marks = [m for m in marks if m.symbol is None]
    positions = [max(m.text_position - 1, 0) for m in word_marks]
    bounds = word_firsts + [len(phonemes)]
    groups: list[list[int]] = []  # start char, end char, first phoneme, end phoneme, sample
    for k, mark in enumerate(word_marks):
        j = k + 1  # the next word that starts further on bounds this one
        while j < len(positions) and positions[j] <= positions[k]:
            j += 1
        limit = positions[j] if j < len(positions) else len(text)
        start, end = _word_range(text, mark.text_position, mark.length, limit)
        if groups and (end <= start or start < groups[-1][1]):
            # another spoken word of the same written one ("42" -> forty two), or nothing new
            if end > start:
                groups[-1][1] = max(groups[-1][1], end)
            groups[-1][3] = bounds[k + 1]
        elif end > start:
            groups.append([start, end, bounds[k], bounds[k + 1], mark.sample])
    words: list[Word] = []
    for start, end, first, stop, sample in groups:
        sounding = [p for p in phonemes[first:stop] if p.symbol != SILENCE]
        if sounding:
            words.append(Word(text[start:end], sounding[0].start_s, sounding[-1].end_s))
        else:
            words.append(Word(text[start:end], sample / rate, sample / rate))
    return words
