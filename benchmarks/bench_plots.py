"""PNG plots of the benchmark reports, drawn from the report dicts alone (so the JSON can redraw them).

- stage latency: one stacked bar per (backend, images N, expressions per image E), p50 per stage;
- throughput: images per second against the image batch N, one line per backend, one panel per E;
- mask agreement: a histogram of the per-expression IoU with eager, bins fine near 1.

matplotlib's object API (Figure + savefig) is used rather than pyplot: it keeps no global state and
needs no display backend, so plotting from a library or a test changes nothing for the caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

STAGE_COLOURS = ("#8c8c8c", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def plot_stage_latency(report: dict[str, Any], path: str | Path) -> Path:
    """Stacked horizontal bars of each stage's p50 milliseconds, one bar per backend and shape."""
    stages = report["settings"]["stages"]
    bars = [
        (f"{label}  N={run['batch']} E={run['expressions_per_image']}", run) for label, result in report["backends"].items() for run in result["runs"]
    ]
    figure = Figure(figsize=(10, 1.2 + 0.35 * max(len(bars), 1)), layout="constrained")
    axes = figure.add_subplot()
    left = np.zeros(len(bars))
    for stage, colour in zip(stages, STAGE_COLOURS):
        widths = np.array([1000 * run["stages"][stage]["p50"] for _, run in bars])
        axes.barh(range(len(bars)), widths, left=left, color=colour, label=stage.replace("_", " "))
        left += widths
    axes.set_yticks(range(len(bars)), [name for name, _ in bars], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("p50 latency per stage (ms)")
    axes.set_title("Latency per stage")
    axes.legend(fontsize=8, loc="lower right")
    return _save(figure, path)


def plot_throughput(report: dict[str, Any], path: str | Path) -> Path:
    """Images per second (p50) against the image batch N: a panel per expressions-per-image E."""
    counts = report["settings"]["expressions_per_image"]
    figure = Figure(figsize=(4 * len(counts), 3.5), layout="constrained")
    for index, expressions in enumerate(counts):
        axes = figure.add_subplot(1, len(counts), index + 1)
        for label, result in report["backends"].items():
            runs = sorted((run for run in result["runs"] if run["expressions_per_image"] == expressions), key=lambda run: run["batch"])
            axes.plot([run["batch"] for run in runs], [run["images_per_s"] for run in runs], marker="o", label=label)
        axes.set_xlabel("images per batch (N)")
        axes.set_ylabel("images / s")
        axes.set_title(f"{expressions} expression(s) per image")
        axes.set_xticks(report["settings"]["batches"])
        axes.grid(alpha=0.3)
    if report["backends"]:
        figure.axes[0].legend(fontsize=8)
    return _save(figure, path)


def plot_mask_agreement(report: dict[str, Any], path: str | Path) -> Path:
    """Grouped bars: per backend, how many expressions fall in each mask-IoU-with-eager bin."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.add_subplot()
    results = report["backends"]
    width = 0.8 / max(len(results), 1)
    edges: list[float] = []
    for index, (label, result) in enumerate(results.items()):
        histogram = result["mask_agreement"]["histogram"]
        edges = histogram["edges"]
        positions = np.arange(len(histogram["counts"])) + (index - (len(results) - 1) / 2) * width
        axes.bar(positions, histogram["counts"], width, label=label)
    if edges:
        axes.set_xticks(range(len(edges) - 1), [f"{low:g}-{high:g}" for low, high in zip(edges, edges[1:])], rotation=30, fontsize=8)
        axes.legend(fontsize=8)
    axes.set_xlabel("mask IoU with eager FP32")
    axes.set_ylabel("expressions")
    axes.set_title("Mask agreement with eager FP32")
    return _save(figure, path)


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
