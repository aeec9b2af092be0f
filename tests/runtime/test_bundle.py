"""Bundle verification: `haris inspect` checks every file, a Predictor only the files it loads, each hashed once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from haris import file_digest
from haris.cli import main
from haris.errors import BundleError
from haris.runtime.predictor import Predictor
from haris.runtime.tensor_contract import STAGES


def copy_bundle(tiny_bundle: Path, tmp_path: Path) -> Path:
    """A copy under a fresh path, so no digest remembered by an earlier test applies to it."""
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def damage(path: Path, how: str) -> None:
    if how == "remove":
        path.unlink()
        return
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGES = [("alter", "does not match its sha256"), ("remove", "is missing")]


@pytest.mark.parametrize("how, reason", DAMAGES)
@pytest.mark.parametrize("unused", ["fusion.fp16.onnx", "haris.fp32.onnx"])
def test_a_damaged_file_the_predictor_does_not_load_stops_only_inspect(tiny_bundle, tmp_path, capsys, how, reason, unused):
    bundle = copy_bundle(tiny_bundle, tmp_path)
    damage(bundle / unused, how)
    Predictor.from_bundle(bundle, precision="fp32", threads=1)  # loads neither the fp16 nor the end-to-end graphs
    assert main(["inspect", str(bundle)]) != 0
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("haris: error:")]
    assert len(errors) == 1 and unused in errors[0] and reason in errors[0]


@pytest.mark.parametrize("how, reason", DAMAGES)
@pytest.mark.parametrize("used", ["fusion.fp16.onnx", "tokenizer.json"])
def test_a_damaged_file_the_predictor_loads_is_refused_by_name(tiny_bundle, tmp_path, how, reason, used):
    bundle = copy_bundle(tiny_bundle, tmp_path)
    damage(bundle / used, how)
    with pytest.raises(BundleError, match=reason) as refused:
        Predictor.from_bundle(bundle, precision="fp16", threads=1)
    assert used in str(refused.value) and "\n" not in str(refused.value)


def test_a_file_is_hashed_once_per_process_until_it_changes(tiny_bundle, tmp_path, monkeypatch):
    bundle = copy_bundle(tiny_bundle, tmp_path)
    hashed = []
    real_sha256 = file_digest.file_sha256
    monkeypatch.setattr(file_digest, "file_sha256", lambda path: hashed.append(Path(path).name) or real_sha256(path))
    for _ in range(2):
        Predictor.from_bundle(bundle, precision="fp32", threads=1)
    assert sorted(hashed) == sorted([f"{stage}.fp32.onnx" for stage in STAGES] + ["tokenizer.json"])

    # Same size, mtime set back: the remembered digest must not hide the change (ctime moved).
    graph = bundle / "decoder.fp32.onnx"
    before = graph.stat()
    damage(graph, "alter")
    os.utime(graph, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(BundleError, match="decoder.fp32.onnx does not match its sha256"):
        Predictor.from_bundle(bundle, precision="fp32", threads=1)
