"""The one check of referring expressions, made before any model work.

The Predictor and its tokenizer, `haris serve`'s request validation, `haris app`'s text box and the
service client all call `check_expressions`, so a bad expression gets the same one-line message
wherever it is given. The limits are the caller's: a Predictor takes any number of expressions
(it decodes them in batches of its bundle's B) and cuts long text at the tokenizer's context,
while a service refuses what is over its request limits.
"""

from __future__ import annotations

from collections.abc import Sequence

from haris.errors import ExpressionError


def check_expressions(expressions: object, max_count: int | None = None, max_chars: int | None = None) -> list[str]:
    """`expressions` as a list, or an ExpressionError naming the first problem: not a list of strings,
    an empty list, more than `max_count` expressions, a blank one, or one over `max_chars` characters."""
    if isinstance(expressions, (str, bytes)) or not isinstance(expressions, Sequence):
        got = "one string (wrap it in a list)" if isinstance(expressions, str) else type(expressions).__name__
        raise ExpressionError(f"expressions must be a list of strings, got {got}")
    if not expressions:
        raise ExpressionError("no expressions: give at least one referring expression")
    if max_count is not None and len(expressions) > max_count:
        raise ExpressionError(f"{len(expressions)} expressions, more than the limit of {max_count} per image")
    for index, text in enumerate(expressions):
        if not isinstance(text, str):
            raise ExpressionError(f"expression {index} must be a string, got {type(text).__name__}")
        if not text.strip():
            raise ExpressionError(f"expression {index} is empty: nothing to segment")
        if max_chars is not None and len(text) > max_chars:
            raise ExpressionError(f"expression {index} has {len(text)} characters, more than the limit of {max_chars}")
    return list(expressions)
