"""Tests of `revive bench emotion`: scores, the JSON it writes, and bad data files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from revive_core.cli.main import main
from revive_core.bench.emotion import _macro_f1, read_dataset
from revive_core.emotion.lexicon import EMOTIONS
from revive_core.errors import InputError
from revive_core.assets import asset_path

DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("name", ["emotion", "emotion_holdout"])
def test_shipped_sets_have_at_least_100_varied_sentences_per_language(name: str) -> None:
    for lang in ("en", "zh"):
        rows = read_dataset(DATA / f"{name}_{lang}.jsonl")
        assert len(rows) >= 100 and {r["lang"] for r in rows} == {lang}
        assert {r["label"] for r in rows} == set(EMOTIONS)
        assert len({r["text"] for r in rows}) == len(rows)


def test_holdout_set_shares_no_sentence_with_the_tuning_set_or_the_examples() -> None:
    holdout = {r["text"] for lang in ("en", "zh")
               for r in read_dataset(DATA / f"emotion_holdout_{lang}.jsonl")}
    tuning = {r["text"] for lang in ("en", "zh")
              for r in read_dataset(DATA / f"emotion_{lang}.jsonl")}
    examples_dir = asset_path("emotion")
    examples = {json.loads(line)["text"] for path in examples_dir.glob("examples_*.jsonl")
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not holdout & tuning and not holdout & examples and not tuning & examples


def test_macro_f1_by_hand() -> None:
    confusion = np.zeros((7, 7), dtype=int)
    # joy: precision 1, recall 2/3; sadness: precision 1/2, recall 1
    confusion[0, 0], confusion[0, 1], confusion[1, 1] = 2, 1, 1
    assert _macro_f1(confusion) == pytest.approx((0.8 + 2 / 3) / 2)


@pytest.mark.slow
def test_bench_command_meets_the_target_on_the_held_out_set(tmp_path: Path, capsys) -> None:
    out = tmp_path / "scores.json"
    assert main(["bench", "emotion", "--data", str(DATA / "emotion_holdout_en.jsonl"),
                 str(DATA / "emotion_holdout_zh.jsonl"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "Confusion (zh)" in printed
    scores = json.loads(out.read_text())
    for lang in ("en", "zh"):
        assert set(scores[lang]) >= {"accuracy", "macro_f1", "n"}
        assert scores[lang]["n"] == 105
        assert scores[lang]["macro_f1"] >= 0.70
        assert np.asarray(scores[lang]["confusion"]).sum() == 105


def test_bad_data_files_are_refused_kindly(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "label": "happy", "lang": "en"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 1"):
        read_dataset(bad)
    assert main(["bench", "emotion", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err
