"""RemotePredictor against a scripted local HTTP server (no Ray): the Predictor's interface over a
service, its masks decoded from the answer, and predict_images writing predictions.json from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from answer_schema import assert_valid
from runtime_samples import colour_blocks, encode_image
from scripted_server import SERVED_MODEL, ScriptedServer, served_answer

from haris.errors import ServiceError
from haris.runtime.answer_json import encode_prediction
from haris.runtime.predict_run import predict_images
from haris.serve.remote_predictor import RemotePredictor

LIMITS = {"max_expressions": 8, "max_expression_chars": 500, "max_payload_bytes": 1 << 20, "max_image_pixels": 1 << 20}


def _band(height: int, width: int, top: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[top : top + 8, width // 2 :] = True
    return mask


def test_segment_returns_predictions_whose_records_are_the_served_ones():
    masks, texts = [_band(32, 48, 4), np.zeros((32, 48), bool)], ["the blue band", "nothing"]
    answer = served_answer(masks, texts)
    with ScriptedServer([(200, answer)]) as server, RemotePredictor(server.url) as remote:
        predictions = remote.segment(colour_blocks(), texts)
    assert [p.expression for p in predictions] == texts and [p.score for p in predictions] == [0.75, 0.75]
    for prediction, mask, record in zip(predictions, masks, answer["results"]):
        np.testing.assert_array_equal(prediction.mask, mask)
        assert encode_prediction(prediction) == record  # decoded and written again: the same JSON


def test_the_description_is_the_services_model_its_url_and_its_request_limit():
    with ScriptedServer([(200, {"model": SERVED_MODEL, "limits": LIMITS})]) as server:
        remote = RemotePredictor(server.url + "/")
        assert remote.description == {**SERVED_MODEL, "service": server.url, "max_expressions": 8}
        assert remote.description["service"] == server.url  # asked once
    assert [(method, path) for method, path, _, _ in server.received] == [("GET", "/v1/model")]


def test_predict_batch_sends_one_request_per_item_in_order():
    items = [(colour_blocks(), ["a"]), (colour_blocks(16, 16), ["b", "c"])]
    answers = [served_answer([_band(32, 48, 0)], ["a"]), served_answer([_band(16, 16, 2), _band(16, 16, 6)], ["b", "c"])]
    with ScriptedServer([(200, answer) for answer in answers]) as server:
        batched = RemotePredictor(server.url).predict_batch(items)
    assert [[p.expression for p in predictions] for predictions in batched] == [["a"], ["b", "c"]]
    assert [json.loads(body)["expressions"] for _, _, _, body in server.received] == [["a"], ["b", "c"]]
    np.testing.assert_array_equal(batched[1][1].mask, _band(16, 16, 6))


def test_a_refusal_is_the_services_message():
    with ScriptedServer([(400, {"error": "a 1 x 900 image is too elongated"})]) as server, pytest.raises(ServiceError, match="too elongated"):
        RemotePredictor(server.url, retries=0).segment(b"png", ["x"])


def test_predict_images_writes_a_valid_predictions_json_from_the_service(tmp_path):
    (tmp_path / "blocks.png").write_bytes(encode_image(colour_blocks(), "PNG"))
    texts = ["the blue band", "the top band"]
    answer = served_answer([_band(32, 48, 4), _band(32, 48, 0)], texts)
    with ScriptedServer([(200, answer), (200, {"model": SERVED_MODEL, "limits": LIMITS})]) as server:
        report = predict_images(RemotePredictor(server.url), [tmp_path / "blocks.png"], texts, tmp_path / "out", progress=False)
    written = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert written == report and written["model"]["service"] == server.url
    assert written["images"][0]["image"] == answer["image"] and written["images"][0]["results"] == answer["results"]
    assert_valid(written, "predictions_file")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "blocks.0.mask.png",
        "blocks.0.overlay.png",
        "blocks.1.mask.png",
        "blocks.1.overlay.png",
        "predictions.json",
    ]
