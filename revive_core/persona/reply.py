"""The replies of a persona folder: chosen for a prompt, written out as text, or spoken.

Functions
    replies_for_prompt  chat replies of a persona folder
    persona_line        the reply that ``revive say --persona ... --prompt ...`` speaks
    format_reply        a reply and its sources as plain text
"""
from __future__ import annotations

import logging
from pathlib import Path

from revive_core.errors import InputError
from revive_core.persona.chat import Reply, chat
from revive_core.persona.dialogue import load_dialogue_model
from revive_core.persona.llm import load_llm
from revive_core.persona.store import read_persona
from revive_core.persona.style import strip_emoji

__all__ = ["format_reply", "persona_line", "replies_for_prompt"]


def replies_for_prompt(persona_dir: Path, prompt: str, *, llm: str | None = None, n: int = 3,
                       seed: int = 0) -> list[Reply]:
    """Chat replies to ``prompt`` from the persona folder: with the LM at ``llm`` when given,
    else with the persona's trained dialogue model when it has one, else its own lines."""
    persona = read_persona(persona_dir)
    if llm:
        model = load_llm(str(Path(llm).resolve()))
    else:
        model = load_dialogue_model(Path(persona_dir))  # trained by `revive persona train`
    return chat(persona, prompt, n=n, llm=model, seed=seed)


def format_reply(number: int, reply: Reply) -> str:
    """``1. text  [kind, emotion intensity]`` then one ``from:`` line per source."""
    lines = [f"{number}. {_indent(reply.text)}",
             f"   [{reply.kind}; emotion {reply.emotion.label} {reply.emotion.intensity:.2f}]"]
    if reply.note:
        lines.append(f"   {reply.note}")
    for source in reply.sources:
        when = f", {source.time}" if source.time else ""
        lines.append(f"   from {source.source}{when} (match {source.score:.2f}): "
                     f"{_indent(source.text)}")
    if not reply.sources:
        lines.append("   from: none of the person's lines (a fixed answer)")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return text.replace("\n", "\n      ")


def persona_line(persona_dir: Path | None, prompt: str | None, *, text: str | None,
                 audio: Path | None, llm: str | None) -> str:
    """The persona's best reply to ``prompt`` as words to speak (emoji removed), for
    ``revive say --persona``; logs the reply and its sources."""
    if persona_dir is None:
        raise InputError("--prompt needs --persona: the persona folder that answers it.",
                         "Make one with: revive persona import HISTORY --speaker NAME --out DIR")
    if not prompt:
        raise InputError("--persona needs --prompt: what you say to the persona.",
                         'For example: --persona grandma/ --prompt "How are you?"')
    if text or audio:
        raise InputError("Give either --text/--audio or --persona with --prompt, not both.")
    reply = replies_for_prompt(persona_dir, prompt, llm=llm, n=1)[0]
    log = logging.getLogger("revive")
    log.info("The persona answers (%s): %s", reply.kind, reply.text)
    for source in reply.sources:
        log.info("  drawn from %s: %s", source.source, source.text)
    return strip_emoji(reply.text)
