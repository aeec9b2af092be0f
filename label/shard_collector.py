"""The driver's side of the stream: the actors' rows gathered per shard until a shard has every image.

Rows come in whatever order the actors finish; a row is keyed by its image, so an image that reaches
the driver twice (a retried task whose first try had already returned it) is kept once, and a shard is
handed over exactly when each of its images has one row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np


class ShardCollector:
    def __init__(self, sizes: Mapping[int, int]) -> None:
        """`sizes`: the number of images of each shard to collect."""
        self.sizes = dict(sizes)
        self.rows: dict[int, dict[int, dict[str, Any]]] = {}

    def add(self, batch: Mapping[str, np.ndarray]) -> list[tuple[int, list[dict[str, Any]]]]:
        """Take a batch of rows (columns as arrays); return the shards it completes, each with its rows."""
        touched = set()
        for position in range(len(batch["index"])):
            row = {key: _plain(values[position]) for key, values in batch.items()}
            shard = row["shard"]
            if shard not in self.sizes:  # already handed over: a late duplicate
                continue
            row["results"] = json.loads(row["results"]) if row["results"] else []
            self.rows.setdefault(shard, {})[row["index"]] = row
            touched.add(shard)
        complete = sorted(shard for shard in touched if len(self.rows[shard]) == self.sizes[shard])
        for shard in complete:
            del self.sizes[shard]
        return [(shard, list(self.rows.pop(shard).values())) for shard in complete]

    def unfinished(self) -> list[int]:
        return sorted(self.sizes)


def _plain(value: Any) -> Any:
    """numpy scalars as Python values (JSON and dict keys want them)."""
    return value.item() if isinstance(value, np.generic) else value
