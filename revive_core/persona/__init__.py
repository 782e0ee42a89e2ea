"""Persona: a person's own messages, indexed so that Revive can answer the way they wrote.

Modules
    message     one message: speaker, text, time and where it was found
    importers   one reader per format (WhatsApp, WeChat text and CSV, CSV, JSON, JSONL, text)
    history     read chat exports, tables and letters into messages (encodings, folders)
    style       how the person writes (length, phrases, address, emoji, punctuation, languages)
    ingest      pick the person's lines, pair them with what they answered, embed them
    store       the Persona folder format (persona.json + index.npz + blocklist)
    guardrails  never claim to be alive or the person; respect the family's blocklist
    intent      what a prompt asks, by rules and labelled exemplars (English and Chinese)
    safety      honest answers to risky prompts; the check that no reply promises or claims
    retrieval   rank the person's real replies by the messages they answered
    llm         a local language model plugged in by path
    dialogue    a LoRA adapter of a small local language model, trained on the person
    chat        candidate replies with the real lines they drew on
    reply       the replies of a persona folder, as text to print or a line to speak

The commands ``revive persona import``, ``revive persona train`` and ``revive chat`` are in
:mod:`revive_core.cli.persona`; ``revive bench persona`` in :mod:`revive_core.bench.persona`.
"""
from __future__ import annotations

from revive_core.persona.chat import Reply, SourceLine, chat
from revive_core.persona.history import History, read_history
from revive_core.persona.ingest import build_persona, find_speaker
from revive_core.persona.message import Message
from revive_core.persona.store import Persona, read_persona, write_persona
from revive_core.persona.style import Style, describe_style, style_summary

__all__ = ["History", "Message", "Persona", "Reply", "SourceLine", "Style", "build_persona",
           "chat", "describe_style", "find_speaker", "read_history", "read_persona",
           "style_summary", "write_persona"]
