"""Progress of a long loop: a bar for a person at a terminal, a few log lines in a log file.

Every long loop of the package (training epochs, the feature cache, evaluation, export, engines,
prediction, the benchmarks, the synthetic dataset) iterates through `Progress`. When stderr is a
terminal and the `haris` loggers show INFO, it draws a tqdm bar there; otherwise (a redirected
log, `-q`, a service) it writes no carriage-return frames, but one INFO line each time another tenth
of the loop is done, and one at its end.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from haris.log_output import stderr_is_terminal

log = logging.getLogger(__name__)
Item = TypeVar("Item")
LINES_PER_LOOP = 10  # in a log, one line per tenth of the loop


class Progress(Generic[Item]):
    def __init__(self, items: Iterable[Item], description: str, total: int | None = None, unit: str = "it", enabled: bool = True) -> None:
        """`total` defaults to len(items) where it has one; `enabled=False` shows nothing (e.g. on ranks other than 0)."""
        self.items, self.description, self.unit = items, description, unit
        self.total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore[arg-type]
        self.enabled = enabled and log.isEnabledFor(logging.INFO)
        self.values: dict[str, Any] = {}
        self.bar: Any = None

    def note(self, **values: Any) -> None:
        """Figures to show beside the count (the bar's postfix, the end of the next log line), e.g. loss=0.31."""
        self.values.update(values)
        if self.bar is not None:
            self.bar.set_postfix(self.values, refresh=False)

    def __iter__(self) -> Iterator[Item]:
        if not self.enabled:
            yield from self.items
        elif stderr_is_terminal():
            yield from self._with_bar()
        else:
            yield from self._with_lines()

    def _with_bar(self) -> Iterator[Item]:
        from tqdm import tqdm

        with tqdm(self.items, desc=self.description, total=self.total, unit=self.unit) as self.bar:
            yield from self.bar
        self.bar = None

    def _with_lines(self) -> Iterator[Item]:
        started, done = time.monotonic(), 0
        every = max(1, math.ceil(self.total / LINES_PER_LOOP)) if self.total else None
        try:
            for item in self.items:
                done += 1  # handed out: a loop that stops after an item has still done it
                yield item
                if every and done % every == 0 and done != self.total:
                    self._log_line(done, started)
        finally:  # also where the loop stopped early (a time limit, an error)
            self._log_line(done, started)

    def _log_line(self, done: int, started: float) -> None:
        count = f"{done}/{self.total} {self.unit} ({100 * done / self.total:.0f}%)" if self.total else f"{done} {self.unit}"
        figures = "".join(f", {key} {value}" for key, value in self.values.items())
        log.info("%s: %s, %.0f s%s", self.description, count, time.monotonic() - started, figures)
