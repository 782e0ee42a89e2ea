"""Label a line of text with one emotion and an intensity (English and Mandarin Chinese).

The foundation version works from a small hand-written lexicon of words and phrases typical of
family conversation ("miss you", "proud of you", 想你, 开心, 天哪 ...). Each match adds its weight
to its emotion; the words just before a match change it:

- negation ("not", "don't", "never", 不, 没, 别 ...) turns joy into sadness at a lower weight and
  cancels the other emotions ("not afraid", 不怕 are calm, not fearful);
- intensifiers ("very", "so", "really", 很, 非常, 太 ...) multiply the weight by 1.5 each, softeners
  ("a bit", 有点) by 0.6;
- every exclamation mark of the sentence (up to three) raises the sentence's scores by 20 %;
  "?!" on its own suggests surprise.

The emotion with the highest total wins; its intensity is ``tanh(0.8 * score)`` (0..1). Nothing
matched: ``neutral`` with intensity 0. The lexicon is the project's own data, written for Revive.

Functions
    classify            one label for the whole text
    classify_sentences  one label per sentence
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import InputError

__all__ = ["EMOTIONS", "EmotionLabel", "classify", "classify_sentences", "split_sentences"]

EMOTIONS: tuple[str, ...] = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")
LANGUAGES = ("auto", "en", "zh")
MAX_TEXT_CHARS = 100_000

INTENSIFY = 1.5
SOFTEN = 0.6
NEGATED_JOY = 0.7  # "not happy" counts as sadness at this fraction of the weight
EXCLAMATION_GAIN = 0.2
SURPRISE_INTERROBANG = 0.5
INTENSITY_SLOPE = 0.8

# Lexicon: emotion -> {word or phrase: weight}. English entries are lower-case words separated by
# single spaces and match whole words; Chinese entries match as substrings, longest first.
# A weight of 0 (label "") blocks a longer expression from matching as its emotional part
# (恐怕 "I'm afraid that" is not fear, 麻烦你 "would you please" is not anger).
_EN: dict[str, dict[str, float]] = {
    "joy": {
        "happy": 0.8, "happier": 0.9, "happiest": 1.0, "happiness": 0.8, "glad": 0.7,
        "joy": 0.8, "joyful": 0.8, "delighted": 0.9, "wonderful": 0.7, "great": 0.4,
        "love": 0.7, "loved": 0.7, "loves": 0.7, "lovely": 0.6, "love you": 0.9,
        "proud": 0.8, "proud of you": 1.0, "excited": 0.8, "exciting": 0.7, "fun": 0.5,
        "laugh": 0.6, "laughed": 0.6, "laughing": 0.6, "smile": 0.5, "smiling": 0.5,
        "thank": 0.5, "thanks": 0.5, "thankful": 0.6, "grateful": 0.7, "blessed": 0.7,
        "amazing": 0.6, "awesome": 0.6, "beautiful": 0.5, "cheerful": 0.7, "celebrate": 0.7,
        "congratulations": 0.8, "congrats": 0.8, "yay": 0.8, "hooray": 0.8, "enjoy": 0.6,
        "enjoyed": 0.6, "fantastic": 0.7, "perfect": 0.5, "pleased": 0.6, "good": 0.3,
        "nice": 0.4, "sweet": 0.4, "happy birthday": 0.9, "can't wait": 0.7,
        "cannot wait": 0.7, "well done": 0.7, "good job": 0.7, "haha": 0.7, "hug": 0.4,
    },
    "sadness": {
        "sad": 0.8, "sadly": 0.6, "sadness": 0.8, "unhappy": 0.8, "sorry": 0.6, "miss": 0.6,
        "missed": 0.6, "missing": 0.5, "miss you": 0.8, "lonely": 0.8, "alone": 0.5,
        "cry": 0.7, "cried": 0.7, "crying": 0.7, "tears": 0.7, "grief": 0.9, "grieve": 0.8,
        "heartbroken": 1.0, "broken heart": 0.9, "hurt": 0.6, "hurts": 0.6, "depressed": 0.9,
        "upset": 0.6, "regret": 0.7, "gone": 0.4, "lost": 0.5, "loss": 0.6, "pain": 0.6,
        "painful": 0.6, "goodbye": 0.5, "disappointed": 0.7, "disappointing": 0.6,
        "unfortunately": 0.5, "passed away": 0.8, "died": 0.7, "funeral": 0.7,
        "wish you were here": 0.9, "sigh": 0.5, "miserable": 0.9,
    },
    "anger": {
        "angry": 0.9, "anger": 0.8, "mad": 0.7, "furious": 1.0, "annoyed": 0.6,
        "annoying": 0.6, "irritated": 0.6, "hate": 0.8, "hated": 0.8, "rage": 0.9,
        "outraged": 0.9, "fed up": 0.7, "frustrated": 0.6, "frustrating": 0.6, "unfair": 0.6,
        "damn": 0.6, "how dare": 0.9, "stupid": 0.5, "ridiculous": 0.5, "shut up": 0.8,
        "yelled": 0.5, "sick of": 0.7, "livid": 1.0,
    },
    "fear": {
        "afraid": 0.8, "scared": 0.8, "scary": 0.7, "fear": 0.8, "frightened": 0.9,
        "terrified": 1.0, "terrifying": 0.9, "worried": 0.7, "worry": 0.6, "worries": 0.6,
        "anxious": 0.7, "nervous": 0.6, "panic": 0.8, "dread": 0.8, "danger": 0.6,
        "dangerous": 0.6, "alarmed": 0.7, "horrified": 0.8, "be careful": 0.4,
    },
    "surprise": {
        "surprise": 0.8, "surprised": 0.8, "surprising": 0.7, "wow": 0.8, "whoa": 0.8,
        "oh my god": 0.9, "oh my": 0.7, "my goodness": 0.7, "unbelievable": 0.7,
        "can't believe": 0.8, "cannot believe": 0.8, "incredible": 0.6, "astonished": 0.9,
        "amazed": 0.8, "shocked": 0.8, "unexpected": 0.7, "no way": 0.7, "guess what": 0.6,
        "suddenly": 0.4,
    },
    "disgust": {
        "disgusting": 1.0, "disgusted": 1.0, "disgust": 0.9, "gross": 0.8, "yuck": 0.9,
        "eww": 0.9, "ew": 0.9, "nasty": 0.8, "revolting": 0.9, "vile": 0.8, "filthy": 0.7,
        "rotten": 0.6, "stinks": 0.7, "makes me sick": 1.0, "repulsive": 0.9,
    },
}

_ZH: dict[str, dict[str, float]] = {
    "joy": {
        "开心": 0.8, "高兴": 0.8, "快乐": 0.8, "幸福": 0.9, "喜欢": 0.6, "爱你": 0.9, "爱": 0.5,
        "骄傲": 0.8, "自豪": 0.8, "哈哈": 0.7, "笑": 0.4, "太好了": 0.9, "好棒": 0.8,
        "真棒": 0.8, "棒": 0.5, "谢谢": 0.5, "感谢": 0.6, "感恩": 0.7, "欣慰": 0.8,
        "满足": 0.6, "兴奋": 0.8, "激动": 0.6, "期待": 0.6, "美好": 0.6, "祝福": 0.6,
        "生日快乐": 0.9, "恭喜": 0.8, "了不起": 0.7, "温暖": 0.5, "可爱": 0.5,
    },
    "sadness": {
        "难过": 0.8, "伤心": 0.9, "悲伤": 0.9, "想你": 0.8, "思念": 0.8, "想念": 0.8,
        "对不起": 0.6, "抱歉": 0.6, "遗憾": 0.7, "孤单": 0.8, "孤独": 0.8, "寂寞": 0.8,
        "哭": 0.7, "眼泪": 0.7, "流泪": 0.8, "心痛": 0.9, "心疼": 0.6, "舍不得": 0.8,
        "失望": 0.7, "痛苦": 0.9, "可惜": 0.6, "去世": 0.8, "再见": 0.4, "委屈": 0.7,
        "郁闷": 0.7, "唉": 0.6, "悲": 0.6,
    },
    "anger": {
        "生气": 0.9, "愤怒": 1.0, "气死": 1.0, "讨厌": 0.7, "烦": 0.6, "烦死": 0.9,
        "恼火": 0.8, "火大": 0.8, "可恶": 0.8, "混蛋": 0.9, "滚": 0.8, "闭嘴": 0.8,
        "受够": 0.8, "凭什么": 0.7, "发火": 0.8, "不像话": 0.7, "岂有此理": 0.9, "恨": 0.7,
    },
    "fear": {
        "害怕": 0.9, "怕": 0.6, "恐怖": 0.8, "可怕": 0.8, "担心": 0.7, "担忧": 0.7,
        "紧张": 0.6, "恐惧": 0.9, "吓": 0.6, "吓死": 0.9, "不安": 0.6, "慌": 0.6,
        "发抖": 0.7, "危险": 0.6,
    },
    "surprise": {
        "天哪": 0.9, "天啊": 0.9, "我的天": 0.9, "哇": 0.7, "居然": 0.7, "竟然": 0.7,
        "没想到": 0.8, "惊讶": 0.8, "吃惊": 0.8, "震惊": 0.8, "意外": 0.6, "真的吗": 0.6,
        "不敢相信": 0.8, "难以置信": 0.8, "惊喜": 0.7,
    },
    "disgust": {
        "恶心": 1.0, "呕": 0.8, "脏": 0.5, "臭": 0.6, "反感": 0.8, "厌恶": 0.9, "嫌弃": 0.7,
        "呸": 0.8, "作呕": 0.9, "令人作呕": 1.0,
    },
    "": {"恐怕": 0.0, "哪怕": 0.0, "麻烦": 0.0, "爱好": 0.0, "恨不得": 0.0, "不好意思": 0.0,
         "可笑": 0.0, "好笑": 0.0},
}

_EN_NEGATORS = frozenset({"not", "no", "never", "cannot", "nobody", "nothing", "neither",
                          "nor", "without", "hardly", "barely"})
_EN_INTENSIFIERS = frozenset({"very", "so", "really", "extremely", "too", "truly", "such",
                              "incredibly", "terribly", "awfully", "deeply", "super", "totally",
                              "absolutely", "completely", "utterly", "most", "much"})
_EN_SOFTENERS = frozenset({"slightly", "somewhat", "little", "bit", "kinda", "fairly"})
_EN_BOUNDARIES = frozenset({",", ";", ":", "but", "though", "although", "however"})
_EN_FILLERS = frozenset({"a", "kind", "sort", "of", "feel", "feeling", "am", "is", "are", "be",
                         "was", "were", "been", "i'm", "you're", "it's", "that's"})
_EN_WINDOW = 3

_ZH_NEGATORS = ("没有", "不是", "并不", "从不", "不要", "不用", "不太", "不", "没", "别", "未")
_ZH_INTENSIFIERS = ("非常", "特别", "十分", "极其", "真的", "如此", "这么", "那么", "多么",
                    "太", "很", "好", "真", "超", "最", "挺", "更", "极")
_ZH_SOFTENERS = ("有点", "有些", "一点", "稍微", "略")
_ZH_FILLERS = ("觉得", "感到", "感觉", "也", "都", "再", "会", "得", "是", "还")
_ZH_BOUNDARIES = frozenset("，,、；;：:")
_ZH_WINDOW = 3  # modifiers looked at before a match

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[,;:]")
_TERMINATORS = ".!?。！？…"
_SENTENCE = re.compile(r"(?:[^.!?。！？…\n]|\.(?=\d))+(?:[.!?。！？…]+[\"'”’」』)）]*)?")
_EXCLAMATION = re.compile(r"[!！]")

# (negated, factor of modifiers between the negation and the word, factor of those before it)
_Modifiers = tuple[bool, float, float]
_INTERROBANG = re.compile(r"[?？][!！]|[!！][?？]")


@dataclass(frozen=True)
class EmotionLabel:
    """An emotion of :data:`EMOTIONS` and how strongly it shows, 0 (barely) to 1 (fully)."""

    label: str
    intensity: float

    def __post_init__(self) -> None:
        if self.label not in EMOTIONS:
            raise InputError(f"emotion {self.label!r} is not one of {', '.join(EMOTIONS)}.",
                             "Use one of the seven emotion names.")
        if not (isinstance(self.intensity, (int, float)) and 0.0 <= self.intensity <= 1.0):
            raise InputError(f"emotion intensity={self.intensity!r} must be a number in 0..1.",
                             "Use 0 for barely visible and 1 for fully expressed.")


def classify(text: str, *, language: str = "auto") -> EmotionLabel:
    """The emotion of a whole line of text.

    Parameters
    ----------
    text : str
        One line, any number of sentences, English or Chinese (or both).
    language : {"auto", "en", "zh"}
        Which lexicon to use; ``"auto"`` uses both (Chinese for CJK characters, English for
        Latin words).

    Returns
    -------
    EmotionLabel
        The emotion with the highest summed score over all sentences; ``neutral`` with intensity
        0 when no word of the lexicon is found.

    Examples
    --------
    >>> classify("I am so proud of you!").label
    'joy'
    >>> classify("我不开心").label
    'sadness'
    """
    _check(text, language)
    totals = dict.fromkeys(EMOTIONS[:-1], 0.0)
    for sentence in split_sentences(text):
        for emotion, score in _score_sentence(sentence, language).items():
            totals[emotion] += score
    return _label(totals)


def classify_sentences(text: str, *, language: str = "auto") -> list[tuple[str, EmotionLabel]]:
    """The emotion of each sentence of ``text``.

    Parameters
    ----------
    text : str
        Sentences ending in ``. ! ? … 。 ！ ？`` (or a new line).
    language : {"auto", "en", "zh"}
        As in :func:`classify`.

    Returns
    -------
    list of (str, EmotionLabel)
        Each sentence as written (its ending punctuation kept, surrounding space removed) with
        its label, in order; empty for a text without words.

    See Also
    --------
    split_sentences : how the text is cut.
    """
    _check(text, language)
    return [(s, _label(_score_sentence(s, language))) for s in split_sentences(text)]


def split_sentences(text: str) -> list[str]:
    """Cut text into sentences after ``. ! ? … 。 ！ ？`` (closing quotes kept) and at new lines.

    A full stop between digits ("3.5") does not end a sentence. Pieces without a letter or digit
    are dropped.
    """
    pieces = (m.group(0).strip() for m in _SENTENCE.finditer(text))
    return [p for p in pieces if any(ch.isalnum() for ch in p)]


def _check(text: str, language: str) -> None:
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}.")
    if language not in LANGUAGES:
        raise InputError(f"language={language!r} must be one of {', '.join(LANGUAGES)}.",
                         "Use 'en' for English, 'zh' for Chinese or 'auto' to detect it.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text of {len(text)} characters is longer than {MAX_TEXT_CHARS}.",
                         "Classify it a paragraph at a time.")


def _label(scores: dict[str, float]) -> EmotionLabel:
    best = max(EMOTIONS[:-1], key=lambda e: (scores.get(e, 0.0), -EMOTIONS.index(e)))
    score = scores.get(best, 0.0)
    if score <= 1e-9:
        return EmotionLabel("neutral", 0.0)
    return EmotionLabel(best, round(math.tanh(INTENSITY_SLOPE * score), 4))


def _score_sentence(sentence: str, language: str) -> dict[str, float]:
    scores = dict.fromkeys(EMOTIONS[:-1], 0.0)
    if language in ("auto", "en"):
        _score_english(sentence, scores)
    if language in ("auto", "zh") and _CJK.search(sentence):
        _score_chinese(sentence, scores)
    if _INTERROBANG.search(sentence):
        scores["surprise"] += SURPRISE_INTERROBANG
    exclamations = min(len(_EXCLAMATION.findall(sentence)), 3)
    gain = 1.0 + EXCLAMATION_GAIN * exclamations
    return {emotion: score * gain for emotion, score in scores.items()}


def _add(scores: dict[str, float], emotion: str, weight: float, modifiers: _Modifiers) -> None:
    # Negated joy reads as sadness; a negated negative emotion reads as calm.
    negated, inner, outer = modifiers
    if not negated:
        scores[emotion] += weight * inner * outer
    elif emotion == "joy":
        scores["sadness"] += NEGATED_JOY * weight * outer


# English ---------------------------------------------------------------------------------------

def _entries(lexicon: dict[str, dict[str, float]]) -> list[tuple[str, str, float]]:
    items = [(phrase, emotion, w)
             for emotion, words in lexicon.items() for phrase, w in words.items()]
    return sorted(items, key=lambda item: -len(item[0]))


_EN_PHRASES: dict[str, list[tuple[tuple[str, ...], str, float]]] = {}
for _phrase, _emotion, _weight in _entries(_EN):
    _words = tuple(_phrase.split(" "))
    _EN_PHRASES.setdefault(_words[0], []).append((_words, _emotion, _weight))
_ZH_PHRASES = _entries(_ZH)


def _score_english(sentence: str, scores: dict[str, float]) -> None:
    # Greedy left to right, longest phrase first at each word.
    tokens = _EN_TOKEN.findall(sentence.lower().replace("’", "'"))
    used = [False] * len(tokens)
    for i, token in enumerate(tokens):
        if used[i]:
            continue
        for phrase, emotion, weight in _EN_PHRASES.get(token, ()):
            n = len(phrase)
            if tuple(tokens[i:i + n]) == phrase:
                used[i:i + n] = [True] * n
                _add(scores, emotion, weight, _english_modifiers(tokens, used, i))
                break


def _english_modifiers(tokens: list[str], used: list[bool], start: int) -> _Modifiers:
    negated, factors, adjacent = False, [1.0, 1.0], True
    for j in range(start - 1, max(start - 1 - _EN_WINDOW, -1), -1):
        token = tokens[j]
        if token in _EN_BOUNDARIES or used[j]:
            break
        if token in _EN_NEGATORS or token.endswith("n't"):
            negated, adjacent = not negated, True
        elif token in _EN_INTENSIFIERS and adjacent:
            factors[negated] *= INTENSIFY
        elif token in _EN_SOFTENERS and adjacent:
            factors[negated] *= SOFTEN
        elif token not in _EN_FILLERS:
            adjacent = False
    return negated, factors[0], factors[1]


# Chinese ---------------------------------------------------------------------------------------

def _score_chinese(sentence: str, scores: dict[str, float]) -> None:
    used = [False] * len(sentence)
    for phrase, emotion, weight in _ZH_PHRASES:
        start = sentence.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            if not any(used[start:end]):
                used[start:end] = [True] * (end - start)
                if emotion:
                    _add(scores, emotion, weight, _chinese_modifiers(sentence, used, start))
            start = sentence.find(phrase, start + 1)


def _chinese_modifiers(sentence: str, used: list[bool], start: int) -> _Modifiers:
    negated, factors, position = False, [1.0, 1.0], start
    for _ in range(_ZH_WINDOW):
        found = _modifier_before(sentence, used, position)
        if found is None:
            break
        kind, word = found
        if kind == "neg":
            negated = not negated
        elif kind == "int":
            factors[negated] *= INTENSIFY
        elif kind == "soft":
            factors[negated] *= SOFTEN
        position -= len(word)
    return negated, factors[0], factors[1]


def _modifier_before(sentence: str, used: list[bool], end: int) -> tuple[str, str] | None:
    for kind, words in (("neg", _ZH_NEGATORS), ("soft", _ZH_SOFTENERS), ("int", _ZH_INTENSIFIERS),
                        ("fill", _ZH_FILLERS)):
        for word in words:
            start = end - len(word)
            if start >= 0 and sentence[start:end] == word and not any(used[start:end]) \
                    and not _ZH_BOUNDARIES.intersection(word):
                return kind, word
    return None
