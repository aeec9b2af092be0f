from __future__ import annotations

import dataclasses

import pytest
import yaml

from haris.config import (
    ModelConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    list_presets,
    load_model_config,
    load_run_config,
    read_config_file,
    write_config_file,
)
from haris.errors import ConfigError


def test_presets_are_bundled_and_load():
    assert {"paper", "paper_gref", "tiny"} <= set(list_presets())
    paper = load_model_config("paper")
    assert (paper.image_encoder.name, paper.text_encoder.name, paper.max_words) == ("vit_b", "ViT-B-16", 17)
    assert paper.image_encoder.tap_blocks == (4, 8, 12) and paper.image_size == 1024
    assert load_model_config("paper_gref").max_words == 25
    tiny = load_model_config("tiny")
    assert tiny.image_encoder.name == "tiny" and tiny.text_encoder.name == "tiny"


@pytest.mark.parametrize("preset", ["paper", "paper_gref", "tiny"])
def test_yaml_round_trip_is_exact(preset, tmp_path):
    config = load_model_config(preset, ["fusion.feedback=false", "decoder.dropout=0.125", "image_encoder.checkpoint=/x/sam.pth"])
    write_config_file(config, tmp_path / "config.yaml")
    assert read_config_file(ModelConfig, tmp_path / "config.yaml") == config
    assert config_from_dict(ModelConfig, yaml.safe_load(yaml.safe_dump(config_to_dict(config)))) == config


def test_overrides_apply_and_keep_the_rest():
    base = load_model_config("tiny")
    changed = apply_overrides(base, ["fusion.feedback=false", "image_encoder.tap_blocks=[1, 2, 3]", "decoder.kind=multiply"])
    assert changed.fusion.feedback is False and changed.decoder.kind == "multiply"
    assert dataclasses.replace(changed, fusion=base.fusion, decoder=base.decoder) == base


def test_float_field_accepts_an_integer():
    assert load_model_config("tiny", ["decoder.dropout=0"]).decoder.dropout == 0.0


@pytest.mark.parametrize(
    "override, message",
    [
        ("fusion.feedbak=false", "unknown config key 'fusion.feedbak'; did you mean 'fusion.feedback'?"),
        ("imagesize=512", "did you mean 'image_size'?"),
        ("fusion.dim=abc", "'fusion.dim' must be int, got 'abc'"),
        ("fusion.feedback=3", "'fusion.feedback' must be bool, got 3"),
        ("max_words=true", "'max_words' must be int, got True"),
        ("decoder.kind=mlp", "'decoder.kind' must be one of 'transformer', 'multiply', got 'mlp'"),
        ("image_encoder.tap_blocks=[1, 2]", "'image_encoder.tap_blocks' must have 3 items"),
        ("image_size=100", "image_size must be a positive multiple of 16"),
        ("fusion.feedback", "must look like key.path=value"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(ConfigError) as caught:
        load_model_config("tiny", [override])
    assert message in str(caught.value)


def test_unknown_nested_key_in_a_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("fusion:\n  dimm: 128\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'fusion.dimm'; did you mean 'fusion.dim'\?"):
        read_config_file(ModelConfig, path)


def test_unknown_preset_suggests_the_nearest():
    with pytest.raises(ConfigError, match="did you mean 'tiny'"):
        load_model_config("tinny")


def test_presets_carry_the_training_recipe_and_take_section_overrides():
    paper = load_run_config("paper")
    assert (paper.train.epochs, paper.train.lr, paper.train.lr_drop_epochs, paper.train.batch_size) == (50, 1e-4, (30,), 16)
    changed = load_run_config("tiny", ["train.lr=3e-4", "fusion.feedback=false", "model.decoder.layers=1"])
    assert changed.train.lr == 3e-4 and changed.model.fusion.feedback is False and changed.model.decoder.layers == 1
    with pytest.raises(ConfigError, match=r"unknown config key 'train.lrr'; did you mean 'train.lr'\?"):
        load_run_config("tiny", ["train.lrr=1"])


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_model_config("tiny").fusion.dim = 3
