"""The page's expression box: one expression per line, within the model's limit."""

from __future__ import annotations

from haris.errors import HarisError


def parse_expressions(text: str | None, limit: int) -> list[str]:
    """The non-blank lines of `text`, stripped; a HarisError names what is wrong (none, or over `limit`)."""
    expressions = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not expressions:
        raise HarisError("type at least one expression, one per line (e.g. 'the small orange hexagon')")
    if len(expressions) > limit:
        raise HarisError(f"{len(expressions)} expressions given: at most {limit} per image (one per line)")
    return expressions
