"""What answers the page: a Predictor here (the tiny bundle), or a RemotePredictor for a service
(a scripted stand-in for `haris serve`), through the one AnswerSource."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_samples import colour_blocks, demo_scenes
from scripted_server import SERVED_MODEL, ScriptedServer, served_answer

from haris.app.answer_source import AnswerSource
from haris.app.app_launch import open_source
from haris.errors import HarisError
from haris.runtime.predictor_factory import open_predictor


def test_a_predictor_answers_its_own_predictions(tiny_bundle):
    pixels, expressions = demo_scenes(1)[0]
    with open_predictor(tiny_bundle) as predictor:
        source = AnswerSource(predictor)
        answered = source.segment(pixels, expressions[:2])
        expected = predictor.segment(pixels, expressions[:2])
    assert source.description == predictor.description
    for prediction, alone in zip(answered, expected, strict=True):
        assert prediction.expression == alone.expression and np.array_equal(prediction.mask, alone.mask)
    assert source.max_expressions == 64  # the tiny bundle's B range
    assert "onnxruntime on cpu" in source.summary() and "precision fp32" in source.summary()


def test_open_source_with_a_server_answers_through_a_remote_predictor():
    limits = {"max_expressions": 5, "max_expression_chars": 500, "max_payload_bytes": 1 << 20, "max_image_pixels": 1 << 20}
    mask = np.zeros((32, 48), bool)
    mask[2:9, 3:30] = True
    with ScriptedServer([(200, {"model": SERVED_MODEL, "limits": limits}), (200, served_answer([mask], ["the band"]))]) as server:
        source = open_source(None, server.url)
        (prediction,) = source.segment(colour_blocks(), ["the band"])
        source.close()
    assert [path for _, path, _, _ in server.received] == ["/v1/model", "/v1/segment"]  # the model is asked at start
    assert source.max_expressions == 5 and source.description["service"] == server.url  # the service's request limit
    assert source.summary().endswith(f"through the service {server.url}")
    assert prediction.expression == "the band" and np.array_equal(prediction.mask, mask)


def test_open_source_runs_the_bundle_here(tiny_bundle):
    source = open_source(str(tiny_bundle), None, precision="fp16")
    try:
        assert source.description["precision"] == "fp16" and source.description["path"] == str(tiny_bundle)
    finally:
        source.close()


@pytest.mark.parametrize(
    ("model", "server", "options", "message"),
    [
        (None, None, {}, "give either a bundle directory or --server URL"),
        ("bundle", "http://x", {}, "give either a bundle directory or --server URL"),
        (None, "http://x", {"precision": "fp16"}, "with --server the service decides"),
    ],
)
def test_open_source_refuses_what_does_not_fit_together(model, server, options, message):
    with pytest.raises(HarisError, match=message):
        open_source(model, server, **options)
