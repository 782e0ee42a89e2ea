"""Tests of revive_core.video.preview: pyrender frames that follow the take, and the labelled video."""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from revive_core.video import media
from revive_core.errors import InputError
from revive_core.programs import require_program
from revive_core.video.preview import head_pose, render_frames, render_preview

SIZE = 160  # pixels; the head (0.24 m tall) fills about 70% of the frame height, centred


def region(frame: np.ndarray, top: float, bottom: float, half_width: float = 0.12) -> np.ndarray:
    """A box of the frame given as shares of its height (0 = top) around the centre column."""
    h, w = frame.shape[:2]
    return frame[int(top * h):int(bottom * h),
                 int((0.5 - half_width) * w):int((0.5 + half_width) * w)].astype(np.float64)


@pytest.fixture(scope="module")
def frames(avatar_builder, take_builder):
    return list(render_frames(avatar_builder(), take_builder(), resolution=(SIZE, SIZE)))


def test_one_rgb_frame_per_take_frame(frames, tiny_take):
    assert len(frames) == tiny_take.frame_count
    assert all(f.shape == (SIZE, SIZE, 3) and f.dtype == np.uint8 for f in frames)


def test_frames_follow_jaw_open(frames, tiny_take):
    jaw = tiny_take.curve("jawOpen")
    assert jaw[0] == 0 and jaw[15] == 1
    lower = np.abs(region(frames[15], 0.6, 0.9) - region(frames[0], 0.6, 0.9)).mean()
    upper = np.abs(region(frames[15], 0.2, 0.4) - region(frames[0], 0.2, 0.4)).mean()
    assert lower > 10.0  # the chin moved down by 4 cm: texture and silhouette shift
    assert upper < 0.5  # jawOpen does not touch the upper half
    # the open jaw reaches lower in the frame: count head pixels (not background) at 88%
    background = frames[0][2, 2].astype(int)
    row = int(0.88 * SIZE)
    covered = [int((np.abs(f[row].astype(int) - background).sum(axis=1) > 20).sum())
               for f in (frames[0], frames[15])]
    assert covered[1] > covered[0] + 10


def test_frames_stay_identical_when_nothing_changes(frames, tiny_take):
    held = tiny_take.blendshapes[15:]
    assert (held == held[0]).all()
    for frame in frames[16:]:
        assert np.array_equal(frame, frames[15])


def test_texture_is_visible_at_full_brightness(frames, tiny_avatar):
    face = region(frames[0], 0.4, 0.6).reshape(-1, 3)
    texture = np.asarray(Image.open(io.BytesIO(tiny_avatar.albedo_png)).convert("RGB"))
    expected = texture.reshape(-1, 3).mean(axis=0)
    ratio = face.mean(axis=0) / expected
    assert ((ratio > 0.8) & (ratio < 1.25)).all(), ratio  # not pyrender's 0.4x default
    # both checker colours show: bright and dark squares separate clearly
    brightness = face.mean(axis=1)
    assert np.percentile(brightness, 90) - np.percentile(brightness, 10) > 40
    # warm skin colours, not grey: red > green > blue as in the texture
    mean = face.mean(axis=0)
    assert mean[0] > mean[1] > mean[2]


def test_background_is_dark_grey(frames):
    corner = frames[0][:10, :10].reshape(-1, 3).astype(int)
    assert (corner == corner[0]).all()
    assert 25 < corner[0].mean() < 70 and np.ptp(corner[0]) < 8


def test_blendshapes_the_avatar_lacks_are_ignored(tiny_avatar, tiny_take):
    extra = dataclasses.replace(
        tiny_take, blendshape_names=tiny_take.blendshape_names + ["mouthSmileLeft"],
        blendshapes=np.concatenate([tiny_take.blendshapes,
                                    np.ones((tiny_take.frame_count, 1), np.float32)], axis=1))
    first = next(iter(render_frames(tiny_avatar, extra, resolution=(64, 64))))
    plain = next(iter(render_frames(tiny_avatar, tiny_take, resolution=(64, 64))))
    assert np.array_equal(first, plain)


def test_head_rotation_turns_the_head(tiny_avatar, tiny_take):
    turned = dataclasses.replace(
        tiny_take, head_rotation_deg=np.tile(np.float32([0.0, 30.0, 0.0]),
                                             (tiny_take.frame_count, 1)))
    still = next(iter(render_frames(tiny_avatar, tiny_take, resolution=(96, 96))))
    moved = next(iter(render_frames(tiny_avatar, turned, resolution=(96, 96))))
    assert np.abs(still.astype(int) - moved.astype(int)).mean() > 3


def test_head_pose_convention():
    pivot = np.array([0.0, -0.1, 0.0])
    front = np.array([0.0, 0.0, 0.1, 1.0])
    assert np.allclose(head_pose([0, 0, 0], pivot), np.eye(4))
    pose = head_pose([20, 0, 0], pivot)
    assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3))
    assert np.allclose(pose @ np.append(pivot, 1.0), np.append(pivot, 1.0))  # pivot stays
    assert (pose @ front)[1] < front[1]  # positive pitch tips the face down
    assert (head_pose([0, 20, 0], pivot) @ front)[0] > 0  # positive yaw turns toward +X
    assert (head_pose([0, 0, 20], pivot) @ np.array([0.1, 0, 0, 1.0]))[1] > 0  # roll: +X up


def test_bad_resolution_is_refused_at_once(tiny_avatar, tiny_take):
    with pytest.raises(InputError, match="resolution"):
        render_frames(tiny_avatar, tiny_take, resolution=(4, 4))


def test_render_preview_writes_a_labelled_video(tmp_path, tiny_avatar, tiny_take):
    out = tmp_path / "preview.mp4"
    assert render_preview(tiny_avatar, tiny_take, out, resolution=(128, 96),
                          progress=False) == out
    info = media.probe(out)
    codecs = {s["codec_type"]: s for s in info["streams"]}
    assert codecs["video"]["codec_name"] == "h264" and codecs["audio"]["codec_name"] == "aac"
    assert (codecs["video"]["width"], codecs["video"]["height"]) == (128, 96)
    assert codecs["video"]["nb_frames"] == tiny_take.frame_count
    assert abs(info["duration_s"] - tiny_take.duration_s) <= 1.0 / tiny_take.fps
    assert "AI-generated" in info["tags"]["comment"]
    assert "AI-generated" in info["tags"]["description"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.label.json", "preview.mp4"]


def first_frame(path, width: int, height: int) -> np.ndarray:
    import subprocess
    raw = subprocess.run([require_program("ffmpeg", "Reading a preview"), "-v", "error", "-i", str(path), "-frames:v",
                          "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("label", ["AI-generated", None])
def test_the_label_is_drawn_in_the_video(tmp_path, tiny_avatar, tiny_take, label):
    out = tmp_path / "labelled.mp4"
    short = dataclasses.replace(tiny_take, blendshapes=tiny_take.blendshapes[:2],
                                head_rotation_deg=tiny_take.head_rotation_deg[:2],
                                gaze_deg=tiny_take.gaze_deg[:2],
                                audio=tiny_take.audio[:tiny_take.sample_rate * 2 // 25])
    render_preview(tiny_avatar, short, out, resolution=(256, 192), progress=False, label=label)
    frame = first_frame(out, 256, 192).astype(int)
    corner = frame[int(0.8 * 192):, int(0.5 * 256):]
    white = int((corner.min(axis=2) > 170).sum())  # thin text, blurred by yuv420p
    assert (white > 30) if label else (white == 0)
    assert "AI-generated" in media.probe(out)["tags"]["comment"]  # labelled either way


def test_an_avatar_without_blendshapes_renders(tiny_avatar, tiny_take):
    bare = dataclasses.replace(tiny_avatar, blendshape_names=[],
                               blendshape_deltas_m=np.zeros((0, tiny_avatar.vertex_count, 3),
                                                            np.float32))
    frames = list(render_frames(bare, tiny_take, resolution=(48, 48)))
    assert len(frames) == tiny_take.frame_count
    assert all(np.array_equal(f, frames[0]) for f in frames)
    assert frames[0].std() > 5  # the head is there
