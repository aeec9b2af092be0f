"""`haris serve`: the runtime's Predictor behind an HTTP API on Ray Serve (docs/serving.md).

Importing this package loads nothing heavy: Ray, FastAPI and prometheus_client are imported by the
modules that run the service (segmenter, service_app, service_hub, service_runner, service_status,
service_config, error_answers, service_metrics), which the `serve` extra installs; operating it is
described in docs/operations.md. Request limits and validation (request_limits, request_validation)
need only the runtime; the client (segment_client), its keys (api_keys) and `RemotePredictor`
(remote_predictor), which puts a service in a Predictor's place, need only the standard library,
numpy and Pillow.
"""
