"""The machine-readable "AI-generated" label of every Revive video, shared by core and add-on.

A label is a small JSON object (format "revive.label", version 1)::

    ai_generated    true
    provider        "Revive"
    tool_version    the version of Revive (or of its Blender add-on) that made the video
    content_id      a random UUID (uuid4) naming this one video
    created         UTC time, ISO 8601
    kind            "render" (Blender) or "preview" (pyrender)
    visible_label   {"shown": bool, "text": "AI-generated", "position": corner,
                     "size": text height as a share of the frame height}
    avatar          {"name", "model"} of the avatar shown
    consent         who authorised the avatar: {"authorised_by", "relationship", "date",
                     "document" (when given), "sha256": of the whole consent record}

It is written twice:

- into the MP4's metadata, as iTunes-style items in ``moov/udta/meta/ilst`` (ffprobe shows them
  as format tags): ``comment`` "AI-generated with Revive", a ``description`` sentence, and two
  free-form items (mean "org.revive"): ``revive_label``, the label as compact JSON, and
  ``AIGC``, the implicit-label fields of China's GB 45438-2025 (Label "1", ContentProducer,
  ProduceID = the content id, ...);
- beside the video as ``<video stem>.label.json`` (the label plus the video's file name, size
  and sha256, so a sidecar that no longer matches its video is noticed).

The MP4 metadata is written and read by :mod:`.mp4`. Apart from the package's storage helpers,
only the standard library is used, so the Blender add-on ships this module unchanged (as
``revive_formats.label``).

Functions
---------
make_label               consent record + tool version + visible mark -> label
consent_reference        who/relationship/date of a consent record, with its sha256
check_position_and_size  validate where and how large the visible mark is
check_label              validate a label read from anywhere
aigc_fields              the GB 45438-2025 implicit-label fields of a label
sidecar_path             where the JSON sidecar of a video goes
write_sidecar            write the sidecar atomically
read_sidecar             read and check a sidecar
file_sha256              the sha256 of a file, read in chunks
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, Mapping

from .errors import FormatError
from .storage import atomic_file, reject_json_constant

__all__ = [
    "DEFAULT_POSITION",
    "DEFAULT_SIZE",
    "LABEL_FORMAT",
    "LABEL_POSITIONS",
    "LABEL_VERSION",
    "METADATA_NOTE",
    "PROVIDER",
    "SIDECAR_SUFFIX",
    "VISIBLE_TEXT",
    "aigc_fields",
    "check_label",
    "check_position_and_size",
    "consent_reference",
    "file_sha256",
    "make_label",
    "read_sidecar",
    "sidecar_path",
    "write_sidecar",
]

LABEL_FORMAT = "revive.label"
LABEL_VERSION = 1
PROVIDER = "Revive"
METADATA_NOTE = "AI-generated with Revive"
VISIBLE_TEXT = "AI-generated"
LABEL_POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left")
DEFAULT_POSITION = "bottom-right"
DEFAULT_SIZE = 0.05  # text height / frame height; China's GB 45438-2025 asks >= 5%
SIZE_RANGE = (0.01, 0.25)
KINDS = ("render", "preview")
SIDECAR_SUFFIX = ".label.json"
MAX_SIDECAR_BYTES = 1024**2


# --- The label ------------------------------------------------------------------------------

def consent_reference(consent: Mapping[str, Any]) -> dict[str, str]:
    """Who authorised an avatar, their relationship and the date, with the record's sha256.

    Parameters
    ----------
    consent : mapping
        The avatar's consent record (see ``revive_core.consent.parse_consent``); it must name
        who authorised the avatar (``authorised_by``).

    Returns
    -------
    dict
        ``authorised_by``, ``relationship``, ``date``, ``document`` (only when the record has
        one) and ``sha256``: the hex digest of the record as canonical JSON (keys sorted, no
        spaces, UTF-8), so the label points at exactly one record.
    """
    if not isinstance(consent, Mapping) or not str(consent.get("authorised_by") or "").strip():
        raise FormatError("The avatar has no consent record (who authorised it), so its video "
                          "can't be labelled.", "Build the avatar again with --consent.")
    reference = {key: str(consent.get(key, "")) for key in ("authorised_by", "relationship",
                                                             "date")}
    if consent.get("document"):
        reference["document"] = str(consent["document"])
    try:
        canonical = json.dumps(dict(consent), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise FormatError(f"The consent record can't be written as JSON ({exc}).") from None
    reference["sha256"] = hashlib.sha256(canonical).hexdigest()
    return reference


def make_label(*, consent: Mapping[str, Any], tool_version: str, kind: str = "render",
               visible: bool = True, position: str = DEFAULT_POSITION,
               size: float = DEFAULT_SIZE, avatar_name: str | None = None,
               model_id: str | None = None) -> dict[str, Any]:
    """A new label, with a fresh content id, for one video.

    Parameters
    ----------
    consent : mapping
        The avatar's consent record.
    tool_version : str
        The version of Revive (or of the add-on) making the video, e.g. "0.1.0".
    kind : {"render", "preview"}
    visible : bool
        Whether the video shows the visible "AI-generated" mark.
    position : {"bottom-right", "bottom-left", "top-right", "top-left"}
        Where the visible mark is.
    size : float
        Its text height as a share of the frame height, 0.01 to 0.25.
    avatar_name, model_id : str, optional
        The avatar shown.

    Returns
    -------
    dict
        The label (see the module's docstring).
    """
    check_position_and_size(position, size)
    if kind not in KINDS:
        raise FormatError(f"kind={kind!r} is not one of {', '.join(KINDS)}.")
    return {
        "format": LABEL_FORMAT,
        "version": LABEL_VERSION,
        "ai_generated": True,
        "statement": "AI-generated video made with Revive; not a recording of a real person.",
        "provider": PROVIDER,
        "tool_version": str(tool_version),
        "content_id": str(uuid.uuid4()),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "kind": kind,
        "visible_label": {"shown": bool(visible), "text": VISIBLE_TEXT, "position": position,
                          "size": float(size)},
        "avatar": {"name": avatar_name, "model": model_id},
        "consent": consent_reference(consent),
    }


def check_position_and_size(position: str, size: float) -> None:
    """FormatError unless ``position`` is a corner and ``size`` is within SIZE_RANGE."""
    if position not in LABEL_POSITIONS:
        raise FormatError(f"The label position {position!r} is not one of "
                          f"{', '.join(LABEL_POSITIONS)}.")
    low, high = SIZE_RANGE
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not (
            math.isfinite(size) and low <= size <= high):
        raise FormatError(f"The label size {size!r} is outside {low}..{high} of the frame "
                          "height.", "For example 0.05 (the default) or 0.08.")


def check_label(label: Any, where: str) -> dict[str, Any]:
    """Return ``label`` if it is a Revive label this version reads, else raise FormatError.

    ``where`` names the file (or the file's metadata) the label came from, for the message.
    """
    def need(condition: bool, problem: str) -> None:
        if not condition:
            raise FormatError(f"{where}: the Revive label {problem}",
                              "The label was damaged or edited; render the video again.")

    need(isinstance(label, dict), "is not a JSON object.")
    need(label.get("format") == LABEL_FORMAT, f"has format {label.get('format')!r}.")
    version = label.get("version")
    need(isinstance(version, int) and not isinstance(version, bool) and version >= 1,
         "has no integer version.")
    if version > LABEL_VERSION:
        raise FormatError(f"{where}: the Revive label is version {version}; this Revive reads "
                          f"version {LABEL_VERSION}.", "Update Revive to read it.")
    need(label.get("ai_generated") is True, "does not say ai_generated: true.")
    for key in ("provider", "tool_version", "content_id", "created", "kind"):
        need(isinstance(label.get(key), str), f"has no text {key!r}.")
    try:
        uuid.UUID(label["content_id"])
    except ValueError:
        need(False, f"content_id {label['content_id']!r} is not a UUID.")
    visible = label.get("visible_label")
    need(isinstance(visible, dict) and isinstance(visible.get("shown"), bool),
         "does not say whether the visible mark was shown.")
    consent = label.get("consent")
    need(isinstance(consent, dict) and isinstance(consent.get("authorised_by"), str)
         and isinstance(consent.get("sha256"), str) and len(consent["sha256"]) == 64,
         "has no consent reference.")
    return label


def aigc_fields(label: Mapping[str, Any]) -> dict[str, str]:
    """The implicit-label fields of GB 45438-2025 for ``label`` (metadata key "AIGC")."""
    return {"Label": "1", "ContentProducer": f"{PROVIDER} {label['tool_version']}",
            "ProduceID": label["content_id"], "ReservedCode1": "", "ContentPropagator": "",
            "PropagateID": "", "ReservedCode2": ""}


# --- The sidecar ----------------------------------------------------------------------------

def sidecar_path(video: str | os.PathLike) -> Path:
    """``video.mp4`` -> ``video.label.json`` beside it."""
    video = Path(video)
    return video.with_name(video.stem + SIDECAR_SUFFIX)


def write_sidecar(video: str | os.PathLike, label: Mapping[str, Any]) -> Path:
    """Write ``label`` with the video's name, size and sha256 beside ``video``, atomically.

    Returns
    -------
    Path
        The sidecar, ``sidecar_path(video)``.
    """
    video = Path(video)
    document = dict(check_label(dict(label), str(video)))
    document["video"] = {"file": video.name, "bytes": video.stat().st_size,
                         "sha256": file_sha256(video)}
    target = sidecar_path(video)
    text = json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    with atomic_file(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return target


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a ``.label.json`` sidecar; FormatError naming what is wrong."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise FormatError(f"{path} is larger than a Revive label can be.")
        document = json.loads(path.read_bytes().decode("utf-8"),
                              parse_constant=reject_json_constant)
    except FileNotFoundError:
        raise FormatError(f"The label {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{path} is not a readable Revive label ({exc}).",
                          "The label was damaged; render the video again.") from None
    check_label(document, str(path))
    video = document.get("video")
    if not (isinstance(video, dict) and isinstance(video.get("file"), str)
            and isinstance(video.get("sha256"), str)):
        raise FormatError(f"{path}: the label does not name its video and its sha256.")
    return document


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
