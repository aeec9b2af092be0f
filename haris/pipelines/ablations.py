"""Tables II and III of the paper, rerun on a dataset (the synthetic default, by default).

    python -m haris.pipelines.ablations --data data/synthetic --out runs/ablations --minutes 10

Trains the preset once per ablation under the same recipe and time budget, evaluates each best
checkpoint on the split, and writes `ablations.json` and `ablations.md` (Pr@70/80/90 and mean IoU,
the paper's columns, plus overall IoU). Each run's training and evaluation are StepRunner steps:
rerun with the same settings, finished ones are reused and an interrupted training resumes (it is
never evaluated as if it had finished); with other settings, they run again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from haris.config import load_run_config
from haris.data.dataset_source import DatasetSource, add_dataset_arguments
from haris.evaluation.evaluation_run import run_evaluation
from haris.log_output import configure_logging
from haris.pipelines.step_runner import StepRunner
from haris.train.training_run import resume_training, train

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


def run_ablations(preset: str, source: DatasetSource, out: Path, minutes: float, names: Sequence[str], overrides: Sequence[str] = ()) -> dict:
    """Train and evaluate every named ablation on `source` (its train split; evaluated on its split); return {name: metrics}."""
    return {
        name: _run_ablation(name, preset, source, out / _folder(name), [*overrides, *ABLATIONS[name], f"train.time_limit_minutes={minutes}"])
        for name in names
    }


def _run_ablation(name: str, preset: str, source: DatasetSource, run_dir: Path, overrides: list[str]) -> dict:
    runner = StepRunner(run_dir)
    inputs = {"preset": preset, "overrides": overrides, "data": source.to_dict()}
    runner.run("train", f"{name}: train", inputs, lambda resume: _train(preset, overrides, run_dir, source, resume))
    metrics = runner.run(
        "eval",
        f"{name}: evaluate",
        {"split": source.split},
        lambda resume: run_evaluation(run_dir / "best", source, run_dir / f"eval_{source.split}"),
    )
    metrics.pop("seconds")
    return metrics


def _train(preset: str, overrides: list[str], run_dir: Path, source: DatasetSource, resume: bool) -> dict:
    if resume and (run_dir / "last").is_dir():
        return resume_training(run_dir)
    for leftover in run_dir.iterdir():  # another setting's run, or one that never checkpointed: start afresh
        if leftover.is_dir() and leftover.name != "steps":
            shutil.rmtree(leftover)
        elif leftover.is_file():
            leftover.unlink()
    return train(load_run_config(preset, overrides), run_dir, source)


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
    configure_logging()  # run as `python -m`, outside the `haris` command
    parser = argparse.ArgumentParser(description="Rerun the paper's ablations (tables II-III).")
    parser.add_argument("--preset", default="tiny")
    add_dataset_arguments(parser, skip_bad=False)
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and the table")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget per ablation")
    parser.add_argument("--only", help="comma-separated subset, e.g. '#4 Ours,#5 w/o FB'")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="override applied to every run")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(ABLATIONS)
    unknown = [name for name in names if name not in ABLATIONS]
    if unknown:
        parser.error(f"unknown ablations {unknown}; choose from {list(ABLATIONS)}")
    results = run_ablations(args.preset, DatasetSource.from_arguments(args), args.out, args.minutes, names, args.overrides)
    table = format_table(results)
    (args.out / "ablations.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "ablations.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
