"""The HTTP front of the service: a FastAPI app as a Ray Serve ingress deployment (OpenAPI at /docs).

It reads and checks every request (body size, content type, JSON or form, image, expressions)
before any model work, hashes the image file, and hands (file, expressions) to a Segmenter
replica, preferring one that encoded that image lately. The file, not its decoded pixels, goes to
the replica: a photo's JPEG is a tenth of its pixels, and small objects travel inline in Ray's call
rather than through its object store (measured: that put was 12% of the ingress's CPU). A replica that dies mid-request is retried
on another (segmenting is idempotent), so a replica crash costs the client time, not an answer.
"""

# No `from __future__ import annotations` here: Serve pickles the deployment class by value, and in
# the replica FastAPI must resolve the routes' annotations (Request) as objects, not as names.
import asyncio
import hashlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException

from haris import __version__
from haris.serve.bad_request import BadRequest
from haris.serve.request_limits import RequestLimits
from haris.serve.request_reading import segment_inputs
from haris.serve.request_validation import apply_pixel_limit, checked_expressions, decoded_image

REPLICA_RETRIES = 4  # tries of one request when the replica serving it dies (0.25 s, 0.5 s, 0.75 s apart)
SEGMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image", "expressions"],
                    "properties": {"image": {"type": "string", "format": "binary"}, "expressions": {"type": "array", "items": {"type": "string"}}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["image", "expressions"],
                    "properties": {
                        "image": {"type": "string", "format": "byte", "description": "base64 of an image file"},
                        "expressions": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
        },
    }
}

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


def _deployment_states() -> dict[str, dict[str, Any]]:
    """Per deployment of this application: its status and replica counts by state. (Above the class:
    Serve pickles the deployment class when it is decorated, with the globals defined by then.)"""
    application = serve.status().applications[serve.get_replica_context().app_name]
    return {
        name: {"status": _name(deployment.status), "replicas": {_name(state): count for state, count in deployment.replica_states.items()}}
        for name, deployment in application.deployments.items()
    }


def _name(state: Any) -> str:
    return str(getattr(state, "value", state))  # Serve's status enums, as their names


@serve.deployment(name="SegmentIngress", max_ongoing_requests=256, ray_actor_options={"num_cpus": 0})
@serve.ingress(api)
class SegmentIngress:
    def __init__(self, segmenter: DeploymentHandle, limits: RequestLimits) -> None:
        apply_pixel_limit(limits)  # this replica's process decodes the requests' images
        self.segmenter = segmenter
        self.limits = limits
        self._model: dict[str, Any] | None = None

    @api.post("/v1/segment", openapi_extra=SEGMENT_BODY, summary="Masks (COCO RLE), boxes and scores, one per expression, in order")
    async def segment(self, request: Request) -> JSONResponse:
        image, expressions = await segment_inputs(request, self.limits)
        expressions = checked_expressions(expressions, self.limits)
        model = await self.model_description()
        await asyncio.to_thread(decoded_image, image, model["image_size"])  # refuses what is not a usable image
        answer = await self._segment(hashlib.blake2b(image, digest_size=16).hexdigest(), image, expressions)
        headers = {"X-Haris-Replica": answer["where"]["replica"], "X-Haris-Node": answer["where"]["node"]}
        return JSONResponse(answer["body"], status_code=answer["status"], headers=headers)

    @api.get("/v1/health", summary="200 once every replica is running, else 503 with the counts")
    async def health(self) -> JSONResponse:
        deployments = await asyncio.to_thread(_deployment_states)
        ready = all(state["status"] == "HEALTHY" for state in deployments.values())
        body = {"status": "ok" if ready else "starting", "deployments": deployments}
        if not ready:
            body["error"] = "not every replica is running yet"
        return JSONResponse(body, status_code=200 if ready else 503)

    @api.get("/v1/model", summary="What answers: bundle, backend, precision, image size; and the request limits")
    async def model(self) -> dict[str, Any]:
        return {"model": await self.model_description(), "limits": self.limits.to_json()}

    async def model_description(self) -> dict[str, Any]:
        if self._model is None:
            self._model = await self.segmenter.description.remote()
        return self._model

    async def _segment(self, image_key: str, image: bytes, expressions: list[str]) -> dict[str, Any]:
        handle = self.segmenter.options(multiplexed_model_id=image_key)
        for attempt in range(1, REPLICA_RETRIES):
            try:
                return await handle.segment.remote(image, expressions)
            except (RayActorError, ActorUnavailableError):
                await asyncio.sleep(0.25 * attempt)  # the router drops the dead replica meanwhile
        return await handle.segment.remote(image, expressions)  # the last try: its error is the answer
