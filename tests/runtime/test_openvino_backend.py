"""The OpenVINO backend on the tiny bundle: its FP32 stages at eager's rounding, its INT8 stages within
the INT8 tolerance, BF16 refused where the CPU has no BF16 instructions, compiled models reused from
the cache, threads honoured, one backend shared by several threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from cpu_samples import ZEN3
from runtime_samples import demo_scenes, mask_iou

from haris.benchmarks.parity_checks import TOLERANCES
from haris.benchmarks.stage_parity import eager_stage_samples, stage_differences
from haris.cpu_features import cpu_features, parse_cpuinfo
from haris.errors import HarisError
from haris.runtime import engine_choice, openvino_backend
from haris.runtime.bundle import Bundle
from haris.runtime.predictor import Predictor

pytest.importorskip("openvino", reason="the openvino extra is not installed (pip install 'haris[openvino]')")


@pytest.fixture(scope="module")
def scenes():
    return demo_scenes(3)


@pytest.fixture(scope="module")
def eager_samples(tiny_checkpoint, scenes):
    eager = Predictor.from_checkpoint(tiny_checkpoint)
    return eager_stage_samples(eager, [pixels for pixels, _ in scenes], [texts for _, texts in scenes])


def worst_relative(backend, samples) -> float:
    return max(difference["relative"] for tensors in stage_differences(backend, samples).values() for difference in tensors.values())


def test_fp32_stages_agree_with_eager_and_masks_with_onnxruntime(tiny_bundle, eager_samples, scenes, tmp_path):
    with Predictor.from_bundle(tiny_bundle, "openvino", precision="fp32", threads=1) as openvino:
        assert worst_relative(openvino.backend, eager_samples) <= TOLERANCES["fp32"].stage_relative
        onnxruntime = Predictor.from_bundle(tiny_bundle, precision="fp32", threads=1)
        for pixels, texts in scenes:
            for got, want in zip(openvino.segment(pixels, texts), onnxruntime.segment(pixels, texts)):
                assert mask_iou(got.mask, want.mask) >= 0.999, got.expression
        assert openvino.description["graphs"] == "fp32" and openvino.backend.inference_precision == "f32"


def test_int8_runs_the_int8_graphs_within_the_int8_stage_tolerance(int8_bundle, eager_samples):
    with Predictor.from_bundle(int8_bundle, "openvino", precision="int8", threads=1) as openvino:
        assert openvino.backend.specs["image_encoder"].file == "image_encoder.int8.onnx"
        assert worst_relative(openvino.backend, eager_samples) <= TOLERANCES["int8"].stage_relative
        # The float rest runs in BF16 only where the CPU has it natively.
        assert openvino.backend.inference_precision == ("bf16" if cpu_features().native_bf16 else "f32")


def test_bf16_is_refused_naming_the_missing_instructions(tiny_bundle, monkeypatch):
    for module in (openvino_backend, engine_choice):
        monkeypatch.setattr(module, "cpu_features", lambda: parse_cpuinfo(ZEN3))
    refusal = r"openvino:bf16 needs a CPU with BF16 instructions \(avx512_bf16 or amx_bf16\).*AMD EPYC 7B13"
    with pytest.raises(HarisError, match=refusal):
        Predictor.from_bundle(tiny_bundle, "openvino", precision="bf16")  # refused when choosing, before any graph loads
    with pytest.raises(HarisError, match=refusal):
        openvino_backend.OpenVinoBackend(Bundle.open(tiny_bundle, verify_all=False), "bf16")  # and by the backend itself


@pytest.mark.skipif(not cpu_features().native_bf16, reason=f"no native BF16 on this CPU ({cpu_features().summary()})")
def test_bf16_stages_are_near_fp32_where_the_cpu_runs_bf16(tiny_bundle, eager_samples):
    with Predictor.from_bundle(tiny_bundle, "openvino", precision="bf16", threads=1) as openvino:
        assert openvino.backend.inference_precision == "bf16"
        assert worst_relative(openvino.backend, eager_samples) <= TOLERANCES["bf16"].stage_relative


def test_compiled_models_are_reused_from_the_cache(tiny_bundle, tmp_path, scenes):
    bundle = Bundle.open(tiny_bundle, verify_all=False)
    pixels, texts = scenes[0]
    first = openvino_backend.OpenVinoBackend(bundle, "fp32", threads=1, cache_dir=tmp_path)
    cached = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert len(cached) >= 4  # one compiled blob per stage graph
    second = openvino_backend.OpenVinoBackend(bundle, "fp32", threads=1, cache_dir=tmp_path)
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == cached  # read, none compiled anew
    answers = [Predictor(backend, *_settings(tiny_bundle)).segment(pixels, texts) for backend in (first, second)]
    for got, want in zip(*answers):
        np.testing.assert_array_equal(got.mask_logits, want.mask_logits)


def test_threads_are_honoured(tiny_bundle):
    with Predictor.from_bundle(tiny_bundle, "openvino", precision="fp32", threads=1) as predictor:
        assert {model.get_property("INFERENCE_NUM_THREADS") for model in predictor.backend.models.values()} == {1}


def test_one_backend_serves_several_threads(tiny_bundle, scenes):
    with Predictor.from_bundle(tiny_bundle, "openvino", precision="fp32", threads=1, cache_bytes=0) as predictor:
        alone = [predictor.segment(pixels, texts) for pixels, texts in scenes]
        with ThreadPoolExecutor(3) as pool:
            together = list(pool.map(lambda scene: predictor.segment(*scene), scenes * 2))
    for got, want in zip(together, alone * 2):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.mask_logits, b.mask_logits)


def _settings(bundle_dir):
    """The Predictor arguments after the backend, as the factory makes them for this bundle."""
    reference = Predictor.from_bundle(bundle_dir, precision="fp32", threads=1)
    return reference.settings, reference.tokenize
