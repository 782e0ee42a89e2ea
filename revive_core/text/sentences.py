"""Cut a text into sentences, in English and Chinese punctuation alike.

Functions
    split_sentences     the sentences of a text, as written
"""
from __future__ import annotations

import re

__all__ = ["split_sentences"]

_SENTENCE = re.compile(r"(?:[^.!?。！？…\n]|\.(?=\d))+(?:[.!?。！？…]+[\"'”’」』)）]*)?")


def split_sentences(text: str) -> list[str]:
    """Cut text into sentences after ``. ! ? … 。 ！ ？`` (closing quotes kept) and at new lines.

    A full stop between digits ("3.5") does not end a sentence. Pieces without a letter or digit
    are dropped.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    list of str
        Each sentence with its ending punctuation, surrounding space removed, in order.

    Examples
    --------
    >>> split_sentences("It cost 3.5 dollars. Really?! ... 好的。")
    ['It cost 3.5 dollars.', 'Really?!', '好的。']
    """
    pieces = (m.group(0).strip() for m in _SENTENCE.finditer(text))
    return [p for p in pieces if any(ch.isalnum() for ch in p)]
