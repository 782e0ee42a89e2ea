"""Tests of ``revive bench voice-emotion`` (revive_core.bench.voice_emotion).

No acted-emotion corpus with a licence that allows it is available offline, so the plumbing is
checked on real recordings that are: the Asterisk prompts (a human voice reading calm phone
prompts, CC-BY-SA 3.0, Debian package asterisk-core-sounds-en-wav) as a small folder labelled
neutral, and the same files linked under RAVDESS, CREMA-D and ESD names to check how labels
and languages are read from them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from revive_core.bench.lipsync import ASTERISK_DIR
from revive_core.bench.voice_emotion import evaluate, label_of, read_corpus
from revive_core.cli.main import main
from revive_core.emotion.classify import EMOTIONS
from revive_core.emotion.prosody import NoSpeechError
from revive_core.emotion.voice import read_voice_emotion

needs_asterisk = pytest.mark.skipif(not ASTERISK_DIR.is_dir(),
                                    reason="needs asterisk-core-sounds-en-wav (a human voice)")
CALM_PROMPTS = ["vm-intro", "vm-goodbye", "demo-thanks", "conf-getpin", "transfer",
                "vm-password", "auth-thankyou", "hello-world", "vm-press"]


def _link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


@pytest.mark.parametrize(("name", "label", "language", "layout"), [
    ("03-01-05-01-02-01-12.wav", "anger", "en", "RAVDESS"),
    ("03-01-02-02-01-02-07.wav", "neutral", "en", "RAVDESS"),  # calm
    ("01-01-08-01-01-01-03.mp4", "surprise", "en", "RAVDESS"),
    ("03-02-03-01-01-01-01.wav", None, None, None),  # a song
    ("02-01-03-01-01-01-01.mp4", None, None, None),  # video only
    ("1001_DFA_ANG_XX.wav", "anger", "en", "CREMA-D"),
    ("1091_IEO_HAP_HI.wav", "joy", "en", "CREMA-D"),
    ("0003/Happy/0003_000701.wav", "joy", "zh", "ESD"),
    ("0013/Sad/train/0013_001101.wav", "sadness", "en", "ESD"),
    ("zh/happy/1.wav", "joy", "zh", "folders"),
    ("mum/fearful/voice note.m4a", "fear", "any", "folders"),
    ("misc/hello.wav", None, None, None),
])
def test_labels_and_languages_come_from_the_corpus_conventions(tmp_path, name, label,
                                                               language, layout) -> None:
    path = tmp_path / name
    clip = label_of(path, tmp_path)
    if label is None:
        assert clip is None
    else:
        assert (clip.label, clip.language, clip.layout) == (label, language, layout)


@pytest.fixture(scope="module")
def calm_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for name in CALM_PROMPTS:
        _link(root / "en" / "calm" / f"{name}.wav", ASTERISK_DIR / f"{name}.wav")
    return root


@needs_asterisk
def test_bench_scores_a_folder_of_calm_real_prompts(calm_corpus, tmp_path, capsys) -> None:
    out = tmp_path / "scores.json"
    assert main(["bench", "voice-emotion", "--corpus", str(calm_corpus), "--json",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    scores = json.loads(out.read_text())["builtin prosody"]["en"]
    read = {}
    for name in CALM_PROMPTS:
        try:
            read[name] = read_voice_emotion(ASTERISK_DIR / f"{name}.wav").label.label
        except NoSpeechError:  # too short to measure: the bench skips it too
            continue
    assert scores["n"] == len(read) and len(scores["skipped"]) == len(CALM_PROMPTS) - len(read)
    neutral = EMOTIONS.index("neutral")
    row = scores["confusion"][neutral]
    assert row == [sum(label == e for label in read.values()) for e in EMOTIONS]
    assert scores["accuracy"] == pytest.approx(row[neutral] / len(read), abs=1e-4)
    assert scores["accuracy"] >= 0.6  # calm prompts mostly read as calm
    assert "builtin prosody" in printed and "Confusion (builtin prosody, en)" in printed
    assert f"{scores['accuracy']:.3f}" in printed
    assert "vm-press.wav" in printed  # one word: too little speech, listed as skipped


@needs_asterisk
def test_bench_rows_per_language_and_for_a_local_model(calm_corpus, tmp_path, capsys) -> None:
    from test_voice_emotion import save_tiny_voice_model

    corpus = tmp_path / "mixed"
    for number, name in enumerate(CALM_PROMPTS[:3], 1):
        # ESD names (speaker 0002 speaks Mandarin) and RAVDESS names (neutral, English)
        _link(corpus / "0002" / "Neutral" / f"0002_{number:06d}.wav", ASTERISK_DIR / f"{name}.wav")
        _link(corpus / "ravdess" / f"03-01-01-01-0{number}-01-01.wav", ASTERISK_DIR / f"{name}.wav")
    clips = read_corpus(corpus)
    assert {(c.layout, c.language) for c in clips} == {("ESD", "zh"), ("RAVDESS", "en")}
    by_language = evaluate(clips)
    assert set(by_language) == {"en", "zh", "all"}
    assert by_language["all"].n == by_language["en"].n + by_language["zh"].n == 6
    model = save_tiny_voice_model(tmp_path / "tiny_w2v", ["ang", "hap", "neu", "sad"])
    assert main(["bench", "voice-emotion", "--corpus", str(corpus), "--voice-model", str(model),
                 "--max-per-label", "2"]) == 0
    printed = capsys.readouterr().out
    assert "4 labelled recordings" in printed
    for row in ("builtin prosody          en", "builtin prosody          zh",
                "model tiny_w2v           all"):
        assert row in printed


def test_bench_refuses_a_missing_or_unlabelled_corpus_kindly(tmp_path, capsys) -> None:
    assert main(["bench", "voice-emotion", "--corpus", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "a.wav").write_bytes(b"")
    assert main(["bench", "voice-emotion", "--corpus", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No labelled recordings" in err and "Traceback" not in err
