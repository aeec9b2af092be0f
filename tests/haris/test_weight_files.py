"""Foreign weight files: what is refused, and how clearly."""

from __future__ import annotations

import pickle

import pytest
import torch

from haris.config import load_model_config
from haris.errors import CheckpointError, ConfigError
from haris.modeling.foreign_weights import load_clip_text_weights, load_sam_weights, read_state_dict
from haris.modeling.model_builder import build_image_encoder, build_text_encoder


@pytest.fixture(scope="module")
def tiny_sam_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sam") / "tiny_sam.pth"
    config = load_model_config("tiny")
    state = {f"image_encoder.{k.removeprefix('vit.')}": v for k, v in build_image_encoder(config).state_dict().items()}
    torch.save(state, path)
    return path


def test_encoder_of_another_size_names_the_config_that_fits(tiny_sam_file):
    config = load_model_config("paper", ["image_size=256"])
    with pytest.raises(CheckpointError) as caught:
        load_sam_weights(build_image_encoder(config), tiny_sam_file, config)
    message = str(caught.value)
    assert message.startswith(f"SAM checkpoint {tiny_sam_file} does not fit the model")
    assert "missing 'blocks.3." in message and "(and " in message
    assert "set image_encoder.name=tiny" in message


def test_truncated_state_dict_names_the_missing_keys(tmp_path):
    config = load_model_config("tiny")
    state = build_image_encoder(config).vit.state_dict()
    del state["blocks.2.mlp.lin2.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match=r"missing 'blocks.2.mlp.lin2.weight'"):
        load_sam_weights(build_image_encoder(config), tmp_path / "partial.pth", config)


def test_truncated_file_is_refused(tiny_sam_file, tmp_path):
    data = tiny_sam_file.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read weights from .*cut.pth"):
        read_state_dict(tmp_path / "cut.pth")


class RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, capsys):
    (tmp_path / "hostile.pth").write_bytes(pickle.dumps({"weight": RunsCode()}))
    with pytest.raises(CheckpointError, match="cannot read weights"):
        read_state_dict(tmp_path / "hostile.pth")
    assert "this must never run" not in capsys.readouterr().out


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="weights file not found: .*nothing.pth"):
        read_state_dict(tmp_path / "nothing.pth")


def test_safetensors_and_wrapped_state_dicts_are_read(tmp_path):
    from safetensors.torch import save_file

    tensors = {"a": torch.ones(2)}
    save_file(tensors, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": {"module.a": torch.ones(2)}}, tmp_path / "wrapped.pt")
    assert torch.equal(read_state_dict(tmp_path / "w.safetensors")["a"], tensors["a"])
    assert list(read_state_dict(tmp_path / "wrapped.pt")) == ["a"]


def test_clip_text_tower_of_another_size_names_the_config(tmp_path):
    tiny = load_model_config("tiny")
    torch.save(build_text_encoder(tiny).tower.state_dict(), tmp_path / "tiny_clip.pt")
    paper = load_model_config("paper")
    with pytest.raises(CheckpointError, match=r"width 32, 2 layers, output 32: set text_encoder.name to one of \['tiny'\]"):
        load_clip_text_weights(build_text_encoder(paper), tmp_path / "tiny_clip.pt", paper)


def test_clip_context_shorter_than_max_words_is_refused(tmp_path):
    short = load_model_config("tiny", ["max_words=8"])
    torch.save(build_text_encoder(short).tower.state_dict(), tmp_path / "short.pt")
    config = load_model_config("tiny")
    with pytest.raises(CheckpointError, match="context of 8 tokens, fewer than max_words=17"):
        load_clip_text_weights(build_text_encoder(config), tmp_path / "short.pt", config)


def test_taps_past_the_encoder_depth_are_a_config_error():
    with pytest.raises(ConfigError, match="reach past the 3 blocks of 'tiny'"):
        build_image_encoder(load_model_config("tiny", ["image_encoder.tap_blocks=[2, 4, 6]"]))
