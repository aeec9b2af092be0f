"""Shared fixtures: the tiny model and CLIP's tokenizer (offline)."""

from __future__ import annotations

import logging
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded, not even by accident

import pytest
import torch
from tiny_models import build_tiny

# Tiny models gain nothing from threads, and OpenMP threads spin badly when the cores are shared.
torch.set_num_threads(1)


def pytest_report_header(config: pytest.Config) -> str:
    """The CPU and the fast paths it decides, at the top of every run: figures and timings depend on them."""
    from haris.cpu_features import cpu_features

    return f"cpu: {cpu_features().summary()}"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadgroup`, the default in pyproject.toml), the tests of the exported tiny bundle share one
    worker, so the bundle (the costliest fixture: a minute of tracing) is exported once."""
    for item in items:
        if "tiny_bundle" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_bundle"))


@pytest.fixture(autouse=True)
def haris_logger_as_before():
    """The `haris` command configures the `haris` logger (level, stderr handler); a test that runs it
    leaves the logger as it found it for the next test."""
    logger = logging.getLogger("haris")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Compiled-model caches (OpenVINO's) go to a folder of this run, not the user's ~/.cache."""
    previous = os.environ.get("HARIS_CACHE_DIR")
    os.environ["HARIS_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("HARIS_CACHE_DIR", None)
    else:
        os.environ["HARIS_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def tokenizer():
    import open_clip

    return open_clip.get_tokenizer("ViT-B-16")


@pytest.fixture(scope="session")
def tokenize(tokenizer):
    def run(texts: list[str], length: int) -> torch.Tensor:
        return tokenizer(texts, context_length=length).to(torch.int32)

    return run


@pytest.fixture(scope="session")
def tiny_model():
    return build_tiny()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    from tiny_models import build_tiny_with_masks

    from haris.checkpoint import save_checkpoint

    return save_checkpoint(build_tiny_with_masks(), tmp_path_factory.mktemp("tiny") / "checkpoint")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint exported at fp32 and fp16 (about a minute on 2 cores), by `haris export` with its
    size options spelled out: read-only for tests."""
    from haris.cli import main

    out = tmp_path_factory.mktemp("tiny") / "bundle"
    assert main(["export", str(tiny_checkpoint), "--out", str(out), "--image-size", "256", "--max-images", "16", "--max-expressions", "64"]) == 0
    return out


@pytest.fixture(scope="session")
def int8_bundle(tiny_bundle, tiny_checkpoint, tmp_path_factory):
    """The tiny bundle with INT8 graphs of every stage added (`haris export --add`; a copy: the tiny
    bundle is read-only for tests)."""
    from haris.cli import main

    out = shutil.copytree(tiny_bundle, tmp_path_factory.mktemp("int8") / "bundle")
    every_stage = ["--int8-stages", "image_encoder,text_encoder,fusion,decoder"]
    assert main(["export", str(tiny_checkpoint), "--out", str(out), "--add", "--precision", "int8", "--calibration-images", "4", *every_stage]) == 0
    return out
