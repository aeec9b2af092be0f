"""The engine options of a Predictor that each Ray worker opens on its own node: `haris serve`'s replicas
and `haris label`'s actors take the same ones, with the same defaults."""

from __future__ import annotations

import argparse

from haris.runtime.backend_registry import AUTO, BUNDLE_BACKENDS, COMPUTE_PRECISIONS


def add_worker_engine_options(parser: argparse.ArgumentParser, worker: str) -> None:
    """--backend, --precision, --device, --num-cpus, --num-gpus and --threads, per `worker` ("replica", "actor")."""
    parser.add_argument(
        "--backend",
        default=AUTO,
        choices=[AUTO, *BUNDLE_BACKENDS],
        help=f"auto (default: chosen by each {worker} from its node's CPU, or TensorRT on a GPU) or a bundle backend",
    )
    parser.add_argument(
        "--precision",
        default=AUTO,
        choices=[AUTO, *COMPUTE_PRECISIONS],
        help="auto (default: FP32, or BF16 where the CPU runs it natively; FP16 on a GPU) or one the backend runs; int8 only when asked",
    )
    parser.add_argument("--device", help=f"device inside a {worker}: cpu, cuda[:N] (default: cuda:0 with --num-gpus, else cpu)")
    parser.add_argument("--num-cpus", type=float, default=1.0, help=f"Ray CPUs per {worker} (default 1)")
    parser.add_argument("--num-gpus", type=float, default=0.0, help=f"Ray GPUs per {worker} (default 0; 1 on GPU nodes)")
    parser.add_argument("--threads", type=int, help=f"onnxruntime and host threads per {worker} (default: --num-cpus)")
