"""Inputs every exported graph is checked on: random tensors and real ones (demo scenes).

Samples are chained through the eager model, so each graph is checked on the inputs its stage sees
in use: the fusion graph on the eager encoders' outputs, the decoder on the eager fusion's. They
cover what the dynamic axes promise: every text length L from 1 to the maximum, N = 1 broadcast
against B > 1, and N = B.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from haris.data.synthetic.demo_scene import render_scene, scene_sentences
from haris.data.text_tokenizer import TextTokenizer
from haris.image_transforms import preprocess_image
from haris.modeling.haris_model import Haris
from haris.runtime.tensor_contract import STAGE_INPUTS

START_TOKEN, END_TOKEN = 49406, 49407  # CLIP's; word ids lie below them


class CheckSample(NamedTuple):
    label: str  # says what the sample covers, for error messages
    inputs: dict[str, torch.Tensor]  # the stage's inputs by contract name
    real: bool  # from a demo scene (mask agreement is judged on these)


def random_tokens(batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """(B, L) int32: start, random words, end, zero padding; row 0 fills all L, the others vary."""
    tokens = torch.zeros(batch, length, dtype=torch.int32)
    for row in range(batch):
        used = length if row == 0 else int(torch.randint(1, length + 1, (1,), generator=generator))
        words = torch.randint(1, START_TOKEN, (used,), generator=generator, dtype=torch.int32)
        words[0], words[used - 1] = START_TOKEN, END_TOKEN  # L = 1 keeps only the end token
        tokens[row, :used] = words
    return tokens


def demo_inputs(model: Haris, count: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """One demo scene as a normalized (1, 3, S, S) image, and `count` of its sentences as tokens."""
    config = model.config
    scene = render_scene(0, seed=0, image_size=config.image_size)
    image, _ = preprocess_image(scene.pixels, config.image_size, config.preprocess.pixel_mean, config.preprocess.pixel_std)
    sentences = scene_sentences(scene)[:count]
    return torch.from_numpy(image)[None], TextTokenizer(config).to_longest(sentences)


@torch.no_grad()  # not inference_mode: the exporter traces these tensors again
def check_samples(model: Haris, seed: int = 0) -> dict[str, list[CheckSample]]:
    """Per graph, the samples it is checked on; the first sample of each is the one to trace."""
    generator = torch.Generator().manual_seed(seed)
    size, max_words = model.config.image_size, model.config.max_words
    real_image, real_tokens = demo_inputs(model)
    random_image = torch.randn(2, 3, size, size, generator=generator)
    texts = [("random B=2 L=max", random_tokens(2, max_words, generator), False), ("demo sentences", real_tokens, True)]
    texts += [(f"random B=2 L={length}", random_tokens(2, length, generator), False) for length in range(1, max_words)]
    images = [("random N=2", random_image, False), ("demo image", real_image, True)]
    pairs = [(images[0], texts[0]), (images[1], texts[1]), (("random N=1", random_image[:1], False), texts[2])]
    samples = {"image_encoder": [_sample(label, real, image=image) for label, image, real in images]}
    samples["text_encoder"] = [_sample(label, real, text_tokens=tokens) for label, tokens, real in texts]
    samples["fusion"], samples["decoder"], samples["haris"] = [], [], []
    for (image_label, image, image_real), (text_label, tokens, text_real) in pairs:
        label, real = f"{image_label} + {text_label}", image_real and text_real
        feats, text = model.encode_image(image), model.encode_text(tokens)
        fused = model.fuse(*feats, *text)
        samples["fusion"].append(_sample(label, real, **feats._asdict(), **text._asdict()))
        samples["decoder"].append(_sample(label, real, **fused._asdict(), text_mask=text.text_mask))
        samples["haris"].append(_sample(label, real, image=image, text_tokens=tokens))
    return samples


def _sample(label: str, real: bool, **inputs: torch.Tensor) -> CheckSample:
    return CheckSample(label, inputs, real)


def as_numpy(inputs: dict[str, torch.Tensor], stage: str) -> dict[str, np.ndarray]:
    return {name: inputs[name].numpy() for name in STAGE_INPUTS[stage]}
