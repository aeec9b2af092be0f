"""Per-stage parity: every stage of a backend run on exactly the inputs eager FP32 gave that stage.

End to end, a backend's differences compound from stage to stage, and a mask that differs does not
say which graph is off. Feeding each stage the eager stage's own inputs isolates the graphs: an
altered decoder shows in `decoder.mask_logits` while the other stages stay at rounding noise.

Per contract tensor the report gives the largest and the mean absolute difference, the tensor's
scale (its largest eager magnitude) and their ratio, the relative difference that tolerances judge
(ViT features span orders of magnitude, so a relative bound means the same for every tensor, as
in export's graph check). Boolean tensors (`text_mask`) count mismatches: scale 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from haris import cpp_ops
from haris.errors import HarisError
from haris.runtime.predictor import Predictor
from haris.runtime.stage_backend import StageBackend
from haris.runtime.tensor_contract import STAGE_INPUTS, STAGES

# stage -> (its inputs, its eager outputs), host arrays keyed by contract names
StageSample = dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


@dataclass
class DifferenceTotals:
    """Running totals of |backend - eager| for one tensor over every sample."""

    max_abs: float = 0.0
    abs_sum: float = 0.0
    count: int = 0
    scale: float = 0.0

    def add(self, got: np.ndarray, want: np.ndarray) -> None:
        if got.shape != want.shape:
            raise HarisError(f"shape {got.shape} differs from eager's {want.shape}")
        if want.dtype == np.bool_:
            difference, scale = (got != want).astype(np.float64), 1.0
        else:
            difference = np.abs(got.astype(np.float64) - want.astype(np.float64))
            scale = float(np.abs(want).max(initial=0.0))
        self.max_abs = max(self.max_abs, float(difference.max(initial=0.0)))
        self.abs_sum += float(difference.sum())
        self.count += difference.size
        self.scale = max(self.scale, scale)

    def summary(self) -> dict[str, float]:
        return {
            "max_abs": self.max_abs,
            "mean_abs": self.abs_sum / max(self.count, 1),
            "scale": self.scale,
            "relative": self.max_abs / max(self.scale, 1e-12),
        }


def eager_stage_samples(eager: Predictor, images: Sequence[np.ndarray], sentences: Sequence[Sequence[str]]) -> list[StageSample]:
    """Run the four stages eagerly on each image with its sentences; keep every stage's inputs and outputs."""
    settings = eager.settings
    samples = []
    for image, texts in zip(images, sentences):
        pixels, _ = cpp_ops.preprocess_image(image, settings.image_size, settings.pixel_mean, settings.pixel_std)
        tensors = {"image": pixels[None], "text_tokens": eager.tokenize(list(texts))}
        sample: StageSample = {}
        for stage in STAGES:
            inputs = {name: tensors[name] for name in STAGE_INPUTS[stage]}
            outputs = {name: eager.backend.to_numpy(value) for name, value in eager.backend.run(stage, inputs).items()}
            tensors.update(outputs)  # contract names are unique: later stages find their inputs here
            sample[stage] = (inputs, outputs)
        samples.append(sample)
    return samples


def stage_differences(backend: StageBackend, samples: Sequence[StageSample]) -> dict[str, dict[str, dict[str, float]]]:
    """{stage: {tensor: {max_abs, mean_abs, scale, relative}}} of `backend` against the eager samples."""
    totals = {stage: {} for stage in STAGES}
    for sample in samples:
        for stage, (inputs, expected) in sample.items():
            outputs = backend.run(stage, inputs)
            for name, want in expected.items():
                try:
                    totals[stage].setdefault(name, DifferenceTotals()).add(backend.to_numpy(outputs[name]), want)
                except HarisError as error:
                    raise HarisError(f"{backend.name} {stage} output {name}: {error}") from None
    return {stage: {name: total.summary() for name, total in tensors.items()} for stage, tensors in totals.items()}
