"""A request the service refuses, with the HTTP status, the message the client gets as JSON, and
any headers the answer carries (401's WWW-Authenticate, 503's Retry-After)."""

from __future__ import annotations

from haris.errors import HarisError


class BadRequest(HarisError):
    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}
