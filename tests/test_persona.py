"""Tests of revive_core.persona: importers per format, style, the Persona format, chat with and
without a language model, guardrails, and the commands.

The sample histories in tests/data/persona/ are written for these tests: fictional people, no
real personal data.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from revive_core.cli.main import main
from revive_core.errors import FormatError, InputError
from revive_core.persona import (build_persona, chat, describe_style, read_history,
                                 read_persona, write_persona)
from revive_core.persona.guardrails import asks_identity, blocked_topic, claims_identity
from revive_core.persona.style import strip_emoji
from tiny_models import save_tiny_causal_lm, save_tiny_encoder

DATA = Path(__file__).resolve().parent / "data" / "persona"
ENGLISH = ["whatsapp_family.txt", "whatsapp_iphone.txt", "letters_rose.txt", "dialogue.txt",
           "chat.json", "chat.jsonl", "chat.csv"]
CHINESE = ["wechat_family.txt", "wechat_gb18030.txt", "wechat_memotrace.csv",
           "wechat_gb18030.csv"]

# file -> (detected format, encoding, lines per speaker)
EXPECTED = {
    "whatsapp_family.txt": ("WhatsApp text export", "utf-8",
                            {"Grandma Rose": 23, "Lily": 10, "Tom": 7}),
    "whatsapp_iphone.txt": ("WhatsApp text export", "utf-8", {"Grandma Rose": 3, "Tom": 1}),
    "letters_rose.txt": ("plain text (letters)", "utf-8", {"Grandma Rose": 4}),
    "dialogue.txt": ("plain text dialogue", "utf-8", {"Grandma Rose": 2, "Tom": 2}),
    "chat.json": ("JSON", "utf-8", {"Grandma Rose": 2, "Lily": 2}),
    "chat.jsonl": ("JSONL", "utf-8", {"Grandma Rose": 2, "Tom": 2}),
    "chat.csv": ("CSV", "utf-8", {"Grandma Rose": 2, "Lily": 1, "Tom": 1}),
    "wechat_family.txt": ("WeChat text export", "utf-8", {"王秀兰": 9, "小明": 4, "丽丽": 4}),
    "wechat_gb18030.txt": ("WeChat text export", "gb18030", {"王秀兰": 3, "小明": 2, "丽丽": 1}),
    "wechat_memotrace.csv": ("WeChat CSV", "utf-8-sig", {"王秀兰": 3, "丽丽": 3}),
    "wechat_gb18030.csv": ("CSV", "gb18030", {"王秀兰": 2, "小明": 2}),
}


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> Path:
    """Grandma Rose's persona from every English sample, with a blocklist."""
    out = tmp_path_factory.mktemp("persona") / "rose"
    blocklist = out.parent / "blocklist.txt"
    blocklist.write_text("# off-limits\nmoney\nthe will\n", encoding="utf-8")
    assert main(["persona", "import", *[str(DATA / f) for f in ENGLISH], "--speaker",
                 "grandma rose", "--out", str(out), "--blocklist", str(blocklist)]) == 0
    return out


@pytest.fixture(scope="module")
def chinese(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("persona") / "wang"
    history = read_history([DATA / f for f in CHINESE])
    from revive_core.text.sentence_embedding import load_encoder
    write_persona(build_persona(history, "王秀兰", load_encoder(), blocklist=["遗产"]), out)
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_is_detected_with_its_encoding_and_speakers(name: str) -> None:
    history = read_history([DATA / name], letters_by="Grandma Rose")
    report, = history.files
    assert (report.format, report.encoding, dict(report.lines_per_speaker)) == EXPECTED[name]


def test_multiline_messages_and_placeholders() -> None:
    history = read_history([DATA / "wechat_family.txt", DATA / "whatsapp_family.txt"])
    texts = [m.text for m in history.messages]
    assert "哎呀，我们丽丽真棒！奶奶为你骄傲！\n周末来家里，奶奶给你做红烧肉。" in texts
    assert not any("omitted" in t.lower() or "encrypted" in t for t in texts)
    first = next(m for m in history.messages if m.speaker == "Grandma Rose")
    assert (first.time, first.source) == ("12/03/2021 09:11", "whatsapp_family.txt:3")


def test_gb18030_file_reads_the_same_as_its_utf8_twin(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8.txt"
    utf8.write_bytes((DATA / "wechat_gb18030.txt").read_bytes().decode("gb18030").encode("utf-8"))
    a = read_history([utf8]).messages
    b = read_history([DATA / "wechat_gb18030.txt"]).messages
    assert [(m.speaker, m.text) for m in a] == [(m.speaker, m.text) for m in b]
    assert any("清明节" in m.text for m in b)


def test_a_folder_is_read_file_by_file(tmp_path: Path) -> None:
    for name in ("chat.csv", "chat.jsonl"):
        shutil.copy(DATA / name, tmp_path / name)
    history = read_history([tmp_path])
    assert [r.path.name for r in history.files] == ["chat.csv", "chat.jsonl"]


def test_unknown_speaker_is_refused_with_the_speakers_seen(tmp_path: Path, capsys) -> None:
    code = main(["persona", "import", str(DATA / "whatsapp_family.txt"), "--speaker", "Grandad",
                 "--out", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Grandad" in err and "Grandma Rose (23)" in err and "Lily (10)" in err
    assert not (tmp_path / "p").exists()


def test_text_without_speakers_needs_whose_letters_they_are() -> None:
    with pytest.raises(InputError, match="names no speakers"):
        read_history([DATA / "letters_rose.txt"])


def test_broken_inputs_give_clear_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"speaker": "A", "text": ', encoding="utf-8")
    with pytest.raises(InputError, match="bad.json is not valid JSON"):
        read_history([bad_json])
    with pytest.raises(InputError, match="not found"):
        read_history([tmp_path / "missing.txt"])
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(InputError, match="UTF-8, UTF-16 or GB18030"):
        read_history([binary])


def test_style_statistics_describe_how_the_person_writes() -> None:
    lines = ["Morning love! 😊", "Thank you love! 😊", "Oh love, come for Sunday lunch soon!",
             "Sunday lunch is at one, Tom.", "See you Sunday love x"]
    style = describe_style(lines, other_names=["Tom", "Lily"])
    assert style.lines == 5 and style.length_unit == "words"
    assert style.forms_of_address[0] == ("love", 4)
    assert ("Tom", 1) in style.forms_of_address
    assert ("sunday lunch", 2) in style.favourite_phrases
    assert style.emoji == [("😊", 2)]
    assert style.endings["!"] == pytest.approx(0.6)
    zh = describe_style(["乖孙，早！", "乖孙，多穿点衣服[微笑]", "好孩子！"])
    assert zh.length_unit == "characters" and zh.languages["zh"] == 1.0
    assert ("乖孙", 2) in zh.forms_of_address and ("[微笑]", 1) in zh.emoji
    assert strip_emoji("Thank you love! 😊 x") == "Thank you love! x"
    assert strip_emoji("早饭要吃热的[微笑]") == "早饭要吃热的"


def test_persona_folder_round_trips_and_is_validated(english: Path, tmp_path: Path) -> None:
    persona = read_persona(english)
    assert persona.speaker == "Grandma Rose"
    assert len(persona.lines) == 38  # 23 + 3 + 4 letter pieces + 2 + 2 + 2 + 2
    assert persona.line_vectors.shape == (38, 384)
    np.testing.assert_allclose(np.linalg.norm(persona.line_vectors, axis=1), 1.0, atol=1e-3)
    assert persona.blocklist == ["money", "the will"]
    document = json.loads((english / "persona.json").read_text(encoding="utf-8"))
    assert document["format"] == "revive.persona" and document["version"] == 1
    assert {s["file"] for s in document["sources"]} == set(ENGLISH)
    letters = next(s for s in document["sources"] if s["file"] == "letters_rose.txt")
    assert letters["lines_per_speaker"] == {"Grandma Rose": 4}  # --speaker "grandma rose"

    copy = tmp_path / "copy"
    shutil.copytree(english, copy)
    document["version"] = 99
    (copy / "persona.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(FormatError, match="version 99"):
        read_persona(copy)
    shutil.copy(english / "persona.json", copy / "persona.json")
    with np.load(english / "index.npz") as index:
        arrays = dict(index)
    np.savez(copy / "index.npz", **{**arrays, "line_vectors": arrays["line_vectors"][:5]})
    with pytest.raises(FormatError, match="do not match"):
        read_persona(copy)


def test_reimport_keeps_the_familys_blocklist(english: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rose"
    shutil.copytree(english, folder)
    (folder / "blocklist").write_text("hospital\n", encoding="utf-8")
    assert main(["persona", "import", str(DATA / "chat.csv"), "--speaker", "Grandma Rose",
                 "--out", str(folder)]) == 0
    assert read_persona(folder).blocklist == ["hospital"]
    assert len(read_persona(folder).lines) == 2


@pytest.mark.parametrize(("prompt", "expected_source"), [
    ("I passed my exam today!", "whatsapp_family.txt:8"),
    ("How do you make scones?", "whatsapp_family.txt:22"),
    ("I miss you Grandma", "whatsapp_family.txt:17"),
])
def test_chat_answers_with_the_persons_own_replies(english: Path, prompt: str,
                                                   expected_source: str) -> None:
    persona = read_persona(english)
    replies = chat(persona, prompt, n=3)
    assert len(replies) == 3 and len({r.text for r in replies}) == 3
    texts = {ln.text for ln in persona.lines}
    for reply in replies:
        assert reply.kind == "retrieved" and reply.sources
        # a source is a line, or the part of it that may be said (no promises: issue 17)
        assert all(any(s.text in t for t in texts) for s in reply.sources)
        assert all(s.text in reply.text for s in reply.sources)
        assert "Come for Sunday lunch" not in reply.text
    assert expected_source in [s.source for r in replies[:2] for s in r.sources]


def test_chat_in_chinese_finds_the_reply_to_the_closest_message(chinese: Path) -> None:
    replies = chat(read_persona(chinese), "奶奶，我好想你", n=2)
    # "放假了就回来住几天" invites a visit the persona cannot host: left out (issue 17)
    assert replies[0].text == "奶奶也想你呀，宝贝。"
    assert replies[0].emotion.label in ("sadness", "joy")
    assert replies[0].sources[0].source == "wechat_family.txt:21"


@pytest.mark.parametrize("prompt", ["Are you really alive?", "Is this really you, Grandma?",
                                    "Are you a robot?", "Did you really die?"])
def test_persona_never_claims_to_be_alive_in_english(english: Path, prompt: str) -> None:
    reply, = chat(read_persona(english), prompt)
    assert reply.kind == "honest answer" and reply.sources == []
    assert "not alive" in reply.text and "not Grandma Rose" in reply.text


@pytest.mark.parametrize("prompt", ["你还活着吗？", "真的是你吗？", "你是真的奶奶吗？", "你到底是谁"])
def test_persona_never_claims_to_be_the_person_in_chinese(chinese: Path, prompt: str) -> None:
    reply, = chat(read_persona(chinese), prompt)
    assert reply.kind == "honest answer"
    assert reply.text.startswith("我不是王秀兰本人") and "活着" in reply.text


def test_identity_checks_do_not_fire_on_ordinary_lines() -> None:
    for text in ["How are you today?", "I can't believe you're gone.", "你是妈妈的骄傲。",
                 "你走了以后我很难过。", "Is this the right address?"]:
        assert not asks_identity(text), text
    assert claims_identity("I'm still alive and kicking!") and claims_identity("我还活着呢")
    assert not claims_identity("I love you, sweetheart")


def test_blocklisted_topics_are_refused(english: Path, chinese: Path) -> None:
    reply, = chat(read_persona(english), "Can you lend me some MONEY?")
    assert reply.kind == "refusal" and "money" in reply.note
    reply, = chat(read_persona(chinese), "奶奶，遗产怎么分？")
    assert reply.kind == "refusal" and reply.text.startswith("家人希望我不谈")
    assert blocked_topic("we will see", ["the will"]) is None
    assert blocked_topic("about the wills", ["will"]) == "will"


def test_lines_touching_a_blocked_topic_are_never_replies(english: Path) -> None:
    persona = read_persona(english)
    persona.blocklist = ["scones", "buttermilk", "dough", "gravy"]
    replies = chat(persona, "What's your favourite recipe?", n=5)
    assert all(blocked_topic(r.text, persona.blocklist) is None for r in replies)


def test_chat_with_a_local_language_model(english: Path, tmp_path_factory) -> None:
    # The tiny model's weights are random: its words are noise. What is tested: the model loads
    # from a folder, is prompted with the person's real exchanges, and its replies list them.
    from revive_core.persona.llm import load_llm

    model = load_llm(str(save_tiny_causal_lm(tmp_path_factory.mktemp("lm"))))
    persona = read_persona(english)
    replies = chat(persona, "I passed my exam today!", n=2, llm=model, seed=1, max_new_tokens=12)
    texts = {ln.text for ln in persona.lines}
    assert 1 <= len(replies) <= 2
    for reply in replies:
        assert reply.sources and all(s.text in texts for s in reply.sources)
        assert reply.text.isprintable() and reply.text
        if reply.kind == "generated":
            assert "language model" in reply.note
            assert "whatsapp_family.txt:8" in [s.source for s in reply.sources]
        else:  # all sampled replies were empty or filtered: falls back to the person's lines
            assert reply.kind == "retrieved"
    again = chat(persona, "I passed my exam today!", n=2, llm=model, seed=1, max_new_tokens=12)
    assert [r.text for r in again] == [r.text for r in replies]


def test_llm_path_that_is_not_a_model_is_a_clear_error(tmp_path: Path, english: Path,
                                                       capsys) -> None:
    code = main(["chat", str(english), "--prompt", "Hello", "--llm", str(tmp_path)])
    assert code == 2 and "No language model" in capsys.readouterr().err


def test_chat_command_prints_replies_with_sources(english: Path, capsys) -> None:
    assert main(["chat", str(english), "--prompt", "How do you make scones?", "--n", "2",
                 "--json"]) == 0
    replies = json.loads(capsys.readouterr().out)
    assert len(replies) == 2
    assert all(r["sources"] and r["emotion"]["label"] for r in replies)
    assert main(["chat", str(english), "--prompt", "Are you alive?"]) == 0
    out = capsys.readouterr().out
    assert "not alive" in out and "none of the person's lines" in out


def test_import_reports_formats_and_lines_per_speaker(tmp_path: Path, capsys) -> None:
    assert main(["persona", "import", str(DATA / "wechat_gb18030.txt"), str(DATA / "chat.jsonl"),
                 "--speaker", "王秀兰", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "wechat_gb18030.txt: WeChat text export (gb18030), 6 lines: 王秀兰 3, 小明 2, 丽丽 1" in out
    assert "chat.jsonl: JSONL (utf-8), 4 lines: Tom 2, Grandma Rose 2" in out
    assert "Persona of 王秀兰: 3 lines" in out


def test_a_local_embedding_model_plugs_in_by_path(tmp_path: Path) -> None:
    from revive_core.text.sentence_embedding import load_encoder

    folder = save_tiny_encoder(tmp_path / "encoder")
    encoder = load_encoder(str(folder))
    history = read_history([DATA / "chat.csv"])
    persona = build_persona(history, "Grandma Rose", encoder, encoder_path=str(folder))
    write_persona(persona, tmp_path / "p")
    loaded = read_persona(tmp_path / "p")
    assert loaded.line_vectors.shape == (2, 32) and loaded.encoder == encoder.name
    assert chat(loaded, "Halloween plans?", n=1)[0].kind == "retrieved"


@pytest.mark.slow
def test_say_speaks_the_personas_answer(english: Path, tmp_path: Path, tiny_avatar) -> None:
    from revive_core.formats import read_take, write_avatar

    write_avatar(tiny_avatar, tmp_path / "avatar")
    assert main(["say", str(tmp_path / "avatar"), "--persona", str(english), "--prompt",
                 "How do you make scones?", "--out", str(tmp_path / "take")]) == 0
    take = read_take(tmp_path / "take")
    assert take.text.startswith("Of course. Cold butter")
    assert main(["say", str(tmp_path / "avatar"), "--persona", str(english), "--prompt",
                 "I passed my exam today!", "--out", str(tmp_path / "take")]) == 0
    assert "proud" in read_take(tmp_path / "take").text
    assert not any(ch in read_take(tmp_path / "take").text for ch in "😊🎉")
    assert main(["say", str(tmp_path / "avatar"), "--persona", str(english), "--text", "Hi",
                 "--prompt", "Hello", "--out", str(tmp_path / "t2")]) == 2
    assert main(["say", str(tmp_path / "avatar"), "--prompt", "Hello", "--out",
                 str(tmp_path / "t2")]) == 2


def test_an_empty_history_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "chat.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="chat.txt is empty"):
        read_history([empty])


@pytest.mark.slow
def test_a_100_mb_chat_export_is_read_and_only_its_latest_lines_are_indexed(tmp_path: Path,
                                                                            monkeypatch) -> None:
    import revive_core.persona.ingest as ingest

    sample = (DATA / "whatsapp_family.txt").read_text(encoding="utf-8")
    big = tmp_path / "huge.txt"
    with open(big, "w", encoding="utf-8") as f:
        while f.tell() < 100 * 1024**2:
            f.write(sample)
    history = read_history([big])
    counts = history.lines_per_speaker()
    assert counts["Grandma Rose"] > 500_000
    from revive_core.text.sentence_embedding import load_encoder

    monkeypatch.setattr(ingest, "MAX_INDEXED_LINES", 50)
    encoder = load_encoder(str(save_tiny_encoder(tmp_path / "encoder")))
    persona = ingest.build_persona(history, "Grandma Rose", encoder)
    assert len(persona.lines) == 50
    assert persona.style.lines == counts["Grandma Rose"]
