"""A dialogue model adapted to the person: LoRA on a small local causal language model, trained
on their own exchanges (context = the message(s) they answered, target = their reply).

The base model plugs in by path: a Hugging Face folder (config.json, safetensors weights,
tokenizer); nothing is downloaded. Training runs on the CPU (peft's LoRA: only a few small
matrices learn, the base stays frozen), and the adapter is stored in the persona folder:

    dialogue/adapter_model.safetensors, adapter_config.json   peft's LoRA adapter
    dialogue/dialogue.json   format "revive.dialogue", version, speaker, base (path, name and a
                             fingerprint of its config and weights), settings, the loss of each
                             step, the number of exchanges, seconds taken

Every reply the model writes goes through the safety layer's output check in
:func:`revive_core.persona.chat.chat`, like any language model's.

Functions
    training_pairs          the person's exchanges to learn from
    train_dialogue_model    train a LoRA adapter and store it in a persona folder
    load_dialogue_model     the base model with the person's adapter, or None
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from revive_core.errors import InputError
from revive_core.formats.storage import atomic_directory, dumps_json
from revive_core.persona.llm import LocalLLM
from revive_core.persona.retrieval import reply_turns
from revive_core.persona.safety import unsafe_reply
from revive_core.persona.store import Persona

__all__ = ["DIALOGUE_DIR", "DialogueModel", "TrainSettings", "load_dialogue_model",
           "training_pairs", "train_dialogue_model"]

DIALOGUE_DIR = "dialogue"
DIALOGUE_FILE = "dialogue.json"
DIALOGUE_FORMAT = "revive.dialogue"
DIALOGUE_VERSION = 1
MIN_PAIRS = 4


@dataclass
class TrainSettings:
    """LoRA settings: ``steps`` of ``batch_size`` exchanges each, truncated to ``max_tokens``;
    ``steps`` None means ``epochs`` passes over the exchanges (more overfits a small history:
    on 74 exchanges, 11 passes took the loss to 0.01 and ranked real replies worse)."""

    steps: int | None = None
    epochs: int = 3
    batch_size: int = 8
    learning_rate: float = 2e-4
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    max_tokens: int = 128
    seed: int = 0


def training_pairs(persona: Persona) -> list[tuple[str, str, str]]:
    """``(listener, context, reply)`` for each reply turn that answered someone.

    Sentences that promise or claim what the person cannot (see
    :func:`revive_core.persona.safety.unsafe_reply`) are left out of the targets, so the model
    does not learn to say them.
    """
    turns, _, _ = reply_turns(persona, keep=lambda text: unsafe_reply(text) is None)
    listener_of = {ln.turn: ln.prompt_speaker for ln in persona.lines if ln.prompt_speaker}
    pairs = []
    for turn in turns:
        if turn.prompt is None:
            continue
        listener = listener_of.get(persona.lines[turn.lines[0]].turn) or "Family"
        pairs.append((listener, turn.prompt, turn.text))
    return pairs


def dialogue_prompt(listener: str, context: str, name: str) -> str:
    """The text the model continues: ``"Emma: message\\nRobert:"``."""
    return f"{listener}: {' '.join(context.split())}\n{name}:"


def train_dialogue_model(persona: Persona, persona_dir: Path, base: Path, *,
                         settings: TrainSettings | None = None,
                         pairs: list[tuple[str, str, str]] | None = None,
                         progress: Callable[[int, float], None] | None = None) -> dict:
    """Train a LoRA adapter of ``base`` on the person's exchanges; store it in ``persona_dir``.

    Parameters
    ----------
    persona : Persona
        The person (their speaker name is the reply's label).
    persona_dir : Path
        The persona folder; ``dialogue/`` inside it is replaced atomically.
    base : Path
        A local Hugging Face causal LM folder.
    settings : TrainSettings, optional
    pairs : list of (listener, context, reply), optional
        The exchanges to learn (default: :func:`training_pairs`; the bench passes a split).
    progress : callable, optional
        Called with (step, loss) after each step.

    Returns
    -------
    dict
        The document written to ``dialogue.json`` (losses, seconds, ...).
    """
    import torch
    from peft import LoraConfig, get_peft_model

    settings = settings or TrainSettings()
    pairs = training_pairs(persona) if pairs is None else pairs
    if len(pairs) < MIN_PAIRS:
        raise InputError(f"{persona.speaker} answered only {len(pairs)} messages in this history; "
                         f"training needs at least {MIN_PAIRS}.",
                         "Import more of their chats, or chat without a trained model.")
    if settings.steps is None:
        settings = replace(settings, steps=max(1, -(-settings.epochs * len(pairs)
                                                    // settings.batch_size)))
    if settings.steps < 1 or settings.batch_size < 1 or settings.rank < 1:
        raise InputError("--steps, the batch size and --rank must be positive.")
    started = time.perf_counter()
    model, tokenizer = _load_base(Path(base))
    torch.manual_seed(settings.seed)
    lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    examples = [_encode(tokenizer, dialogue_prompt(listener, context, persona.speaker), reply,
                        settings.max_tokens) for listener, context, reply in pairs]
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=settings.learning_rate)
    order = random.Random(settings.seed)
    losses = []
    model.train()
    queue: list[int] = []
    for step in range(settings.steps):
        if len(queue) < settings.batch_size:
            more = list(range(len(examples)))
            order.shuffle(more)
            queue += more
        batch = [examples[i] for i in queue[:settings.batch_size]]
        del queue[:settings.batch_size]
        ids, labels, mask = _pad(batch, tokenizer)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        losses.append(round(float(loss.detach()), 4))
        if progress is not None:
            progress(step + 1, losses[-1])
    model.eval()
    document = {"format": DIALOGUE_FORMAT, "version": DIALOGUE_VERSION,
                "speaker": persona.speaker,
                "base": {"path": str(Path(base).resolve()), "name": Path(base).resolve().name,
                         "fingerprint": base_fingerprint(Path(base))},
                "settings": asdict(settings), "exchanges": len(pairs), "losses": losses,
                "seconds": round(time.perf_counter() - started, 1)}
    with atomic_directory(Path(persona_dir) / DIALOGUE_DIR) as tmp:
        model.save_pretrained(str(tmp))
        (tmp / DIALOGUE_FILE).write_bytes(dumps_json(document))
    return document


class DialogueModel(LocalLLM):
    """The base model with the person's adapter; it continues :func:`dialogue_prompt` texts."""

    def __init__(self, model, tokenizer, name: str, trained_on: str, document: dict) -> None:
        super().__init__(model, tokenizer, name)
        self.trained_on, self.document = trained_on, document

    def prompt_for(self, listener: str, prompt: str, name: str) -> str:
        return dialogue_prompt(listener, prompt, name)

    def log_likelihood(self, prompt: str, reply: str) -> float:
        """Mean log-probability per token of `` reply`` after ``prompt`` (higher is likelier)."""
        import torch

        ids, labels, mask = _pad([_encode(self._tokenizer, prompt, reply, 256)], self._tokenizer)
        with torch.no_grad():
            loss = self._model(input_ids=ids, attention_mask=mask, labels=labels).loss
        return -float(loss)


def load_dialogue_model(persona_dir: Path) -> DialogueModel | None:
    """The persona's trained dialogue model, or None when it has none.

    Raises
    ------
    InputError
        When the base model it was trained on is missing or has changed.
    """
    folder = Path(persona_dir) / DIALOGUE_DIR
    if not (folder / DIALOGUE_FILE).is_file():
        return None
    from peft import PeftModel

    document = json.loads((folder / DIALOGUE_FILE).read_text(encoding="utf-8"))
    if document.get("format") != DIALOGUE_FORMAT or document.get("version") != DIALOGUE_VERSION:
        raise InputError(f"{folder / DIALOGUE_FILE} is not a dialogue model this Revive reads.",
                         "Train it again with: revive persona train PERSONA_DIR --base MODEL")
    base = Path(document["base"]["path"])
    if not base.is_dir() or base_fingerprint(base) != document["base"]["fingerprint"]:
        raise InputError(f"The dialogue model of {persona_dir} was trained on {base}, which is "
                         "missing or has changed.",
                         "Put the base model back, or train again with: revive persona train "
                         "PERSONA_DIR --base MODEL")
    model, tokenizer = _load_base(base)
    model = PeftModel.from_pretrained(model, str(folder)).eval()
    return DialogueModel(model, tokenizer, f"{base.name} + {document['speaker']}",
                         document["speaker"], document)


def base_fingerprint(base: Path) -> str:
    """SHA-256 of the base's config.json and each weight file's name, size, first and last MiB:
    quick, and changes when the weights do."""
    digest = hashlib.sha256((base / "config.json").read_bytes())
    for path in sorted(base.glob("*.safetensors")) + sorted(base.glob("*.bin")):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with open(path, "rb") as f:
            digest.update(f.read(1 << 20))
            f.seek(max(size - (1 << 20), 0))
            digest.update(f.read(1 << 20))
    return digest.hexdigest()


def _load_base(base: Path):
    """Tokenizer and float32 causal LM of a local folder (safetensors), offline."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    if not (base.is_dir() and (base / "config.json").is_file()):
        raise InputError(f"No base model folder at {base}.",
                         "Pass a local Hugging Face causal LM folder (config.json, safetensors "
                         "weights, tokenizer), e.g. SmolLM2-135M-Instruct; see docs/persona.md.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True,
                                                     dtype="float32")
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(f"{base} could not be loaded as a causal language model ({exc}).",
                         "It must be a Hugging Face causal LM folder with its tokenizer.") from None
    return model, tokenizer


def _encode(tokenizer, prompt: str, reply: str, max_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids of prompt + " reply" + end, and labels that score only the reply."""
    head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    tail = tokenizer(" " + reply.strip() + "\n", add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        tail = tail + [tokenizer.eos_token_id]
    head = head[-max(max_tokens // 2, max_tokens - len(tail)):]
    ids = (head + tail)[:max_tokens]
    labels = ([-100] * len(head) + tail)[:max_tokens]
    return ids, labels


def _pad(batch: list[tuple[list[int], list[int]]], tokenizer):
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (
        tokenizer.eos_token_id or 0)
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (tokens, targets) in enumerate(batch):
        ids[row, :len(tokens)] = torch.tensor(tokens)
        labels[row, :len(targets)] = torch.tensor(targets)
        mask[row, :len(tokens)] = 1
    return ids, labels, mask
