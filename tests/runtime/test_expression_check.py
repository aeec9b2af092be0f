"""The one check of referring expressions: what it refuses and with which message, its limits, and
the front ends that reuse it (the service's request check, the page's text box, the client)
refusing with its words."""

from __future__ import annotations

import pytest

from haris.app.expression_text import parse_expressions
from haris.errors import ExpressionError, HarisError
from haris.runtime.expression_check import check_expressions
from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits
from haris.serve.request_validation import checked_expressions
from haris.serve.segment_client import SegmentClient

REFUSED = {
    "one string": ("the cat", "expressions must be a list of strings, got one string (wrap it in a list)"),
    "not a sequence": (7, "expressions must be a list of strings, got int"),
    "bytes": (b"the cat", "expressions must be a list of strings, got bytes"),
    "empty list": ([], "no expressions: give at least one referring expression"),
    "a number": (["the cat", 7], "expression 1 must be a string, got int"),
    "blank": (["the cat", " \t\n"], "expression 1 is empty: nothing to segment"),
    "empty string": ([""], "expression 0 is empty: nothing to segment"),
}
REFUSED_COUNT = "5 expressions, more than the limit of 4 per image"


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_is_not_a_list_of_words_is_refused_by_name(name):
    expressions, message = REFUSED[name]
    with pytest.raises(ExpressionError) as refused:
        check_expressions(expressions)
    assert str(refused.value) == message and isinstance(refused.value, HarisError)


def test_the_limits_are_the_callers_and_inclusive():
    assert check_expressions(["a", "b", "c"], max_count=3) == ["a", "b", "c"]
    with pytest.raises(ExpressionError, match="^4 expressions, more than the limit of 3 per image$"):
        check_expressions(["a", "b", "c", "d"], max_count=3)
    assert check_expressions(["a" * 10], max_chars=10) == ["a" * 10]
    with pytest.raises(ExpressionError, match="^expression 1 has 11 characters, more than the limit of 10$"):
        check_expressions(["a", "a" * 11], max_chars=10)
    assert check_expressions(["a"] * 1000 + ["a" * 5000]) == ["a"] * 1000 + ["a" * 5000]  # no limits by default


def test_any_sequence_of_strings_passes_as_a_list_in_order():
    assert check_expressions(("the dog", "the cat")) == ["the dog", "the cat"]
    assert check_expressions([" the cat "]) == [" the cat "]  # kept as given: the tokenizer cleans it


def test_the_service_the_page_and_the_client_refuse_with_the_same_words():
    limits = RequestLimits(max_expressions=4)
    too_many, blank = ["a", "b", "c", "d", "e"], ["the cat", "  "]
    assert _service_refusal(too_many, limits) == _page_refusal("\n".join(too_many), 4) == REFUSED_COUNT
    assert _service_refusal([], limits) == _page_refusal(" \n\t", 4) == _client_refusal([]) == REFUSED["empty list"][1]
    assert _service_refusal(blank, limits) == _client_refusal(blank) == REFUSED["blank"][1]  # the page drops blank lines


def _service_refusal(expressions: list[str], limits: RequestLimits) -> str:
    with pytest.raises(BadRequest) as refused:
        checked_expressions(expressions, limits)
    assert refused.value.status == 400
    return refused.value.message


def _page_refusal(text: str, limit: int) -> str:
    with pytest.raises(ExpressionError) as refused:
        parse_expressions(text, limit)
    return str(refused.value)


def _client_refusal(expressions: list[str]) -> str:
    with pytest.raises(ExpressionError) as refused:
        SegmentClient("http://127.0.0.1:9").segment(b"png", expressions)  # refused before any connection is tried
    return str(refused.value)
