"""`haris serve`: parses its arguments and calls haris.serve.service_runner.run_service (or, with
--write-config, haris.serve.service_config.write_serve_config)."""

from __future__ import annotations

import argparse

from haris.cli.worker_options import add_worker_engine_options


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="an HTTP service for a bundle on Ray Serve (docs/serving.md; needs the serve extra)")
    serve.add_argument("bundle", help="bundle directory (on every node of a cluster, at this path)")
    add_worker_engine_options(serve, "replica")
    serve.add_argument("--replicas", type=int, default=1, help="model replicas (default 1)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--address", help="attach to this Ray cluster (host:port, or auto) instead of starting Ray here")
    serve.add_argument("--proxy-on-every-node", action="store_true", help="an HTTP proxy on every node (for a load balancer), not the head only")
    serve.add_argument("--max-expressions", type=int, default=64, help="per request (default 64)")
    serve.add_argument("--max-expression-chars", type=int, default=500, help="characters per expression (default 500)")
    serve.add_argument("--max-payload-mb", type=float, default=20.0, help="request body size limit in MiB; over it: 413 (default 20)")
    serve.add_argument("--max-image-pixels", type=int, default=40_000_000, help="width x height limit (default 40 M)")
    serve.add_argument("--api-key-file", help="file of API keys, one per line; with HARIS_API_KEYS (comma-separated) the keys requests need")
    serve.add_argument(
        "--max-queued-requests", type=int, default=32, help="requests one replica holds at once; past it 503 with Retry-After (default 32)"
    )
    serve.add_argument("--request-timeout-s", type=float, default=30.0, help="time limit of a request in a replica; past it 504 (default 30)")
    serve.add_argument("--write-config", metavar="FILE", help="write a Ray Serve config YAML for `serve run FILE` (or KubeRay) and exit")
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> None:
    from haris.serve.request_limits import RequestLimits
    from haris.serve.service_runner import run_service
    from haris.serve.service_settings import ServiceSettings

    limits = RequestLimits(args.max_expressions, args.max_expression_chars, int(args.max_payload_mb * (1 << 20)), args.max_image_pixels)
    settings = ServiceSettings(
        args.bundle,
        args.backend,
        args.precision,
        args.device,
        args.replicas,
        args.num_cpus,
        args.num_gpus,
        args.threads,
        args.host,
        args.port,
        args.address,
        args.proxy_on_every_node,
        limits=limits,
        api_key_file=args.api_key_file,
        max_queued_requests=args.max_queued_requests,
        request_timeout_s=args.request_timeout_s,
    )
    if settings.address is None:  # refused here, before Ray starts (on a cluster the bundle is on the nodes)
        settings.check_bundle()
    if args.write_config:
        from haris.serve.service_config import write_serve_config

        print(f"wrote {write_serve_config(settings, args.write_config)}: `serve run {args.write_config}` starts the service")
        return
    run_service(settings)
