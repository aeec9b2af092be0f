"""The bundle's tokenizer.json: open_clip's CLIP tokenizer as a Hugging Face `tokenizers` pipeline.

With the runtime's Python cleaning in front of it (`haris.runtime.bundle_tokenizer.clean_expression`:
ftfy, HTML entities, lowercase), the file gives exactly open_clip's ids:

- the Split pre-tokenizer keeps the matches of open_clip's word regex and drops what lies between
  them, as open_clip's `findall` does;
- ByteLevel maps UTF-8 bytes to the same characters as CLIP's byte encoder (GPT-2's table);
- the BPE model carries CLIP's vocabulary and merges with the "</w>" end-of-word suffix, plus a few
  merges for CLIP's special tokens written in the text (`_special_token_merges`);
- the post-processor frames every expression with the start and end tokens.

open_clip splits cleaned text with the `regex` module:
``<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+``
under IGNORECASE, after collapsing Python whitespace (`str.split`). Written as is for Oniguruma, the
engine of `tokenizers`, that pattern splits about 17,500 code points differently: the two engines ship
different Unicode versions (letters added since Unicode 15 are punctuation to Oniguruma), IGNORECASE
lets the `regex` module take a mark as a letter (U+0345 folds to iota) and "'ſ" as "'s", and Python's
whitespace includes U+001C-001F, which no regex `\\s` does. So the pattern here spells its classes out
code point by code point as the installed `regex` module (training's open_clip's) decides them, with
Python whitespace in none of them, which makes it a separator exactly as `str.split` does.
"""

from __future__ import annotations

from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import ftfy
import regex
from open_clip import get_model_config, get_tokenizer
from open_clip.tokenizer import SimpleTokenizer, get_clean_fn
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors

from haris.config.model_config import ModelConfig
from haris.data.text_tokenizer import TINY_TOKENIZER
from haris.errors import ConfigError
from haris.runtime.bundle_tokenizer import CLEANING, TOKENIZER_KIND

END_OF_WORD = "</w>"
# open_clip's English contractions, tried before letter runs (its pattern, in its order).
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
# open_clip pads its token rows with zeros (id 0 is "!", told apart from padding by the end token).
PAD_TOKEN_ID = 0


def write_tokenizer_json(config: ModelConfig, path: Path) -> dict[str, Any]:
    """Save the tokenizer of `config`'s text encoder to `path`; return the manifest's "tokenizer" entry."""
    name = TINY_TOKENIZER if config.text_encoder.name == "tiny" else config.text_encoder.name
    clip = _clip_tokenizer(name)
    start, end = (clip.decoder[token_id] for token_id in clip.all_special_ids)
    tokenizer = Tokenizer(_bpe_model(clip))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_split_pattern([start, end])), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{start} $A {end}", special_tokens=[(start, clip.sot_token_id), (end, clip.eot_token_id)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    return _manifest_entry(path, name, config.max_words, clip)


def _manifest_entry(path: Path, name: str, context_length: int, clip: SimpleTokenizer) -> dict[str, Any]:
    return {
        "file": path.name,
        "kind": TOKENIZER_KIND,
        "source": f"open_clip:{name}",
        "context_length": context_length,
        "start_token_id": clip.sot_token_id,
        "end_token_id": clip.eot_token_id,
        "pad_token_id": PAD_TOKEN_ID,
        "lowercase": True,
        "clean": CLEANING,
        # ftfy's repairs change between releases; the runtime warns when its ftfy is another one.
        "ftfy_version": ftfy.__version__,
    }


def _clip_tokenizer(name: str) -> SimpleTokenizer:
    """open_clip's tokenizer for model `name`, which must be CLIP's BPE tokenizer with default options."""
    text_config = (get_model_config(name) or {}).get("text_cfg", {})
    other = text_config.get("hf_tokenizer_name")
    if other:  # checked before get_tokenizer, which would try to download it
        raise ConfigError(
            f"text encoder {name!r} uses the Hugging Face tokenizer {other!r}, not CLIP's BPE tokenizer "
            "(open_clip's SimpleTokenizer); a bundle can carry only CLIP's"
        )
    tokenizer = get_tokenizer(name)
    if tokenizer.clean_fn is not get_clean_fn("lower") or tokenizer.reduction_fn or len(tokenizer.all_special_ids) != 2:
        raise ConfigError(
            f"text encoder {name!r} sets open_clip tokenizer options {text_config.get('tokenizer_kwargs')}; "
            "a bundle can carry only CLIP's tokenizer with its default options"
        )
    return tokenizer


def _bpe_model(clip: SimpleTokenizer) -> models.BPE:
    """CLIP's vocabulary and merges, plus merges that turn a start or end token written in the text into its id."""
    vocab = dict(clip.encoder)
    merges = sorted(clip.bpe_ranks, key=clip.bpe_ranks.get)
    plain = models.BPE(dict(vocab), merges, end_of_word_suffix=END_OF_WORD)
    for token_id in clip.all_special_ids:
        merges += _special_token_merges(plain, clip.byte_encoder, clip.decoder[token_id], token_id, vocab)
    return models.BPE(vocab, merges, end_of_word_suffix=END_OF_WORD)


def _special_token_merges(
    plain: models.BPE, byte_encoder: dict[int, str], special: str, special_id: int, vocab: dict[str, int]
) -> list[tuple[str, str]]:
    """Merges (ranked after all of CLIP's) that glue the pieces plain BPE cuts `special` into.

    open_clip maps "<start_of_text>" written in an expression to the start token's id when its regex
    matches it as one word (after a space, letter or digit; not after punctuation, as in
    "(<start_of_text>"). The split pattern makes such a word a piece of its own; BPE cuts it into "<",
    "start", "_", ..., "></w>", and these merges join those again into "<start_of_text></w>", which
    takes over the special token's id in `vocab`. An added token could not do this: `tokenizers` would
    match it everywhere, after punctuation too. The intermediate joins get ids past CLIP's vocabulary;
    they never reach the output, since they arise only inside that piece and are always merged on.
    Mutates `vocab`.
    """
    word = "".join(byte_encoder[byte] for byte in special.encode("utf-8"))
    pieces = [token.value for token in plain.tokenize(word)]
    joins = list(accumulate(pieces))  # "<", "<start", "<start_", ..., "<start_of_text></w>"
    del vocab[special]
    for join in joins[1:-1]:
        vocab.setdefault(join, max(vocab.values()) + 1)
    vocab[joins[-1]] = special_id
    return list(zip(joins[:-1], pieces[1:]))


def _split_pattern(special_tokens: list[str]) -> str:
    """The Oniguruma pattern whose matches are open_clip's words (see the module docstring)."""
    letters = _characters_matching(r"[\p{L}]")
    numbers = _characters_matching(r"[\p{N}]")
    others = _characters_matching(r"[^\s\p{L}\p{N}]")
    literals = [_caseless_literal(text) for text in (*special_tokens, *CONTRACTIONS)]
    return "|".join([*literals, f"{_character_class(letters)}+", _character_class(numbers), f"{_character_class(others)}+"])


def _characters_matching(pattern: str) -> list[int]:
    """Code points open_clip's regex puts in a one-character class, less the whitespace it never sees."""
    found = regex.finditer(pattern, _every_character(), flags=regex.IGNORECASE)
    # open_clip collapses Python whitespace to " " before splitting, so it can never be part of a word.
    return [ord(match.group()) for match in found if not match.group().isspace()]


@cache
def _every_character() -> str:
    """Every code point but the surrogates, which no UTF-8 text (and so no tokenizer input) can hold."""
    return "".join(chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF)


def _caseless_literal(text: str) -> str:
    """`text` as a run of classes, each holding every character IGNORECASE lets match that character."""
    return "".join(_character_class(_characters_matching(regex.escape(character))) for character in text)


def _character_class(points: list[int]) -> str:
    """A bracketed class of code point ranges, each written \\x{...} so that no character is special."""
    ranges = _consecutive_ranges(sorted(points))
    body = "".join(f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in ranges)
    return f"[{body}]"


def _consecutive_ranges(points: list[int]) -> list[tuple[int, int]]:
    """Sorted code points as (first, last) runs of consecutive values."""
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return ranges
