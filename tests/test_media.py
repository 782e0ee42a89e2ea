"""Tests of revive_core.video.media: atomic H.264 + AAC writing, probing, the visible label."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from revive_core.video import media
from revive_core.errors import ReviveError
from revive_core.formats.take import wav_bytes
from revive_core.programs import require_program

FPS = 25.0


def moving_frames(count: int = 25, width: int = 96, height: int = 64):
    """Frames with a gradient and a square that moves, so every frame differs."""
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = (xx * 255 // max(width - 1, 1)).astype(np.uint8)
        frame[..., 1] = (yy * 255 // max(height - 1, 1)).astype(np.uint8)
        frame[10:30, 2 * i % width:2 * i % width + 12, 2] = 255
        yield frame


@pytest.fixture
def tone_wav(tmp_path: Path, tiny_take) -> Path:
    path = tmp_path / "tone.wav"
    path.write_bytes(wav_bytes(tiny_take.audio, tiny_take.sample_rate))
    return path


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_require_program_finds_ffmpeg_or_says_how_to_install(monkeypatch):
    assert Path(require_program("ffmpeg", "Writing videos")).name.startswith("ffmpeg")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ReviveError, match="Writing videos needs ffmpeg .* not found") as caught:
        require_program("ffmpeg", "Writing videos", instead="Or give a WAV file.")
    assert "scripts/setup.sh" in caught.value.hint
    assert caught.value.hint.endswith("Or give a WAV file.")


def test_write_video_without_ffmpeg_says_so_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ReviveError, match="needs ffmpeg"):
        media.write_video(moving_frames(2), tmp_path / "clip.mp4", fps=FPS, audio_wav=None)
    assert leftovers(tmp_path, set()) == []


def test_write_video_has_h264_and_aac_matching_the_audio(tmp_path, tone_wav, tiny_take):
    out = tmp_path / "clip.mp4"
    result = media.write_video(moving_frames(25), out, fps=FPS, audio_wav=tone_wav,
                               metadata={"comment": "AI-generated with Revive",
                                         "description": "test clip"}, total=25)
    assert result == out and out.is_file()
    info = media.probe(out)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert [s["codec_name"] for s in video] == ["h264"]
    assert [s["codec_name"] for s in audio] == ["aac"]
    assert video[0]["pix_fmt"] == "yuv420p"
    assert (video[0]["width"], video[0]["height"]) == (96, 64)
    assert video[0]["nb_frames"] == 25
    assert audio[0]["sample_rate"] == tiny_take.sample_rate
    assert abs(info["duration_s"] - tiny_take.duration_s) <= 1.0 / FPS
    assert abs(audio[0]["duration_s"] - tiny_take.duration_s) <= 1.0 / FPS
    assert info["tags"]["comment"] == "AI-generated with Revive"
    assert info["tags"]["description"] == "test clip"
    assert leftovers(tmp_path, {"clip.mp4", "tone.wav"}) == []


def test_odd_sizes_are_padded_and_custom_tags_kept(tmp_path):
    out = tmp_path / "odd.mp4"
    media.write_video(moving_frames(5, width=33, height=21), out, fps=FPS, audio_wav=None,
                      metadata={"ai_generated": "true"}, progress=True, total=5)
    info = media.probe(out)
    (video,) = info["streams"]
    assert (video["codec_type"], video["width"], video["height"]) == ("video", 34, 22)
    assert info["tags"]["ai_generated"] == "true"


def test_inconsistent_frames_fail_and_leave_nothing(tmp_path, tone_wav):
    def frames():
        yield from moving_frames(3)
        yield np.zeros((10, 10, 3), np.uint8)

    out = tmp_path / "broken.mp4"
    with pytest.raises(ReviveError, match="same size|10x10"):
        media.write_video(frames(), out, fps=FPS, audio_wav=tone_wav)
    assert not out.exists()
    assert leftovers(tmp_path, {"tone.wav"}) == []


def test_ffmpeg_failure_reports_its_error_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous video")
    bad_audio = tmp_path / "bad.wav"
    bad_audio.write_bytes(b"this is not a wav file at all")
    with pytest.raises(ReviveError, match="ffmpeg could not write") as caught:
        media.write_video(moving_frames(5), out, fps=FPS, audio_wav=bad_audio)
    assert "bad.wav" in str(caught.value)  # the tail of ffmpeg's own message
    assert out.read_bytes() == b"previous video"
    assert leftovers(tmp_path, {"keep.mp4", "bad.wav"}) == []


def test_interrupted_write_leaves_nothing(tmp_path):
    def frames():
        yield from moving_frames(4)
        raise KeyboardInterrupt

    out = tmp_path / "interrupted.mp4"
    with pytest.raises(KeyboardInterrupt):
        media.write_video(frames(), out, fps=FPS, audio_wav=None)
    assert list(tmp_path.iterdir()) == []


def test_no_frames_is_an_error(tmp_path):
    with pytest.raises(ReviveError, match="no frames"):
        media.write_video(iter(()), tmp_path / "empty.mp4", fps=FPS, audio_wav=None)
    assert list(tmp_path.iterdir()) == []


def test_probe_rejects_what_is_not_media(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0" * 100)
    with pytest.raises(ReviveError, match="not a readable media file"):
        media.probe(junk)
    with pytest.raises(ReviveError, match="does not exist"):
        media.probe(tmp_path / "missing.mp4")


@pytest.mark.parametrize("corner", ["bottom-right", "bottom-left", "top-right", "top-left"])
def test_label_changes_only_its_corner(corner):
    frame = np.full((360, 640, 3), 90, np.uint8)
    labelled = media.draw_label(frame, corner=corner)
    assert labelled.shape == frame.shape and labelled.dtype == np.uint8
    assert (frame == 90).all()  # the input is not modified
    changed = np.argwhere((labelled != frame).any(axis=2))
    rows, cols = changed[:, 0], changed[:, 1]
    assert len(changed) > 500
    bottom, right = corner.startswith("bottom"), corner.endswith("right")
    assert (rows >= 360 * 0.75).all() if bottom else (rows < 360 * 0.25).all()
    assert (cols >= 640 * 0.6).all() if right else (cols < 640 * 0.4).all()
    region = labelled[changed[:, 0], changed[:, 1]]
    assert (region.min(axis=1) > 230).sum() > 50  # white text
    assert (region.max(axis=1) < 90).sum() > 100  # darkened box
    text_height = np.ptp(rows)
    assert 0.03 * 360 < text_height < 0.12 * 360


def test_label_on_a_tiny_frame_still_works():
    labelled = media.draw_label(np.zeros((40, 60, 3), np.uint8), "AI")
    assert labelled.shape == (40, 60, 3)
    assert labelled.any()
