"""The one JSON of predictions: records both ways, the answer's layout, predictions.json, and the
shipped schema (valid itself, met by what is written, failed by what is not)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from answer_schema import assert_valid, schema_errors
from jsonschema import Draft202012Validator
from runtime_samples import colour_blocks, encode_image

from haris.runtime.answer_json import answer_schema, decode_prediction, encode_answer, encode_prediction
from haris.runtime.mask_encoding import decode_rle
from haris.runtime.predict_run import predict_images
from haris.runtime.prediction import Prediction


def _blob(height: int = 40, width: int = 70) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[5:30, 10:60] = True
    return mask


def _predictions(height: int = 40, width: int = 70) -> list[Prediction]:
    logits = np.zeros((4, 4), np.float32)
    return [Prediction("left", _blob(height, width), logits, 0.9), Prediction("none", np.zeros((height, width), bool), logits, 0.0)]


class BlobSegmenter:
    """predict_images' contract without a model: the same two predictions at every image's size."""

    description = {"path": "/bundles/stub", "kind": "bundle", "backend": "onnxruntime", "device": "cpu", "precision": "fp32"}

    def segment(self, image: np.ndarray, expressions: list[str]) -> list[Prediction]:
        return _predictions(*image.shape[:2])[: len(expressions)]


def test_a_prediction_is_expression_rle_box_area_score():
    record = encode_prediction(_predictions()[0])
    assert list(record) == ["expression", "rle", "box", "area", "score"]
    assert record["expression"] == "left" and record["box"] == [10, 5, 50, 25] and record["area"] == 25 * 50 and record["score"] == 0.9
    assert record["rle"]["size"] == [40, 70]
    np.testing.assert_array_equal(decode_rle(record["rle"]), _blob())
    assert encode_prediction(_predictions()[1])["box"] == [0, 0, 0, 0]


def test_a_record_decodes_back_to_its_prediction():
    for prediction in _predictions():
        decoded = decode_prediction(json.loads(json.dumps(encode_prediction(prediction))))
        assert (decoded.expression, decoded.score) == (prediction.expression, prediction.score)
        np.testing.assert_array_equal(decoded.mask, prediction.mask)
        assert decoded.mask.dtype == bool and decoded.mask_logits.shape == (0, 0)  # the JSON carries no logits
        assert encode_prediction(decoded) == encode_prediction(prediction)


def test_an_answer_keeps_the_order_of_the_expressions_and_meets_the_schema():
    answer = encode_answer({"backend": "onnxruntime", "precision": "fp32"}, (40, 70, 3), _predictions())
    assert answer["model"] == {"backend": "onnxruntime", "precision": "fp32"} and answer["image"] == {"height": 40, "width": 70}
    assert [result["expression"] for result in answer["results"]] == ["left", "none"]
    assert_valid(json.loads(json.dumps(answer)), "answer")


def test_predictions_json_holds_the_answer_of_each_image_and_meets_the_schema(tmp_path):
    for name, shape in [("a.png", (40, 70)), ("b.png", (20, 30))]:
        (tmp_path / name).write_bytes(encode_image(colour_blocks(*shape), "PNG"))
    (tmp_path / "c.png").write_text("not pixels")
    images = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"]
    report = predict_images(BlobSegmenter(), images, ["left", "none"], tmp_path / "out", skip_bad=True, progress=False)
    written = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert written == report and written["model"] == BlobSegmenter.description
    assert [(entry["path"], entry["output_stem"], entry["image"]) for entry in written["images"]] == [
        (str(images[0]), "a", {"height": 40, "width": 70}),
        (str(images[1]), "b", {"height": 20, "width": 30}),
    ]
    assert written["images"][1]["results"] == [encode_prediction(p) for p in _predictions(20, 30)]
    assert len(written["skipped"]) == 1 and str(images[2]) in written["skipped"][0]
    assert_valid(written, "predictions_file")


def test_the_schema_ships_with_the_package_and_is_a_valid_json_schema():
    schema = answer_schema()
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["prediction"]["required"]) == {"expression", "rle", "box", "area", "score"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update(segmentation=r.pop("rle")), "'rle' is a required property"),
        (lambda r: r.update(bbox=r.pop("box")), "'box' is a required property"),
        (lambda r: r.pop("score"), "'score' is a required property"),
        (lambda r: r.update(box=[1, 2, 3]), "is too short"),
        (lambda r: r.update(area=-1), "less than the minimum"),
        (lambda r: r["rle"].update(counts=[1, 2]), "is not of type 'string'"),
        (lambda r: r.update(mask_logits=[]), "Additional properties are not allowed"),
    ],
)
def test_the_schema_refuses_a_prediction_that_departs_from_it(change, words):
    record = encode_prediction(_predictions()[0])
    change(record)
    errors = schema_errors(record, "prediction")
    assert any(words in error for error in errors), errors
    answer = {"model": {}, "image": {"height": 40, "width": 70}, "results": [record]}
    assert schema_errors(answer)  # and so does the whole schema, for an answer that holds it


def test_an_answer_and_predictions_json_are_told_apart():
    answer = encode_answer({}, (40, 70), _predictions())
    assert not schema_errors(answer, "answer") and schema_errors(answer, "predictions_file")
    predictions_file = {"model": {}, "images": [{"path": "a.png", "output_stem": "a", **{k: answer[k] for k in ("image", "results")}}], "skipped": []}
    assert not schema_errors(predictions_file, "predictions_file") and schema_errors(predictions_file, "answer")
