"""One message of a person's history: who wrote it, what, when and where it was found.

Classes
    Message     a message as read from a chat export, table or letter
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Message"]


@dataclass(frozen=True)
class Message:
    """One message: who wrote it, what it says, when (as written in the export), and where.

    ``source`` is ``"file name:line"`` so a family can find the original.
    """

    speaker: str
    text: str
    time: str | None
    source: str
