"""`haris demo`, the main job: synthetic data -> training -> evaluation -> export -> TensorRT engines
(on a GPU) -> parity and speed benchmarks -> prediction overlays -> one report.

Each finished step leaves `steps/<name>.json` with its summary; running the demo again skips those
and continues with the first unfinished one (training itself resumes mid-run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haris.atomic_file import write_json_atomically
from haris.benchmarks import demo_steps
from haris.benchmarks.demo_report import write_demo_report
from haris.benchmarks.demo_settings import DemoSettings

Step = Callable[[Path, DemoSettings], dict[str, Any]]
STEPS: list[tuple[str, str, Step]] = [
    ("data", "write the synthetic dataset", demo_steps.write_data),
    ("train", "train the tiny preset", demo_steps.train_model),
    ("eval", "evaluate on the val split", demo_steps.evaluate_model),
    ("export", "export FP32 and FP16 bundles", demo_steps.export_model),
    ("engines", "build TensorRT engines", demo_steps.build_engines),
    ("predict", "predict demo scenes with the bundle", demo_steps.predict_demo_scenes),
    ("parity", "parity benchmark against eager FP32", demo_steps.check_parity),
    ("speed", "speed benchmark", demo_steps.measure_speed),
]


def run_demo(out: str | Path, settings: DemoSettings, log: Callable[[str], None] = print) -> Path:
    """Run (or finish) every step into `out`; write and return the report page."""
    out = Path(out)
    (out / "steps").mkdir(parents=True, exist_ok=True)
    summaries = {}
    for number, (name, what, step) in enumerate(STEPS, start=1):
        marker = out / "steps" / f"{name}.json"
        if marker.is_file():
            summaries[name] = json.loads(marker.read_text(encoding="utf-8"))
            log(f"[{number}/{len(STEPS)}] {what}: done already ({summaries[name]['seconds']:.0f} s), skipped")
            continue
        log(f"[{number}/{len(STEPS)}] {what} ...")
        start = time.monotonic()
        summary = step(out, settings) | {"seconds": round(time.monotonic() - start, 1)}
        write_json_atomically(marker, summary)
        summaries[name] = summary
        log(f"[{number}/{len(STEPS)}] {what}: {_brief(summary)}")
    return write_demo_report(out, summaries, settings.threads)


def _brief(summary: dict[str, Any]) -> str:
    shown = {key: value for key, value in summary.items() if isinstance(value, (int, float, str)) and key != "seconds"}
    text = ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in list(shown.items())[:4])
    return f"{text} ({summary['seconds']:.0f} s)" if text else f"{summary['seconds']:.0f} s"

