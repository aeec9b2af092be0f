"""The `haris` command: one module per group of subcommands, each of which parses its arguments and
calls one library function (`python -m haris.cli` runs it too)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from haris import __version__
from haris.cli.bench_commands import add_bench_commands
from haris.cli.deploy_commands import add_deploy_commands
from haris.cli.label_command import add_label_command
from haris.cli.model_commands import add_model_commands
from haris.cli.serve_commands import add_serve_command
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
    add_model_commands(commands)
    add_deploy_commands(commands)
    add_serve_command(commands)
    add_label_command(commands)
    add_bench_commands(commands)
    return parser
