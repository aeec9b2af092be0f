"""The `haris` command. Each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import yaml

from haris import __version__
from haris.errors import HarisError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        args.run(args)
    except HarisError as error:
        print(f"haris: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("haris: interrupted", file=sys.stderr)
        return 130
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haris", description="HARIS referring image segmentation toolkit.")
    parser.add_argument("--version", action="version", version=f"haris {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add(commands, "config", "print a preset or config file, with overrides applied, as YAML", _run_config)
    init = _add(commands, "init", "build a model from a config (reading its encoder weights) and save a checkpoint", _run_init)
    init.add_argument("--out", required=True, help="checkpoint directory to write")
    init.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint directory")
    return parser


def _add(commands: argparse._SubParsersAction, name: str, help_text: str, run: Callable) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.add_argument("config", nargs="?", default="tiny", help="preset name (see `haris config --list`) or YAML path")
    command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="dotted override, e.g. fusion.feedback=false")
    if name == "config":
        command.add_argument("--list", action="store_true", help="list the bundled presets")
    command.set_defaults(run=run)
    return command


def _run_config(args: argparse.Namespace) -> None:
    from haris.config import config_to_dict, list_presets, load_model_config

    if args.list:
        print("\n".join(list_presets()))
        return
    print(yaml.safe_dump(config_to_dict(load_model_config(args.config, args.overrides)), sort_keys=False), end="")


def _run_init(args: argparse.Namespace) -> None:
    from pathlib import Path

    from haris.checkpoint import save_checkpoint
    from haris.config import load_model_config
    from haris.modeling import build_model, count_parameters

    if Path(args.out).exists() and not args.overwrite:
        raise HarisError(f"{args.out} exists; pass --overwrite to replace it")
    model = build_model(load_model_config(args.config, args.overrides))
    save_checkpoint(model, args.out)
    print(f"wrote {args.out}: {count_parameters(model) / 1e6:.1f} M parameters, {count_parameters(model, True) / 1e6:.2f} M trainable")


if __name__ == "__main__":
    sys.exit(main())
