"""Speech synthesis with the real espeak-ng library: audio, phoneme and word times, errors."""
from __future__ import annotations

import re

import numpy as np
import pytest

from revive_core.errors import InputError, ReviveError
from revive_core.text.language import detect_language
from revive_core.voice.speech import SUPPORTED_LANGUAGES, synthesize
from revive_core.voice.timing import Speech

EPS = 1e-6


def _rms(speech: Speech, start_s: float, end_s: float) -> float:
    rate = speech.sample_rate
    a = speech.audio[int(round(start_s * rate)):int(round(end_s * rate))]
    assert a.size > 0, "empty window"
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def _check_timeline(speech: Speech) -> None:
    assert speech.phonemes, "no phonemes"
    previous_end = 0.0
    for p in speech.phonemes:
        assert isinstance(p.symbol, str) and p.symbol.strip() == p.symbol and p.symbol
        assert p.start_s >= previous_end - EPS, "phonemes overlap or go back in time"
        assert p.end_s > p.start_s, "zero-length phoneme kept"
        previous_end = p.end_s
    assert speech.phonemes[-1].end_s <= speech.duration_s + EPS
    previous_end = 0.0
    for w in speech.words:
        assert w.start_s >= previous_end - EPS and w.end_s >= w.start_s
        assert w.end_s <= speech.duration_s + EPS
        previous_end = w.end_s


def test_english_sentence():
    text = "Hello world, this is the voice you remember."
    s = synthesize(text, language="en")
    assert s.language == "en" and s.text == text and s.engine.startswith("espeak-ng")
    assert s.sample_rate == 22050
    assert s.audio.dtype == np.int16 and s.audio.ndim == 1
    assert 1.5 < s.duration_s < 6.0
    _check_timeline(s)
    symbols = [p.symbol for p in s.phonemes if p.symbol != "_"]
    assert 25 <= len(symbols) <= 60
    assert not any(mark in sym for sym in symbols for mark in "ˈˌ")
    assert symbols[:4] == ["h", "ə", "l", "oʊ"]
    assert [w.text for w in s.words] == re.findall(r"\w+", text)


def test_words_keep_the_written_form():
    s = synthesize("I'm well-known, born in 1952.")
    assert [w.text for w in s.words] == ["I'm", "well-known", "born", "in", "1952"]
    _check_timeline(s)
    # "1952" is spoken as several words but stays one word spanning all of them
    year = s.words[-1]
    inside = [p for p in s.phonemes if year.start_s - EPS <= p.start_s < year.end_s]
    assert len(inside) >= 10


def test_silence_before_the_first_phoneme():
    s = synthesize("Hello world")
    first = s.phonemes[0]
    assert first.symbol == "h" and first.start_s > 0.005
    speaking = _rms(s, first.start_s, s.phonemes[-1].end_s)
    assert speaking > 500
    assert _rms(s, 0.0, first.start_s) < 0.02 * speaking


def test_pause_is_silent_where_the_phonemes_say_so():
    s = synthesize("Hello. ... Goodbye.")
    assert [w.text for w in s.words] == ["Hello", "Goodbye"]
    pauses = [p for p in s.phonemes if p.symbol == "_" and p.end_s - p.start_s > 0.15]
    assert len(pauses) == 1
    pause = pauses[0]
    hello, goodbye = s.words
    assert hello.end_s <= pause.start_s + EPS and goodbye.start_s >= pause.end_s - EPS
    voiced = [_rms(s, p.start_s, p.end_s) for p in s.phonemes if p.symbol in ("oʊ", "aɪ")]
    assert len(voiced) == 2 and min(voiced) > 1000
    assert _rms(s, pause.start_s, pause.end_s) < 0.02 * min(voiced)
    # and sound comes back right after the pause
    assert _rms(s, goodbye.start_s, goodbye.end_s) > 10 * _rms(s, pause.start_s, pause.end_s) + 1


def test_mandarin():
    text = "你好，我很想你。"
    s = synthesize(text)
    assert s.language == "zh" and s.engine.endswith("(cmn)")
    assert s.audio.size > s.sample_rate // 2
    _check_timeline(s)
    sounding = [p for p in s.phonemes if p.symbol != "_"]
    assert len(sounding) >= 12
    assert all(type(p.symbol) is str for p in s.phonemes)
    assert "".join(w.text for w in s.words) == "你好我很想你"
    assert s.words[0].text == "你好"


def test_mandarin_with_an_english_word():
    s = synthesize("我爱Python。")
    assert s.language == "zh"
    assert [w.text for w in s.words] == ["我", "爱", "Python"]
    # espeak's "(en)" / "(cmn)" voice switches are not phonemes
    assert not any(p.symbol.startswith("(") for p in s.phonemes)
    _check_timeline(s)


def test_same_call_gives_identical_output():
    first = synthesize("Hello. ... Goodbye.")
    synthesize("你好，我很想你。")
    synthesize("Something else entirely, said a little faster.", rate_wpm=220)
    again = synthesize("Hello. ... Goodbye.")
    assert first.audio.tobytes() == again.audio.tobytes()
    assert first.phonemes == again.phonemes and first.words == again.words


def test_rate_changes_duration():
    slow = synthesize("We will always remember you.", rate_wpm=120)
    fast = synthesize("We will always remember you.", rate_wpm=240)
    assert fast.duration_s < 0.75 * slow.duration_s
    assert [p.symbol for p in fast.phonemes if p.symbol != "_"] == [
        p.symbol for p in slow.phonemes if p.symbol != "_"]


@pytest.mark.parametrize(
    ("text", "kwargs", "fragment"),
    [
        ("", {}, "no text"),
        ("   \n\t", {}, "no text"),
        ("a" * 6000, {}, "6000 characters"),
        ("Hello", {"language": "xx"}, "'xx' is not supported"),
        ("...!?", {}, "no words that can be spoken"),
        ("Hello", {"rate_wpm": 10}, "rate"),
    ],
)
def test_input_errors(text, kwargs, fragment):
    with pytest.raises(InputError) as info:
        synthesize(text, **kwargs)
    assert fragment in info.value.message
    assert info.value.hint


def test_long_text_hint_and_language_list():
    with pytest.raises(InputError) as info:
        synthesize("word " * 1200)
    assert "split it into several lines" in info.value.hint
    with pytest.raises(InputError) as info:
        synthesize("Hello", language="fr")
    assert all(code in info.value.hint for code in SUPPORTED_LANGUAGES)


def test_language_codes_with_regions():
    assert synthesize("Hello", language="en-GB").language == "en"
    assert synthesize("你好", language="zh_CN").language == "zh"


def test_missing_library_is_a_revive_error(monkeypatch):
    import espeakng_loader

    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: "/nonexistent/libespeak-ng.so")
    with pytest.raises(ReviveError) as info:
        synthesize("Hello")
    assert "setup" in info.value.hint
    monkeypatch.undo()
    assert synthesize("Hello").audio.size > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好，我很想你。", "zh"),
        ("Hello, I miss you.", "en"),
        ("我爱Python", "zh"),
        ("I learned one word: 爱", "en"),
        ("", "en"),
        ("12345", "en"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_pitch_and_voice_variant_change_the_voice_not_the_phonemes():
    plain = synthesize("We will always remember you.")
    other = synthesize("We will always remember you.", pitch=80, variant="f2")
    assert other.engine.endswith("(en-us+f2)")
    assert [p.symbol for p in other.phonemes] == [p.symbol for p in plain.phonemes]
    assert other.audio.tobytes() != plain.audio.tobytes()
    with pytest.raises(InputError):
        synthesize("Hello", pitch=120)
    with pytest.raises(InputError):
        synthesize("Hello", variant="../../etc")
