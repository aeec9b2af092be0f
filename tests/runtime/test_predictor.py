"""The Predictor: the same masks from eager torch and the bundle's FP32 and FP16 graphs, the image-feature
cache (hits, eviction by bytes, equal to no cache), and one Predictor shared by several threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from runtime_samples import demo_scenes, encode_image, mask_iou

from haris.errors import ExpressionError, HarisError
from haris.runtime.predictor import Predictor
from haris.runtime.stage_clock import PIPELINE_STAGES, StageTimer
from haris.runtime.tensor_contract import IMAGE_FEATS

MIN_IOU = {"fp32": 0.999, "fp16": 0.99}


@pytest.fixture(scope="module")
def scenes():
    return demo_scenes(4)  # 24 expressions


@pytest.fixture(scope="module")
def torch_predictor(tiny_checkpoint):
    return Predictor.from_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="module")
def onnx_predictor(tiny_bundle):
    return Predictor.from_bundle(tiny_bundle, precision="fp32", threads=1)


@pytest.fixture(scope="module")
def torch_results(torch_predictor, scenes):
    return [torch_predictor.segment(pixels, sentences) for pixels, sentences in scenes]


def fresh(predictor: Predictor, cache_bytes: int = 1 << 30) -> Predictor:
    """A Predictor on the same backend with its own, empty cache and no current image."""
    return Predictor(predictor.backend, predictor.settings, predictor.tokenize, cache_bytes)


def assert_same_predictions(actual, expected):
    assert [p.expression for p in actual] == [p.expression for p in expected]
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a.mask, e.mask)
        np.testing.assert_array_equal(a.mask_logits, e.mask_logits)
        assert a.score == e.score


def test_reference_masks_are_mostly_partial(torch_results):
    """The parity below means something only if the masks are neither empty nor the whole image."""
    fractions = [p.mask.mean() for results in torch_results for p in results]
    assert len(fractions) >= 8
    assert sum(0.02 < fraction < 0.98 for fraction in fractions) >= 0.8 * len(fractions)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_bundle_masks_match_the_checkpoint(tiny_bundle, scenes, torch_results, precision):
    predictor = Predictor.from_bundle(tiny_bundle, precision=precision, threads=1)
    ious = {}
    for (pixels, sentences), expected in zip(scenes, torch_results):
        for actual, reference in zip(predictor.segment(pixels, sentences), expected):
            assert actual.mask.shape == reference.mask.shape == pixels.shape[:2]
            ious[actual.expression] = mask_iou(actual.mask, reference.mask)
    worst = min(ious, key=ious.get)
    assert ious[worst] >= MIN_IOU[precision], f"{precision}: IoU {ious[worst]:.5f} for {worst!r}"


def test_segment_equals_set_image_then_predict(onnx_predictor, scenes):
    pixels, sentences = scenes[1]
    predictor = fresh(onnx_predictor)
    predictor.set_image(pixels)
    assert_same_predictions(onnx_predictor.segment(pixels, sentences), predictor.predict(sentences))


def test_same_image_again_hits_the_cache_and_predicts_the_same(onnx_predictor, scenes, tmp_path):
    pixels, sentences = scenes[0]
    predictor = fresh(onnx_predictor)
    predictor.set_image(pixels)
    first = predictor.predict(sentences)
    predictor.set_image(pixels.copy())
    second = predictor.predict(sentences)
    (tmp_path / "scene.png").write_bytes(encode_image(pixels, "PNG"))
    predictor.set_image(tmp_path / "scene.png")  # the same pixels from a file: the same cache entry
    third = predictor.predict(sentences)
    assert (predictor.cache.misses, predictor.cache.hits, len(predictor.cache)) == (1, 2, 1)
    assert_same_predictions(second, first)
    assert_same_predictions(third, first)


def test_uncached_predictor_predicts_as_the_cached_one(tiny_bundle, onnx_predictor, scenes):
    uncached = Predictor.from_bundle(tiny_bundle, precision="fp32", threads=1, cache_bytes=0)
    for pixels, sentences in scenes[:2]:
        cached = onnx_predictor.segment(pixels, sentences)
        assert_same_predictions(uncached.segment(pixels, sentences), cached)
        assert_same_predictions(uncached.segment(pixels, sentences), cached)
    assert (len(uncached.cache), uncached.cache.used_bytes, uncached.cache.hits) == (0, 0, 0)


def test_cache_evicts_the_least_recently_used_image_by_bytes(onnx_predictor, scenes):
    specs = {spec.name: spec.shape for spec in onnx_predictor.backend.specs["image_encoder"].outputs}
    entry_bytes = sum(4 * int(np.prod(specs[name][1:])) for name in IMAGE_FEATS)  # N = 1, float32
    predictor = fresh(onnx_predictor, cache_bytes=2 * entry_bytes + entry_bytes // 2)
    a, b, c = (pixels for pixels, _ in scenes[:3])
    for image in (a, b, a, c):  # a is used again after b, so c pushes b out
        predictor.set_image(image)
    assert (len(predictor.cache), predictor.cache.used_bytes) == (2, 2 * entry_bytes)
    assert (predictor.cache.misses, predictor.cache.hits) == (3, 1)
    predictor.set_image(a)
    predictor.set_image(c)
    assert predictor.cache.hits == 3
    predictor.set_image(b)
    assert predictor.cache.misses == 4


def test_predict_before_set_image_is_a_clear_error(onnx_predictor):
    with pytest.raises(HarisError, match=r"set_image"):
        fresh(onnx_predictor).predict(["the red circle"])


def test_each_thread_has_its_own_current_image(onnx_predictor, scenes):
    predictor = fresh(onnx_predictor)
    predictor.set_image(scenes[0][0])
    errors = []
    thread = threading.Thread(target=lambda: errors.append(_error_of(predictor.predict, ["the red circle"])))
    thread.start()
    thread.join()
    assert isinstance(errors[0], HarisError) and "set_image" in str(errors[0])
    assert predictor.predict(["the red circle"])  # this thread's image is still set


def _error_of(call, *args):
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 - returned for the test to inspect
        return error
    return None


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_threads_sharing_a_predictor_get_the_serial_results(backend, onnx_predictor, torch_predictor, scenes):
    """4 threads, each setting its own image and predicting two batches against it, many times over;
    the cache holds 2 of the 4 images, so the threads also evict each other's features and encode
    concurrently."""
    shared = onnx_predictor if backend == "onnxruntime" else torch_predictor
    probe = fresh(shared)
    probe.set_image(scenes[0][0])
    predictor = fresh(shared, cache_bytes=2 * probe.cache.used_bytes)
    jobs = [(pixels, sentences[:2], sentences[2:4]) for pixels, sentences in scenes]
    serial = [(predictor.segment(pixels, first), predictor.predict(second)) for pixels, first, second in jobs]
    start = threading.Barrier(len(jobs))

    def work(index: int) -> int:
        pixels, first, second = jobs[index]
        start.wait()
        for _ in range(10):
            predictor.set_image(pixels)
            assert_same_predictions(predictor.predict(first), serial[index][0])
            assert_same_predictions(predictor.predict(second), serial[index][1])  # still this thread's image
        return index

    with ThreadPoolExecutor(len(jobs)) as pool:
        assert sorted(pool.map(work, range(len(jobs)))) == list(range(len(jobs)))
    assert predictor.cache.misses > len(jobs)  # evictions happened while the threads ran


def test_a_batch_of_images_predicts_as_one_image_at_a_time(onnx_predictor, scenes):
    """One encoder run for the images, expressions decoded across images (N = B), in chunks."""
    predictor = fresh(onnx_predictor)
    predictor.max_expressions = 5  # 4 images x 3 expressions: chunks of 5 that span images
    items = [(pixels, sentences[:3]) for pixels, sentences in scenes]
    timer = StageTimer(predictor.backend.clock())
    batched = predictor.predict_batch(items, timer)
    seconds = timer.seconds()
    assert set(seconds) == set(PIPELINE_STAGES) and all(value > 0 for value in seconds.values())
    assert (predictor.cache.misses, len(predictor.cache)) == (4, 4)
    for (pixels, sentences), predictions in zip(items, batched):
        alone = fresh(onnx_predictor).segment(pixels, sentences)
        assert [p.expression for p in predictions] == sentences
        for together, single in zip(predictions, alone):
            assert mask_iou(together.mask, single.mask) >= 0.999
            np.testing.assert_allclose(together.mask_logits, single.mask_logits, rtol=0, atol=1e-4)
    predictor.predict_batch(items[:2])
    assert predictor.cache.hits == 2  # images already encoded come from the cache


def test_batches_refuse_missing_or_empty_expressions_before_any_work(onnx_predictor, scenes):
    predictor = fresh(onnx_predictor)
    refused = {"no expressions": [], "got one string": "the red circle", "expression 1 is empty": ["the red circle", " "]}
    for words, expressions in refused.items():
        with pytest.raises(ExpressionError, match=words):
            predictor.predict_batch([(scenes[0][0], ["the red circle"]), (scenes[1][0], expressions)])
    assert predictor.cache.misses == 0


def test_a_predictor_and_its_backend_close_as_context_managers(tiny_bundle, scenes):
    with Predictor.from_bundle(tiny_bundle, precision="fp32", threads=1) as predictor:
        predictor.segment(*scenes[0])
    assert len(predictor.cache) == 0


def test_a_predictor_says_what_answers(tiny_bundle, tiny_checkpoint, onnx_predictor):
    bundle_side = onnx_predictor.description
    assert (bundle_side["kind"], bundle_side["backend"], bundle_side["precision"]) == ("bundle", "onnxruntime", "fp32")
    assert bundle_side["path"] == str(tiny_bundle)
    assert bundle_side["precisions"] == ["fp32", "fp16"] and bundle_side["max_expressions"] == onnx_predictor.max_expressions
    with Predictor.from_checkpoint(tiny_checkpoint) as eager:
        assert (eager.description["kind"], eager.description["backend"], eager.description["precision"]) == ("checkpoint", "torch", "fp32")
