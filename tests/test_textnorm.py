"""Text normalisation: numbers, dates, times, money, mixed Chinese-English, pauses."""
from __future__ import annotations

import pytest

from revive_core.errors import InputError
from revive_core.voice.speech import synthesize
from revive_core.voice.textnorm import normalize, number_en, number_zh


@pytest.mark.parametrize(("n", "words"), [
    (0, "zero"), (7, "seven"), (15, "fifteen"), (42, "forty-two"), (100, "one hundred"),
    (101, "one hundred one"), (1952, "one thousand nine hundred fifty-two"),
    (2_000_017, "two million seventeen"), (-3, "minus three"),
])
def test_number_en(n: int, words: str) -> None:
    assert number_en(n) == words


@pytest.mark.parametrize(("n", "chars"), [
    (0, "零"), (10, "十"), (15, "十五"), (101, "一百零一"), (110, "一百一十"), (1001, "一千零一"),
    (10010, "一万零一十"), (100000, "十万"), (100000000, "一亿"), (1000000001, "十亿零一"),
])
def test_number_zh(n: int, chars: str) -> None:
    assert number_zh(n) == chars


@pytest.mark.parametrize(("text", "spoken"), [
    ("Born 1952-05-01, $12.50", "Born May first, nineteen fifty-two, twelve dollars fifty"),
    ("the 21st time", "the twenty-first time"),
    ("at 3:30 pm", "at three thirty p m"),
    ("at 10:00", "at ten o'clock"),
    ("in 2005 and 1905", "in two thousand five and nineteen oh five"),
    ("50% of 1,250 books", "fifty percent of one thousand two hundred fifty books"),
    ("call 5551234567", "call five five five one two three four five six seven"),
    ("Dr. Smith, 12 St. John Rd.", "doctor Smith, twelve saint John road"),
    ("3.25 kg", "three point two five kg"),
])
def test_english_normalisation(text: str, spoken: str) -> None:
    assert normalize(text, language="en") == spoken


@pytest.mark.parametrize(("text", "spoken"), [
    ("我1952年5月1日出生", "我一九五二年五月一日出生"),
    ("今年78岁，50%的人", "今年七十八岁，百分之五十的人"),
    ("3.5公斤", "三点五公斤"),
    ("下午2:30见", "下午两点三十分见"),
    ("一共¥20.5", "一共二十点五元"),
    ("2023-05-01", "二零二三年五月一日"),
])
def test_chinese_normalisation(text: str, spoken: str) -> None:
    assert normalize(text, language="zh") == spoken


def test_mixed_sentence_reads_each_number_in_the_language_around_it() -> None:
    assert normalize("我爱Python 3，born in 1952，我1952年出生") == \
        "我爱Python three，born in nineteen fifty-two，我一九五二年出生"
    # full-width digits become ASCII first; Chinese punctuation is kept
    assert normalize("我有２个孩子。") == "我有两个孩子。"


def test_normalised_dates_are_spoken_as_words_by_the_engine() -> None:
    plain = synthesize("Born on 2023-05-01.", language="en")
    normalised = synthesize(normalize("Born on 2023-05-01.", language="en"), language="en")
    assert "May" in [w.text for w in normalised.words]
    assert [w.text for w in plain.words] != [w.text for w in normalised.words]


def test_dashes_and_tildes_become_pauses_the_engine_makes() -> None:
    assert normalize("我们——你们～他们") == "我们，你们，他们"
    assert normalize("about ~5 km") == "about ~five km"
    pauses = [p.end_s - p.start_s for p in synthesize(normalize("我们——你们"), language="zh").phonemes
              if p.symbol == "_"]
    assert max(pauses) > 0.15


def test_bad_arguments() -> None:
    with pytest.raises(InputError):
        normalize("hello", language="fr")
    with pytest.raises(InputError):
        number_en(10**13)
