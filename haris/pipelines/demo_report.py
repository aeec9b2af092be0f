"""The demo's one page, `report.md`: what each step did, then the benchmark tables and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haris.benchmarks.bench_report import parity_markdown, read_reports, speed_markdown
from haris.benchmarks.machine_info import describe_machine, machine_summary
from haris.pipelines.demo_steps import BENCH, EVAL, PREDICTIONS

REPORT_FILE = "report.md"


def write_demo_report(out: Path, summaries: dict[str, dict[str, Any]], threads: int) -> Path:
    lines = [
        "# HARIS demo report",
        "",
        machine_summary(describe_machine(threads)),
        "",
        "## Steps",
        "",
        "| step | seconds | result |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {summary['seconds']:.0f} | {_result(summary)} |" for name, summary in summaries.items()]
    lines += ["", "## Evaluation of the trained tiny model (val split, eager FP32)", "", _metrics_table(summaries.get("eval", {}))]
    lines += ["", f"Best and worst cases: `{EVAL}/`; bundle predictions on val scenes: `{PREDICTIONS}/`.", ""]
    for kind, render in (("parity", parity_markdown), ("speed", speed_markdown)):
        for report in read_reports(out / BENCH / kind):
            lines += [render(report, f"{BENCH}/{kind}", heading_level=2), ""]
    path = out / REPORT_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _result(summary: dict[str, Any]) -> str:
    parts = [
        f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}"
        for key, value in summary.items()
        if key != "seconds" and not isinstance(value, (dict, list))
    ]
    parts += [f"{key}: {len(value)} item(s)" for key, value in summary.items() if isinstance(value, list) and value]
    return "; ".join(parts).replace("|", "/") or "done"


def _metrics_table(metrics: dict[str, Any]) -> str:
    if "mean_iou" not in metrics:
        return "(not evaluated)"
    precision = metrics["precision"]
    header = "| expressions | mean IoU | overall IoU | " + " | ".join(precision) + " |"
    rule = "| --- " * (3 + len(precision)) + "|"
    row = (
        f"| {metrics['count']} | {100 * metrics['mean_iou']:.2f} | {100 * metrics['overall_iou']:.2f} | "
        + " | ".join(f"{100 * value:.2f}" for value in precision.values())
        + " |"
    )
    return "\n".join([header, rule, row])
