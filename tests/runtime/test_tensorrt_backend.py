"""The TensorRT backend: engines against onnxruntime on a GPU; its refusals and bookkeeping on any machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from runtime_samples import demo_scenes, mask_iou

from haris.errors import BundleError, ExportError, HarisError
from haris.runtime.bundle import Bundle
from haris.runtime.cuda_memory import checked, cuda_runtime, gpu_properties
from haris.runtime.device_prepost import cuda_kernels
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.engine_sidecar import RTX_DEFAULT_TARGETS, read_sidecar, targets_compute_capability
from haris.runtime.predictor import Predictor
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGES


def test_a_bundle_without_engines_is_refused(tiny_bundle):
    from haris.runtime.tensorrt_backend import TensorRTBackend

    bundle = Bundle.open(tiny_bundle)
    if bundle.manifest.engines.get("fp16"):
        pytest.skip("the shared tiny bundle already lists fp16 engines")
    with pytest.raises(BundleError, match="has no fp16 TensorRT engines for image_encoder, text_encoder, fusion, decoder; build them"):
        TensorRTBackend(bundle, "fp16")


@pytest.mark.trt
@pytest.mark.skipif(gpu_properties() is not None, reason="checks the refusal on a machine without a CUDA GPU")
def test_engines_are_refused_on_a_machine_without_a_gpu(tiny_bundle, tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed (`pip install tensorrt-rtx`)")
    from haris.export.bundle_engines import build_bundle_engines
    from haris.runtime.tensorrt_backend import TensorRTBackend

    bundle_dir = Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))
    build_bundle_engines(bundle_dir, "fp32", flavor="tensorrt_rtx", progress=False)
    with pytest.raises(BundleError, match=r"built with tensorrt_rtx \S+ ahead of time without a GPU .* no CUDA GPU"):
        TensorRTBackend(Bundle.open(bundle_dir), "fp32")


def test_device_tensor_views_share_memory_and_respect_capacity():
    buffer = DeviceTensor(0x1000, (8, 17, 32), np.float32, capacity=8 * 17 * 32 * 4)
    view = buffer.view((2, 5, 32))
    assert (view.pointer, view.nbytes, view.ndim, view._owner) == (0x1000, 2 * 5 * 32 * 4, 3, buffer)
    assert view.view((1, 1, 32))._owner is buffer
    with pytest.raises(HarisError, match="does not fit"):
        buffer.view((9, 17, 32))


def test_cuda_errors_name_the_call_and_cuda_s_own_words():
    error = cuda_runtime().cudaError_t.cudaErrorMemoryAllocation
    with pytest.raises(HarisError, match=r"CUDA cudaMalloc failed: cudaErrorMemoryAllocation \(out of memory\)"):
        checked("cudaMalloc", (error, None))
    assert checked("cudaMalloc", (cuda_runtime().cudaError_t.cudaSuccess, 1234)) == 1234


def test_the_backend_module_imports_no_tensorrt_cuda_or_torch():
    code = "import json, sys, haris.runtime.tensorrt_backend; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert not {"tensorrt", "tensorrt_rtx", "torch", "cuda"} & set(json.loads(loaded))


# ---- On a CUDA GPU with TensorRT: engines against onnxruntime on the same graphs -------------


def gpu_skip_reason() -> str | None:
    gpu = gpu_properties()
    if gpu is None:
        return "needs a CUDA GPU; this machine has none"
    from haris.export.tensorrt_flavor import import_tensorrt

    try:
        _, flavor = import_tensorrt()
    except ExportError as error:
        return f"needs TensorRT: {error}"
    rtx_target = {"compute_capabilities": RTX_DEFAULT_TARGETS, "and_later": True}
    if flavor == "tensorrt_rtx" and not targets_compute_capability(rtx_target, gpu["compute_capability"]):
        return f"only tensorrt_rtx is installed and it has no kernels for {gpu['name']} (compute capability {gpu['compute_capability']})"
    return None


@pytest.fixture(scope="module")
def engine_bundle(tiny_bundle, tmp_path_factory):
    reason = gpu_skip_reason()
    if reason:
        pytest.skip(reason)
    from haris.export.bundle_engines import build_bundle_engines

    bundle_dir = Path(shutil.copytree(tiny_bundle, tmp_path_factory.mktemp("gpu") / "bundle"))
    for precision in ("fp32", "fp16"):
        build_bundle_engines(bundle_dir, precision, progress=False)
    return Bundle.open(bundle_dir)


def text_tokens(batch: int, length: int, seed: int = 0) -> np.ndarray:
    """CLIP-style rows: start token, 1..length-2 words, end token, zero padding."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((batch, length), np.int32)
    for row in range(batch):
        words = 1 + row % (length - 2)
        tokens[row, 0], tokens[row, words + 1] = 49406, 49407
        tokens[row, 1 : words + 1] = rng.integers(1, 49405, words)
    return tokens


def onnxruntime_stages(bundle: Bundle, precision: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every stage's outputs from onnxruntime (CPU), each stage fed by the previous ones."""
    import onnxruntime

    values = dict(feeds)
    for stage in STAGES:
        session = onnxruntime.InferenceSession(str(bundle.graph_path(stage, precision)), providers=["CPUExecutionProvider"])
        outputs = session.run(None, {name: values[name] for name in STAGE_INPUTS[stage]})
        values |= dict(zip((output.name for output in session.get_outputs()), outputs))
    return values


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float, name: str) -> None:
    if expected.dtype == np.bool_:
        np.testing.assert_array_equal(actual, expected, err_msg=name)
        return
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance * scale, err_msg=name)


@pytest.mark.gpu
@pytest.mark.trt
@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-2), ("fp16", 5e-2)])  # fp32 may run in TF32
def test_each_stage_matches_onnxruntime(engine_bundle, precision, tolerance):
    from haris.runtime.tensorrt_backend import TensorRTBackend

    size = engine_bundle.manifest.image_size
    feeds = {"image": np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32), "text_tokens": text_tokens(3, 9)}
    expected = onnxruntime_stages(engine_bundle, precision, feeds)
    backend = TensorRTBackend(engine_bundle, precision)
    try:
        for stage in STAGES:  # same numpy inputs as onnxruntime: each stage's own error
            outputs = backend.run(stage, {name: expected[name] for name in STAGE_INPUTS[stage]})
            for name, value in outputs.items():
                assert_close(backend.to_numpy(value), expected[name], tolerance, f"{precision} {stage} {name}")
    finally:
        backend.close()


@pytest.mark.gpu
@pytest.mark.trt
def test_stages_chain_on_the_device_and_kept_features_survive(engine_bundle):
    from haris.runtime.tensorrt_backend import TensorRTBackend

    size = engine_bundle.manifest.image_size
    images = np.random.default_rng(2).standard_normal((2, 1, 3, size, size)).astype(np.float32)
    backend = TensorRTBackend(engine_bundle, "fp32")
    try:
        features = backend.run("image_encoder", {"image": images[0]})
        kept = {name: backend.keep(value) for name, value in features.items()}
        first = backend.to_numpy(kept["image_feats_3"])
        backend.run("image_encoder", {"image": images[1]})  # overwrites the stage's output buffers
        assert kept["image_feats_3"].pointer != features["image_feats_3"].pointer
        np.testing.assert_array_equal(backend.to_numpy(kept["image_feats_3"]), first)
        text = backend.run("text_encoder", {"text_tokens": text_tokens(3, 7)})
        assert all(isinstance(value, DeviceTensor) for value in text.values())
        fused = backend.run("fusion", {**kept, **text})  # N = 1 image features broadcast to B = 3
        logits = backend.run("decoder", {**fused, "text_mask": text["text_mask"]})["mask_logits"]
        assert logits.shape[0] == 3 and np.isfinite(backend.to_numpy(logits)).all()
    finally:
        backend.close()


@pytest.mark.gpu
@pytest.mark.trt
def test_inputs_beyond_the_profile_are_refused(engine_bundle):
    from haris.runtime.tensorrt_backend import TensorRTBackend

    too_many = engine_bundle.manifest.dynamic_axes["B"][1] + 1
    backend = TensorRTBackend(engine_bundle, "fp32")
    try:
        with pytest.raises(HarisError, match=f"input text_tokens has shape \\({too_many}, 5\\).*rebuild the engines"):
            backend.run("text_encoder", {"text_tokens": text_tokens(too_many, 5)})
    finally:
        backend.close()


@pytest.mark.gpu
@pytest.mark.trt
def test_an_engine_from_another_tensorrt_version_is_refused(engine_bundle, tmp_path):
    from haris.runtime.tensorrt_backend import TensorRTBackend

    bundle_dir = Path(shutil.copytree(engine_bundle.directory, tmp_path / "bundle"))
    sidecar_path = bundle_dir / "engines" / "decoder.fp32.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["tensorrt"]["version"] = "0.0.1"
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(BundleError, match=r"engines/decoder.fp32.plan was built with \S+ 0.0.1 .* this machine has"):
        TensorRTBackend(Bundle.open(bundle_dir), "fp32")


@pytest.mark.gpu
@pytest.mark.trt
def test_the_tensorrt_rtx_runtime_cache_is_saved_and_reloaded(engine_bundle):
    from haris.runtime.cache_folder import cache_folder
    from haris.runtime.tensorrt_backend import TensorRTBackend

    if read_sidecar(engine_bundle.directory, engine_bundle.manifest.engines["fp16"]["decoder"])["tensorrt"]["flavor"] != "tensorrt_rtx":
        pytest.skip("the runtime cache is TensorRT-RTX's; these engines are full TensorRT's")
    for _ in range(2):  # the second backend starts from the first one's cache, in the user's cache folder
        backend = TensorRTBackend.open(engine_bundle, "fp16", "cuda:0", None)
        backend.run("text_encoder", {"text_tokens": text_tokens(2, 5)})
        backend.close()
        (cache,) = cache_folder("tensorrt_rtx").glob("*.cache")
        assert cache == backend.runtime_cache_path and cache.stat().st_size > 0


@pytest.mark.gpu
@pytest.mark.trt
@pytest.mark.parametrize("precision, tolerance, min_iou", [("fp32", 1e-2, 0.98), ("fp16", 5e-2, 0.95)])
def test_the_tensorrt_predictor_processes_on_the_device_and_agrees_with_onnxruntime(engine_bundle, precision, tolerance, min_iou):
    kernels, reason = cuda_kernels()
    if kernels is None:
        pytest.skip(f"the device path needs the CUDA kernels: {reason}")
    reference = Predictor.from_bundle(engine_bundle.directory, precision=precision, threads=1)
    predictor = Predictor.from_bundle(engine_bundle.directory, backend="tensorrt", device="cuda", precision=precision)
    host_path = Predictor(predictor.backend, predictor.settings, predictor.tokenize)
    host_path.device_prepost = None  # the same engines behind the host kernels
    assert predictor.device_prepost is not None
    (pixels, sentences), (other, _) = demo_scenes(2)
    try:
        for image in (pixels, other[:, 40:], np.repeat(pixels, 2, axis=0)):
            for actual, expected, on_host in zip(*(p.segment(image, sentences) for p in (predictor, reference, host_path))):
                name = f"{precision} {image.shape} {actual.expression!r}"
                assert actual.mask.dtype == np.bool_ and actual.mask.shape == expected.mask.shape == image.shape[:2]
                assert mask_iou(actual.mask, expected.mask) >= min_iou, name
                assert_close(actual.mask_logits, expected.mask_logits, tolerance, name)
                # Same engines, so only the pre/post-processing differs: with kernels bit-exact on
                # both sides, masks may differ only where a logit sits on the threshold.
                np.testing.assert_allclose(actual.mask_logits, on_host.mask_logits, rtol=0, atol=1e-4, err_msg=name)
                assert (actual.mask != on_host.mask).mean() <= 1e-4, name
    finally:
        predictor.backend.close()
