"""Tests of revive_core.persona.dialogue: LoRA training of a small causal LM on the person's
exchanges, stored in the persona folder, reloaded and used by chat behind the safety layer.

No real base model is available offline here, so the base is a small GPT-2 made on the spot:
a byte-level BPE tokenizer trained on the test's own chat text and a 2-layer model with random
weights, saved with save_pretrained. Its words are noise at first; what is tested is that LoRA
really trains (the loss drops), the adapter is stored and reloads, and its replies are checked.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from revive_core.cli.main import main
from revive_core.errors import InputError
from revive_core.persona import read_persona
from revive_core.persona.dialogue import (DIALOGUE_DIR, TrainSettings, load_dialogue_model,
                                          train_dialogue_model, training_pairs)
from revive_core.persona.safety import unsafe_reply

DATA = Path(__file__).resolve().parent / "data" / "persona"
HISTORY = DATA / "whatsapp_robert.txt"


def save_chat_lm(folder: Path) -> Path:
    """A 2-layer GPT-2 (64-wide) with a byte-level BPE tokenizer trained on Robert's chat."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    lines = HISTORY.read_text(encoding="utf-8").splitlines()
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["[PAD]", "[UNK]", "[EOS]"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lines, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]",
                                   unk_token="[UNK]", eos_token="[EOS]")
    fast.save_pretrained(str(folder))
    torch.manual_seed(0)
    # A wide initialisation: the frozen, tied embeddings then give logits large enough for the
    # LoRA layers to steer (with the usual 0.02 every next token stays near uniform).
    config = GPT2Config(vocab_size=len(fast), n_positions=256, n_embd=64, n_layer=2, n_head=2,
                        initializer_range=0.5,
                        bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id,
                        pad_token_id=fast.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def robert(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("persona") / "robert"
    assert main(["persona", "import", str(HISTORY), "--speaker", "Robert", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_chat_lm(tmp_path_factory.mktemp("base"))


def test_training_pairs_pair_each_message_with_the_reply_and_leave_promises_out(
        robert: Path) -> None:
    pairs = training_pairs(read_persona(robert))
    assert len(pairs) > 80
    by_context = {context: reply for _, context, reply in pairs}
    assert by_context["Do you remember our trip to the lake when I was little?"].startswith(
        "Lake Windermere, 1998.")
    assert all(unsafe_reply(reply) is None for _, _, reply in pairs)
    assert not any("Wouldn't miss it" in reply for _, _, reply in pairs)
    assert {listener for listener, _, _ in pairs} >= {"Emma", "Daniel", "Susan"}


@pytest.mark.slow
def test_lora_trains_stores_reloads_and_chat_checks_its_replies(robert: Path, base: Path,
                                                                capsys) -> None:
    assert main(["persona", "train", str(robert), "--base", str(base), "--steps", "40",
                 "--learning-rate", "5e-3"]) == 0
    out = capsys.readouterr().out
    assert "Dialogue model written to" in out and "loads in" in out
    folder = robert / DIALOGUE_DIR
    assert (folder / "adapter_model.safetensors").is_file()
    document = json.loads((folder / "dialogue.json").read_text(encoding="utf-8"))
    assert document["format"] == "revive.dialogue" and document["speaker"] == "Robert"
    assert document["base"]["path"] == str(base.resolve())
    losses = document["losses"]
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5  # it learned

    model = load_dialogue_model(robert)
    assert model is not None and model.trained_on == "Robert"
    text = model.continue_text(model.prompt_for("Emma", "How's the garden?", "Robert"), n=2,
                               seed=0, max_new_tokens=12)
    assert len(text) == 2 and all(isinstance(t, str) for t in text)

    # chat uses the trained model by default, and its replies pass the output check
    assert main(["chat", str(robert), "--prompt", "How do I cook a chicken?", "--n", "2",
                 "--json"]) == 0
    replies = json.loads(capsys.readouterr().out)
    assert all(unsafe_reply(r["text"]) is None for r in replies)
    assert all(r["kind"] in ("generated", "retrieved") for r in replies)
    # risky prompts never reach the model
    assert main(["chat", str(robert), "--prompt", "Will you come to my wedding?", "--json"]) == 0
    reply, = json.loads(capsys.readouterr().out)
    assert reply["kind"] == "honest answer" and reply["intent"] == "future"


def test_training_needs_a_model_folder_and_enough_exchanges(robert: Path, tmp_path: Path,
                                                            capsys) -> None:
    assert main(["persona", "train", str(robert), "--base", str(tmp_path / "none")]) == 2
    assert "No base model folder" in capsys.readouterr().err
    persona = read_persona(robert)
    with pytest.raises(InputError, match="at least 4"):
        train_dialogue_model(persona, tmp_path, tmp_path, pairs=training_pairs(persona)[:2],
                             settings=TrainSettings(steps=1))


@pytest.mark.slow
def test_a_changed_base_model_is_named(robert: Path, base: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "base"
    shutil.copytree(base, copy)
    persona_dir = tmp_path / "robert"
    shutil.copytree(robert, persona_dir, ignore=shutil.ignore_patterns(DIALOGUE_DIR))
    train_dialogue_model(read_persona(persona_dir), persona_dir, copy,
                         settings=TrainSettings(steps=2, batch_size=2))
    assert load_dialogue_model(persona_dir) is not None
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    config["n_layer"] = 3
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(InputError, match="missing or has changed"):
        load_dialogue_model(persona_dir)


@pytest.mark.slow
def test_bench_persona_trains_on_the_earlier_exchanges_and_ranks_by_likelihood(
        base: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "persona", "--history", str(HISTORY), "--speaker", "Robert",
                 "--base", str(base), "--steps", "20", "--json", str(out)]) == 0
    assert "trained model" in capsys.readouterr().out
    model = json.loads(out.read_text(encoding="utf-8"))["replies"]["trained model"]
    assert model["n"] >= 15 and 0 < model["mrr"] <= 1
    assert len(model["loss"]) == 2 and model["load_seconds"] < 30
