from __future__ import annotations

import subprocess
import sys

import yaml

from haris.checkpoint import load_checkpoint
from haris.cli import main


def test_config_prints_the_resolved_preset(capsys):
    assert main(["config", "tiny", "--set", "fusion.feedback=false"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["fusion"]["feedback"] is False and printed["model"]["image_encoder"]["name"] == "tiny"
    assert printed["train"]["batch_size"] > 0


def test_bad_override_is_one_line_and_exit_code_2(capsys):
    assert main(["config", "tiny", "--set", "fusion.feedbak=false"]) == 2
    error = capsys.readouterr().err
    assert error == "haris: error: unknown config key 'model.fusion.feedbak'; did you mean 'model.fusion.feedback'?\n"


def test_init_writes_a_loadable_checkpoint_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "ckpt"
    assert main(["init", "tiny", "--set", "decoder.kind=multiply", "--out", str(out)]) == 0
    assert load_checkpoint(out).config.decoder.kind == "multiply"
    assert main(["init", "tiny", "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "haris.cli", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("haris ")
