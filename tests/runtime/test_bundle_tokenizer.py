"""The torch-free BundleTokenizer against open_clip's tokenizer: exact ids on a large, hostile corpus."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

from haris.config.model_config import ModelConfig
from haris.errors import ConfigError, DataError
from haris.export.tokenizer_export import write_tokenizer_json
from haris.runtime.bundle_tokenizer import BundleTokenizer

HARD_CASES = [
    # punctuation, digits, numbers
    "the cat's toy, left-most (2nd) one!!!",
    "3.5 meters",
    "1,000 people",
    "10% off $4.99",
    "1/2 x=3+4*2 #1",
    "...?!",
    # contractions, straight and curly quotes
    "it's",
    "don't",
    "they're",
    "we've",
    "I'm",
    "you'll",
    "he'd",
    "IT'S THE MAN",
    "it’s",
    "‘left’ “right”",
    "rock 'n' roll",
    "'s",
    "''s",
    "'ſ 'ſt",
    "o'clock dogs'",
    "the man's",
    "'LL 'D 'Re",
    # accents and diacritics, NFC and NFD, case oddities
    "café",
    "cafe\u0301",
    "niño",
    "nin\u0303o",
    "über",
    "u\u0308ber",
    "Ångström",
    "e\u0301\u0302\u0303",
    "crème brûlée",
    "İstanbul",
    "STRASSE ß ẞ",
    "ΟΔΟΣ σοφός ΣΑΣ",
    "ﬁne ﬂower",
    "ＡＢＣ１２３",
    "𝐀𝐁𝐂 𝟏𝟐𝟑",
    "Ⅻ ½ x² ₃",
    "\u212a\u212b",
    "ǅ ǈ",
    "ͅ \u0345a",
    # CJK, Arabic, Hebrew, Devanagari, Thai
    "左边的猫",
    "赤い車の左",
    "빨간 차",
    "中文，标点。",
    "القطة على اليسار",
    "החתול משמאל",
    "बाईं ओर का आदमी",
    "แมวทางซ้าย",
    # emoji: skin tones, ZWJ sequences, flags, variation selectors
    "👍",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "❤️",
    "the 🐱 on the left",
    "👩🏿‍🚀",
    "🇫🇷🇯🇵",
    # HTML entities, single and double escaped, and markup
    "fish &amp; chips",
    "&lt;b&gt;bold&lt;/b&gt;",
    "it&#39;s",
    "&amp;amp;",
    "&amp;lt;",
    "&nbsp;man",
    "&eacute;t&eacute;",
    "&#x1F600;",
    "<b>bold</b>",
    "a < b > c",
    "&notanentity;",
    "&amp",
    "&#0;",
    # mojibake ftfy repairs
    "cafÃ©",
    "donâ€™t",
    "â€œquotedâ€\x9d",
    "ÃƒÂ©",
    "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
    # whitespace runs and odd whitespace, leading and trailing
    "  leading",
    "trailing   ",
    "\tthe\n\nman\r\n",
    "a\u3000b",
    "a\xa0b",
    "a\u2028b",
    "a\x1cb\x1fc",
    "a\u200bb",
    "a\ufeffb",
    "a\x85b",
    "a \u2009 b",
    "a\u180eb",
    # control characters, terminal escapes, and surrogates (ftfy joins a pair and replaces a lone one)
    "a\x00b",
    "bell\x07",
    "del\x7f",
    "\x1b[31mred\x1b[0m",
    "a\ud800b",
    "\ud83d\ude00",
    # mixed case
    "The MAN On The LeFt",
    "McDONALD's",
    # CLIP's special tokens written in the text: tokens after a word or space, plain text after punctuation
    "<start_of_text>",
    "<end_of_text>",
    "a man <start_of_text> on the left",
    "(<end_of_text>)",
    "<START_OF_TEXT>",
    "<start_of_text><end_of_text><start_of_text>",
    "!<start_of_text><end_of_text>",
    "<ſtart_of_text>",
    "x<end_of_text>y",
    "'s<start_of_text>",
    "1<end_of_text>2",
    "<start_of_text",
    "<<start_of_text>>",
    # over-long expressions
    "word " * 300,
    "a" * 1000,
    "ab" * 500,
    "🐱" * 200,
    "the man on the left " * 40,
]

FRAGMENTS = [
    "the",
    "man",
    "left",
    "woman",
    "in",
    "black",
    "jacket",
    "with",
    "his",
    "back",
    "turned",
    "second",
    "from",
    "right",
    "3.5",
    "1,000",
    "42",
    "2nd",
    "it's",
    "don't",
    "they're",
    "we've",
    "I'm",
    "you'll",
    "he'd",
    "it’s",
    "“blue”",
    "(",
    ")",
    "!!",
    "?",
    ",",
    ".",
    "-",
    "—",
    "…",
    "café",
    "cafe\u0301",
    "niño",
    "über",
    "ß",
    "ΟΔΟΣ",
    "σοφός",
    "左边",
    "猫",
    "빨간",
    "القطة",
    "👍🏽",
    "👨‍👩‍👧",
    "🐱",
    "&amp;",
    "&lt;",
    "&#39;",
    "&amp;amp;",
    "&nbsp;",
    "cafÃ©",
    "donâ€™t",
    "<start_of_text>",
    "<end_of_text>",
    "ﬁ",
    "ＡＢＣ",
    "½",
    "'s",
    "'",
    "\u0301",
    "\u200b",
    "\u200d",
    "#",
    "@",
    "_",
    "%",
    "$",
]
SEPARATORS = [" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "\u3000", "\xa0", "\u2009", "\x1c"]
CASINGS = [str, str, str.upper, str.title, str.swapcase]
# Blocks where tokenization is hardest: marks, punctuation, format characters, scripts, emoji, controls.
CODE_POINT_BLOCKS = [
    (0x00, 0xFF),
    (0x100, 0x24F),
    (0x300, 0x36F),
    (0x370, 0x52F),
    (0x600, 0x6FF),
    (0x900, 0x97F),
    (0x2000, 0x206F),
    (0x3000, 0x30FF),
    (0x4E00, 0x4FFF),
    (0xAC00, 0xAD00),
    (0xFE00, 0xFFFD),
    (0x1D400, 0x1D7FF),
    (0x1F300, 0x1FAFF),
    (0xE0000, 0xE007F),
]


def generated_expressions(count: int, seed: int) -> list[str]:
    """Deterministic expressions of 1-12 fragments with assorted separators and casing."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        fragments = rng.choices(FRAGMENTS, k=rng.randint(1, 12))
        text = "".join(fragment + rng.choice(SEPARATORS) for fragment in fragments)
        texts.append(rng.choice(CASINGS)(text))
    return texts


def random_code_point_strings(count: int, seed: int) -> list[str]:
    """Deterministic strings of 1-12 code points, half from hard blocks, half from all of Unicode."""
    rng = random.Random(seed)
    points = [point for low, high in CODE_POINT_BLOCKS for point in range(low, high + 1)]
    texts = []
    for _ in range(count):
        length = rng.randint(1, 12)
        chosen = rng.choices(points, k=length) if rng.random() < 0.5 else [rng.randrange(0x110000) for _ in range(length)]
        texts.append("".join(chr(point) for point in chosen if not 0xD800 <= point <= 0xDFFF))
    return texts


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
    for text in wordless:
        with pytest.raises(DataError, match="no words"):
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
    with pytest.raises(TypeError, match="not one string"):
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
