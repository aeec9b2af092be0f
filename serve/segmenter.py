"""The service's model deployment: a FastAPI app (OpenAPI at /docs) on replicas that each hold a Predictor.

Serve's HTTP proxy hands each request straight to a replica, which checks its key, admits it within
its bounded queue and time limit (request_gate.py), reads and checks it (body size, content type,
JSON or form, image, expressions) before any model work, then segments it. An ingress deployment
in front of the model replicas was measured first: its hop cost a large share of the CPU the tiny
model itself needs, on the same cores (docs/serving.md). Here the request crosses one Ray hop, and
its image is decoded once.

Concurrent requests are gathered by `@serve.batch` and run as one `Predictor.predict_batch`: the
images not in the replica's feature cache are encoded in one image-encoder run, and the expressions
of all requests are decoded together in batches of up to the bundle's B. Serve's proxy routes
before it reads the body, so the image's hash comes in a header (SegmentClient sends it), and the
deployment's router hashes it onto one replica (service_app.py): requests for an image go where it
was encoded, whose Predictor cache holds its features.

Every answer is JSON (error_answers.py); each replica reports its metrics and queue to the
ServiceHub (service_hub.py), whose answer tells it when the service drains; any replica serves
every replica's metrics at /metrics.
"""

# No `from __future__ import annotations` here: Serve pickles the deployment class by value, and in
# the replica FastAPI must resolve the routes' annotations (Request) as objects, not as names.
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import numpy as np
import ray
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from ray import serve

from haris import __version__
from haris.errors import HarisError
from haris.log_output import configure_logging
from haris.runtime.answer_json import encode_answer
from haris.runtime.engine_choice import choice_line
from haris.runtime.predictor_factory import open_predictor
from haris.runtime.stage_clock import StageTimer
from haris.serve.api_keys import key_allowed
from haris.serve.bad_request import BadRequest
from haris.serve.error_answers import install_error_answers, json_answer
from haris.serve.request_gate import TIMEOUT_HEADER, RequestGate
from haris.serve.request_limits import RequestLimits
from haris.serve.request_reading import SEGMENT_BODY, segment_inputs
from haris.serve.request_validation import apply_pixel_limit, checked_expressions, decoded_image
from haris.serve.service_hub import DRAIN_REPORT_PERIOD_S, REPORT_PERIOD_S
from haris.serve.service_status import STOPPING, service_health

log = logging.getLogger(__name__)
api = FastAPI(title="HARIS segmentation service", version=__version__, description="Masks of what referring expressions name in an image.")
install_error_answers(api)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class SegmentItem(NamedTuple):
    pixels: np.ndarray  # uint8 RGB, decoded (and so checked) before the item joins a batch
    expressions: list[str]


@serve.deployment(name="Segmenter", max_ongoing_requests=64, health_check_period_s=2)
@serve.ingress(api)
class Segmenter:
    async def __init__(
        self,
        bundle: str,
        backend: str,
        device: str | None,
        precision: str | None,
        threads: int | None,
        batch: dict[str, Any],
        limits: RequestLimits,
        admission: dict[str, Any],
        service_hub: Any,
    ) -> None:
        """`admission`: the API keys (empty: open), `max_queued` and `timeout_s` of each request;
        `service_hub`: the ServiceHub's handle."""
        from haris.serve.service_metrics import ReplicaMetrics  # prometheus_client: only in a replica

        configure_logging(terminal=True)  # to the replica's stderr, which Serve keeps in its log with time and level
        apply_pixel_limit(limits)  # this replica's process decodes the requests' images
        self.limits = limits
        self.keys = frozenset(admission["keys"])
        self.gate = RequestGate(admission["max_queued"], admission["timeout_s"])
        self.predictor = open_predictor(bundle, backend, device, precision, threads)
        # One segmentation before the replica counts as started: ready means able to segment.
        await asyncio.to_thread(self.predictor.segment, np.zeros((32, 32, 3), np.uint8), ["the object"])
        self._batched.set_max_batch_size(batch["max_requests"])
        self._batched.set_batch_wait_timeout_s(batch["wait_s"])
        runtime = ray.get_runtime_context()  # the actor's name finds it: ray.get_actor(name, namespace="serve")
        self.headers = {"X-Haris-Replica": runtime.get_actor_name(), "X-Haris-Node": runtime.get_node_id()}
        log.info("%s: %s", runtime.get_actor_name(), choice_line(self.predictor.description))  # nodes may choose differently
        self.metrics = ReplicaMetrics(lambda: self.predictor.cache, lambda: self.gate.held)
        self.hub = service_hub
        # Held here: the event loop keeps only a weak reference to a task.
        self._reporting = asyncio.get_running_loop().create_task(self._report(serve.get_replica_context().replica_id.unique_id))

    @api.post("/v1/segment", openapi_extra=SEGMENT_BODY, summary="Masks (COCO RLE), boxes and scores, one per expression, in order")
    async def segment(self, request: Request) -> JSONResponse:
        return await self._answer("segment", request, lambda: self.gate.run(lambda: self._segment(request), request.headers.get(TIMEOUT_HEADER)))

    @api.get("/v1/model", summary="What answers: bundle, backend, precision, image size; and the request limits")
    async def model(self, request: Request) -> JSONResponse:
        async def described() -> JSONResponse:
            return JSONResponse({"model": dict(self.predictor.description), "limits": self.limits.to_json()})

        return await self._answer("model", request, described)

    @api.get("/v1/health", summary="200 once every replica is running, else 503 with the counts")
    async def health(self) -> JSONResponse:
        body, healthy = await asyncio.to_thread(service_health, False)
        return JSONResponse(body, status_code=200 if healthy else 503)

    @api.get("/v1/health/ready", summary="Readiness: 200 while every replica can segment and the service is not stopping, else 503")
    async def ready(self) -> JSONResponse:
        body, ready = await asyncio.to_thread(service_health, True)
        if self.gate.stopping:
            body |= {"status": "stopping", "error": STOPPING}
        return JSONResponse(body, status_code=200 if ready and not self.gate.stopping else 503)

    @api.get("/v1/health/live", summary="Liveness: 200 while the replica's process answers")
    async def live(self) -> JSONResponse:
        return JSONResponse({"status": "live"})

    @api.get("/metrics", summary="Prometheus metrics of every replica (haris_*), each sample labelled with its replica")
    async def prometheus(self) -> Response:
        return Response(await self.hub.exposition.remote(), media_type=PROMETHEUS_TEXT)

    async def _answer(self, route: str, request: Request, work: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
        """`work`'s answer once the key is checked, JSON whatever happens, counted in the metrics."""
        began = time.perf_counter()

        async def authorized() -> JSONResponse:
            self._check_key(request)
            return await work()

        answer = await json_answer(authorized, f"{request.method} {request.url.path}")
        answer.headers.update(self.headers)
        self.metrics.answered(route, answer.status_code, time.perf_counter() - began)
        return answer

    def _check_key(self, request: Request) -> None:
        if self.keys and not key_allowed(request.headers.get("authorization"), self.keys):
            given = "a wrong API key" if request.headers.get("authorization") else "no API key"
            raise BadRequest(f"{given}: send the header `Authorization: Bearer KEY` with a key of the service", 401, {"WWW-Authenticate": "Bearer"})

    async def _segment(self, request: Request) -> JSONResponse:
        image, expressions = await segment_inputs(request, self.limits)
        expressions = checked_expressions(expressions, self.limits)
        pixels = await asyncio.to_thread(decoded_image, image, self.predictor.description["image_size"])
        result = await self._batched(SegmentItem(pixels, expressions))
        if isinstance(result, HarisError):  # what the model itself refuses, e.g. an expression with no words
            raise BadRequest(str(result))
        return JSONResponse(encode_answer(self.predictor.description, pixels.shape, result))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def _batched(self, items: list[SegmentItem]) -> list[Any]:
        # Off the event loop, so requests keep arriving (and forming the next batch) meanwhile.
        return await asyncio.to_thread(self._timed_predict, items)

    def _timed_predict(self, items: list[SegmentItem]) -> list[Any]:
        timer = StageTimer(self.predictor.backend.clock())
        results = self._predict(items, timer)
        self.metrics.batch(len(items), timer.seconds())
        return results

    def _predict(self, items: list[SegmentItem], timer: StageTimer) -> list[Any]:
        """Per item its predictions, or the HarisError that item alone causes: one bad request in a
        batch must not fail the others (on an error, the items run again one by one)."""
        try:
            return self.predictor.predict_batch([(item.pixels, item.expressions) for item in items], timer)
        except HarisError as error:
            if len(items) == 1:
                return [error]
        return [self._predict([item], timer)[0] for item in items]

    async def _report(self, replica: str) -> None:
        """Send this replica's metrics and queue to the hub every REPORT_PERIOD_S, for as long as the
        replica lives; the hub's answer says whether the service is stopping (the drain)."""
        while True:
            try:
                self.gate.stopping = await self.hub.report.remote(replica, self.metrics.snapshot(), self.gate.held) or self.gate.stopping
            except Exception:  # a hub restarting: the next report gets through
                log.warning("replica %s could not report to the service hub", replica, exc_info=True)
            await asyncio.sleep(DRAIN_REPORT_PERIOD_S if self.gate.stopping else REPORT_PERIOD_S)

    def __del__(self) -> None:
        predictor = getattr(self, "predictor", None)
        if predictor is not None:
            predictor.close()
