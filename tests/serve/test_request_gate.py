"""A replica's bounded queue and time limit (request_gate.py), on an event loop (no Ray)."""

from __future__ import annotations

import asyncio

import pytest

from haris.serve.bad_request import BadRequest
from haris.serve.request_gate import RequestGate


def test_past_the_bound_a_request_is_refused_at_once_with_503_and_retry_after():
    async def scenario() -> tuple[list, BadRequest]:
        gate, release = RequestGate(max_queued=2, timeout_s=10), asyncio.Event()

        async def held() -> str:
            await release.wait()
            return "answered"

        running = [asyncio.create_task(gate.run(held)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(BadRequest) as refused:
            await gate.run(held)
        release.set()
        return [*await asyncio.gather(*running), gate.held], refused.value

    answers, refused = asyncio.run(scenario())
    assert answers == ["answered", "answered", 0]
    assert (refused.status, refused.headers) == (503, {"Retry-After": "1"}) and "busy" in refused.message


@pytest.mark.parametrize(("limit", "client", "waited"), [(0.05, None, 0.05), (10.0, "0.05", 0.05), (0.05, "10", 0.05), (0.05, "nonsense", 0.05)])
def test_a_request_over_its_time_limit_gets_504_the_shorter_of_the_services_and_its_clients(limit, client, waited):
    async def scenario() -> BadRequest:
        gate = RequestGate(max_queued=4, timeout_s=limit)
        with pytest.raises(BadRequest) as late:
            await gate.run(lambda: asyncio.sleep(30), client)
        assert gate.held == 0
        return late.value

    late = asyncio.run(scenario())
    assert late.status == 504 and f"time limit of {waited:g} s" in late.message


def test_a_stopping_replica_refuses_every_new_request_with_503():
    gate = RequestGate(max_queued=4, timeout_s=10)
    gate.stopping = True
    with pytest.raises(BadRequest) as refused:
        asyncio.run(gate.run(lambda: asyncio.sleep(0)))
    assert refused.value.status == 503 and "stopping" in refused.value.message and refused.value.headers == {"Retry-After": "1"}
