"""Tests of revive_core.emotion.classify: the built-in classifier (lexicon + embeddings), the lexicon's
negation and intensity rules, sentence splitting, local classifiers by path, the command."""
from __future__ import annotations

import json

import pytest

from revive_core.cli.main import main
from revive_core.emotion.classify import (EMOTIONS, EmotionLabel, classify, classify_sentences,
                                          load_classifier)
from revive_core.errors import InputError
from revive_core.text.language import detect_language
from revive_core.text.sentences import split_sentences
from tiny_models import save_tiny_classifier

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
                                  "Hello there.", "你呢？"])
def test_plain_statements_are_neutral(text: str) -> None:
    assert classify(text) == EmotionLabel("neutral", 0.0)


def test_lexicon_blocks_words_that_only_contain_an_emotion_word() -> None:
    assert classify("恐怕要下雨了。", classifier="lexicon") == EmotionLabel("neutral", 0.0)
    assert classify("我特别满意。", classifier="lexicon").label == "joy"  # 特别 is not 别 ("don't")


@pytest.mark.parametrize(("text", "label"), [
    ("Since Mum went into the home, the house is so quiet.", "sadness"),
    ("他又没打招呼就把我的车开走了，还刮花了。", "anger"),  # the lexicon alone reads 走了 as sadness
    ("她把冰箱里放了一个月的剩菜拿出来吃，真受不了那个味。", "disgust"),
    ("老伴走了以后，家里再也没有人等我吃饭。", "sadness"),
])
def test_builtin_classifier_reads_emotion_beyond_the_lexicon(text: str, label: str) -> None:
    assert classify(text).label == label


def test_lexicon_alone_misses_what_the_embeddings_find() -> None:
    assert classify("Since Mum went into the home, the house is so quiet.",
                    classifier="lexicon").label == "neutral"
    assert classify("他又没打招呼就把我的车开走了，还刮花了。", classifier="lexicon").label == "sadness"


@pytest.mark.parametrize("text", ["I am not happy.", "I'm not happy at all", "我不开心。"])
def test_negated_joy_reads_as_sadness(text: str) -> None:
    assert classify(text).label == "sadness"


@pytest.mark.parametrize("text", ["Don't be afraid.", "I am not angry.", "别怕。", "我一点也不害怕。"])
@pytest.mark.parametrize("classifier", ["builtin", "lexicon"])
def test_negated_negative_emotion_is_not_that_emotion(text: str, classifier: str) -> None:
    assert classify(text, classifier=classifier).label == "neutral"


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
    assert classify("我很开心", language="en", classifier="lexicon").label == "neutral"
    assert classify("I am happy", language="zh", classifier="lexicon").label == "neutral"
    assert classify("我很开心", language="zh", classifier="lexicon").label == "joy"


def test_detect_language() -> None:
    assert detect_language("奶奶也想你呀，宝贝。") == "zh"
    assert detect_language("I miss you, 宝贝") == "en"


def test_local_classifier_labels_are_mapped_onto_the_seven(tmp_path) -> None:
    # Random weights: the labels are noise, but each must be one of the seven, and "other-thing"
    # (which maps to none) never appears.
    labels = ["happiness", "sad", "angry", "fear", "surprise", "disgust", "others", "other-thing"]
    folder = save_tiny_classifier(tmp_path / "model", labels)
    classifier = load_classifier(folder)
    results = classify_sentences("I miss you. 我很开心！ What a day?!", classifier=classifier)
    assert [s for s, _ in results] == ["I miss you.", "我很开心！", "What a day?!"]
    for _, label in results:
        assert label.label in EMOTIONS
        assert label.intensity == 0.0 if label.label == "neutral" else 0.0 < label.intensity <= 1.0


def test_local_classifier_without_emotion_labels_is_refused(tmp_path) -> None:
    folder = save_tiny_classifier(tmp_path / "model", ["spam", "ham"])
    with pytest.raises(InputError, match="None of the labels"):
        load_classifier(folder)
    with pytest.raises(InputError, match="not found"):
        load_classifier(tmp_path / "missing")


def test_emotion_command_prints_each_sentence(capsys) -> None:
    assert main(["emotion", "I miss you so much. 今天我很开心！", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["text"], r["label"]) for r in rows] == [("I miss you so much.", "sadness"),
                                                       ("今天我很开心！", "joy")]
    assert main(["emotion", "..."]) == 2


def test_shipped_fit_matches_the_examples() -> None:
    # After editing assets/emotion/examples_*.jsonl run `python -m revive_core.emotion.classify`.
    import revive_core.emotion.classify as emotion
    from revive_core.text.sentence_embedding import load_encoder

    _, _, digest = emotion._examples()
    assert emotion._load_fitted(load_encoder().name, digest) is not None


def test_bad_arguments_raise_input_error() -> None:
    with pytest.raises(InputError):
        classify("hello", language="fr")
    with pytest.raises(InputError):
        classify(42)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        EmotionLabel("happy", 0.5)
    with pytest.raises(InputError):
        EmotionLabel("joy", 1.5)
