"""Training learns: the tiny preset, trained from the command line for a fixed number of steps on a small
synthetic set, segments held-out val scenes far better than a trivial mask, and its loss falls.

The trivial masks are scored on the same val expressions: the empty mask (IoU 0 wherever the object
is not empty) and the whole image (IoU = the object's share of the image, about 5% on this set).
Seeds are fixed (data, initial weights, sampling; one thread), so the run is the same every time.
`pytest -k learn` selects these tests and the demo's (tests/integration/test_demo.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from trivial_masks import trivial_mask_ious

from haris.cli import main

# 120 scenes at 256 x 256: 96 train (43 steps of 8 an epoch), 88 val expressions; no time limit, no drop.
RECIPE = [
    "train.epochs=3",
    "train.batch_size=8",
    "train.lr=1e-3",
    "train.lr_warmup_epochs=0.5",
    "train.lr_drop_epochs=[]",
    "train.time_limit_minutes=0",
    "train.max_eval_expressions=100",
    "train.workers=0",
]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("learn") / "data"
    assert main(["data", "synth", "--out", str(folder), "--count", "120", "--image-size", "256", "--seed", "1", "--workers", "1"]) == 0
    return folder


@pytest.fixture
def one_thread():
    """One torch thread, as tests/conftest.py sets it: a test run earlier in the process may have changed it,
    and another count sums in another order (the figures below are one thread's)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_learns_far_beyond_trivial_masks_and_its_loss_falls(synthetic, one_thread, tmp_path):
    run = tmp_path / "run"
    data = ["--data", str(synthetic), "--split-by", "unc", "--images", str(synthetic / "images")]
    assert main(["train", "tiny", *data, "--out", str(run), *[word for item in RECIPE for word in ("--set", item)]]) == 0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    losses = [entry["loss"] for entry in log if "loss" in entry]  # one batch's loss every 10 steps
    # Measured: 1.06 at step 10, 0.81-0.84 over the last 40 steps.
    assert len(losses) >= 10 and np.mean(losses[-4:]) < 0.92 * losses[0], losses

    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(run), *data, "--split", "val", "--skip-bad", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    trivial = trivial_mask_ious(synthetic, rows)
    assert metrics["count"] == len(rows) >= 80 and trivial["empty"] == 0.0 and trivial["whole"] < 0.1
    # Measured (Zen 3, 2 cores): 0.160 against 0.052 for the whole-image mask (3.1x); the bar asks for 2x + 0.02.
    assert metrics["mean_iou"] > 2 * max(trivial.values()) + 0.02, (metrics["mean_iou"], trivial)

    # --threshold moves the masks: past every logit, they are empty and score the empty mask's IoU.
    high = ["eval", "--checkpoint", str(run), *data, "--split", "val", "--threshold", "1e9", "--max-expressions", "8"]
    assert main([*high, "--out", str(tmp_path / "high")]) == 0
    scored = json.loads((tmp_path / "high" / "metrics.json").read_text())
    assert scored["threshold"] == 1e9 and scored["mean_iou"] == trivial["empty"] == 0.0
