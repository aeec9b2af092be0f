"""Fast paths are chosen from the CPU's own flags: the same preset must train well on every CPU."""

from __future__ import annotations

import pytest
import torch
from cpu_samples import GRAVITON3, SAPPHIRE_RAPIDS, ZEN3, ZEN4

from haris.config import load_run_config
from haris.cpu_features import cpu_features, parse_cpuinfo
from haris.train.autocast_choice import choose_autocast


@pytest.mark.parametrize(
    ("cpuinfo", "bf16", "int8"),
    [(ZEN3, False, False), (ZEN4, True, True), (SAPPHIRE_RAPIDS, True, True), (GRAVITON3, True, True), ("", False, False)],
)
def test_native_bf16_and_int8_dot_products_come_from_the_flags(cpuinfo, bf16, int8):
    features = parse_cpuinfo(cpuinfo)
    assert (features.native_bf16, features.int8_dot_product) == (bf16, int8)


def test_a_onednn_isa_cap_below_bf16_turns_native_bf16_off():
    assert not parse_cpuinfo(ZEN4, "AVX2").native_bf16
    assert not parse_cpuinfo(ZEN4, "avx512_core_vnni").native_bf16
    assert parse_cpuinfo(ZEN4, "AVX512_CORE_BF16").native_bf16
    assert parse_cpuinfo(ZEN4, "ALL").native_bf16


def test_the_summary_names_the_cpu_and_what_it_lacks():
    line = parse_cpuinfo(ZEN3).summary()
    assert line.startswith("AMD EPYC 7B13: avx2 fma; no avx512f, avx512_bf16, avx512_vnni, amx_tile")
    assert line.endswith("native BF16: no; INT8 dot product: no")
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in parse_cpuinfo(ZEN4, "AVX2").summary()
    assert cpu_features().model  # this machine's, whatever it is


def test_an_x86_cpu_is_named_with_its_family_and_model_numbers():
    # "AMD EPYC" alone was a Zen 3 on one machine and a Zen 5 on another: the numbers tell them apart.
    zen5 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nflags\t\t: avx2 avx512f avx512_bf16\n"
    assert parse_cpuinfo(zen5).model == "AMD EPYC (family 26 model 2)"
    assert parse_cpuinfo(zen5).summary().startswith("AMD EPYC (family 26 model 2): avx2 avx512f avx512_bf16")
    assert parse_cpuinfo(ZEN3).model == "AMD EPYC 7B13"  # without the numbers, the brand string alone


@pytest.mark.parametrize(("setting", "cpuinfo", "enabled"), [("auto", ZEN3, False), ("auto", ZEN4, True), (True, ZEN3, True), (False, ZEN4, False)])
def test_cpu_bf16_auto_follows_the_hardware_and_true_false_force_it(setting, cpuinfo, enabled):
    recipe = load_run_config("tiny", [f"train.cpu_bf16={str(setting).lower()}"]).train
    choice = choose_autocast(recipe, torch.device("cpu"), parse_cpuinfo(cpuinfo))
    assert (choice.enabled, choice.dtype, choice.grad_scaler) == (enabled, torch.bfloat16, False)
    assert choice.record()["autocast"] == ("bfloat16" if enabled else "off")
    assert ("train.cpu_bf16=auto" in choice.reason) == (setting == "auto")


def test_the_default_is_auto_and_a_wrong_value_is_named():
    assert load_run_config("tiny").train.cpu_bf16 == "auto"
    with pytest.raises(ValueError, match="train.cpu_bf16"):
        load_run_config("tiny", ["train.cpu_bf16=sometimes"])


def test_a_gpu_uses_fp16_with_a_grad_scaler_when_mixed_precision_is_on():
    recipe = load_run_config("paper").train
    choice = choose_autocast(recipe, torch.device("cuda"), parse_cpuinfo(ZEN3))
    assert (choice.enabled, choice.dtype, choice.grad_scaler) == (True, torch.float16, True)
