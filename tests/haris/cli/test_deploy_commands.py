"""`haris export` and `haris predict` options from their argv: the bundle's size options, INT8 by
dynamic quantization (and its parity with eager FP32, stage by stage), what --calibration and --add
refuse, and predict's --device and --skip-bad."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from runtime_samples import demo_scenes, encode_image

from haris.benchmarks.stage_parity import eager_stage_samples, stage_differences
from haris.cli import main
from haris.runtime.bundle import Bundle
from haris.runtime.predictor import Predictor

# The worst stage output of dynamic INT8 (float nodes chosen for a 0.05 target) against eager FP32 on 3
# demo scenes, measured on the tiny test model (Zen 3): 0.057 of its range; the bound leaves 2.6x that.
# (With the default 0.01 target: 0.024, text_encoder word_feats.)
DYNAMIC_STAGE_BOUND = 0.15


def test_the_size_options_of_export_are_the_bundles(tiny_bundle):
    manifest = Bundle.open(tiny_bundle).manifest  # conftest.py exports it with --image-size 256 --max-images 16 --max-expressions 64
    assert manifest.image_size == 256 and manifest.dynamic_axes["N"] == (1, 16) and manifest.dynamic_axes["B"] == (1, 64)


def test_int8_by_dynamic_quantization_replaces_static_int8_and_follows_eager(int8_bundle, tiny_checkpoint, tmp_path, capsys):
    bundle = shutil.copytree(int8_bundle, tmp_path / "bundle")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    for index, (pixels, _) in enumerate(demo_scenes(2, seed=3)):
        Image.fromarray(pixels).save(tmp_path / "two" / f"scene{index}.png")
    shutil.copy(tmp_path / "two" / "scene0.png", tmp_path / "one")
    add = ["export", str(tiny_checkpoint), "--out", str(bundle), "--add", "--precision", "int8", "--int8-method", "dynamic"]
    assert main(add) == 2
    assert "has int8 graphs already; pass --overwrite" in capsys.readouterr().err
    # Dynamic quantization calibrates nothing, but measures its error on two held-out images of --calibration.
    assert main([*add, "--overwrite", "--calibration", str(tmp_path / "one")]) == 2
    assert f"{tmp_path / 'one'} holds 1 images" in capsys.readouterr().err
    assert main([*add, "--overwrite", "--calibration", str(tmp_path / "two"), "--int8-target-error", "0.05"]) == 0
    record = Bundle.open(bundle).manifest.int8
    assert record["method"] == "dynamic" and record["calibration"] is None
    assert {graph["target_error"] for graph in record["graphs"].values()} == {0.05}

    eager = Predictor.from_checkpoint(tiny_checkpoint)
    int8 = Predictor.from_bundle(bundle, precision="int8", threads=1)
    scenes = demo_scenes(3)
    samples = eager_stage_samples(eager, [pixels for pixels, _ in scenes], [texts for _, texts in scenes])
    worst = max(difference["relative"] for tensors in stage_differences(int8.backend, samples).values() for difference in tensors.values())
    assert worst <= DYNAMIC_STAGE_BOUND, worst
    pixels, texts = scenes[0]
    assert [p.expression for p in int8.segment(pixels, texts)] == texts


def test_predict_on_the_named_device_skips_an_unreadable_image_when_asked(tiny_bundle, tmp_path, capsys):
    (tmp_path / "images").mkdir()
    pixels, texts = demo_scenes(1)[0]
    (tmp_path / "images" / "scene.png").write_bytes(encode_image(pixels, "PNG"))
    (tmp_path / "images" / "notes.png").write_text("not pixels")
    engine = ["--backend", "onnxruntime", "--device", "cpu", "--precision", "fp32"]
    argv = ["predict", str(tiny_bundle), str(tmp_path / "images"), "-e", texts[0], *engine]
    assert main([*argv, "--out", str(tmp_path / "strict")]) == 2
    assert "notes.png" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "out"), "--skip-bad"]) == 0
    written = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [image["path"] for image in written["images"]] == [str(tmp_path / "images" / "scene.png")]
    assert len(written["skipped"]) == 1 and "notes.png" in written["skipped"][0]
    assert (written["model"]["backend"], written["model"]["device"], written["model"]["precision"]) == ("onnxruntime", "cpu", "fp32")
    assert np.asarray(Image.open(tmp_path / "out" / "scene.0.mask.png")).shape == pixels.shape[:2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "--server", "http://127.0.0.1:9", "photo.png", "-e", "a", "--backend", "onnxruntime"], "are the service's settings"),
        (["predict", "--server", "http://127.0.0.1:9", "photo.png", "-e", "a", "--device", "cuda"], "are the service's settings"),
        (["predict", "--server", "http://127.0.0.1:9", "photo.png", "-e", "a", "--precision", "fp16"], "are the service's settings"),
        (["predict", "bundle", "-e", "a"], "give a MODEL and at least one image (or --server URL and images)"),
    ],
)
def test_predict_refuses_options_that_do_not_fit_together(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
