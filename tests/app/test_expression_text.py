"""The expression box: one expression per line, blank lines skipped, the runtime's check's error for
none or too many."""

from __future__ import annotations

import pytest

from haris.app.expression_text import parse_expressions
from haris.errors import ExpressionError


def test_lines_are_stripped_and_blank_ones_skipped():
    assert parse_expressions("  the red circle \n\n\tthe small square\n", 4) == ["the red circle", "the small square"]


@pytest.mark.parametrize("text", [None, "", "   \n \t\n"])
def test_no_expression_is_an_error_that_says_what_to_give(text):
    with pytest.raises(ExpressionError, match="no expressions: give at least one referring expression"):
        parse_expressions(text, 4)


def test_the_limit_is_inclusive_and_one_more_is_an_error_with_both_numbers():
    assert len(parse_expressions("\n".join("abcd"), 4)) == 4
    with pytest.raises(ExpressionError, match="5 expressions, more than the limit of 4 per image"):
        parse_expressions("\n".join("abcde"), 4)
