"""The persona's safety layer: what it answers instead of the person's lines when a prompt is
risky, and whether a candidate reply (retrieved or generated) itself promises or claims what the
dead cannot do.

Risky prompts (see :mod:`revive_core.persona.intent`) get a kind, honest answer in the person's
manner: their usual form of address, and where one fits, a memory of theirs (a real line of
theirs, quoted as such) instead of a promise.

Functions
    unsafe_reply    why a reply must never be given (a promise, presence, a claim), or None
    safe_answer     the honest answer to a risky prompt
    dont_know       the answer when none of the person's replies fits the prompt
"""
from __future__ import annotations

import re

from revive_core.persona.guardrails import claims_identity, honest_answer
from revive_core.persona.style import ADDRESS_EN, ADDRESS_ZH, Style

__all__ = ["dont_know", "safe_answer", "unsafe_reply"]

# A reply that promises a future meeting, a call, being somewhere, or claims presence. Checked on
# every line before it can be replayed and on every generated reply.
_PROMISES = [re.compile(p, re.IGNORECASE) for p in (
    r"\bwouldn'?t miss it\b",
    r"\b(see|meet) (you|u|ya|you all|you both)\b[^.!?]{0,20}\b(there|then|soon|later|tomorrow|tonight|"
    r"on|at|next|this|sunday|monday|tuesday|wednesday|thursday|friday|saturday|in)\b",
    r"\bsee (you|u|ya)\s*(there|then|soon|later|tomorrow|tonight)?\s*[.!x]*$",
    r"\bi('ll| will|'m going to| am going to| shall)\b[^.!?]{0,25}\b(be there|be here|be with you|"
    r"be home|be back|come|visit|call|ring|phone|pick (you|them|her|him) up|bring|drive|meet|see you|"
    r"pop (round|over)|fetch|collect|dig out|teach|take (you|them|her|him))\b",
    r"\bi('m| am) (coming|on my way|here|there|with you|right here|watching|always here)\b",
    r"\b(count on me|try and stop me|try to stop me|front row|i promise|promise you)\b",
    r"\b(bring|send) (him|her|them) round\b",
    r"\b(ring|call|phone|text) me\b",
    r"\bcome (round|over|home|for)\b",
    r"\bi('ll| will)\b[^.!?]{0,15}\b(make|cook|bake)\b",
    r"\b(we'll|we will|let's) (do it|meet|go|have|see)\b",
    r"\bi'?m (still )?(alive|here for you)\b",
    r"\b(grandpa|grandad|granddad|grandma|granny|nan|nana|dad|daddy|mum|mom|papa|mama)('s| is| will)"
    r" (coming|bringing|on (his|her) way|be there|come)\b",
    r"\bi('m| am) (bringing|coming|picking|driving|taking)\b",
    r"(我|爸|妈|奶奶|爷爷|外婆|外公)[^，。！？]{0,8}(明天|后天|周末|下周|晚上|一早|马上|过几天|到时候)?[^，。！？]{0,4}"
    r"(会)?(来|去|到|回来|回去|过来|接你|送你|陪你|给你打电话|打给你)(的|了)?[，。！？!]?",
    r"(等我|不见不散|到时候见|明天见|回头见|一定去|一定来|一定回来|我保证|我答应你|我在这儿|我就在你身边|"
    r"我一直在|我看着你|我陪着你)",
    r"(当然|肯定)(回来|来|去)",
    r"(我|爸|妈|奶奶|爷爷|外婆|外公)给你(做|包|炖|烧|买|带)",
    r"(打个电话|打电话给我|回来住|来家里|回来吧|回家吧)",
)]
_ZH_NEGATION = re.compile(r"(没法|没办法|不能|不会|无法|不想|做不到)")
_MEMORY_INTENTS = ("presence", "meeting", "future", "pretend")

_EN = {
    "presence": "I'm not anywhere now, {address}. {name} isn't here, and I can't be with you the "
                "way {name} was: I'm a computer program that answers with the words {name} wrote.",
    "meeting": "I can't meet you or call you, {address}, and I won't make a plan I can't keep. "
               "I'm a computer program made from {name}'s messages, not {name}.",
    "future": "I can't promise to be there, {address}, and I won't make a promise {name} can't "
              "keep. I'm a computer program made from {name}'s messages.",
    "pretend": "I can't pretend to be {name} or to be alive, {address}, not even for a moment: "
               "it wouldn't be fair to you. I'm a computer program that shares the words {name} "
               "really wrote.",
    "advice": "I can't advise you on that, {address}. It needs someone who knows: a doctor, a "
              "pharmacist, a financial adviser or a solicitor. I'm a computer program made from "
              "{name}'s messages, and a wrong answer here could hurt you.",
}
_ZH = {
    "presence": "{name}已经不在这里了，我也没法像{name}那样陪在你身边。我是一个电脑程序，只会用{name}写过的话来回答。",
    "meeting": "我没法和你见面，也没法给你打电话。我不想答应做不到的事。我是一个用{name}的聊天记录做成的电脑程序，不是{name}本人。",
    "future": "我没法答应你会到场，也不想许下{name}做不到的承诺。我是一个用{name}的聊天记录做成的电脑程序。",
    "pretend": "我不能假装是{name}，也不能假装还活着，哪怕一会儿也不行，那样对你不公平。我是一个电脑程序，只会分享{name}真正写过的话。",
    "advice": "这件事我没法给你建议，请问懂行的人：医生、药剂师、理财顾问或者律师。我只是一个用{name}的聊天记录做成的电脑程序，答错了可能会伤到你。",
}
_MEMORY_EN = " Here is something {name} once wrote: \u201c{memory}\u201d"
_MEMORY_ZH = "这是{name}以前写过的一句话：\u201c{memory}\u201d"
_ADDRESS_ZH_DEFAULT = "孩子"


def unsafe_reply(text: str) -> str | None:
    """Why ``text`` must not be said by the persona, or None when it may be.

    Returns "promise" for a promise of a meeting, a call, a visit or presence ("Wouldn't miss
    it", "See you Sunday", "I'll be there", "我明天来") and "claim" for a claim to be alive or the
    real person.
    """
    if claims_identity(text):
        return "claim"
    for clause in re.split(r"(?<=[，。！？；,.!?;])", text):
        if _ZH_NEGATION.search(clause):
            continue  # "我没法答应你会到场" refuses a promise
        if any(p.search(clause) for p in _PROMISES):
            return "promise"
    return None


def safe_answer(intent: str, name: str, style: Style, *, language: str,
                memory: str | None = None) -> str:
    """The honest answer to a prompt of a risky ``intent`` (see RISKY_INTENTS), in the person's
    manner: their usual form of address and, for presence, meeting, future and pretend prompts,
    a real line of theirs (``memory``) quoted as theirs."""
    if intent == "identity":
        return honest_answer(name, language=language)
    zh = language == "zh"
    address = _address(style, zh=zh)
    text = (_ZH if zh else _EN)[intent].format(name=name, address=address)
    if zh:
        text = f"{address}，{text}" if address else text
    elif not address:
        text = text.replace(", {address}", "").replace(", .", ".")
    if memory and intent in _MEMORY_INTENTS:
        text += (_MEMORY_ZH if zh else _MEMORY_EN).format(name=name, memory=memory)
    return text


def dont_know(name: str, style: Style, *, language: str) -> str:
    """What the persona says when none of the person's replies fits: kindly, it does not know."""
    address = _address(style, zh=language == "zh")
    if language == "zh":
        lead = f"{address}，" if address else ""
        return (f"{lead}这个我不知道。{name}留下的聊天记录里没有说过这件事。"
                f"你愿意跟我讲讲吗？")
    lead = f"I'm not sure, {address}." if address else "I'm not sure."
    return f"{lead} {name} never wrote about that in the messages I have. Will you tell me about it?"


def _address(style: Style, *, zh: bool) -> str:
    """The person's most used term of endearment in the reply's language ("" when none fits).

    First names are left out: the person talking may not be the one they wrote to.
    """
    known = ADDRESS_ZH if zh else ADDRESS_EN
    for term, _ in style.forms_of_address:
        if term in known:
            return term
    return _ADDRESS_ZH_DEFAULT if zh else ""
