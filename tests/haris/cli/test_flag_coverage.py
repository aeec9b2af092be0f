"""Every subcommand and every option of `haris` runs in at least one test.

The parser (`haris.cli.build_parser`) is walked for every (command, option) pair, and the test files
are read for the argument lists they hand to the command: a list literal that starts with a command
name (`main(["export", ...])`) or follows `"-m", "haris.cli"` (a subprocess). Its string items count,
with those of a list it unpacks by name (`*arguments`, assigned in the same file) and of the
expressions inside it. A new option fails this test until a test runs it, with the option named.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from haris.cli import build_parser

TESTS = Path(__file__).resolve().parents[2]
# The logging options every command takes (haris/cli adds them to each): listed and counted once, as the top level's.
SHARED = {"-v", "--verbose", "-q", "--quiet"}
HOW = "add a test that runs it (argv in, the effect checked); tests/haris/cli/test_flag_coverage.py says what counts"


def test_every_subcommand_and_option_runs_in_some_test():
    missing = untested_options(build_parser())
    assert not missing, "options that no test runs: " + ", ".join(missing) + f"; {HOW}"


def test_every_subcommand_runs_in_some_test():
    used = argv_options_in_tests()
    commands = [" ".join(command) for command, _ in parser_options(build_parser()) if command and command not in used]
    assert not commands, "subcommands that no test runs: " + ", ".join(f"haris {name}" for name in commands) + f"; {HOW}"


def test_an_option_added_without_a_test_is_named():
    parser = build_parser()
    serve = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices["serve"]
    serve.add_argument("--an-option-without-a-test", action="store_true")
    assert untested_options(parser) == ["haris serve --an-option-without-a-test"]


def untested_options(parser: argparse.ArgumentParser) -> list[str]:
    """`haris COMMAND --option` for each option that no test's argv gives its command."""
    used = argv_options_in_tests()
    return [
        " ".join(["haris", *command, option])
        for command, options in parser_options(parser)
        for option in options
        if not options[option] & used.get(command, set())
    ]


def parser_options(parser: argparse.ArgumentParser, command: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, set[str]]]]:
    """(command path, {option: its spellings}) for the parser and each subcommand below it; --help left out."""
    options = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from parser_options(subparser, (*command, name))
        elif action.option_strings and not isinstance(action, argparse._HelpAction) and not (command and SHARED & set(action.option_strings)):
            options[max(action.option_strings, key=len)] = set(action.option_strings)
    if options or command:
        yield command, options


@cache
def argv_options_in_tests() -> dict[tuple[str, ...], set[str]]:
    """For each command path, the option strings some test's argv gives it."""
    tree = dict(parser_options(build_parser()))
    used: dict[tuple[str, ...], set[str]] = {}
    for path in TESTS.rglob("*.py"):  # conftest.py and tests/support/ too
        module = ast.parse(path.read_text(), str(path))
        for items in _argv_candidates(module, _named_lists(module)):
            command, rest = _command_of(items, tree)
            if command is not None:
                spellings = _spellings(rest)
                used.setdefault(command, set()).update(spellings - SHARED)
                used.setdefault((), set()).update(spellings & SHARED)
    return used


def _argv_candidates(module: ast.Module, lists: dict[str, list[ast.AST]]) -> Iterator[list[str | None]]:
    """The items of every list literal in the file; for `argv += [...]`, the argv that name was first given
    followed by the added items (the options continue it)."""
    for node in ast.walk(module):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and isinstance(node.value, ast.List):
            first = lists.get(node.target.id)
            yield [*(_flat_items(first[0], lists) if first else []), *_flat_items(node.value, lists)]
        elif isinstance(node, ast.List):
            yield _flat_items(node, lists)


def _named_lists(module: ast.Module) -> dict[str, list[ast.AST]]:
    """Each name assigned a list or tuple literal in the file (all its assignments: the argv may take any)."""
    named: dict[str, list[ast.AST]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    named.setdefault(target.id, []).append(node.value)
    return named


def _flat_items(node: ast.List | ast.Tuple, lists: dict[str, list[ast.AST]]) -> list[str | None]:
    """The list's items in order, unpacked names expanded; a string per constant, None for anything computed
    (whose own strings follow it, so `--set` inside a comprehension counts)."""
    items: list[str | None] = []
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            items.append(element.value)
        elif isinstance(element, ast.Starred) and isinstance(element.value, ast.Name) and element.value.id in lists:
            for value in lists[element.value.id]:
                items.extend(_flat_items(value, lists))
        else:
            items.append(None)
            items.extend(sub.value for sub in ast.walk(element) if isinstance(sub, ast.Constant) and isinstance(sub.value, str))
    return items


def _command_of(items: list[str | None], tree: dict) -> tuple[tuple[str, ...] | None, list[str | None]]:
    """The command path an argv names (at its start, or after `-m haris.cli`; logging options may come
    first) and the items after it, those options included; None when the list is no argv. Options of
    the top-level parser (--version) count as the command ()."""
    for origin in [0] + [index + 1 for index, item in enumerate(items) if item == "haris.cli"]:
        start = origin
        while start < len(items) and items[start] in SHARED:  # `haris -v data synth ...`
            start += 1
        command, index = (), start
        while index < len(items) and (*command, items[index]) in tree:
            command, index = (*command, items[index]), index + 1
        if command or origin:
            return command, items[origin:start] + items[index:]
    return None, []


def _spellings(items: list[str | None]) -> set[str]:
    """Option strings among the items (`--name=value` counts as --name)."""
    return {item.split("=", 1)[0] for item in items if item and item.startswith("-")}
