"""`haris label` and `haris bench label` from their argv to the library call (stubbed: no Ray here), and
the refusals their options can cause. What needs a cluster or a GPU (--address, --num-gpus, --device
cuda) is checked as wiring: each actor opens its engine on its own node."""

from __future__ import annotations

import pytest

from haris.cli import main


@pytest.fixture
def labelled(monkeypatch):
    from haris.label import label_run

    calls = []

    def stand_in(settings):
        calls.append(settings)
        return {"shards_labelled": 2, "labelled": 5, "unreadable": 1, "annotations": 9, "shards": 2, "merged": None, "out": settings.out}

    monkeypatch.setattr(label_run, "label_images", stand_in)
    return calls


def test_every_label_option_reaches_the_settings(labelled, capsys):
    argv = ["label", "bundle", "photos", "--expressions", "texts.jsonl", "--out", "labels", "--address", "10.0.0.1:6379"]
    argv += ["--backend", "onnxruntime", "--precision", "int8", "--device", "cuda:1", "--actors", "2,5", "--num-cpus", "0.5"]
    argv += ["--num-gpus", "1", "--threads", "3", "--shard-size", "64", "--batch-size", "4", "--no-merge"]
    assert main(argv) == 0
    (settings,) = labelled
    assert (settings.bundle, settings.images, settings.expressions, settings.out, settings.address) == (
        "bundle",
        "photos",
        "texts.jsonl",
        "labels",
        "10.0.0.1:6379",
    )
    assert (settings.backend, settings.precision, settings.device, settings.actors) == ("onnxruntime", "int8", "cuda:1", (2, 5))
    assert (settings.num_cpus, settings.num_gpus, settings.threads, settings.shard_size, settings.batch_size, settings.merge) == (
        0.5,
        1.0,
        3,
        64,
        4,
        False,
    )
    assert capsys.readouterr().out == "labelled 5 images, 1 unreadable (listed in the shards): 9 annotations in 2 shards -> labels/shards\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--shard-size", "0"], "--shard-size and --batch-size must be at least 1, got 0 and 8"),
        (["--batch-size", "0"], "--shard-size and --batch-size must be at least 1, got 256 and 0"),
        (["--num-cpus", "-1"], "--num-cpus and --num-gpus must not be negative"),
        (["--actors", "3,1"], "--actors needs 1 <= MIN <= MAX, got 3,1"),
        (["--actors", "two"], "--actors takes N or MIN,MAX (whole numbers), got 'two'"),
    ],
)
def test_label_refuses_bad_options_by_name(labelled, capsys, options, message):
    assert main(["label", "bundle", "photos", "--expressions", "texts.txt", "--out", "labels", *options]) == 2
    assert message in capsys.readouterr().err and not labelled


def test_bench_label_hands_its_options_to_the_benchmark(monkeypatch, capsys):
    from haris.benchmarks import label_throughput

    calls = []
    monkeypatch.setattr(label_throughput, "run_label_throughput", lambda *args: calls.append(args) or {"steady_share_of_in_process": 0.93})
    bench_argv = ["bench", "label", "bundle", "--out", "runs/lt", "--images", "40", "--workers", "3", "--address", "auto"]
    assert main([*bench_argv, "--shard-size", "5", "--batch-size", "2"]) == 0
    assert calls == [("bundle", "runs/lt", 40, 3, "auto", 5, 2)]
    assert "Ray's steady throughput 93% of the plain processes'" in capsys.readouterr().out


def test_the_benchmarks_steady_rate_sums_each_actors_own_rate():
    """Two actors stamping their batches: 2 images a second each from their first start to their
    last finish, however the driver receives the rows; the second actor started later."""
    from haris.benchmarks import label_throughput

    spans = label_throughput.ActorSpans()
    for process, started in [(1, 10.0), (2, 15.0), (1, 11.0), (1, 12.0), (2, 16.0)]:
        spans.advance({"index": [0, 1], "process": [process] * 2, "started": [started] * 2, "finished": [started + 1.0] * 2})
    assert spans.steady_rate() == pytest.approx(6 / 3.0 + 4 / 2.0)
