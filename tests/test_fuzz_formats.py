"""Fuzzing every format reader: random and mutated bytes never raise anything but FormatError.

Each test starts from a valid file (written by Revive itself), damages it the way disks,
transfers and hand edits do (flipped, deleted, inserted bytes; truncation; wrong JSON values;
npy headers that lie; zip entries with hostile names) and reads it back. A reader may accept
what is still valid or refuse it with a FormatError (a ReviveError) whose message names the
file; any other exception fails the test. Hypothesis shrinks a failure to a small example.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revive_core.formats import ReviveError, read_avatar, read_take, write_avatar, write_take
from revive_core.formats.label import make_label, read_sidecar, write_sidecar
from revive_core.formats.mp4 import read_mp4_label, read_mp4_tags, write_mp4_label
from revive_core.formats.storage import png_size

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- strategies ------------------------------------------------------------------------------

_EDIT = st.tuples(st.sampled_from(("flip", "delete", "insert", "overwrite", "truncate")),
                  st.floats(0.0, 1.0), st.binary(min_size=1, max_size=12))


def _apply(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, chunk in edits:
        at = int(where * len(out))
        if kind == "flip" and at < len(out):
            out[at] ^= chunk[0] or 0xFF
        elif kind == "delete":
            del out[at:at + len(chunk)]
        elif kind == "insert":
            out[at:at] = chunk
        elif kind == "overwrite":
            out[at:at + len(chunk)] = chunk
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


def mutated(data: bytes, *, head: int | None = None) -> st.SearchStrategy[bytes]:
    """``data`` with 1-6 random edits (only in its first ``head`` bytes when given)."""
    def apply(edits):
        if head is None:
            return _apply(data, edits)
        return _apply(data[:head], edits) + data[head:]

    return st.one_of(st.lists(_EDIT, min_size=1, max_size=6).map(apply),
                     st.binary(max_size=256))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12)


def json_edited(document: dict) -> st.SearchStrategy[bytes]:
    """``document`` with one or more values (top level or one level down) replaced."""
    paths = [(k,) for k in document] + [(k, j) for k, v in document.items()
                                        if isinstance(v, dict) for j in v]

    def edit(changes):
        doc = json.loads(json.dumps(document))
        for path, value in changes:
            target = doc
            for key in path[:-1]:
                target = target.get(key) if isinstance(target, dict) else None
            if not isinstance(target, dict):  # an earlier change replaced the parent
                continue
            if value is _DELETE:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        return json.dumps(doc).encode()

    change = st.tuples(st.sampled_from(paths), JSON_VALUES | st.just(_DELETE))
    return st.lists(change, min_size=1, max_size=3).map(edit)


_DELETE = object()


# --- valid files to start from ----------------------------------------------------------------

class Files(dict):
    """File name -> content; shown by name only when Hypothesis reports an example."""

    def __repr__(self) -> str:
        return f"Files({', '.join(self)})"


CONSENT = {"authorised_by": "Fuzz Family", "relationship": "test", "date": "2025-01-01"}


@pytest.fixture(scope="module")
def valid(tmp_path_factory, avatar_builder, take_builder) -> dict[str, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("valid")
    avatar = write_avatar(avatar_builder(rings=4, segments=6), root / "avatar")
    take = write_take(take_builder(seconds=0.2, sample_rate=8000), root / "take")
    return Files(avatar=Files({p.name: p.read_bytes() for p in avatar.iterdir()}),
                 take=Files({p.name: p.read_bytes() for p in take.iterdir()}))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _folder(work: Path, files: dict[str, bytes], name: str) -> Path:
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def _reads_or_refuses(read, path: Path) -> None:
    """``read(path)`` returns, or raises a ReviveError naming ``path``; nothing else."""
    try:
        read(path)
    except ReviveError as error:
        assert path.name in str(error) or str(path) in str(error), str(error)


def _npz(arrays: dict[str, bytes]) -> bytes:
    """A valid zip around raw (possibly damaged) .npy members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in arrays.items():
            z.writestr(name + ".npy", data)
    return buffer.getvalue()


def _npy_members(npz: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(npz)) as z:
        return {n[:-4]: z.read(n) for n in z.namelist()}


# --- avatar ----------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_damaged_avatar_json_is_refused_cleanly(valid, work, data):
    document = json.loads(valid["avatar"]["avatar.json"])
    raw = data.draw(json_edited(document) | mutated(valid["avatar"]["avatar.json"]))
    folder = _folder(work, {**valid["avatar"], "avatar.json": raw}, "avatar_json")
    _reads_or_refuses(read_avatar, folder)


@FUZZ
@given(data=st.data())
def test_damaged_mesh_arrays_are_refused_cleanly(valid, work, data):
    members = _npy_members(valid["avatar"]["mesh.npz"])
    name = data.draw(st.sampled_from(sorted(members)))
    # Mostly the 128-byte npy header (dtype, shape, order), sometimes the data.
    damaged = data.draw(mutated(members[name], head=128) | mutated(members[name]))
    folder = _folder(work, {**valid["avatar"], "mesh.npz": _npz({**members, name: damaged})},
                     "mesh")
    _reads_or_refuses(read_avatar, folder)


@FUZZ
@given(raw=st.binary(max_size=512))
def test_random_bytes_as_blendshapes_are_refused_cleanly(valid, work, raw):
    folder = _folder(work, {**valid["avatar"], "blendshapes.npz": raw}, "blendshapes")
    _reads_or_refuses(read_avatar, folder)


@FUZZ
@given(data=st.data())
def test_damaged_npz_containers_are_refused_cleanly(valid, work, data):
    raw = data.draw(mutated(valid["avatar"]["blendshapes.npz"]))
    folder = _folder(work, {**valid["avatar"], "blendshapes.npz": raw}, "npz")
    _reads_or_refuses(read_avatar, folder)


@FUZZ
@given(data=st.data())
def test_damaged_png_is_refused_cleanly(valid, work, data):
    raw = data.draw(mutated(valid["avatar"]["albedo.png"], head=64))
    folder = _folder(work, {**valid["avatar"], "albedo.png": raw}, "png")
    _reads_or_refuses(read_avatar, folder)
    try:
        width, height = png_size(raw)
    except ReviveError:
        return
    assert width >= 0 and height >= 0


@FUZZ
@given(names=st.lists(st.sampled_from((
    "avatar.json", "mesh.npz", "a/avatar.json", "../avatar.json", "/avatar.json",
    "a/../../mesh.npz", "C:/avatar.json", "\\avatar.json", "a/", "a/b/avatar.json",
    "blendshapes.npz", "albedo.png", "b/mesh.npz")), min_size=1, max_size=6, unique=True),
       data=st.data())
def test_hostile_zip_entries_are_refused_cleanly(valid, work, names, data):
    archive = work / "avatar.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in names:
            file = Path(name).name or "avatar.json"
            content = valid["avatar"].get(file, b"")
            z.writestr(name, data.draw(st.just(content) | mutated(content)) if content else b"")
    _reads_or_refuses(read_avatar, archive)


@FUZZ
@given(data=st.data())
def test_damaged_zip_files_are_refused_cleanly(valid, work, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in valid["avatar"].items():
            z.writestr(name, content)
    archive = work / "damaged.zip"
    archive.write_bytes(data.draw(mutated(buffer.getvalue())))
    _reads_or_refuses(read_avatar, archive)


# --- take ------------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_damaged_take_json_is_refused_cleanly(valid, work, data):
    document = json.loads(valid["take"]["take.json"])
    raw = data.draw(json_edited(document) | mutated(valid["take"]["take.json"]))
    folder = _folder(work, {**valid["take"], "take.json": raw}, "take_json")
    _reads_or_refuses(read_take, folder)


@FUZZ
@given(data=st.data())
def test_damaged_wav_is_refused_cleanly(valid, work, data):
    raw = data.draw(mutated(valid["take"]["audio.wav"], head=48) | mutated(valid["take"]["audio.wav"]))
    folder = _folder(work, {**valid["take"], "audio.wav": raw}, "wav")
    _reads_or_refuses(read_take, folder)


# --- the label: MP4 metadata and sidecar -----------------------------------------------------

@pytest.fixture(scope="module")
def labelled_video(tmp_path_factory) -> tuple[bytes, bytes]:
    from revive_core.video.media import write_video

    folder = tmp_path_factory.mktemp("video")
    video = folder / "v.mp4"
    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(3)]
    write_video(frames, video, fps=25, audio_wav=None, metadata={"comment": "x"})
    label = make_label(consent=CONSENT, tool_version="test")
    write_mp4_label(video, label)
    return video.read_bytes(), write_sidecar(video, label).read_bytes()


@FUZZ
@given(data=st.data())
def test_damaged_mp4_metadata_is_read_or_refused_cleanly(labelled_video, work, data):
    video = work / "fuzz.mp4"
    video.write_bytes(data.draw(mutated(labelled_video[0])))
    _reads_or_refuses(read_mp4_tags, video)
    _reads_or_refuses(read_mp4_label, video)


@FUZZ
@given(data=st.data())
def test_labelling_a_damaged_mp4_refuses_cleanly(labelled_video, work, data):
    video = work / "relabel.mp4"
    video.write_bytes(data.draw(mutated(labelled_video[0])))
    label = make_label(consent=CONSENT, tool_version="test")
    try:
        write_mp4_label(video, label)
    except ReviveError as error:
        assert video.name in str(error)
        return
    assert read_mp4_label(video)["content_id"] == label["content_id"]


@FUZZ
@given(data=st.data())
def test_damaged_sidecar_is_refused_cleanly(labelled_video, work, data):
    document = json.loads(labelled_video[1])
    sidecar = work / "fuzz.label.json"
    sidecar.write_bytes(data.draw(json_edited(document) | mutated(labelled_video[1])))
    _reads_or_refuses(read_sidecar, sidecar)
