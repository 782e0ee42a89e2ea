"""One reader per history format, tried in order; the first that recognises a file reads it.

Formats
    WhatsApp text export    ``12/03/2021, 18:45 - Name: text`` (Android) or
                            ``[12/03/2021, 18:45:12] Name: text`` (iPhone); continuation lines
                            join their message, system notices and media placeholders are skipped
    WeChat text export      ``2021-03-12 18:45:12 张三`` (or ``张三 2021-03-12 18:45:12``) on its
                            own line, the message on the following lines; or both on one line
                            with a colon
    WeChat CSV              exports with ``StrContent`` (and ``Sender``/``NickName``/``Remark``,
                            ``StrTime``, ``Type``; only text messages, Type 1, are kept)
    CSV                     a header with a speaker and a text column (+ time); English or
                            Chinese column names, ``,`` ``;`` or tab separated
    JSON / JSONL            a list of objects (or ``{"messages": [...]}``) with speaker and text
                            (+ time); Telegram's JSON export works too
    plain text dialogue     ``Name: text`` lines (also with a full-width colon ``：``)
    plain text letters      anything else: paragraphs written by the person given as the speaker

Functions
    parse   the format name and messages of one decoded file
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Callable, Iterable

from revive_core.errors import InputError
from revive_core.persona.message import Message
from revive_core.text.sentences import split_sentences

__all__ = ["FORMATS", "parse"]

SPEAKER_KEYS = ("speaker", "sender", "from", "author", "name", "user", "nickname", "发送人",
                "发送者", "说话人", "昵称", "用户")
TEXT_KEYS = ("text", "message", "content", "body", "msg", "strcontent", "内容", "消息",
             "消息内容", "文本")
TIME_KEYS = ("time", "timestamp", "date", "datetime", "sent", "strtime", "createtime", "时间",
             "发送时间", "日期")
MAX_SPEAKER_CHARS = 40
LETTER_CHUNK_CHARS = 240

# Media and system placeholders that are not the person's words.
_PLACEHOLDERS = re.compile(
    r"^\u200e?(<media omitted>|<附件[:：].*>|<attached: .*>|.*\b(image|video|audio|sticker|gif|"
    r"document) omitted|this message was deleted|you deleted this message|null|"
    r"\[(图片|语音|视频|表情|动画表情|文件|链接|位置|红包|转账)\])$", re.IGNORECASE)
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[\s\u202f]?[APap]\.?[Mm]\.?)?"
_WHATSAPP_ANDROID = re.compile(
    rf"^\u200e?(\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}),? ({_TIME}) - (.*)$")
_WHATSAPP_IOS = re.compile(
    rf"^\u200e?\[(\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}),? ({_TIME})\] (.*)$")
_WECHAT_TIME = r"\d{4}[-/年.]\d{1,2}[-/月.]\d{1,2}日?\s+\d{1,2}:\d{2}(?::\d{2})?"
_WECHAT_TIME_NAME = re.compile(rf"^({_WECHAT_TIME})\s+(.{{1,{MAX_SPEAKER_CHARS}}}?)\s*$")
_WECHAT_NAME_TIME = re.compile(
    rf"^(.{{1,{MAX_SPEAKER_CHARS}}}?)\s*[(（]?\s*({_WECHAT_TIME})\s*[)）]?\s*$")
_WECHAT_ONE_LINE = re.compile(rf"^({_WECHAT_TIME})\s+([^:：]{{1,{MAX_SPEAKER_CHARS}}})[:：]\s*(.+)$")
_DIALOGUE = re.compile(rf"^([^:：\d][^:：]{{0,{MAX_SPEAKER_CHARS - 1}}})[:：]\s*(.*)$")


def parse(text: str, path: Path, *, letters_by: str | None = None) -> tuple[str, list[Message]]:
    """Detect the format of one decoded file and read its messages.

    Parameters
    ----------
    text : str
        The decoded file.
    path : Path
        Its path (the suffix helps detection; ``name:line`` goes into each message's source).
    letters_by : str, optional
        Whose words a plain text without speaker names holds.

    Returns
    -------
    format_name : str
    messages : list of Message
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for name, recognises, read in FORMATS:
        if recognises(lines, path):
            messages = [m for m in read(lines, path) if m.text and not _PLACEHOLDERS.match(m.text)]
            return name, messages
    if letters_by is None:
        raise InputError(f"{path} names no speakers, so Revive cannot tell whose lines they are.",
                         "If these are the person's own letters or notes, pass --speaker with "
                         "their name and they are taken as theirs.")
    return "plain text (letters)", _letters(lines, path, letters_by)


# Detection -------------------------------------------------------------------------------------

def _content(lines: list[str], limit: int = 200) -> list[str]:
    """The first ``limit`` non-empty lines, stripped: enough to recognise a format."""
    return list(itertools.islice((line.strip() for line in lines if line.strip()), limit))


def _share(lines: list[str], pattern: re.Pattern) -> float:
    content = _content(lines)
    return sum(bool(pattern.match(line)) for line in content) / max(len(content), 1)


def _is_json(lines: list[str], path: Path) -> bool:
    head = "\n".join(_content(lines, 3))
    suffix = path.suffix.lower()
    return suffix == ".json" or (suffix != ".jsonl" and head.startswith(("[", "{"))
                                 and _json_whole(lines))


def _json_whole(lines: list[str]) -> bool:
    try:
        json.loads("\n".join(lines))
    except json.JSONDecodeError:
        return False
    return True


def _is_jsonl(lines: list[str], path: Path) -> bool:
    content = _content(lines, 20)
    return path.suffix.lower() == ".jsonl" or (path.suffix.lower() != ".json" and len(content) > 1
                                              and all(line.startswith("{") and line.endswith("}")
                                                      for line in content))


def _csv_header(lines: list[str]) -> list[str] | None:
    content = _content(lines, 1)
    if not content:
        return None
    header = next(csv.reader([content[0]], delimiter=_delimiter(content[0])))
    return [h.strip().lower() for h in header]


def _is_wechat_csv(lines: list[str], path: Path) -> bool:
    header = _csv_header(lines)
    return bool(header) and "strcontent" in header


def _is_csv(lines: list[str], path: Path) -> bool:
    header = _csv_header(lines)
    return bool(header) and len(header) >= 2 and _pick(header, TEXT_KEYS) is not None and (
        _pick(header, SPEAKER_KEYS) is not None)


def _is_whatsapp(lines: list[str], path: Path) -> bool:
    return max(_share(lines, _WHATSAPP_ANDROID), _share(lines, _WHATSAPP_IOS)) >= 0.3


def _is_wechat_text(lines: list[str], path: Path) -> bool:
    headers = max(_share(lines, _WECHAT_TIME_NAME), _share(lines, _WECHAT_NAME_TIME),
                  _share(lines, _WECHAT_ONE_LINE))
    return headers >= 0.25


def _is_dialogue(lines: list[str], path: Path) -> bool:
    return _share(lines, _DIALOGUE) >= 0.6


# Readers ---------------------------------------------------------------------------------------

def _source(path: Path, line: int) -> str:
    return f"{path.name}:{line}"


def _message(parts: dict, path: Path) -> Message:
    """A Message from a reader's dict of speaker, text parts (lines), time and line number."""
    return Message(parts["speaker"], "\n".join(parts["parts"]).strip(), parts["time"],
                   _source(path, parts["line"]))


def _read_whatsapp(lines: list[str], path: Path) -> list[Message]:
    pattern = _WHATSAPP_IOS if _share(lines, _WHATSAPP_IOS) > _share(lines, _WHATSAPP_ANDROID) \
        else _WHATSAPP_ANDROID
    messages: list[Message] = []
    current: dict | None = None
    for number, line in enumerate(lines, 1):
        match = pattern.match(line)
        if match:
            current = None
            date, time, rest = match.groups()
            speaker, colon, body = rest.partition(": ")
            if colon and 0 < len(speaker) <= MAX_SPEAKER_CHARS:  # else a system notice
                current = {"speaker": speaker.strip("\u200e "), "parts": [body],
                           "time": f"{date} {time}", "line": number}
                messages.append(current)
        elif current is not None and line.strip():
            current["parts"].append(line)
    return [_message(m, path) for m in messages]


def _read_wechat_text(lines: list[str], path: Path) -> list[Message]:
    messages: list[dict] = []
    current: dict | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        one = _WECHAT_ONE_LINE.match(stripped)
        header = _WECHAT_TIME_NAME.match(stripped)
        flipped = _WECHAT_NAME_TIME.match(stripped)
        if one:
            current = None
            messages.append({"speaker": one.group(2).strip(), "parts": [one.group(3)],
                             "time": one.group(1), "line": number})
        elif header or flipped:
            time, speaker = header.groups() if header else flipped.groups()[::-1]
            current = {"speaker": speaker.strip(), "parts": [], "time": time, "line": number + 1}
            messages.append(current)
        elif current is not None and stripped:
            current["parts"].append(stripped)
    return [_message(m, path) for m in messages]


def _read_dialogue(lines: list[str], path: Path) -> list[Message]:
    messages: list[dict] = []
    for number, line in enumerate(lines, 1):
        match = _DIALOGUE.match(line.strip())
        if match:
            messages.append({"speaker": match.group(1).strip(), "parts": [match.group(2)],
                             "time": None, "line": number})
        elif messages and line.strip():
            messages[-1]["parts"].append(line.strip())
    return [_message(m, path) for m in messages]


def _letters(lines: list[str], path: Path, speaker: str) -> list[Message]:
    # Paragraphs, cut at sentence ends into pieces of about LETTER_CHUNK_CHARS.
    messages, paragraph, start = [], [], 1
    for number, line in enumerate(lines + [""], 1):
        if line.strip():
            if not paragraph:
                start = number
            paragraph.append(line.strip())
            continue
        if paragraph:
            joiner = "" if re.search(r"[\u4e00-\u9fff]$", paragraph[0]) else " "
            for chunk in _chunks(split_sentences(joiner.join(paragraph))):
                messages.append(Message(speaker, chunk, None, _source(path, start)))
            paragraph = []
    return messages


def _chunks(sentences: list[str]) -> Iterable[str]:
    piece = ""
    for sentence in sentences:
        joiner = "" if not piece or re.search(r"[\u4e00-\u9fff。！？]$", piece) else " "
        if piece and len(piece) + len(sentence) > LETTER_CHUNK_CHARS:
            yield piece
            piece, joiner = "", ""
        piece += joiner + sentence
    if piece:
        yield piece


def _read_csv(lines: list[str], path: Path) -> list[Message]:
    text = "\n".join(lines)
    first = _content(lines, 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first))
    rows = [(number, row) for number, row in enumerate(reader, 1) if any(c.strip() for c in row)]
    header = [h.strip().lower() for h in rows[0][1]]
    wechat = "strcontent" in header
    if wechat:
        speaker_columns = [header.index(k) for k in ("sender", "nickname", "remark") if k in header]
        type_column = header.index("type") if "type" in header else None
    else:
        speaker_columns = [_pick(header, SPEAKER_KEYS)]
        type_column = None
    text_column = _pick(header, TEXT_KEYS)
    time_column = _pick(header, TIME_KEYS)
    messages = []
    for number, row in rows[1:]:
        cell = _cells(row)
        if type_column is not None and cell(type_column) not in ("", "1"):
            continue  # not a text message (picture, voice, system)
        speaker = next((cell(c) for c in speaker_columns if cell(c)), "")
        body = cell(text_column)
        if speaker and body:
            messages.append(Message(speaker, body, cell(time_column) or None,
                                    _source(path, number)))
    return messages


def _cells(row: list[str]) -> Callable[[int | None], str]:
    def cell(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""
    return cell


def _delimiter(header_line: str) -> str:
    return max((",", ";", "\t"), key=header_line.count)


def _pick(keys: list[str], wanted: tuple[str, ...]) -> int | None:
    for name in wanted:
        if name in keys:
            return keys.index(name)
    return None


def _read_json(lines: list[str], path: Path) -> list[Message]:
    try:
        document = json.loads("\n".join(lines))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}).",
                         "Check the file; each message needs a speaker and a text.") from None
    if isinstance(document, dict):
        document = next((document[k] for k in ("messages", "data", "chat", "history")
                         if isinstance(document.get(k), list)), None)
    if not isinstance(document, list):
        raise InputError(f"{path} holds no list of messages.",
                         'Use a list of {"speaker": ..., "text": ..., "time": ...} objects, or '
                         '{"messages": [...]}.')
    return _from_objects(((i + 1, item) for i, item in enumerate(document)), path,
                         index_is_line=False)


def _read_jsonl(lines: list[str], path: Path) -> list[Message]:
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {number}: not valid JSON ({exc.msg}).",
                             "Each line must be one JSON object with a speaker and a "
                             "text.") from None
    return _from_objects(items, path, index_is_line=True)


def _from_objects(items: Iterable[tuple[int, object]], path: Path, *,
                  index_is_line: bool) -> list[Message]:
    messages = []
    for index, item in items:
        if not isinstance(item, dict):
            continue
        fields = {str(k).strip().lower(): v for k, v in item.items()}
        speaker = next((fields[k] for k in SPEAKER_KEYS if isinstance(fields.get(k), str)), "")
        body = next((_flatten(fields[k]) for k in TEXT_KEYS if k in fields), "")
        time = next((str(fields[k]) for k in TIME_KEYS if fields.get(k) not in (None, "")), None)
        where = _source(path, index) if index_is_line else f"{path.name}#{index}"
        if speaker.strip() and body.strip():
            messages.append(Message(speaker.strip(), body.strip(), time, where))
    return messages


def _flatten(value: object) -> str:
    # Telegram stores formatted text as a list of strings and {"type", "text"} pieces.
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v.get("text", "")) if isinstance(v, dict)
                       else "" for v in value)
    return ""


_Recognise = Callable[[list[str], Path], bool]
_Read = Callable[[list[str], Path], list[Message]]
FORMATS: list[tuple[str, _Recognise, _Read]] = [
    ("JSONL", _is_jsonl, _read_jsonl),
    ("JSON", _is_json, _read_json),
    ("WeChat CSV", _is_wechat_csv, _read_csv),
    ("CSV", _is_csv, _read_csv),
    ("WhatsApp text export", _is_whatsapp, _read_whatsapp),
    ("WeChat text export", _is_wechat_text, _read_wechat_text),
    ("plain text dialogue", _is_dialogue, _read_dialogue),
]
