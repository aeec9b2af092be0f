"""tokenizer.json export: the manifest entry, refused tokenizers, and open_clip's word split on every code point."""

from __future__ import annotations

from dataclasses import replace

import pytest
import regex
from open_clip.tokenizer import SimpleTokenizer, whitespace_clean
from tokenizers import Tokenizer

import haris.export.tokenizer_export as tokenizer_export
from haris.config import load_model_config
from haris.config.model_config import ModelConfig, TextEncoderConfig
from haris.errors import ConfigError
from haris.export.tokenizer_export import write_tokenizer_json

PLANE = 0x10000


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "tokenizer.json"
    write_tokenizer_json(ModelConfig(), path)
    return Tokenizer.from_file(str(path))


def test_manifest_entry_of_the_tiny_preset(tmp_path):
    config = replace(load_model_config("tiny"), max_words=25)
    settings = write_tokenizer_json(config, tmp_path / "tokenizer.json")
    assert (tmp_path / "tokenizer.json").is_file()
    assert settings == {
        "file": "tokenizer.json",
        "kind": "clip_bpe",
        "source": "open_clip:ViT-B-16",  # the tiny text tower keeps CLIP's vocabulary and tokenizer
        "context_length": 25,
        "start_token_id": 49406,
        "end_token_id": 49407,
        "pad_token_id": 0,
        "lowercase": True,
        "clean": "ftfy_html",
        "ftfy_version": settings["ftfy_version"],
    }


def test_a_hugging_face_tokenizer_is_refused_by_name(tmp_path):
    config = ModelConfig(text_encoder=TextEncoderConfig(name="roberta-ViT-B-32"))
    with pytest.raises(ConfigError, match="'roberta-ViT-B-32' uses the Hugging Face tokenizer 'roberta-base'"):
        write_tokenizer_json(config, tmp_path / "tokenizer.json")


def test_clip_tokenizer_options_other_than_the_defaults_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tokenizer_export, "get_tokenizer", lambda name: SimpleTokenizer(clean="whitespace"))
    with pytest.raises(ConfigError, match="default options"):
        write_tokenizer_json(ModelConfig(), tmp_path / "tokenizer.json")


def test_vocabulary_keeps_clip_ids_and_spells_the_special_tokens_as_words(exported, tokenizer):
    vocab = exported.get_vocab()
    assert all(vocab[token] == token_id for token, token_id in tokenizer.encoder.items() if token_id < tokenizer.sot_token_id)
    assert vocab["<start_of_text></w>"] == tokenizer.sot_token_id and vocab["<end_of_text></w>"] == tokenizer.eot_token_id


def code_point_words(planes: range) -> list[str]:
    """Every non-surrogate code point c of `planes` as "x" c c "x", space-separated, in chunks.

    open_clip's regex makes that one word when c is a letter, "x", c, c, "x" for a digit, "x", cc,
    "x" for any other character, and "x", "x" for whitespace, so each class shows in the split.
    """
    points = [point for point in range(planes.start * PLANE, planes.stop * PLANE) if not 0xD800 <= point <= 0xDFFF]
    chunks = (points[start : start + 4096] for start in range(0, len(points), 4096))
    return [" ".join(f"x{chr(point) * 2}x" for point in chunk) for chunk in chunks]


def assert_split_like_open_clip(exported: Tokenizer, clip: SimpleTokenizer, planes: range) -> None:
    for text in code_point_words(planes):
        words = regex.findall(clip.pat, whitespace_clean(text))
        expected = ["".join(clip.byte_encoder[byte] for byte in word.encode("utf-8")) for word in words]
        assert [piece for piece, _ in exported.pre_tokenizer.pre_tokenize_str(text)] == expected


def test_split_equals_open_clip_on_every_code_point_of_the_first_two_planes(exported, tokenizer):
    assert_split_like_open_clip(exported, tokenizer, range(0, 2))


@pytest.mark.slow
def test_split_equals_open_clip_on_every_code_point(exported, tokenizer):
    assert_split_like_open_clip(exported, tokenizer, range(2, 17))
