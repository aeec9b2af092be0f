"""Integration: `haris demo --quick` runs train -> export -> runtime -> parity end to end, and a rerun reuses it."""

from __future__ import annotations

import json

from haris.cli import main


def test_the_quick_demo_runs_every_step_and_a_rerun_reuses_them(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
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

    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count("done already") == len(steps)
