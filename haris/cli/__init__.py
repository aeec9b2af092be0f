"""The `haris` command: one module per group of subcommands, each of which parses its arguments and
calls one library function (`python -m haris.cli` runs it too)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from haris import __version__
from haris.cli.bench_commands import add_bench_commands
from haris.cli.deploy_commands import add_deploy_commands
from haris.cli.label_command import add_label_command
from haris.cli.model_commands import add_model_commands
from haris.cli.serve_commands import add_serve_command
from haris.errors import HarisError
from haris.log_output import configure_logging

LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}  # -q, neither, -v


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    configure_logging(LEVELS[args.verbosity])
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
    add_verbosity_options(parser, top_level=True)
    return parser


def add_verbosity_options(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    """-v / -q on `parser` and every command under it, so `haris -q demo` and `haris demo -q` both work
    (a command's own default leaves the top level's choice in place)."""
    group = parser.add_mutually_exclusive_group()
    default = 0 if top_level else argparse.SUPPRESS
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1, default=default, help="also log debugging details")
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1, default=default, help="log warnings and errors only")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):  # aliases share one parser
                add_verbosity_options(command)
