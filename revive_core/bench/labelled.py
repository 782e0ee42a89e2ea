"""Labelled JSON-lines files that benches read: one JSON object per line, each checked.

Functions
    read_labelled_jsonl    the checked rows of a file
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from revive_core.errors import InputError

__all__ = ["read_labelled_jsonl"]


def read_labelled_jsonl(path: Path, *, is_valid: Callable[[Any], bool], needs: str,
                        fields: str) -> list[dict[str, Any]]:
    """The rows of ``path``; a line that is not JSON or not ``is_valid`` is refused with its
    number and ``needs`` (what a line must hold); ``fields`` names them for a missing file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Labelled data file not found: {path}",
                         f"Pass a .jsonl file of {{{fields}}} lines.")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {number}: not valid JSON ({exc.msg}).") from None
        if not (isinstance(row, dict) and is_valid(row)):
            raise InputError(f"{path}, line {number}: needs {needs}.")
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no labelled lines.")
    return rows
