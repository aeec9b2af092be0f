"""The sidecar check of TensorRT engines: which TensorRT version and GPU may load them, on any machine."""

from __future__ import annotations

import json

import pytest

from haris.errors import BundleError
from haris.runtime.bundle_manifest import EngineSpec
from haris.runtime.engine_sidecar import check_engine_compatibility, read_sidecar, targets_compute_capability

RTX_SIDECAR = {
    "plan": "engines/fusion.fp16.plan",
    "tensorrt": {"flavor": "tensorrt_rtx", "version": "1.7.1.116"},
    "gpu": None,
    "target": {"ahead_of_time": True, "compute_capabilities": ["8.0", "8.6", "8.9", "12.0"], "and_later": True},
}
H100 = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}
RTX_4090 = {"name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9"}
TRT_SIDECAR = {**RTX_SIDECAR, "tensorrt": {"flavor": "tensorrt", "version": "10.13.0.35"}, "gpu": H100, "target": {"compute_capabilities": ["9.0"]}}


@pytest.mark.parametrize(
    "sidecar, version, gpu",
    [
        (RTX_SIDECAR, "1.7.1.116", RTX_4090),
        (RTX_SIDECAR, "1.7.1.116", {"name": "NVIDIA RTX PRO 6000", "compute_capability": "12.1"}),  # "and later"
        (TRT_SIDECAR, "10.13.0.35", H100),
    ],
)
def test_matching_engines_pass_the_sidecar_check_and_each_difference_fails_it(sidecar, version, gpu):
    """A match returns None; the same sidecar against another version, no GPU, or a GPU below its
    targets is refused, so the pass comes from comparing these fields, not from checking nothing."""
    assert check_engine_compatibility(sidecar, version, gpu) is None
    assert targets_compute_capability(sidecar["target"], gpu["compute_capability"])
    with pytest.raises(BundleError, match="only load in the TensorRT version that built them"):
        check_engine_compatibility(sidecar, version + "1", gpu)
    with pytest.raises(BundleError, match="TensorRT engines need a CUDA GPU; use the onnxruntime backend here"):
        check_engine_compatibility(sidecar, version, None)
    with pytest.raises(BundleError, match="the engine has no kernels for compute capability 7.0"):
        check_engine_compatibility(sidecar, version, {**gpu, "compute_capability": "7.0"})


@pytest.mark.parametrize(
    "sidecar, version, gpu, reason",
    [
        (
            RTX_SIDECAR,
            "1.8.0.1",
            RTX_4090,
            "with tensorrt_rtx 1.7.1.116 ahead of time without a GPU .* has tensorrt_rtx 1.8.0.1 and NVIDIA GeForce RTX 4090",
        ),
        (RTX_SIDECAR, "1.7.1.116", None, "this machine has tensorrt_rtx 1.7.1.116 and no CUDA GPU: TensorRT engines need a CUDA GPU"),
        (RTX_SIDECAR, "1.7.1.116", H100, r"for compute capability 8.0, 8.6, 8.9, 12.0 and later.*no kernels for compute capability 9.0"),
        (TRT_SIDECAR, "10.13.0.35", RTX_4090, r"on NVIDIA H100 80GB HBM3 \(compute capability 9.0\).*NVIDIA GeForce RTX 4090"),
        (TRT_SIDECAR, "10.13.0.35", {**H100, "name": "NVIDIA H100 PCIe"}, "tuned for the GPU model that built them"),
        (TRT_SIDECAR, "11.0.0.1", H100, "has tensorrt 11.0.0.1 and NVIDIA H100"),
    ],
)
def test_mismatched_engines_are_refused_naming_both_sides(sidecar, version, gpu, reason):
    with pytest.raises(BundleError, match=reason) as refused:
        check_engine_compatibility(sidecar, version, gpu)
    assert "\n" not in str(refused.value) and ("haris build" in str(refused.value) or "onnxruntime backend" in str(refused.value))


def test_a_sidecar_of_another_plan_is_refused(tmp_path):
    (tmp_path / "engines").mkdir()
    (tmp_path / "engines" / "fusion.fp16.json").write_text(json.dumps({**RTX_SIDECAR, "format": 1, "plan_sha256": "a" * 64}))
    spec = EngineSpec("engines/fusion.fp16.plan", "a" * 64, "engines/fusion.fp16.json")
    assert read_sidecar(tmp_path, spec)["tensorrt"]["flavor"] == "tensorrt_rtx"
    with pytest.raises(BundleError, match="does not describe engines/fusion.fp16.plan"):
        read_sidecar(tmp_path, EngineSpec(spec.file, "b" * 64, spec.sidecar))
