"""The model commands from their argv: `haris config --list`, `init --overwrite`, `data synth` and its
refusal, and a bare command group, which prints its help."""

from __future__ import annotations

import json

import pytest

from haris.checkpoint import load_checkpoint
from haris.cli import main
from haris.config import list_presets


def test_config_list_prints_the_bundled_presets(capsys):
    assert main(["config", "--list"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == list_presets() and {"paper", "paper_gref", "tiny"} <= set(printed)


def test_init_overwrite_replaces_an_existing_checkpoint(tmp_path):
    out = tmp_path / "checkpoint"
    assert main(["init", "tiny", "--out", str(out)]) == 0
    assert main(["init", "tiny", "--set", "decoder.kind=multiply", "--out", str(out), "--overwrite"]) == 0
    assert load_checkpoint(out).config.decoder.kind == "multiply"


def test_data_synth_writes_count_images_at_the_size_the_seed_decides(tmp_path):
    options = ["--count", "8", "--image-size", "64", "--seed", "3"]
    assert main(["data", "synth", "--out", str(tmp_path / "one"), *options, "--workers", "1"]) == 0
    assert main(["data", "synth", "--out", str(tmp_path / "two"), *options, "--workers", "2"]) == 0
    assert main(["data", "synth", "--out", str(tmp_path / "other"), "--count", "8", "--image-size", "64", "--seed", "4"]) == 0
    instances = json.loads((tmp_path / "one" / "instances.json").read_text())
    assert len(instances["images"]) == 8 and {(image["width"], image["height"]) for image in instances["images"]} == {(64, 64)}
    files = sorted(path.name for path in (tmp_path / "one" / "images").iterdir())
    assert len(files) == 8
    # The seed decides the scenes, not the number of workers drawing them.
    assert all((tmp_path / "one" / "images" / name).read_bytes() == (tmp_path / "two" / "images" / name).read_bytes() for name in files)
    assert (tmp_path / "one" / "instances.json").read_bytes() == (tmp_path / "two" / "instances.json").read_bytes()
    assert (tmp_path / "one" / "instances.json").read_bytes() != (tmp_path / "other" / "instances.json").read_bytes()


def test_data_synth_refuses_fewer_images_than_splits(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "data"), "--count", "3"]) == 2
    assert "num_images must be at least 4 (one image per split), not 3" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["bench"], ["data"]])
def test_a_command_group_alone_prints_the_help_and_fails(argv, capsys):
    assert main(argv) == 2
    assert "usage: haris" in capsys.readouterr().out


def test_train_needs_data_and_out_unless_it_resumes(tmp_path, capsys):
    assert main(["train", "tiny", "--out", str(tmp_path / "run")]) == 2
    assert "haris train needs --data and --out (or --resume RUN_DIR)" in capsys.readouterr().err
