"""Tests of revive_core.emotion: lexicon labels, negation, intensity and sentence splitting."""
from __future__ import annotations

import pytest

from revive_core.emotion import (EMOTIONS, EmotionLabel, classify, classify_sentences,
                                 split_sentences)
from revive_core.errors import InputError

CLEAR_CASES = [
    ("I am so proud of you.", "joy"),
    ("Happy birthday, sweetheart!", "joy"),
    ("I miss you every day.", "sadness"),
    ("I'm sorry I wasn't there.", "sadness"),
    ("I am really angry with you.", "anger"),
    ("I'm afraid of the dark.", "fear"),
    ("Wow, I can't believe it!", "surprise"),
    ("That is disgusting.", "disgust"),
    ("我真为你骄傲。", "joy"),
    ("今天我很开心！", "joy"),
    ("我好想你。", "sadness"),
    ("我很难过。", "sadness"),
    ("你让我很生气！", "anger"),
    ("我好害怕。", "fear"),
    ("天哪，你居然来了！", "surprise"),
    ("太恶心了。", "disgust"),
]


@pytest.mark.parametrize(("text", "label"), CLEAR_CASES)
def test_classify_finds_the_clear_emotion_in_both_languages(text: str, label: str) -> None:
    result = classify(text)
    assert result.label == label
    assert 0.0 < result.intensity <= 1.0


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_emotion_has_clear_cases_in_each_language(language: str) -> None:
    is_zh = [any("\u4e00" <= ch <= "\u9fff" for ch in text) for text, _ in CLEAR_CASES]
    labels = {label for (_, label), zh in zip(CLEAR_CASES, is_zh) if zh == (language == "zh")}
    assert labels == set(EMOTIONS) - {"neutral"}


@pytest.mark.parametrize("text", ["See you tomorrow at the station.", "我们明天去公园。", "", "...",
                                  "恐怕要下雨了。"])
def test_text_without_emotion_words_is_neutral(text: str) -> None:
    assert classify(text) == EmotionLabel("neutral", 0.0)


@pytest.mark.parametrize("text", ["I am not happy.", "I'm not happy at all", "我不开心。"])
def test_negated_joy_reads_as_sadness(text: str) -> None:
    assert classify(text).label == "sadness"


@pytest.mark.parametrize("text", ["Don't be afraid.", "I am not angry.", "别怕。", "我一点也不害怕。"])
def test_negated_negative_emotion_is_not_that_emotion(text: str) -> None:
    assert classify(text).label == "neutral"


def test_intensifiers_and_exclamations_raise_intensity() -> None:
    plain = classify("I am happy").intensity
    strong = classify("I am so very happy!!").intensity
    assert classify("I am so very happy!!").label == "joy"
    assert plain < classify("I am very happy").intensity < strong
    assert classify("我开心").intensity < classify("我非常开心").intensity < classify("我非常开心！！").intensity


def test_intensifier_before_chinese_negation_strengthens_the_sadness() -> None:
    assert classify("我很不开心").intensity > classify("我不开心").intensity


def test_softener_lowers_intensity() -> None:
    assert classify("I am a bit worried").intensity < classify("I am worried").intensity
    assert classify("我有点担心").intensity < classify("我担心").intensity


def test_interrobang_alone_suggests_surprise() -> None:
    assert classify("What?!").label == "surprise"


def test_classify_sentences_labels_each_sentence_in_order() -> None:
    result = classify_sentences("Hello there. I miss you so much! 我今天很开心。你呢？")
    assert [s for s, _ in result] == ["Hello there.", "I miss you so much!", "我今天很开心。", "你呢？"]
    assert [label.label for _, label in result] == ["neutral", "sadness", "joy", "neutral"]


def test_split_sentences_keeps_decimal_numbers_and_drops_bare_punctuation() -> None:
    assert split_sentences("It cost 3.5 dollars. Really?! ... 好的。") == [
        "It cost 3.5 dollars.", "Really?!", "好的。"]


def test_language_option_limits_the_lexicon() -> None:
    assert classify("我很开心", language="en").label == "neutral"
    assert classify("I am happy", language="zh").label == "neutral"
    assert classify("我很开心", language="zh").label == "joy"


def test_bad_arguments_raise_input_error() -> None:
    with pytest.raises(InputError):
        classify("hello", language="fr")
    with pytest.raises(InputError):
        classify(42)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        EmotionLabel("happy", 0.5)
    with pytest.raises(InputError):
        EmotionLabel("joy", 1.5)
