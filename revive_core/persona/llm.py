"""A local causal language model, plugged in by path: a Hugging Face model folder or a GGUF file.

Nothing is downloaded: the folder (config.json, weights, tokenizer) or the GGUF file must be on
disk. GGUF files are read by transformers with ``gguf`` and ``accelerate`` (dequantised to
float32, so a 270M-parameter model loads in about a minute and a half on a laptop CPU).

Functions
    load_llm    a model ready to continue a text
"""
from __future__ import annotations

import functools
from pathlib import Path

from revive_core.errors import InputError

__all__ = ["LocalLLM", "load_llm"]


class LocalLLM:
    """A causal LM and its tokenizer; :meth:`continue_text` samples continuations."""

    def __init__(self, model, tokenizer, name: str) -> None:
        self._model, self._tokenizer, self.name = model, tokenizer, name

    def continue_text(self, prompt: str, *, n: int, max_new_tokens: int = 48,
                      temperature: float = 0.8, seed: int = 0) -> list[str]:
        """``n`` sampled continuations of ``prompt`` (new text only, special tokens removed).

        Parameters
        ----------
        prompt : str
            The text to continue.
        n : int
            How many continuations.
        max_new_tokens : int
            Length limit of each, in tokens.
        temperature : float
            Sampling temperature; with ``seed`` the result is reproducible on one machine.
        """
        import torch

        torch.manual_seed(seed)
        inputs = self._tokenizer(prompt, return_tensors="pt")
        pad = self._tokenizer.pad_token_id
        if pad is None:
            pad = self._tokenizer.eos_token_id if self._tokenizer.eos_token_id is not None else 0
        with torch.no_grad():
            output = self._model.generate(**inputs, do_sample=True, temperature=temperature,
                                          top_p=0.95, max_new_tokens=max_new_tokens,
                                          num_return_sequences=n, pad_token_id=pad)
        start = inputs["input_ids"].shape[1]
        return [self._tokenizer.decode(row[start:], skip_special_tokens=True) for row in output]


@functools.lru_cache(maxsize=1)
def load_llm(path: str) -> LocalLLM:
    """Load a local causal LM once per process.

    Parameters
    ----------
    path : str
        A Hugging Face model folder (config.json, weights, tokenizer) or a ``.gguf`` file.

    Raises
    ------
    InputError
        When the path is missing or does not hold a model transformers can load offline.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()  # generation advice meant for developers

    location = Path(path)
    if location.is_file() and location.suffix.lower() == ".gguf":
        folder, options = str(location.parent), {"gguf_file": location.name}
    elif location.is_dir() and (location / "config.json").is_file():
        folder, options = str(location), {}
    else:
        raise InputError(f"No language model at {location}.",
                         "Pass a local Hugging Face model folder (with config.json) or a .gguf "
                         "file; or leave --llm out to answer with the person's own lines.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **options)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, **options)
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(f"{location} could not be loaded as a language model ({exc}).",
                         "It must be a causal language model; GGUF files need the gguf and "
                         "accelerate packages (installed with Revive).") from None
    return LocalLLM(model.eval(), tokenizer, location.name)
