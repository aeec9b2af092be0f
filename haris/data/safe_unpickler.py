"""Reading refer's `refs(<split_by>).p` without letting the file run code.

A pickle can name any importable callable and have it called while loading (`__reduce__`), so a
downloaded annotation file is untrusted input. The refs files hold only lists, dicts, strings and
numbers, which pickle encodes without naming any global; so the unpickler admits no global at all,
except the two Python 3 uses to write `bytes` at protocol 2 (`_codecs.encode(text, "latin1")` and
`bytes()`), and those only as stand-ins that can do nothing else.

refer's pickles were written by Python 2, whose `str` is a byte string. Loading with
encoding="latin1" turns each into a str of one character per byte, in C: RefCOCO's files hold
millions of strings, and decoding them afterwards in Python would take longer than the load itself.
Bytes written by Python 3 come back the same way, so keys and values are always str;
`utf8_repaired` recovers the text of those holding UTF-8, where it matters (the sentences).
"""

from __future__ import annotations

import pickle
from pathlib import Path

from haris.errors import DataError


def _latin1_text(text: str = "", encoding: str = "latin1") -> str:
    """Stands in for `_codecs.encode(text, "latin1")`: the bytes, as the str of their characters."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("the pickle calls _codecs.encode with something other than (str, 'latin1')")
    return text


_HARMLESS_GLOBALS = {
    ("_codecs", "encode"): _latin1_text,
    ("__builtin__", "bytes"): _latin1_text,
    ("builtins", "bytes"): _latin1_text,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler whose find_class refuses every global but stand-ins for writing bytes."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _HARMLESS_GLOBALS:
            return _HARMLESS_GLOBALS[module, name]
        raise pickle.UnpicklingError(f"the pickle asks for the global {module}.{name}, which is never allowed")


def load_pickle_safely(path: str | Path) -> object:
    """Load a pickle of plain data (Python 2's included); byte strings come back as latin-1 str."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return SafeUnpickler(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        OverflowError,
        RecursionError,
        UnicodeError,
    ) as error:
        raise DataError(f"{path} is not a readable pickle of plain data: {error}") from None


def utf8_repaired(text: str) -> str:
    """The text of a byte string that was loaded as latin-1 but holds UTF-8; other text unchanged."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text  # real text (a Python 2 unicode object), or bytes in some other encoding
