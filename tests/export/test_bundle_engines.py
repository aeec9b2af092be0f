"""TensorRT engines for the tiny bundle, compiled on this CPU by TensorRT-RTX (ahead of time).

TensorRT-RTX builds without a GPU, so every stage engine is really built here: the plans, their
sidecars and the manifest entries are checked. What needs a GPU (deserializing, running, the
inspector's FP16 share) is in tests/runtime/test_tensorrt_backend.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from haris.cli import main
from haris.errors import BundleError, ExportError
from haris.export.bundle_engines import build_bundle_engines, stage_profile
from haris.export.engine_builder import EngineBuilder
from haris.file_digest import file_sha256
from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import GraphSpec, TensorSpec
from haris.runtime.tensor_contract import STAGES

tensorrt_rtx = pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed (`pip install tensorrt-rtx`)")
pytestmark = pytest.mark.trt


def copy_bundle(source: Path, parent: Path) -> Path:
    """Builds write into the bundle: each test works on its own copy of the shared one."""
    return Path(shutil.copytree(source, parent / "bundle"))


@pytest.fixture(scope="module")
def built_bundle(tiny_bundle, tmp_path_factory):
    bundle_dir = copy_bundle(tiny_bundle, tmp_path_factory.mktemp("engines"))
    for precision in ("fp32", "fp16"):
        assert main(["build", str(bundle_dir), "--precision", precision, "--flavor", "tensorrt_rtx"]) == 0
    return bundle_dir


def sidecar(bundle_dir: Path, stage: str, precision: str) -> dict:
    return json.loads((bundle_dir / "engines" / f"{stage}.{precision}.json").read_text())


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_every_stage_engine_is_built_and_listed(built_bundle, precision):
    bundle = Bundle.open(built_bundle)  # verifies the sha256 of every plan the manifest lists
    assert set(bundle.manifest.engines[precision]) == set(STAGES)
    for stage, spec in bundle.manifest.engines[precision].items():
        assert spec.file == f"engines/{stage}.{precision}.plan" and file_sha256(built_bundle / spec.file) == spec.sha256
        facts = sidecar(built_bundle, stage, precision)
        assert facts["plan_sha256"] == spec.sha256 and facts["stage"] == stage and facts["precision"] == precision
        assert facts["tensorrt"] == {"flavor": "tensorrt_rtx", "version": tensorrt_rtx.__version__}
        assert facts["source_graph"] == {"file": f"{stage}.{precision}.onnx", "sha256": bundle.graph_spec(stage, precision).sha256}
        assert facts["gpu"] is None and facts["target"]["ahead_of_time"] and "8.9" in facts["target"]["compute_capabilities"]
        assert facts["build_seconds"] > 0
        assert facts["fp16_share"] is None and "no CUDA GPU" in facts["fp16_share_reason"]
        assert (facts["network_fp16_share"] > 0.5) if precision == "fp16" else facts["network_fp16_share"] == 0


def test_profiles_follow_the_limits_of_the_manifest(built_bundle):
    manifest = Bundle.open(built_bundle).manifest
    (max_n, max_b, words) = manifest.dynamic_axes["N"][1], manifest.dynamic_axes["B"][1], manifest.max_words
    (image,) = sidecar(built_bundle, "image_encoder", "fp16")["profiles"]
    assert [shape[0] for shape in image["image"].values()] == [1, 1, max_n]
    (fusion,) = sidecar(built_bundle, "fusion", "fp16")["profiles"]
    assert [shape[0] for shape in fusion["image_feats_1"].values()] == [1, 1, max_b]
    assert list(fusion["word_feats"].values())[1][:2] == [min(4, max_b), words]
    (text,) = sidecar(built_bundle, "text_encoder", "fp16")["profiles"]
    assert text["text_tokens"] == {"min": [1, 1], "opt": [min(4, max_b), words], "max": [max_b, words]}


def test_stage_profile_of_named_axes():
    graph = GraphSpec(
        "fusion.fp16.onnx",
        "0" * 64,
        (TensorSpec("image_feats_1", "float32", ("N", 32, 4, 4)), TensorSpec("word_feats", "float32", ("B", "L", 32))),
        (),
    )
    profile = stage_profile("fusion", graph, {"N": 2, "B": 6, "L": 17})
    assert profile["image_feats_1"] == ((1, 32, 4, 4), (1, 32, 4, 4), (6, 32, 4, 4))  # N is 1 or B, never max_images
    assert profile["word_feats"] == ((1, 1, 32), (4, 17, 32), (6, 17, 32))
    image = GraphSpec("image_encoder.fp16.onnx", "0" * 64, (TensorSpec("image", "float32", ("N", 3, 64, 64)),), ())
    assert stage_profile("image_encoder", image, {"N": 2, "B": 6, "L": 17})["image"] == ((1, 3, 64, 64), (1, 3, 64, 64), (2, 3, 64, 64))


def test_limits_beyond_the_exported_ranges_are_refused_before_building(tiny_bundle, tmp_path, capsys):
    bundle_dir = copy_bundle(tiny_bundle, tmp_path)
    too_many = Bundle.open(bundle_dir).manifest.dynamic_axes["B"][1] + 1
    assert main(["build", str(bundle_dir), "--max-expressions", str(too_many), "--flavor", "tensorrt_rtx"]) == 2
    assert f"max_expressions = {too_many} is outside" in capsys.readouterr().err
    assert not (bundle_dir / "engines").exists()


def test_custom_limits_and_a_rebuild_keep_the_bundle_valid(tiny_bundle, tmp_path):
    bundle_dir = copy_bundle(tiny_bundle, tmp_path)
    cache = tmp_path / "timing.cache"
    build = ["build", str(bundle_dir), "--precision", "fp32", "--flavor", "tensorrt_rtx", "--timing-cache", str(cache)]
    assert main([*build, "--max-images", "2", "--max-expressions", "3"]) == 0
    first = Bundle.open(bundle_dir).manifest.engines["fp32"]
    assert main([*build, "--max-images", "1", "--max-expressions", "2"]) == 0
    assert set(Bundle.open(bundle_dir).manifest.engines["fp32"]) == set(STAGES)
    # TensorRT-RTX keeps a runtime cache, not a timing cache: the file asked for is not written, and the sidecar says why.
    assert not cache.exists() and sidecar(bundle_dir, "decoder", "fp32")["timing_cache"]["used"] is False
    rebuilt = Bundle.open(bundle_dir).manifest.engines["fp32"]
    assert rebuilt["image_encoder"].sha256 != first["image_encoder"].sha256
    assert sidecar(bundle_dir, "decoder", "fp32")["profiles"][0]["vis_tokens"]["max"][0] == 2
    assert not list((bundle_dir / "engines").glob(".*.tmp"))  # no temporary file left behind


def test_a_tampered_bundle_is_refused(tiny_bundle, tmp_path):
    bundle_dir = copy_bundle(tiny_bundle, tmp_path)
    with open(bundle_dir / "decoder.fp16.onnx", "ab") as graph:
        graph.write(b"\0")
    with pytest.raises(BundleError, match="decoder.fp16.onnx does not match its sha256"):
        build_bundle_engines(bundle_dir, "fp16", flavor="tensorrt_rtx", progress=False)
    assert not (bundle_dir / "engines").exists()


def test_an_unknown_precision_is_refused(tiny_bundle):
    with pytest.raises(ExportError, match="has no int8 graphs"):
        build_bundle_engines(tiny_bundle, "int8", flavor="tensorrt_rtx", progress=False)


def test_tensorrt_rtx_uses_no_timing_cache_and_says_why(built_bundle):
    cache = sidecar(built_bundle, "fusion", "fp16")["timing_cache"]
    assert cache["used"] is False and "runtime cache" in cache["reason"]
    assert not (built_bundle / "engines" / "timing.cache").exists()


@pytest.mark.filterwarnings("ignore:.*Timing cache operations are no-ops:DeprecationWarning")
def test_timing_cache_file_is_written_then_reused(tiny_bundle, tmp_path, monkeypatch):
    # The `tensorrt` flavour's timing-cache path, run on tensorrt_rtx's API (same calls; a no-op
    # cache there), so that the file handling is exercised on a machine without full TensorRT.
    graph, cache = tiny_bundle / "decoder.fp32.onnx", tmp_path / "timing.cache"
    profile = stage_profile("decoder", Bundle.open(tiny_bundle).graph_spec("decoder", "fp32"), {"N": 1, "B": 2, "L": 17})
    _, facts = EngineBuilder(tensorrt_rtx, "tensorrt", timing_cache=cache).build(graph, profile)
    assert facts["timing_cache"] == {"used": True, "file": str(cache)} and cache.stat().st_size > 0
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read.append(path) or original(path))
    EngineBuilder(tensorrt_rtx, "tensorrt", timing_cache=cache).build(graph, profile)
    assert cache in read


def test_a_graph_tensorrt_cannot_parse_fails_with_the_node_named(tmp_path):
    onnx = pytest.importorskip("onnx")
    node = onnx.helper.make_node("Unique", ["x"], ["y"], name="uniq")
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)]), tmp_path / "unique.onnx")
    with pytest.raises(ExportError, match=r"cannot parse unique.onnx: node 0 'uniq' \(Unique\): UNSUPPORTED_NODE"):
        EngineBuilder(tensorrt_rtx, "tensorrt_rtx").build(tmp_path / "unique.onnx", {"x": ((4,), (4,), (4,))})
