"""One registry of backends: every entry point offers exactly its backends and precisions, each entry
opens its own class, and `haris predict` runs and records the engine `auto` chooses."""

from __future__ import annotations

import argparse
import json

import pytest
from runtime_samples import demo_scenes, encode_image

from haris.benchmarks.bench_backends import parse_backend
from haris.cli import build_parser, main
from haris.cpu_features import cpu_features
from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BACKENDS, BUNDLE_BACKENDS, COMPUTE_PRECISIONS, backend_entry
from haris.runtime.bundle import Bundle
from haris.runtime.engine_choice import choose_engine
from haris.runtime.predictor import Predictor
from haris.runtime.stage_backend import StageBackend


def option_choices(command: str, option: str) -> list[str]:
    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    parser = commands.choices[command]
    return list(next(action for action in parser._actions if option in action.option_strings).choices)


@pytest.mark.parametrize(
    ("command", "backends"),
    [("predict", [AUTO, *BACKENDS]), ("app", [AUTO, *BACKENDS]), ("serve", [AUTO, *BUNDLE_BACKENDS]), ("label", [AUTO, *BUNDLE_BACKENDS])],
)
def test_every_command_offers_exactly_the_registrys_backends_and_precisions(command, backends):
    assert option_choices(command, "--backend") == backends
    assert option_choices(command, "--precision") == [AUTO, *COMPUTE_PRECISIONS]


def test_the_benchmarks_take_every_backend_at_every_precision_it_runs():
    for name, entry in BACKENDS.items():
        for precision in entry.precisions:
            spec = parse_backend(f"{name}:{precision}")
            assert (spec.backend, spec.precision, spec.device) == (name, precision, entry.default_device)


def test_each_installed_entry_opens_its_own_stage_backend_class():
    installed = [entry for entry in BACKENDS.values() if entry.installed()]
    assert {"onnxruntime", "torch"} <= {entry.name for entry in installed}
    for entry in installed:
        backend_class = entry.backend_class()
        assert issubclass(backend_class, StageBackend) and backend_class.name == entry.name
    with pytest.raises(Exception, match="unknown backend 'onnx'; choose from onnxruntime, openvino, tensorrt, torch"):
        backend_entry("onnx")


def test_predict_runs_the_engine_auto_chooses_and_records_it(tiny_bundle, tmp_path, capsys):
    pixels, texts = demo_scenes(1)[0]
    (tmp_path / "scene.png").write_bytes(encode_image(pixels, "PNG"))
    assert main(["predict", str(tiny_bundle), str(tmp_path / "scene.png"), "-e", texts[0], "--out", str(tmp_path / "out")]) == 0
    expected = choose_engine(Bundle.open(tiny_bundle), AUTO, AUTO, None)
    written = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert written["model"]["choice"] == expected.record() and written["model"]["backend"] == expected.backend
    assert f"haris predict: {expected.label} on cpu: {expected.reason}" in capsys.readouterr().err


@pytest.mark.skipif(cpu_features().native_bf16, reason="this CPU runs BF16 natively")
def test_predict_refuses_bf16_on_a_cpu_without_it(tiny_bundle, tmp_path, capsys):
    pytest.importorskip("openvino")
    pixels, texts = demo_scenes(1)[0]
    (tmp_path / "scene.png").write_bytes(encode_image(pixels, "PNG"))
    arguments = ["predict", str(tiny_bundle), str(tmp_path / "scene.png"), "-e", texts[0], "--out", str(tmp_path / "out")]
    assert main([*arguments, "--backend", "openvino", "--precision", "bf16"]) == 2
    assert "openvino:bf16 needs a CPU with BF16 instructions (avx512_bf16 or amx_bf16)" in capsys.readouterr().err
    assert main([*arguments, "--precision", "bf16"]) == 2  # auto backend: no engine runs BF16 here
    assert "no *:bf16 path for CPUs of class" in capsys.readouterr().err


@pytest.mark.skipif(cpu_features().native_bf16, reason="this CPU runs BF16 natively")
def test_serve_refuses_before_ray_starts_what_its_replicas_would_refuse(tiny_bundle, monkeypatch, capsys):
    from haris.serve import service_runner

    served = []
    monkeypatch.setattr(service_runner, "run_service", served.append)
    assert main(["serve", str(tiny_bundle), "--backend", "openvino", "--precision", "bf16"]) == 2
    assert "openvino:bf16 needs a CPU with BF16 instructions" in capsys.readouterr().err
    assert main(["serve", str(tiny_bundle), "--precision", "bf16"]) == 2  # auto: nothing runs BF16 here
    assert main(["serve", str(tiny_bundle), "--backend", "openvino"]) == 0
    assert (served[0].backend, served[0].precision) == ("openvino", "auto") and not served[1:]


@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_onnxruntimes_gpu_devices_need_onnxruntime_gpu(tiny_bundle, device):
    import onnxruntime

    provider = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}[device]
    if provider in onnxruntime.get_available_providers():
        pytest.skip(f"this onnxruntime has the {provider}")
    with pytest.raises(HarisError, match=rf"this onnxruntime has no .*{provider}.*; install onnxruntime-gpu for device '{device}'"):
        Predictor.from_bundle(tiny_bundle, "onnxruntime", device=device)
