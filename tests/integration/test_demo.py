"""Integration: `haris demo --quick` runs train -> export -> runtime -> parity end to end, its model learns,
and a rerun reuses it. `pytest -k learn` selects it with tests/haris/train/test_training_learns.py."""

from __future__ import annotations

import json

from trivial_masks import trivial_mask_ious

from haris.cli import main


def test_the_quick_demo_runs_every_step_learns_and_a_rerun_reuses_them(tmp_path, capsys):
    out = tmp_path / "demo"
    # A budget the quick schedule never reaches (16 epochs of 3 steps: under 90 s on 2 loaded cores), so the
    # whole schedule runs and the result does not depend on the machine's load.
    argv = ["demo", "--quick", "--out", str(out), "--train-minutes", "10"]
    assert main(argv) == 0
    first, log = capsys.readouterr()
    assert "\r" not in log and log.count("\n") < 100  # redirected: a few lines per step, no progress frames
    steps = {path.stem: json.loads(path.read_text()) for path in (out / "steps").glob("*.json")}
    assert set(steps) == {"data", "train", "eval", "export", "engines", "predict", "parity", "speed"}
    assert all(step["finished"] for step in steps.values()) and steps["parity"]["summary"]["passed"] is True
    assert (out / "bundle" / "manifest.json").is_file() and (out / "bench" / "speed" / "speed.json").is_file()
    assert list((out / "predictions").rglob("*.overlay.png"))
    report = (out / "report.md").read_text()
    assert "## Parity against eager FP32" in report and "mean IoU" in report
    assert f"report: {out / 'report.md'}" in first
    rows = [json.loads(line) for line in (out / "eval" / "results.jsonl").read_text().splitlines()]
    trivial = trivial_mask_ious(out / "data", rows)
    # Measured (Zen 3, 2 cores): 0.15 against 0.04 for the whole-image mask (0 for the empty one).
    assert steps["eval"]["summary"]["mean_iou"] > 2 * max(trivial.values()) + 0.02, (steps["eval"]["summary"], trivial)

    assert main(argv) == 0
    assert capsys.readouterr().err.count("done already") == len(steps)
