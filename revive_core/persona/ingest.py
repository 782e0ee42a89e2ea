"""Make a Persona from a message history: pick the person's lines, pair them with what they
answered, embed both, and describe the person's style.

Functions
    build_persona   a Persona from a History
    find_speaker    the speaker's name as written in the history, or a helpful error
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import numpy as np

from revive_core.errors import InputError
from revive_core.persona.history import History, normalise_speaker
from revive_core.persona.store import Line, Persona
from revive_core.persona.style import describe_style
from revive_core.text.sentence_embedding import SentenceEncoder

__all__ = ["build_persona", "find_speaker"]

PROMPT_MESSAGES = 2  # how many of the other side's last messages make up "what they answered"
MAX_INDEXED_LINES = 20_000  # embedding takes about 5 ms a line on a CPU: keep imports minutes long
log = logging.getLogger(__name__)


def find_speaker(history: History, speaker: str) -> str:
    """The name in ``history`` that matches ``speaker`` (case and spacing ignored).

    Raises
    ------
    InputError
        Listing the speakers that were found, most frequent first.
    """
    wanted = normalise_speaker(speaker)
    counts = history.lines_per_speaker()
    for name in counts:
        if normalise_speaker(name) == wanted:
            return name
    seen = ", ".join(f"{name} ({count})" for name, count in counts.most_common(20))
    raise InputError(f"No lines by {speaker!r} in the history. Speakers found: {seen}.",
                     "Pass --speaker with one of these names exactly as the export writes it.")


def build_persona(history: History, speaker: str, encoder: SentenceEncoder, *,
                  encoder_path: str | None = None, blocklist: list[str] | None = None) -> Persona:
    """The person's lines with their vectors, what each answered, and their style.

    Parameters
    ----------
    history : History
        Messages of every speaker, in order per file.
    speaker : str
        The person (see :func:`find_speaker`).
    encoder : SentenceEncoder
        Embeds the lines and the messages they answered.
    encoder_path : str, optional
        Where a non-built-in encoder was loaded from, recorded so chat can load it again.
    blocklist : list of str, optional
        Topics for a new persona's blocklist file.

    Returns
    -------
    Persona
    """
    name = find_speaker(history, speaker)
    wanted = normalise_speaker(name)
    lines: list[Line] = []
    others: list[tuple[str, str]] = []  # (speaker, text) said since the person last wrote
    turn, previous_file, in_turn = -1, None, False
    for message in history.messages:
        file_name = message.source.rsplit(":", 1)[0].split("#")[0]
        if file_name != previous_file:
            others, in_turn, previous_file = [], False, file_name
        if normalise_speaker(message.speaker) != wanted:
            others.append((message.speaker, message.text))
            in_turn = False
            continue
        prompt = prompt_speaker = None
        if not in_turn:
            turn += 1
            in_turn = True
            if others:
                recent = others[-PROMPT_MESSAGES:]
                prompt = "\n".join(text for _, text in recent)
                prompt_speaker = recent[-1][0]
            others = []
        lines.append(Line(message.text, message.time, message.source, turn, prompt, prompt_speaker))

    all_texts = [ln.text for ln in lines]
    if len(lines) > MAX_INDEXED_LINES:
        log.info("%s wrote %d lines; the last %d are kept for replies (all count for style).",
                 name, len(lines), MAX_INDEXED_LINES)
        lines = lines[-MAX_INDEXED_LINES:]
    line_vectors = encoder.encode([ln.text for ln in lines])
    has_prompt = np.array([ln.prompt is not None for ln in lines], dtype=bool)
    prompt_vectors = np.zeros_like(line_vectors)
    if has_prompt.any():
        prompt_vectors[has_prompt] = encoder.encode([ln.prompt for ln in lines if ln.prompt])
    other_names = [s for s in history.lines_per_speaker() if normalise_speaker(s) != wanted]
    return Persona(
        speaker=name, lines=lines, line_vectors=line_vectors, prompt_vectors=prompt_vectors,
        has_prompt=has_prompt, style=describe_style(all_texts, other_names=other_names),
        encoder=encoder.name, encoder_path=encoder_path,
        sources=[{"file": r.path.name, "format": r.format, "encoding": r.encoding,
                  "sha256": r.sha256, "lines_per_speaker": dict(r.lines_per_speaker)}
                 for r in history.files],
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        blocklist=list(blocklist or []))
