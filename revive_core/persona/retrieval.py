"""Rank the person's real replies for a prompt: what did they answer to questions like this one?

The unit is a reply turn: the lines the person wrote in a row (up to ``MAX_REPLY_LINES``) and the
message(s) of others they answered. A candidate reply ``r`` is scored for a prompt ``q`` by

    score(q, r) = ALPHA * cos(q, r) + (1 - ALPHA) * sum_j w_j(q) * cos(r_j, r)

where ``j`` runs over the support pairs (message ``c_j`` -> the person's reply ``r_j``) and
``w(q) = softmax(cos(q, c_j) / TEMPERATURE)``: question-to-question matching says which of their
past replies fit, question-to-reply matching adds whether the reply itself is about the prompt.
Inside a persona each candidate is one of the support pairs' replies, so a reply to a message
like the prompt ranks first; ``revive bench persona`` ranks held-out replies by the same formula,
with the earlier pairs as support.

Below a confidence (see :func:`is_confident`) the persona says it does not know instead of
replaying an unrelated line. With the built-in encoder, the best question-to-question cosine
must reach ``MIN_COSINE``: prompts unrelated to the test histories (trivia, poems) stayed below
0.86, related ones reached 0.92 and more.

Functions
    reply_turns     the person's reply turns, with their vectors
    score_replies   scores of candidate replies for one prompt
    confidence      how clearly the prompt matches a message the person answered
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import Callable

import numpy as np

from revive_core.persona.store import Persona
from revive_core.text.sentences import split_sentences

__all__ = ["ALPHA", "MIN_CONFIDENCE", "MIN_COSINE", "is_confident", "ReplyTurn", "TEMPERATURE", "confidence", "join_lines",
           "reply_turns", "score_replies"]

MAX_REPLY_LINES = 3
ALPHA = 0.5  # weight of question-to-reply similarity; the rest is question-to-question
TEMPERATURE = 0.02  # softmax temperature over cosine similarities to the support messages
MIN_CONFIDENCE = 3.0  # standard deviations above the mean similarity to the answered messages
MIN_COSINE = 0.88  # built-in encoder: unrelated prompts stay below ~0.86, related ones reach 0.92+
MIN_SUPPORT = 10  # with fewer answered messages the spread means nothing: the cosine floor decides


@dataclass(frozen=True)
class ReplyTurn:
    """The person's lines written in a row (indices into ``persona.lines``), the part of each
    that may be said, the joined text, and the message(s) they answered (None for a turn that
    answered nothing)."""

    lines: tuple[int, ...]
    parts: tuple[str, ...]
    text: str
    prompt: str | None


def reply_turns(persona: Persona, *, keep: Callable[[str], bool] = lambda text: True
                ) -> tuple[list[ReplyTurn], np.ndarray, np.ndarray]:
    """The person's reply turns, the unit vectors of their replies [shape=(T, D)] (the mean of
    their lines' vectors) and of the messages they answered [shape=(T, D), zero rows where
    none].

    Parameters
    ----------
    persona : Persona
    keep : callable
        Whether a sentence may be part of a reply. A line keeps its allowed sentences ("Miss
        you too. Ring me any time." keeps "Miss you too."); a line with none left is left out
        of its turn, and a turn with none left is dropped. The vectors are of the whole lines.
    """
    members: dict[int, list[int]] = {}
    for i, line in enumerate(persona.lines):
        members.setdefault(line.turn, []).append(i)
    turns, replies, prompts = [], [], []
    for indices in members.values():
        texts = {i: _allowed_part(persona.lines[i].text, keep) for i in indices}
        kept = tuple(i for i in indices if texts[i])[:MAX_REPLY_LINES]
        if not kept:
            continue
        first = persona.lines[indices[0]]
        parts = tuple(texts[i] for i in kept)
        turns.append(ReplyTurn(kept, parts, join_lines(list(parts)), first.prompt))
        replies.append(_unit(persona.line_vectors[list(kept)].mean(axis=0)))
        prompts.append(persona.prompt_vectors[indices[0]] if persona.has_prompt[indices[0]]
                       else np.zeros(persona.line_vectors.shape[1], np.float32))
    dim = persona.line_vectors.shape[1]
    return (turns, np.array(replies, np.float32).reshape(-1, dim),
            np.array(prompts, np.float32).reshape(-1, dim))


def score_replies(query: np.ndarray, replies: np.ndarray, support_prompts: np.ndarray,
                  support_replies: np.ndarray, *, alpha: float = ALPHA,
                  temperature: float = TEMPERATURE) -> np.ndarray:
    """Scores of candidate replies for one prompt (higher is better).

    Parameters
    ----------
    query : np.ndarray [shape=(D,)]
        The prompt's unit vector.
    replies : np.ndarray [shape=(N, D)]
        Candidate replies' unit vectors.
    support_prompts, support_replies : np.ndarray [shape=(M, D)]
        Messages the person answered and their replies (M may be 0).

    Returns
    -------
    np.ndarray [shape=(N,)]
    """
    direct = replies @ query
    if len(support_prompts) == 0:
        return direct
    similarity = support_prompts @ query
    weights = np.exp((similarity - similarity.max()) / temperature)
    weights /= weights.sum()
    neighbours = (support_replies @ replies.T).T @ weights
    return alpha * direct + (1 - alpha) * neighbours


def confidence(query: np.ndarray, support_prompts: np.ndarray) -> float:
    """How far the best match among the answered messages stands above the typical one, in
    standard deviations (0 when there are fewer than 3 messages to compare)."""
    if len(support_prompts) < 3:
        return 0.0
    similarity = support_prompts @ query
    spread = float(similarity.std())
    return float((similarity.max() - similarity.mean()) / spread) if spread > 0 else 0.0


def is_confident(query: np.ndarray, support_prompts: np.ndarray, *,
                 min_cosine: float | None) -> bool:
    """Whether a message the person answered matches the prompt clearly enough to answer with
    their reply.

    With the built-in encoder (``min_cosine`` given) the best cosine decides: it separates
    related from unrelated prompts better than the spread, which needs many messages. With
    another encoder, whose cosines mean something else, the best match must stand
    ``MIN_CONFIDENCE`` standard deviations above the rest once there are ``MIN_SUPPORT``
    messages. A persona with no answered messages (letters only) answers with its closest lines.
    """
    if len(support_prompts) == 0:
        return True
    if min_cosine is not None:
        return float((support_prompts @ query).max()) >= min_cosine
    return len(support_prompts) < MIN_SUPPORT or confidence(query, support_prompts) >= MIN_CONFIDENCE


def join_lines(texts: list[str]) -> str:
    """Lines written in a row as one text (no space after Chinese punctuation)."""
    out = ""
    for text in texts:
        if out and not re.search(r"[\u4e00-\u9fff。！？，、）]$", out):
            out += " "
        out += text.strip()
    return out


def _allowed_part(text: str, keep: Callable[[str], bool]) -> str:
    if keep(text):
        return text
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return ""
    return join_lines([s for s in sentences if keep(s)])


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)
