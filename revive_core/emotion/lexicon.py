"""A lexicon of emotion words and phrases for English and Mandarin Chinese, with modifiers.

The lexicon is the project's own data, written for Revive, in the register of family
conversation ("miss you", "proud of you", 想你, 开心, 天哪 ...). Each match adds its weight to
its emotion; the words just before a match change it:

- negation ("not", "don't", "never", 不, 没, 别 ...) counts against the emotion and turns joy
  into sadness at a lower weight, the other emotions into calm ("not afraid", 不怕 count toward
  neutral);
- intensifiers ("very", "so", "really", 很, 非常, 太 ...) multiply the weight by 1.5 each, softeners
  ("a bit", 有点) by 0.6;
- every exclamation mark of the sentence (up to three) raises the sentence's scores by 20 %;
  "?!" on its own suggests surprise.

Functions
    lexicon_scores      summed weights per emotion for one sentence
    lexicon_intensity   a summed weight turned into an intensity 0..1
"""
from __future__ import annotations

import math
import re

__all__ = ["EMOTIONS", "lexicon_intensity", "lexicon_scores"]

EMOTIONS: tuple[str, ...] = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")

INTENSIFY = 1.5
SOFTEN = 0.6
NEGATED_JOY = 0.7  # "not happy" counts as sadness at this fraction of the weight
NEGATED_CALM = 0.5  # "not afraid" counts as neutral at this fraction of the weight
EXCLAMATION_GAIN = 0.2
SURPRISE_INTERROBANG = 0.5
INTENSITY_SLOPE = 0.8

# Lexicon: emotion -> {word or phrase: weight}. English entries are lower-case words separated by
# single spaces and match whole words; Chinese entries match as substrings, longest first.
# A weight of 0 (label "") blocks a longer expression from matching as its emotional part
# (恐怕 "I'm afraid that" is not fear, 麻烦你 "would you please" is not anger).
_EN: dict[str, dict[str, float]] = {
    "joy": {
        "thrilled": 0.9, "over the moon": 1.0, "adore": 0.7, "lucky": 0.5, "overjoyed": 1.0,
        "made my day": 0.9, "cheered": 0.6, "brilliant": 0.6, "relieved": 0.6, "chuffed": 0.8,
        "good news": 0.7, "great news": 0.8, "best": 0.4, "delicious": 0.4, "gorgeous": 0.5,
        "cheer me up": 0.6, "laughter": 0.6, "warms my heart": 0.9,
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
        "heartbreak": 0.9, "breaks my heart": 1.0, "broke my heart": 1.0, "tearful": 0.8,
        "feel low": 0.8, "feeling low": 0.8, "feeling down": 0.8, "hopeless": 0.8, "empty": 0.5,
        "hollow": 0.6, "mourn": 0.8, "mourning": 0.8, "sorrow": 0.9, "grieving": 0.9,
        "let you down": 0.7, "not the same": 0.6, "wish i had": 0.7, "never got to": 0.6,
        "say goodbye": 0.6, "aches": 0.5, "my heart aches": 0.9, "down": 0.2,
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
        "fuming": 0.9, "seething": 0.9, "had enough": 0.8, "had it": 0.5, "last straw": 0.9,
        "infuriating": 0.9, "infuriated": 0.9, "how could you": 0.8, "no right": 0.7,
        "blood boil": 1.0, "drives me mad": 0.9, "drives me crazy": 0.9, "outrageous": 0.8,
        "disgrace": 0.6, "rude": 0.5, "selfish": 0.6, "sick and tired": 0.9,
        "don't you dare": 1.0, "get out": 0.6, "irresponsible": 0.6, "enough": 0.3,
        "shouting": 0.5, "excuses": 0.4,
        "angry": 0.9, "anger": 0.8, "mad": 0.7, "furious": 1.0, "annoyed": 0.6,
        "annoying": 0.6, "irritated": 0.6, "hate": 0.8, "hated": 0.8, "rage": 0.9,
        "outraged": 0.9, "fed up": 0.7, "frustrated": 0.6, "frustrating": 0.6, "unfair": 0.6,
        "damn": 0.6, "how dare": 0.9, "stupid": 0.5, "ridiculous": 0.5, "shut up": 0.8,
        "yelled": 0.5, "sick of": 0.7, "livid": 1.0,
    },
    "fear": {
        "what if": 0.6, "frightening": 0.8, "knot in my stomach": 0.8, "panicking": 0.9,
        "petrified": 1.0, "not safe": 0.7, "unsafe": 0.7, "worried sick": 1.0, "pounding": 0.5,
        "shaking": 0.5, "uneasy": 0.6, "nightmare": 0.6, "terror": 0.9, "dreading": 0.8,
        "scares me": 0.8, "lie awake": 0.5, "can't find": 0.4, "emergency": 0.5,
        "afraid": 0.8, "scared": 0.8, "scary": 0.7, "fear": 0.8, "frightened": 0.9,
        "terrified": 1.0, "terrifying": 0.9, "worried": 0.7, "worry": 0.6, "worries": 0.6,
        "anxious": 0.7, "nervous": 0.6, "panic": 0.8, "dread": 0.8, "danger": 0.6,
        "dangerous": 0.6, "alarmed": 0.7, "horrified": 0.8, "be careful": 0.4,
    },
    "surprise": {
        "stunned": 0.9, "speechless": 0.8, "no idea": 0.6, "had no idea": 0.8,
        "never knew": 0.7, "didn't expect": 0.8, "never expected": 0.8, "unexpectedly": 0.7,
        "out of nowhere": 0.7, "wasn't expecting": 0.8, "who knew": 0.7, "never guess": 0.7,
        "since when": 0.6, "goodness": 0.6, "well i never": 0.9, "astonishing": 0.9,
        "blown away": 0.8, "jaw dropped": 0.9, "turns out": 0.4, "turned out": 0.3,
        "surprise": 0.8, "surprised": 0.8, "surprising": 0.7, "wow": 0.8, "whoa": 0.8,
        "oh my god": 0.9, "oh my": 0.7, "my goodness": 0.7, "unbelievable": 0.7,
        "can't believe": 0.8, "cannot believe": 0.8, "incredible": 0.6, "astonished": 0.9,
        "amazed": 0.8, "shocked": 0.8, "unexpected": 0.7, "no way": 0.7, "guess what": 0.6,
        "suddenly": 0.4,
    },
    "disgust": {
        "ugh": 0.8, "reek": 0.8, "reeks": 0.8, "stench": 0.9, "mouldy": 0.8, "moldy": 0.8,
        "mould": 0.6, "mold": 0.6, "slimy": 0.7, "maggots": 0.9, "sickening": 0.9,
        "nauseating": 1.0, "repulsed": 1.0, "turns my stomach": 1.0, "stomach turn": 0.9,
        "despicable": 0.9, "greasy": 0.4, "grossed out": 1.0, "cockroach": 0.7,
        "cockroaches": 0.7, "vomit": 0.7, "threw up": 0.5, "sewage": 0.7, "stink": 0.7,
        "stinky": 0.7, "smells": 0.3, "stains": 0.4, "slime": 0.7, "sour": 0.4, "gory": 0.8,
        "disgusting": 1.0, "disgusted": 1.0, "disgust": 0.9, "gross": 0.8, "yuck": 0.9,
        "eww": 0.9, "ew": 0.9, "nasty": 0.8, "revolting": 0.9, "vile": 0.8, "filthy": 0.7,
        "rotten": 0.6, "stinks": 0.7, "makes me sick": 1.0, "repulsive": 0.9,
    },
}

_ZH: dict[str, dict[str, float]] = {
    "joy": {
        "乐坏": 0.9, "笑得": 0.6, "合不拢嘴": 0.9, "美滋滋": 0.9, "欢呼": 0.8, "热闹": 0.5,
        "福气": 0.8, "舒坦": 0.7, "痛快": 0.7, "满意": 0.6, "欢喜": 0.8, "好消息": 0.7,
        "松了口气": 0.6, "不亦乐乎": 0.9, "心花怒放": 1.0, "庆祝": 0.6, "知足": 0.6, "乐了": 0.8,
        "太值": 0.6, "舒服": 0.4, "漂亮": 0.4, "喜欢得": 0.9,
        "开心": 0.8, "高兴": 0.8, "快乐": 0.8, "幸福": 0.9, "喜欢": 0.6, "爱你": 0.9, "爱": 0.5,
        "骄傲": 0.8, "自豪": 0.8, "哈哈": 0.7, "笑": 0.4, "太好了": 0.9, "好棒": 0.8,
        "真棒": 0.8, "棒": 0.5, "谢谢": 0.5, "感谢": 0.6, "感恩": 0.7, "欣慰": 0.8,
        "满足": 0.6, "兴奋": 0.8, "激动": 0.6, "期待": 0.6, "美好": 0.6, "祝福": 0.6,
        "生日快乐": 0.9, "恭喜": 0.8, "了不起": 0.7, "温暖": 0.5, "可爱": 0.5,
    },
    "sadness": {
        "空荡荡": 0.7, "冷冷清清": 0.7, "冷清": 0.6, "心碎": 1.0, "后悔": 0.8, "辜负": 0.8,
        "告别": 0.5, "不在了": 0.8, "难受": 0.5, "失落": 0.8, "空落落": 0.8, "堵得慌": 0.8,
        "提不起精神": 0.8, "滋味": 0.4, "怀念": 0.7, "再也": 0.5, "虚弱": 0.5, "叹气": 0.6,
        "泪": 0.6, "哭了": 0.8, "节哀": 0.9, "走了": 0.4, "没办法了": 0.6, "没保住": 0.9,
        "没来得及": 0.6, "要是当初": 0.7, "真希望": 0.4,
        "难过": 0.8, "伤心": 0.9, "悲伤": 0.9, "想你": 0.8, "思念": 0.8, "想念": 0.8,
        "对不起": 0.6, "抱歉": 0.6, "遗憾": 0.7, "孤单": 0.8, "孤独": 0.8, "寂寞": 0.8,
        "哭": 0.7, "眼泪": 0.7, "流泪": 0.8, "心痛": 0.9, "心疼": 0.6, "舍不得": 0.8,
        "失望": 0.7, "痛苦": 0.9, "可惜": 0.6, "去世": 0.8, "再见": 0.4, "委屈": 0.7,
        "郁闷": 0.7, "唉": 0.6, "悲": 0.6,
    },
    "anger": {
        "气人": 0.9, "火冒三丈": 1.0, "气坏": 0.9, "太过分": 0.9, "过分": 0.7, "离谱": 0.7,
        "窝火": 0.9, "气炸": 1.0, "忍无可忍": 1.0, "够了": 0.7, "借口": 0.5, "放鸽子": 0.7,
        "骂": 0.6, "不许": 0.5, "怎么能": 0.6, "没礼貌": 0.7, "自私": 0.6, "给我出去": 0.9,
        "一肚子火": 1.0, "气头上": 0.9, "不负责任": 0.7, "火都上来": 0.9, "有他好看": 0.8,
        "下不来台": 0.6, "你敢": 0.7, "摔门": 0.6, "烦人": 0.8,
        "生气": 0.9, "愤怒": 1.0, "气死": 1.0, "讨厌": 0.7, "烦": 0.6, "烦死": 0.9,
        "恼火": 0.8, "火大": 0.8, "可恶": 0.8, "混蛋": 0.9, "滚": 0.8, "闭嘴": 0.8,
        "受够": 0.8, "凭什么": 0.7, "发火": 0.8, "不像话": 0.7, "岂有此理": 0.9, "恨": 0.7,
    },
    "fear": {
        "发慌": 0.8, "心慌": 0.8, "不放心": 0.7, "放心不下": 0.7, "不踏实": 0.7, "万一": 0.6,
        "吓坏": 1.0, "吓醒": 0.9, "噩梦": 0.7, "发毛": 0.8, "提心吊胆": 1.0, "忐忑": 0.8,
        "睡不着": 0.4, "僵住": 0.6, "不敢": 0.5, "走丢": 0.8, "出事": 0.7, "咯噔": 0.8,
        "惊慌": 0.9, "心跳得": 0.5, "不安全": 0.7, "手抖": 0.6,
        "害怕": 0.9, "怕": 0.6, "恐怖": 0.8, "可怕": 0.8, "担心": 0.7, "担忧": 0.7,
        "紧张": 0.6, "恐惧": 0.9, "吓": 0.6, "吓死": 0.9, "不安": 0.6, "慌": 0.6,
        "发抖": 0.7, "危险": 0.6,
    },
    "surprise": {
        "惊呆": 0.9, "愣住": 0.8, "愣了": 0.7, "不会吧": 0.8, "真的假的": 0.9, "想不到": 0.8,
        "突然": 0.4, "原来": 0.4, "从来不知道": 0.8, "一眨眼": 0.6, "不可思议": 0.9,
        "太突然": 0.8, "哎呀": 0.6, "哎哟": 0.6, "说不出话": 0.7, "怎么可能": 0.7, "你猜": 0.6,
        "吓我一跳": 0.8, "做梦": 0.4,
        "天哪": 0.9, "天啊": 0.9, "我的天": 0.9, "哇": 0.7, "居然": 0.7, "竟然": 0.7,
        "没想到": 0.8, "惊讶": 0.8, "吃惊": 0.8, "震惊": 0.8, "意外": 0.6, "真的吗": 0.6,
        "不敢相信": 0.8, "难以置信": 0.8, "惊喜": 0.7,
    },
    "disgust": {
        "馊": 0.9, "长毛": 0.7, "发霉": 0.8, "霉": 0.5, "反胃": 1.0, "倒胃口": 1.0, "想吐": 1.0,
        "蟑螂": 0.7, "蛆": 0.9, "黏糊糊": 0.6, "腐烂": 0.8, "血腥": 0.8, "缺德": 0.7,
        "卑鄙": 0.9, "下流": 0.8, "低俗": 0.7, "臭气熏天": 1.0, "脏死": 1.0, "令人反感": 1.0,
        "污渍": 0.5, "没教养": 0.6, "吧唧嘴": 0.7, "污水": 0.6, "受不了": 0.3,
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
_ZH_WINDOW = 3  # modifiers looked at before a match

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[,;:]")
_EXCLAMATION = re.compile(r"[!！]")

# (negated, factor of modifiers between the negation and the word, factor of those before it)
_Modifiers = tuple[bool, float, float]
_INTERROBANG = re.compile(r"[?？][!！]|[!！][?？]")


def lexicon_scores(sentence: str, *, language: str = "auto") -> dict[str, float]:
    """Summed lexicon weights per emotion for one sentence.

    Parameters
    ----------
    sentence : str
        One sentence (the modifiers and the exclamation gain apply sentence-wide).
    language : {"auto", "en", "zh"}
        Which lexicon to use; ``"auto"`` uses both (Chinese for CJK characters, English for
        Latin words).

    Returns
    -------
    dict of str to float
        A score for each of the seven :data:`EMOTIONS`: positive where words show it,
        negative where the text denies it ("not afraid" counts against fear and toward
        neutral, "not happy" against joy and toward sadness). All zero when no word of the
        lexicon is found.

    Examples
    --------
    >>> max(lexicon_scores("我不开心").items(), key=lambda kv: kv[1])[0]
    'sadness'
    """
    scores = dict.fromkeys(EMOTIONS, 0.0)
    if language in ("auto", "en"):
        _score_english(sentence, scores)
    if language in ("auto", "zh") and _CJK.search(sentence):
        _score_chinese(sentence, scores)
    if _INTERROBANG.search(sentence):
        scores["surprise"] += SURPRISE_INTERROBANG
    exclamations = min(len(_EXCLAMATION.findall(sentence)), 3)
    gain = 1.0 + EXCLAMATION_GAIN * exclamations
    return {emotion: score * gain for emotion, score in scores.items()}


def lexicon_intensity(score: float) -> float:
    """An emotion's summed weight as an intensity in 0..1: ``tanh(0.8 * score)``, 4 decimals."""
    return round(math.tanh(INTENSITY_SLOPE * max(score, 0.0)), 4)


def _add(scores: dict[str, float], emotion: str, weight: float, modifiers: _Modifiers) -> None:
    # Negated joy reads as sadness; a negated negative emotion reads as calm.
    # A negated word also counts against its own emotion, so that a classifier fused with the
    # lexicon does not read "not afraid" as fear.
    negated, inner, outer = modifiers
    if not negated:
        scores[emotion] += weight * inner * outer
        return
    scores[emotion] -= weight * outer
    if emotion == "joy":
        scores["sadness"] += NEGATED_JOY * weight * outer
    else:
        scores["neutral"] += NEGATED_CALM * weight * outer


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


# Longest modifier first, so that 特别 ("especially") is not read as 别 ("don't").
_ZH_MODIFIERS = sorted([(word, kind) for kind, words in (
    ("neg", _ZH_NEGATORS), ("soft", _ZH_SOFTENERS), ("int", _ZH_INTENSIFIERS),
    ("fill", _ZH_FILLERS)) for word in words], key=lambda item: -len(item[0]))


def _modifier_before(sentence: str, used: list[bool], end: int) -> tuple[str, str] | None:
    for word, kind in _ZH_MODIFIERS:
        start = end - len(word)
        if start >= 0 and sentence[start:end] == word and not any(used[start:end]):
            return kind, word
    return None
