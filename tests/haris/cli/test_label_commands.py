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
    argv += ["--num-gpus", "1", "--threads", "3", "--shard-size", "64", "--batch-size", "4", "--no-merge", "--memory", "7.5"]
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
    assert settings.memory_gib == 7.5
    assert capsys.readouterr().out == "labelled 5 images, 1 unreadable (listed in the shards): 9 annotations in 2 shards -> labels/shards\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--shard-size", "0"], "--shard-size and --batch-size must be at least 1, got 0 and 8"),
        (["--batch-size", "0"], "--shard-size and --batch-size must be at least 1, got 256 and 0"),
        (["--num-cpus", "-1"], "--num-cpus must not be negative, got -1"),
        (["--memory", "-0.5"], "--memory must not be negative, got -0.5"),
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
    assert main([*bench_argv, "--shard-size", "5", "--batch-size", "2", "--rounds", "2"]) == 0
    assert calls == [("bundle", "runs/lt", 40, 3, "auto", 5, 2, 2)]
    assert "Ray's steady throughput 93% of the plain processes'" in capsys.readouterr().out


def test_bench_label_refuses_a_count_below_one(capsys):
    assert main(["bench", "label", "bundle", "--rounds", "0"]) != 0
    assert "--rounds must be at least 1, not 0" in capsys.readouterr().err


def test_the_benchmarks_steady_rate_sums_each_actors_own_rate():
    """Two actors stamping their batches: 2 images a second each from their first start to their
    last finish, however the driver receives the rows; the second actor started later."""
    from haris.benchmarks import label_throughput

    spans = label_throughput.ActorSpans()
    for process, started in [(1, 10.0), (2, 15.0), (1, 11.0), (1, 12.0), (2, 16.0)]:
        spans.advance({"index": [0, 1], "process": [process] * 2, "started": [started] * 2, "finished": [started + 1.0] * 2})
    assert spans.steady_rate() == pytest.approx(6 / 3.0 + 4 / 2.0)


def test_the_benchmark_pairs_each_ray_run_with_the_plain_run_before_it(monkeypatch, tmp_path):
    """Three rounds whose machine speeds up: each round's ratio is Ray over the plain run just before
    it, and the report's share is the median of those ratios, not a ratio of averages."""
    from types import SimpleNamespace

    from haris.benchmarks import label_throughput

    plain_rates, ray_rates = iter([10.0, 20.0, 40.0]), iter([9.0, 16.0, 38.0])
    monkeypatch.setattr(label_throughput, "write_scenes", lambda folder, count, size: ([tmp_path / "a.png"], tmp_path / "expressions.txt"))
    monkeypatch.setattr(label_throughput.Bundle, "open", lambda *args, **kwargs: SimpleNamespace(manifest=SimpleNamespace(image_size=64)))
    monkeypatch.setattr(label_throughput, "describe_machine", lambda threads: {})
    monkeypatch.setattr(label_throughput, "machine_summary", lambda machine: "a machine")

    def plain(*args):
        rate = next(plain_rates)
        return {"steady_images_per_s": rate, "end_to_end_images_per_s": rate / 2, "seconds": 1.0}

    def on_ray(settings, count):
        rate = next(ray_rates)
        return {"nodes": 1, "labelled": count, "seconds": 1.0, "end_to_end_images_per_s": rate / 4, "steady_images_per_s": rate}

    monkeypatch.setattr(label_throughput, "in_process_rate", plain)
    monkeypatch.setattr(label_throughput, "_ray_run", on_ray)
    report = label_throughput.run_label_throughput("bundle", tmp_path, count=1, rounds=3)
    assert [pair["steady_share"] for pair in report["rounds"]] == pytest.approx([0.9, 0.8, 0.95])
    assert report["steady_share_of_in_process"] == pytest.approx(0.9)
    assert report["end_to_end_share_of_in_process"] == pytest.approx(0.45)
    markdown = (tmp_path / "label_throughput.md").read_text()
    assert "| 2 | 20 / 10 | 16 / 4 | 80% | 40% |" in markdown
    assert "median of 3 rounds: 90% of the plain processes' steady throughput, 45% end to end" in markdown


def test_a_plain_worker_that_fails_ends_the_benchmark_instead_of_hanging(tmp_path):
    """The bundle cannot be opened: the worker processes exit non-zero before the start barrier, and the
    benchmark says so instead of waiting for them forever."""
    from haris.benchmarks import label_throughput
    from haris.errors import HarisError

    with pytest.raises(HarisError, match="a plain worker process exited with code 1"):
        label_throughput.in_process_rate(str(tmp_path / "no-bundle"), [tmp_path / "a.png", tmp_path / "b.png"], workers=2, batch_size=1)
