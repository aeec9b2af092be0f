"""The page's expression box: one expression per line, checked as every expression is."""

from __future__ import annotations

from haris.runtime.expression_check import check_expressions


def parse_expressions(text: str | None, limit: int) -> list[str]:
    """The non-blank lines of `text`, stripped, at most `limit` of them (else an ExpressionError
    that names the problem, as the Predictor and the service would)."""
    return check_expressions([line.strip() for line in (text or "").splitlines() if line.strip()], max_count=limit)
