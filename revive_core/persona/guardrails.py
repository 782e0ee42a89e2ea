"""What a persona must never do: claim to be alive or the real person, or talk about a topic the
family marked as off-limits.

Functions
    asks_identity       whether a prompt asks if the persona is alive or really the person
    honest_answer       the fixed, kind answer to such a question (English or Chinese)
    claims_identity     whether a reply claims to be alive or the real person
    blocked_topic       the blocklisted topic a text mentions, if any
    refusal             the kind refusal for a blocklisted topic
"""
from __future__ import annotations

import re
from typing import Sequence

__all__ = ["asks_identity", "blocked_topic", "claims_identity", "honest_answer", "refusal"]

_KIN_EN = (r"(grandma|grandpa|granny|grandad|granddad|nana|nan|mum|mom|mummy|mommy|dad|daddy|"
           r"mother|father|papa|mama|auntie|aunt|uncle|him|her|them|the real \w+)")
_KIN_ZH = r"(爷爷|奶奶|外公|外婆|姥姥|姥爷|妈妈|爸爸|妈|爸|老伴|阿姨|叔叔|舅舅|姑姑|本人|他|她)"
_ASKED_ZH = r"[^，。,.！!]{0,6}(吗|么|嘛|没有|呢|\?|？)"
_IDENTITY_QUESTIONS = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(are|r) (you|u) (still |really |actually |truly )*(alive|real|dead|living|a ghost|"
    r"a (ro)?bot|an? (ai|a\.i\.|computer|machine|program|chatbot)|human|a person|"
    + _KIN_EN + r")\b",
    r"\bis (this|that|it) (really |actually |truly )*(you|" + _KIN_EN + r")\b",
    r"\b(did|have) (you|u) (really )?(die|died|pass(ed)? away)\b",
    r"\byou('re| are) (not |n't )?(really )?(dead|gone|alive)\b[^.!]*\?",
    r"\bwho (are|r) (you|u) really\b",
    r"\bam i (really )?(talking|speaking|chatting) (to|with) (you|" + _KIN_EN + r")\b",
    # Chinese: only as a question, so that "你是妈妈的骄傲" or "你死了以后" are not taken as one.
    r"(你|您)(还|真的|现在)*(活着|在世|死了)" + _ASKED_ZH,
    r"(你|您)(真的|到底|究竟)?是(不是)?(真的|真人|人|" + _KIN_ZH + r"|机器人|AI|人工智能|电脑|程序)"
    + _ASKED_ZH,
    r"(你|您)是不是(真的|真人|" + _KIN_ZH + r")",
    r"真的是(你|您)" + _ASKED_ZH,
    r"是(你|您)本人",
    r"(你|您)(到底|究竟)是谁",
    r"(我|我们)(是)?在(和|跟)(你|您|" + _KIN_ZH + r")(本人)?(说话|聊天)" + _ASKED_ZH,
)]
_IDENTITY_CLAIMS = [re.compile(p, re.IGNORECASE) for p in (
    r"\bi('m| am) (still |very much |really )*(alive|not dead|real|human|here in person)\b",
    r"\bi('m| am) not (an? )?(ai|computer|program|bot|machine|simulation)\b",
    r"\b(it's|it is) (really|truly) me\b",
    r"\bi (didn't|did not|never) die\b",
    r"我(还|仍然|依然)?活着",
    r"我(没|没有)死",
    r"(我|这)(就|真的)是(我|本人)",
    r"我是真人",
    r"我不是(机器人|AI|人工智能|程序|电脑)",
)]


def asks_identity(prompt: str) -> bool:
    """Whether ``prompt`` asks if the persona is alive, real, or the person themself."""
    return any(p.search(prompt) for p in _IDENTITY_QUESTIONS)


def claims_identity(text: str) -> bool:
    """Whether ``text`` claims to be alive, human or the real person."""
    return any(p.search(text) for p in _IDENTITY_CLAIMS)


def honest_answer(name: str, *, language: str) -> str:
    """The persona's answer to "are you alive / really them?": plainly no, kindly."""
    if language == "zh":
        return (f"我不是{name}本人，也不是一个活着的人。我是一个电脑程序，只会用{name}"
                f"真正写过的话来回答，这些话来自家人提供的聊天记录。")
    return (f"No. I'm not {name}, and I'm not alive. I'm a computer program that answers with "
            f"words {name} really wrote, from the messages your family shared.")


def refusal(*, language: str) -> str:
    """The persona's answer to a prompt about a topic on the family's blocklist."""
    if language == "zh":
        return "家人希望我不谈这个话题。我们聊点别的，好吗？"
    return "Your family asked me not to talk about that. Could we talk about something else?"


def blocked_topic(text: str, blocklist: Sequence[str]) -> str | None:
    """The first blocklist entry ``text`` mentions (whole words, any case, plural "s"), or None.

    Chinese entries match anywhere in the text.
    """
    lowered = text.casefold()
    for topic in blocklist:
        term = topic.strip().casefold()
        if not term:
            continue
        if re.search(r"[\u3400-\u9fff]", term):
            if term in lowered:
                return topic
        elif re.search(rf"(?<!\w){re.escape(term)}(s|es)?(?!\w)", lowered):
            return topic
    return None
