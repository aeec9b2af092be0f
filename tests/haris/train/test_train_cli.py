"""`haris data synth`, `haris train` and `haris eval` end to end, and a killed run resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from haris.cli import main
from haris.cpu_features import cpu_features
from haris.data.synthetic import write_synthetic_dataset

SMALL_RUN = [
    "--set",
    "image_size=64",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.workers=0",
    "--set",
    "train.max_eval_expressions=24",
    "--set",
    "train.lr=1e-3",
]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    write_synthetic_dataset(folder, num_images=40, image_size=64, seed=1, progress=False)
    return folder


def test_train_then_evaluate_from_the_command_line(synthetic, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "tiny", "--data", str(synthetic), "--out", str(run), "--set", "train.epochs=1", *SMALL_RUN]) == 0
    assert "val mean IoU" in capsys.readouterr().out
    [session] = json.loads((run / "run.json").read_text())["sessions"]
    native = cpu_features().native_bf16  # train.cpu_bf16 is "auto" in the preset: this CPU decides
    assert session["autocast"] == ("bfloat16" if native else "off") and "train.cpu_bf16=auto" in session["reason"]
    assert session["cpu"] == cpu_features().summary() and not session["resumed"]
    assert main(["train", "tiny", "--data", str(synthetic), "--out", str(run)]) == 2  # refuses to overwrite a run
    assert main(["eval", "--checkpoint", str(run), "--data", str(synthetic), "--split", "testA", "--overlays", "2", "--max-expressions", "10"]) == 0
    metrics = json.loads((run / "eval_testA" / "metrics.json").read_text())
    assert metrics["count"] == 10 and set(metrics["precision"]) == {"Pr@50", "Pr@60", "Pr@70", "Pr@80", "Pr@90"}
    results = [json.loads(line) for line in (run / "eval_testA" / "results.jsonl").read_text().splitlines()]
    assert len(results) == 10 and {"ref_id", "sentence", "intersection", "union", "iou"} <= set(results[0])
    assert len(list((run / "eval_testA" / "overlays").glob("*.png"))) == 4


def test_missing_dataset_is_one_clear_line(tmp_path, capsys):
    assert main(["train", "tiny", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == f"haris: error: dataset folder not found: {tmp_path / 'nowhere'}"


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(synthetic, tmp_path):
    recipe = ["--set", "train.epochs=2", "--set", "train.checkpoint_every_steps=1", *SMALL_RUN]
    assert main(["train", "tiny", "--data", str(synthetic), "--out", str(tmp_path / "straight"), *recipe]) == 0

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "haris.cli", "train", "tiny", "--data", str(synthetic), "--out", str(killed), *recipe]
    # One thread, as in this test process: another thread count sums matmuls in another order.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    state = killed / "last" / "trainer_state.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (state.is_file() and torch.load(state, weights_only=True)["progress"]["step"] >= 2):
        time.sleep(0.05)
    process.kill()  # SIGKILL: no chance to save anything more
    process.wait()
    steps_done = torch.load(state, weights_only=True)["progress"]["step"]
    all_steps = torch.load(tmp_path / "straight" / "last" / "trainer_state.pt", weights_only=True)["progress"]["step"]
    assert 2 <= steps_done < all_steps  # it was killed in the middle
    assert main(["train", "--resume", str(killed)]) == 0
    straight = load_file(str(tmp_path / "straight" / "last" / "model.safetensors"))
    resumed = load_file(str(killed / "last" / "model.safetensors"))
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    sessions = json.loads((killed / "run.json").read_text())["sessions"]
    assert [session["resumed"] for session in sessions] == [False, True]  # each process says where it ran


def test_resume_without_a_run_is_refused(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
