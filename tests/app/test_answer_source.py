"""What answers the page: a Predictor here (the tiny bundle), or a `haris serve` client."""

from __future__ import annotations

import sys
import types

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


class FakeSegmentClient:
    """Stands in for haris.client.SegmentClient (built with `haris serve`, not on this branch): its
    contract is SegmentClient(url, timeout), .model() and .segment(image, expressions)."""

    made: list = []

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url, self.timeout, self.calls = url, timeout, []
        FakeSegmentClient.made.append(self)

    def model(self) -> dict:
        return {"path": "/srv/bundle", "kind": "bundle", "backend": "tensorrt", "device": "cuda:0", "precision": "fp16", "max_expressions": 32}

    def segment(self, image, expressions) -> dict:
        self.calls.append((image.shape, list(expressions)))
        return {"model": self.model(), "image": {"height": image.shape[0], "width": image.shape[1]}, "results": []}


def test_a_service_source_wires_the_client(monkeypatch):
    monkeypatch.setitem(sys.modules, "haris.client", types.SimpleNamespace(SegmentClient=FakeSegmentClient))
    source = open_source(None, "http://gpu-box:8000")
    client = FakeSegmentClient.made[-1]
    assert client.url == "http://gpu-box:8000"
    assert source.answer(np.zeros((5, 7, 3), np.uint8), ["a"])["image"] == {"height": 5, "width": 7}
    assert client.calls == [((5, 7, 3), ["a"])]
    assert source.max_expressions == 32
    assert "tensorrt on cuda:0" in source.summary() and "through the service http://gpu-box:8000" in source.summary()
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
