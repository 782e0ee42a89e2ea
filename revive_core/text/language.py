"""Which of Revive's two languages a text is written in: Mandarin Chinese or English.

Revive speaks, aligns and labels English and Mandarin Chinese; every stage that is given
``language="auto"`` asks :func:`detect_language`, so a line is read the same way by all of them.

Functions
    detect_language     "zh" or "en" for a text
"""
from __future__ import annotations

import re

__all__ = ["detect_language"]

# CJK unified ideographs: extension A, the basic block, compatibility ideographs, and the
# supplementary planes (extensions B and later).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_HAN_CHARACTER = re.compile(f"[{_HAN}]")
_OTHER_WORD = re.compile(f"[^\\W\\d_{_HAN}]+")  # a run of letters of any other script


def detect_language(text: str) -> str:
    """Guess whether a text is Mandarin Chinese or English.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        ``"zh"`` when the text has at least one Chinese character and at least as many Chinese
        characters as other words (runs of letters: "I miss you, 宝贝" is English, 我爱Python
        Chinese), else ``"en"``. Digits and punctuation count for neither.

    Examples
    --------
    >>> detect_language("奶奶也想你呀，宝贝。")
    'zh'
    >>> detect_language("I learned one word: 爱")
    'en'
    """
    han = len(_HAN_CHARACTER.findall(text))
    return "zh" if han > 0 and han >= len(_OTHER_WORD.findall(text)) else "en"
