"""Building a Predictor from a bundle (any bundle backend of the registry) or from a checkpoint (eager torch).

Backends are imported when asked for (backend_registry), so a deployment loads only the one it uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BUNDLE_BACKENDS, backend_entry
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import MANIFEST_FILE
from haris.runtime.bundle_tokenizer import BundleTokenizer
from haris.runtime.engine_choice import choose_engine
from haris.runtime.predictor import DEFAULT_CACHE_BYTES, Predictor, PreprocessSettings


def open_predictor(
    model: str | Path,
    backend: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    threads: int | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> Predictor:
    """A bundle (a folder with manifest.json) on any bundle backend of the registry, or a checkpoint
    or run directory on eager torch. `backend` None is onnxruntime; "auto" (for either `backend` or
    `precision`) is chosen from this machine (runtime/engine_choice.py); `precision` None is the
    backend's default on the device (FP16 on a GPU, FP32 on a CPU)."""
    model = Path(model)
    if (model / MANIFEST_FILE).is_file():
        if backend == "torch":
            raise HarisError(f"{model} is a bundle; the torch backend runs checkpoints (pass the run directory it was exported from)")
        return open_bundle_predictor(model, backend or "onnxruntime", device, precision, threads, cache_bytes)
    if backend not in (None, AUTO, "torch"):
        raise HarisError(f"{model} is not a bundle (no {MANIFEST_FILE}); a checkpoint runs on the torch backend only: export a bundle for {backend}")
    choice = choose_engine(None, backend, precision, device)
    predictor = predictor_from_checkpoint(model, choice.device, choice.precision, threads, cache_bytes)
    predictor.description["choice"] = choice.record()
    return predictor


def open_bundle_predictor(
    path: str | Path, backend: str, device: str | None, precision: str | None, threads: int | None, cache_bytes: int = DEFAULT_CACHE_BYTES
) -> Predictor:
    """A bundle on `backend` ("auto": chosen), at `precision` ("auto": chosen; None: the backend's
    default on the device), on `device` (None: the backend's default device)."""
    bundle = Bundle.open(path, verify_all=False)
    if backend != AUTO:
        device = device or backend_entry(backend).default_device
        precision = precision or _default_precision(backend, device, bundle)
    choice = choose_engine(bundle, backend, precision, device)
    predictor = predictor_from_bundle(bundle, choice.backend, choice.device, choice.precision, threads, cache_bytes)
    predictor.description["choice"] = choice.record()
    return predictor


def predictor_from_bundle(
    bundle: str | Path | Bundle, backend: str, device: str, precision: str | None, threads: int | None, cache_bytes: int
) -> Predictor:
    # Each file is verified as its backend or the tokenizer loads it: only what this Predictor runs.
    bundle = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle, verify_all=False)
    manifest = bundle.manifest
    entry = backend_entry(backend)
    if entry.runs != "bundle":
        raise HarisError(f"the {backend} backend runs checkpoints, not bundles; bundle backends: {', '.join(BUNDLE_BACKENDS)}")
    precision = precision or _default_precision(backend, device, bundle)
    entry.check(precision, device)
    if not entry.installed():
        raise HarisError(f"the {backend} backend needs {' or '.join(entry.libraries)}: pip install 'haris[{entry.extra}]'")
    stages = entry.backend_class().open(bundle, precision, device, threads)
    bundle.verify_file(manifest.tokenizer["file"])  # BundleTokenizer reads it from the directory
    tokenizer = BundleTokenizer.from_settings(manifest.tokenizer, bundle.directory)
    preprocess = manifest.preprocess
    settings = PreprocessSettings(
        manifest.image_size, tuple(preprocess["pixel_mean"]), tuple(preprocess["pixel_std"]), manifest.postprocess["threshold"]
    )
    axes = manifest.dynamic_axes
    description = {
        "path": str(bundle.directory),
        "kind": "bundle",
        "backend": backend,
        "device": device,
        "precision": precision,
        "graphs": entry.graph_precision(precision),
        "precisions": list(bundle.precisions),
        "image_size": manifest.image_size,
        "max_expressions": axes["B"][1],
        "weights_sha256": manifest.source_checkpoint["weights_sha256"],
        "haris_version": manifest.haris_version,
    }
    return Predictor(
        stages, settings, tokenizer, cache_bytes, max_images=axes["N"][1], max_expressions=axes["B"][1], threads=threads, description=description
    )


def predictor_from_checkpoint(path: str | Path, device: str, precision: str, threads: int | None, cache_bytes: int) -> Predictor:
    """Eager torch on a checkpoint (or a run directory's best one). `threads` sets torch's intra-op
    threads for the whole process (torch has no per-model setting)."""
    try:
        import torch
    except ImportError as error:  # a torch-free deployment handed something that is not a bundle
        raise HarisError(f"{path} is not a bundle (no manifest.json), and running a checkpoint needs PyTorch: {error}") from None
    from haris.checkpoint.checkpoint_io import load_checkpoint, resolve_checkpoint

    if threads:
        torch.set_num_threads(threads)
    checkpoint = resolve_checkpoint(path)
    predictor = predictor_for_model(load_checkpoint(checkpoint, torch.device(device)), precision, cache_bytes, threads=threads)
    predictor.description.update(path=str(checkpoint), kind="checkpoint", device=device)
    return predictor


def predictor_for_model(
    model: Any, precision: str = "fp32", cache_bytes: int = DEFAULT_CACHE_BYTES, threshold: float = 0.0, threads: int | None = None
) -> Predictor:
    """A Predictor over a HARIS model in memory (eager torch), with CLIP's tokenizer cut to the
    batch's longest expression, as the bundle tokenizer cuts it."""
    from haris.data.text_tokenizer import TextTokenizer
    from haris.runtime.torch_backend import TorchBackend

    backend = TorchBackend(model, precision)
    tokenizer = TextTokenizer(model.config)
    preprocess = model.config.preprocess
    settings = PreprocessSettings(model.config.image_size, tuple(preprocess.pixel_mean), tuple(preprocess.pixel_std), threshold)
    description = {"backend": "torch", "precision": precision, "image_size": model.config.image_size}
    return Predictor(backend, settings, lambda texts: tokenizer.to_longest(texts).numpy(), cache_bytes, threads=threads, description=description)


def _default_precision(backend: str, device: str, bundle: Bundle) -> str:
    """FP16 where hardware runs it fast (a GPU; on a CPU onnxruntime's FP16 kernels are slower),
    else FP32; else the first precision of the backend whose graphs the bundle has."""
    entry = backend_entry(backend)
    runnable = [precision for precision in entry.precisions if entry.graph_precision(precision) in bundle.precisions]
    if not runnable:
        raise HarisError(f"{bundle.directory} has no graphs the {backend} backend runs (it has {', '.join(bundle.precisions)})")
    wanted = "fp16" if device.startswith(("cuda", "tensorrt")) else "fp32"
    return wanted if wanted in runnable else runnable[0]


def ray_worker_device(device: str | None, num_gpus: float) -> str | None:
    """The device of a Ray worker's Predictor (a serve replica, a label actor): the one asked for, else
    cuda:0 when the worker holds GPUs (Ray sets CUDA_VISIBLE_DEVICES per worker), else the backend's."""
    return device or ("cuda:0" if num_gpus > 0 else None)


def ray_worker_threads(threads: int | None, num_cpus: float) -> int:
    """A Ray worker's onnxruntime and host threads: those asked for, else its Ray CPUs (at least one)."""
    return threads or max(1, round(num_cpus))
