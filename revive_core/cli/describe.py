"""``revive inspect FILE``: what a video, an avatar or a take says about itself.

A video (MP4): its Revive label read from the MP4's own metadata atoms, the same tags as ffprobe
reads them, and the ``<stem>.label.json`` sidecar, each checked against the others (same
content id, the sidecar's sha256 matching the video). An avatar or take (folder or zip): its
format and version, consent record and provenance, after the full check its reader makes.

An avatar's report also reads the emotion of each photo's fitted expression (FACS rules on its
ARKit blendshapes, :mod:`revive_core.emotion.face`).

Functions
---------
inspect_path        any of the above -> a report (a JSON-ready dict)
photo_expressions   the emotion of each photo's fitted expression in an avatar's provenance
add_commands        the ``revive inspect`` command
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from revive_core.errors import InputError
from revive_core.formats import AVATAR_FORMAT, AVATAR_VERSION, TAKE_FORMAT, TAKE_VERSION
from revive_core.formats.label import (SIDECAR_SUFFIX, consent_reference, file_sha256, read_sidecar,
                                       sidecar_path)
from revive_core.formats.mp4 import read_mp4_label, read_mp4_tags
from revive_core.formats.storage import Source

__all__ = ["add_commands", "inspect_path", "photo_expressions"]


def inspect_path(path: Path) -> dict[str, Any]:
    """Describe a video, an avatar or a take.

    Parameters
    ----------
    path : Path
        An MP4 video, its ``.label.json`` sidecar, or an avatar or take folder or zip.

    Returns
    -------
    dict
        ``kind`` ("video", "avatar" or "take") and what was read. A video's report has
        ``labelled`` (its metadata holds a valid Revive label) and ``problems`` (mismatches
        between metadata, ffprobe and sidecar; empty when all agree).

    Raises
    ------
    FormatError, InputError
        When the path is missing or is none of these, or a file is damaged.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist.", "Give a video, an avatar or a take.")
    if path.is_dir() or path.suffix.lower() == ".zip":
        return _inspect_folder(path)
    if path.name.endswith(SIDECAR_SUFFIX):
        sidecar = read_sidecar(path)
        return inspect_video(path.with_name(sidecar["video"]["file"]))
    return inspect_video(path)


def inspect_video(path: Path) -> dict[str, Any]:
    """The label of an MP4 from its metadata atoms, from ffprobe and from its sidecar."""
    from revive_core.video import media

    label = read_mp4_label(path)
    tags = read_mp4_tags(path)
    probed = media.probe(path)
    problems: list[str] = []
    if label is None:
        problems.append("the video's metadata holds no Revive label")
    ffprobe_tags = probed["tags"]
    if label is not None and ffprobe_tags.get("revive_label") != tags.get("revive_label"):
        problems.append("ffprobe reads a different label from the one in the MP4's atoms")
    report: dict[str, Any] = {
        "kind": "video", "file": str(path), "labelled": label is not None, "label": label,
        "metadata": {k: v for k, v in tags.items() if k != "revive_label"},
        "ffprobe": {"tags": ffprobe_tags, "duration_s": probed["duration_s"],
                    "streams": [_stream(s) for s in probed["streams"]]},
        "sidecar": None, "problems": problems,
    }
    side = sidecar_path(path)
    if side.is_file():
        sidecar = read_sidecar(side)
        video = sidecar["video"]
        matches = video["sha256"] == file_sha256(path)
        report["sidecar"] = {"file": str(side), "content_id": sidecar["content_id"],
                             "video_sha256_matches": matches}
        if label is not None and sidecar["content_id"] != label["content_id"]:
            problems.append(f"{side.name} belongs to another video (content id "
                            f"{sidecar['content_id']})")
        elif not matches:
            problems.append(f"{side.name} does not match the video's content (it changed "
                            "after labelling)")
    return report


def photo_expressions(provenance: dict[str, Any]) -> list[dict[str, Any]]:
    """The emotion each photo's fitted expression shows (``provenance["fit"]``): file, label,
    intensity and the blendshapes it came from (name, weight), strongest first. Recorded at
    build time; read now (:func:`revive_core.emotion.face.face_emotion_record`) for avatars
    built before it was."""
    from revive_core.emotion.face import face_emotion_record

    rows = []
    for fit in provenance.get("fit") or []:
        expression = fit.get("expression") if isinstance(fit, dict) else None
        if not isinstance(expression, dict):
            continue
        recorded = fit.get("emotion")
        if not isinstance(recorded, dict):
            try:
                recorded = face_emotion_record(expression)
            except InputError:  # weights out of range: an avatar edited by hand
                continue
        rows.append({"file": fit.get("file"), **recorded})
    return rows


def _stream(stream: dict[str, Any]) -> dict[str, Any]:
    keys = ("codec_type", "codec_name", "width", "height", "avg_frame_rate", "sample_rate",
            "nb_frames", "duration_s")
    return {k: stream.get(k) for k in keys if stream.get(k) is not None}


def _inspect_folder(path: Path) -> dict[str, Any]:
    from revive_core.formats import read_avatar, read_take

    source = Source(path, "Avatar or take")
    if source.has("avatar.json"):
        document = source.json("avatar.json", AVATAR_FORMAT, AVATAR_VERSION)
        avatar = read_avatar(path)
        return {"kind": "avatar", "file": str(path), "format": document["format"],
                "version": document["version"], "name": avatar.name, "model": avatar.model_id,
                "vertices": avatar.vertex_count, "blendshapes": len(avatar.blendshape_names),
                "consent": {**avatar.consent, "sha256": consent_reference(avatar.consent)["sha256"]},
                "provenance": avatar.provenance,
                "expressions": photo_expressions(avatar.provenance)}
    if source.has("take.json"):
        document = source.json("take.json", TAKE_FORMAT, TAKE_VERSION)
        take = read_take(path)
        consent = take.avatar.get("consent") if isinstance(take.avatar, dict) else None
        return {"kind": "take", "file": str(path), "format": document["format"],
                "version": document["version"], "fps": take.fps, "frames": take.frame_count,
                "duration_s": round(take.duration_s, 3), "language": take.language,
                "text": take.text, "avatar": take.avatar.get("name"),
                "consent": ({**consent, "sha256": consent_reference(consent)["sha256"]}
                            if isinstance(consent, dict) and consent.get("authorised_by")
                            else None),
                "provenance": {k: take.extra[k] for k in ("speech_engine", "seed")
                               if k in take.extra}}
    raise InputError(f"{path} holds neither avatar.json nor take.json.",
                     "Give a Revive avatar or take folder (or a zip of one), or a video.")


# --- The command ----------------------------------------------------------------------------

def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect", help="show a video's AI-generated label, or an avatar's or take's consent")
    p.add_argument("path", type=Path, metavar="FILE",
                   help="a video (.mp4), its .label.json, or an avatar or take folder or zip")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    report = inspect_path(args.path)
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        print("\n".join(_lines(report)))
    return 1 if report.get("problems") else 0


def _lines(report: dict[str, Any]) -> list[str]:
    kind, lines = report["kind"], []
    if kind == "video":
        label = report["label"]
        if label is None:
            lines.append(f"{report['file']}: no Revive label in its metadata.")
        else:
            visible = label["visible_label"]
            mark = (f"shown, {visible.get('position')}, {visible.get('size')} of the frame "
                    "height" if visible["shown"] else "NOT shown (--no-visible-label)")
            lines += [f"{report['file']}: AI-generated (Revive label v{label['version']})",
                      _row("provider", f"{label['provider']} {label['tool_version']} "
                                       f"({label['kind']})"),
                      _row("content id", label["content_id"]),
                      _row("created", label["created"]),
                      _row("visible mark", mark),
                      _row("avatar", str((label.get("avatar") or {}).get("name"))),
                      *([_row("rendered", ", ".join(f"{k} {v}" for k, v in label["render"].items()))]
                        if isinstance(label.get("render"), dict) else []),
                      _row("consent", _consent(label["consent"]))]
        tags = report["ffprobe"]["tags"]
        lines.append(_row("ffprobe tags", ", ".join(
            f"{k}={v if len(v) <= 60 else v[:57] + '...'}" for k, v in tags.items()
            if k in ("comment", "revive_label", "AIGC")) or "none of Revive's"))
        lines.append(_row("streams", ", ".join(_stream_text(s)
                                               for s in report["ffprobe"]["streams"])))
        sidecar = report["sidecar"]
        lines.append(_row("sidecar", "none" if sidecar is None else (
            f"{sidecar['file']} ({'matches' if sidecar['video_sha256_matches'] else 'does NOT match'}"
            " the video's sha256)")))
        lines += [f"  problem: {p}" for p in report["problems"]]
        return lines
    lines.append(f"{report['file']}: Revive {kind}, {report['format']} version "
                 f"{report['version']}")
    if kind == "avatar":
        lines += [_row("name", report["name"]), _row("model", report["model"]),
                  _row("mesh", f"{report['vertices']} vertices, {report['blendshapes']} "
                               "blendshapes")]
        provenance = report["provenance"]
        lines.append(_row("made by", f"{provenance.get('tool')} on {provenance.get('created')}"))
        for item in provenance.get("inputs") or []:
            if isinstance(item, dict):
                lines.append(_row("input", f"{item.get('file')} sha256 {item.get('sha256')}"))
        for photo in report.get("expressions") or []:
            shapes = ", ".join(f"{name} {weight:.2f}" for name, weight in photo["from"])
            lines.append(_row("expression", f"{photo['file']}: {photo['label']} "
                                            f"{photo['intensity']:.2f}"
                                            + (f" ({shapes})" if shapes else "")))
    else:
        lines += [_row("avatar", str(report["avatar"])),
                  _row("timing", f"{report['frames']} frames at {report['fps']:g} fps, "
                                 f"{report['duration_s']} s"),
                  _row("text", f"[{report['language']}] {report['text'][:70]}"),
                  _row("speech", str(report["provenance"].get("speech_engine")))]
    lines.append(_row("consent", _consent(report["consent"]) if report["consent"] else "none"))
    return lines


def _stream_text(stream: dict[str, Any]) -> str:
    if stream.get("width"):
        return f"{stream.get('codec_name')} {stream['width']}x{stream.get('height')}"
    return f"{stream.get('codec_name')} {stream.get('sample_rate')} Hz"


def _consent(consent: dict[str, Any]) -> str:
    text = f"{consent.get('authorised_by')} ({consent.get('relationship')}), {consent.get('date')}"
    if consent.get("document"):
        text += f", document {consent['document']}"
    return f"{text}; record sha256 {str(consent.get('sha256'))[:16]}..."


def _row(name: str, value: str) -> str:
    return f"  {name:<13} {value}"
