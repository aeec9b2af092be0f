"""DESIGN.md's dependency rules: checked in fresh interpreters and on the source's import statements."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "torchvision", "onnx", "onnxruntime", "tensorrt", "tensorrt_rtx", "open_clip", "segment_anything")


def imported_after(module: str) -> set[str]:
    """Top-level modules and haris submodules present after importing `module` in a new interpreter."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["haris", "haris.config", "haris.errors", "haris.runtime", "haris.runtime.image_transforms", "haris.runtime.predictor", "haris.runtime.bundle_tokenizer", "haris.cpp_ops", "haris.evaluation.ris_metrics"])
def test_light_modules_import_no_heavy_library(module):
    loaded = imported_after(module)
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}


def test_model_imports_no_loss_optimizer_loop_onnx_or_tensorrt():
    loaded = imported_after("haris.modeling")
    forbidden = {"haris.losses", "haris.train", "onnx", "onnxruntime", "tensorrt", "tensorrt_rtx", "haris.export"}
    assert not loaded & forbidden


def python_files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_runtime_sources_import_torch_only_in_the_torch_backend():
    for path in python_files("runtime"):
        if path.name.startswith("torch_backend"):
            continue
        torch_imports = {n for n in imports_of(path) if n.split(".")[0] in ("torch", "torchvision")}
        haris_imports = {n for n in imports_of(path) if n.startswith(("haris.train", "haris.export", "haris.modeling"))}
        assert not torch_imports | haris_imports, path


def test_export_sources_never_import_training():
    for path in python_files("export"):
        assert not {n for n in imports_of(path) if n.startswith(("haris.train", "haris.losses"))}, path


def test_model_sources_import_no_loss_optimizer_onnx_or_tensorrt():
    for path in python_files("haris/modeling"):
        names = imports_of(path)
        bad = {n for n in names if n.split(".")[0] in ("onnx", "onnxruntime", "tensorrt", "tensorrt_rtx")}
        bad |= {n for n in names if n.startswith(("torch.optim", "haris.losses", "haris.train", "haris.export"))}
        assert not bad, path


@pytest.mark.parametrize("package", ["haris.export", "haris.runtime", "haris.benchmarks", "haris.cpp_ops", "haris.configs"])
def test_top_level_folders_import_as_haris_subpackages(package):
    assert package in imported_after(package)
