"""The torch-free BundleTokenizer against open_clip's tokenizer: exact ids on a large, hostile corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from tokenizer_corpus import HARD_CASES, generated_expressions, random_code_point_strings

from haris.config.model_config import ModelConfig
from haris.errors import ConfigError, DataError, ExpressionError
from haris.export.tokenizer_export import write_tokenizer_json
from haris.runtime.bundle_tokenizer import BundleTokenizer


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tokenizer.json for a 77-token context, and its manifest entry."""
    folder = tmp_path_factory.mktemp("bundle")
    return folder, write_tokenizer_json(ModelConfig(max_words=77), folder / "tokenizer.json")


@pytest.fixture(scope="module")
def bundle_tokenizer(bundle):
    return BundleTokenizer.from_settings(bundle[1], bundle[0])


@pytest.fixture(scope="module")
def corpus(tokenizer):
    """(expressions with words, expressions open_clip tokenizes to no word at all)."""
    texts = HARD_CASES + generated_expressions(3000, seed=0) + random_code_point_strings(1500, seed=1)
    wordless = {text for text in texts if not tokenizer.encode(text)}
    return [text for text in texts if text not in wordless], sorted(wordless)


@pytest.mark.parametrize("length", [17, 77])
def test_ids_equal_open_clip_on_the_corpus(bundle_tokenizer, tokenizer, corpus, length):
    texts = corpus[0]
    assert len(texts) > 4000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the over-long ones; the warning has its own test
        ids = bundle_tokenizer(texts, pad_to=length)
    expected = tokenizer(texts, context_length=length).numpy()
    mismatched = [text for text, row, want in zip(texts, ids, expected) if not np.array_equal(row, want)]
    assert not mismatched, mismatched[:10]
    assert ids.dtype == np.int32 and ids.shape == (len(texts), length)


def test_expressions_without_words_are_an_error(bundle_tokenizer, corpus):
    wordless = corpus[1] + ["", "   ", "\t\n", "&nbsp;", "\u3000\x1c"]
    blank = [text for text in wordless if not text.strip()]
    assert blank and len(blank) < len(wordless)
    for text in wordless:
        # Blank text is the runtime's expression check's to refuse; the rest only the tokenizer finds.
        error, words = (ExpressionError, "expression 1 is empty") if text in blank else (DataError, "expression 1 .* has no words")
        with pytest.raises(error, match=words):
            bundle_tokenizer(["the man", text])


def test_length_is_the_longest_expression_of_the_batch(bundle_tokenizer, tokenizer):
    texts = ["man", "the man on the left", "a dog"]
    ids = bundle_tokenizer(texts)
    assert ids.shape == (3, 7)  # start + five words + end
    np.testing.assert_array_equal(ids, tokenizer(texts, context_length=77).numpy()[:, :7])


def test_pad_to_fixes_the_length(bundle_tokenizer, tokenizer):
    ids = bundle_tokenizer(["man", "a dog"], pad_to=17)
    np.testing.assert_array_equal(ids, tokenizer(["man", "a dog"], context_length=17).numpy())
    with pytest.raises(ValueError, match="pad_to"):
        bundle_tokenizer(["man"], pad_to=78)


def test_cutting_warns_once_with_the_count(bundle_tokenizer, tokenizer):
    texts = ["word " * 100, "man", "the man on the left " * 20]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = bundle_tokenizer(texts)
    assert [str(warning.message) for warning in caught] == ["2 of 3 expressions were longer than 77 tokens and were cut (end token kept)"]
    assert ids.shape == (3, 77) and (ids[[0, 2], -1] == tokenizer.eot_token_id).all()
    np.testing.assert_array_equal(ids, tokenizer(texts, context_length=77).numpy())


def test_settings_it_does_not_reproduce_are_refused(bundle):
    folder, settings = bundle
    for key, value in [("kind", "sentencepiece"), ("clean", "none"), ("lowercase", False)]:
        with pytest.raises(ConfigError, match=key):
            BundleTokenizer.from_settings({**settings, key: value}, folder)


def test_another_ftfy_version_than_at_export_warns(bundle):
    folder, settings = bundle
    with pytest.warns(UserWarning, match="exported with ftfy 0.1"):
        BundleTokenizer.from_settings({**settings, "ftfy_version": "0.1"}, folder)


def test_one_string_instead_of_a_list_is_refused(bundle_tokenizer):
    with pytest.raises(ExpressionError, match="got one string"):
        bundle_tokenizer("the man")


BLOCKED_TORCH_SCRIPT = """
import importlib.abc, json, sys

class BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "open_clip"):
            raise ImportError(f"{name} is blocked in this test")

sys.meta_path.insert(0, BlockTorch())
from haris.runtime.bundle_tokenizer import BundleTokenizer
try:
    import torch
except ImportError:
    blocked = True
settings, folder, texts = json.loads(sys.stdin.read())
ids = BundleTokenizer.from_settings(settings, folder)(texts, pad_to=17)
print(json.dumps({"ids": ids.tolist(), "blocked": blocked}))
"""


def test_runtime_tokenizes_where_torch_cannot_be_imported(bundle, tokenizer, tmp_path):
    folder, settings = bundle
    texts = ["the man on the LEFT", "it’s 3.5 &amp;amp; café", "👨‍👩‍👧 <start_of_text>", "word " * 40]
    request = json.dumps([settings, str(folder), texts])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", BLOCKED_TORCH_SCRIPT], input=request, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["blocked"]
    np.testing.assert_array_equal(np.array(reply["ids"]), tokenizer(texts, context_length=17).numpy())
