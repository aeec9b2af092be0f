"""The bounded queue and the time limit of one replica.

A replica holds at most `max_queued` requests at once (reading, waiting for their batch, in it);
one more is refused at once with 503 and `Retry-After`, before its body is read, rather than
waiting without bound. Each request held gets `timeout_s` from its arrival to its answer, or less
when its client says it waits less (TIMEOUT_HEADER); past it, 504 (the model work already started
finishes in its thread, its result dropped). The count is
this replica's: Serve's proxy routes by the image's hash, so a replica at its bound refuses even if
another one is idle (docs/operations.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from haris.serve.bad_request import BadRequest

RETRY_AFTER_S = 1  # what a refused client is asked to wait: about one batch's time on a busy replica
TIMEOUT_HEADER = "x-haris-timeout-s"  # a client's own, shorter, time limit in seconds
Answer = TypeVar("Answer")


class RequestGate:
    def __init__(self, max_queued: int, timeout_s: float) -> None:
        self.max_queued = max_queued
        self.timeout_s = timeout_s
        self.held = 0
        self.stopping = False  # set when the service drains: every new request is refused, those held finish

    async def run(self, work: Callable[[], Awaitable[Answer]], client_timeout: str | None = None) -> Answer:
        """`work()`'s answer, or BadRequest 503 (queue full, or stopping) or 504 (over the time limit, or over
        `client_timeout`, the TIMEOUT_HEADER's value, when shorter)."""
        timeout_s = min(self.timeout_s, _seconds(client_timeout))
        if self.stopping:
            message = "the service is stopping: it takes no new request; send it to another instance"
            raise BadRequest(message, 503, {"Retry-After": str(RETRY_AFTER_S)})
        if self.held >= self.max_queued:
            message = f"the service is busy: this replica holds {self.held} requests, its limit; retry after {RETRY_AFTER_S} s"
            raise BadRequest(message, 503, {"Retry-After": str(RETRY_AFTER_S)})
        self.held += 1
        try:
            return await asyncio.wait_for(work(), timeout_s)
        except TimeoutError:
            raise BadRequest(f"the request took more than its time limit of {timeout_s:g} s", 504) from None
        finally:
            self.held -= 1


def _seconds(value: str | None) -> float:
    """A client's time limit; none, or not a positive number: no limit of its own."""
    try:
        seconds = float(value) if value else float("inf")
    except ValueError:
        return float("inf")
    return seconds if seconds > 0 else float("inf")
