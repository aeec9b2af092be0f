"""A hostile corpus for tokenizers: hand-picked hard cases, generated expressions of fragments with
assorted separators and casing, and random code points (hard Unicode blocks and all of Unicode)."""

from __future__ import annotations

import random

CONTRACTIONS = ["it's", "don't", "they're", "we've", "I'm", "you'll", "he'd"]

HARD_CASES = [
    # punctuation, digits, numbers
    "the cat's toy, left-most (2nd) one!!!",
    "3.5 meters",
    "1,000 people",
    "10% off $4.99",
    "1/2 x=3+4*2 #1",
    "...?!",
    # contractions, straight and curly quotes
    *CONTRACTIONS,
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
    *CONTRACTIONS,
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
