"""`haris demo`, the main job: synthetic data -> training -> evaluation -> export -> TensorRT engines
(on a GPU) -> parity and speed benchmarks -> prediction overlays -> one report.

The steps run through a StepRunner: running the demo again skips the steps that finished with the
same settings, resumes an interrupted training, and reruns from the first step whose settings
changed (a `--quick` demo's folder is not taken for a full one's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haris.pipelines import demo_steps
from haris.pipelines.demo_report import write_demo_report
from haris.pipelines.demo_settings import DemoSettings
from haris.pipelines.step_runner import StepRunner

# name, what it does, the settings it reads (with the step's own code, they are its inputs), the step
STEPS: list[tuple[str, str, tuple[str, ...], Callable[..., dict[str, Any]]]] = [
    ("data", "write the synthetic dataset", ("images", "threads"), demo_steps.write_data),
    ("train", "train the tiny preset", ("train_minutes", "eval_expressions"), demo_steps.train_model),
    ("eval", "evaluate on the val split", ("eval_expressions", "overlays"), demo_steps.evaluate_model),
    ("export", "export FP32 and FP16 bundles", (), demo_steps.export_model),
    ("engines", "build TensorRT engines", (), demo_steps.build_engines),
    ("predict", "predict demo scenes with the bundle", ("overlays",), demo_steps.predict_demo_scenes),
    ("parity", "parity benchmark against eager FP32", ("eval_expressions", "overlays", "threads"), demo_steps.check_parity),
    ("speed", "speed benchmark", ("speed_iterations", "expressions_per_image", "threads"), demo_steps.measure_speed),
]


def run_demo(out: str | Path, settings: DemoSettings) -> Path:
    """Run (or finish) every step into `out`; write and return the report page."""
    out = Path(out)
    runner = StepRunner(out)
    values = dataclasses.asdict(settings)
    summaries = {}
    for number, (name, what, reads, step) in enumerate(STEPS, start=1):
        inputs = {key: values[key] for key in reads}
        summaries[name] = runner.run(name, f"[{number}/{len(STEPS)}] {what}", inputs, lambda resume, step=step: step(out, settings, resume))
    return write_demo_report(out, summaries, settings.threads)
