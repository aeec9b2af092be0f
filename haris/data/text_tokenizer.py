"""CLIP's tokenizer, cut to the model's maximum words: the ids the text encoder was trained on."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from open_clip import get_tokenizer

from haris.config.model_config import ModelConfig
from haris.errors import DataError

# The tiny text tower keeps CLIP's vocabulary, so it shares CLIP's tokenizer.
TINY_TOKENIZER = "ViT-B-16"


class TextTokenizer:
    """texts -> int32 (B, max_words): start token, words, end token, zero padding.

    An over-long expression is cut so that the end token is kept (open_clip's own truncation);
    an empty or whitespace-only expression is an error.
    """

    def __init__(self, config: ModelConfig) -> None:
        name = config.text_encoder.name
        self.tokenizer = get_tokenizer(TINY_TOKENIZER if name == "tiny" else name)
        self.max_words = config.max_words

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        for text in texts:
            if not text.strip():
                raise DataError(f"empty expression {text!r}: nothing to segment")
        return self.tokenizer(list(texts), context_length=self.max_words).to(torch.int32)

    def to_longest(self, texts: Sequence[str]) -> torch.Tensor:
        """The same ids, cut to the batch's longest expression (as the bundle tokenizer pads them)."""
        tokens = self(texts)
        return tokens[:, : int((tokens != 0).sum(dim=1).max())]
