"""What answers the page: a Predictor here (the tiny bundle), or a `haris serve` client."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_samples import demo_scenes

from haris.app.answer_source import AnswerSource
from haris.app.app_launch import open_source
from haris.errors import HarisError
from haris.runtime.predictor_factory import open_predictor
from haris.runtime.segment_response import decode_rle


def test_a_predictor_answers_the_json_of_its_own_predictions(tiny_bundle):
    pixels, expressions = demo_scenes(1)[0]
    with open_predictor(tiny_bundle) as predictor:
        source = AnswerSource.from_predictor(predictor)
        answer = source.answer(pixels, expressions[:2])
        expected = predictor.segment(pixels, expressions[:2])
    assert answer["model"] == predictor.description and answer["image"] == {"height": 256, "width": 256}
    for result, prediction in zip(answer["results"], expected, strict=True):
        assert result["expression"] == prediction.expression and np.array_equal(decode_rle(result["rle"]), prediction.mask)
    assert source.max_expressions == 64  # the tiny bundle's B range
    assert "onnxruntime on cpu" in source.summary() and "precision fp32" in source.summary()


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
