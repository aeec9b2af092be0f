"""The Ray Serve deployment that holds a Predictor: batches concurrent requests, keeps image features.

Each replica opens the bundle once. Concurrent requests are gathered by `@serve.batch` and run as
one `Predictor.predict_batch`: the images not in the replica's feature cache are encoded in one
image-encoder run, and the expressions of all requests are decoded together in batches of up to
the bundle's B. The ingress tags each request with its image file's hash as a multiplexed model
id; Ray Serve then prefers a replica that reported that id, i.e. that encoded the image lately
(the last MAX_ROUTED_IMAGES per replica; the feature cache itself is sized in bytes and keyed by
pixels, so the same picture in another file format hits the cache where it lands).
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import ray
from ray import serve

from haris.errors import HarisError
from haris.runtime.predictor_factory import open_predictor
from haris.runtime.segment_response import segment_json
from haris.serve.request_limits import RequestLimits
from haris.serve.request_validation import apply_pixel_limit

MAX_ROUTED_IMAGES = 128  # image hashes a replica advertises for routing (Serve's LRU of multiplexed ids)


class SegmentItem(NamedTuple):
    image: bytes  # the image file, checked by the ingress; decoded here (small to send, unlike its pixels)
    expressions: list[str]


@serve.deployment(name="Segmenter", max_ongoing_requests=64, health_check_period_s=2, graceful_shutdown_timeout_s=5)
class Segmenter:
    def __init__(
        self, bundle: str, backend: str, device: str | None, precision: str | None, threads: int | None, batch: dict[str, Any], limits: RequestLimits
    ) -> None:
        apply_pixel_limit(limits)  # the ingress accepted images up to this size: decode them here too
        self.predictor = open_predictor(bundle, backend, device, precision, threads)
        self._batched.set_max_batch_size(batch["max_requests"])
        self._batched.set_batch_wait_timeout_s(batch["wait_s"])
        runtime = ray.get_runtime_context()  # the actor's name finds it: ray.get_actor(name, namespace="serve")
        self.where = {"replica": runtime.get_actor_name(), "node": runtime.get_node_id()}

    def description(self) -> dict[str, Any]:
        return dict(self.predictor.description)

    async def segment(self, image: bytes, expressions: list[str]) -> dict[str, Any]:
        """{"status", "body", "where"}: the API's 200 JSON, or a 400 naming a problem the model
        found (an expression with no words after cleaning), and which replica on which node answered."""
        image_key = serve.get_multiplexed_model_id()
        if image_key:
            await self._advertise_image(image_key)
        result = await self._batched(SegmentItem(image, expressions))
        if isinstance(result, HarisError):
            return {"status": 400, "body": {"error": str(result)}, "where": self.where}
        return {"status": 200, "body": segment_json(self.predictor.description, result[0].mask.shape, result), "where": self.where}

    @serve.multiplexed(max_num_models_per_replica=MAX_ROUTED_IMAGES)
    async def _advertise_image(self, image_key: str) -> str:
        # Nothing to load: the features are computed in the batch and kept in the Predictor's cache.
        return image_key

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def _batched(self, items: list[SegmentItem]) -> list[Any]:
        # Off the event loop, so requests keep arriving (and forming the next batch) meanwhile.
        return await asyncio.to_thread(self._predict, items)

    def _predict(self, items: list[SegmentItem]) -> list[Any]:
        """Per item its predictions, or the HarisError that item alone causes: one bad request in a
        batch must not fail the others (on an error, the items run again one by one)."""
        try:
            return self.predictor.predict_batch([(item.image, item.expressions) for item in items])
        except HarisError as error:
            if len(items) == 1:
                return [error]
        return [self._predict([item])[0] for item in items]

    def __del__(self) -> None:
        predictor = getattr(self, "predictor", None)
        if predictor is not None:
            predictor.close()
