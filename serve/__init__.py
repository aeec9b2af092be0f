"""`haris serve`: the runtime's Predictor behind an HTTP API on Ray Serve (docs/serving.md).

Importing this package loads nothing heavy: Ray and FastAPI are imported by the modules that run
the service (segmenter, service_app, service_runner, service_status), which the `serve` extra
installs. Request limits and validation (request_limits, request_validation) need only the runtime;
the client (segment_client) and `RemotePredictor` (remote_predictor), which puts a service in a
Predictor's place, need only the standard library, numpy and Pillow.
"""
