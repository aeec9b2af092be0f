"""Clocks for stage latencies, and the per-stage timer the Predictor reports to.

A GPU backend returns from `run` as soon as its work is queued, so host time around a stage
measures the launch, not the work, and synchronizing after every stage to fix that would stall
the pipeline being measured. A device clock instead records an event on the backend's stream at
each stage boundary, and the times are read once, after the results were needed on the host
anyway: no synchronization is added. Each backend gives the clock that measures its own work
(`StageBackend.clock()`): the host's here; CUDA events for eager torch on a GPU (torch_backend)
and for TensorRT's stream (cuda_event_clock).

Marks are opaque; `seconds(start, end)` is valid once `wait(end)` (or any later wait) returned,
and `release` frees a batch of marks after reading them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

PIPELINE_STAGES = ("pre_processing", "image_encoder", "text_encoder", "fusion", "decoder", "post_processing")


class HostClock:
    kind = "host clock"

    def mark(self) -> Any:
        return time.perf_counter()

    def wait(self, mark: Any) -> None:
        """Nothing to wait for: a host mark is taken when the work before it has finished."""

    def seconds(self, start: Any, end: Any) -> float:
        return end - start

    def release(self, marks: Iterable[Any]) -> None:
        """Host marks are plain floats."""


class StageTimer:
    """What the Predictor's `predict_batch(..., timer=)` records: a span of `clock` marks per stage run.

    `seconds()` waits for the last mark, then sums each stage's spans (PIPELINE_STAGES, zero for a
    stage that did not run, e.g. the image encoder when every image was cached) and frees the marks.
    """

    def __init__(self, clock: HostClock) -> None:
        self.clock = clock
        self.spans: list[tuple[str, Any, Any]] = []

    def mark(self) -> Any:
        return self.clock.mark()

    def record(self, stage: str, start: Any, end: Any) -> None:
        self.spans.append((stage, start, end))

    def seconds(self) -> dict[str, float]:
        totals = dict.fromkeys(PIPELINE_STAGES, 0.0)
        if self.spans:
            self.clock.wait(self.spans[-1][2])
        for stage, start, end in self.spans:
            totals[stage] += self.clock.seconds(start, end)
        self.clock.release({id(mark): mark for _, start, end in self.spans for mark in (start, end)}.values())
        self.spans = []
        return totals
