"""Answer a prompt the way the person wrote, and show which of their real lines each answer uses.

Without a language model, the answers are the person's own replies to the messages most like
the prompt (their whole turn, up to three lines), or failing that their lines most like the
prompt itself. With a local language model (``--llm``), the model is shown up to six such
exchanges and a one-sentence description of the person's style and continues the conversation;
its answers list those exchanges as their sources.

Guardrails come first: a question whether the persona is alive or really the person gets a
plain, kind "no"; a prompt on a blocklisted topic gets a refusal; answers that claim to be
alive or touch a blocklisted topic are never given.

Functions
    chat    candidate replies with their sources and emotions
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from revive_core.emotion.classify import EmotionLabel, classify
from revive_core.errors import InputError
from revive_core.persona.guardrails import asks_identity, blocked_topic, claims_identity, honest_answer, refusal
from revive_core.persona.store import Persona
from revive_core.persona.style import style_summary
from revive_core.text.language import detect_language

__all__ = ["Reply", "SourceLine", "chat"]

MAX_REPLIES = 10
MAX_REPLY_LINES = 3
LLM_EXAMPLES = 6
LINE_PENALTY = 0.05  # a line merely like the prompt ranks below a reply to a message like it
MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class SourceLine:
    """A real line of the person that a reply drew on, where it came from, and how close it was
    to the prompt (cosine similarity, -1..1)."""

    text: str
    source: str
    time: str | None
    score: float


@dataclass
class Reply:
    """One candidate answer.

    ``kind``: "retrieved" (the person's own words), "generated" (a language model's words,
    prompted with ``sources``), "honest answer" or "refusal" (guardrails; no sources).
    """

    text: str
    kind: str
    emotion: EmotionLabel
    sources: list[SourceLine] = field(default_factory=list)
    note: str = ""


def chat(persona: Persona, prompt: str, *, n: int = 3, llm=None, encoder=None, seed: int = 0,
         max_new_tokens: int = 48, classifier=None) -> list[Reply]:
    """Up to ``n`` replies to ``prompt`` in the person's style.

    Parameters
    ----------
    persona : Persona
        From :func:`revive_core.persona.read_persona`.
    prompt : str
        What the family member says.
    n : int
        How many candidates, 1..10 (fewer when the person wrote fewer distinct lines).
    llm : LocalLLM, optional
        From :func:`revive_core.persona.llm.load_llm`; None answers with retrieved lines.
    encoder : SentenceEncoder, optional
        Must be the encoder that made the persona (loaded from the persona when None).
    seed : int
        Makes the language model's sampling reproducible.
    max_new_tokens : int
        Length limit of a language model's reply, in tokens.
    classifier : optional
        Emotion classifier for the replies (see :func:`revive_core.emotion.classify.load_classifier`).

    Returns
    -------
    list of Reply
        One reply (no sources) when a guardrail answers instead.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("The prompt is empty.",
                         'Write what you would say, e.g. --prompt "How are you?"')
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}.")
    if not 1 <= n <= MAX_REPLIES:
        raise InputError(f"--n {n} must be between 1 and {MAX_REPLIES}.")
    language = detect_language(prompt)
    if asks_identity(prompt):
        return [Reply(honest_answer(persona.speaker, language=language), "honest answer",
                      EmotionLabel("neutral", 0.0),
                      note="A fixed answer: the persona never claims to be alive or the person.")]
    topic = blocked_topic(prompt, persona.blocklist)
    if topic is not None:
        return [Reply(refusal(language=language), "refusal", EmotionLabel("neutral", 0.0),
                      note=f"The prompt touches {topic!r}, which is on this persona's blocklist.")]

    candidates = _retrieve(persona, prompt, encoder, limit=max(n, LLM_EXAMPLES))
    if not candidates:
        raise InputError(f"None of {persona.speaker}'s lines can be used for this prompt.",
                         "All matching lines touch blocklisted topics; try another prompt.")
    note = ""
    if llm is not None:
        generated = _generate(persona, prompt, candidates[:LLM_EXAMPLES], llm, n=n, seed=seed,
                              max_new_tokens=max_new_tokens)
        if generated:
            examples = [s for _, sources, _ in candidates[:LLM_EXAMPLES] for s in sources]
            return [Reply(text, "generated", classify(text, classifier=classifier), examples,
                          note="Written by a language model from the lines below; not the "
                               "person's own words.") for text in generated]
        note = ("The language model's answers were empty or not allowed, so these are the "
                "person's own lines.")
    return [Reply(text, "retrieved", classify(text, classifier=classifier), sources, note)
            for text, sources, _ in candidates[:n]]


def _retrieve(persona: Persona, prompt: str, encoder, *, limit: int
              ) -> list[tuple[str, list[SourceLine], str | None]]:
    """Distinct replies (text, sources, the message it answered), best first."""
    from revive_core.text.sentence_embedding import load_encoder

    if encoder is None:
        encoder = load_encoder(persona.encoder_path)
    if encoder.name != persona.encoder:
        raise InputError(f"This persona was indexed with {persona.encoder}, not {encoder.name}.",
                         "Import the history again, or chat with the same embedding model.")
    query = encoder.encode([prompt])[0]
    prompt_score = np.where(persona.has_prompt, persona.prompt_vectors @ query, -np.inf)
    line_score = persona.line_vectors @ query - LINE_PENALTY
    score = np.maximum(prompt_score, line_score)
    turns: dict[int, list[int]] = {}
    for i, line in enumerate(persona.lines):
        turns.setdefault(line.turn, []).append(i)

    results, seen = [], set()
    for i in np.argsort(-score, kind="stable"):
        line = persona.lines[i]
        members = turns[line.turn]
        start = 0 if prompt_score[i] >= line_score[i] else members.index(i)
        chosen = members[start:start + MAX_REPLY_LINES]
        text = _join([persona.lines[j].text for j in chosen])
        if text in seen or claims_identity(text) or blocked_topic(text, persona.blocklist):
            continue
        seen.add(text)
        sources = [SourceLine(persona.lines[j].text, persona.lines[j].source,
                              persona.lines[j].time, round(float(score[j]), 3)) for j in chosen]
        results.append((text, sources, persona.lines[members[0]].prompt))
        if len(results) >= limit:
            break
    return results


def _join(texts: list[str]) -> str:
    out = ""
    for text in texts:
        if out and not re.search(r"[\u4e00-\u9fff。！？，、）]$", out):
            out += " "
        out += text.strip()
    return out


def _generate(persona: Persona, prompt: str, examples, llm, *, n: int, seed: int,
              max_new_tokens: int) -> list[str]:
    listeners = Counter(ln.prompt_speaker for ln in persona.lines if ln.prompt_speaker)
    listener = listeners.most_common(1)[0][0] if listeners else "Family"
    name = persona.speaker
    parts = [f"Real messages from {name}'s family chats. {style_summary(name, persona.style)}", ""]
    for text, _, answered in examples:
        if answered:
            parts.append(f"{listener}: {_one_line(answered)}")
        parts.append(f"{name}: {_one_line(text)}")
        parts.append("")
    parts += [f"{listener}: {_one_line(prompt)}", f"{name}:"]
    continuations = llm.continue_text("\n".join(parts), n=n, seed=seed,
                                      max_new_tokens=max_new_tokens)
    replies = []
    for text in continuations:
        reply = _first_turn(text, speakers=(listener, name))
        if reply and reply not in replies and not claims_identity(reply) \
                and blocked_topic(reply, persona.blocklist) is None:
            replies.append(reply)
    return replies


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _first_turn(text: str, *, speakers: tuple[str, ...]) -> str:
    """The continuation up to its first line break or the next speaker's name, printable
    characters only."""
    first = text.strip().split("\n", 1)[0]
    for speaker in speakers:
        first = first.split(f"{speaker}:", 1)[0]
    first = "".join(ch for ch in first if ch.isprintable() and ch != "\ufffd")
    return " ".join(first.split()).strip('"').strip()
