"""The benchmark commands of `haris`: bench parity, speed, serve, label, int8-kernels and report.

Each parses its arguments and calls one library function of haris.benchmarks. A parity run that
fails its tolerances still writes its report, then exits non-zero (a HarisError naming every
failed check), so CI can gate a bundle on it.
"""

from __future__ import annotations

import argparse

from haris.benchmarks.bench_backends import PARITY_BACKENDS
from haris.data.dataset_source import add_dataset_arguments
from haris.errors import HarisError


def add_bench_commands(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="parity and speed benchmarks of a bundle, and their reports")
    actions = bench.add_subparsers(title="bench commands", metavar="COMMAND")
    _add_parity(actions)
    _add_speed(actions)
    _add_serve_load(actions)
    _add_label_throughput(actions)
    _add_int8_kernels(actions)
    report = actions.add_parser("report", help="merge benchmark run folders into one Markdown page")
    report.add_argument("runs", nargs="+", metavar="DIR", help="folders written by `haris bench parity` or `haris bench speed`")
    report.add_argument("--out", required=True, help="Markdown file to write (plots are linked relative to it)")
    report.set_defaults(run=_run_report)
    demo = commands.add_parser("demo", help="the main job: synthetic data, training, evaluation, export, benchmarks, one report")
    demo.add_argument("--out", default="runs/demo", help="demo folder (default: %(default)s); a rerun skips finished steps")
    demo.add_argument("--train-minutes", type=float, help="training time limit (default: 10 minutes; 0.1 with --quick)")
    demo.add_argument("--quick", action="store_true", help="every step on 16 images, about 2.5 minutes on 2 cores (what CI runs)")
    demo.set_defaults(run=_run_demo)


def _add_parity(actions: argparse._SubParsersAction) -> None:
    parity = actions.add_parser("parity", help="compare a bundle's runtimes with eager FP32 on a dataset split (non-zero exit on failure)")
    _add_model_arguments(parity)
    add_dataset_arguments(parity)
    parity.add_argument(
        "--backends",
        default=PARITY_BACKENDS,
        help="comma-separated backend[:precision][@device]; a bare backend runs its default precisions (default: %(default)s)",
    )
    parity.add_argument("--max-expressions", type=int, default=0, help="compare only the split's first N expressions")
    parity.add_argument("--worst", type=int, default=4, metavar="N", help="overlays of the N least-agreeing expressions per backend")
    parity.add_argument("--stage-samples", type=int, default=2, metavar="N", help="refs whose stage inputs and outputs are compared")
    parity.add_argument("--reference-device", default="cpu", help="device of the eager FP32 reference (default: cpu)")
    parity.add_argument(
        "--localize",
        action="store_true",
        help="for each stage past its bound, name the first tensor of its graph that diverges from the FP32 graph "
        "(every tensor marked, compared with Polygraphy; onnxruntime FP16/INT8 graphs; needs the export extra)",
    )
    parity.set_defaults(run=_run_parity)


def _add_serve_load(actions: argparse._SubParsersAction) -> None:
    load = actions.add_parser("serve", help="`haris serve` under load (1/4/16 clients, answers by status) vs the in-process Predictor; replica kill")
    load.add_argument("bundle", help="bundle directory")
    load.add_argument("--out", default="runs/serve_load", help="folder for serve_load.json and .md (default: %(default)s)")
    load.add_argument("--clients", default="1,4,16", help="comma-separated concurrent clients per level (default: %(default)s)")
    load.add_argument("--seconds", type=float, default=15.0, help="measured seconds per level (default 15; the kill run twice that)")
    load.add_argument("--replicas", type=int, default=2, help="service replicas, sharing the machine's cores (default 2)")
    load.add_argument("--port", type=int, default=8431)
    load.add_argument("--max-queued-requests", type=int, default=32, help="each replica's queue bound; past it 503 (default 32)")
    load.set_defaults(run=_run_serve_load)


def _run_serve_load(args: argparse.Namespace) -> None:
    from haris.benchmarks.serve_load import run_serve_load

    clients = tuple(int(part) for part in args.clients.split(",") if part.strip())
    report = run_serve_load(args.bundle, args.out, clients, args.seconds, args.replicas, port=args.port, max_queued_requests=args.max_queued_requests)
    print(f"wrote {args.out}/serve_load.md: {report['levels'][-1]['throughput']} requests/s at {clients[-1]} clients")


def _add_label_throughput(actions: argparse._SubParsersAction) -> None:
    label = actions.add_parser("label", help="`haris label` images/s on Ray Data against the same work in plain processes (label extra)")
    label.add_argument("bundle", help="bundle directory")
    label.add_argument("--out", default="runs/label_throughput", help="folder for the images and label_throughput.json / .md (default: %(default)s)")
    label.add_argument("--images", type=int, default=1600, help="demo scenes to label (default %(default)s)")
    label.add_argument("--workers", type=int, default=2, help="plain processes, and Ray actors, of one thread each (default %(default)s)")
    label.add_argument("--address", help="label on this Ray cluster (e.g. two loopback nodes) instead of Ray started here")
    label.add_argument("--shard-size", type=int, default=64, help="images per shard and actor task: seconds of work (default %(default)s)")
    label.add_argument("--batch-size", type=int, default=8, help="images per Predictor batch (default %(default)s)")
    label.add_argument("--rounds", type=int, default=3, help="plain then Ray, this many times; the shares are medians (default %(default)s)")
    label.set_defaults(run=_run_label_throughput)


def _run_label_throughput(args: argparse.Namespace) -> None:
    from haris.benchmarks.label_throughput import run_label_throughput

    for option in ("images", "workers", "rounds"):  # --shard-size and --batch-size: LabelSettings checks them
        if getattr(args, option) < 1:
            raise HarisError(f"--{option} must be at least 1, not {getattr(args, option)}")
    report = run_label_throughput(args.bundle, args.out, args.images, args.workers, args.address, args.shard_size, args.batch_size, args.rounds)
    share = 100 * report["steady_share_of_in_process"]
    print(f"wrote {args.out}/label_throughput.md: Ray's steady throughput {share:.0f}% of the plain processes' (median of {args.rounds} rounds)")


def _add_int8_kernels(actions: argparse._SubParsersAction) -> None:
    check = actions.add_parser(
        "int8-kernels", help="each INT8 stage graph against eager with onnxruntime's integer kernels and as float simulation (export extra)"
    )
    _add_model_arguments(check)
    check.add_argument("--against", metavar="DIR", help="the folder of this command's run on another CPU: compare the same graphs' outputs with it")
    check.set_defaults(run=_run_int8_kernels)


def _run_int8_kernels(args: argparse.Namespace) -> None:
    from haris.benchmarks.int8_kernel_check import check_int8_kernels, runs_past_bounds

    missed = runs_past_bounds(check_int8_kernels(args.bundle, args.out, args.checkpoint, args.against, args.threads))
    print(f"wrote {args.out}/int8_kernels.md: " + (f"past the INT8 bounds: {', '.join(missed)}" if missed else "every run within the INT8 bounds"))


def _add_speed(actions: argparse._SubParsersAction) -> None:
    speed = actions.add_parser("speed", help="per-stage latency, throughput, memory and encoder FLOP/s of each runtime")
    _add_model_arguments(speed)
    speed.add_argument(
        "--backends",
        help="comma-separated backend[:precision][@device]; a bare backend runs its default "
        "precisions (default: eager torch [fp32, + bf16 where the CPU runs it natively, + fp32/fp16 on a GPU], "
        "onnxruntime fp32 and fp16, tensorrt fp16)",
    )
    speed.add_argument("--images-per-batch", default="1,4", help="images per batch N, comma-separated (default: %(default)s)")
    speed.add_argument("--expressions-per-image", default="1,4,16", help="expressions per image E, comma-separated (default: %(default)s)")
    speed.add_argument("--iterations", type=int, default=10, help="timed passes per shape (default: %(default)s)")
    speed.add_argument("--warmup", type=int, default=2, help="untimed passes per shape first (default: %(default)s)")
    speed.add_argument("--image-shape", default="480x640", help="HxW of the synthetic photos (default: %(default)s)")
    speed.set_defaults(run=_run_speed)


def _add_model_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--checkpoint",
        help="checkpoint or run directory the bundle was exported from, the eager reference "
        "(default: the one its manifest records; another checkpoint is refused)",
    )
    command.add_argument("--bundle", required=True, help="bundle directory")
    command.add_argument("--threads", type=int, help="threads for torch, onnxruntime and pre/post-processing (default: all cores)")
    command.add_argument("--out", required=True, help="folder for the JSON, Markdown and PNG report")


def _run_parity(args: argparse.Namespace) -> None:
    from haris.benchmarks.bench_report import parity_markdown
    from haris.benchmarks.bundle_source import source_checkpoint
    from haris.benchmarks.parity_bench import run_parity
    from haris.data.dataset_source import DatasetSource

    report = run_parity(
        source_checkpoint(args.bundle, args.checkpoint),
        args.bundle,
        DatasetSource.from_arguments(args),
        args.backends,
        args.out,
        args.max_expressions,
        args.threads,
        args.stage_samples,
        args.worst,
        reference_device=args.reference_device,
        progress=True,
        localize=args.localize,
    )
    print(parity_markdown(report))
    print(f"wrote {args.out}/parity.json, parity.md, mask_agreement.png and overlays/")
    if not report["passed"]:
        raise HarisError("parity failed:\n  " + "\n  ".join(report["failures"]))


def _run_speed(args: argparse.Namespace) -> None:
    from haris.benchmarks.bench_report import speed_markdown
    from haris.benchmarks.bundle_source import source_checkpoint
    from haris.benchmarks.speed_bench import run_speed

    report = run_speed(
        source_checkpoint(args.bundle, args.checkpoint),
        args.bundle,
        args.backends,
        _numbers(args.images_per_batch, "--images-per-batch"),
        _numbers(args.expressions_per_image, "--expressions-per-image"),
        args.threads,
        args.iterations,
        args.warmup,
        args.out,
        _image_shape(args.image_shape),
    )
    print(speed_markdown(report))
    print(f"wrote {args.out}/speed.json, speed.md, stage_latency.png and throughput.png")


def _run_report(args: argparse.Namespace) -> None:
    from haris.benchmarks.bench_report import merge_reports

    merge_reports(args.runs, args.out)
    print(f"wrote {args.out} from {len(args.runs)} run folder(s)")


def _numbers(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HarisError(f"{option} takes comma-separated whole numbers, e.g. 1,4; got {text!r}") from None


def _image_shape(text: str) -> tuple[int, int]:
    height, separator, width = text.lower().partition("x")
    if not (separator and height.isdigit() and width.isdigit()):
        raise HarisError(f"--image-shape takes HxW, e.g. 480x640; got {text!r}")
    return int(height), int(width)


def _run_demo(args: argparse.Namespace) -> None:
    import dataclasses

    from haris.pipelines.demo_pipeline import run_demo
    from haris.pipelines.demo_settings import DemoSettings

    settings = DemoSettings.quick() if args.quick else DemoSettings()
    if args.train_minutes is not None:
        settings = dataclasses.replace(settings, train_minutes=args.train_minutes)
    report = run_demo(args.out, settings)
    print(f"report: {report}")
