"""Mouth cues in Rhubarb Lip Sync's formats, for 2D rigs and other tools that read them.

Rhubarb's nine mouth shapes, and the visemes of :mod:`revive_core.take.animate` drawn with each:

=====  =======================================  =========================
shape  Rhubarb's description                    visemes
=====  =======================================  =========================
A      closed lips (P, B, M)                    PP
B      slightly open, teeth together (K, S, T)  DD kk CH SS TH nn ih
C      open (EH, AE)                            E
D      wide open (AA)                           aa
E      slightly rounded (AO, ER)                oh RR
F      puckered (UW, OW, W)                     ou
G      upper teeth on the lower lip (F, V)      FF
H      tongue up (long L)                       (not used: nn is mostly n)
X      idle, mouth at rest                      sil and gaps
=====  =======================================  =========================

Files (written next to a take by :func:`write_cues`):
    mouth_cues.tsv   one line per cue: start in seconds, a tab, the shape; a last ``X`` line at
                     the end of the audio (Rhubarb's ``tsv`` export)
    mouth_cues.json  ``{"metadata": {"soundFile", "duration"}, "mouthCues": [{"start", "end",
                     "value"}]}`` (Rhubarb's ``json`` export)

Functions
    mouth_cues      visemes -> cues
    cues_tsv        cues -> text
    cues_json       cues -> JSON document
    write_cues      both files into a folder, atomically
"""
from __future__ import annotations

import json
from pathlib import Path

from revive_core.formats.storage import atomic_write_bytes

__all__ = ["RHUBARB_SHAPES", "VISEME_TO_RHUBARB", "mouth_cues", "cues_tsv", "cues_json",
           "write_cues"]

RHUBARB_SHAPES = ("A", "B", "C", "D", "E", "F", "G", "H", "X")
VISEME_TO_RHUBARB: dict[str, str] = {
    "sil": "X", "PP": "A", "FF": "G", "TH": "B", "DD": "B", "kk": "B", "CH": "B", "SS": "B",
    "nn": "B", "RR": "E", "aa": "D", "E": "C", "ih": "B", "oh": "E", "ou": "F",
}
MIN_CUE_S = 0.01


def mouth_cues(visemes: list[dict], *, duration_s: float | None = None) -> list[dict]:
    """Viseme segments -> Rhubarb mouth cues covering 0..duration without gaps.

    Parameters
    ----------
    visemes : list of dict
        ``{"viseme", "start_s", "end_s"}`` in time order (as :func:`animate.viseme_segments`).
    duration_s : float or None
        End of the audio; None: the end of the last viseme.

    Returns
    -------
    list of dict
        ``{"start": s, "end": s, "value": shape}``, times rounded to 0.01 s as Rhubarb writes
        them; neighbours with the same shape merged, gaps filled with ``X``.
    """
    end_of_all = duration_s if duration_s is not None else max(
        [v["end_s"] for v in visemes], default=0.0)
    cues: list[dict] = []

    def push(start: float, end: float, value: str) -> None:
        start, end = round(start, 2), round(min(end, end_of_all), 2)
        if cues:
            start = max(start, cues[-1]["end"])
        if end - start < MIN_CUE_S - 1e-9:
            return
        if cues and cues[-1]["value"] == value and abs(cues[-1]["end"] - start) < 1e-9:
            cues[-1]["end"] = end
        else:
            if cues and start > cues[-1]["end"]:
                push_gap(cues[-1]["end"], start)
            cues.append({"start": start, "end": end, "value": value})

    def push_gap(start: float, end: float) -> None:
        if cues[-1]["value"] == "X":
            cues[-1]["end"] = end
        else:
            cues.append({"start": start, "end": end, "value": "X"})

    for v in visemes:
        if not cues and v["start_s"] > 0:
            cues.append({"start": 0.0, "end": round(v["start_s"], 2), "value": "X"})
        push(v["start_s"], v["end_s"], VISEME_TO_RHUBARB.get(v["viseme"], "B"))
    if not cues:
        cues.append({"start": 0.0, "end": round(end_of_all, 2), "value": "X"})
    elif cues[-1]["end"] < round(end_of_all, 2):
        push_gap(cues[-1]["end"], round(end_of_all, 2))
    return [c for c in cues if c["end"] > c["start"]]


def cues_tsv(cues: list[dict]) -> str:
    """Rhubarb's TSV: ``start<TAB>shape`` per cue, then the end time with ``X``."""
    lines = [f"{c['start']:.2f}\t{c['value']}" for c in cues]
    if cues:
        lines.append(f"{cues[-1]['end']:.2f}\tX")
    return "\n".join(lines) + "\n"


def cues_json(cues: list[dict], *, sound_file: str = "audio.wav",
              duration_s: float | None = None) -> dict:
    """Rhubarb's JSON document for ``cues``."""
    duration = duration_s if duration_s is not None else (cues[-1]["end"] if cues else 0.0)
    return {"metadata": {"soundFile": sound_file, "duration": round(duration, 2)},
            "mouthCues": [dict(c) for c in cues]}


def write_cues(folder: Path, visemes: list[dict], *, duration_s: float,
               sound_file: str = "audio.wav") -> list[Path]:
    """Write ``mouth_cues.tsv`` and ``mouth_cues.json`` into ``folder`` (each atomically)."""
    cues = mouth_cues(visemes, duration_s=duration_s)
    folder = Path(folder)
    tsv, js = folder / "mouth_cues.tsv", folder / "mouth_cues.json"
    atomic_write_bytes(tsv, cues_tsv(cues).encode("utf-8"))
    document = cues_json(cues, sound_file=sound_file, duration_s=duration_s)
    atomic_write_bytes(js, json.dumps(document, indent=2).encode("utf-8") + b"\n")
    return [tsv, js]
