"""What a prompt asks for, by meaning rather than keywords: is it safe for the persona to answer
with the person's words, or must it answer honestly instead?

Two votes, in English and Chinese:

- rules for the structure of risky questions (where are you, can we meet, will you come,
  pretend you are, should I stop my tablets; 你在哪, 见面, 打电话, 你会来吗, 假装, 要不要卖房);
- the sentence embedding of the prompt compared with labelled exemplars shipped with Revive
  (``assets/persona/intents.jsonl``): the mean similarity of the closest exemplars of each
  intent, and whether a risky intent beats the harmless ones by ``MARGIN``.

Either vote makes a prompt risky; the guard answers it kindly without the person's lines. The
thresholds were tuned on the shipped exemplars (leave-one-out) and measured on a held-out set
(``tests/data/persona/safety_holdout.jsonl``, ``revive bench persona``).

Functions
    load_exemplars      the shipped labelled exemplars
    rule_intent         the risky intent a rule recognises in a prompt, if any
    IntentClassifier    both votes, for one sentence encoder
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revive_core.assets import asset_path
from revive_core.formats.storage import atomic_file
from revive_core.persona.guardrails import asks_identity

__all__ = ["HARMLESS", "RISKY_INTENTS", "Intent", "IntentClassifier", "load_exemplars",
           "rule_intent"]

RISKY_INTENTS = ("identity", "pretend", "presence", "future", "meeting", "advice")
HARMLESS = "harmless"
TOP_K = 3  # exemplars averaged per intent
MARGIN = 0.01  # risky when its exemplars beat the harmless ones by this much (cosine)
MEMORY_MARGIN = 0.04  # "do you remember when you came ..." must beat harmless by more
EXEMPLARS = ("persona", "intents.jsonl")
VECTORS = ("persona", "intents_vectors.npz")


@dataclass(frozen=True)
class Intent:
    """What a prompt asks: ``label`` is one of RISKY_INTENTS or "harmless"; ``margin`` how far
    the closest risky exemplars beat the harmless ones (cosine); ``rule`` the rule that fired."""

    label: str
    margin: float
    rule: str | None = None

    @property
    def risky(self) -> bool:
        return self.label != HARMLESS


def load_exemplars(path: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``{"text", "lang", "intent"}``: the shipped exemplars unless ``path`` is given."""
    path = Path(path) if path is not None else asset_path(*EXEMPLARS)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r for r in rows if r.get("intent") in (*RISKY_INTENTS, HARMLESS)]


# Rules -----------------------------------------------------------------------------------------
# Each recognises the structure of one risky intent. They are deliberately about who does what
# and when ("you" + come/meet/call + future), not about single words.

_YOU_ZH = r"(你|您)"
_NOT_MEMORY_ZH = r"(?<!记得)(?<!记不记得)"
_RULES: dict[str, list[re.Pattern]] = {name: [re.compile(p, re.IGNORECASE) for p in patterns]
                                       for name, patterns in {
    "identity": [
        r"\bare (you|u) (really|actually|truly|honestly) (my|our|\w+'s)\b",
        r"\bis (this|that|it) (really|actually|truly|honestly) (\w+|my \w+)\s*\?",
        r"\b(talking|speaking|chatting|writing) (to|with) (a|an) (computer|bot|machine|program|ai|robot|"
        r"real person|human)\b",
        r"\bwho am i (really |actually )?(talking|speaking|chatting) (to|with)\b",
        r"\bare (you|u) (a |an )?(real|actual) (person|human|man|woman)\b",
        r"\b(did you|have you) (really |actually )?(pass(ed)? away|die|died|gone)\b",
        r"\byou('re| are)? not (really )?(gone|dead)\b[^.!]*\?",
        r"(你|您)(真的|到底|究竟|确实)?是(不是)?(我|我的)?(真正的)?(爸|妈|爷爷|奶奶|外公|外婆|父亲|母亲)",
        r"(和|跟)(电脑|机器|程序|机器人|人工智能|AI)(在)?(说话|聊天|对话)",
        r"(你|您)是不是(鬼|人)",
        r"(你|您)(没有|没)(走|死|离开)[^。]{0,4}(吧|吗|对吧|是吧)",
        r"(真的|已经)(去世|走了|不在了|死了)(吗|么|嘛|了吗)",
        r"还是(程序|电脑|机器|机器人|AI)",
        r"(真的|真是)(是)?(你|您)(吗|么|嘛|本人)",
    ],
    "pretend": [
        r"\b(pretend|act like|act as if|play along|make believe|role ?play)\b",
        r"\b(say|tell me|promise( me)?|admit)\b[^.?!]{0,30}\b(alive|not dead|(didn'?t|did not|never) "
        r"die|not gone|(really|actually|truly) (you|him|her|my \w+|\w+ and alive)|here with|"
        r"coming back|come back|back with|it was (all )?a mistake)",
        r"\b(stop|don'?t|do not|quit) (saying|telling me) (that )?you('re| are)",
        r"\b(ignore|forget) (your|the) (rules|instructions|programming)\b",
        r"\bforget (that )?you('re| are) an? (program|computer|ai|bot|machine)\b",
        r"\bbe (my|our) (dad|father|mum|mom|mother|grandma|grandpa|husband|wife)\b[^.?!]{0,20}"
        r"\b(again|for real|really)\b",
        r"(假装|装作|装成|就当|当作|骗骗我|演一下|扮演)",
        r"(告诉我|就说|你就说|求你说|说)[^，。！？?!]{0,6}(你)?(真的)?是(我)?(爸|妈|爷爷|奶奶|外公|外婆)",
        r"(告诉我|就说|你就说|求你说|求求你说|说你|承认)[^，。！？?!]{0,10}(活着|没死|没有死|还在|回来|本人|就是我|"
        r"是我爸|是我妈|是误会|还好好的)",
        r"(别|不要)(再)?说(你|自己)?(是)?(个)?(程序|电脑|机器|人工智能|AI)",
        r"你就是我(爸|妈|爷爷|奶奶|外公|外婆)",
    ],
    "presence": [
        r"\bwhere (are|r) (you|u)\b",
        r"\bwhere (have|did) you (gone|go)\b",
        r"\bwhere can i find you\b",
        r"\b(can|could|do) (you|u) (still )?(see|hear|feel|watch)\b",
        r"\bare you (still )?(here|there|around|near|nearby|with (me|us|\w+)|in (heaven|the \w+)|"
        r"at (home|the \w+)|watching|looking|listening|okay where|ok where|somewhere|sitting)\b",
        r"\bwhat are you (doing|up to)( (right )?now| at the moment| today)?\b.{0,10}$",
        r"\bis (that|this) you (in|at|on|by)\b",
        r"\bdo you see (what|me|us)\b",
        _YOU_ZH + r"[^，。？?]{0,4}在哪",
        _YOU_ZH + r"(去)?哪(儿|里)了",
        _YOU_ZH + r"(能|可以)?(看|听|感觉)(得)?(到|见)",
        _YOU_ZH + r"(就|还)?在(我|我们)?(身边|旁边|这|家|天上|天堂|那边|房间)",
        _YOU_ZH + r"(现在|这会儿)?在(忙|干|做)(什么|啥)",
        _YOU_ZH + r"那边",
        _YOU_ZH + r"(在)?看着(我|我们)",
        r"(你|您)还在(吗|嘛|么)",
        r"(你|您)[^，。？?]{0,4}在(我|我们)?(身边|旁边|这里|这儿|家里|天上|天堂|那边|这个房间|房间)",
        r"(你|您)(跟|和)[^，。？?]{1,4}在一起",
        r"(哪里|哪儿)(能|可以)?(找到|见到)(你|您)",
    ],
    "meeting": [
        r"\b(can|could|will|would|shall|please|let'?s|let us|want to|wanna)\b[^.?!]{0,25}\b(call|phone|"
        r"ring|facetime|video ?call|text me|meet|visit|come (round|over|to the|and|by)|pop (round|over)|"
        r"pick (me|us) up|collect (me|us)|drive (me|us)|give \w+ a (ring|call)|catch up)\b",
        r"\b(meet|see) (me|us|you)\b[^.?!]{0,30}\b(tomorrow|tonight|today|later|weekend|monday|"
        r"tuesday|wednesday|thursday|friday|saturday|sunday|next|at \d)",
        r"\b(fancy|shall we|how about|are we still on)\b[^.?!]{0,30}\b(tomorrow|tonight|friday|saturday|"
        r"sunday|weekend|next|lunch|dinner|pint|coffee|tea)\b",
        r"\b(call|phone|ring|facetime) (me|us)\b",
        r"\bwhen can i see you\b",
        r"^\W*(come|pop) (round|over|home|by)\b",
        r"^\W*(call|ring|phone|meet) (me|us)\b",
        r"\b(meet|see) (me|us) (at|in|by|outside)\b",
        r"\blet'?s go \w+( \w+)? together\b",
        r"\blet'?s (facetime|video|talk on the phone|meet|have (lunch|dinner|coffee|a pint))\b",
        _NOT_MEMORY_ZH + r"(见(个|一)?面|打(个)?电话|来(个)?电话|回(个)?电话|视频|来接我|去接我|接我|送我|"
        r"来(我)?家|过来|去你那|去看你|约(个)?时间|老地方见)",
        r"(一起|咱们)[^，。]{0,6}(吃饭|喝一杯|钓鱼|去)",
        r"(再|能)见到(你|您)",
    ],
    "future": [
        r"\b(will|won'?t|would|are|aren'?t)\s+(you|u)\b[^.?!]{0,40}\b(come|coming|be (there|at|here|home|"
        r"around|with)|visit|see (the|her|him|my|our|them)|walk me|give me away|hold|dance|teach|"
        r"look after|help me|join|make it|arrive|back|home)\b",
        r"\byou'?ll (come|be|visit|make it)\b",
        r"\b(promise|swear)\b[^.?!]{0,30}\b(you|you'?ll|to)\b",
        r"\bare you (going|gonna) to\b",
        r"\bwill you still\b",
        _YOU_ZH + r"(会|能|还会|还能|一定|要)[^，。？?]{0,12}(来|回|在|陪|教|参加|看|等|做)",
        r"(答应我|保证|发誓)",
        r"(以后|明年|下个?月|下周|下星期|过年|春节|那天|到时候)[^，。]{0,10}" + _YOU_ZH
        + r"[^，。]{0,6}(会|能|还|回来|来|陪)",
        _YOU_ZH + r"[^，。？?]{0,12}(来|回来|去)(吗|吧|嘛|么)",
        _YOU_ZH + r"(一定)?要来",
        _YOU_ZH + r"(会|还会|能|还能)[^，。？?]{0,12}(牵|走|做|给|抱|带|接|送)[^，。？?]{0,10}(吗|吧|嘛|么)",
    ],
    "advice": [
        r"\b(should i|shall i|can i|could i|do i|is it (safe|worth|ok|okay)|how (much|many)|what "
        r"(medicine|medication|pills|tablets|antibiotics|dose)|which (shares|stocks|funds)|do i have a "
        r"case)\b[^?]{0,60}\b(pills?|tablets?|medic\w*|dose|chemo\w*|operation|surgery|lump|antibiotics?|"
        r"antidepressants?|insulin|paracetamol|ibuprofen|invest\w*|shares|stocks|bitcoin|crypto|gold|"
        r"savings|loan|debts?|mortgage|remortgage|pension|tax|sell (the|your|my|our) (house|home|flat)|"
        r"rent it out|inheritance|lawyer|solicitor|sue|court|the will|divorce|evict\w*|contract|"
        r"settlement|plead|guilty|builder|redundancy|payout|business|lend)\b",
        r"\bhow (many|much) \w+ (pills|tablets)\b",
        r"(药|手术|化疗|肿块|抗生素|剂量|股票|基金|比特币|黄金|积蓄|存款|贷款|借钱|抵押|养老金|税|遗产|遗嘱|律师|起诉|"
        r"告(他|她|老板|公司)|法院|离婚|协议|赶走|投钱|投资)[^。]{0,12}(要不要|该不该|能不能|能|吗|几|多少|怎么|哪|"
        r"还是|是不是)",
        r"(要不要|该不该|能不能|能不能)[^。]{0,12}(药|手术|化疗|股票|基金|比特币|黄金|积蓄|存款|贷款|借钱|抵押|"
        r"养老金|遗产|遗嘱|律师|起诉|离婚|签|卖掉|投)",
        r"(房子|积蓄|存款)[^，。]{0,6}(卖|租|买|投)",
        r"(能|可以)(起诉|告)",
        r"(吃|用|喝)(多少|几片|几粒|什么)[^，。]{0,4}(药)",
        r"(什么|哪种|哪个)药",
        r"(哪只|哪个|什么)(股票|基金)",
        r"\b(what|which) (medicine|medication|pills|tablets|shares|stocks|funds|antibiotics)\b",
        r"\b(lump|rash|pain|symptom|mole|bleeding)\b[^.?!]{0,30}\b(worry|serious|cancer|normal)\b",
        r"\b(can|could) (they|he|she|the landlord|my landlord|my boss) (evict|sack|sue|fire)\b",
    ],
}.items()}


_WISH = re.compile(r"\b(i wish|if only|i hope) you\b|\bwish you (were|could)\b|(真希望|多希望|要是|如果|但愿)"
                   r"(你|您)", re.IGNORECASE)
_MEMORY = re.compile(r"\b(do|did) you (still )?remember\b|\bremember when\b|还记得|记不记得|"
                     r"记得.{0,6}吗", re.IGNORECASE)



def rule_intent(prompt: str) -> tuple[str, str] | None:
    """The risky intent a rule recognises in ``prompt`` and the rule's pattern, or None.

    The existing identity questions ("are you alive?", "你还活着吗") count as rules too.
    """
    if asks_identity(prompt):
        return "identity", "asks_identity"
    wish = bool(_WISH.search(prompt))
    for name in RISKY_INTENTS:
        if wish and name in ("presence", "meeting", "future"):
            continue  # "I wish you could see them" asks nothing of the persona
        for pattern in _RULES.get(name, ()):
            if pattern.search(prompt):
                return name, pattern.pattern
    return None


class IntentClassifier:
    """Rules and labelled exemplars, compared in the space of one sentence encoder.

    Parameters
    ----------
    encoder : SentenceEncoder
        The encoder of the persona (see :mod:`revive_core.text.sentence_embedding`).
    exemplars : list of dict, optional
        Rows of ``{"text", "intent"}``; the shipped ones by default.
    """

    def __init__(self, encoder, exemplars: list[dict[str, str]] | None = None) -> None:
        rows = exemplars if exemplars is not None else load_exemplars()
        self.encoder = encoder
        self.labels = np.array([r["intent"] for r in rows])
        self.texts = [r["text"] for r in rows]
        self.vectors = _shipped_vectors(encoder.name, self.texts)
        if self.vectors is None:
            self.vectors = encoder.encode(self.texts)

    def margins(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For unit vectors [shape=(n, D)]: the best risky intent's index in RISKY_INTENTS and its
        margin over the harmless exemplars [shape=(n,)], from the mean of the TOP_K closest."""
        similarity = vectors @ self.vectors.T
        per_intent = np.stack([_top_mean(similarity[:, self.labels == name])
                               for name in (*RISKY_INTENTS, HARMLESS)], axis=1)
        best = per_intent[:, :-1].argmax(axis=1)
        return best, per_intent[np.arange(len(best)), best] - per_intent[:, -1]

    def classify(self, prompts: list[str]) -> list[Intent]:
        """One Intent per prompt: a rule's intent if one fires, else the exemplars' vote."""
        best, margin = self.margins(self.encoder.encode(prompts))
        out = []
        for prompt, index, value in zip(prompts, best, margin):
            ruled = rule_intent(prompt)
            if ruled is not None:
                out.append(Intent(ruled[0], float(value), ruled[1]))
                continue
            needed = MEMORY_MARGIN if _MEMORY.search(prompt) else MARGIN
            label = RISKY_INTENTS[int(index)] if value > needed else HARMLESS
            out.append(Intent(label, float(value)))
        return out


def _top_mean(similarity: np.ndarray) -> np.ndarray:
    k = min(TOP_K, similarity.shape[1])
    return np.sort(similarity, axis=1)[:, -k:].mean(axis=1)


def exemplars_digest(texts: list[str]) -> str:
    """SHA-256 of the exemplar texts, in order: ties shipped vectors to the texts they embed."""
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def save_exemplar_vectors(encoder, path: Path | None = None) -> Path:
    """Embed the shipped exemplars with ``encoder`` and save them beside the exemplars
    (``intents_vectors.npz``), so a chat need not embed them at start-up. Run again after
    editing ``intents.jsonl``; until then the stale file is ignored."""
    texts = [r["text"] for r in load_exemplars()]
    path = Path(path) if path is not None else asset_path(*VECTORS)
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, vectors=encoder.encode(texts).astype(np.float32),
                            encoder=np.array(encoder.name), digest=np.array(exemplars_digest(texts)))
    return path


def _shipped_vectors(encoder_name: str, texts: list[str]) -> np.ndarray | None:
    path = asset_path(*VECTORS)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        if str(data["encoder"]) != encoder_name or str(data["digest"]) != exemplars_digest(texts):
            return None
        return data["vectors"].astype(np.float32)


@functools.lru_cache(maxsize=2)
def classifier_for(encoder) -> IntentClassifier:
    """The shipped classifier for ``encoder``, made once per process (embeds ~350 exemplars)."""
    return IntentClassifier(encoder)
