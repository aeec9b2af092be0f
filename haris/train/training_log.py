"""The run's JSONL log (losses, learning rate, validation metrics) and its loss-curve plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class TrainingLog:
    """Appends one JSON object per line; only the main process writes."""

    def __init__(self, path: str | Path, enabled: bool = True) -> None:
        self.path, self.enabled = Path(path), enabled

    def write(self, **entry: Any) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def truncate_after(self, step: int) -> None:
        """Drop what an interrupted run logged after its last checkpoint, which a resume redoes."""
        if self.enabled and self.path.is_file():
            kept = [entry for entry in self.entries() if entry.get("step", 0) <= step]
            self.path.write_text("".join(json.dumps(entry) + "\n" for entry in kept), encoding="utf-8")

    def plot(self, png_path: str | Path) -> None:
        """Training loss per step and validation mean IoU per epoch, one figure."""
        if not self.enabled:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        entries = self.entries()
        losses = [(e["step"], e["loss"]) for e in entries if "loss" in e]
        validations = [(e["step"], e["val_mean_iou"]) for e in entries if "val_mean_iou" in e]
        figure, loss_axis = plt.subplots(figsize=(8, 4.5))
        if losses:
            loss_axis.plot(*zip(*losses), color="tab:blue", linewidth=1)
        loss_axis.set_xlabel("step")
        loss_axis.set_ylabel("focal + dice loss", color="tab:blue")
        if validations:
            iou_axis = loss_axis.twinx()
            iou_axis.plot(*zip(*validations), color="tab:orange", marker="o")
            iou_axis.set_ylabel("val mean IoU", color="tab:orange")
        figure.tight_layout()
        figure.savefig(png_path, dpi=100)
        plt.close(figure)
