"""Safe, atomic storage shared by both formats: JSON, npz without pickles, PNG headers, folders.

Atomic means a reader never sees half a file or half a folder: everything is written beside its
destination under a temporary name and renamed into place only when complete.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .errors import FormatError

# Limits that keep a damaged or hostile file from exhausting memory.
MAX_NPZ_BYTES = 2 * 1024**3
MAX_JSON_BYTES = 256 * 1024**2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What zipfile raises for damaged, truncated, encrypted or oddly compressed archives.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` that replaces it only once the block succeeds.

    If the block fails or is interrupted, the temporary file is removed and ``path`` keeps its
    previous content (or stays absent).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``path`` as a whole once the block succeeds.

    If the block fails or is interrupted, ``path`` keeps its previous content untouched.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FormatError(f"{path} exists and is not a folder.",
                          "Choose another output path, or move that file away first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def dumps_json(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return buffer.getvalue()


class Source:
    """Files of a format, read from a folder or from a zip of that folder, by member name."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = Path(path)
        self.kind = kind
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if not self.path.exists():
            raise FormatError(f"{self.kind} not found: {self.path}",
                              "Check the path; it should be a folder (or a .zip of one).")
        if self.path.is_file():
            self._open_zip()
        elif not self.path.is_dir():
            raise FormatError(f"{self.path} is neither a folder nor a zip file.")

    def _open_zip(self) -> None:
        try:
            self._zip = zipfile.ZipFile(self.path)
        except _ZIP_ERRORS as exc:
            raise FormatError(f"{self.path} is not a readable {self.kind} folder or zip ({exc}).",
                              f"Pass the {self.kind.lower()} folder itself, or a zip of it.") from None
        names = self._zip.namelist()
        for name in names:
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise FormatError(f"{self.path} contains an unsafe entry {name!r}.",
                                  "Zip files must hold only relative paths; rebuild the zip.")
        # Accept both a zip of the folder's content and a zip of the folder itself.
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        if len(tops) == 1 and not any("/" not in n for n in names):
            self._prefix = tops.pop() + "/"

    def has(self, name: str) -> bool:
        if self._zip is None:
            return (self.path / name).is_file()
        return (self._prefix + name) in self._zip.namelist()

    def size(self, name: str) -> int:
        if self._zip is None:
            return (self.path / name).stat().st_size
        return self._zip.getinfo(self._prefix + name).file_size

    def read(self, name: str, limit: int) -> bytes:
        if not self.has(name):
            raise FormatError(f"{self.kind} {self.path} is missing {name}.",
                              f"The {self.kind.lower()} is incomplete; write it again with Revive.")
        if self.size(name) > limit:
            raise FormatError(f"{self.path}: {name} is larger than the {limit // 1024**2} MB allowed.",
                              "The file is damaged or not a Revive file.")
        if self._zip is None:
            return (self.path / name).read_bytes()
        try:
            return self._zip.read(self._prefix + name)
        except _ZIP_ERRORS as exc:
            raise FormatError(f"{self.path}: {name} can't be read from the zip "
                              f"({exc or type(exc).__name__}).",
                              "The zip is damaged or encrypted; zip the folder again.") from None

    def json(self, name: str, expected_format: str, supported_version: int) -> dict[str, Any]:
        raw = self.read(name, MAX_JSON_BYTES)
        try:
            document = json.loads(raw.decode("utf-8"), parse_constant=reject_json_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # deep nesting: recursion
            raise FormatError(f"{self.path}: {name} is not valid JSON ({exc}).",
                              "The file is damaged; write it again with Revive.") from None
        if not isinstance(document, dict):
            raise FormatError(f"{self.path}: {name} must hold a JSON object.")
        found = document.get("format")
        if found != expected_format:
            raise FormatError(f"{self.path}: {name} is not a {self.kind} (format is {found!r}, "
                              f"expected {expected_format!r}).")
        version = document.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise FormatError(f"{self.path}: {name} has no integer version.")
        if version > supported_version or version < 1:
            raise FormatError(
                f"{self.path}: {name} is {self.kind} version {version}; this Revive reads "
                f"version {supported_version}.",
                "Update Revive (and the Blender add-on) to a release that knows this version.")
        return document

    def npz(self, name: str, expected: Mapping[str, tuple[str, int]], *,
            optional: Mapping[str, tuple[str, int]] | None = None) -> dict[str, np.ndarray]:
        """Read ``name`` and check each array's dtype kind and number of dimensions.

        ``expected`` maps array name to (dtype kinds such as "f" or "iu", ndim). ``optional``
        lists arrays checked the same way when present (older files may lack them).
        """
        optional = optional or {}
        raw = self.read(name, MAX_NPZ_BYTES)
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as inner:
                total = sum(i.file_size for i in inner.infolist())
            if total > MAX_NPZ_BYTES:
                raise FormatError(f"{self.path}: {name} unpacks to more than "
                                  f"{MAX_NPZ_BYTES // 1024**3} GB.", "The file is damaged.")
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                wanted = {*expected, *optional}
                arrays = {key: npz[key] for key in npz.files if key in wanted}
        except FormatError:
            raise
        except Exception as exc:  # numpy raises many types for damaged or pickled data
            raise FormatError(f"{self.path}: {name} is not a readable array file ({exc}).",
                              "It may be damaged or contain pickled objects, which Revive never "
                              "loads. Write it again with Revive.") from None
        for key, (kinds, ndim) in {**optional, **expected}.items():
            if key not in arrays:
                if key in expected:
                    raise FormatError(f"{self.path}: {name} has no array {key!r}.")
                continue
            array = arrays[key]
            if not isinstance(array, np.ndarray):  # numpy hands back a damaged member's bytes
                raise FormatError(f"{self.path}: {name}:{key} is not a readable array.",
                                  "The file is damaged; write it again with Revive.")
            if array.dtype.kind not in kinds or array.ndim != ndim:
                raise FormatError(f"{self.path}: {name}:{key} has dtype {array.dtype} and "
                                  f"{array.ndim} dimensions; expected kind {kinds!r} and {ndim}.")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise FormatError(f"{self.path}: {name}:{key} contains NaN or infinite values.",
                                  "The file is damaged; write it again with Revive.")
        return arrays


def reject_json_constant(name: str) -> float:
    """``json.loads``'s ``parse_constant``: NaN and Infinity are not JSON, so refuse them."""
    raise ValueError(f"{name} is not allowed")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG header, or FormatError if it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise FormatError("The image is not a PNG file.")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def require(condition: bool, path: Path, problem: str) -> None:
    """Raise a FormatError naming ``path`` unless ``condition`` holds."""
    if not condition:
        raise FormatError(f"{path}: {problem}", "The file is damaged or was edited by hand; "
                          "write it again with Revive.")


def finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_PNG_START = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"


def complete_png(path: str | os.PathLike) -> bool:
    """True when ``path`` starts like a PNG and ends with its IEND chunk (a whole file, not one
    a crash cut short)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(0, os.SEEK_END)
            if f.tell() < 57:
                return False
            f.seek(-8, os.SEEK_END)
            return head == _PNG_START and f.read(8) == _PNG_END
    except OSError:
        return False
