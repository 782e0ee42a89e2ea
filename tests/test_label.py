"""The machine-readable AI label: MP4 metadata, sidecar, `revive inspect`, preview and render."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from revive_core.cli.main import main
from revive_core.formats import FormatError, write_avatar, write_take
from revive_core.formats.label import consent_reference, make_label, sidecar_path, write_sidecar
from revive_core.formats.mp4 import read_mp4_label, read_mp4_tags, write_mp4_label
from revive_core.video.media import probe, write_video

HAS_BPY = importlib.util.find_spec("bpy") is not None
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
CONSENT = {"authorised_by": "Mei Chen", "relationship": "daughter", "date": "2025-03-01",
           "statement": "Mei Chen, daughter, 2025-03-01", "document": "form-17.pdf"}


def decoded(video: Path) -> str:
    """sha256 of the decoded video and audio: what a player shows and plays."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", "0", "-f",
                          "framemd5", "-"], capture_output=True, check=True).stdout
    return hashlib.sha256(b"\n".join(line for line in raw.splitlines()
                                     if not line.startswith(b"#"))).hexdigest()


@pytest.fixture
def video(tmp_path) -> Path:
    """A 3-frame MP4 with its index first (+faststart), as ffmpeg writes previews."""
    frames = [np.full((16, 16, 3), 60 * i, np.uint8) for i in range(3)]
    return write_video(frames, tmp_path / "v.mp4", fps=25, audio_wav=None,
                       metadata={"comment": "x", "title": "kept"})


def test_label_round_trips_and_ffprobe_reads_the_same(video):
    before = decoded(video)
    label = make_label(consent=CONSENT, tool_version="9.9", avatar_name="Grandma")
    write_mp4_label(video, label)
    assert read_mp4_label(video) == label
    tags = probe(video)["tags"]
    assert tags["comment"] == "AI-generated with Revive" and tags["title"] == "kept"
    assert json.loads(tags["revive_label"]) == label
    assert "Authorised by Mei Chen (daughter)" in tags["description"]
    aigc = json.loads(tags["AIGC"])
    assert aigc["Label"] == "1" and aigc["ProduceID"] == label["content_id"]
    assert decoded(video) == before  # the media data moved, its offsets with it


def test_index_at_the_end_is_labelled_too(tmp_path):
    video = tmp_path / "blender_style.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x32:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "0.3", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)], check=True)
    before = decoded(video)
    label = make_label(consent=CONSENT, tool_version="9.9")
    write_mp4_label(video, label)
    assert read_mp4_label(video)["content_id"] == label["content_id"]
    assert decoded(video) == before


def test_relabelling_replaces_the_label(video):
    first, second = (make_label(consent=CONSENT, tool_version="1") for _ in range(2))
    write_mp4_label(video, first)
    write_mp4_label(video, second)
    assert read_mp4_label(video)["content_id"] == second["content_id"]
    assert video.read_bytes().count(b"revive_label") == 1


def test_consent_reference_hashes_the_whole_record_and_names_who_and_when():
    reference = consent_reference(CONSENT)
    assert reference["authorised_by"] == "Mei Chen" and reference["date"] == "2025-03-01"
    assert reference["document"] == "form-17.pdf"
    assert consent_reference(dict(reversed(CONSENT.items())))["sha256"] == reference["sha256"]
    changed = consent_reference({**CONSENT, "statement": "someone else"})
    assert changed["sha256"] != reference["sha256"]


def test_a_video_without_consent_can_not_be_labelled():
    with pytest.raises(FormatError, match="no consent record"):
        make_label(consent={"relationship": "daughter"}, tool_version="1")


def test_inspect_reads_the_label_and_notices_a_changed_video(capsys, video):
    label = make_label(consent=CONSENT, tool_version="9.9")
    write_mp4_label(video, label)
    sidecar = write_sidecar(video, label)
    assert sidecar == video.with_name("v.label.json")
    assert main(["inspect", str(video)]) == 0
    out = capsys.readouterr().out
    assert label["content_id"] in out and "Mei Chen (daughter), 2025-03-01" in out
    assert "matches the video's sha256" in out

    data = bytearray(video.read_bytes())
    data[-5] ^= 0xFF  # one byte of the video changes after it was labelled
    video.write_bytes(bytes(data))
    assert main(["inspect", str(sidecar), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["labelled"] and not report["sidecar"]["video_sha256_matches"]
    assert any("does not match" in p for p in report["problems"])


def test_inspect_says_when_a_video_has_no_label(capsys, tmp_path):
    video = write_video([np.zeros((16, 16, 3), np.uint8)], tmp_path / "plain.mp4", fps=25,
                        audio_wav=None)
    assert main(["inspect", str(video)]) == 1
    assert "no Revive label" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "words"), [
    (b"not a video at all", "is not an MP4 file"),
    (None, "holds neither avatar.json nor take.json"),
])
def test_inspect_refuses_what_is_not_revive_kindly(capsys, tmp_path, content, words):
    path = tmp_path / "thing"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_inspect_shows_avatar_and_take_consent_and_provenance(capsys, tmp_path, tiny_avatar,
                                                              tiny_take):
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(tiny_take, tmp_path / "take")
    assert main(["inspect", str(avatar), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["kind"], report["format"], report["version"]) == ("avatar", "revive.avatar", 1)
    assert report["consent"]["sha256"] == consent_reference(tiny_avatar.consent)["sha256"]
    assert report["provenance"] == tiny_avatar.provenance
    assert main(["inspect", str(take)]) == 0
    out = capsys.readouterr().out
    assert "Revive take, revive.take version 1" in out and "Test Family (test fixture)" in out


def test_preview_is_labelled_and_records_a_hidden_mark(capsys, tmp_path, tiny_avatar, tiny_take):
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(tiny_take, tmp_path / "take")
    videos = {}
    for name, options in (("shown", ["--label-position", "top-left", "--label-size", "0.08"]),
                          ("hidden", ["--no-visible-label"])):
        videos[name] = tmp_path / f"{name}.mp4"
        code = main(["preview", str(avatar), str(take), "--out", str(videos[name]),
                     "--resolution", "96x96", *options])
        assert code == 0, capsys.readouterr().err
    shown, hidden = (read_mp4_label(videos[n]) for n in ("shown", "hidden"))
    assert shown["kind"] == "preview" and shown["consent"]["authorised_by"] == "Test Family"
    assert shown["visible_label"] == {"shown": True, "text": "AI-generated",
                                      "position": "top-left", "size": 0.08}
    assert hidden["visible_label"]["shown"] is False
    for name, label in (("shown", shown), ("hidden", hidden)):
        sidecar = json.loads(sidecar_path(videos[name]).read_text())
        assert sidecar["content_id"] == label["content_id"]
    assert read_mp4_tags(videos["hidden"])["comment"] == "AI-generated with Revive"
    # The mark sits where asked: the top-left corner differs, the bottom-right does not.
    a, b = (_first_frame(videos[n]).astype(int) for n in ("shown", "hidden"))
    assert np.abs(a[:20, :40] - b[:20, :40]).max() > 60
    assert np.abs(a[-20:, -40:] - b[-20:, -40:]).max() < 20


def test_bad_label_options_are_refused(capsys, tmp_path, tiny_avatar, tiny_take):
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(tiny_take, tmp_path / "take")
    code = main(["preview", str(avatar), str(take), "--out", str(tmp_path / "p.mp4"),
                 "--label-size", "0.9"])
    err = capsys.readouterr().err
    assert code == 2 and "label size 0.9 is outside" in err and not (tmp_path / "p.mp4").exists()


def _first_frame(video: Path) -> np.ndarray:
    stream = next(s for s in probe(video)["streams"] if s["codec_type"] == "video")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-frames:v", "1", "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(stream["height"], stream["width"], 3)


@pytest.mark.slow
@pytest.mark.blender
@pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module")
def test_blender_render_is_labelled_with_consent_and_the_hidden_mark_is_recorded(
        capsys, tmp_path, tiny_avatar, take_builder):
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    take = write_take(take_builder(seconds=0.12, ramp_s=0.1), tmp_path / "take")
    common = ["--resolution", "48x48", "--samples", "1", "--device", "cpu"]
    shown, hidden = tmp_path / "shown.mp4", tmp_path / "hidden.mp4"
    assert main(["render", str(avatar), str(take), "--out", str(shown), *common,
                 "--label-position", "top-left", "--label-size", "0.05"]) == 0
    assert main(["render", str(avatar), str(take), "--out", str(hidden), *common,
                 "--no-visible-label"]) == 0
    capsys.readouterr()
    label = read_mp4_label(shown)
    assert label["kind"] == "render" and label["provider"] == "Revive"
    assert label["consent"] == consent_reference(tiny_avatar.consent)
    assert label["visible_label"]["shown"] and label["visible_label"]["position"] == "top-left"
    assert label["visible_label"]["size"] == pytest.approx(0.05)
    assert read_mp4_label(hidden)["visible_label"]["shown"] is False
    assert json.loads(probe(shown)["tags"]["revive_label"])["content_id"] == label["content_id"]
    assert main(["inspect", str(shown), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["sidecar"]["video_sha256_matches"]
