"""The service's one deployment: a FastAPI app (OpenAPI at /docs) on replicas that each hold a Predictor.

Serve's HTTP proxy hands each request straight to a replica, which reads and checks it (body size,
content type, JSON or form, image, expressions) before any model work, then segments it. An
ingress deployment in front of the model replicas was measured first: its hop (FastAPI, the image
check, a second Ray call) cost a large share of the CPU the tiny model itself needs, on the same cores
(docs/serving.md). Here the request crosses one Ray hop, and its image is decoded once.

Concurrent requests are gathered by `@serve.batch` and run as one `Predictor.predict_batch`: the
images not in the replica's feature cache are encoded in one image-encoder run, and the expressions
of all requests are decoded together in batches of up to the bundle's B. Serve's proxy routes
before it reads the body, so the image's hash comes in a header (SegmentClient sends it), and the
deployment's router hashes it onto one replica (service_app.py): requests for an image go where it
was encoded, whose Predictor cache holds its features (keyed by pixels, so a request without the
header still hits the cache where it lands).
"""

# No `from __future__ import annotations` here: Serve pickles the deployment class by value, and in
# the replica FastAPI must resolve the routes' annotations (Request) as objects, not as names.
import asyncio
import logging
from typing import Any, NamedTuple

import numpy as np
import ray
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from starlette.exceptions import HTTPException

from haris import __version__
from haris.errors import HarisError
from haris.log_output import configure_logging
from haris.runtime.answer_json import encode_answer
from haris.runtime.engine_choice import choice_line
from haris.runtime.predictor_factory import open_predictor
from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits
from haris.serve.request_reading import SEGMENT_BODY, segment_inputs
from haris.serve.request_validation import apply_pixel_limit, checked_expressions, decoded_image
from haris.serve.service_status import deployment_states, unready_summary

log = logging.getLogger(__name__)
api = FastAPI(title="HARIS segmentation service", version=__version__, description="Masks of what referring expressions name in an image.")


@api.exception_handler(BadRequest)
async def _refused(request: Request, error: BadRequest) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error.status)


@api.exception_handler(HTTPException)
async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)


@api.exception_handler(Exception)
async def _failed(request: Request, error: Exception) -> JSONResponse:
    # A fault of the service, not of the request: still JSON, and named (the replica's log has the traceback).
    return JSONResponse({"error": f"internal error: {type(error).__name__}: {error}"[:1000]}, status_code=500)


class SegmentItem(NamedTuple):
    pixels: np.ndarray  # uint8 RGB, decoded (and so checked) before the item joins a batch
    expressions: list[str]


@serve.deployment(name="Segmenter", max_ongoing_requests=64, health_check_period_s=2, graceful_shutdown_timeout_s=5)
@serve.ingress(api)
class Segmenter:
    def __init__(
        self, bundle: str, backend: str, device: str | None, precision: str | None, threads: int | None, batch: dict[str, Any], limits: RequestLimits
    ) -> None:
        configure_logging(terminal=True)  # to the replica's stderr, which Serve keeps in its log with time and level
        apply_pixel_limit(limits)  # this replica's process decodes the requests' images
        self.limits = limits
        self.predictor = open_predictor(bundle, backend, device, precision, threads)
        self._batched.set_max_batch_size(batch["max_requests"])
        self._batched.set_batch_wait_timeout_s(batch["wait_s"])
        runtime = ray.get_runtime_context()  # the actor's name finds it: ray.get_actor(name, namespace="serve")
        self.headers = {"X-Haris-Replica": runtime.get_actor_name(), "X-Haris-Node": runtime.get_node_id()}
        log.info("%s: %s", runtime.get_actor_name(), choice_line(self.predictor.description))  # nodes may choose differently

    @api.post("/v1/segment", openapi_extra=SEGMENT_BODY, summary="Masks (COCO RLE), boxes and scores, one per expression, in order")
    async def segment(self, request: Request) -> JSONResponse:
        image, expressions = await segment_inputs(request, self.limits)
        expressions = checked_expressions(expressions, self.limits)
        pixels = await asyncio.to_thread(decoded_image, image, self.predictor.description["image_size"])
        result = await self._batched(SegmentItem(pixels, expressions))
        if isinstance(result, HarisError):  # what the model itself refuses, e.g. an expression with no words
            return JSONResponse({"error": str(result)}, status_code=400, headers=self.headers)
        body = encode_answer(self.predictor.description, pixels.shape, result)
        return JSONResponse(body, headers=self.headers)

    @api.get("/v1/health", summary="200 once every replica is running, else 503 with the counts")
    async def health(self) -> JSONResponse:
        deployments = await asyncio.to_thread(deployment_states)
        ready = all(state["status"] == "HEALTHY" for state in deployments.values())
        body = {"status": "ok" if ready else "starting", "deployments": deployments}
        if not ready:
            body["error"] = f"not every replica is running yet: {unready_summary(deployments)}"
        return JSONResponse(body, status_code=200 if ready else 503)

    @api.get("/v1/model", summary="What answers: bundle, backend, precision, image size; and the request limits")
    async def model(self) -> dict[str, Any]:
        return {"model": dict(self.predictor.description), "limits": self.limits.to_json()}

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def _batched(self, items: list[SegmentItem]) -> list[Any]:
        # Off the event loop, so requests keep arriving (and forming the next batch) meanwhile.
        return await asyncio.to_thread(self._predict, items)

    def _predict(self, items: list[SegmentItem]) -> list[Any]:
        """Per item its predictions, or the HarisError that item alone causes: one bad request in a
        batch must not fail the others (on an error, the items run again one by one)."""
        try:
            return self.predictor.predict_batch([(item.pixels, item.expressions) for item in items])
        except HarisError as error:
            if len(items) == 1:
                return [error]
        return [self._predict([item])[0] for item in items]

    def __del__(self) -> None:
        predictor = getattr(self, "predictor", None)
        if predictor is not None:
            predictor.close()
