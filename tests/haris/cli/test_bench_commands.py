"""`haris bench speed` and `haris demo --train-minutes` from their argv, and the refusals of the speed
bench's shape options (before anything is measured)."""

from __future__ import annotations

import json

import pytest

from haris.cli import main


def test_bench_speed_measures_the_shapes_and_passes_it_was_given(tiny_checkpoint, tiny_bundle, tmp_path, monkeypatch):
    from haris.benchmarks import compute_peak

    monkeypatch.setattr(compute_peak, "PEAK_SECONDS", 0.05)  # the matmul peak: its warm-up and one timed run
    argv = ["bench", "speed", "--checkpoint", str(tiny_checkpoint), "--bundle", str(tiny_bundle), "--threads", "1", "--out", str(tmp_path)]
    options = ["--backends", "onnxruntime:fp32", "--images-per-batch", "2", "--expressions-per-image", "3", "--iterations", "2"]
    assert main([*argv, *options, "--warmup", "0", "--image-shape", "30x50"]) == 0
    report = json.loads((tmp_path / "speed.json").read_text())
    settings = report["settings"]
    assert (settings["threads"], settings["iterations"], settings["warmup"]) == (1, 2, 0)
    assert tuple(settings["image_shape"]) == (30, 50) and set(report["backends"]) == {"onnxruntime:fp32"}
    (run,) = report["backends"]["onnxruntime:fp32"]["runs"]
    assert (run["batch"], run["expressions_per_image"]) == (2, 3)
    assert (tmp_path / "speed.md").is_file() and (tmp_path / "throughput.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--image-shape", "30by50", "--image-shape takes HxW, e.g. 480x640; got '30by50'"),
        ("--images-per-batch", "1,a", "--images-per-batch takes comma-separated whole numbers, e.g. 1,4; got '1,a'"),
        ("--expressions-per-image", "4;16", "--expressions-per-image takes comma-separated whole numbers, e.g. 1,4; got '4;16'"),
    ],
)
def test_bench_speed_refuses_a_malformed_shape_option(tiny_bundle, tmp_path, capsys, option, value, message):
    assert main(["bench", "speed", "--bundle", str(tiny_bundle), "--out", str(tmp_path), option, value]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "speed.json").exists()


def test_demo_train_minutes_overrides_the_budget_of_either_size(tmp_path, monkeypatch):
    from haris.pipelines import demo_pipeline

    ran = []
    monkeypatch.setattr(demo_pipeline, "run_demo", lambda out, settings: ran.append((out, settings)) or tmp_path / "report.md")
    assert main(["demo", "--out", str(tmp_path), "--train-minutes", "2.5"]) == 0
    assert main(["demo", "--quick", "--out", str(tmp_path), "--train-minutes", "0.2"]) == 0
    (out, full), (_, quick) = ran
    assert out == str(tmp_path) and (full.train_minutes, full.images) == (2.5, 2000)
    assert (quick.train_minutes, quick.images) == (0.2, 16)
