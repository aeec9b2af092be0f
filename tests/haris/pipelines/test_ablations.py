from __future__ import annotations

import json

from haris.data.synthetic import write_synthetic_dataset
from haris.pipelines.ablations import ABLATIONS, format_table, main


def test_two_ablations_train_evaluate_and_make_the_table(tmp_path):
    data = tmp_path / "synthetic"
    write_synthetic_dataset(data, num_images=40, image_size=64, seed=2, progress=False)
    settings = ["image_size=64", "train.epochs=1", "train.batch_size=8", "train.workers=0", "train.max_eval_expressions=16"]
    argv = ["--data", str(data), "--out", str(tmp_path / "runs"), "--minutes", "5", "--only", "#4 Ours,#5 w/o FB"]
    assert main([*argv, *[item for setting in settings for item in ("--set", setting)]]) == 0
    results = json.loads((tmp_path / "runs" / "ablations.json").read_text())
    assert list(results) == ["#4 Ours", "#5 w/o FB"]
    table = (tmp_path / "runs" / "ablations.md").read_text()
    assert table.startswith("| Settings | Methods | Pr@70 |") and "| #5 | w/o FB |" in table
    stamp = (tmp_path / "runs" / "4_ours" / "eval_val" / "metrics.json").stat().st_mtime
    assert main([*argv, *[item for setting in settings for item in ("--set", setting)]]) == 0  # reuses the finished runs
    assert (tmp_path / "runs" / "4_ours" / "eval_val" / "metrics.json").stat().st_mtime == stamp


def test_table_has_the_paper_columns_in_percent():
    metrics = {"precision": {"Pr@70": 0.5, "Pr@80": 0.25, "Pr@90": 0.125}, "mean_iou": 0.6, "overall_iou": 0.55}
    assert format_table({"#4 Ours": metrics}).splitlines()[-1] == "| #4 | Ours | 50.00 | 25.00 | 12.50 | 60.00 | 55.00 |"
    assert set(ABLATIONS) >= {"#1 w/o HS", "#2 r. DE", "#3 r. CA", "#5 w/o FB", "#6 w/o VW", "#7 w/o LW"}
