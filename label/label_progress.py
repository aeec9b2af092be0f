"""How far a labelling run is: a bar with images/s and the time left when stderr is a terminal and the
`haris` loggers show INFO, a line every `interval_s` in a log otherwise (as haris/progress.py does for
loops; a run counts images, which arrive a shard at a time, so it has its own).

`advance` receives each batch of rows the actors return, so a subclass can watch them too (the
tests kill an actor once its first rows arrive).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm

from haris.log_output import stderr_is_terminal

logger = logging.getLogger(__name__)


class LabelProgress:
    def __init__(self, interval_s: float = 30.0) -> None:
        self.interval_s = interval_s
        self.bar: tqdm | None = None
        self.total = self.done = 0
        self.started = self.last_line = 0.0

    def start(self, total: int, done_before: int) -> None:
        """`total` images to label in this run; `done_before` were labelled by earlier runs."""
        self.total, self.done = total, 0
        self.started = self.last_line = time.monotonic()
        if stderr_is_terminal() and logger.isEnabledFor(logging.INFO):
            self.bar = tqdm(total=total, desc="label", unit="img", dynamic_ncols=True)
        logger.info("labelling %d images (%d done before)", total, done_before)

    def advance(self, batch: Mapping[str, Any]) -> None:
        count = len(batch["index"])
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
        elif time.monotonic() - self.last_line >= self.interval_s:
            self.last_line = time.monotonic()
            logger.info(self.line())

    def line(self) -> str:
        """'N of M images (P%), R images/s, about T left'."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        percent = 100.0 * self.done / max(self.total, 1)
        return f"{self.done} of {self.total} images ({percent:.1f}%), {rate:.2f} images/s, about {_duration(left)} left"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.total:
            logger.info(self.line())


def _duration(seconds: float) -> str:
    if seconds != seconds:  # NaN: no image yet
        return "? s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
