"""Message histories: read chat exports and letters into one list of messages.

Each file is decoded (UTF-8, UTF-8 with BOM, UTF-16 with BOM, or GB18030, the encoding of
Chinese Windows exports), its format detected by :mod:`revive_core.persona.importers`, and its
messages kept in order with the file and line they came from. A folder is read file by file.

Functions
    read_history    messages of one or more files or folders, with what was detected
    decode          the text of a file in UTF-8, UTF-16 or GB18030
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from revive_core.errors import InputError
from revive_core.persona.importers import parse
from revive_core.persona.message import Message

__all__ = ["FileReport", "History", "decode", "normalise_speaker", "read_history"]

MAX_FILE_BYTES = 200 * 1024**2
HISTORY_SUFFIXES = (".txt", ".csv", ".json", ".jsonl")


@dataclass
class FileReport:
    """What was found in one file."""

    path: Path
    format: str
    encoding: str
    sha256: str
    lines_per_speaker: Counter = field(default_factory=Counter)


@dataclass
class History:
    """All messages of the files read, in file order, and a report per file."""

    messages: list[Message]
    files: list[FileReport]

    def lines_per_speaker(self) -> Counter:
        return Counter(m.speaker for m in self.messages)


def normalise_speaker(name: str) -> str:
    """A speaker name for comparison: case-folded, inner spaces collapsed."""
    return " ".join(name.split()).casefold()


def read_history(paths: Sequence[Path], *, letters_by: str | None = None) -> History:
    """Read chat exports, letters and tables of messages.

    Parameters
    ----------
    paths : sequence of Path
        Files (``.txt``, ``.csv``, ``.json``, ``.jsonl``) or folders of them.
    letters_by : str, optional
        Who wrote plain text files that name no speakers (letters, notes): their paragraphs are
        taken as this person's lines. Without it such files are refused.

    Returns
    -------
    History

    Raises
    ------
    InputError
        A path that does not exist, a file in no known format or encoding, or no messages.
    """
    files = _expand(paths)
    messages, reports = [], []
    for path in files:
        raw = path.read_bytes()
        text, encoding = decode(raw, path)
        format_name, found = parse(text, path, letters_by=letters_by)
        report = FileReport(path=path, format=format_name, encoding=encoding,
                            sha256=hashlib.sha256(raw).hexdigest(),
                            lines_per_speaker=Counter(m.speaker for m in found))
        messages.extend(found)
        reports.append(report)
    if not messages:
        raise InputError(f"No messages found in {', '.join(map(str, paths))}.",
                         "Check that the files are chat exports or tables with speaker and text.")
    if letters_by is not None:
        messages = _name_letters_as_in_chats(messages, reports, letters_by)
    return History(messages=messages, files=reports)


def _name_letters_as_in_chats(messages: list[Message], reports: list[FileReport],
                              letters_by: str) -> list[Message]:
    # "--speaker 'grandma rose'" for letters, "Grandma Rose" in the chats: one person.
    wanted = normalise_speaker(letters_by)
    spelled = next((m.speaker for m in messages
                    if m.speaker != letters_by and normalise_speaker(m.speaker) == wanted), None)
    if spelled is None:
        return messages
    for report in reports:
        if letters_by in report.lines_per_speaker:
            report.lines_per_speaker[spelled] += report.lines_per_speaker.pop(letters_by)
    return [Message(spelled, m.text, m.time, m.source) if m.speaker == letters_by else m
            for m in messages]


def decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text of a file and the encoding that read it.

    Order: a byte-order mark decides (UTF-8, UTF-16); then strict UTF-8; then GB18030 (which
    includes GBK and GB2312).
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path} is not text in UTF-8, UTF-16 or GB18030.",
                     "Export the chat again as text (UTF-8 if the app offers a choice).")


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in HISTORY_SUFFIXES
                            and not p.name.startswith("."))
            if not inside:
                raise InputError(f"The folder {path} holds no .txt, .csv, .json or .jsonl files.")
            files.extend(inside)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"History file not found: {path}", "Check the path and try again.")
    for path in files:
        if path.stat().st_size == 0:
            raise InputError(f"{path} is empty.", "Check that the export finished, or leave this "
                             "file out.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path} is larger than {MAX_FILE_BYTES // 1024**2} MB.",
                             "Split it into smaller files, or pass only the chats that matter.")
    return files
