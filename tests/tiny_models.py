"""Tiny, randomly initialised Hugging Face models made on the spot, to test loading by path.

Their outputs are random; what the tests check is that Revive loads a local model folder (or
GGUF file), runs it offline and maps its outputs, not what the model says.
"""
from __future__ import annotations

from pathlib import Path

CORPUS = ["Hello love, how are you today?", "I am so proud of you, well done!",
          "Come for Sunday lunch soon.", "奶奶也想你呀，宝贝。", "放假了就回来住几天。",
          "Grandma Rose: Thank you love!", "Lily: I miss you Grandma"] * 4


def save_tokenizer(folder: Path):
    """A byte-level BPE tokenizer (covers any text) trained on a few lines, saved to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[EOS]"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]",
                                   unk_token="[UNK]", eos_token="[EOS]")
    fast.save_pretrained(str(folder))
    return fast


def save_tiny_causal_lm(folder: Path) -> Path:
    """A 2-layer GPT-2 with 32-wide states and random weights, with its tokenizer."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = save_tokenizer(folder)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=4096, n_embd=32, n_layer=2,
                        n_head=2, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    return folder


def save_tiny_classifier(folder: Path, labels: list[str]) -> Path:
    """A 1-layer BERT sequence classifier with random weights and the given label names."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = save_tokenizer(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
                        pad_token_id=tokenizer.pad_token_id, num_labels=len(labels),
                        id2label=dict(enumerate(labels)),
                        label2id={name: i for i, name in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(str(folder))
    return folder


def save_tiny_encoder(folder: Path) -> Path:
    """A 1-layer BERT encoder (no head) with random weights, for sentence embeddings."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = save_tokenizer(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
                        pad_token_id=tokenizer.pad_token_id)
    BertModel(config).save_pretrained(str(folder))
    return folder
