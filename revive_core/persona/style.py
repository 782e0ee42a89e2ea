"""How a person writes: length, favourite phrases, forms of address, emoji, punctuation, languages.

Functions
    describe_style  statistics of one person's lines
    style_summary   one plain sentence about them, for people and for a language model's prompt
    style_score     how much a text reads like their lines, 0..1
    strip_emoji     a text without its emoji and WeChat emoticons, for speaking it
"""
from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Sequence

__all__ = ["Style", "describe_style", "strip_emoji", "style_score", "style_summary"]

TOP = 8
# Terms of endearment and address common in family chats; names of the people they wrote to
# are added from the history itself.
ADDRESS_EN = ("love", "my love", "my dear", "darling", "sweetheart", "honey", "sweetie",
              "pet", "kiddo", "son", "my boy", "my girl", "buddy", "mate", "chicken", "duck",
              "sunshine", "babe", "petal", "princess", "champ", "young man", "young lady")
ADDRESS_ZH = ("宝贝", "宝宝", "孩子", "好孩子", "傻孩子", "闺女", "儿子", "乖", "乖乖", "丫头",
              "亲爱的", "老伴", "老头子", "老婆子", "孙子", "孙女", "乖孙", "囡囡", "小子", "心肝")
_STOPWORDS = frozenset(
    "a an the and or but to of in on at for with is are was were be been am i you he she it we "
    "they me my your his her our their this that so just do did not no yes it's i'm you're "
    "have has had will would can could if as up out all get got".split())
_EMOJI = re.compile(r"[\U0001F1E6-\U0001F1FF\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?"
                    r"|\[[\u4e00-\u9fff]{1,4}\]")  # WeChat writes its emoticons as [微笑]
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_ENDINGS = {"!": r"[!！]$", "?": r"[?？]$", "...": r"(\.\.\.|…+|。。+)$", "~": r"[~～]$",
            ".": r"(?<!\.)[.。]$"}


@dataclass
class Style:
    """Statistics of one person's lines.

    ``typical_length`` is the median length of a line in words (English) or characters
    (Chinese), whichever the person mostly writes; shares are fractions of lines, 0..1.
    """

    lines: int
    typical_length: float
    length_unit: str
    languages: dict[str, float]
    favourite_phrases: list[tuple[str, int]] = field(default_factory=list)
    forms_of_address: list[tuple[str, int]] = field(default_factory=list)
    emoji: list[tuple[str, int]] = field(default_factory=list)
    emoji_per_line: float = 0.0
    endings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {k: ([list(pair) for pair in v] if isinstance(v, list) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, document: dict) -> "Style":
        fields = dict(document)
        for key in ("favourite_phrases", "forms_of_address", "emoji"):
            fields[key] = [(str(a), int(b)) for a, b in fields.get(key, [])]
        return cls(**fields)


def describe_style(lines: Sequence[str], *, other_names: Sequence[str] = ()) -> Style:
    """Statistics of ``lines``, all written by one person.

    Parameters
    ----------
    lines : sequence of str
        The person's messages.
    other_names : sequence of str
        Names of the people they wrote to; a first name used in their lines counts as a form
        of address.

    Returns
    -------
    Style
    """
    count = len(lines)
    zh = [bool(_CJK.search(t)) and len(_CJK.findall(t)) >= len(_WORD.findall(t)) for t in lines]
    zh_share = sum(zh) / max(count, 1)
    mostly_zh = zh_share > 0.5
    lengths = [len(_CJK.findall(t)) if mostly_zh else len(_WORD.findall(t)) for t in lines]
    emoji = Counter(e for t in lines for e in _EMOJI.findall(t))
    bare = [_EMOJI.sub("", t).strip() for t in lines]  # "Thank you love! 😊" ends with "!"
    endings = {name: sum(bool(re.search(p, t)) for t in bare) / max(count, 1)
               for name, p in _ENDINGS.items()}
    return Style(
        lines=count,
        typical_length=float(statistics.median(lengths)) if lengths else 0.0,
        length_unit="characters" if mostly_zh else "words",
        languages={"zh": round(zh_share, 3), "en": round(1 - zh_share, 3)},
        favourite_phrases=_phrases(lines),
        forms_of_address=_address(lines, other_names),
        emoji=emoji.most_common(TOP),
        emoji_per_line=round(sum(emoji.values()) / max(count, 1), 3),
        endings={k: round(v, 3) for k, v in endings.items()},
    )


def style_summary(name: str, style: Style) -> str:
    """One plain sentence: "Rose writes short lines (about 9 words), often ends with '!', ..."."""
    length = "short" if style.typical_length <= (12 if style.length_unit == "words" else 15) \
        else "long"
    parts = [f"{name} writes {length} messages (about {style.typical_length:g} "
             f"{style.length_unit})"]
    frequent = [k for k, v in sorted(style.endings.items(), key=lambda kv: -kv[1]) if v >= 0.2]
    if frequent:
        parts.append("often ends with " + " or ".join(f"'{k}'" for k in frequent))
    if style.forms_of_address:
        parts.append("calls people " + ", ".join(f"'{a}'" for a, _ in style.forms_of_address[:3]))
    if style.favourite_phrases:
        parts.append("likes to say " + ", ".join(f"'{p}'" for p, _ in style.favourite_phrases[:3]))
    if style.emoji:
        parts.append("uses " + " ".join(e for e, _ in style.emoji[:3]))
    return "; ".join(parts) + "."


def style_score(text: str, style: Style) -> float:
    """How much ``text`` reads like the person's lines, 0..1: the mean of three parts.

    - length: 1 at their typical length, falling as exp(-|log ratio|) (11 words for a 22-word
      habit gives 0.5);
    - ending: how common the text's last punctuation is among their lines, relative to their
      most common ending (a line with none of the listed endings counts as the rest);
    - markers: 1 when the text uses one of their favourite phrases, forms of address or emoji.
    """
    zh = style.length_unit == "characters"
    length = len(_CJK.findall(text)) if zh else len(_WORD.findall(text))
    length_part = math.exp(-abs(math.log((length + 1) / (style.typical_length + 1))))
    bare = _EMOJI.sub("", text).strip()
    shares = dict(style.endings)
    shares["none"] = max(0.0, 1.0 - sum(shares.values()))
    ending = next((name for name, p in _ENDINGS.items() if re.search(p, bare)), "none")
    ending_part = shares.get(ending, 0.0) / max(max(shares.values()), 1e-9)
    lowered = text.lower()
    markers = [p for p, _ in style.favourite_phrases] + [a for a, _ in style.forms_of_address]
    used = any(m.lower() in lowered for m in markers) or any(e in text for e, _ in style.emoji)
    return (length_part + ending_part + float(used)) / 3


def strip_emoji(text: str) -> str:
    """``text`` without emoji or WeChat emoticons ("[微笑]"), spaces collapsed."""
    return " ".join(_EMOJI.sub(" ", text).split())


def _phrases(lines: Sequence[str]) -> list[tuple[str, int]]:
    # Word n-grams (English) and character n-grams of Chinese runs, counted once per line.
    counts: Counter = Counter()
    for text in lines:
        grams = set()
        words = [w.lower() for w in _WORD.findall(text)]
        for n in (2, 3, 4):
            for i in range(len(words) - n + 1):
                gram = words[i:i + n]
                if not all(w in _STOPWORDS for w in gram):
                    grams.add(" ".join(gram))
        for run in re.findall(r"[\u4e00-\u9fff]{2,}", text):
            for n in (2, 3, 4):
                grams.update(run[i:i + n] for i in range(len(run) - n + 1))
        counts.update(grams)
    repeated = {g: c for g, c in counts.items() if c >= 2}
    # Keep the longest form: drop a phrase contained in a longer one said as often.
    kept = {g: c for g, c in repeated.items()
            if not any(g != h and g in h and repeated[h] >= c for h in repeated)}
    return sorted(kept.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))[:TOP]


def _address(lines: Sequence[str], other_names: Sequence[str]) -> list[tuple[str, int]]:
    firsts = {n.split()[0] for n in other_names if n.split() and len(n.split()[0]) >= 2}
    counts: Counter = Counter()
    for text in lines:
        lowered = text.lower()
        for term in ADDRESS_EN:
            if re.search(rf"(^|[\s,!.?]){re.escape(term)}([\s,!.?]|$)", lowered):
                counts[term] += 1
        for term in ADDRESS_ZH:
            if term in text:
                counts[term] += 1
        for first in firsts:
            if (first in text) if _CJK.search(first) else \
                    re.search(rf"(?<!\w){re.escape(first)}(?!\w)", text):
                counts[first] += 1
    # Drop a term that is part of a longer one found on the same lines ("乖" of "乖孙").
    kept = {t: c for t, c in counts.items()
            if not any(t != u and t in u and counts[u] >= c for u in counts)}
    return sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
