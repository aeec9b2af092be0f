"""Steps that are skipped only when their inputs are those they finished with: `haris demo` and the ablations.

Each step writes `steps/<name>.json` in its folder: the sha256 of its inputs (its own settings and
the keys of the steps it follows), whether it started or finished, and once finished its summary
and duration. Running the steps again:
- a finished step whose inputs are unchanged is skipped, its summary read back;
- a step that started with unchanged inputs and did not finish (interrupted) is run with
  `resume=True`, so training continues where it stopped;
- a step whose inputs changed (e.g. `haris demo --quick`, then `haris demo`) runs afresh with
  `resume=False`, and so does every step after it, whose inputs include its key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haris.atomic_file import write_json_atomically

log = logging.getLogger(__name__)
Step = Callable[[bool], dict[str, Any]]  # resume -> a JSON-able summary


class StepRunner:
    def __init__(self, folder: str | Path) -> None:
        self.markers = Path(folder) / "steps"
        self.previous_key = ""  # each step's inputs include the key of the step before it

    def run(self, name: str, what: str, inputs: dict[str, Any], step: Step) -> dict[str, Any]:
        """The summary of `step` (run, resumed, or read back when it already finished with these inputs)."""
        key = hashlib.sha256(json.dumps({"inputs": inputs, "after": self.previous_key}, sort_keys=True, default=str).encode()).hexdigest()
        self.previous_key = key
        marker = self.markers / f"{name}.json"
        recorded = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
        same_inputs = recorded.get("inputs_sha256") == key
        log.debug("%s: inputs %s (key %s), recorded %s", what, inputs, key[:12], recorded.get("inputs_sha256", "nothing")[:12])
        if same_inputs and recorded.get("finished"):
            log.info("%s: done already (%.0f s), skipped", what, recorded["seconds"])
            return {**recorded["summary"], "seconds": recorded["seconds"]}
        resume = same_inputs and recorded.get("started", False)
        if recorded and not same_inputs:
            log.info("%s: its inputs changed since it last ran, so it runs again from the start", what)
        log.info("%s: interrupted earlier, resuming ..." if resume else "%s ...", what)
        write_json_atomically(marker, {"inputs_sha256": key, "inputs": inputs, "started": True, "finished": False})
        start = time.monotonic()
        summary = step(resume)
        seconds = round(time.monotonic() - start, 1)
        write_json_atomically(
            marker, {"inputs_sha256": key, "inputs": inputs, "started": True, "finished": True, "summary": summary, "seconds": seconds}
        )
        log.info("%s: %s (%.0f s)", what, _brief(summary), seconds)
        return {**summary, "seconds": seconds}


def _brief(summary: dict[str, Any]) -> str:
    """The first few scalar results of a summary, for the log line."""
    shown = [(key, value) for key, value in summary.items() if isinstance(value, (int, float, str))][:4]
    return ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in shown) or "done"
