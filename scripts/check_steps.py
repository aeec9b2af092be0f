"""Steps run in turn under one time budget, each recorded as it ends: what gpu_check and cpu_check share.

A step is a command run under its own limit (no more than the budget has left); nothing is raised,
so one failed or timed-out step is recorded and the next one runs.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path


class Check:
    """The steps run so far, each a dict (name, status: ran / failed / skipped / timeout, seconds, detail)."""

    def __init__(self, name: str, budget_s: float) -> None:
        self.name, self.deadline, self.steps, self.facts = name, time.monotonic() + budget_s, [], {}

    def time_left(self, wanted_s: float) -> float:
        return max(0.0, min(wanted_s, self.deadline - time.monotonic()))

    def record(self, name: str, status: str, seconds: float, detail: str, **extra: object) -> dict:
        detail = next((line.strip() for line in reversed(detail.splitlines()) if line.strip()), "")  # one line: a table cell
        step = {"name": name, "status": status, "seconds": round(seconds, 1), "detail": detail, **extra}
        self.steps.append(step)
        print(f"{self.name}: {name}: {status} ({seconds:.0f} s): {detail}", flush=True)
        return step

    def run(self, name: str, command: list[str], wanted_s: float, **options: object) -> tuple[str, str, float]:
        """(status, output, seconds) of a command under the step's time limit; nothing is raised."""
        limit, start = self.time_left(wanted_s), time.monotonic()
        if limit < 10:
            return "skipped", f"{self.name}'s time budget is spent", 0.0
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=limit, **options)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else expired.stdout or ""
            return "timeout", output + f"\n(stopped after {limit:.0f} s)", time.monotonic() - start
        except OSError as error:
            return "failed", str(error), time.monotonic() - start
        return ("ran" if done.returncode == 0 else "failed"), done.stdout + done.stderr, time.monotonic() - start

    def failed(self) -> bool:
        return any(step["status"] in ("failed", "timeout") for step in self.steps)

    def write_report(self, out: Path, title: str, more: list[str]) -> Path:
        """<name>.json (the facts and every step) and <name>.md (the facts, one row per step, then `more`) in `out`."""
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{self.name}.json").write_text(json.dumps({"facts": self.facts, "steps": self.steps}, indent=1) + "\n", encoding="utf-8")
        lines = [f"# {title}", "", *(f"- {key}: {value}" for key, value in self.facts.items()), ""]
        lines += ["| step | status | seconds | what |", "| --- | --- | --- | --- |"]
        lines += [f"| {step['name']} | {step['status']} | {step['seconds']} | {step['detail'].replace('|', '/')} |" for step in self.steps]
        (out / f"{self.name}.md").write_text("\n".join(lines + more) + "\n", encoding="utf-8")
        return out / f"{self.name}.md"
