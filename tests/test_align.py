"""Aligning recordings to their transcripts: espeak-ng speech of another voice, real timing."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from revive_core.voice.align import align, align_recording
from revive_core.voice.audio import to_int16
from revive_core.errors import InputError
from revive_core.voice.speech import SILENCE, synthesize

EN = "Bob met Pam by the pond, and they both laughed."
ZH = "妈妈每天早上都给我们做饭。"


def sounding(phonemes):
    return [p for p in phonemes if p.symbol != SILENCE]


def other_voice(text: str, language: str, *, rate_wpm: int, pitch: int, variant: str,
                lead_s: float = 0.4, noise: float = 0.003):
    """espeak-ng speech in another voice variant, rate and pitch than the aligner's reference,
    with silence before it and a little noise: the true phoneme times are the engine's own."""
    speech = synthesize(text, language=language, rate_wpm=rate_wpm, pitch=pitch, variant=variant)
    lead = int(lead_s * speech.sample_rate)
    audio = np.r_[np.zeros(lead), speech.audio / 32768.0, np.zeros(lead)]
    audio += noise * np.random.default_rng(1).standard_normal(audio.size)
    truth = [(p.symbol, p.start_s + lead_s) for p in sounding(speech.phonemes)]
    return audio, speech.sample_rate, truth


@pytest.mark.parametrize(("text", "language", "variant"), [(EN, "en", "m3"), (ZH, "zh", "f2")])
def test_phoneme_starts_within_a_few_frames_of_the_truth(text: str, language: str,
                                                        variant: str) -> None:
    audio, rate, truth = other_voice(text, language, rate_wpm=200, pitch=70, variant=variant)
    speech = align(audio, rate, text, language=language)
    found = sounding(speech.phonemes)
    assert [p.symbol for p in found] == [s for s, _ in truth]
    errors = np.abs([p.start_s - t for p, (_, t) in zip(found, truth)])
    assert np.median(errors) < 0.03, np.median(errors)
    assert np.percentile(errors, 90) < 0.08
    # the silence before the speech is a pause, not stretched phonemes
    assert speech.phonemes[0].symbol == SILENCE and abs(found[0].start_s - truth[0][1]) < 0.06


def test_timeline_is_complete_and_words_keep_the_transcript() -> None:
    audio, rate, _ = other_voice(EN, "en", rate_wpm=140, pitch=40, variant="f4")
    speech = align(audio, rate, EN, language="en")
    assert speech.text == EN and speech.language == "en"
    assert speech.audio.dtype == np.int16 and speech.sample_rate == rate
    previous = 0.0
    for p in speech.phonemes:
        assert p.start_s == pytest.approx(previous, abs=1e-9) and p.end_s > p.start_s
        previous = p.end_s
    assert previous == pytest.approx(speech.duration_s)
    assert [w.text for w in speech.words] == ["Bob", "met", "Pam", "by", "the", "pond", "and",
                                              "they", "both", "laughed"]
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in zip(speech.words, speech.words[1:]))


def test_a_pause_in_the_recording_is_found_where_the_transcript_has_none() -> None:
    first = synthesize("I miss you", language="en", variant="m3", rate_wpm=180)
    second = synthesize("every single day", language="en", variant="m3", rate_wpm=180)
    gap = np.zeros(int(0.6 * first.sample_rate))
    audio = np.r_[first.audio, gap, second.audio] / 32768.0
    speech = align(audio, first.sample_rate, "I miss you every single day", language="en")
    pauses = [p for p in speech.phonemes[1:-1] if p.symbol == SILENCE]
    assert len(pauses) == 1
    pause_start = first.duration_s
    assert abs(pauses[0].start_s - pause_start) < 0.12
    assert pauses[0].end_s - pauses[0].start_s > 0.35
    assert speech.words[3].text == "every" and speech.words[3].start_s > pause_start + 0.4


def test_numbers_in_the_transcript_are_aligned_as_spoken(tmp_path: Path) -> None:
    spoken = synthesize("nineteen fifty-two", language="en", variant="f2")
    path = tmp_path / "year.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(spoken.sample_rate)
        w.writeframes(spoken.audio.tobytes())
    speech = align_recording(path, transcript="1952", language="en")
    assert speech.text == "1952" and speech.sample_rate == spoken.sample_rate
    assert len(sounding(speech.phonemes)) >= 10
    assert path.read_bytes()[:4] == b"RIFF"  # the input is untouched


def test_bad_inputs() -> None:
    audio, rate, _ = other_voice("Hello there.", "en", rate_wpm=165, pitch=50, variant="m3")
    with pytest.raises(InputError, match="transcript is empty"):
        align(audio, rate, "   ")
    with pytest.raises(InputError, match="silent"):
        align(np.zeros(rate), rate, "Hello there.")
    with pytest.raises(InputError, match="far too short"):
        align(audio[: rate // 10], rate, "Hello there. " * 40)
    with pytest.raises(InputError, match="mono"):
        align(np.zeros((100, 2)), rate, "Hello")
    with pytest.raises(InputError, match="at most 3 minutes"):
        align(np.zeros(181 * 8000), 8000, "Hello")
    with pytest.raises(InputError, match="'fr' is not supported"):
        align(audio, rate, "Bonjour", language="fr")


@pytest.mark.slow
def test_transcribes_when_no_transcript_is_given(tmp_path: Path) -> None:
    from revive_core.bench.lipsync import make_test_recording

    # a natural voice (Piper), not espeak-ng's robotic one, as a person's recording would be
    recording = make_test_recording("en", "Please hold while I try that extension.", seed=3)
    path = tmp_path / "voice.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(recording.sample_rate)
        w.writeframes(to_int16(recording.audio).tobytes())
    speech = align_recording(path, language="en")
    words = [w.text.lower().strip(".,") for w in speech.words]
    assert {"hold", "try", "extension"} <= set(words)
    assert len(sounding(speech.phonemes)) > 15


def test_say_with_a_recording_makes_a_take_whose_mouth_follows_it(tmp_path: Path,
                                                                  tiny_avatar) -> None:
    import revive_core.cli.main as cli
    from revive_core.formats import read_take, write_avatar

    recorded = synthesize("Mama, my baby.", language="en", variant="f2", rate_wpm=150)
    lead = int(0.5 * recorded.sample_rate)
    path = tmp_path / "voice.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(recorded.sample_rate)
        w.writeframes(np.r_[np.zeros(lead, np.int16), recorded.audio].astype("<i2").tobytes())
    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    out = tmp_path / "take"
    assert cli.main(["say", str(avatar), "--audio", str(path), "--transcript", "Mama, my baby.",
                     "--emotion", "joy", "--out", str(out)]) == 0
    take = read_take(out)
    assert take.text == "Mama, my baby." and take.extra["speech_engine"].startswith("revive align")
    assert take.duration_s == pytest.approx(0.5 + recorded.duration_s, abs=1e-3)
    # the jaw rests in the silence before the voice and opens on its vowels
    jaw = take.curve("jawOpen")
    assert jaw[: int(0.35 * take.fps)].max() < 0.02
    vowels = [p for p in take.segments["phonemes"] if p["symbol"] in ("ɑː", "eɪ")]
    assert vowels and max(jaw[int((p["start_s"] + p["end_s"]) / 2 * take.fps)]
                          for p in vowels) > 0.2
    # Rhubarb cues beside the take: closed lips (A) for the m and b of "Mama, my baby"
    cues = json.loads((out / "mouth_cues.json").read_text())["mouthCues"]
    assert sum(c["value"] == "A" for c in cues) >= 3 and cues[0]["value"] == "X"
    assert cues[-1]["end"] == pytest.approx(take.duration_s, abs=0.01)
    assert (out / "mouth_cues.tsv").read_text().splitlines()[-1].endswith("\tX")
    assert (out / "take.srt").read_text().count("-->") >= 1


def test_say_without_text_or_audio_is_a_kind_error(tmp_path: Path, tiny_avatar, capsys) -> None:
    import revive_core.cli.main as cli
    from revive_core.formats import write_avatar

    avatar = write_avatar(tiny_avatar, tmp_path / "avatar")
    assert cli.main(["say", str(avatar), "--out", str(tmp_path / "take")]) == 2
    assert "--audio" in capsys.readouterr().err
    missing = tmp_path / "nothing.m4a"
    assert cli.main(["say", str(avatar), "--audio", str(missing), "--out",
                     str(tmp_path / "take")]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "take").exists()
