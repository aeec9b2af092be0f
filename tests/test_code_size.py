"""The style gate of the project: no source file over 300 lines, no function over 50 (decorators
excluded, signature and docstring included), anywhere in the repository's code and tests."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("haris", "runtime", "export", "serve", "benchmarks", "cpp_ops", "configs", "scripts", "tests")
MAX_FILE_LINES, MAX_FUNCTION_LINES = 300, 50
SOURCE_SUFFIXES = {".py", ".sh", ".cpp", ".cu", ".h"}


def source_files() -> list[Path]:
    files = [path for folder in FOLDERS for path in (REPO / folder).rglob("*") if path.suffix in SOURCE_SUFFIXES]
    return sorted([*files, REPO / "setup.py"])


def test_the_gate_sees_the_sources():
    names = {path.relative_to(REPO).as_posix() for path in source_files()}
    assert {"haris/cli/__init__.py", "serve/segmenter.py", "scripts/demo.sh", "setup.py", "tests/test_code_size.py"} <= names


def test_no_file_is_over_300_lines():
    counts = {str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines()) for path in source_files()}
    long = {name: count for name, count in counts.items() if count > MAX_FILE_LINES}
    assert not long, f"split these files (lines): {long}"


def test_no_function_is_over_50_lines():
    long = {}
    for path in source_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (count := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                long[f"{path.relative_to(REPO)}:{node.lineno} {node.name}"] = count
    assert not long, f"split these functions (lines): {long}"
