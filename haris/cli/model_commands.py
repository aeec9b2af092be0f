"""The model commands of `haris`: config, init, train, eval, data synth. Each parses and calls one function."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import yaml

from haris.data.dataset_source import add_dataset_arguments
from haris.errors import HarisError


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    config = _add(commands, "config", "print a preset or config file, with overrides applied, as YAML", _run_config)
    config.add_argument("--list", action="store_true", help="list the bundled presets")
    init = _add(commands, "init", "build a model from a config (reading its encoder weights) and save a checkpoint", _run_init)
    init.add_argument("--out", required=True, help="checkpoint directory to write")
    init.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint directory")
    _add_train(commands)
    _add_eval(commands)
    _add_data(commands)


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = _add(commands, "train", "train a model (one process, or under torchrun --nproc_per_node N)", _run_train)
    add_dataset_arguments(train, required=False, split=False, skip_bad=False)  # train/val splits and skipping: the recipe's
    train.add_argument("--out", help="run directory to write")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped")


def _add_eval(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on a dataset split (one process or torchrun)")
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint or run directory (its best/ checkpoint)")
    add_dataset_arguments(evaluate)
    evaluate.add_argument("--threshold", type=float, default=0.0, help="mask logit threshold (default 0: probability 0.5)")
    evaluate.add_argument("--out", help="output folder (default: CHECKPOINT/eval_<split>)")
    evaluate.add_argument("--overlays", type=int, default=0, metavar="N", help="write overlays of the N best and N worst expressions")
    evaluate.add_argument("--max-expressions", type=int, default=0, help="evaluate only the first N expressions")
    evaluate.set_defaults(run=_run_eval)


def _add_data(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="dataset tools").add_subparsers(title="data commands", metavar="COMMAND")
    synth = data.add_parser("synth", help="write the synthetic default dataset in the refer format")
    synth.add_argument("--out", required=True, help="dataset folder to write")
    synth.add_argument("--count", type=int, default=2000, help="how many images to draw (default %(default)s)")
    synth.add_argument("--image-size", type=int, default=256)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--workers", type=int, default=2, help="processes drawing images")
    synth.set_defaults(run=_run_synth)


def _add(commands: argparse._SubParsersAction, name: str, help_text: str, run: Callable) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.add_argument("config", nargs="?", default="tiny", help="preset name (see `haris config --list`) or YAML path")
    command.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted override, e.g. fusion.feedback=false or train.lr=3e-4",
    )
    command.set_defaults(run=run)
    return command


def _run_config(args: argparse.Namespace) -> None:
    from haris.config import config_to_dict, list_presets, load_run_config

    if args.list:
        print("\n".join(list_presets()))
        return
    print(yaml.safe_dump(config_to_dict(load_run_config(args.config, args.overrides)), sort_keys=False), end="")


def _run_init(args: argparse.Namespace) -> None:
    from pathlib import Path

    from haris.checkpoint import save_checkpoint
    from haris.config import load_model_config
    from haris.modeling import build_model, count_parameters

    if Path(args.out).exists() and not args.overwrite:
        raise HarisError(f"{args.out} exists; pass --overwrite to replace it")
    model = build_model(load_model_config(args.config, args.overrides), load_pretrained=True)
    save_checkpoint(model, args.out)
    print(f"wrote {args.out}: {count_parameters(model) / 1e6:.1f} M parameters, {count_parameters(model, True) / 1e6:.2f} M trainable")


def _run_train(args: argparse.Namespace) -> None:
    from haris.config import load_run_config
    from haris.data.dataset_source import DatasetSource
    from haris.train.training_run import resume_training, train

    if args.resume:
        metrics = resume_training(args.resume)
    else:
        if not (args.data and args.out):
            raise HarisError("haris train needs --data and --out (or --resume RUN_DIR)")
        run = load_run_config(args.config, args.overrides)
        metrics = train(run, args.out, DatasetSource.from_arguments(args))
    if metrics:
        print(f"val mean IoU {metrics['mean_iou']:.4f}, overall IoU {metrics['overall_iou']:.4f}")


def _run_eval(args: argparse.Namespace) -> None:
    from pathlib import Path

    from haris.data.dataset_source import DatasetSource
    from haris.evaluation.evaluation_run import run_evaluation

    out = args.out or str(Path(args.checkpoint) / f"eval_{args.split}")
    metrics = run_evaluation(args.checkpoint, DatasetSource.from_arguments(args), out, args.threshold, args.overlays, args.max_expressions)
    print(json.dumps(metrics, indent=2))
    print(f"wrote {out}/metrics.json and results.jsonl")


def _run_synth(args: argparse.Namespace) -> None:
    from haris.data.synthetic.synthetic_writer import write_synthetic_dataset

    summary = write_synthetic_dataset(args.out, args.count, args.image_size, args.seed, args.workers)
    print(f"wrote {args.out}: {json.dumps(summary)}")
