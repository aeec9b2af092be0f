"""Benchmark reports on disk: JSON (everything measured), Markdown (the tables) and PNG plots.

A parity run writes `parity.json`, `parity.md` and `mask_agreement.png` (plus its overlays); a
speed run writes `speed.json`, `speed.md`, `stage_latency.png` and `throughput.png`. The Markdown
is rendered from the JSON alone, so `merge_reports` can put several runs (machines, bundles, dates)
on one page, with the plots linked relative to that page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from haris.benchmarks.bench_plots import plot_mask_agreement, plot_stage_latency, plot_throughput
from haris.benchmarks.machine_info import machine_summary
from haris.errors import HarisError

REPORT_KINDS = ("parity", "speed")
STAGE_HEADINGS = {
    "pre_processing": "pre",
    "image_encoder": "image enc",
    "text_encoder": "text enc",
    "fusion": "fusion",
    "decoder": "decoder",
    "post_processing": "post",
}


def write_parity_report(report: dict[str, Any], out: str | Path) -> list[Path]:
    """parity.json, parity.md and the mask agreement histogram in `out`; returns the paths."""
    out = Path(out)
    plot = plot_mask_agreement(report, out / "mask_agreement.png")
    return [_write_json(report, out / "parity.json"), _write_text(parity_markdown(report), out / "parity.md"), plot]


def write_speed_report(report: dict[str, Any], out: str | Path) -> list[Path]:
    """speed.json, speed.md and the latency and throughput plots in `out`; returns the paths."""
    out = Path(out)
    plots = [plot_stage_latency(report, out / "stage_latency.png"), plot_throughput(report, out / "throughput.png")]
    return [_write_json(report, out / "speed.json"), _write_text(speed_markdown(report), out / "speed.md"), *plots]


def read_reports(directory: str | Path) -> list[dict[str, Any]]:
    """The parity and speed reports a benchmark run left in `directory` (HarisError if none)."""
    directory = Path(directory)
    reports = [
        json.loads((directory / f"{kind}.json").read_text(encoding="utf-8")) for kind in REPORT_KINDS if (directory / f"{kind}.json").is_file()
    ]
    if not reports:
        raise HarisError(f"{directory} holds no benchmark report ({' or '.join(f'{kind}.json' for kind in REPORT_KINDS)})")
    return reports


def merge_reports(directories: Sequence[str | Path], out_file: str | Path) -> str:
    """One Markdown page with every run's tables and plots; written to `out_file` and returned."""
    out_file = Path(out_file)
    sections = ["# HARIS benchmarks"]
    for directory in directories:
        link_prefix = Path(os.path.relpath(Path(directory).resolve(), out_file.parent.resolve())).as_posix()
        for report in read_reports(directory):
            render = parity_markdown if report["kind"] == "parity" else speed_markdown
            sections.append(render(report, link_prefix, heading_level=2))
            sections.append(f"_Run folder: `{directory}`_")
    page = "\n\n".join(sections) + "\n"
    _write_text(page, out_file)
    return page


def _write_json(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def _write_text(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path


def parity_markdown(report: dict[str, Any], link_prefix: str = ".", heading_level: int = 1) -> str:
    """The parity tables: per backend, agreement and metric deltas; per stage tensor, differences."""
    settings = report["settings"]
    lines = [
        f"{'#' * heading_level} Parity against eager FP32: {settings['split']} split, {settings['expressions']} expressions "
        f"of {settings['refs']} refs, {'PASSED' if report['passed'] else 'FAILED'}",
        _provenance(report),
        "",
        "| backend | result | mask IoU with eager: mean | min | p1 | mean IoU (delta) | overall IoU (delta) | "
        + " | ".join(f"{name} delta" for name in report["eager"]["metrics"]["precision"])
        + " |",
        "|" + " --- |" * (7 + len(report["eager"]["metrics"]["precision"])),
        _eager_parity_row(report),
        *(_parity_row(label, result) for label, result in report["backends"].items()),
        "",
        f"{'#' * (heading_level + 1)} Per-stage differences, each stage on eager's inputs",
        "",
        *_stage_difference_lines(report),
        *_localization_lines(report, heading_level + 1),
        "",
        "Tolerances: "
        + "; ".join(
            f"{precision}: " + ", ".join(f"{key} {value:g}" for key, value in bounds.items()) for precision, bounds in report["tolerances"].items()
        ),
    ]
    lines += _skipped_lines(report)
    lines += ["", "Failures:", *(f"- {failure}" for failure in report["failures"])] if report["failures"] else []
    lines += ["", f"![mask agreement]({link_prefix}/mask_agreement.png)"]
    overlays = [name for result in report["backends"].values() for name in result.get("overlays", [])]
    lines += [f"[worst: {Path(name).stem}]({link_prefix}/{name})" for name in overlays]
    return "\n".join(lines)


def speed_markdown(report: dict[str, Any], link_prefix: str = ".", heading_level: int = 1) -> str:
    """The speed tables: p50 per stage, end-to-end percentiles, throughput, encoder FLOP/s, memory."""
    settings, compute = report["settings"], report["compute"]
    peaks = ", ".join(f"{name} {value / 1e9:.0f} GFLOP/s" for name, value in compute["matmul_peaks"].items())
    lines = [
        f"{'#' * heading_level} Speed: S={settings['image_size']}, {settings['threads']} threads, "
        f"{settings['iterations']} timed iterations after {settings['warmup']} warm-up",
        _provenance(report),
        "",
        f"Image encoder: {compute['encoder_flops_per_image'] / 1e9:.3g} GFLOP per image. "
        f"Matmul peaks measured in this run ({_matmul_sizes(compute)}): {peaks}.",
        "",
        "| backend | N | E | "
        + " | ".join(f"{STAGE_HEADINGS[stage]} ms" for stage in settings["stages"])
        + " | end-to-end p50 / p90 / p99 ms | images/s | expressions/s | encoder GFLOP/s | of its roof |",
        "|" + " --- |" * (len(settings["stages"]) + 8),
    ]
    for label, result in report["backends"].items():
        lines += [_speed_row(label, run, settings["stages"]) for run in result["runs"]]
    lines += _roof_lines(report) + _no_fast_path_lines(report)
    lines += ["", *_memory_lines(report), *_skipped_lines(report)]
    lines += ["", f"![latency per stage]({link_prefix}/stage_latency.png)", "", f"![throughput]({link_prefix}/throughput.png)"]
    return "\n".join(lines)


def _roof_lines(report: dict[str, Any]) -> list[str]:
    """Which roof each backend's "of its roof" is a share of: once per backend."""
    roofs = {label: run for label, result in report["backends"].items() for run in result["runs"] if run.get("encoder_roof")}
    lines = [f"- {label}: {run['encoder_roof']} ({run['encoder_roof_flops_per_s'] / 1e9:.0f} GFLOP/s)" for label, run in roofs.items()]
    return ["", "The image encoder's roof, the matmul peaks of the arithmetic it runs:", *lines] if lines else []


def _no_fast_path_lines(report: dict[str, Any]) -> list[str]:
    """Why a row's "of its roof" says "no fast path": once per backend."""
    reasons = {
        label: run["encoder_no_fast_path"]
        for label, result in report["backends"].items()
        for run in result["runs"]
        if run.get("encoder_no_fast_path")
    }
    return ["", *(f"{label}: no fast path to judge it against, {reason}." for label, reason in reasons.items())] if reasons else []


def _stage_difference_lines(report: dict[str, Any]) -> list[str]:
    lines = ["| backend | stage | tensor | max abs | mean abs | relative to range | tolerance |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, result in report["backends"].items():
        tolerance = report["tolerances"][result["precision"]]["stage_relative"]
        for stage, tensors in result["stages"].items():
            lines += [
                f"| {label} | {stage} | {name} | {d['max_abs']:.3g} | {d['mean_abs']:.3g} | {d['relative']:.3g} | {tolerance:g} |"
                for name, d in tensors.items()
            ]
    return lines


def _localization_lines(report: dict[str, Any], heading_level: int) -> list[str]:
    """Where each failing stage first diverges from the FP32 graph (`--localize`), one item per stage."""
    items = [
        f"- {label}, {stage}: {_localization_text(found)}"
        for label, result in report["backends"].items()
        for stage, found in result.get("localization", {}).items()
    ]
    return ["", f"{'#' * heading_level} Where the failing stages first diverge from the FP32 graph", "", *items] if items else []


def _localization_text(found: dict[str, Any]) -> str:
    if "skipped" in found:
        return f"not localized: {found['skipped']}"
    compared = f"{found['graph']} against {found['reference']}, {found['shared_tensors']} of {found['tensors']} tensors shared"
    divergent = found["first_divergent"]
    if divergent is None:
        return f"no shared tensor differs by more than {found['bound']:g} of its range with every tensor marked ({compared})"
    where = f"`{divergent['tensor']}`, written by `{divergent['node']}` ({divergent['op_type']})"
    if divergent["node_under_test"] != divergent["node"]:
        where += f", in the graph under test by `{divergent['node_under_test']}` ({divergent['op_type_under_test']})"
    return f"first divergent tensor {where}: {divergent['relative']:.3g} of its range > {found['bound']:g} (sample {divergent['sample']}; {compared})"


def _memory_lines(report: dict[str, Any]) -> list[str]:
    lines = ["| backend | timing | peak host RSS MiB | RSS before opening MiB | device memory MiB |", "| --- | --- | --- | --- | --- |"]
    for label, result in report["backends"].items():
        memory = result["memory"]
        device = "-" if memory.get("device_mib") is None else f"{memory['device_mib']:.0f}"
        lines.append(f"| {label} | {result['timing']} | {memory['peak_rss_mib']:.0f} | {memory['rss_before_open_mib']:.0f} | {device} |")
    return lines


def _provenance(report: dict[str, Any]) -> str:
    bundle = report["bundle"]
    return f"{machine_summary(report['machine'])}. Bundle `{bundle['path']}`, manifest sha256 `{bundle['manifest_sha256'][:16]}`."


def _matmul_sizes(compute: dict[str, Any]) -> str:
    sizes = f"{compute['matmul_size']}-square on the CPU"
    return sizes + (f", {compute['gpu_matmul_size']}-square on the GPU" if compute.get("gpu_matmul_size") else "")


def _eager_parity_row(report: dict[str, Any]) -> str:
    metrics = report["eager"]["metrics"]
    cells = [f"{report['reference']} (reference)", "-", "1", "1", "1", f"{metrics['mean_iou']:.4f}", f"{metrics['overall_iou']:.4f}"]
    return "| " + " | ".join(cells + ["-"] * len(metrics["precision"])) + " |"


def _parity_row(label: str, result: dict[str, Any]) -> str:
    agreement, metrics, deltas = result["mask_agreement"], result["metrics"], result["metric_deltas"]
    cells = [
        label,
        "pass" if result["passed"] else "**FAIL**",
        f"{agreement['mean']:.5f}",
        f"{agreement['min']:.4f}",
        f"{agreement['p01']:.4f}",
        f"{metrics['mean_iou']:.4f} ({deltas['mean_iou']:+.4f})",
        f"{metrics['overall_iou']:.4f} ({deltas['overall_iou']:+.4f})",
    ]
    cells += [f"{deltas[name]:+.3f}" for name in metrics["precision"]]
    return "| " + " | ".join(cells) + " |"


def _speed_row(label: str, run: dict[str, Any], stages: Sequence[str]) -> str:
    total = run["end_to_end"]
    fraction = run.get("encoder_roof_fraction")
    cells = [label, str(run["batch"]), str(run["expressions_per_image"])]
    cells += [f"{1000 * run['stages'][stage]['p50']:.2f}" for stage in stages]
    cells += [
        " / ".join(f"{1000 * total[key]:.2f}" for key in ("p50", "p90", "p99")),
        f"{run['images_per_s']:.2f}",
        f"{run['expressions_per_s']:.2f}",
        f"{run['encoder_flops_per_s'] / 1e9:.1f}",
        _peak_share(fraction, run.get("encoder_no_fast_path")),
    ]
    return "| " + " | ".join(cells) + " |"


def _peak_share(fraction: float | None, no_fast_path: str | None) -> str:
    if no_fast_path:
        return "no fast path"
    return "-" if fraction is None else f"{100 * fraction:.1f}%"


def _skipped_lines(report: dict[str, Any]) -> list[str]:
    if not report["skipped"]:
        return []
    return ["", "Skipped:", *(f"- {label}: {reason}" for label, reason in report["skipped"].items())]
