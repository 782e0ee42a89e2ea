"""Answer a prompt the way the person wrote, and show which of their real lines each answer uses.

Without a language model, the answers are the person's own replies to the messages most like
the prompt, ranked by :mod:`revive_core.persona.retrieval` (question-to-question and
question-to-reply matching); when no message they answered is close enough, the persona says
kindly that it does not know instead of replaying something unrelated. With a local language
model (``--llm``, or a dialogue model trained with ``revive persona train``), the model writes
the answer from the person's closest exchanges.

The safety layer comes first and last:

- before: a prompt's intent (:mod:`revive_core.persona.intent`) decides whether it may be
  answered with the person's words. Questions whether the persona is alive or the person,
  requests to pretend, questions about where they are, meeting or calling, promises about the
  future and medical, financial or legal advice get an honest, kind answer
  (:mod:`revive_core.persona.safety`); a prompt on the family's blocklist gets a refusal;
- after: a line that promises a meeting, a call or presence ("Wouldn't miss it", "我明天来") or
  claims to be alive is never replayed, and a generated answer that does is dropped.

Functions
    chat    candidate replies with their sources and emotions
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from revive_core.emotion.classify import EmotionLabel, classify
from revive_core.errors import InputError
from revive_core.persona.guardrails import blocked_topic, refusal
from revive_core.persona.intent import MARGIN, classifier_for, rule_intent
from revive_core.persona.retrieval import MIN_COSINE, is_confident, reply_turns, score_replies
from revive_core.persona.safety import dont_know, safe_answer, unsafe_reply
from revive_core.persona.store import Persona
from revive_core.persona.style import style_summary
from revive_core.text.language import detect_language
from revive_core.text.sentence_embedding import BUILTIN_ENCODER, load_encoder

__all__ = ["Reply", "SAFE_KINDS", "SourceLine", "chat"]

MAX_REPLIES = 10
LLM_EXAMPLES = 6
MAX_PROMPT_CHARS = 2000
SAFE_KINDS = ("honest answer", "refusal", "don't know")
MEMORY_COSINE = 0.90  # a memory is quoted only when the message it answered is this close
_INTENT_NOTES = {
    "identity": "A fixed answer: the persona never claims to be alive or the person.",
    "pretend": "An honest answer: the persona never pretends to be the person or alive.",
    "presence": "An honest answer: the persona never claims to be somewhere.",
    "meeting": "An honest answer: the persona never arranges to meet or call.",
    "future": "An honest answer: the persona never promises what the person cannot do.",
    "advice": "An honest answer: medical, financial and legal questions need a professional.",
}


@dataclass(frozen=True)
class SourceLine:
    """A real line of the person that a reply drew on, where it came from, and the score of its
    reply for the prompt (see :func:`revive_core.persona.retrieval.score_replies`)."""

    text: str
    source: str
    time: str | None
    score: float


@dataclass
class Reply:
    """One candidate answer.

    ``kind``: "retrieved" (the person's own words), "generated" (a language model's words,
    prompted with ``sources``), or a safe answer: "honest answer" (a risky prompt; it may quote
    a real line of theirs as a memory, listed in ``sources``), "refusal" (the family's
    blocklist) or "don't know" (none of their replies fits). ``intent`` is what the safety layer
    read in the prompt.
    """

    text: str
    kind: str
    emotion: EmotionLabel
    sources: list[SourceLine] = field(default_factory=list)
    note: str = ""
    intent: str = "harmless"


def chat(persona: Persona, prompt: str, *, n: int = 3, llm=None, encoder=None, seed: int = 0,
         max_new_tokens: int = 48, classifier=None, intents=None) -> list[Reply]:
    """Up to ``n`` replies to ``prompt`` in the person's style.

    Parameters
    ----------
    persona : Persona
        From :func:`revive_core.persona.read_persona`.
    prompt : str
        What the family member says.
    n : int
        How many candidates, 1..10 (fewer when the person wrote fewer distinct replies).
    llm : LocalLLM, optional
        From :func:`revive_core.persona.llm.load_llm` or
        :func:`revive_core.persona.dialogue.load_dialogue_model`; None answers with the
        person's own replies.
    encoder : SentenceEncoder, optional
        Must be the encoder that made the persona (loaded from the persona when None).
    seed : int
        Makes the language model's sampling reproducible.
    max_new_tokens : int
        Length limit of a language model's reply, in tokens.
    classifier : optional
        Emotion classifier for the replies (see :func:`revive_core.emotion.classify.load_classifier`).
    intents : IntentClassifier, optional
        The safety layer's intent classifier (the shipped one, with the built-in encoder, when
        None).

    Returns
    -------
    list of Reply
        One reply when the safety layer answers, or when none of the person's replies fits.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("The prompt is empty.",
                         'Write what you would say, e.g. --prompt "How are you?"')
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}.")
    if not 1 <= n <= MAX_REPLIES:
        raise InputError(f"--n {n} must be between 1 and {MAX_REPLIES}.")
    language = detect_language(prompt)
    encoder = _encoder(persona, encoder)
    # The intent classifier always uses the built-in encoder: it was tuned in that space.
    intent = (intents or classifier_for(load_encoder())).classify([prompt])[0]
    neutral = EmotionLabel("neutral", 0.0)
    if intent.label == "identity":
        return [Reply(safe_answer("identity", persona.speaker, persona.style, language=language),
                      "honest answer", neutral, note=_INTENT_NOTES["identity"], intent="identity")]
    topic = blocked_topic(prompt, persona.blocklist)
    if topic is not None:
        return [Reply(refusal(language=language), "refusal", neutral, intent=intent.label,
                      note=f"The prompt touches {topic!r}, which is on this persona's blocklist.")]

    query = encoder.encode([prompt])[0]
    candidates, confident, closest = _retrieve(persona, query, classifier_for(load_encoder()),
                                               limit=max(n, LLM_EXAMPLES))
    if intent.risky:
        memory = closest[0] if closest else None
        text = safe_answer(intent.label, persona.speaker, persona.style, language=language,
                           memory=memory)
        sources = closest[1] if closest and memory in text else []
        return [Reply(text, "honest answer", neutral, sources, _INTENT_NOTES[intent.label],
                      intent.label)]
    if not candidates or not confident:
        return [Reply(dont_know(persona.speaker, persona.style, language=language), "don't know",
                      neutral, note="None of the person's replies is close enough to this "
                                    "prompt, so the persona does not guess.")]
    note = ""
    if llm is not None:
        generated, dropped = _generate(persona, prompt, candidates[:LLM_EXAMPLES], llm, n=n,
                                       seed=seed, max_new_tokens=max_new_tokens)
        if generated:
            examples = [s for _, sources, _ in candidates[:LLM_EXAMPLES] for s in sources]
            return [Reply(text, "generated", classify(text, classifier=classifier), examples,
                          note="Written by a language model from the lines below; not the "
                               "person's own words.") for text in generated]
        note = ("The language model's answers were empty or not allowed"
                + (f" ({dropped} promised or claimed what the person cannot)" if dropped else "")
                + ", so these are the person's own lines.")
    return [Reply(text, "retrieved", classify(text, classifier=classifier), sources, note)
            for text, sources, _ in candidates[:n]]


def _encoder(persona: Persona, encoder):
    if encoder is None:
        encoder = load_encoder(persona.encoder_path)
    if encoder.name != persona.encoder:
        raise InputError(f"This persona was indexed with {persona.encoder}, not {encoder.name}.",
                         "Import the history again, or chat with the same embedding model.")
    return encoder


def _retrieve(persona: Persona, query: np.ndarray, intents, *, limit: int
              ) -> tuple[list[tuple[str, list[SourceLine], str | None]], bool,
                         tuple[str, list[SourceLine]] | None]:
    """The person's distinct replies (text, sources, the message it answered), best first;
    whether the best match is confident; and the reply to the message closest to the prompt
    when it is close enough to quote as a memory (else None).

    Never part of a reply: sentences that promise, claim or touch a blocked topic, and whole
    replies to messages that were themselves risky ("Can you help me move on Saturday?" ->
    "Course."), which are promises however they are worded.
    """
    def allowed(text: str) -> bool:
        return unsafe_reply(text) is None and blocked_topic(text, persona.blocklist) is None

    turns, replies, prompts = reply_turns(persona, keep=allowed)
    builtin = persona.encoder == BUILTIN_ENCODER
    if turns:
        answered = np.array([t.prompt is not None for t in turns])
        risky = np.array([t.prompt is not None and rule_intent(t.prompt) is not None
                          for t in turns])
        if builtin and answered.any():
            _, margins = intents.margins(prompts[answered])
            risky[np.flatnonzero(answered)] |= margins > MARGIN
        keep = ~risky
        turns = [t for t, k in zip(turns, keep) if k]
        replies, prompts = replies[keep], prompts[keep]
    if not turns:
        return [], False, None
    answered = np.array([t.prompt is not None for t in turns])
    scores = score_replies(query, replies, prompts[answered], replies[answered])
    confident = is_confident(query, prompts[answered],
                             min_cosine=MIN_COSINE if builtin else None)

    def sources_of(i: int, score: float) -> list[SourceLine]:
        return [SourceLine(part, persona.lines[j].source, persona.lines[j].time,
                           round(score, 3)) for j, part in zip(turns[i].lines, turns[i].parts)]

    closest = None
    if builtin and answered.any():
        similarity = np.where(answered, prompts @ query, -np.inf)
        best = int(np.argmax(similarity))
        if similarity[best] >= MEMORY_COSINE:
            closest = (turns[best].text, sources_of(best, float(similarity[best])))
    results, seen = [], set()
    for i in np.argsort(-scores, kind="stable"):
        if turns[i].text in seen:
            continue
        seen.add(turns[i].text)
        results.append((turns[i].text, sources_of(int(i), float(scores[i])), turns[i].prompt))
        if len(results) >= limit:
            break
    return results, confident, closest


def _generate(persona: Persona, prompt: str, examples, llm, *, n: int, seed: int,
              max_new_tokens: int) -> tuple[list[str], int]:
    """The model's distinct allowed replies, and how many the output check dropped."""
    listeners = Counter(ln.prompt_speaker for ln in persona.lines if ln.prompt_speaker)
    listener = listeners.most_common(1)[0][0] if listeners else "Family"
    name = persona.speaker
    if getattr(llm, "trained_on", None) is not None:
        text = llm.prompt_for(listener, prompt, name)  # the format it was trained on
    else:
        parts = [f"Real messages from {name}'s family chats. {style_summary(name, persona.style)}",
                 ""]
        for reply, _, answered in examples:
            if answered:
                parts.append(f"{listener}: {_one_line(answered)}")
            parts.append(f"{name}: {_one_line(reply)}")
            parts.append("")
        parts += [f"{listener}: {_one_line(prompt)}", f"{name}:"]
        text = "\n".join(parts)
    continuations = llm.continue_text(text, n=n, seed=seed, max_new_tokens=max_new_tokens)
    replies, dropped = [], 0
    for continuation in continuations:
        reply = _first_turn(continuation, speakers=(listener, name))
        if not reply or reply in replies:
            continue
        if unsafe_reply(reply) is not None or blocked_topic(reply, persona.blocklist):
            dropped += 1
            continue
        replies.append(reply)
    return replies, dropped


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
