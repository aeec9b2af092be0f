"""`haris train`: a run directory from a preset and a dataset, or the continuation of one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from haris import __version__
from haris.atomic_file import write_json_atomically
from haris.config.config_io import config_from_dict, config_to_dict
from haris.config.run_config import RunConfig
from haris.cpu_features import cpu_features
from haris.data.dataset_source import DatasetSource
from haris.distributed_context import DistributedContext
from haris.errors import HarisError
from haris.train.trainer import LAST, Trainer

RUN_FILE = "run.json"


def train(run: RunConfig, run_dir: str | Path, source: DatasetSource, show_progress: bool = True) -> dict[str, Any]:
    """Train `run` on the `source` dataset's train split into the new run directory `run_dir`,
    validating on `train.eval_split`. Returns the last validation metrics."""
    run_dir = Path(run_dir)
    context = DistributedContext.from_environment()
    try:
        _start_run(run_dir, run, source, context)
        return _fit(run, source, run_dir, context, show_progress, resumed=False)
    finally:
        context.close()


def resume_training(run_dir: str | Path, show_progress: bool = True) -> dict[str, Any]:
    """Continue the run in `run_dir` exactly where it stopped; its config and dataset come from its
    own run.json. Returns the last validation metrics."""
    run_dir = Path(run_dir)
    context = DistributedContext.from_environment()
    try:
        run, source = _read_run(run_dir)
        return _fit(run, source, run_dir, context, show_progress, resumed=True)
    finally:
        context.close()


def _fit(run: RunConfig, source: DatasetSource, run_dir: Path, context: DistributedContext, show_progress: bool, resumed: bool) -> dict[str, Any]:
    source = replace(source, skip_bad=run.train.skip_bad_data)  # the recipe decides, as for every run of it
    train_data = source.with_split("train").open()
    val_data = source.with_split(run.train.eval_split).open()
    trainer = Trainer(run, train_data, val_data, run_dir, context, show_progress, resume=resumed)
    if context.is_main:
        _record_session(run_dir, trainer, resumed)
    if resumed:
        trainer.restore()
    return trainer.fit()


def _start_run(run_dir: Path, run: RunConfig, source: DatasetSource, context: DistributedContext) -> None:
    if (run_dir / LAST).exists():
        raise HarisError(f"{run_dir} already holds a run; continue it with --resume or choose another --out")
    if context.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {"haris_version": __version__, "config": config_to_dict(run), "data": source.to_dict()}
        (run_dir / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    context.barrier()


def _record_session(run_dir: Path, trainer: Trainer, resumed: bool) -> None:
    """Append this process's machine and autocast choice to run.json: a resumed run may continue on
    another CPU, where `train.cpu_bf16=auto` can resolve differently."""
    path = run_dir / RUN_FILE
    record = json.loads(path.read_text(encoding="utf-8"))
    session = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "resumed": resumed,
        "device": str(trainer.context.device),
        "processes": trainer.context.world_size,
        "cpu": cpu_features().summary(),
        **trainer.autocast.record(),
    }
    record.setdefault("sessions", []).append(session)
    write_json_atomically(path, record)


def _read_run(run_dir: Path) -> tuple[RunConfig, DatasetSource]:
    path = run_dir / RUN_FILE
    if not path.is_file() or not (run_dir / LAST).is_dir():
        raise HarisError(f"nothing to resume in {run_dir}: it needs {RUN_FILE} and a {LAST}/ checkpoint")
    record = json.loads(path.read_text(encoding="utf-8"))
    return config_from_dict(RunConfig, record["config"]), DatasetSource.from_dict(record["data"])
