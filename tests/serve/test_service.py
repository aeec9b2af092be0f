"""`haris serve` on the tiny bundle: the API's answers in both body forms, every bad request refused
with a 4xx naming it (and the replicas still answering), the client, `haris predict --server`."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest
from answer_schema import assert_valid
from runtime_samples import demo_scenes, encode_image
from service_requests import SERVICE_LIMITS, multipart, post, segment_form

from haris.cli import main
from haris.errors import ServiceError
from haris.runtime.answer_json import encode_answer
from haris.runtime.mask_encoding import decode_rle
from haris.runtime.predictor_factory import open_predictor
from haris.serve.segment_client import SegmentClient, image_key

pytestmark = pytest.mark.serve


@pytest.fixture(scope="module")
def scene():
    pixels, expressions = demo_scenes(1, seed=3)[0]
    return pixels, expressions[:4]


def test_health_and_model_say_what_answers(service, tiny_bundle):
    client = SegmentClient(service[0])
    health = client.health()
    assert health["status"] == "ok" and health["deployments"]["Segmenter"]["replicas"] == {"RUNNING": 2}
    model = client.model()
    assert model["model"]["path"] == str(tiny_bundle) and model["model"]["backend"] == "onnxruntime" and model["model"]["precision"] == "fp32"
    assert model["limits"] == SERVICE_LIMITS.to_json()


def test_both_body_forms_give_the_in_process_predictors_answer(service, tiny_bundle, scene):
    pixels, expressions = scene
    png = encode_image(pixels, "PNG")
    status, form_answer, _ = post(f"{service[0]}/v1/segment", *segment_form(png, expressions))
    assert status == 200
    body = json.dumps({"image": base64.b64encode(png).decode(), "expressions": expressions}).encode()
    status, json_answer, _ = post(f"{service[0]}/v1/segment", body, "application/json")
    assert status == 200 and json_answer == form_answer
    with open_predictor(tiny_bundle, threads=1) as predictor:  # the replicas' settings: one thread, fp32
        expected = encode_answer(predictor.description, pixels.shape, predictor.segment(pixels, expressions))
    assert form_answer == expected
    assert_valid(form_answer, "answer")
    assert [result["expression"] for result in form_answer["results"]] == expressions
    assert form_answer["image"] == {"height": pixels.shape[0], "width": pixels.shape[1]}
    assert decode_rle(form_answer["results"][0]["rle"]).shape == pixels.shape[:2]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixel data is cut off): what a bomb's header says."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _bad_requests() -> dict[str, tuple[bytes, str | None, int, str]]:
    """name: (body, content type, status, words the error must contain)."""
    png = encode_image(np.zeros((32, 32, 3), np.uint8), "PNG")

    def as_json(payload: object) -> bytes:
        return json.dumps(payload).encode()

    def image_json(expressions: object, image: bytes = png) -> bytes:
        return as_json({"image": base64.b64encode(image).decode(), "expressions": expressions})

    return {
        "not an image": (*segment_form(b"this is text, not pixels", ["x"]), 400, "not an image"),
        "truncated image": (*segment_form(png[: len(png) // 2], ["x"]), 400, "cannot decode"),
        "decompression bomb": (*segment_form(_png_header_only(20_000, 20_000), ["x"]), 400, "decompression bomb"),
        "over the pixel limit": (*segment_form(encode_image(np.zeros((1100, 1000), np.uint8), "PNG"), ["x"]), 400, "exceeds limit"),
        "too elongated": (*segment_form(encode_image(np.zeros((1, 900), np.uint8), "PNG"), ["x"]), 400, "too elongated"),
        "empty image": (*segment_form(b"", ["x"]), 400, "empty (0 bytes)"),
        "missing image (form)": (*multipart([("expressions", "the cat", None)]), 400, 'missing "image"'),
        "missing image (json)": (as_json({"expressions": ["x"]}), "application/json", 400, 'missing "image"'),
        "missing expressions": (as_json({"image": base64.b64encode(png).decode()}), "application/json", 400, 'missing "expressions"'),
        "empty expressions": (image_json([]), "application/json", 400, "no expressions"),
        "blank expression": (image_json(["the cat", "  "]), "application/json", 400, "expression 1 is empty"),
        "expressions not a list": (image_json("the cat"), "application/json", 400, "must be a list"),
        "markup-only expression": (image_json(["&nbsp;"]), "application/json", 400, "has no words"),
        "over-long expression": (image_json(["a" * 501]), "application/json", 400, "501 characters, more than the limit of 500"),
        "too many expressions": (image_json(["the cat"] * 65), "application/json", 400, "65 expressions, more than the limit of 64"),
        "wrong content type": (b"hello", "text/plain", 415, "unsupported 'text/plain'"),
        "form-urlencoded (curl -d)": (b"image=x", "application/x-www-form-urlencoded", 415, "unsupported 'application/x-www-form-urlencoded'"),
        "malformed JSON": (b'{"image": ', "application/json", 400, "malformed JSON"),
        "malformed base64": (as_json({"image": "not*base64!", "expressions": ["x"]}), "application/json", 400, "not valid base64"),
        "image field as text": (*multipart([("image", "abc", None), ("expressions", "the cat", None)]), 400, "must be a file"),
        "payload over the limit": (b"\0" * (SERVICE_LIMITS.max_payload_bytes + 1), "application/json", 413, "more than the limit"),
    }


BAD = _bad_requests()


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_request_gets_a_4xx_naming_the_problem(service, name):
    body, content_type, status, words = BAD[name]
    answer_status, answer, _ = post(f"{service[0]}/v1/segment", body, content_type)
    assert (answer_status, set(answer)) == (status, {"error"}), answer
    assert words in answer["error"]


def test_the_replicas_still_answer_after_the_bad_requests(service, scene):
    for body, content_type, _, _ in BAD.values():
        post(f"{service[0]}/v1/segment", body, content_type)
    client = SegmentClient(service[0])
    assert client.health()["deployments"]["Segmenter"]["replicas"] == {"RUNNING": 2}
    assert len(client.segment(scene[0], scene[1])["results"]) == len(scene[1])


def test_the_client_takes_paths_bytes_and_pixels_and_raises_the_servers_message(service, scene, tmp_path):
    pixels, expressions = scene
    path = tmp_path / "scene.png"
    path.write_bytes(encode_image(pixels, "PNG"))
    client = SegmentClient(service[0])
    answers = [client.segment(source, expressions) for source in (path, str(path), path.read_bytes(), pixels)]
    assert all(answer == answers[0] for answer in answers)
    assert_valid(answers[0], "answer")
    with pytest.raises(ServiceError, match="more than the limit of 64") as refused:
        client.segment(pixels, ["the cat"] * 65)
    assert refused.value.status == 400


def test_predict_with_a_server_writes_what_local_predict_writes(service, tiny_bundle, scene, tmp_path):
    pixels, expressions = scene
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "scene.png").write_bytes(encode_image(pixels, "PNG"))
    arguments = ["-e", expressions[0], "-e", expressions[1]]
    local_engine = ["--backend", "onnxruntime", "--precision", "fp32"]  # the service's
    assert main(["predict", str(tiny_bundle), str(tmp_path / "images"), *arguments, *local_engine, "--out", str(tmp_path / "local")]) == 0
    assert main(["predict", "--server", service[0], str(tmp_path / "images"), *arguments, "--out", str(tmp_path / "remote")]) == 0
    local = json.loads((tmp_path / "local" / "predictions.json").read_text())
    remote = json.loads((tmp_path / "remote" / "predictions.json").read_text())
    assert remote["images"] == local["images"] and len(remote["images"][0]["results"]) == 2
    assert_valid(local, "predictions_file")
    assert_valid(remote, "predictions_file")
    assert remote["model"]["service"] == service[0] and remote["model"]["choice"]["engine"] == local["model"]["choice"]["engine"]
    assert sorted(path.name for path in (tmp_path / "remote").iterdir()) == sorted(path.name for path in (tmp_path / "local").iterdir())


def test_requests_for_one_image_go_to_the_replica_that_encoded_it(service):
    """With the image's key in the routing header (what SegmentClient sends), every request for an
    image lands on the replica that encoded it first, where its features are cached (routed at
    random, 9 repeats would all find their replica with a chance of 1 in 512)."""
    url = f"{service[0]}/v1/segment"
    images = [(encode_image(pixels, "PNG"), expressions[:1]) for pixels, expressions in demo_scenes(3, seed=21)]
    first = []
    for image, expressions in images:
        status, _, headers = post(url, *segment_form(image, expressions), routing_key=image_key(image))
        assert status == 200
        first.append(_replica(headers))
    for (image, expressions), replica in zip(images * 3, first * 3):
        status, _, headers = post(url, *segment_form(image, expressions), routing_key=image_key(image))
        assert status == 200 and _replica(headers) == replica


def _replica(headers: dict) -> str:
    return {name.lower(): value for name, value in headers.items()}["x-haris-replica"]
