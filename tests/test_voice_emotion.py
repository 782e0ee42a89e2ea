"""Tests of the voice's emotion: prosody (revive_core.emotion.prosody), the built-in prosody
model and local models by path (revive_core.emotion.voice), the text + voice rule
(revive_core.emotion.combine), ``revive emotion --audio`` and ``revive say --audio``.

Real voices: the Asterisk prompts (Debian package asterisk-core-sounds-en-wav, a human voice,
CC-BY-SA 3.0; tests that need them are skipped without it) and espeak-ng speaking at chosen
pitches and rates. The local model is a tiny randomly initialised wav2vec2 classifier saved
on the spot: its labels are random, what is tested is that Revive loads it offline, runs it
and maps its labels.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from revive_core.bench.lipsync import ASTERISK_DIR
from revive_core.cli.main import main
from revive_core.emotion.classify import EMOTIONS, EmotionLabel
from revive_core.emotion.combine import TEXT_DECIDES_AT, combine
from revive_core.emotion.prosody import (ANALYSIS_RATE, NoSpeechError, measure, phrases, prosody,
                                         track_pitch)
from revive_core.emotion.voice import load_voice_model, read_voice_emotion, voice_emotion
from revive_core.errors import InputError
from revive_core.voice.audio import load_audio, resample
from revive_core.voice.speech import synthesize

needs_asterisk = pytest.mark.skipif(not ASTERISK_DIR.is_dir(),
                                    reason="needs asterisk-core-sounds-en-wav (a human voice)")
SENTENCE = "Hello my dear, I am so proud of you, and I will always love you."


def _espeak(pitch: int = 50, rate_wpm: int = 165, text: str = SENTENCE) -> np.ndarray:
    speech = synthesize(text, language="en", pitch=pitch, rate_wpm=rate_wpm)
    return resample(speech.audio / 32768.0, speech.sample_rate, ANALYSIS_RATE)


def _allison(name: str) -> np.ndarray:
    samples, _ = load_audio(ASTERISK_DIR / f"{name}.wav", sample_rate=ANALYSIS_RATE)
    return samples.astype(np.float64)


def _write_wav(path: Path, samples: np.ndarray, rate: int = ANALYSIS_RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def save_tiny_voice_model(folder: Path, labels: list[str]) -> Path:
    """A wav2vec2 audio classifier (1 layer, 32 wide) with random weights and these labels."""
    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2FeatureExtractor,
                              Wav2Vec2ForSequenceClassification)

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=2, classifier_proj_size=16,
                            num_labels=len(labels), id2label=dict(enumerate(labels)),
                            label2id={name: i for i, name in enumerate(labels)})
    Wav2Vec2ForSequenceClassification(config).save_pretrained(str(folder))
    Wav2Vec2FeatureExtractor(sampling_rate=ANALYSIS_RATE).save_pretrained(str(folder))
    return folder


# --- prosody ------------------------------------------------------------------------------------

@pytest.mark.parametrize("f0_hz", [95.0, 180.0, 310.0])
def test_yin_finds_the_pitch_of_a_pulse_train_within_1_percent(f0_hz: float) -> None:
    t = np.arange(int(1.0 * ANALYSIS_RATE)) / ANALYSIS_RATE
    harmonics = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 12)
                    if k * f0_hz < ANALYSIS_RATE / 2)
    f0, periodicity = track_pitch(0.3 * harmonics / np.abs(harmonics).max())
    voiced = np.isfinite(f0)
    assert voiced.mean() > 0.9 and periodicity[voiced].mean() > 0.9
    assert np.median(f0[voiced]) == pytest.approx(f0_hz, rel=0.01)


def test_noise_is_not_voiced() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, ANALYSIS_RATE)
    f0, _ = track_pitch(noise)
    assert np.isfinite(f0).mean() < 0.1
    with pytest.raises(NoSpeechError):
        prosody(noise)


@needs_asterisk
@pytest.mark.parametrize(("up", "down"), [(5, 4), (4, 5)])
def test_resampling_a_real_voice_moves_its_measured_pitch_and_rate_by_that_factor(up: int,
                                                                               down: int
                                                                               ) -> None:
    # Resampled by down/up and played at the same rate, every frequency and the tempo scale by
    # up/down: 5/4 is 3.9 semitones up and 25 % faster.
    original = _allison("demo-thanks")
    shifted = resample_poly(original, down, up)
    before, after = prosody(original), prosody(shifted)
    factor = up / down
    assert after.f0_median_hz / before.f0_median_hz == pytest.approx(factor, rel=0.03)
    assert after.f0_spread_st == pytest.approx(before.f0_spread_st, abs=0.4)  # in semitones
    assert after.speaking_s / before.speaking_s == pytest.approx(1 / factor, rel=0.08)
    rate_ratio = after.rate_per_s / before.rate_per_s
    assert (rate_ratio - 1) * (factor - 1) > 0  # faster when shifted up, slower when down
    a_before = voice_emotion(original, ANALYSIS_RATE).arousal
    a_after = voice_emotion(shifted, ANALYSIS_RATE).arousal
    assert (a_after - a_before) * (factor - 1) > 0.05


def test_espeak_at_a_higher_pitch_and_rate_is_measured_higher_and_more_aroused() -> None:
    calm, stirred = _espeak(pitch=30, rate_wpm=140), _espeak(pitch=75, rate_wpm=230)
    p_calm, p_stirred = prosody(calm), prosody(stirred)
    assert p_stirred.f0_median_hz > 1.2 * p_calm.f0_median_hz
    assert p_stirred.rate_per_s > 1.2 * p_calm.rate_per_s
    assert voice_emotion(stirred, ANALYSIS_RATE).arousal > \
        voice_emotion(calm, ANALYSIS_RATE).arousal + 0.3


def test_low_slow_halting_speech_reads_sad_and_high_fast_speech_does_not() -> None:
    pause = np.zeros(int(0.6 * ANALYSIS_RATE))
    halting = np.concatenate([part for text in ("I miss you.", "I am so tired.", "Goodbye.")
                              for part in (_espeak(pitch=10, rate_wpm=100, text=text), pause)])
    sad = voice_emotion(halting, ANALYSIS_RATE)
    assert prosody(halting).pause_ratio > 0.15
    assert sad.label.label == "sadness" and sad.arousal < -0.3 and sad.valence < 0
    lively = voice_emotion(_espeak(pitch=85, rate_wpm=230), ANALYSIS_RATE)
    assert lively.label.label not in ("sadness", "neutral") and lively.arousal > 0.3


@needs_asterisk
def test_gain_alone_changes_nothing_but_a_louder_phrase_reads_more_stirred() -> None:
    voice = _allison("vm-intro")
    whole = voice_emotion(voice, ANALYSIS_RATE)
    quieter = voice_emotion(0.3 * voice, ANALYSIS_RATE)
    assert quieter.label == whole.label
    assert quieter.arousal == pytest.approx(whole.arousal, abs=0.03)
    phrase = _allison("transfer")
    gap = np.zeros(int(0.8 * ANALYSIS_RATE))
    mixed = voice_emotion(np.concatenate([0.2 * phrase, gap, phrase]), ANALYSIS_RATE)
    assert len(mixed.phrases) == 2
    soft, loud = mixed.phrases
    assert soft.end_s <= loud.start_s and loud.arousal > soft.arousal + 0.1


@needs_asterisk
def test_against_a_baseline_of_the_same_speaker_a_raised_voice_reads_stirred(tmp_path,
                                                                            capsys) -> None:
    calm = _allison("vm-intro")
    raised = resample_poly(calm, 8, 9)  # 2 semitones up, 12 % faster
    paths = [_write_wav(tmp_path / f"{name}.wav", audio)
             for name, audio in (("calm", calm), ("raised", raised))]
    readings = {}
    for path in paths:
        assert main(["emotion", "--audio", str(path), "--baseline", str(paths[0]), "--text",
                     "Please leave your message after the tone.", "--json"]) == 0
        readings[path.stem] = json.loads(capsys.readouterr().out)["voice"]
    assert readings["calm"]["arousal"] == pytest.approx(0.0, abs=1e-6)  # itself: typical
    assert readings["calm"]["label"] == "neutral"
    assert readings["raised"]["arousal"] > 0.2
    silent = _write_wav(tmp_path / "silent.wav", np.zeros(ANALYSIS_RATE))
    assert main(["emotion", "--audio", str(paths[1]), "--baseline", str(silent)]) == 2
    assert "silent.wav" in capsys.readouterr().err


@needs_asterisk
def test_phrases_split_a_long_recording_at_its_pauses() -> None:
    tracks = measure(_allison("demo-congrats"))
    spans = phrases(tracks)
    assert len(spans) >= 4
    assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:]))
    assert all((b - a) * 0.01 <= 6.0 + 1e-9 for a, b in spans)


# --- bad input ---------------------------------------------------------------------------------

def test_recordings_without_speech_and_missing_files_are_refused_kindly(tmp_path, capsys) -> None:
    silent = _write_wav(tmp_path / "silent.wav", np.zeros(ANALYSIS_RATE))
    hum = np.random.default_rng(1).normal(0, 0.05, 2 * ANALYSIS_RATE)
    noise = _write_wav(tmp_path / "noise.wav", hum)
    for path in (silent, noise, tmp_path / "missing.m4a"):
        with pytest.raises(InputError) as caught:
            read_voice_emotion(path)
        assert path.name in str(caught.value)
        assert main(["emotion", "--audio", str(path), "--text", "Hello."]) == 2
        err = capsys.readouterr().err
        assert path.name in err and "Traceback" not in err
    with pytest.raises(InputError):
        voice_emotion(np.zeros((2, 100)), ANALYSIS_RATE)
    assert main(["emotion"]) == 2
    assert "--audio" in capsys.readouterr().err


# --- a local model by path ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_voice_model(tmp_path_factory) -> Path:
    return save_tiny_voice_model(tmp_path_factory.mktemp("voice_model"),
                                 ["ang", "hap", "neu", "sad", "xyz"])


def test_a_local_wav2vec2_model_reads_the_voice_and_its_labels_are_mapped(tiny_voice_model
                                                                        ) -> None:
    pause = np.zeros(int(0.5 * ANALYSIS_RATE))
    audio = np.concatenate([_espeak(), pause, _espeak(text="Come home soon, we all miss you.")])
    reading = voice_emotion(audio, ANALYSIS_RATE, model=tiny_voice_model)
    builtin = voice_emotion(audio, ANALYSIS_RATE)
    assert reading.model == f"model {tiny_voice_model.name}"
    assert reading.label.label in {"anger", "joy", "neutral", "sadness"}
    assert (reading.label.intensity == 0) == (reading.label.label == "neutral")
    assert (reading.arousal, reading.valence) == (builtin.arousal, builtin.valence)
    assert len(reading.phrases) == 2
    assert all(p.label.label in {"anger", "joy", "neutral", "sadness"} for p in reading.phrases)
    # a long recording is read in pieces and gives the same kind of answer
    long = voice_emotion(np.tile(audio, 4), ANALYSIS_RATE, model=load_voice_model(tiny_voice_model))
    assert long.label.label in {"anger", "joy", "neutral", "sadness"}


def test_folders_that_are_not_audio_emotion_models_are_refused(tmp_path, tiny_voice_model
                                                              ) -> None:
    from tiny_models import save_tiny_classifier

    text_model = save_tiny_classifier(tmp_path / "text_model", ["joy", "sadness"])
    (text_model / "preprocessor_config.json").write_text(
        (tiny_voice_model / "preprocessor_config.json").read_text())
    unknown = save_tiny_voice_model(tmp_path / "unknown", ["cat", "dog"])
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (no_weights / name).write_text((tiny_voice_model / name).read_text())
    cases = {tmp_path / "missing": "not found", tmp_path: "has no config.json",
             text_model: "holds a bert model", unknown: "cat, dog",
             no_weights: "weights of"}
    for folder, words in cases.items():
        with pytest.raises(InputError) as caught:
            load_voice_model(folder)
        assert words in str(caught.value) and str(folder.name) in str(caught.value)


# --- text + voice -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def measured():
    """A real measured reading (espeak-ng), to vary its label and arousal."""
    return voice_emotion(_espeak(), ANALYSIS_RATE)


def test_confident_text_decides_and_the_voice_scales_its_intensity(measured) -> None:
    text = EmotionLabel("sadness", 0.6)
    stirred = dataclasses.replace(measured, label=EmotionLabel("joy", 0.7), arousal=0.8)
    flat = dataclasses.replace(measured, label=EmotionLabel("neutral", 0.0), arousal=-0.8)
    up, down = combine(text, stirred), combine(text, flat)
    assert up.label.label == down.label.label == "sadness"
    assert up.label.intensity > text.intensity > down.label.intensity > 0
    assert "text decides" in up.rule


def test_the_voice_decides_when_the_text_is_neutral_weak_or_absent(measured) -> None:
    angry = dataclasses.replace(measured, label=EmotionLabel("anger", 0.7), arousal=0.7)
    neutral_voice = dataclasses.replace(measured, label=EmotionLabel("neutral", 0.0), arousal=0.0)
    for text in (EmotionLabel("neutral", 0.0), EmotionLabel("joy", TEXT_DECIDES_AT / 2), None):
        result = combine(text, angry)
        assert result.label == angry.label and "voice decides" in result.rule
    weak = combine(EmotionLabel("joy", TEXT_DECIDES_AT / 2), neutral_voice)
    assert weak.label.label == "joy" and "weak" in weak.rule
    both = combine(EmotionLabel("neutral", 0.0), neutral_voice)
    assert both.label == EmotionLabel("neutral", 0.0)
    record = combine(None, angry).summary()
    assert record["text"] is None and record["voice"]["prosody"]["f0_median_hz"] > 0
    json.dumps(record)


@needs_asterisk
def test_emotion_command_prints_voice_text_and_combined(capsys) -> None:
    path = ASTERISK_DIR / "tt-weasels.wav"
    words = "Weasels have eaten our phone system."
    assert main(["emotion", "--audio", str(path), "--text", words, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    voice = read_voice_emotion(path)
    assert report["voice"]["label"] == voice.label.label and report["words"] == words
    assert report["label"] in EMOTIONS and report["rule"]
    assert main(["emotion", "--audio", str(path), "--text", words]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out if line[:1].strip()] == ["voice", "text", "combined"]
    assert f"{voice.prosody.f0_median_hz:.0f} Hz" in out[1]


@needs_asterisk
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_the_voice_of_a_video_is_read_like_its_recording(tmp_path) -> None:
    wav = ASTERISK_DIR / "vm-intro.wav"
    video = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=6",
                    "-i", str(wav), "-shortest", "-c:v", "libx264", "-c:a", "aac", str(video)],
                   check=True)
    from_video, from_wav = read_voice_emotion(video), read_voice_emotion(wav)
    assert from_video.label == from_wav.label
    assert from_video.prosody.f0_median_hz == pytest.approx(from_wav.prosody.f0_median_hz,
                                                            rel=0.02)
    assert from_video.arousal == pytest.approx(from_wav.arousal, abs=0.05)


@needs_asterisk
@pytest.mark.slow
def test_emotion_command_transcribes_the_recording_when_no_words_are_given(capsys) -> None:
    assert main(["emotion", "--audio", str(ASTERISK_DIR / "transfer.wav"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "extension" in report["words"].lower()
    assert report["words_source"].startswith("transcribed") and report["text"] is not None


# --- revive say --audio ---------------------------------------------------------------------------

def test_say_with_a_recording_combines_the_words_and_the_voice(tmp_path, tiny_avatar,
                                                               tiny_voice_model, capsys) -> None:
    from revive_core.formats import read_take, write_avatar

    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    words = "I am so proud of you, my dear."
    recording = _write_wav(tmp_path / "voice.wav", np.concatenate(
        [np.zeros(ANALYSIS_RATE // 2), _espeak(pitch=70, rate_wpm=190, text=words)]))
    out = tmp_path / "take"
    assert main(["say", str(avatar), "--audio", str(recording), "--transcript", words,
                 "--out", str(out)]) == 0, capsys.readouterr().err
    take = read_take(out)
    record = take.extra["emotion"]
    voice = read_voice_emotion(recording)
    assert record["voice"]["label"] == voice.label.label
    assert record["voice"]["arousal"] == pytest.approx(voice.arousal, abs=0.05)
    expected = combine(EmotionLabel(record["text"]["label"], record["text"]["intensity"]),
                       voice)
    assert (record["label"], record["rule"]) == (expected.label.label, expected.rule)
    assert take.segments["emotions"][0]["label"] == record["label"]

    assert main(["say", str(avatar), "--audio", str(recording), "--transcript", words,
                 "--voice-model", str(tiny_voice_model), "--out", str(tmp_path / "t2")]) == 0
    assert read_take(tmp_path / "t2").extra["emotion"]["voice"]["model"].startswith("model ")

    assert main(["say", str(avatar), "--audio", str(recording), "--transcript", words,
                 "--emotion", "fear", "--intensity", "0.4", "--out", str(tmp_path / "t3")]) == 0
    fixed = read_take(tmp_path / "t3")
    assert fixed.segments["emotions"][0]["label"] == "fear"
    assert "voice" not in fixed.extra["emotion"]

    capsys.readouterr()
    assert main(["say", str(avatar), "--audio", str(recording), "--transcript", words,
                 "--voice-model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "t4")]) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "t4").exists()
