"""One timed pass of the runtime pipeline over N images with E expressions each, stage by stage.

The pass is what a deployment does with a batch, written out on the backend interface so every
stage is timed on its own (the Predictor would hide them, and its feature cache would skip the
image encoder on repeated images):

1. pre-processing (host): resize, normalize and pad the N images; tokenize each image's E
   expressions (tokenization is input preparation, so it is counted here);
2. image encoder: one batched run on (N, 3, S, S);
3. per image: text encoder on its E expressions, fusion with that image's features (N = 1,
   broadcast to the E expressions inside the graph), decoder;
4. post-processing (host): logits to the host, upsampled, cropped, resized, thresholded.

Device stages are timed with the backend's clock (stage_clock); the host waits for the decoder
only where the masks are needed on the host, as a deployment must. End to end is host wall time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from haris import cpp_ops
from haris.benchmarks.stage_clock import HostClock
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.predictor import Predictor
from haris.runtime.tensor_contract import IMAGE_FEATS

STAGE_NAMES = ("pre_processing", "image_encoder", "text_encoder", "fusion", "decoder", "post_processing")
DEVICE_STAGES = ("image_encoder", "text_encoder", "fusion", "decoder")


def run_pipeline_once(
    predictor: Predictor, clock: HostClock, images: Sequence[np.ndarray], expressions: Sequence[Sequence[str]], threads: int | None = None
) -> dict[str, float]:
    """Seconds per stage (summed over the N images) and end to end, for one pass; `threads` for
    the pre- and post-processing kernels (all hardware threads when None)."""
    backend, (size, mean, std, threshold) = predictor.backend, predictor.settings
    start = time.perf_counter()
    prepared = [cpp_ops.preprocess_image(image, size, mean, std, threads) for image in images]
    tokens = [predictor.tokenize(list(texts)) for texts in expressions]
    host_seconds = {"pre_processing": time.perf_counter() - start, "post_processing": 0.0}
    before = clock.mark()
    outputs = backend.run("image_encoder", {"image": np.stack([pixels for pixels, _ in prepared])})
    per_image = split_image_features(backend, outputs, len(images))
    spans = [("image_encoder", before, clock.mark())]
    for image, (_, resized), features, image_tokens in zip(images, prepared, per_image, tokens):
        logits, decode_spans = _decode_image(backend, clock, features, image_tokens)
        spans += decode_spans
        clock.wait(decode_spans[-1][2])  # the masks are needed on the host: the one wait a deployment has too
        post_start = time.perf_counter()
        for row in backend.to_numpy(logits):
            cpp_ops.postprocess_mask(row[0], resized, image.shape[:2], size, threshold, threads=threads)
        host_seconds["post_processing"] += time.perf_counter() - post_start
    end_to_end = time.perf_counter() - start
    return {**_span_seconds(clock, spans), **host_seconds, "end_to_end": end_to_end}


def split_image_features(backend: Any, outputs: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Each image's three feature maps with N = 1, without a copy where the backend allows it.

    One image passes the outputs through. Otherwise torch tensors and TensorRT device tensors are
    sliced in place; onnxruntime's OrtValues have no slicing, so they come to the host once.
    """
    if count == 1:
        return [{name: outputs[name] for name in IMAGE_FEATS}]
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for name in IMAGE_FEATS:
        value = outputs[name]
        if not (hasattr(value, "narrow") or isinstance(value, (np.ndarray, DeviceTensor))):
            value = backend.to_numpy(value)
        for index in range(count):
            rows[index][name] = _first_axis_row(value, index)
    return rows


def summarize_passes(passes: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """p50, p90 and p99 of every stage and of end to end, over the timed passes."""
    names = (*STAGE_NAMES, "end_to_end")
    return {name: dict(zip(("p50", "p90", "p99"), map(float, np.percentile([p[name] for p in passes], [50, 90, 99])))) for name in names}


def _decode_image(backend: Any, clock: HostClock, features: dict[str, Any], tokens: np.ndarray) -> tuple[Any, list[tuple[str, Any, Any]]]:
    """Text encoder, fusion and decoder for one image's expressions: the logits and each stage's span."""
    marks = [clock.mark()]
    text = backend.run("text_encoder", {"text_tokens": tokens})
    marks.append(clock.mark())
    fused = backend.run("fusion", {**features, **text})
    marks.append(clock.mark())
    logits = backend.run("decoder", {**fused, "text_mask": text["text_mask"]})["mask_logits"]
    marks.append(clock.mark())
    return logits, list(zip(("text_encoder", "fusion", "decoder"), marks, marks[1:]))


def _first_axis_row(value: Any, index: int) -> Any:
    if hasattr(value, "narrow"):  # a torch tensor: a view
        return value.narrow(0, index, 1)
    if isinstance(value, np.ndarray):
        return value[index : index + 1]
    row_bytes = value.nbytes // value.shape[0]
    return DeviceTensor(value.pointer + index * row_bytes, (1, *value.shape[1:]), value.dtype, row_bytes, owner=value)


def _span_seconds(clock: HostClock, spans: list[tuple[str, Any, Any]]) -> dict[str, float]:
    seconds = dict.fromkeys(DEVICE_STAGES, 0.0)
    for stage, begin, end in spans:
        seconds[stage] += clock.seconds(begin, end)
    clock.release({id(mark): mark for _, begin, end in spans for mark in (begin, end)}.values())
    return seconds
