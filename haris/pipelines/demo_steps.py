"""The steps of `haris demo`. Each takes the demo folder, the settings and whether it resumes an
interrupted run of itself (StepRunner), and returns a small JSON-able summary."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from haris.pipelines.demo_settings import DemoSettings

DATA, RUN, EVAL, BUNDLE, PREDICTIONS, BENCH = "data", "run", "eval", "bundle", "predictions", "bench"


def write_data(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.data.synthetic.synthetic_writer import write_synthetic_dataset

    shutil.rmtree(out / DATA, ignore_errors=True)  # a half-written dataset from an interrupted run
    return write_synthetic_dataset(out / DATA, settings.images, image_size=256, seed=0, workers=settings.threads)


def train_model(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.config import load_run_config
    from haris.data.dataset_source import DatasetSource
    from haris.train.training_run import resume_training, train

    run_dir = out / RUN
    if resume and (run_dir / "last").exists():  # interrupted earlier: continue exactly where it stopped
        metrics = resume_training(run_dir)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
        run = load_run_config(
            "tiny", [f"train.time_limit_minutes={settings.train_minutes}", f"train.max_eval_expressions={settings.eval_expressions}"]
        )
        metrics = train(run, run_dir, DatasetSource(out / DATA))
    return {"last_val_mean_iou": metrics.get("mean_iou"), "last_val_overall_iou": metrics.get("overall_iou")}


def evaluate_model(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.data.dataset_source import DatasetSource
    from haris.evaluation.evaluation_run import run_evaluation

    metrics = run_evaluation(
        out / RUN, DatasetSource(out / DATA, "val"), out / EVAL, overlays=settings.overlays, max_expressions=settings.eval_expressions
    )
    return {key: metrics[key] for key in ("count", "mean_iou", "overall_iou", "precision")}


def export_model(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.checkpoint.checkpoint_io import resolve_checkpoint
    from haris.export.bundle_export import export_bundle

    bundle = export_bundle(resolve_checkpoint(out / RUN), out / BUNDLE, overwrite=True)
    return {"bundle": str(bundle)}


def build_engines(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.runtime.cuda_memory import gpu_properties

    gpu = gpu_properties()
    if gpu is None:
        return {"skipped": "no CUDA GPU on this machine: engines are built and run where one is (`haris build BUNDLE`)"}
    from haris.export.bundle_engines import build_bundle_engines

    plans = build_bundle_engines(out / BUNDLE, "fp16", timing_cache=out / "timing.cache")
    return {"gpu": gpu, "engines": [str(plan) for plan in plans]}


def predict_demo_scenes(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    """Bundle predictions (onnxruntime FP32) on a few val scenes, with their own expressions."""
    from haris.data.dataset_source import DatasetSource
    from haris.runtime.predict_run import predict_images
    from haris.runtime.predictor import Predictor

    dataset = DatasetSource(out / DATA, "val").open()
    predictor = Predictor.from_bundle(out / BUNDLE, precision="fp32")
    written = []
    for record in dataset.records[: settings.overlays]:
        image = dataset.image_dir / record.file_name
        target = out / PREDICTIONS / image.stem
        predict_images(predictor, [image], list(record.sentences), target, progress=False)
        written.append(str(target))
    return {"folders": written}


def check_parity(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    """Every bundle runtime against eager FP32 on the val split (TensorRT where a GPU is)."""
    from haris.benchmarks.bundle_source import source_checkpoint
    from haris.benchmarks.parity_bench import run_parity
    from haris.data.dataset_source import DatasetSource

    report = run_parity(
        source_checkpoint(out / BUNDLE),
        out / BUNDLE,
        DatasetSource(out / DATA, "val"),
        out=out / BENCH / "parity",
        max_expressions=settings.eval_expressions,
        threads=settings.threads,
        worst_cases=settings.overlays,
    )
    return {"passed": report["passed"], "failures": report["failures"]}


def measure_speed(out: Path, settings: DemoSettings, resume: bool) -> dict[str, Any]:
    from haris.benchmarks.bundle_source import source_checkpoint
    from haris.benchmarks.speed_bench import run_speed

    run_speed(
        source_checkpoint(out / BUNDLE),
        out / BUNDLE,
        batches=(1,),
        expressions_per_image=settings.expressions_per_image,
        threads=settings.threads,
        iterations=settings.speed_iterations,
        warmup=1,
        out=out / BENCH / "speed",
    )
    return {"report": str(out / BENCH / "speed" / "speed.md")}
