"""The Revive label inside an MP4's own metadata: written, read back, and every text tag read.

The label (see :mod:`.label`) goes into ``moov/udta/meta/ilst`` as iTunes-style items, which
ffprobe shows as format tags: ``comment`` "AI-generated with Revive", a ``description``
sentence, and two free-form items (mean "org.revive"): ``revive_label``, the label as compact
JSON, and ``AIGC``, the implicit-label fields of China's GB 45438-2025. The boxes are read and
edited here, with the standard library only, so the Blender add-on ships this module unchanged
(as ``revive_formats.mp4``).

Functions
---------
write_mp4_label  write a label into a finished MP4 (any box order), atomically
read_mp4_tags    the metadata items of an MP4, by name ("comment", "revive_label", ...)
read_mp4_label   the label in an MP4's metadata, or None
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

from .errors import FormatError
from .label import METADATA_NOTE, aigc_fields, check_label
from .storage import atomic_file, reject_json_constant

__all__ = ["read_mp4_label", "read_mp4_tags", "write_mp4_label"]

MAX_MOOV_BYTES = 256 * 1024**2  # the moov box holds indexes, never media

_MEAN = b"org.revive"
_FREEFORM = ("revive_label", "AIGC")
_ITEM_NAMES = {b"\xa9cmt": "comment", b"desc": "description", b"\xa9nam": "title",
               b"\xa9too": "encoder", b"\xa9day": "date", b"\xa9ART": "artist"}
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}  # the path to stco and co64


def write_mp4_label(path: str | os.PathLike, label: Mapping[str, Any]) -> None:
    """Write ``label`` into the MP4 at ``path``, replacing an earlier Revive label, atomically.

    Only ``moov/udta`` changes; when the media data follows the ``moov`` box (``+faststart``),
    the chunk offsets are moved by the size change. Other metadata items are kept. The file is
    copied beside itself and renamed into place, so it needs its own size in free space.

    Raises
    ------
    FormatError
        When the file is not an MP4 with one ``moov`` box (it is then left as it was).
    """
    path = Path(path)
    label = check_label(dict(label), str(path))
    items = b"".join([
        _text_item(b"\xa9cmt", METADATA_NOTE),
        _text_item(b"desc", _description(label)),
        _freeform_item("revive_label", _compact(label)),
        _freeform_item("AIGC", _compact(aigc_fields(label))),
    ])
    with _open(path) as f:
        size = os.fstat(f.fileno()).st_size
        top = _top_boxes(f, size, path)
        start, end, header = _moov(top, path)
        f.seek(start)
        moov = f.read(end - start)
        new_moov = bytearray(_box(b"moov", _relabelled(moov, header, items, path)))
        delta = len(new_moov) - len(moov)
        if delta and any(kind == b"mdat" and at > start for kind, at, _, _ in top):
            _shift_chunk_offsets(new_moov, 8, len(new_moov), delta, path)
        with atomic_file(path) as tmp, open(tmp, "wb") as out:
            f.seek(0)
            _copy(f, out, start)
            out.write(new_moov)
            f.seek(end)
            _copy(f, out, size - end)
            out.flush()
            os.fsync(out.fileno())


def read_mp4_tags(path: str | os.PathLike) -> dict[str, str]:
    """The text items of an MP4's ``moov/udta/meta/ilst``, by name.

    Standard items get ffprobe's names ("comment", "description", "title", "encoder", "date",
    "artist"); free-form items their own name ("revive_label", "AIGC"); others their four
    letters. FormatError when the file is not an MP4.
    """
    path = Path(path)
    with _open(path) as f:
        size = os.fstat(f.fileno()).st_size
        start, end, header = _moov(_top_boxes(f, size, path), path)
        f.seek(start)
        moov = f.read(end - start)
    tags: dict[str, str] = {}
    for ilst in _ilst_boxes(moov, header):
        for kind, s, e, h in _boxes(ilst, 8, len(ilst)):
            name, value = _item(ilst[s:e], kind, h)
            if name is not None and value is not None:
                tags[name] = value
    return tags


def read_mp4_label(path: str | os.PathLike) -> dict[str, Any] | None:
    """The Revive label in an MP4's metadata; None when it has none; FormatError if damaged."""
    raw = read_mp4_tags(path).get("revive_label")
    if raw is None:
        return None
    where = f"{path} (metadata)"
    try:
        label = json.loads(raw, parse_constant=reject_json_constant)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{where}: the Revive label is not valid JSON ({exc}).") from None
    return check_label(label, where)


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FormatError(f"The video {path} does not exist.") from None
    except OSError as exc:
        raise FormatError(f"The video {path} can't be read ({exc.strerror}).") from None


def _top_boxes(f: BinaryIO, size: int, path: Path) -> list[tuple[bytes, int, int, int]]:
    """(kind, start, end, header size) of each top-level box, read header by header."""
    boxes, at = [], 0
    while at < size:
        f.seek(at)
        head = f.read(16)
        box = _parse_header(head, 0, size - at)
        if box is None:
            raise FormatError(f"{path} is not an MP4 file Revive can read (damaged box at byte "
                              f"{at}).", "Render or export the video again.")
        kind, length, header = box
        boxes.append((kind, at, at + length, header))
        at += length
    return boxes


def _moov(top: list[tuple[bytes, int, int, int]], path: Path) -> tuple[int, int, int]:
    moovs = [(s, e, h) for kind, s, e, h in top if kind == b"moov"]
    if len(moovs) != 1 or not top or top[0][0] not in (b"ftyp", b"free", b"skip", b"wide"):
        raise FormatError(f"{path} is not an MP4 file (it has no single 'moov' box).",
                          "Revive labels and reads MP4 videos (H.264 + AAC) only.")
    start, end, header = moovs[0]
    if end - start > MAX_MOOV_BYTES:
        raise FormatError(f"{path}: its index ('moov' box) is larger than "
                          f"{MAX_MOOV_BYTES // 1024**2} MB.", "The file is damaged.")
    return start, end, header


def _parse_header(data: bytes, at: int, room: int) -> tuple[bytes, int, int] | None:
    """(kind, size, header size) of the box at ``data[at:]``, or None if it can't be one."""
    if room < 8 or len(data) < at + 8:
        return None
    size, kind, header = int.from_bytes(data[at:at + 4], "big"), bytes(data[at + 4:at + 8]), 8
    if size == 1:
        if len(data) < at + 16:
            return None
        size, header = int.from_bytes(data[at + 8:at + 16], "big"), 16
    elif size == 0:
        size = room
    if size < header or size > room:
        return None
    return kind, size, header


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(kind, start, end, header size) of each box in ``data[start:end]``; stops at damage."""
    at = start
    while at < end:
        box = _parse_header(data, at, end - at)
        if box is None:
            return
        kind, size, header = box
        yield kind, at, at + size, header
        at += size


def _children(data: bytes, header: int) -> list[tuple[bytes, bytes]]:
    return [(kind, _raw(data, s, e)) for kind, s, e, _ in _boxes(data, header, len(data))]


def _raw(data: bytes, start: int, end: int) -> bytes:
    """The box at ``data[start:end]``; a size of 0 ("to the end of its parent") made explicit,
    since boxes may be added after it."""
    raw = bytes(data[start:end])
    return (end - start).to_bytes(4, "big") + raw[4:] if raw[:4] == b"\0\0\0\0" else raw


def _ilst_boxes(moov: bytes, header: int) -> Iterator[bytes]:
    for kind, udta in _children(moov, header):
        if kind != b"udta":
            continue
        for kind2, meta in _children(udta, 8):
            if kind2 == b"meta" and _meta_handler(meta) in (None, b"mdir"):
                for kind3, ilst in _children(meta, 12):
                    if kind3 == b"ilst":
                        yield ilst


def _meta_handler(meta: bytes) -> bytes | None:
    """The handler type of a ``meta`` box ("mdir" for iTunes items), None without ``hdlr``."""
    for kind, hdlr in _children(meta, 12):
        if kind == b"hdlr":
            return hdlr[16:20]
    return None


def _item(item: bytes, kind: bytes, header: int) -> tuple[str | None, str | None]:
    """(name, text) of one ilst item; None for what is not a text item."""
    name, value = None, None
    if kind == b"----":
        for child, body in _children(item, header):
            if child == b"name":
                name = body[12:].decode("utf-8", "replace")
            elif child == b"data":
                value = _data_text(body)
        return name, value
    for child, body in _children(item, header):
        if child == b"data":
            value = _data_text(body)
    return _ITEM_NAMES.get(kind, kind.decode("latin-1")), value


def _data_text(data_box: bytes) -> str | None:
    if len(data_box) < 16 or int.from_bytes(data_box[9:12], "big") != 1:  # type 1: UTF-8
        return None
    return data_box[16:].decode("utf-8", "replace")


def _relabelled(moov: bytes, header: int, items: bytes, path: Path) -> bytes:
    """The moov's content with ``items`` in udta/meta/ilst, earlier Revive items replaced."""
    children = _children(moov, header)
    udta = next((raw for kind, raw in children if kind == b"udta"), None)
    udta_children = _children(udta, 8) if udta is not None else []
    meta = next((raw for kind, raw in udta_children if kind == b"meta"), None)
    if meta is None:
        version = b"\x00\x00\x00\x00"
        inner = [(b"hdlr", _box(b"hdlr", b"\x00" * 8 + b"mdirappl" + b"\x00" * 9))]
    else:
        if _meta_handler(meta) not in (None, b"mdir"):
            raise FormatError(f"{path} keeps its metadata in a layout Revive can't add its "
                              "label to.", "Write the video without custom metadata keys.")
        version, inner = meta[8:12], _children(meta, 12)
    ilst = next((raw for kind, raw in inner if kind == b"ilst"), b"")
    kept = [_raw(ilst, s, e) for kind, s, e, h in _boxes(ilst, 8, len(ilst))
            if not _replaced(ilst[s:e], kind, h)]
    new_meta = _box(b"meta", version + b"".join(raw for kind, raw in inner if kind != b"ilst")
                    + _box(b"ilst", b"".join(kept) + items))
    new_udta = _box(b"udta", b"".join(raw for kind, raw in udta_children if kind != b"meta")
                    + new_meta)
    return b"".join(raw for kind, raw in children if kind != b"udta") + new_udta


def _replaced(item: bytes, kind: bytes, header: int) -> bool:
    """Whether an ilst item is one the label writes (and so is replaced, not doubled)."""
    if kind in (b"\xa9cmt", b"desc"):
        return True
    return kind == b"----" and _item(item, kind, header)[0] in _FREEFORM


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int, path: Path) -> None:
    """Add ``delta`` to every chunk offset (stco, co64) inside ``moov[start:end]``, in place."""
    for kind, s, e, h in list(_boxes(moov, start, end)):
        if kind in _CONTAINERS:
            _shift_chunk_offsets(moov, s + h, e, delta, path)
        elif kind in (b"stco", b"co64"):
            width = 4 if kind == b"stco" else 8
            count = int.from_bytes(moov[s + h + 4:s + h + 8], "big")
            first = s + h + 8
            if first + count * width > e:
                raise FormatError(f"{path}: its chunk offset table is damaged.")
            for at in range(first, first + count * width, width):
                value = int.from_bytes(moov[at:at + width], "big") + delta
                if not 0 <= value < 1 << (8 * width):
                    raise FormatError(f"{path} is too large to add a label to.")
                moov[at:at + width] = value.to_bytes(width, "big")


def _copy(source: BinaryIO, target: BinaryIO, length: int) -> None:
    left = length
    while left > 0:
        chunk = source.read(min(left, 1 << 20))
        if not chunk:
            raise FormatError(f"{source.name} ended early while being labelled.")
        target.write(chunk)
        left -= len(chunk)


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def _data(text: str) -> bytes:
    return _box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + text.encode("utf-8"))


def _text_item(kind: bytes, text: str) -> bytes:
    return _box(kind, _data(text))


def _freeform_item(name: str, text: str) -> bytes:
    return _box(b"----", _box(b"mean", b"\x00" * 4 + _MEAN)
                + _box(b"name", b"\x00" * 4 + name.encode("utf-8")) + _data(text))


def _compact(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _description(label: Mapping[str, Any]) -> str:
    consent = label["consent"]
    who = consent["authorised_by"]
    if consent.get("relationship"):
        who += f" ({consent['relationship']})"
    return (f"AI-generated with Revive {label['tool_version']}: an avatar, not a recording of a "
            f"real person. Authorised by {who} on {consent.get('date', '')}. "
            f"Content id {label['content_id']}.")
