"""An "fp16" engine must compute in FP16: read from the network on any machine, from the built engine's
layers on a GPU (TensorRT 10's and 11's inspector JSON, here as stand-ins), and refused without an
FP16 layer, also through `haris build` with an FP32 graph standing in for the FP16 one."""

from __future__ import annotations

import json
import shutil

import pytest

from haris.cli import main
from haris.errors import ExportError
from haris.export.engine_inspection import NO_GPU_REASON, engine_precisions, layer_fp16_share, require_fp16
from haris.file_digest import file_sha256

# What IEngineInspector's JSON lists per fused layer: TensorRT 10 writes one "Format/Datatype" string,
# TensorRT 11 a "Datatype" and a "Format" apart; shape layers output Int32, and bare names carry nothing.
TRT10_LAYERS = [
    {"Name": "conv", "Outputs": [{"Format/Datatype": "Row major linear FP16 format"}]},
    {"Name": "norm", "Outputs": [{"Format/Datatype": "Row major linear FP32 format"}]},
    {"Name": "shape", "Outputs": [{"Format/Datatype": "Row major linear Int32 format"}]},
    "a bare name (LAYER_NAMES_ONLY verbosity)",
]
TRT11_LAYERS = [{"Name": "matmul", "Outputs": [{"Datatype": "Half", "Format": "kLINEAR"}]}, {"Name": "softmax", "Outputs": [{"Datatype": "Float"}]}]


def test_the_fp16_share_counts_float_layers_in_either_inspector_format():
    assert layer_fp16_share(TRT10_LAYERS) == 0.5  # the Int32 shape layer and the bare name are not float layers
    assert layer_fp16_share(TRT11_LAYERS) == 0.5
    assert layer_fp16_share([TRT10_LAYERS[2]]) is None


def test_without_a_gpu_the_engine_is_not_read_and_says_why():
    assert engine_precisions(None, b"", None) == {"fp16_share": None, "fp16_share_reason": NO_GPU_REASON}


@pytest.mark.parametrize(
    ("facts", "refused"),
    [
        ({"fp16_share": None, "network_fp16_share": 0.0}, True),  # no GPU: the network's reading decides
        ({"fp16_share": None, "network_fp16_share": None}, True),  # no float layer at all
        ({"fp16_share": 0.0, "network_fp16_share": 0.6}, True),  # the engine's reading wins over the network's
        ({"fp16_share": 0.4, "network_fp16_share": 0.0}, False),
        ({"fp16_share": None, "network_fp16_share": 0.3}, False),
    ],
)
def test_an_fp16_engine_without_fp16_layers_is_refused(facts, refused):
    if refused:
        with pytest.raises(ExportError, match="the fusion fp16 engine has no FP16 layers: its graph is not an FP16 graph"):
            require_fp16("fusion", "fp16", facts)
    else:
        require_fp16("fusion", "fp16", facts)
    require_fp16("fusion", "fp32", {"fp16_share": 0.0})  # only fp16 builds are held to it


@pytest.mark.trt
def test_haris_build_refuses_an_fp16_engine_built_from_an_fp32_graph(tiny_bundle, tmp_path, capsys):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed (`pip install tensorrt-rtx`)")
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    shutil.copyfile(bundle / "image_encoder.fp32.onnx", bundle / "image_encoder.fp16.onnx")  # an FP32 graph in the FP16 slot
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["graphs"]["fp16"]["image_encoder"]["sha256"] = file_sha256(bundle / "image_encoder.fp16.onnx")
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert main(["build", str(bundle), "--precision", "fp16", "--flavor", "tensorrt_rtx"]) == 2
    assert "the image_encoder fp16 engine has no FP16 layers: its graph is not an FP16 graph" in capsys.readouterr().err
    assert not (bundle / "engines" / "image_encoder.fp16.plan").exists()  # nothing is written for a refused engine
