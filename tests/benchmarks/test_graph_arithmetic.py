"""The split of an INT8 graph's arithmetic into integer and float parts, and the roof it sets."""

from __future__ import annotations

import pytest

from haris.benchmarks import compute_peak
from haris.benchmarks.bench_backends import parse_backends
from haris.benchmarks.compute_peak import encoder_flops, roof_for
from haris.benchmarks.graph_arithmetic import arithmetic_by_kind
from haris.checkpoint.checkpoint_io import load_checkpoint
from haris.cpu_features import parse_cpuinfo
from haris.export.model_resizing import model_at_image_size
from haris.runtime.bundle import Bundle


def test_an_int8_graph_splits_the_eager_encoders_flops_into_integer_and_float(int8_bundle, tiny_checkpoint):
    bundle = Bundle.open(int8_bundle)
    eager = encoder_flops(model_at_image_size(load_checkpoint(tiny_checkpoint), bundle.manifest.image_size))
    fp32 = arithmetic_by_kind(bundle.graph_path("image_encoder", "fp32"))
    int8 = arithmetic_by_kind(bundle.graph_path("image_encoder", "int8"))
    assert fp32 == {"integer": 0, "float": eager}  # the graph's count is torch's, node for node
    assert int8["integer"] + int8["float"] == eager
    assert int8["integer"] > int8["float"] > 0  # the linear layers quantized, Q x K^T left float
    assert arithmetic_by_kind(bundle.graph_path("image_encoder", "int8"), batch=2) == {kind: 2 * flops for kind, flops in int8.items()}


def test_dynamic_int8s_integer_products_count_as_integer(tiny_bundle, tmp_path):
    import onnx

    from haris.export.int8_quantization import GraphQuantizer

    fp32_path = Bundle.open(tiny_bundle).graph_path("image_encoder", "fp32")
    with GraphQuantizer(onnx.load(str(fp32_path)), "image_encoder", "dynamic", []) as quantizer:
        onnx.save(quantizer.quantize(), str(tmp_path / "dynamic.onnx"))
    assert "MatMulInteger" in {node.op_type for node in onnx.load(str(tmp_path / "dynamic.onnx")).graph.node}
    dynamic, fp32 = arithmetic_by_kind(tmp_path / "dynamic.onnx"), arithmetic_by_kind(fp32_path)
    assert dynamic["integer"] > 0 and dynamic["integer"] + dynamic["float"] == fp32["float"]


def test_an_int8_encoders_roof_adds_the_time_of_each_part_at_its_own_peak(monkeypatch):
    monkeypatch.setattr(compute_peak, "cpu_features", lambda: parse_cpuinfo("flags\t\t: avx2 fma\n"))
    peaks = {"onnxruntime:int8": 4e11, "onnxruntime:fp32": 1e11, "torch:fp32": 0.5e11, "openvino:int8": 2e11, "openvino:fp32": 0.8e11}
    compute = {"matmul_peaks": peaks, "int8_encoder_arithmetic": {"integer": 300, "float": 100}}
    name, flops_per_s = roof_for("onnxruntime:int8", "int8", False, compute)
    assert flops_per_s == pytest.approx(1 / (0.75 / 4e11 + 0.25 / 1e11))  # 2.29e11: below the INT8 peak, above FP32's
    assert name == "onnxruntime:int8 for 75% of the FLOPs, onnxruntime:fp32 for the rest"
    assert roof_for("openvino:int8", "int8", False, compute)[1] == pytest.approx(1 / (0.75 / 2e11 + 0.25 / 1e11))  # the best FP32
    assert roof_for("onnxruntime:fp32", "fp32", False, compute) == ("onnxruntime:fp32", 1e11)
    assert roof_for("onnxruntime:int8", "int8", False, compute | {"int8_encoder_arithmetic": None}) == ("onnxruntime:int8", 4e11)
    assert compute_peak.needed_peaks(parse_backends("openvino:int8,onnxruntime:int8")) == [
        "openvino:int8",
        "openvino:fp32",
        "onnxruntime:int8",
        "onnxruntime:fp32",
    ]


def test_openvinos_float_rest_is_judged_at_its_bf16_peak_where_it_computes_in_bf16(monkeypatch):
    monkeypatch.setattr(compute_peak, "cpu_features", lambda: parse_cpuinfo("flags\t\t: avx2 fma avx512f avx512_bf16 avx512_vnni\n"))
    peaks = {"openvino:int8": 8e11, "openvino:bf16": 4e11, "openvino:fp32": 2e11}
    compute = {"matmul_peaks": peaks, "int8_encoder_arithmetic": {"integer": 1, "float": 1}}
    assert roof_for("openvino:int8", "int8", False, compute)[1] == pytest.approx(1 / (0.5 / 8e11 + 0.5 / 4e11))
    assert compute_peak.needed_peaks(parse_backends("openvino:int8")) == ["openvino:int8", "openvino:bf16"]
