"""MetricsHub: the deployment that gathers every Segmenter replica's metrics for `/metrics`.

Serve's proxy sends a scrape of `/metrics` to one replica, which alone knows its own counters; so
each replica reports its snapshot here every REPORT_PERIOD_S, and any replica answers a scrape with
all of them, each sample labelled with its `replica`. A replica that stopped reporting (killed,
replaced) is dropped after STALE_AFTER_S: its series end, as Prometheus expects of a process
that went away (`sum(rate(haris_requests_total[1m]))` stays right).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import generate_latest
from prometheus_client.core import Metric
from ray import serve

REPORT_PERIOD_S = 1.0
STALE_AFTER_S = 15.0


@serve.deployment(name="MetricsHub", num_replicas=1, ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1000)
class MetricsHub:
    def __init__(self) -> None:
        self.reports: dict[str, tuple[float, list[Metric]]] = {}

    def report(self, replica: str, snapshot: list[Metric]) -> None:
        self.reports[replica] = (time.monotonic(), snapshot)

    def exposition(self) -> bytes:
        """Prometheus' text format of every replica's latest report."""
        now = time.monotonic()
        self.reports = {replica: report for replica, report in self.reports.items() if now - report[0] < STALE_AFTER_S}
        return generate_latest(_Merged({replica: snapshot for replica, (_, snapshot) in self.reports.items()}))


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
