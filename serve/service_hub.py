"""ServiceHub: what the Segmenter replicas share, a small deployment of the same application: their
metrics, gathered for `/metrics`, and the service's stopping signal, for the drain.

Metrics: Serve's proxy sends a scrape of `/metrics` to one replica, which alone knows its own
counters; so each replica reports its snapshot here every REPORT_PERIOD_S, and any replica answers
a scrape with all of them, each sample labelled with its `replica`. A replica that stopped
reporting (killed, replaced) is dropped after STALE_AFTER_S: its series end, as Prometheus expects
of a process that went away (`sum(rate(haris_requests_total[1m]))` stays right).

Drain: `begin_drain` (called by `haris serve` on SIGTERM) is the answer to every later report, so
each replica learns within a report period that it must refuse new requests; `drained` says when
every replica has reported since, holding none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import NamedTuple

from prometheus_client import generate_latest
from prometheus_client.core import Metric
from ray import serve

REPORT_PERIOD_S = 1.0
DRAIN_REPORT_PERIOD_S = 0.2  # while stopping, so that the drain ends soon after the last request
STALE_AFTER_S = 15.0
HUB_NAME = "ServiceHub"


class Report(NamedTuple):
    at: float
    snapshot: list[Metric]
    held: int  # the requests the replica held when it reported


@serve.deployment(name=HUB_NAME, num_replicas=1, ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1000)
class ServiceHub:
    def __init__(self) -> None:
        self.reports: dict[str, Report] = {}
        self.drain_began: float | None = None

    def report(self, replica: str, snapshot: list[Metric], held: int) -> bool:
        """Keep a replica's report; answer whether the service is stopping."""
        self.reports[replica] = Report(time.monotonic(), snapshot, held)
        return self.drain_began is not None

    def begin_drain(self) -> None:
        self.drain_began = self.drain_began or time.monotonic()

    def drained(self) -> bool:
        """Whether every live replica has reported since the drain began, holding no request."""
        fresh = self._fresh().values()
        return self.drain_began is not None and all(report.at > self.drain_began and report.held == 0 for report in fresh)

    def exposition(self) -> bytes:
        """Prometheus' text format of every live replica's latest report."""
        return generate_latest(_Merged({replica: report.snapshot for replica, report in self._fresh().items()}))

    def _fresh(self) -> dict[str, Report]:
        now = time.monotonic()
        self.reports = {replica: report for replica, report in self.reports.items() if now - report.at < STALE_AFTER_S}
        return self.reports


class _Merged:
    """The replicas' families merged by name, each sample with a `replica` label (what generate_latest collects)."""

    def __init__(self, snapshots: dict[str, list[Metric]]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for replica, snapshot in sorted(self.snapshots.items()):
            for family in snapshot:
                merged = families.setdefault(family.name, Metric(family.name, family.documentation, family.type, family.unit))
                merged.samples += [sample._replace(labels={**sample.labels, "replica": replica}) for sample in family.samples]
        yield from families.values()
