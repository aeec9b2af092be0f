"""`--backend auto` / `--precision auto`: the engine chosen from the CPU's class, never from this
machine's; INT8 only when asked; what is not installed or not in the bundle is passed over, and said."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cpu_samples import GRAVITON3, SAPPHIRE_RAPIDS, SKYLAKE_SERVER, ZEN3, ZEN4

from haris.cpu_features import parse_cpuinfo
from haris.errors import HarisError
from haris.runtime.backend_registry import BACKENDS, BackendEntry
from haris.runtime.engine_choice import NEAR_FP32, RANKINGS, choose_engine, cpu_class


def fake_bundle(precisions=("fp32", "fp16", "int8"), engines=()):
    """What choose_engine reads of a bundle: its graph precisions and its engines."""
    manifest = SimpleNamespace(graphs={precision: {} for precision in precisions}, engines={precision: {} for precision in engines})
    return SimpleNamespace(precisions=tuple(precisions), manifest=manifest)


@pytest.fixture
def everything_installed(monkeypatch):
    monkeypatch.setattr(BackendEntry, "installed", lambda entry: True)


@pytest.mark.parametrize(
    ("cpuinfo", "expected_class"),
    [
        (ZEN3, "x86, AVX2"),
        (ZEN4, "x86, native BF16"),
        (SAPPHIRE_RAPIDS, "x86, native BF16"),
        (SKYLAKE_SERVER, "x86, AVX-512 without BF16"),
        (GRAVITON3, "other"),
    ],
)
def test_cpu_classes_come_from_the_flags(cpuinfo, expected_class):
    assert cpu_class(parse_cpuinfo(cpuinfo)) == expected_class


def test_bf16_capped_by_onednn_is_not_the_bf16_class():
    assert cpu_class(parse_cpuinfo(ZEN4, "AVX2")) == "x86, AVX-512 without BF16"


def test_auto_takes_the_first_near_fp32_path_of_the_cpu_class(everything_installed):
    for cpuinfo, ranking in ((ZEN4, "x86, native BF16"), (ZEN3, "x86, AVX2")):
        choice = choose_engine(fake_bundle(), "auto", "auto", None, parse_cpuinfo(cpuinfo))
        first = next((backend, precision) for backend, precision in RANKINGS[ranking] if precision in NEAR_FP32)
        assert (choice.backend, choice.precision, choice.device) == (*first, "cpu")
        assert f"class '{ranking}'" in choice.reason
    assert choose_engine(fake_bundle(), "auto", "auto", None, parse_cpuinfo(ZEN4)).label == "openvino:bf16"


def test_auto_never_chooses_int8_but_int8_asked_for_takes_the_fastest_int8_engine(everything_installed):
    for cpuinfo in (ZEN3, ZEN4, SKYLAKE_SERVER, GRAVITON3):
        assert choose_engine(fake_bundle(), None, None, None, parse_cpuinfo(cpuinfo)).precision in NEAR_FP32
        asked = choose_engine(fake_bundle(), "auto", "int8", None, parse_cpuinfo(cpuinfo))
        ranking = RANKINGS[cpu_class(parse_cpuinfo(cpuinfo))] if cpu_class(parse_cpuinfo(cpuinfo)) in RANKINGS else RANKINGS["x86, AVX2"]
        assert (asked.backend, asked.precision) == next(path for path in ranking if path[1] == "int8")


def test_a_backend_named_with_auto_precision_gets_its_best_near_fp32_precision(everything_installed):
    assert choose_engine(fake_bundle(), "openvino", "auto", None, parse_cpuinfo(ZEN4)).label == "openvino:bf16"
    assert choose_engine(fake_bundle(), "openvino", "auto", None, parse_cpuinfo(ZEN3)).label == "openvino:fp32"
    assert choose_engine(fake_bundle(), "onnxruntime", "auto", None, parse_cpuinfo(ZEN4)).label == "onnxruntime:fp32"


def test_what_is_not_installed_is_passed_over_and_named(monkeypatch):
    monkeypatch.setattr(BackendEntry, "installed", lambda entry: entry.name != "openvino")
    choice = choose_engine(fake_bundle(), "auto", "auto", None, parse_cpuinfo(ZEN4))
    assert choice.label == "onnxruntime:fp32"
    assert "openvino:bf16 (not installed: pip install 'haris[openvino]')" in choice.reason


def test_precisions_the_bundle_lacks_are_refused_with_what_it_has(everything_installed):
    with pytest.raises(HarisError, match=r"no int8 graphs in the bundle"):
        choose_engine(fake_bundle(("fp32", "fp16")), "auto", "int8", None, parse_cpuinfo(ZEN3))
    with pytest.raises(HarisError, match=r"no \*:bf16 path for CPUs of class 'x86, AVX2'.*native BF16: no"):
        choose_engine(fake_bundle(), "auto", "bf16", None, parse_cpuinfo(ZEN3))


def test_an_unmeasured_class_uses_the_stand_in_ranking_and_says_so(everything_installed):
    choice = choose_engine(fake_bundle(), "auto", "auto", None, parse_cpuinfo(SKYLAKE_SERVER))
    assert "'x86, AVX-512 without BF16', is not measured yet" in choice.reason


def test_a_gpu_runs_tensorrt_where_the_bundle_has_engines_else_onnxruntime_fp16():
    assert choose_engine(fake_bundle(engines=("fp16",)), "auto", "auto", "cuda:1", parse_cpuinfo(ZEN3)).label == "tensorrt:fp16"
    plain = choose_engine(fake_bundle(), "auto", "auto", "cuda", parse_cpuinfo(ZEN3))
    assert (plain.label, plain.device) == ("onnxruntime:fp16", "cuda")
    assert choose_engine(fake_bundle(), "tensorrt", "auto", None, parse_cpuinfo(ZEN3)).device == BACKENDS["tensorrt"].default_device


def test_a_checkpoint_runs_eager_fp32_and_what_is_asked_is_kept():
    assert choose_engine(None, "auto", "auto", None).label == "torch:fp32"
    asked = choose_engine(fake_bundle(), "onnxruntime", "fp16", None, parse_cpuinfo(ZEN4))
    assert (asked.label, asked.device, asked.reason) == ("onnxruntime:fp16", "cpu", "as asked")
    with pytest.raises(HarisError, match="torch backend only"):
        choose_engine(None, "openvino", "auto", None)


def test_the_choice_record_names_the_cpu(everything_installed):
    record = choose_engine(fake_bundle(), "auto", "auto", None, parse_cpuinfo(ZEN3)).record()
    assert set(record) == {"engine", "device", "reason", "cpu"} and "native BF16" in record["cpu"]
