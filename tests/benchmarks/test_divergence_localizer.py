"""The divergence localizer names the node of a planted fault, and nothing in honest FP16 and INT8 graphs."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_faults import readers, scale_initializer
from runtime_samples import demo_scenes

from haris.benchmarks.bench_backends import parse_backend
from haris.benchmarks.divergence_localizer import first_divergence, localize_failed_stages
from haris.benchmarks.parity_checks import TOLERANCES
from haris.benchmarks.stage_parity import eager_stage_samples
from haris.runtime.predictor import Predictor

WEIGHT = "model.fusion.blocks.1.sentence_in.weight"  # read by one Gemm, in the second fusion block


@pytest.fixture(scope="module")
def fusion_inputs(tiny_checkpoint):
    """The fusion stage's eager inputs for two demo scenes, as parity collects them."""
    scenes = demo_scenes(2)
    with Predictor.from_checkpoint(tiny_checkpoint, "cpu", "fp32", 1) as eager:
        samples = eager_stage_samples(eager, [pixels for pixels, _ in scenes], [sentences[:4] for _, sentences in scenes])
    return [sample["fusion"][0] for sample in samples]


@pytest.mark.parametrize(
    ("precision", "altered"),
    [("fp16", WEIGHT), ("int8", f"{WEIGHT}_scale")],  # INT8: the scale of its DequantizeLinear, whose output has a name of its own
)
def test_a_scaled_weight_is_localized_to_the_node_reading_it(tiny_bundle, int8_bundle, fusion_inputs, tmp_path, precision, altered):
    bundle = Path(int8_bundle if precision == "int8" else tiny_bundle)
    faulty = scale_initializer(bundle / f"fusion.{precision}.onnx", tmp_path / "faulty.onnx", altered, 10.0)
    (reader,) = readers(bundle / "fusion.fp32.onnx", WEIGHT)
    bound = TOLERANCES[precision].stage_relative
    report = first_divergence(bundle / "fusion.fp32.onnx", faulty, fusion_inputs, bound, threads=1)
    divergent = report["first_divergent"]
    assert (divergent["tensor"], divergent["node"], divergent["op_type"]) == (reader.output[0], reader.name, "Gemm")
    assert divergent["node_under_test"] == reader.name and divergent["sample"] == 0
    assert divergent["relative"] > bound and divergent["relative"] == pytest.approx(divergent["max_abs"] / divergent["scale"])
    assert (report["graph"], report["reference"]) == ("faulty.onnx", "fusion.fp32.onnx")
    assert 0 < report["shared_tensors"] < report["tensors"]  # Casts or Q/DQ outputs are the graph's own


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_honest_graphs_have_no_divergent_tensor(int8_bundle, fusion_inputs, precision):
    bundle = Path(int8_bundle)
    report = first_divergence(
        bundle / "fusion.fp32.onnx", bundle / f"fusion.{precision}.onnx", fusion_inputs, TOLERANCES[precision].stage_relative, 1
    )
    assert report["first_divergent"] is None and report["shared_tensors"] > 100


FAILING = {"fusion": {"vis_tokens": {"max_abs": 1.0, "mean_abs": 0.1, "scale": 1.0, "relative": 1.0}}}


@pytest.mark.parametrize(
    ("backend", "reason"),
    [("openvino:int8", "only onnxruntime runs are replayed"), ("onnxruntime:fp32", "the FP32 graph is the reference")],
)
def test_runs_that_cannot_be_replayed_say_why(backend, reason):
    localization = localize_failed_stages("unused", parse_backend(backend), [], FAILING, bound=0.03, threads=1)
    assert list(localization) == ["fusion"] and localization["fusion"]["skipped"].startswith(reason)


def test_stages_within_their_bound_are_not_localized():
    assert localize_failed_stages("unused", parse_backend("onnxruntime:fp16"), [], FAILING, bound=2.0, threads=1) == {}
