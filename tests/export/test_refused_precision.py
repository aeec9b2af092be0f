"""A precision whose graph fails its check is refused whole and the others are written: the bundle,
its manifest's `refused`, the CLI's exit status and retry command, `haris inspect`, and `--add`."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest

from haris.cli import main
from haris.errors import BundleError, ExportError, HarisError, PrecisionsRefused
from haris.export import bundle_export, graph_check
from haris.runtime.bundle import Bundle
from haris.runtime.predictor import Predictor
from haris.runtime.tensor_contract import GRAPHS

# No float-node search (the fastest INT8), every stage quantized: a refused decoder is a refused INT8.
INT8_OPTIONS = ["--calibration-images", "2", "--int8-target-error", "1.0", "--int8-stages", "image_encoder,text_encoder,fusion,decoder"]


def refusing(stage: str, precision: str):
    """check_graph, except that it refuses the `stage` graph at `precision`."""

    def check(graph, name, graph_precision, samples, expected):
        if (name, graph_precision) == (stage, precision):
            raise ExportError(f"{precision} {stage} graph: simulated disagreement; the graph is not written")
        return graph_check.check_graph(graph, name, graph_precision, samples, expected)

    return check


def test_an_export_whose_int8_is_refused_writes_fp32_and_says_how_to_retry(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bundle_export, "check_graph", refusing("decoder", "int8"))  # the last INT8 stage: three passed before it
    out = tmp_path / "bundle"
    assert main(["export", str(tiny_checkpoint), "--out", str(out), "--precision", "fp32,int8", *INT8_OPTIONS]) == 2
    retry = f"haris export {tiny_checkpoint} --out {out} --precision int8 --add {' '.join(INT8_OPTIONS)}"
    error = capsys.readouterr().err
    assert f"haris: error: wrote {out} with fp32 only; int8 was refused (int8 decoder graph: simulated" in error and f"`{retry}`" in error
    manifest = Bundle.open(out).manifest  # complete: every listed file present and unaltered
    assert set(manifest.graphs) == {"fp32"} and set(manifest.graphs["fp32"]) == set(GRAPHS)
    assert not list(out.glob("*.int8.onnx")) and manifest.int8 == {}  # the INT8 stages that passed went with the refused one
    reason = "int8 decoder graph: simulated disagreement; the graph is not written"
    assert manifest.refused == {"int8": {"graph": "decoder", "reason": reason, "retry": retry}}
    assert main(["inspect", str(out)]) == 0
    described = capsys.readouterr().out
    assert "int8 refused: its decoder graph failed its check" in described and f"reason: {reason}" in described and f"retry: {retry}" in described
    with pytest.raises(
        BundleError, match=r"no int8 graph 'image_encoder'.*export refused int8 \(int8 decoder graph: simulated.*retry with `haris export"
    ):
        Predictor.from_bundle(out, precision="int8")
    with pytest.raises(HarisError, match=r"onnxruntime:int8 \(no int8 graphs in the bundle: export refused them \(int8 decoder graph"):
        Predictor.from_bundle(out, "auto", precision="int8")  # what `haris predict --precision int8` runs

    monkeypatch.undo()
    assert main(shlex.split(retry)[1:]) == 0  # the retry, as the error gave it
    manifest = Bundle.open(out).manifest
    assert set(manifest.graphs) == {"fp32", "int8"} and manifest.refused == {}
    assert "refused" not in json.loads((out / "manifest.json").read_text())


def test_an_int8_add_that_is_refused_leaves_the_bundle_byte_identical(tiny_checkpoint, tiny_bundle, tmp_path, monkeypatch, capsys):
    copy = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    before = {path: path.read_bytes() for path in copy.rglob("*")}
    monkeypatch.setitem(graph_check.RELATIVE_TOLERANCE, "int8", -1.0)  # no INT8 graph can pass
    assert main(["export", str(tiny_checkpoint), "--out", str(copy), "--precision", "int8", "--add", *INT8_OPTIONS]) == 2
    error = capsys.readouterr().err
    assert f"haris: error: {copy} is unchanged; int8 was refused (int8 image_encoder graph: output" in error
    assert f"`haris export {tiny_checkpoint} --out {copy} --precision int8 --add {' '.join(INT8_OPTIONS)}`" in error
    assert {path: path.read_bytes() for path in copy.rglob("*")} == before
    assert list(tmp_path.iterdir()) == [copy]  # no staging folder left beside it


def test_a_refused_fp32_graph_fails_the_export_and_writes_nothing(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_export, "check_graph", refusing("image_encoder", "fp32"))
    with pytest.raises(ExportError, match="fp32 image_encoder graph: simulated") as raised:
        bundle_export.export_bundle(tiny_checkpoint, tmp_path / "bundle", ("fp32", "fp16"), progress=False)
    assert not isinstance(raised.value, PrecisionsRefused) and not list(tmp_path.iterdir())
