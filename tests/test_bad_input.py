"""The bad-input matrix: every mistake or fault gets a clear message, a non-zero exit, no traceback.

Each test feeds the ``revive`` command line (in this process, through ``cli.main``, or as a real
subprocess where signals or namespaces are needed) something a family or a studio will really
give it: photos with no face or a face upside down, damaged or unusual image files, a huge scan,
empty or foreign text, damaged avatar and take folders, hostile zips, a missing Blender, a full
disk, Ctrl-C in the middle of a render. It checks the exit code, that the message names the
problem (and the file), that no traceback is shown, and that inputs and earlier outputs are left
as they were. docs/trust.md lists the matrix with these test names.

Voice recordings are tested through ``revive say --audio`` (silent, empty, unreadable, too long,
too large, clipped), and a take's own ``audio.wav`` through the take reader's checks.
"""
from __future__ import annotations

import errno
import hashlib
import importlib.util
import io
import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from revive_core.cli.main import main
from revive_core.formats import read_take, write_avatar, write_take

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "revive_core" / "assets" / "sample" / "astronaut.png"
REVIVE = Path(sys.executable).parent / "revive"
CONSENT = "Mei Chen, daughter, 2025-03-01"
HAS_BPY = importlib.util.find_spec("bpy") is not None


# --- helpers ---------------------------------------------------------------------------------

def revive(capsys, *argv) -> tuple[int, str]:
    """Run ``revive ARGV`` in this process; return the exit code and what it printed on stderr."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    return code, capsys.readouterr().err


def refused(code: int, err: str, *words: str) -> None:
    """Exit code 2, each of ``words`` in the message, and no traceback."""
    assert code == 2, err
    assert "Traceback" not in err, err
    for word in words:
        assert str(word) in err, f"{word!r} not in:\n{err}"


def digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256(b"".join(digest(p).encode() + p.name.encode()
                                       for p in sorted(path.iterdir()))).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders a command left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".old")))


def _wav(samples: np.ndarray, rate: int = 22050, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """The sample portrait (a NASA photo, public domain): one face about 92 pixels wide."""
    return Image.open(SAMPLE).convert("RGB")


@pytest.fixture
def folders(tmp_path, tiny_avatar, tiny_take) -> tuple[Path, Path]:
    return write_avatar(tiny_avatar, tmp_path / "avatar"), write_take(tiny_take, tmp_path / "take")


def build_refused(capsys, tmp_path: Path, image_path: Path, *words: str) -> None:
    before = digest(image_path)
    code, err = revive(capsys, "build", image_path, "--out", tmp_path / "avatar_out",
                       "--consent", CONSENT)
    refused(code, err, image_path, *words)
    assert digest(image_path) == before, "the photo was modified"
    assert not (tmp_path / "avatar_out").exists()


# --- photos ----------------------------------------------------------------------------------

def test_photo_without_a_face_is_refused(capsys, tmp_path):
    path = tmp_path / "landscape.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 400, 3), np.uint8)).save(path)
    build_refused(capsys, tmp_path, path, "No face was found")



@pytest.mark.parametrize("grain", ["1.5", "-0.2"])
def test_texture_grain_outside_zero_to_one_is_refused(capsys, tmp_path, photo, grain):
    photo.save(tmp_path / "face.png")
    code, err = revive(capsys, "build", tmp_path / "face.png", "--out", tmp_path / "avatar_out",
                       "--consent", CONSENT, "--texture-grain", grain)
    refused(code, err, f"--texture-grain {float(grain)}", "between 0 and 1")
    assert not (tmp_path / "avatar_out").exists()

def test_photo_with_several_faces_uses_the_largest_and_says_so(tmp_path, photo, caplog):
    from revive_core.avatar.detect import detect_face

    face = photo.crop((120, 20, 330, 230))
    group = Image.new("RGB", (440, 230), (90, 90, 90))
    group.paste(face, (5, 10))
    group.paste(face.resize((150, 150)), (240, 40))
    path = tmp_path / "group.png"
    group.save(path)
    with caplog.at_level(logging.WARNING):
        found = detect_face(path)
    assert found.faces_found == 2
    assert found.landmarks_px[:, 0].mean() < 215, "the smaller face was chosen"
    assert "shows 2 faces; using the largest one" in caplog.text


def test_tiny_face_is_refused_with_its_size(capsys, tmp_path, photo):
    path = tmp_path / "tiny.png"
    photo.resize((64, 64)).save(path)
    build_refused(capsys, tmp_path, path, "pixels wide", "at least 80 pixels")


def test_blurred_face_is_refused(capsys, tmp_path, photo):
    path = tmp_path / "blurred.jpg"
    photo.filter(ImageFilter.GaussianBlur(10)).save(path, quality=90)
    build_refused(capsys, tmp_path, path, "No face was found", "sharp photo")


def test_upside_down_face_is_refused_with_how_to_fix_it(capsys, tmp_path, photo):
    path = tmp_path / "upside_down.png"
    photo.rotate(180).save(path)
    build_refused(capsys, tmp_path, path, "upside down", "Turn the photo upright")


def test_face_tilted_75_degrees_is_still_found(tmp_path, photo):
    from revive_core.avatar.detect import detect_face

    path = tmp_path / "tilted.png"
    photo.rotate(75, resample=Image.BICUBIC, center=(225, 125)).save(path)
    found = detect_face(path)
    assert found.faces_found == 1 and found.face_width_px >= 80


def test_corrupt_photo_is_refused(capsys, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))
    build_refused(capsys, tmp_path, path, "could not be read")


def test_truncated_photo_is_refused(capsys, tmp_path, photo):
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 4 // 10])
    build_refused(capsys, tmp_path, path, "could not be read", "truncated")


def test_photo_over_the_pixel_limit_is_refused(capsys, tmp_path):
    # A PNG header claiming 20000 x 20000 pixels (400 MP): refused before anything is decoded.
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
           + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    path = tmp_path / "scan.png"
    path.write_bytes(png)
    build_refused(capsys, tmp_path, path, "megapixels", "Scale the photo down")


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "L", "RGBA", "P"])
def test_unusual_image_modes_load_as_rgb_and_the_face_is_found(tmp_path, photo, mode):
    from revive_core.avatar.detect import detect_face

    if mode == "I;16":  # 16-bit grayscale, as scanners write
        image = Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257)
        reference = photo.convert("L").convert("RGB")
    elif mode == "RGBA":  # the top rows transparent: they become white
        rgba = np.asarray(photo.convert("RGBA")).copy()
        rgba[:40, :, 3] = 0
        image = Image.fromarray(rgba)
        reference = Image.fromarray(np.where(rgba[..., 3:] == 0, 255, rgba[..., :3]).astype(np.uint8))
    else:
        image = photo.convert(mode)
        reference = image.convert("RGB")
    path = tmp_path / ("photo.jpg" if mode == "CMYK" else "photo.png")
    image.save(path)
    assert Image.open(path).mode == image.mode
    found = detect_face(path)
    assert found.image.dtype == np.uint8 and found.image.shape == (512, 512, 3)
    assert np.abs(found.image.astype(float) - np.asarray(reference, float)).mean() < 4
    assert 80 <= found.face_width_px <= 105


def test_exif_rotated_photo_is_turned_upright(tmp_path, photo):
    from revive_core.avatar.detect import detect_face

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to show": how phones store portraits
    path = tmp_path / "phone.jpg"
    photo.rotate(90, expand=True).save(path, quality=95, exif=exif)
    before = digest(path)
    found = detect_face(path)
    assert np.abs(found.image.astype(float) - np.asarray(photo, float)).mean() < 4
    assert found.landmarks_px[:, 1].mean() < 200  # the face in the upper half, as in the photo
    assert digest(path) == before


@pytest.mark.slow
def test_100_megapixel_scan_is_scaled_down_and_its_face_found(tmp_path, photo):
    from revive_core.avatar.detect import MAX_WORKING_SIDE, detect_face

    path = tmp_path / "scan.jpg"
    photo.resize((10000, 10000), Image.BILINEAR).save(path, quality=70)
    started = time.perf_counter()
    found = detect_face(path)
    assert found.image.shape == (MAX_WORKING_SIDE, MAX_WORKING_SIDE, 3)
    assert found.face_width_px == pytest.approx(92 * MAX_WORKING_SIDE / 512, rel=0.1)
    print(f"100 MP scan: face found in {time.perf_counter() - started:.1f} s")


# --- text ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("", ["There is no text to speak"]),
    ("   \n ", ["There is no text to speak"]),
    ("words" * 2000, ["10000 characters long", "split it"]),
    ("😀 !!! ...", ["no words that can be spoken"]),
    ("Привет, как у тебя дела?", ["Cyrillic script", "English and Mandarin Chinese"]),
    ("こんにちは、お元気ですか", ["Hiragana script", "English and Mandarin Chinese"]),
    ("مرحبا كيف حالك", ["Arabic script"]),
])
def test_text_that_cannot_be_spoken_is_refused(capsys, tmp_path, folders, text, words):
    code, err = revive(capsys, "say", folders[0], "--text", text, "--out", tmp_path / "t")
    refused(code, err, *words)
    assert not (tmp_path / "t").exists()


def test_unsupported_language_option_is_refused(capsys, tmp_path, folders):
    code, err = revive(capsys, "say", folders[0], "--text", "Bonjour", "--lang", "fr",
                       "--out", tmp_path / "t")
    refused(code, err, "invalid choice: 'fr'")


def test_mixed_chinese_and_english_is_spoken_in_mandarin(capsys, tmp_path, folders):
    code, err = revive(capsys, "say", folders[0], "--text", "我今天很开心, thank you 妈妈",
                       "--out", tmp_path / "t")
    assert code == 0, err
    take = read_take(tmp_path / "t")
    assert take.language == "zh" and take.duration_s > 1.0
    assert "thank" in " ".join(w["text"] for w in take.segments["words"])


# --- voice recordings (`revive say --audio`) ---------------------------------------------------

@pytest.fixture(scope="module")
def spoken() -> tuple[np.ndarray, int]:
    """"Hello there." spoken by espeak-ng: int16 samples and their rate."""
    from revive_core.voice.speech import synthesize

    speech = synthesize("Hello there.", language="en")
    return speech.audio, speech.sample_rate


@pytest.mark.parametrize(("kind", "words"), [
    ("silent", ["The recording is silent"]),
    ("empty", ["is empty (0 bytes)"]),
    ("unreadable", ["could not be read as audio"]),
    ("31 minutes", ["lasts 31 minutes; at most 30 minutes can be used"]),
    ("over 1 GB", ["GB, too large to read"]),
])
def test_recordings_that_cannot_be_used_are_refused(capsys, tmp_path, folders, spoken, kind,
                                                     words):
    path = tmp_path / ("voice.m4a" if kind == "unreadable" else "voice.wav")
    if kind == "silent":
        path.write_bytes(_wav(np.zeros(16000, np.int16), rate=16000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "unreadable":
        path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + os.urandom(3000))
    elif kind == "31 minutes":  # quiet noise at 8 kHz: 30 MB
        noise = np.random.default_rng(0).normal(0, 300, 8000 * 60 * 31)
        path.write_bytes(_wav(noise.astype(np.int16), rate=8000))
    else:
        with open(path, "wb") as f:  # sparse: takes no disk space
            f.truncate(1024**3 + 1)
    before = path.stat()
    code, err = revive(capsys, "say", folders[0], "--audio", path, "--transcript", "Hello there.",
                       "--out", tmp_path / "t")
    refused(code, err, path.name if kind != "silent" else "", *words)
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not (tmp_path / "t").exists()


def test_clipped_recording_is_used(capsys, tmp_path, folders, spoken):
    samples, rate = spoken
    clipped = np.clip(samples.astype(np.int32) * 30, -32768, 32767).astype(np.int16)
    assert np.mean(np.abs(clipped) == 32767) > 0.05  # really clipped
    path = tmp_path / "clipped.wav"
    path.write_bytes(_wav(clipped, rate=rate))
    code, err = revive(capsys, "say", folders[0], "--audio", path, "--transcript", "Hello there.",
                       "--out", tmp_path / "t")
    assert code == 0, err
    take = read_take(tmp_path / "t")
    assert abs(take.duration_s - len(clipped) / rate) < 0.05
    assert [w["text"] for w in take.segments["words"]] == ["Hello", "there"]


# --- audio inside a take (the take reader's checks) --------------------------------------------

@pytest.mark.parametrize(("audio", "words"), [
    (b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100), ["audio.wav is not a readable WAV file"]),
    (b"", ["audio.wav is not a readable WAV file"]),
    (_wav(np.zeros((100, 2), np.int16), channels=2), ["must be 16-bit mono PCM"]),
    (_wav(np.zeros(100, np.uint8), width=1), ["must be 16-bit mono PCM"]),
    (_wav(np.zeros(0, np.int16)), ["the audio is empty"]),
])
def test_unreadable_or_wrong_audio_in_a_take_is_refused(capsys, tmp_path, folders, audio, words):
    avatar, take = folders
    (take / "audio.wav").write_bytes(audio)
    code, err = revive(capsys, "preview", avatar, take, "--out", tmp_path / "p.mp4")
    refused(code, err, *words)
    assert not (tmp_path / "p.mp4").exists()


def test_very_long_audio_is_refused_before_it_is_read(capsys, tmp_path, folders):
    avatar, take = folders
    with open(take / "audio.wav", "wb") as f:  # sparse: 2 GB + 1 byte that take no disk
        f.truncate(2 * 1024**3 + 1)
    code, err = revive(capsys, "inspect", take)
    refused(code, err, "audio.wav is larger than the 2048 MB allowed")


@pytest.mark.parametrize("kind", ["silent", "clipped"])
def test_silent_or_clipped_audio_is_a_valid_take(capsys, tmp_path, tiny_take, kind):
    tiny_take.audio = (np.zeros_like(tiny_take.audio) if kind == "silent"
                       else np.clip(tiny_take.audio.astype(np.int32) * 20, -32768, 32767
                                    ).astype(np.int16))
    folder = write_take(tiny_take, tmp_path / "t")
    np.testing.assert_array_equal(read_take(folder).audio, tiny_take.audio)
    code, out = revive(capsys, "inspect", folder)
    assert code == 0, out


# --- avatar and take folders ------------------------------------------------------------------

def _edit_json(path: Path, **changes) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def _edit_npz(path: Path, **arrays) -> None:
    with np.load(path) as data:
        content = dict(data)
    content.update(arrays)
    np.savez(path, **content)


def test_avatar_with_a_missing_file_is_refused(capsys, tmp_path, folders):
    (folders[0] / "mesh.npz").unlink()
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "is missing mesh.npz", "incomplete")


def test_take_with_a_missing_file_is_refused(capsys, tmp_path, folders):
    (folders[1] / "audio.wav").unlink()
    code, err = revive(capsys, "preview", *folders, "--out", tmp_path / "p.mp4")
    refused(code, err, "is missing audio.wav")


@pytest.mark.parametrize("version", [2, 0, "1"])
def test_avatar_of_another_version_is_refused(capsys, tmp_path, folders, version):
    _edit_json(folders[0] / "avatar.json", version=version)
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "avatar.json")
    if version == 2:
        assert "version 2; this Revive reads version 1" in err and "Update Revive" in err


def test_take_of_another_format_is_refused(capsys, tmp_path, folders):
    _edit_json(folders[1] / "take.json", format="revive.avatar")
    code, err = revive(capsys, "preview", *folders, "--out", tmp_path / "p.mp4")
    refused(code, err, "is not a Take", "revive.avatar")


@pytest.mark.parametrize(("file", "array", "value"), [
    ("mesh.npz", "vertices", np.nan),
    ("mesh.npz", "uvs", np.inf),
    ("blendshapes.npz", "deltas", -np.inf),
])
def test_avatar_with_nan_or_inf_is_refused(capsys, tmp_path, folders, file, array, value):
    with np.load(folders[0] / file) as data:
        values = data[array].copy()
    values.flat[5] = value
    _edit_npz(folders[0] / file, **{array: values})
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, file, "NaN or infinite")


def test_take_with_nan_curves_is_refused(capsys, tmp_path, folders):
    document = json.loads((folders[1] / "take.json").read_text())
    document["blendshapes"]["jawOpen"][3] = float("nan")
    (folders[1] / "take.json").write_text(json.dumps(document))  # writes the literal NaN
    code, err = revive(capsys, "preview", *folders, "--out", tmp_path / "p.mp4")
    refused(code, err, "take.json is not valid JSON", "NaN is not allowed")


def test_deeply_nested_json_is_refused(capsys, tmp_path, folders):
    (folders[0] / "avatar.json").write_text("[" * 100_000 + "]" * 100_000)
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "avatar.json is not valid JSON")


def test_pickled_npz_is_never_loaded(capsys, tmp_path, folders):
    marker = tmp_path / "pickle_ran"

    class Payload:  # what a hostile file would run on unpickling
        def __reduce__(self):
            return (Path.touch, (marker,))

    deltas = np.empty(1, dtype=object)
    deltas[0] = Payload()
    np.savez(folders[0] / "blendshapes.npz", deltas=deltas)
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "blendshapes.npz", "pickled objects")
    assert not marker.exists()


def test_oversized_arrays_are_refused(capsys, tmp_path, folders):
    _edit_npz(folders[0] / "mesh.npz", vertices=np.zeros((2_000_001, 3), np.float32))
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "vertices must be (V, 3) with 3 <= V <= 2000000")


def test_npz_claiming_to_unpack_to_terabytes_is_refused(capsys, tmp_path, folders):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("deltas.npy", b"\x93NUMPY" + bytes(120))
    raw = bytearray(buffer.getvalue())
    entry = raw.rindex(b"PK\x01\x02")  # the central directory's entry: claim 4 GB unpacked
    raw[entry + 24:entry + 28] = (0xFFFF_FFF0).to_bytes(4, "little")
    (folders[0] / "blendshapes.npz").write_bytes(bytes(raw))
    code, err = revive(capsys, "say", folders[0], "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "blendshapes.npz unpacks to more than 2 GB")


@pytest.mark.parametrize("entry", ["../avatar.json", "/srv/avatar.json", "a/../../mesh.npz",
                                   "C:/avatar.json"])
def test_zip_with_paths_leaving_the_folder_is_refused(capsys, tmp_path, folders, entry):
    archive = tmp_path / "avatar.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in folders[0].iterdir():
            z.write(file, file.name)
        z.writestr(entry, "{}")
    code, err = revive(capsys, "say", archive, "--text", "Hello", "--out", tmp_path / "t")
    refused(code, err, "unsafe entry", entry)


# --- Blender missing --------------------------------------------------------------------------

def test_render_with_a_blender_path_that_does_not_exist_is_refused(capsys, tmp_path, folders):
    code, err = revive(capsys, "render", *folders, "--out", tmp_path / "v.mp4",
                       "--blender", "/nonexistent/blender")
    refused(code, err, "The Blender program /nonexistent/blender was not found")


def test_render_with_revive_blender_set_to_nothing_is_refused(capsys, tmp_path, folders,
                                                              monkeypatch):
    monkeypatch.setenv("REVIVE_BLENDER", "/nonexistent")
    code, err = revive(capsys, "render", *folders, "--out", tmp_path / "v.mp4")
    refused(code, err, "The Blender program /nonexistent was not found")


def test_render_without_bpy_or_blender_says_how_to_install_them(capsys, tmp_path, folders,
                                                                monkeypatch):
    find_spec = importlib.util.find_spec
    # This Python has bpy; the test hides it (and any blender on PATH), as a plain Python would.
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bpy" else find_spec(name, *a))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("REVIVE_BLENDER", raising=False)
    code, err = revive(capsys, "render", *folders, "--out", tmp_path / "v.mp4")
    refused(code, err, "Neither the bpy module nor a Blender program was found",
            "pip install bpy==5.0.1")


# --- a full disk ------------------------------------------------------------------------------

def test_full_disk_while_writing_a_take_keeps_the_previous_take(capsys, tmp_path, folders,
                                                                monkeypatch):
    out = tmp_path / "take"  # the previous take, made by the fixture
    before = digest(out)
    real_write = Path.write_bytes

    def full(self, data):
        if self.parent.name.endswith(".part"):  # the new take's temporary folder
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    code, err = revive(capsys, "say", folders[0], "--text", "Hello there", "--out", out)
    refused(code, err, "The disk is full", "Free some space", "Nothing you had before")
    assert digest(out) == before and leftovers(tmp_path) == []


def _ctrl_c_enabled() -> None:
    """In the child, before it starts: Ctrl-C (SIGINT) stops it, as it does from a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _tmpfs_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _tmpfs_works(), reason="needs unshare -m and mount (root)")
def test_really_full_disk_keeps_previous_outputs(tmp_path, folders):
    """A real tmpfs (in a private mount namespace) filled by a take and a preview made before."""
    avatar, take = folders
    disk = tmp_path / "disk"
    disk.mkdir()
    preview = tmp_path / "old_preview.mp4"
    code, err = revive_subprocess("preview", avatar, take, "--out", preview, "--resolution", "32x32")
    assert code == 0, err
    pages = sum(-(-p.stat().st_size // 4096) for p in [*take.iterdir(), preview])
    script = f"""
        mount -t tmpfs -o size={4 * pages + 12}k tmpfs {disk} || exit 99
        cp -r {take} {disk}/take && cp {preview} {disk}/preview.mp4
        {REVIVE} say {avatar} --text "{'Hello there, my dear. ' * 6}" --out {disk}/take 2> {tmp_path}/say.err
        echo "say $?"
        {REVIVE} preview {avatar} {take} --out {disk}/preview.mp4 --resolution 480x480 2> {tmp_path}/preview.err
        echo "preview $?"
        sha256sum {disk}/take/* {disk}/preview.mp4 | sed 's|{disk}/||'
        ls -A {disk}
    """
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                            text=True, timeout=300)
    lines = result.stdout.splitlines()
    assert "say 2" in lines and "preview 2" in lines, result.stdout + result.stderr
    for command in ("say", "preview"):
        err = (tmp_path / f"{command}.err").read_text()
        refused(2, err, "The disk is full")
    expected = {f"take/{p.name}": digest(p) for p in take.iterdir()}
    expected["preview.mp4"] = digest(preview)
    found = {name: sha for sha, name in (line.split() for line in lines if "  " in line)}
    assert found == expected  # the earlier take and preview, byte for byte
    assert lines[-2:] == ["preview.mp4", "take"]  # nothing else left on the disk


def revive_subprocess(*argv, env: dict | None = None) -> tuple[int, str]:
    result = subprocess.run([str(REVIVE), *map(str, argv)], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=300)
    return result.returncode, result.stderr


# --- Ctrl-C in the middle of a render ---------------------------------------------------------

@pytest.mark.slow
@pytest.mark.blender
@pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module")
def test_ctrl_c_during_a_render_keeps_the_previous_video_and_a_rerun_works(
        tmp_path, tiny_avatar, take_builder):
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(take_builder(seconds=0.8), tmp_path / "take")  # 20 frames
    out = tmp_path / "video.mp4"
    out.write_bytes(b"the previous video")
    command = [str(REVIVE), "--debug", "render", str(avatar), str(take), "--out", str(out),
               "--resolution", "160x160", "--samples", "8", "--device", "cpu"]
    # As from a terminal: a suite started in the background (``&``) inherits SIGINT ignored.
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, preexec_fn=_ctrl_c_enabled)
    seen = []
    for line in process.stderr:  # wait for the first frame
        seen.append(line)
        if "rendered frame" in line:
            break
    assert process.poll() is None, "".join(seen)
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[1]
    err = "".join(seen) + rest
    assert process.returncode == 130, err
    assert "stopped" in rest and "Traceback" not in err
    assert out.read_bytes() == b"the previous video"
    assert leftovers(tmp_path) == [], "temporary files were left behind"

    code, err = revive_subprocess(*command[2:])  # the same command again: it goes on
    assert code == 0, err
    assert out.read_bytes()[4:8] == b"ftyp" and (tmp_path / "video.label.json").is_file()
    assert leftovers(tmp_path) == []
