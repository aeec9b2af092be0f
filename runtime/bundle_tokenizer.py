"""Expressions to token ids from a bundle's tokenizer.json: open_clip's CLIP ids, without torch or open_clip."""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ftfy
import numpy as np
from tokenizers import Tokenizer

from haris.errors import ConfigError, DataError
from haris.runtime.expression_check import check_expressions

TOKENIZER_KIND = "clip_bpe"
# The cleaning the runtime does in Python before tokenizer.json takes over: ftfy.fix_text, then
# html.unescape twice (open_clip's `basic_clean`).
CLEANING = "ftfy_html"


def clean_expression(text: str) -> str:
    """open_clip's cleaning, less what tokenizer.json does itself (whitespace: every Python whitespace
    character is a word separator there, which is all that collapsing and stripping it changes).

    tokenizers has no normalizer for ftfy's repairs (mojibake, NFC, curly quotes, ligatures, width) or
    for HTML entities. Lowercasing is here too: tokenizers' Lowercase maps one character at a time with
    Rust's Unicode tables, while open_clip's str.lower knows Greek final sigma (ΟΔΟΣ -> οδος) and
    Python's own Unicode version, so only str.lower gives open_clip's ids for every text.
    """
    return html.unescape(html.unescape(ftfy.fix_text(text))).lower()


class BundleTokenizer:
    """texts -> int32 (B, L): start token, words, end token, zero padding; open_clip's ids exactly.

    L is the longest expression of the batch, at most `context_length`, or `pad_to`. An over-long
    expression is cut as open_clip cuts it, keeping its end token. An expression with no word left
    after cleaning (empty, whitespace, markup such as "&nbsp;") is an error: nothing to segment.
    """

    def __init__(self, tokenizer: Tokenizer, context_length: int, end_token_id: int, pad_token_id: int) -> None:
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.end_token_id = end_token_id
        self.pad_token_id = pad_token_id
        # Start and end tokens: what tokenizer.json's post-processor adds to every expression.
        self.framing_tokens = tokenizer.num_special_tokens_to_add(is_pair=False)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], bundle_dir: str | Path) -> BundleTokenizer:
        """The tokenizer a bundle manifest's "tokenizer" entry describes, read from `bundle_dir`."""
        _check_settings(settings)
        if settings.get("ftfy_version") != ftfy.__version__:
            # ftfy's repairs change between releases: mojibake may then give other ids than at export.
            warnings.warn(
                f"the bundle's tokenizer was exported with ftfy {settings.get('ftfy_version')}, this is ftfy {ftfy.__version__}", stacklevel=2
            )
        tokenizer = Tokenizer.from_file(str(Path(bundle_dir) / settings["file"]))
        return cls(tokenizer, settings["context_length"], settings["end_token_id"], settings["pad_token_id"])

    def __call__(self, texts: Sequence[str], pad_to: int | None = None) -> np.ndarray:
        """Token ids (B, L) of `texts`; L = `pad_to` when given (1..context_length), cutting longer ones."""
        texts = check_expressions(texts)
        if pad_to is not None and not 1 <= pad_to <= self.context_length:
            raise ValueError(f"pad_to must be in 1..{self.context_length} (the bundle's context length), got {pad_to}")
        token_ids = [encoding.ids for encoding in self.tokenizer.encode_batch([clean_expression(text) for text in texts])]
        self._check_words(texts, token_ids)
        width = pad_to or min(max(len(ids) for ids in token_ids), self.context_length)
        self._warn_if_cut(token_ids, width)
        return self._pack(token_ids, width)

    def _check_words(self, texts: Sequence[str], token_ids: list[list[int]]) -> None:
        for index, (text, ids) in enumerate(zip(texts, token_ids)):
            if len(ids) == self.framing_tokens:
                raise DataError(f"expression {index} {text!r} has no words (only markup or characters the tokenizer drops): nothing to segment")

    @staticmethod
    def _warn_if_cut(token_ids: list[list[int]], width: int) -> None:
        cut = sum(len(ids) > width for ids in token_ids)
        if cut:
            warnings.warn(f"{cut} of {len(token_ids)} expressions were longer than {width} tokens and were cut (end token kept)", stacklevel=3)

    def _pack(self, token_ids: list[list[int]], width: int) -> np.ndarray:
        """Rows of `width` ids: cut as open_clip does (first `width`, the last one replaced by the end token), zero-padded."""
        batch = np.full((len(token_ids), width), self.pad_token_id, dtype=np.int32)
        for row, ids in zip(batch, token_ids):
            kept = ids[:width]
            row[: len(kept)] = kept
            if len(ids) > width:
                row[width - 1] = self.end_token_id
        return batch


def _check_settings(settings: Mapping[str, Any]) -> None:
    """Refuse a tokenizer entry this runtime would not tokenize as the bundle's model expects."""
    expected = {"kind": TOKENIZER_KIND, "clean": CLEANING, "lowercase": True}
    wrong = {key: settings.get(key) for key, value in expected.items() if settings.get(key) != value}
    if wrong:
        raise ConfigError(f"bundle tokenizer settings {wrong} differ from what this runtime reproduces ({expected})")
