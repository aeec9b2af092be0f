"""Checkpoint directories: exact round trip, self-contained config, refusal of altered files."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import SENTENCES, build_tiny, random_image

from haris.checkpoint import load_checkpoint, save_checkpoint
from haris.checkpoint.checkpoint_io import META_FILE, WEIGHTS_FILE
from haris.errors import CheckpointError


@pytest.fixture()
def saved(tmp_path):
    model = build_tiny(["fusion.feedback=false"], seed=3)
    return model, save_checkpoint(model, tmp_path / "ckpt")


def test_round_trip_is_bit_exact_and_carries_its_config(saved, tokenize):
    model, directory = saved
    loaded = load_checkpoint(directory)
    assert loaded.config == model.config and loaded.config.fusion.feedback is False
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert original[key].dtype == restored[key].dtype and torch.equal(original[key], restored[key]), key
    tokens = tokenize(SENTENCES, 17)
    with torch.inference_mode():
        assert torch.equal(model(random_image(256), tokens), loaded(random_image(256), tokens))
    assert not loaded.training


def test_saving_over_a_checkpoint_replaces_it_whole(saved, tmp_path):
    _, directory = saved
    other = build_tiny(seed=4)
    save_checkpoint(other, directory)
    assert load_checkpoint(directory).config == other.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no staging or backup folders left


def test_failed_save_leaves_the_old_checkpoint(saved, monkeypatch):
    model, directory = saved
    before = (directory / WEIGHTS_FILE).read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("haris.checkpoint.checkpoint_io.save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(model, directory)
    assert (directory / WEIGHTS_FILE).read_bytes() == before
    assert sorted(p.name for p in directory.parent.iterdir()) == ["ckpt"]


def test_altered_weights_are_refused(saved):
    _, directory = saved
    data = bytearray((directory / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (directory / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        load_checkpoint(directory)


def test_not_a_checkpoint_directory_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="is not a HARIS checkpoint directory"):
        load_checkpoint(tmp_path)


def test_config_that_does_not_fit_the_weights_names_the_mismatch(saved):
    _, directory = saved
    config_path = directory / "config.yaml"
    config_path.write_text(config_path.read_text().replace("dim: 64", "dim: 32"))
    with pytest.raises(CheckpointError, match=r"weights of checkpoint .* does not fit the model: .* in the file"):
        load_checkpoint(directory)


def test_newer_format_is_refused(saved):
    _, directory = saved
    meta = json.loads((directory / META_FILE).read_text())
    (directory / META_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(CheckpointError, match="has format 99"):
        load_checkpoint(directory)
