"""Tables II and III of the paper, rerun on a dataset (the synthetic default, by default).

    python -m haris.benchmarks.ablations --data data/synthetic --out runs/ablations --minutes 10

Trains the preset once per ablation under the same recipe and time budget, evaluates each best
checkpoint on the split, and writes `ablations.json` and `ablations.md` (Pr@70/80/90 and mean IoU,
the paper's columns, plus overall IoU). Runs that finished are reused when the command is rerun.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from haris.config import load_run_config
from haris.evaluation.evaluation_run import run_evaluation
from haris.train.training_run import train

# Settings and names as in the paper's tables II (#1-#3) and III (#5-#7); #4 is the full model.
ABLATIONS = {
    "#1 w/o HS": ["fusion.hierarchical=false"],
    "#2 r. DE": ["decoder.kind=multiply"],
    "#3 r. CA": ["fusion.block=cross_attention"],
    "#5 w/o FB": ["fusion.feedback=false"],
    "#6 w/o VW": ["fusion.vision_weighted=false"],
    "#7 w/o LW": ["fusion.language_weighted=false"],
    "#4 Ours": [],
}


def run_ablations(preset: str, data: Path, out: Path, minutes: float, split: str, names: Sequence[str], overrides: Sequence[str] = ()) -> dict:
    """Train and evaluate every named ablation; return {name: metrics}."""
    results = {}
    for name in names:
        run_dir = out / _folder(name)
        metrics_file = run_dir / f"eval_{split}" / "metrics.json"
        if not metrics_file.is_file():
            run = load_run_config(preset, [*overrides, *ABLATIONS[name], f"train.time_limit_minutes={minutes}"])
            if not (run_dir / "last").is_dir():
                train(run, run_dir, data)
            run_evaluation(run_dir / "best", data, split, run_dir / f"eval_{split}")
        results[name] = json.loads(metrics_file.read_text())
    return results


def format_table(results: dict) -> str:
    lines = ["| Settings | Methods | Pr@70 | Pr@80 | Pr@90 | IoU | overall IoU |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, metrics in results.items():
        number, method = name.split(" ", 1)
        precision = metrics["precision"]
        cells = [precision["Pr@70"], precision["Pr@80"], precision["Pr@90"], metrics["mean_iou"], metrics["overall_iou"]]
        lines.append(f"| {number} | {method} | " + " | ".join(f"{100 * value:.2f}" for value in cells) + " |")
    return "\n".join(lines)


def _folder(name: str) -> str:
    return name.replace("#", "").replace(".", "").replace("/", "").replace(" ", "_").lower()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rerun the paper's ablations (tables II-III).")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (e.g. from `haris data synth`)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and the table")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget per ablation")
    parser.add_argument("--split", default="val")
    parser.add_argument("--only", help="comma-separated subset, e.g. '#4 Ours,#5 w/o FB'")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="override applied to every run")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(ABLATIONS)
    unknown = [name for name in names if name not in ABLATIONS]
    if unknown:
        parser.error(f"unknown ablations {unknown}; choose from {list(ABLATIONS)}")
    results = run_ablations(args.preset, args.data, args.out, args.minutes, args.split, names, args.overrides)
    table = format_table(results)
    (args.out / "ablations.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "ablations.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
