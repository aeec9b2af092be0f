"""A request the service refuses, with the HTTP status and the message the client gets as JSON."""

from __future__ import annotations

from haris.errors import HarisError


class BadRequest(HarisError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
