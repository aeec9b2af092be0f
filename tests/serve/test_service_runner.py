"""Serve's request-path settings that `haris serve` starts Ray with, and the list docs/serving.md
gives a cluster's nodes (fast: nothing here starts Ray)."""

from __future__ import annotations

import re
from pathlib import Path

from haris.serve.service_runner import SERVE_ENVIRONMENT, tune_serve_environment

SERVING_DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"


def test_a_variable_already_set_keeps_its_value():
    environment = {"RAY_SERVE_LOG_TO_STDERR": "1", "PATH": "/bin"}
    tune_serve_environment(environment)
    assert environment == {**SERVE_ENVIRONMENT, "RAY_SERVE_LOG_TO_STDERR": "1", "PATH": "/bin"}


def test_the_cluster_recipe_exports_what_haris_serve_sets():
    recipe = SERVING_DOC.read_text(encoding="utf-8").split("## A cluster of GPU nodes")[1].split("```")[1]
    exported = dict(re.findall(r"\b(RAY_SERVE_[A-Z_]+)=(\S+)", recipe))
    assert exported == SERVE_ENVIRONMENT
