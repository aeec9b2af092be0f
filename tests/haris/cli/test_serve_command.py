"""`haris serve` from its argv to the settings handed to run_service (stubbed: no Ray here). What needs
a GPU or a cluster (--device cuda, --num-gpus, --address, --backend tensorrt) is checked as wiring: the
replicas open their engine on their own node, so a CPU machine cannot refuse them for that node."""

from __future__ import annotations

import pytest

from haris.cli import main


@pytest.fixture
def served(monkeypatch):
    from haris.serve import service_runner

    settings = []
    monkeypatch.setattr(service_runner, "run_service", settings.append)
    return settings


def test_every_serve_option_reaches_the_service_settings(tiny_bundle, served):
    argv = [
        "serve",
        str(tiny_bundle),
        "--backend",
        "onnxruntime",
        "--precision",
        "fp32",
        "--device",
        "cpu",
        "--replicas",
        "3",
        "--num-cpus",
        "0.5",
        "--threads",
        "2",
        "--host",
        "0.0.0.0",
        "--port",
        "8123",
        "--proxy-on-every-node",
        "--max-expressions",
        "8",
        "--max-expression-chars",
        "100",
        "--max-payload-mb",
        "1.5",
        "--max-image-pixels",
        "1000000",
    ]
    assert main(argv) == 0
    (settings,) = served
    assert (settings.bundle, settings.backend, settings.precision, settings.device) == (str(tiny_bundle), "onnxruntime", "fp32", "cpu")
    assert (settings.replicas, settings.num_cpus, settings.num_gpus, settings.replica_threads) == (3, 0.5, 0.0, 2)
    assert (settings.host, settings.port, settings.address, settings.proxy_on_every_node) == ("0.0.0.0", 8123, None, True)
    limits = settings.limits
    assert (limits.max_expressions, limits.max_expression_chars, limits.max_payload_bytes, limits.max_image_pixels) == (8, 100, 1572864, 1_000_000)


def test_gpu_and_cluster_options_are_handed_to_the_replicas(tiny_bundle, served):
    assert main(["serve", str(tiny_bundle), "--backend", "tensorrt", "--device", "cuda:1", "--num-gpus", "1", "--address", "auto"]) == 0
    (settings,) = served
    assert (settings.backend, settings.device, settings.num_gpus, settings.address) == ("tensorrt", "cuda:1", 1.0, "auto")


def test_serve_refuses_what_is_not_a_bundle_before_ray_starts(tmp_path, served, capsys):
    assert main(["serve", str(tmp_path), "--num-gpus", "1"]) == 2
    assert f"{tmp_path} is not a HARIS bundle (no manifest.json)" in capsys.readouterr().err and not served
