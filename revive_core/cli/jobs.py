"""``JOBS.toml`` for ``revive batch``: many avatars and takes, read and checked before any work.

::

    [render]                    # optional: how every take is rendered (a [[take]] may override)
    samples = 16
    resolution = "384x384"      # also: preset, engine, device, mode, framing, light, background,
    chunk = 24                  # subtitles, visible_label, label_position, label_size, blender,
                                # keep_frames; chunk = frames per cluster task

    [[avatar]]                  # built from photos, with its consent record
    name = "grandma"            # what the takes call it (and the avatar's name)
    photos = ["photos/grandma-1.jpg", "photos/grandma-2.jpg"]
    consent = "Mei Chen, daughter, 2026-11-28"
    consent_document = "forms/grandma.pdf"      # optional
    out = "avatars/grandma"     # optional, default avatars/<name>
                                # optional: model, texture_method, texture_size, texture_seed,
                                # texture_grain (as `revive build`)
    [[avatar]]                  # or an avatar built before (it holds its own consent record)
    name = "grandpa"
    path = "avatars/grandpa"

    [[take]]
    avatar = "grandma"
    text = "Happy birthday, my love."   # or audio = "voice.wav" (transcript = "..."),
                                        # or take = "takes/hello" (a take made before)
    out = "videos/grandma-birthday.mp4"
    # optional: lang, emotion, intensity, fps, seed (as `revive say`), take_out (default
    # <out without .mp4>.take), and any [render] key for this take only

Relative paths are relative to the TOML file's folder. Every mistake is an InputError naming
the file and the entry (``jobs.toml, [[take]] #2``) and what to change.

Functions
    read_jobs   JOBS.toml -> Batch (checked)
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revive_core.errors import InputError
from revive_core.formats.label import check_position_and_size

__all__ = ["AvatarEntry", "Batch", "TakeEntry", "read_jobs"]

RENDER_KEYS: dict[str, tuple[type, ...]] = {
    "engine": (str,), "device": (str,), "preset": (str,), "samples": (int,),
    "resolution": (str,), "mode": (str,), "framing": (str,), "light": (str,),
    "background": (str,), "subtitles": (bool,), "visible_label": (bool,),
    "label_position": (str,), "label_size": (float, int), "blender": (str,),
    "chunk": (int,), "keep_frames": (bool,)}
CHOICES = {"engine": ("cycles", "eevee", "workbench"), "device": ("auto", "cpu", "gpu"),
           "preset": ("preview", "final"), "mode": ("studio", "portrait"),
           "framing": ("close-up", "portrait", "shoulders"), "light": ("studio", "photo"),
           "background": ("dark", "light", "transparent", "photo"),
           "texture_method": ("gan", "delit", "blur"), "lang": ("auto", "en", "zh")}
AVATAR_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "photos": (list,), "path": (str,), "consent": (str,),
    "consent_document": (str,), "out": (str,), "model": (str,), "texture_method": (str,),
    "texture_size": (int,), "texture_seed": (int,), "texture_grain": (float, int)}
TAKE_KEYS: dict[str, tuple[type, ...]] = {
    "avatar": (str,), "out": (str,), "text": (str,), "audio": (str,), "transcript": (str,),
    "take": (str,), "take_out": (str,), "lang": (str,), "emotion": (str,),
    "intensity": (float, int), "fps": (float, int), "seed": (int,), **RENDER_KEYS}
EXAMPLE_TAKE = ('[[take]]\navatar = "grandma"\ntext = "Happy birthday."\n'
                'out = "videos/birthday.mp4"')


@dataclass(frozen=True)
class AvatarEntry:
    """One ``[[avatar]]``: built from ``photos`` into ``folder``, or already at ``folder``."""

    name: str
    where: str  # "jobs.toml, [[avatar]] #1 (grandma)", for messages
    folder: Path
    photos: tuple[Path, ...] = ()
    consent: dict[str, str] | None = None
    build: dict[str, Any] = field(default_factory=dict)  # build_avatar's other options

    @property
    def builds(self) -> bool:
        return bool(self.photos)


@dataclass(frozen=True)
class TakeEntry:
    """One ``[[take]]``: a take made (``say``) or given (``take_dir``), rendered to ``out``."""

    number: int
    where: str
    avatar: str
    out: Path
    take_dir: Path
    say: dict[str, Any] | None  # make_take's options, or None for a take made before
    render: dict[str, Any] = field(default_factory=dict)  # render_video's options
    chunk: int | None = None
    keep_frames: bool = False


@dataclass(frozen=True)
class Batch:
    """A whole ``JOBS.toml``, checked: its avatars and takes, with absolute paths."""

    path: Path
    avatars: tuple[AvatarEntry, ...]
    takes: tuple[TakeEntry, ...]

    def readable(self) -> list[Path]:
        """Every input file or folder the workers must see."""
        paths = [p for a in self.avatars for p in (a.photos or (a.folder,))]
        for take in self.takes:
            if take.say is None:
                paths.append(take.take_dir)
            elif take.say.get("audio") is not None:
                paths.append(take.say["audio"])
        return list(dict.fromkeys(paths))

    def writable(self) -> list[Path]:
        """Every folder the workers write into (avatars, takes, videos)."""
        folders = [a.folder.parent for a in self.avatars if a.builds]
        folders += [t.take_dir.parent for t in self.takes if t.say is not None]
        folders += [t.out.parent for t in self.takes]
        return list(dict.fromkeys(folders))


def read_jobs(path: str | Path) -> Batch:
    """Read and check ``JOBS.toml``; raises InputError naming the file and the entry."""
    path = Path(path).expanduser().absolute()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The jobs file {path} does not exist.",
                         "Give the path of a JOBS.toml (see docs/farm.md).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"The jobs file {path} can't be read ({error}).") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path.name} is not valid TOML: {error}.",
                         "Check the quotes and brackets on that line.") from None
    _known(document, {"render": (dict,), "avatar": (list,), "take": (list,)}, path.name)
    base = path.parent
    defaults = _render_options(document.get("render", {}), f"{path.name}, [render]")
    avatars = tuple(_avatar(entry, i, path.name, base)
                    for i, entry in enumerate(_tables(document, "avatar", path.name), 1))
    takes = tuple(_take(entry, i, path.name, base, defaults)
                  for i, entry in enumerate(_tables(document, "take", path.name), 1))
    _cross_check(path.name, avatars, takes)
    return Batch(path, avatars, takes)


def _tables(document: dict, kind: str, file: str) -> list[dict]:
    entries = document.get(kind, [])
    if not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{file}: {kind} must be written as [[{kind}]] tables.",
                         f"For example:\n{EXAMPLE_TAKE}")
    return entries


def _known(table: dict, keys: dict[str, tuple[type, ...]], where: str) -> None:
    """Unknown keys (typos) and values of the wrong type are refused."""
    for key, value in table.items():
        if key not in keys:
            raise InputError(f"{where}: unknown key {key!r}.",
                             f"Known keys: {', '.join(sorted(keys))}.")
        types = keys[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            kind = " or ".join({str: "text", int: "a whole number", float: "a number",
                                bool: "true or false", list: "a list", dict: "a table"}[t]
                               for t in types)
            raise InputError(f"{where}: {key} = {value!r} should be {kind}.")
        if key in CHOICES and value not in CHOICES[key]:
            raise InputError(f"{where}: {key} = {value!r} is not one of "
                             f"{', '.join(CHOICES[key])}.")


def _render_options(table: dict, where: str) -> dict[str, Any]:
    _known(table, RENDER_KEYS, where)
    options = dict(table)
    if "resolution" in options:
        options["resolution"] = _resolution(options["resolution"], where)
    for key in ("samples", "chunk"):
        if key in options and options[key] < 1:
            raise InputError(f"{where}: {key} = {options[key]} must be at least 1.")
    if "label_position" in options or "label_size" in options:
        try:
            check_position_and_size(options.get("label_position", "bottom-right"),
                                    float(options.get("label_size", 0.05)))
        except InputError as error:
            raise InputError(f"{where}: {error.message}", error.hint) from None
    return options


def _resolution(text: str, where: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise InputError(f"{where}: resolution = {text!r} is not \"WIDTHxHEIGHT\".",
                         'For example: resolution = "384x384"') from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"{where}: resolution = {text!r} is outside 16..8192 pixels a side.")
    return width, height


def _path(base: Path, text: str) -> Path:
    return (base / Path(text).expanduser()).absolute()


def _exists(path: Path, where: str, what: str) -> Path:
    if not path.exists():
        raise InputError(f"{where}: {what} {path} does not exist.",
                         "Paths are relative to the jobs file's folder.")
    return path


def _avatar(entry: dict, number: int, file: str, base: Path) -> AvatarEntry:
    where = f"{file}, [[avatar]] #{number}"
    _known(entry, AVATAR_KEYS, where)
    name = entry.get("name", "").strip()
    if not name:
        raise InputError(f"{where}: every avatar needs a name (the takes use it).",
                         'For example: name = "grandma"')
    where = f"{where} ({name})"
    if ("photos" in entry) == ("path" in entry):
        raise InputError(f"{where}: give either photos (to build it) or path (an avatar built "
                         "before), not both or neither.",
                         'For example: photos = ["photos/grandma.jpg"] and consent = "..."')
    if "path" in entry:
        extra = sorted(set(entry) - {"name", "path"})
        if extra:
            raise InputError(f"{where}: {', '.join(extra)} only apply to an avatar built from "
                             "photos; an avatar given by path keeps its own.")
        return AvatarEntry(name, where, _exists(_path(base, entry["path"]), where, "the avatar"))
    photos = entry["photos"]
    if not photos or not all(isinstance(p, str) for p in photos):
        raise InputError(f"{where}: photos should be a list of image paths.",
                         'For example: photos = ["photos/grandma-1.jpg"]')
    if "consent" not in entry:
        raise InputError(f"{where}: building an avatar needs a consent record.",
                         'Say who authorised it, their relationship and the date, e.g. '
                         'consent = "Mei Chen, daughter, 2026-11-28"')
    from revive_core.avatar.consent import parse_consent

    try:
        consent = parse_consent(entry["consent"], document=entry.get("consent_document"))
    except InputError as error:
        raise InputError(f"{where}: {error.message}", error.hint) from None
    build = {k: entry[k] for k in ("model", "texture_method", "texture_size", "texture_seed",
                                   "texture_grain") if k in entry}
    if "texture_size" in build and build["texture_size"] not in (512, 1024, 2048):
        raise InputError(f"{where}: texture_size = {build['texture_size']} should be 512, 1024 "
                         "or 2048.")
    folder = _path(base, entry.get("out", f"avatars/{name}"))
    return AvatarEntry(name, where,
                       folder, tuple(_exists(_path(base, p), where, "the photo") for p in photos),
                       consent, build)


def _take(entry: dict, number: int, file: str, base: Path,
          defaults: dict[str, Any]) -> TakeEntry:
    where = f"{file}, [[take]] #{number}"
    _known(entry, TAKE_KEYS, where)
    if "avatar" not in entry or "out" not in entry:
        raise InputError(f"{where}: every take needs avatar (a name from [[avatar]]) and out "
                         "(the video).", f"For example:\n{EXAMPLE_TAKE}")
    where = f"{where} ({entry['out']})"
    out = _path(base, entry["out"])
    if out.suffix.lower() != ".mp4":
        raise InputError(f"{where}: out = {entry['out']!r} should end in .mp4.")
    sources = [k for k in ("text", "audio", "take") if k in entry]
    if len(sources) != 1:
        raise InputError(f"{where}: give one of text, audio or take "
                         f"({'not ' + ' and '.join(sources) if sources else 'none is given'}).",
                         "text: words to speak; audio: a recording to lip-sync; take: a take "
                         "folder made before.")
    if "transcript" in entry and "audio" not in entry:
        raise InputError(f"{where}: transcript goes with audio.")
    say_keys = {"text", "audio", "transcript", "lang", "emotion", "intensity", "fps", "seed"}
    render = _render_options({k: v for k, v in entry.items() if k in RENDER_KEYS}, where)
    options = {**defaults, **render}
    chunk, keep = options.pop("chunk", None), options.pop("keep_frames", False)
    if "take" in entry:
        extra = sorted(set(entry) & (say_keys | {"take_out"}))
        if extra:
            raise InputError(f"{where}: {', '.join(extra)} only apply to a take made here, not "
                             "to a take given by path.")
        take_dir, say = _exists(_path(base, entry["take"]), where, "the take"), None
    else:
        if "text" in entry and not entry["text"].strip():
            raise InputError(f"{where}: text is empty.", "Write the words to speak.")
        take_dir = _path(base, entry.get("take_out", str(Path(entry["out"]).with_suffix(""))
                                         + ".take"))
        say = {"text": entry.get("text"), "language": entry.get("lang", "auto"),
               "emotion": entry.get("emotion", "auto"),
               "intensity": float(entry.get("intensity", 0.6)),
               "fps": float(entry.get("fps", 25.0)), "seed": int(entry.get("seed", 0)),
               "audio": _exists(_path(base, entry["audio"]), where, "the recording")
               if "audio" in entry else None,
               "transcript": entry.get("transcript")}
    return TakeEntry(number, where, entry["avatar"], out, take_dir, say, options, chunk, keep)


def _cross_check(file: str, avatars: tuple[AvatarEntry, ...],
                 takes: tuple[TakeEntry, ...]) -> None:
    if not takes and not avatars:
        raise InputError(f"{file} has no [[avatar]] and no [[take]]: nothing to do.",
                         f"For example:\n{EXAMPLE_TAKE}")
    names: dict[str, str] = {}
    for avatar in avatars:
        if avatar.name in names:
            raise InputError(f"{avatar.where}: the name {avatar.name!r} is used twice "
                             f"(also {names[avatar.name]}).", "Give each avatar its own name.")
        names[avatar.name] = avatar.where
    outputs: dict[Path, str] = {a.folder: a.where for a in avatars if a.builds}
    for take in takes:
        if take.avatar not in names:
            raise InputError(f"{take.where}: no [[avatar]] is named {take.avatar!r}.",
                             f"Names given: {', '.join(sorted(names)) or 'none'}.")
        for path in (take.out, *((take.take_dir,) if take.say is not None else ())):
            if path in outputs:
                raise InputError(f"{take.where}: {path} is also written by {outputs[path]}.",
                                 "Give each take its own out (and take_out).")
            outputs[path] = take.where
