"""The Persona format: one person's own lines, indexed for retrieval, and how they write.

Files (a folder):
    persona.json    format "revive.persona", version, speaker, created (UTC, ISO 8601), the
                    encoder that made the vectors, the sources (file name, detected format,
                    encoding, SHA-256, lines per speaker), style statistics, and the lines: each
                    with its text, time (as in the export), source ("file:line"), turn (lines
                    written in a row share one) and the message it answered, if any
    index.npz       line_vectors (N, D) float32 unit vectors of the lines; prompt_vectors (N, D)
                    float32 of the messages they answered (zero rows where none); has_prompt
                    (N,) bool
    blocklist       topics the family does not want the persona to talk about, one per line
                    (``#`` starts a comment); kept when the persona is imported again without
                    a new one

Functions
    write_persona   write a Persona folder atomically
    read_persona    read and validate one
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from revive_core.formats.storage import Source, atomic_directory, dumps_json, require
from revive_core.persona.style import Style

__all__ = ["PERSONA_FORMAT", "PERSONA_VERSION", "BLOCKLIST_FILE", "Line", "Persona",
           "read_persona", "write_persona"]

PERSONA_FORMAT = "revive.persona"
PERSONA_VERSION = 1
BLOCKLIST_FILE = "blocklist"
BLOCKLIST_HEADER = ("# Topics this persona must not talk about, one per line (words or short\n"
                    "# phrases, any language). Lines starting with # are ignored.\n")
MAX_BLOCKLIST_BYTES = 1024**2


@dataclass(frozen=True)
class Line:
    """One real line of the person, and the message it answered (if it was a reply)."""

    text: str
    time: str | None
    source: str
    turn: int
    prompt: str | None = None
    prompt_speaker: str | None = None


@dataclass
class Persona:
    """A person's lines with their vectors [shape=(N, D)], style and blocklist."""

    speaker: str
    lines: list[Line]
    line_vectors: np.ndarray  # (N, D) float32, unit length
    prompt_vectors: np.ndarray  # (N, D) float32, zero rows where has_prompt is False
    has_prompt: np.ndarray  # (N,) bool
    style: Style
    encoder: str
    encoder_path: str | None = None
    sources: list[dict] = field(default_factory=list)
    created: str = ""
    blocklist: list[str] = field(default_factory=list)


def write_persona(persona: Persona, folder: Path) -> Path:
    """Write ``persona`` to ``folder`` atomically.

    The blocklist file holds ``persona.blocklist``; when that is empty, a blocklist already in
    ``folder`` is kept as it is.
    """
    folder = Path(folder)
    document = {
        "format": PERSONA_FORMAT,
        "version": PERSONA_VERSION,
        "speaker": persona.speaker,
        "created": persona.created,
        "encoder": {"name": persona.encoder, "path": persona.encoder_path},
        "sources": persona.sources,
        "style": persona.style.to_json(),
        "lines": [{"text": ln.text, "time": ln.time, "source": ln.source, "turn": ln.turn,
                   "prompt": ln.prompt, "prompt_speaker": ln.prompt_speaker}
                  for ln in persona.lines],
        "files": {"index": "index.npz", "blocklist": BLOCKLIST_FILE},
    }
    previous = folder / BLOCKLIST_FILE
    if previous.is_file() and not persona.blocklist:
        blocklist = previous.read_bytes()  # the family's edits survive a new import
    else:
        blocklist = (BLOCKLIST_HEADER + "".join(f"{t}\n" for t in persona.blocklist)).encode()
    with atomic_directory(folder) as tmp:
        (tmp / "persona.json").write_bytes(dumps_json(document))
        with open(tmp / "index.npz", "wb") as f:
            np.savez_compressed(f, line_vectors=persona.line_vectors.astype(np.float32),
                                prompt_vectors=persona.prompt_vectors.astype(np.float32),
                                has_prompt=persona.has_prompt.astype(bool))
        (tmp / BLOCKLIST_FILE).write_bytes(blocklist)
    return folder


def read_persona(path: Path) -> Persona:
    """Read and validate a Persona folder (or a zip of one); FormatError names what is wrong."""
    source = Source(Path(path), "Persona")
    doc = source.json("persona.json", PERSONA_FORMAT, PERSONA_VERSION)
    where = source.path / "persona.json"
    require(isinstance(doc.get("speaker"), str) and doc["speaker"].strip(), where,
            "speaker must be a name.")
    encoder = doc.get("encoder")
    require(isinstance(encoder, dict) and isinstance(encoder.get("name"), str), where,
            "encoder must name the model that made the vectors.")
    raw_lines = doc.get("lines")
    require(isinstance(raw_lines, list) and raw_lines, where, "lines must be a non-empty list.")
    lines = []
    for item in raw_lines:
        require(isinstance(item, dict) and isinstance(item.get("text"), str)
                and isinstance(item.get("source"), str) and isinstance(item.get("turn"), int)
                and all(item.get(k) is None or isinstance(item[k], str)
                        for k in ("time", "prompt", "prompt_speaker")), where,
                "every line needs a text, a source, a turn number and optional strings.")
        lines.append(Line(item["text"], item.get("time"), item["source"], item["turn"],
                          item.get("prompt"), item.get("prompt_speaker")))
    arrays = source.npz("index.npz", {"line_vectors": ("f", 2), "prompt_vectors": ("f", 2),
                                      "has_prompt": ("b", 1)})
    n = len(lines)
    require(arrays["line_vectors"].shape[0] == n and arrays["prompt_vectors"].shape == arrays[
        "line_vectors"].shape and arrays["has_prompt"].shape == (n,), source.path / "index.npz",
        f"the vectors do not match the {n} lines of persona.json.")
    try:
        style = Style.from_json(doc.get("style") or {})
    except (TypeError, ValueError):
        require(False, where, "style is not in the expected form.")
    blocklist = []
    if source.has(BLOCKLIST_FILE):
        text = source.read(BLOCKLIST_FILE, MAX_BLOCKLIST_BYTES).decode("utf-8", errors="replace")
        blocklist = [t.strip() for t in text.splitlines()
                     if t.strip() and not t.lstrip().startswith("#")]
    return Persona(speaker=doc["speaker"], lines=lines,
                   line_vectors=arrays["line_vectors"].astype(np.float32),
                   prompt_vectors=arrays["prompt_vectors"].astype(np.float32),
                   has_prompt=arrays["has_prompt"].astype(bool), style=style,
                   encoder=encoder["name"], encoder_path=encoder.get("path"),
                   sources=list(doc.get("sources") or []), created=str(doc.get("created", "")),
                   blocklist=blocklist)
