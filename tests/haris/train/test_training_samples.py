from __future__ import annotations

import numpy as np
import torch
from toy_dataset import ToyDataset

from haris.config import load_model_config
from haris.train.training_samples import TrainingSamples, collate_samples, mask_target


def test_mask_target_places_the_object_like_the_image():
    mask = np.zeros((40, 80), dtype=bool)
    mask[:, :40] = True  # left half
    target = mask_target(mask, resized=(32, 64), image_size=64)
    assert target.shape == (16, 16)
    assert np.allclose(target[:8, :7], 1) and np.allclose(target[:8, 9:], 0)
    np.testing.assert_allclose(target[:8, 7:9].sum(axis=1), 1.0, atol=0.01)  # the bilinear edge, shared by two cells
    assert np.allclose(target[8:], 0)  # the padding below the image


def test_sentence_choice_is_fixed_by_seed_epoch_and_index():
    samples = TrainingSamples(ToyDataset(4), load_model_config("tiny", ["image_size=64"]), seed=5)
    first = [samples[(epoch, 1)]["text_tokens"] for epoch in range(8)]
    again = [samples[(epoch, 1)]["text_tokens"] for epoch in range(8)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert len({tuple(t.tolist()) for t in first}) == 2  # both sentences of the ref come up


def test_a_sample_holds_model_input_tokens_and_target():
    samples = TrainingSamples(ToyDataset(4), load_model_config("tiny", ["image_size=64"]))
    batch = collate_samples([samples[(0, 0)], None, samples[(0, 1)]])
    assert batch["image"].shape == (2, 3, 64, 64) and batch["image"].dtype == torch.float32
    assert batch["text_tokens"].shape == (2, 17) and batch["text_tokens"].dtype == torch.int32
    assert batch["target"].shape == (2, 1, 16, 16) and batch["target"].sum() > 0
