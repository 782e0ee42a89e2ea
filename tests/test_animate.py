"""Tests of revive_core.take.animate on hand-made speech: synthetic audio and hand-timed phonemes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from revive_core.take.animate import (DRIVEN_BLENDSHAPES, VISEMES, Performance, animate,
                                 phoneme_to_viseme, viseme_segments)
from revive_core.emotion.classify import EmotionLabel
from revive_core.errors import InputError
from revive_core.formats.arkit import ARKIT_BLENDSHAPES
from revive_core.voice.timing import Phoneme, Speech

RATE = 16000
VOWELS = set("aeiouəɑɛɪʊ")
VOICED = set("mnlbdgvzrw")

MOUTH_AND_BROWS = [n for n in DRIVEN_BLENDSHAPES if not n.startswith("eyeBlink")]


def make_speech(sounds: list[tuple[str, float]], *, start_s: float = 0.5, tail_s: float = 0.5,
                language: str = "en") -> Speech:
    """Speech from (symbol, duration) pairs: vowels a loud 140 Hz buzz, voiced consonants a soft
    one, other consonants faint noise, "_" silence; phonemes back to back from ``start_s``."""
    rng = np.random.default_rng(123)
    phonemes, pieces, t = [], [np.zeros(int(start_s * RATE))], start_s
    for symbol, duration in sounds:
        n = int(round(duration * RATE))
        time = np.arange(n) / RATE
        buzz = sum(np.sin(2 * np.pi * 140 * k * time) / k for k in range(1, 6))
        ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * RATE))
        if symbol[0] in VOWELS:
            piece = 0.4 * buzz * ramp
        elif symbol[0] in VOICED:
            piece = 0.08 * buzz * ramp
        elif symbol == "_":
            piece = np.zeros(n)
        else:
            piece = 0.03 * rng.standard_normal(n) * ramp
        pieces.append(piece)
        phonemes.append(Phoneme(symbol, t, t + n / RATE))
        t += n / RATE
    pieces.append(np.zeros(int(tail_s * RATE)))
    audio = np.clip(np.concatenate(pieces) * 32767, -32768, 32767).astype(np.int16)
    return Speech(audio=audio, sample_rate=RATE, language=language, text="", phonemes=phonemes)


def babble(duration_s: float, seed: int = 7) -> Speech:
    """Continuous syllables (consonant + vowel) with a short pause every few words."""
    rng = np.random.default_rng(seed)
    sounds, total = [], 0.0
    while total < duration_s:
        consonant = str(rng.choice(list("pbmtdkgsnlfv")))
        vowel = str(rng.choice(["a", "e", "i", "o", "u", "ə"]))
        sounds += [(consonant, 0.08), (vowel, float(rng.uniform(0.1, 0.2)))]
        if rng.random() < 0.08:
            sounds.append(("_", 0.3))
        total += sounds[-1][1] + sounds[-2][1]
    return make_speech(sounds, start_s=0.3, tail_s=0.3)


def frame_at(perf: Performance, time_s: float) -> int:
    return int(round(time_s * perf.fps))


def centre(p: Phoneme) -> float:
    return 0.5 * (p.start_s + p.end_s)


CLOSURE_SPEECH = [("a", 0.15), ("m", 0.08), ("a", 0.15), ("b", 0.07), ("a", 0.15), ("p", 0.08),
                  ("i", 0.12), ("m", 0.1), ("o", 0.15)]


# Phonemes -> visemes ---------------------------------------------------------------------------

@pytest.mark.parametrize(("symbol", "language", "viseme"), [
    ("p", "en", "PP"), ("b", "en", "PP"), ("m", "en", "PP"), ("f", "en", "FF"), ("θ", "en", "TH"),
    ("ð", "en", "TH"), ("t", "en", "DD"), ("ɾ", "en", "DD"), ("k", "en", "kk"), ("ŋ", "en", "kk"),
    ("tʃ", "en", "CH"), ("ʃ", "en", "CH"), ("s", "en", "SS"), ("n", "en", "nn"), ("l", "en", "nn"),
    ("ɹ", "en", "RR"), ("ɚ", "en", "RR"), ("ɑː", "en", "aa"), ("æ", "en", "aa"), ("ɛ", "en", "E"),
    ("ə", "en", "E"), ("ɪ", "en", "ih"), ("iː", "en", "ih"), ("oʊ", "en", "oh"), ("aɪ", "en", "aa"),
    ("uː", "en", "ou"), ("ʊ", "en", "ou"), ("ˈæ", "en", "aa"), ("_", "en", "sil"),
    ("", "en", "sil"),
    ("AA1", "en", "aa"), ("M", "en", "PP"), ("th", "en", "TH"),
    # Mandarin as espeak-ng and IPA-with-tones write it
    ("n", "zh", "nn"), ("i2", "zh", "ih"), ("i˧˥", "zh", "ih"), ("χ", "zh", "kk"),
    ("ɑu", "zh", "aa"), ("iɛ", "zh", "E"), ("th", "zh", "DD"), ("ph", "zh", "PP"),
    ("tɕh", "zh", "CH"), ("ts.", "zh", "CH"), ("ts.h", "zh", "CH"), ("s.", "zh", "CH"),
    ("i.", "zh", "ih"), ("o-", "zh", "oh"), ("tsʰ", "zh", "SS"), ("y3", "zh", "ou"),
    ("ɕ", "zh", "CH"), ("ɤ4", "zh", "E"), ("a1", "zh", "aa"),
])
def test_phoneme_to_viseme_maps_ipa_by_its_base_letter(symbol: str, language: str,
                                                      viseme: str) -> None:
    assert phoneme_to_viseme(symbol, language) == viseme


def test_unknown_letters_fall_back_to_a_mid_open_viseme() -> None:
    assert phoneme_to_viseme("ʘ", "en") == "E"
    assert all(phoneme_to_viseme(s, "zh") in VISEMES for s in ["ʘ", "??", "ng", "zh", "er", "ü"])


def test_viseme_segments_merge_touching_runs_of_the_same_viseme() -> None:
    phonemes = [Phoneme("m", 0.0, 0.1), Phoneme("b", 0.1, 0.2), Phoneme("a", 0.2, 0.4),
                Phoneme("_", 0.4, 0.6), Phoneme("p", 0.7, 0.8)]
    assert viseme_segments(phonemes) == [
        {"viseme": "PP", "start_s": 0.0, "end_s": 0.2},
        {"viseme": "aa", "start_s": 0.2, "end_s": 0.4},
        {"viseme": "sil", "start_s": 0.4, "end_s": 0.6},
        {"viseme": "PP", "start_s": 0.7, "end_s": 0.8},
    ]


# Mouth -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_lip_closures_close_the_mouth_on_their_centre_frame(fps: float) -> None:
    speech = make_speech(CLOSURE_SPEECH)
    perf = animate(speech, fps=fps)
    close, jaw = perf.curve("mouthClose"), perf.curve("jawOpen")
    closures = [p for p in speech.phonemes if p.symbol in "pbm"]
    assert len(closures) == 4
    for p in closures:
        i = frame_at(perf, centre(p))
        assert close[i] > 0.5, (p, fps)
        assert jaw[i] < 0.12, (p, fps)


def test_open_vowel_opens_the_jaw_and_closures_stay_nearly_shut() -> None:
    speech = make_speech([("h", 0.08), ("ə", 0.08), ("l", 0.08), ("a", 0.25), ("t", 0.08),
                          ("a", 0.2)])
    perf = animate(speech)
    vowel = speech.phonemes[3]
    jaw = perf.curve("jawOpen")
    assert jaw[frame_at(perf, centre(vowel))] > 0.3
    assert jaw.max() <= 1.0


def test_jaw_follows_loudness_within_a_vowel() -> None:
    speech = make_speech([("a", 0.6)])
    quiet = speech.audio.copy()
    quiet[int(0.8 * RATE):int(1.1 * RATE)] //= 20  # second half of the vowel much quieter
    loud_perf = animate(speech)
    quiet_perf = animate(Speech(quiet, RATE, "en", "", speech.phonemes))
    i = frame_at(loud_perf, 0.95)
    assert quiet_perf.curve("jawOpen")[i] < loud_perf.curve("jawOpen")[i] - 0.05


def test_silence_before_speech_is_near_rest() -> None:
    speech = make_speech(CLOSURE_SPEECH, start_s=1.5)
    perf = animate(speech, emotion=EmotionLabel("joy", 0.8))
    rest = perf.blendshapes[: frame_at(perf, 1.0)]
    shapes = [perf.blendshape_names.index(n) for n in MOUTH_AND_BROWS]
    assert np.abs(rest[:, shapes]).max() < 0.02


def test_mouth_anticipates_the_first_sound_by_less_than_half_a_second() -> None:
    speech = make_speech([("a", 0.3), ("t", 0.08), ("a", 0.3)], start_s=1.0)
    perf = animate(speech, fps=50.0)
    jaw = perf.curve("jawOpen")
    before = jaw[frame_at(perf, 0.9):frame_at(perf, 1.0)]
    assert before.max() > 0.03  # moving in the last 100 ms before the sound
    assert jaw[: frame_at(perf, 0.5) + 1].max() < 0.005  # not 0.5 s ahead
    assert np.all(np.diff(jaw[frame_at(perf, 0.5):frame_at(perf, 1.0)]) >= -1e-6)


def test_audio_without_phonemes_moves_the_jaw_with_loudness() -> None:
    speech = make_speech([("a", 0.5)])
    perf = animate(Speech(speech.audio, RATE, "en", "", []))
    jaw = perf.curve("jawOpen")
    assert jaw[frame_at(perf, 0.75)] > 0.2
    assert jaw[frame_at(perf, 0.2)] < 0.02


# Emotion ---------------------------------------------------------------------------------------

def test_joy_raises_the_smile_but_keeps_lip_closures() -> None:
    speech = make_speech(CLOSURE_SPEECH)
    neutral = animate(speech)
    joy = animate(speech, emotion=EmotionLabel("joy", 1.0))
    middle = slice(frame_at(joy, 0.7), frame_at(joy, 1.4))
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"):
        assert joy.curve(name)[middle].mean() > neutral.curve(name)[middle].mean() + 0.2
    for p in speech.phonemes:
        if p.symbol in "pbm":
            assert joy.curve("mouthClose")[frame_at(joy, centre(p))] > 0.5


def test_emotion_never_opens_a_lip_closure() -> None:
    speech = make_speech(CLOSURE_SPEECH)
    for label in ("surprise", "fear", "disgust"):
        perf = animate(speech, emotion=EmotionLabel(label, 1.0))
        for p in speech.phonemes:
            if p.symbol in "pbm":
                i = frame_at(perf, centre(p))
                assert perf.curve("mouthClose")[i] > 0.5
                assert perf.curve("jawOpen")[i] < 0.12, label


def test_emotion_ramps_in_before_speech_and_out_after_it() -> None:
    speech = make_speech([("a", 1.0)], start_s=1.0, tail_s=1.0)
    perf = animate(speech, emotion=EmotionLabel("sadness", 1.0))
    brow = perf.curve("browInnerUp")
    assert brow[frame_at(perf, 0.5)] < 0.01
    assert 0.0 < brow[frame_at(perf, 0.85)] < brow[frame_at(perf, 1.5)]
    assert brow[frame_at(perf, 1.5)] == pytest.approx(0.7, abs=0.01)
    assert brow[frame_at(perf, 2.5)] < 0.01


@pytest.mark.parametrize(("label", "shape"), [
    ("sadness", "mouthFrownLeft"), ("anger", "browDownLeft"), ("fear", "eyeWideLeft"),
    ("surprise", "browOuterUpRight"), ("disgust", "noseSneerLeft"), ("joy", "cheekSquintRight")])
def test_each_emotion_drives_its_action_units_scaled_by_intensity(label: str, shape: str) -> None:
    speech = make_speech([("a", 1.0)])
    strong = animate(speech, emotion=EmotionLabel(label, 1.0)).curve(shape)
    weak = animate(speech, emotion=EmotionLabel(label, 0.3)).curve(shape)
    neutral = animate(speech, emotion=EmotionLabel("neutral", 1.0)).curve(shape)
    i = frame_at(animate(speech), 1.0)
    assert strong[i] > weak[i] + 0.1 > neutral[i]


# Blinks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_blinks_come_15_to_20_a_minute_at_irregular_intervals(seed: int) -> None:
    speech = babble(60.0)
    perf = animate(speech, seed=seed)
    assert 10 <= len(perf.blinks_s) <= 25
    intervals = np.diff(perf.blinks_s)
    assert intervals.min() >= 0.5
    assert intervals.std() > 0.3
    left, right = perf.curve("eyeBlinkLeft"), perf.curve("eyeBlinkRight")
    np.testing.assert_array_equal(left, right)
    for start in perf.blinks_s:  # fully closed on some frame within 250 ms
        assert left[frame_at(perf, start):frame_at(perf, start + 0.25) + 1].max() > 0.99


def test_a_blink_closes_faster_than_it_opens() -> None:
    speech = babble(20.0)
    perf = animate(speech, fps=200.0)
    blink = perf.curve("eyeBlinkLeft")
    start = frame_at(perf, perf.blinks_s[0])
    window = blink[start:start + int(0.3 * perf.fps)]
    peak = int(np.argmax(window))
    closing = peak
    opening = int(np.argmax(window[peak:] < 0.01))
    assert 0.15 <= (closing + opening) / perf.fps <= 0.26
    assert closing < opening


def test_blinks_are_drawn_toward_pauses() -> None:
    sounds = []
    for _ in range(30):
        sounds += [("m", 0.08), ("a", 0.2), ("t", 0.08), ("i", 0.2), ("s", 0.1), ("o", 0.2)]
        sounds.append(("_", 0.6))
    speech = make_speech(sounds)
    pauses = [(p.start_s, p.end_s) for p in speech.phonemes if p.symbol == "_"]
    pause_time = sum(b - a for a, b in pauses) / speech.duration_s
    in_pause = []
    for seed in range(5):
        blinks = animate(speech, seed=seed).blinks_s
        in_pause += [any(a - 0.05 <= t <= b for a, b in pauses) for t in blinks]
    assert np.mean(in_pause) > pause_time + 0.2


# Head and gaze ---------------------------------------------------------------------------------

def test_head_nods_stay_within_a_few_degrees_and_move_while_speaking() -> None:
    perf = animate(babble(20.0))
    head = perf.head_rotation_deg
    assert head.shape == (perf.frame_count, 3)
    assert np.abs(head).max() < 10.0
    assert head[:, 0].std() > 0.3  # nodding
    assert np.abs(np.diff(head, axis=0)).max() < 2.0  # smooth, no jumps


def test_gaze_makes_saccades_every_half_to_two_seconds() -> None:
    perf = animate(babble(20.0))
    jumps = np.flatnonzero(np.abs(np.diff(perf.gaze_deg, axis=0)).max(axis=1) > 0.4)
    assert perf.gaze_deg.shape == (perf.frame_count, 2)
    assert 5 <= len(jumps) <= 20 / 0.5
    assert np.abs(perf.gaze_deg).max() < 20.0


# Whole performance -----------------------------------------------------------------------------

def test_frame_count_shapes_and_value_range() -> None:
    speech = babble(5.0)
    perf = animate(speech, fps=30.0, emotion=EmotionLabel("surprise", 1.0))
    n = math.ceil(speech.duration_s * 30.0)
    assert perf.frame_count == n
    assert perf.blendshapes.shape == (n, len(DRIVEN_BLENDSHAPES))
    assert perf.blendshapes.dtype == np.float32
    assert perf.blendshapes.min() >= 0.0 and perf.blendshapes.max() <= 1.0
    assert np.isfinite(perf.head_rotation_deg).all() and np.isfinite(perf.gaze_deg).all()
    assert perf.blendshape_names == [n for n in ARKIT_BLENDSHAPES if n in perf.blendshape_names]


def test_a_very_short_clip_still_has_one_frame() -> None:
    speech = Speech(np.zeros(10, np.int16), RATE, "en", "", [])
    assert animate(speech).frame_count == 1


def test_same_seed_same_performance_other_seed_differs() -> None:
    speech = babble(10.0)
    a, b = animate(speech, seed=3), animate(speech, seed=3)
    np.testing.assert_array_equal(a.blendshapes, b.blendshapes)
    np.testing.assert_array_equal(a.head_rotation_deg, b.head_rotation_deg)
    np.testing.assert_array_equal(a.gaze_deg, b.gaze_deg)
    assert a.blinks_s == b.blinks_s
    c = animate(speech, seed=4)
    assert a.blinks_s != c.blinks_s
    assert not np.allclose(a.head_rotation_deg, c.head_rotation_deg)
    assert not np.allclose(a.gaze_deg, c.gaze_deg)
    jaw = a.blendshape_names.index("jawOpen")
    np.testing.assert_array_equal(a.blendshapes[:, jaw], c.blendshapes[:, jaw])  # mouth unseeded


def test_only_available_blendshapes_get_columns_in_arkit_order() -> None:
    speech = make_speech(CLOSURE_SPEECH)
    full = animate(speech)
    available = ["mouthClose", "jawOpen", "eyeBlinkRight", "myCustomShape", "eyeLookUpLeft"]
    part = animate(speech, available=available)
    assert part.blendshape_names == ["eyeBlinkRight", "jawOpen", "mouthClose"]
    for name in part.blendshape_names:
        np.testing.assert_array_equal(part.curve(name), full.curve(name))
    assert animate(speech, available=[]).blendshapes.shape == (full.frame_count, 0)


def test_lead_in_delays_the_whole_performance() -> None:
    speech = make_speech(CLOSURE_SPEECH, start_s=0.0)
    perf = animate(speech, lead_in_s=0.4)
    plain = animate(speech)
    assert perf.frame_count == math.ceil((speech.duration_s + 0.4) * 25.0)
    assert perf.visemes[0]["start_s"] == pytest.approx(plain.visemes[0]["start_s"] + 0.4)
    assert perf.curve("jawOpen")[frame_at(perf, 0.4 - 0.06)] > 0.02  # anticipates the first sound
    i = frame_at(plain, centre(speech.phonemes[1]))
    assert perf.curve("mouthClose")[i + 10] == pytest.approx(plain.curve("mouthClose")[i], abs=0.05)


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"fps": float("nan")}, {"fps": 1000},
                                    {"lead_in_s": -1.0}, {"emotion": "joy"}])
def test_bad_options_raise_input_error(kwargs: dict) -> None:
    with pytest.raises(InputError):
        animate(make_speech([("a", 0.2)]), **kwargs)


def test_bad_speech_raises_input_error() -> None:
    with pytest.raises(InputError):
        animate(Speech(np.zeros((100, 2), np.int16), RATE, "en", ""))
    with pytest.raises(InputError):
        animate(Speech(np.zeros(1000, np.int16), RATE, "en", "", [Phoneme("a", 0.3, 0.1)]))


# Mouth cues (Rhubarb) --------------------------------------------------------------------------

def test_mouth_cues_cover_the_audio_with_rhubarb_shapes(tmp_path) -> None:
    import json

    from revive_core.take.cues import RHUBARB_SHAPES, VISEME_TO_RHUBARB, cues_tsv, mouth_cues, write_cues

    assert set(VISEME_TO_RHUBARB) == set(VISEMES)
    assert set(VISEME_TO_RHUBARB.values()) <= set(RHUBARB_SHAPES)
    speech = make_speech(CLOSURE_SPEECH)
    perf = animate(speech)
    cues = mouth_cues(perf.visemes, duration_s=speech.duration_s)
    assert cues[0] == {"start": 0.0, "end": 0.5, "value": "X"}  # silence before the speech
    assert [c["value"] for c in cues[1:10]] == ["D", "A", "D", "A", "D", "A", "B", "A", "E"]
    for a, b in zip(cues, cues[1:]):
        assert a["end"] == b["start"] and a["value"] != b["value"]
    assert cues[-1]["value"] == "X" and cues[-1]["end"] == round(speech.duration_s, 2)
    lines = cues_tsv(cues).splitlines()
    assert lines[0] == "0.00\tX" and lines[-1] == f"{speech.duration_s:.2f}\tX"
    written = write_cues(tmp_path, perf.visemes, duration_s=speech.duration_s)
    document = json.loads(written[1].read_text())
    assert document["metadata"]["duration"] == round(speech.duration_s, 2)
    assert document["mouthCues"] == cues


def test_mouth_cues_of_nothing_are_one_rest_cue() -> None:
    from revive_core.take.cues import mouth_cues

    assert mouth_cues([], duration_s=1.234) == [{"start": 0.0, "end": 1.23, "value": "X"}]


def test_the_head_breathes_at_rest_and_not_while_speaking(monkeypatch) -> None:
    import revive_core.take.animate as animate_module

    quiet = make_speech([("m", 0.1), ("a", 0.3)], start_s=12.0, tail_s=8.0)  # rests 12 s first
    speaking = babble(20.0)
    with_breath = [animate(s).head_rotation_deg[:, 0] for s in (quiet, speaking)]
    monkeypatch.setattr(animate_module, "BREATH_DEG", 0.0)
    without = [animate(s).head_rotation_deg[:, 0] for s in (quiet, speaking)]
    lift = (without[0] - with_breath[0])[: 10 * 25]  # pitch up (negative) on each breath in
    assert lift.min() > -1e-6 and 0.5 < lift.max() <= 0.61
    spectrum = np.abs(np.fft.rfft(lift - lift.mean()))
    freqs = np.fft.rfftfreq(lift.size, 1 / 25.0)
    assert 0.19 <= freqs[np.argmax(spectrum)] <= 0.31  # 12-18 breaths a minute
    middle = slice(5 * 25, 15 * 25)
    assert np.abs(without[1] - with_breath[1])[middle].max() < 0.1  # hardly while speaking
