"""Building a Predictor from a bundle (onnxruntime or TensorRT) or from a checkpoint (eager torch).

Backends are imported here, when asked for, so a deployment loads only the one it uses.
"""

from __future__ import annotations

from pathlib import Path

from haris.errors import HarisError
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_tokenizer import BundleTokenizer
from haris.runtime.predictor import Predictor, PreprocessSettings

BACKENDS = ("onnxruntime", "tensorrt")


def predictor_from_bundle(
    path: str | Path, backend: str, device: str, precision: str | None, threads: int | None, cache_bytes: int
) -> Predictor:
    # Each file is verified as its backend or the tokenizer loads it: only what this Predictor runs.
    bundle = Bundle.open(path, verify_all=False)
    manifest = bundle.manifest
    precision = precision or _default_precision(backend, device, bundle)
    if backend == "onnxruntime":
        from haris.runtime.onnxruntime_backend import OnnxRuntimeBackend

        stages = OnnxRuntimeBackend(bundle, precision, device, threads)
    elif backend == "tensorrt":
        from haris.runtime.tensorrt_backend import TensorRTBackend

        stages = TensorRTBackend(bundle, precision, _cuda_index(device))
    else:
        raise HarisError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    bundle.verify_file(manifest.tokenizer["file"])  # BundleTokenizer reads it from the directory
    tokenizer = BundleTokenizer.from_settings(manifest.tokenizer, bundle.directory)
    preprocess = manifest.preprocess
    settings = PreprocessSettings(
        manifest.image_size, tuple(preprocess["pixel_mean"]), tuple(preprocess["pixel_std"]), manifest.postprocess["threshold"]
    )
    return Predictor(stages, settings, tokenizer, cache_bytes)


def predictor_from_checkpoint(path: str | Path, device: str, cache_bytes: int) -> Predictor:
    try:
        from haris.runtime.torch_backend import TorchBackend
    except ImportError as error:  # a torch-free deployment handed something that is not a bundle
        raise HarisError(f"{path} is not a bundle (no manifest.json), and running a checkpoint needs PyTorch: {error}") from None

    stages = TorchBackend(path, device)
    config = stages.config
    settings = PreprocessSettings(config.image_size, config.preprocess.pixel_mean, config.preprocess.pixel_std)
    return Predictor(stages, settings, stages.tokenize, cache_bytes)


def _default_precision(backend: str, device: str, bundle: Bundle) -> str:
    # FP16 where hardware runs it fast (a GPU); on a CPU onnxruntime's FP16 kernels are slower.
    wanted = "fp16" if backend == "tensorrt" or device.startswith(("cuda", "tensorrt")) else "fp32"
    return wanted if wanted in bundle.precisions else bundle.precisions[0]


def _cuda_index(device: str) -> int:
    kind, _, index = device.partition(":")
    if kind != "cuda":
        raise HarisError(f"the tensorrt backend runs on device 'cuda[:N]', got {device!r}")
    return int(index or 0)
