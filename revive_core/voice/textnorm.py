"""Text normalisation for speech: write numbers, dates, times, money and abbreviations as words.

Both the speech engine and the aligner read the normalised text, so what is spoken and what is
aligned agree. English and Mandarin Chinese are normalised by their own rules, and each number
in a mixed sentence by the language around it: ``我1952年出生`` reads the year the Chinese way
(一九五二年), ``born in 1952`` the English way (nineteen fifty-two).

What is rewritten
    - dates: ``2023-05-01``, ``2023/5/1`` (and ``5/1/2023``, read month first), ``2023年5月1日``
    - times: ``3:30`` (three thirty / 三点三十分), ``7:05 pm``
    - years: four digits from 1100 to 2099 standing alone in English, before 年 in Chinese
    - money: ``$12.50``, ``£3``, ``€5``, ``¥20``, ``12.5元``
    - percentages, decimals, ordinals (``21st``), cardinals up to 10^12 (English: up to
      999,999,999,999; Chinese: 亿 and 万 groups)
    - long digit strings (7 or more digits: phone numbers, codes) are read digit by digit
    - a few English abbreviations (Dr., Mr., Mrs., Ms., St., Rd., Ave., etc.)
    - full-width letters and digits become ASCII, punctuation is kept

Pauses
    Punctuation is kept: espeak-ng pauses at it by itself (measured: a comma 0.17 s; a full
    stop, semicolon, dash or ellipsis 0.25 s; Chinese ， and 、 0.17 s, …… 0.25 s). Two marks
    it barely pauses at are rewritten as a Chinese comma: the dash ``——`` (0.12 s) and a tilde
    after a Chinese character (0.05 s).

Functions
    normalize   text -> text to speak
    number_en   integer -> English words
    number_zh   integer -> Chinese characters
"""
from __future__ import annotations

import re

from revive_core.errors import InputError

__all__ = ["normalize", "number_en", "number_zh"]

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ((1000, "千"), (100, "百"), (10, "十"))
_CURRENCY_EN = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros"),
                "¥": ("yuan", "yuan"), "￥": ("yuan", "yuan")}
_CURRENCY_ZH = {"$": "美元", "£": "英镑", "€": "欧元", "¥": "元", "￥": "元"}
_ABBREVIATIONS = {"dr.": "doctor", "mr.": "mister", "mrs.": "missus", "ms.": "miz",
                  "st.": "saint", "rd.": "road", "ave.": "avenue", "etc.": "et cetera",
                  "no.": "number", "vs.": "versus", "jr.": "junior", "sr.": "senior"}
MAX_NUMBER = 10**12 - 1

# full-width digits, letters, % and $ -> ASCII (other full-width punctuation is kept)
_FULL_WIDTH = {**{c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)},
               **{c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)},
               **{c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)},
               0xFF05: "%", 0xFF04: "$", 0x3000: " "}
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_DATE_YMD = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d|\.\d)")
_DATE_MDY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_DATE_ZH = re.compile(r"(\d{2,4})年(?:(\d{1,2})月(?:(\d{1,2})[日号])?)?")
_MONTH_DAY_ZH = re.compile(r"(\d{1,2})月(\d{1,2})[日号]")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])(\s*([ap])\.?m\.?\b)?",
                   re.IGNORECASE)
_MONEY_BEFORE = re.compile(r"([$£€¥￥])\s?(\d[\d,]*(?:\.\d+)?)")
_MONEY_ZH_AFTER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s?(元|块钱|块)")
_PERCENT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s?[%％]")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d])")
_ABBREVIATION = re.compile(r"\b(" + "|".join(re.escape(a[:-1]) for a in _ABBREVIATIONS)
                           + r")\.(?=\s|$)", re.IGNORECASE)
_WEAK_PAUSE = re.compile(r"——|(?<=[" + _CJK + r"])[~～]+")
_PHRASE_STOPS = ",，、;；:：.。!！?？…—\n"


def number_en(n: int) -> str:
    """An integer in English words: ``number_en(1952) == "one thousand nine hundred fifty-two"``.

    Parameters
    ----------
    n : int
        -999,999,999,999 to 999,999,999,999.
    """
    if abs(n) > MAX_NUMBER:
        raise InputError(f"n={n} is too large to read out (at most {MAX_NUMBER}).")
    if n < 0:
        return "minus " + number_en(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + (" " + number_en(rest) if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            rest = n % scale
            return number_en(n // scale) + " " + name + (" " + number_en(rest) if rest else "")
    raise AssertionError("unreachable")


def _ordinal_en(n: int) -> str:
    words = number_en(n)
    head, sep, last = words.rpartition("-" if words.rfind("-") > words.rfind(" ") else " ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def _year_en(n: int) -> str:
    """1952 -> nineteen fifty-two, 2005 -> two thousand five, 1900 -> nineteen hundred."""
    if 2000 <= n <= 2009:
        return number_en(n)
    high, low = divmod(n, 100)
    if low == 0:
        return number_en(high) + " hundred"
    return number_en(high) + (" oh " if low < 10 else " ") + number_en(low)


def number_zh(n: int) -> str:
    """An integer in Chinese characters: ``number_zh(1952) == "一千九百五十二"``, 10 -> 十.

    Parameters
    ----------
    n : int
        -999,999,999,999 to 999,999,999,999.
    """
    if abs(n) > MAX_NUMBER:
        raise InputError(f"n={n} is too large to read out (at most {MAX_NUMBER}).")
    if n < 0:
        return "负" + number_zh(-n)
    if n == 0:
        return "零"
    groups = []
    for scale, name in ((10**8, "亿"), (10**4, "万"), (1, "")):
        groups.append((n // scale, name))
        n %= scale
    out, gap = "", False
    for value, name in groups:
        if value == 0:
            gap = bool(out)
            continue
        if out and (gap or value < 1000):
            out += "零"
        out += _zh_below_10000(value) + name
        gap = False
    return out[1:] if out.startswith("一十") else out


def _zh_below_10000(n: int) -> str:
    out, zero = "", False
    for unit, name in _ZH_UNITS:
        digit, n = divmod(n, unit)
        if digit:
            if zero:
                out += "零"
            out += _ZH_DIGITS[digit] + name
            zero = False
        elif out:
            zero = True
    if n:
        if zero:
            out += "零"
        out += _ZH_DIGITS[n]
    return out


def _digits_zh(text: str) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in text)


def _digits_en(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _decimal(integer: str, fraction: str | None, zh: bool) -> str:
    value = int(integer.replace(",", ""))
    if len(integer) >= 7 and "," not in integer and fraction is None:
        return _digits_zh(integer) if zh else _digits_en(integer)
    if value > MAX_NUMBER:
        return _digits_zh(integer) if zh else _digits_en(integer)
    whole = number_zh(value) if zh else number_en(value)
    if fraction:
        return whole + ("点" + _digits_zh(fraction) if zh else " point " + _digits_en(fraction))
    return whole


def _is_zh_context(text: str, start: int, end: int, default_zh: bool) -> bool:
    """Whether the letters around text[start:end] are Chinese: first those of the same phrase
    (up to punctuation), the one after before the one before; else the default."""
    letter = "[A-Za-z" + _CJK + "]"
    for stop in (_PHRASE_STOPS, ""):
        gap = "[^A-Za-z" + _CJK + stop + "]*"
        after = re.match(gap + "(" + letter + ")", text[end:])
        before = re.search("(" + letter + ")" + gap + "$", text[:start])
        for found in (after, before):
            if found:
                return bool(re.match("[" + _CJK + "]", found.group(1)))
    return default_zh


def normalize(text: str, *, language: str = "auto") -> str:
    """Rewrite a text so a speech engine reads it as a person would.

    Parameters
    ----------
    text : str
        Any text in English, Chinese or both.
    language : str
        ``"en"``, ``"zh"`` or ``"auto"``: the language of numbers with no letters around them
        (``"auto"``: Chinese when the text has any Chinese character).

    Returns
    -------
    str
        The text with numbers, dates, times, money and abbreviations written out; everything
        else (punctuation included) as it was, full-width letters and digits made ASCII.

    Examples
    --------
    >>> normalize("Born 1952-05-01, $12.50")
    'Born May first, nineteen fifty-two, twelve dollars fifty'
    >>> normalize("我1952年出生，50%")
    '我一九五二年出生，百分之五十'
    """
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}.")
    if language not in ("auto", "en", "zh"):
        raise InputError(f"The language '{language}' is not supported for normalisation.",
                         "Choose one of: en, zh (or auto).")
    text = _WEAK_PAUSE.sub("，", text.translate(_FULL_WIDTH))
    default_zh = language == "zh" or (language == "auto" and re.search("[" + _CJK + "]", text)
                                      is not None)

    def by_context(rule):
        def apply(m: re.Match) -> str:
            return rule(m, _is_zh_context(m.string, m.start(), m.end(), default_zh))
        return apply

    text = _DATE_ZH.sub(lambda m: _date_zh(m.group(1), m.group(2), m.group(3)), text)
    text = _MONTH_DAY_ZH.sub(lambda m: number_zh(int(m.group(1))) + "月"
                             + number_zh(int(m.group(2))) + "日", text)
    text = _DATE_YMD.sub(by_context(lambda m, zh: _date(m.group(1), m.group(2), m.group(3), zh)),
                         text)
    text = _DATE_MDY.sub(by_context(lambda m, zh: _date(m.group(3), m.group(1), m.group(2), zh)),
                         text)
    text = _TIME.sub(by_context(_time), text)
    text = _MONEY_ZH_AFTER.sub(lambda m: _decimal(*_split(m.group(1)), True) + m.group(2), text)
    text = _MONEY_BEFORE.sub(by_context(_money), text)
    text = _PERCENT.sub(by_context(lambda m, zh: ("百分之" + _decimal(*_split(m.group(1)), True))
                                   if zh else _decimal(*_split(m.group(1)), False) + " percent"),
                        text)
    text = _ORDINAL.sub(lambda m: _ordinal_en(int(m.group(1))) if len(m.group(1)) < 13
                        else m.group(0), text)
    text = _NUMBER.sub(by_context(_number), text)
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(0).lower()], text)
    return text


def _split(number: str) -> tuple[str, str | None]:
    integer, _, fraction = number.partition(".")
    return integer, fraction or None


def _number(m: re.Match, zh: bool) -> str:
    integer, fraction = m.group(1), m.group(2)
    following = m.string[m.end():m.end() + 1]
    if zh and integer == "2" and fraction is None and re.match("[" + _CJK + "]", following) \
            and following not in "月日号年点":
        return "两"  # before a measure word: 两个, not 二个
    if not zh and fraction is None and len(integer) == 4 and 1100 <= int(integer) <= 2099:
        return _year_en(int(integer))
    return _decimal(integer, fraction, zh)


def _date(year: str, month: str, day: str, zh: bool) -> str:
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return f"{year}-{month}-{day}" if not zh else f"{year}年{month}月{day}日"
    if zh:
        return _date_zh(year, month, day)
    return f"{_MONTHS[m - 1]} {_ordinal_en(d)}, {_year_en(int(year))}"


def _date_zh(year: str, month: str | None, day: str | None) -> str:
    out = _digits_zh(year) + "年"
    if month:
        out += number_zh(int(month)) + "月"
    if day:
        out += number_zh(int(day)) + "日"
    return out


def _time(m: re.Match, zh: bool) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 24 or minutes > 59:
        return m.group(0)
    half = (m.group(5) or "").lower()
    if zh:
        hour = "两" if hours == 2 else number_zh(hours)
        return ({"a": "上午", "p": "下午"}.get(half, "") + hour + "点"
                + (number_zh(minutes) + "分" if minutes else ""))
    out = number_en(hours)
    if minutes:
        out += (" oh " if minutes < 10 else " ") + number_en(minutes)
    elif not half:
        out += " o'clock"
    return out + {"a": " a m", "p": " p m"}.get(half, "")


def _money(m: re.Match, zh: bool) -> str:
    symbol, amount = m.group(1), m.group(2).replace(",", "")
    integer, fraction = _split(amount)
    if zh:
        return _decimal(integer, fraction, True) + _CURRENCY_ZH[symbol]
    one, many = _CURRENCY_EN[symbol]
    whole = int(integer)
    out = number_en(whole) + " " + (one if whole == 1 else many)
    if fraction:
        hundredths = int((fraction + "0")[:2])
        if hundredths:
            out += " " + number_en(hundredths)
    return out
