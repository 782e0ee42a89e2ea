"""`revive bench lipsync`: its test recordings, scoring, sentences file, table and JSON."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import revive_core.cli.main as cli
from revive_core.bench.lipsync import (LabelledRecording, boundary_errors, make_test_recording,
                                       read_sentences)
from revive_core.errors import InputError
from revive_core.voice.timing import Phoneme


def test_english_test_recording_is_piper_with_its_own_truth() -> None:
    recording = make_test_recording("en", "Bob met Pam.", seed=1)
    assert recording.sample_rate == 22050
    duration = recording.audio.size / recording.sample_rate
    symbols = [s for s, _, _ in recording.phonemes]
    assert symbols[:3] == ["b", "ɑː", "b"] and "p" in symbols and symbols[-1] == "m"
    starts = [a for _, a, _ in recording.phonemes]
    assert starts == sorted(starts) and 0.0 < starts[0] and recording.phonemes[-1][2] < duration
    # boundaries are phoneme starts that follow another phoneme directly
    for k, t in recording.boundaries:
        assert k > 0 and recording.phonemes[k][1] == pytest.approx(t)
    assert len(recording.words) == 3
    # noise at 20 dB SNR: the quiet start is not digital silence
    assert 1e-4 < np.std(recording.audio[:200]) < 0.05


def test_mandarin_test_recording_uses_another_espeak_voice() -> None:
    a = make_test_recording("zh", "你好，我很想你。", seed=1)
    b = make_test_recording("zh", "你好，我很想你。", seed=2)
    assert a.audio.size != b.audio.size  # rate, pitch and voice vary with the seed
    assert [s for s, _, _ in a.phonemes] == [s for s, _, _ in b.phonemes]
    again = make_test_recording("zh", "你好，我很想你。", seed=1)
    assert again.phonemes == a.phonemes and again.audio.size == a.audio.size


def test_boundary_errors_match_phonemes_by_their_letters() -> None:
    truth = LabelledRecording(np.zeros(10), 100, [("h", 0.0, 0.1), ("ə", 0.1, 0.2), ("l", 0.2, 0.3),
                                                  ("o", 0.3, 0.35), ("ʊ", 0.35, 0.4)],
                              [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.35)], [(0.0, 0.4)])
    found = [Phoneme("_", 0.0, 0.02), Phoneme("h", 0.02, 0.11), Phoneme("ə", 0.11, 0.23),
             Phoneme("l", 0.23, 0.28), Phoneme("oʊ", 0.28, 0.4)]
    errors = boundary_errors(truth, found)
    # ə +10 ms, l +30 ms, o -20 ms; ʊ is inside the aligner's oʊ: not scored
    np.testing.assert_allclose(sorted(errors), [0.01, 0.02, 0.03])


def test_sentences_file_format(tmp_path: Path) -> None:
    good = tmp_path / "s.tsv"
    good.write_text("# mine\nen\tHello there.\n\nzh\t你好。\n", encoding="utf-8")
    assert read_sentences(good) == [("en", "Hello there."), ("zh", "你好。")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("fr\tBonjour\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_sentences(bad)
    assert "Line 1" in info.value.message and info.value.hint
    with pytest.raises(InputError):
        read_sentences(tmp_path / "missing.tsv")


def test_default_sentences_cover_both_languages() -> None:
    from revive_core.bench.lipsync import SENTENCES

    languages = [lang for lang, _ in read_sentences(SENTENCES)]
    assert languages.count("en") >= 10 and languages.count("zh") >= 10


@pytest.mark.slow
def test_bench_command_prints_a_table_and_writes_json(tmp_path: Path, capsys) -> None:
    sentences = tmp_path / "s.tsv"
    sentences.write_text("en\tWe planted the apple tree behind the house.\n"
                         "zh\t我们一起去公园散步吧。\n", encoding="utf-8")
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "lipsync", "--sentences", str(sentences), "--json", str(out),
                     "--no-real"]) == 0
    table = capsys.readouterr().out
    assert "median ms" in table and "p90 ms" in table and "take xRT" in table
    result = json.loads(out.read_text())
    for language in ("en", "zh"):
        r = result[language]
        assert {"median_ms", "p90_ms", "word_error", "x_realtime", "n"} <= set(r)
        assert r["n"] == 1 and r["boundaries"] >= 10
        assert 0.0 <= r["median_ms"] <= r["p90_ms"] < 150.0
        assert r["x_realtime"] > 1.0
