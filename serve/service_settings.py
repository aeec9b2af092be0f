"""Everything `haris serve` is configured with: the model, the replicas and their resources, HTTP,
the keys, the queue and time limits.

`to_args` and `from_args` carry the application's part of it (not HTTP, not the cluster address)
as the plain dict that Ray Serve hands an application builder (`haris.serve.service_app:build_app`)
from a config file's `args`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BACKENDS, backend_entry
from haris.runtime.bundle import Bundle
from haris.runtime.engine_choice import choose_engine
from haris.runtime.predictor_factory import ray_worker_device, ray_worker_threads
from haris.serve.request_limits import RequestLimits

APP_NAME = "haris"
# HTTP and the cluster are Serve's own settings (a config file's http_options), not the application's.
NOT_APPLICATION_ARGS = {"host", "port", "address", "proxy_on_every_node"}


@dataclass(frozen=True)
class ServiceSettings:
    bundle: str
    backend: str = "onnxruntime"  # or "auto": each replica chooses for its node (runtime/engine_choice.py)
    precision: str | None = None  # None: the backend's default on the device (fp16 on a GPU, fp32 on a CPU); "auto": chosen
    device: str | None = None  # None: cuda when replicas get GPUs, else cpu
    replicas: int = 1
    num_cpus: float = 1.0  # Ray resources per Segmenter replica
    num_gpus: float = 0.0
    threads: int | None = None  # onnxruntime / pre- and post-processing threads per replica (None: num_cpus, at least 1)
    host: str = "127.0.0.1"
    port: int = 8000
    address: str | None = None  # an existing Ray cluster ("auto", "10.0.0.1:6379"); None starts one on this machine
    proxy_on_every_node: bool = False  # Serve's HTTP proxy on every node (behind a load balancer) or the head only
    max_batch_requests: int = 16  # concurrent requests one replica gathers into a Predictor batch
    batch_wait_s: float = 0.005  # how long a replica waits for more requests before running a batch
    limits: RequestLimits = field(default_factory=RequestLimits)
    api_key_file: str | None = None  # with HARIS_API_KEYS, the keys requests need (none: open)
    max_queued_requests: int = 32  # per replica: requests it holds (waiting or running); past it, 503
    request_timeout_s: float = 30.0  # per request, from its arrival at a replica; past it, 504

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise HarisError(f"--replicas must be at least 1, got {self.replicas}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise HarisError("--num-cpus and --num-gpus must not be negative")
        if self.max_batch_requests < 1 or self.batch_wait_s < 0:
            raise HarisError("the batch size must be at least 1 and the batch wait not negative")
        if self.max_queued_requests < 1 or self.request_timeout_s <= 0:
            raise HarisError("--max-queued-requests must be at least 1 and --request-timeout-s positive")

    def check_bundle(self) -> None:
        """Refuse here what replicas on this machine would fail on inside Ray (on a cluster the
        bundle is where the replicas run, maybe not here)."""
        _check_bundle(self.bundle, self.backend, self.precision, self.replica_device)

    def to_args(self) -> dict[str, Any]:
        """The application's settings as an application builder's args (JSON and YAML types)."""
        return {name: value for name, value in asdict(self).items() if name not in NOT_APPLICATION_ARGS}

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> ServiceSettings:
        """Settings from a builder's args (a config file's `args`): unknown names are refused with the known ones."""
        known = {item.name for item in fields(cls)} - NOT_APPLICATION_ARGS
        unknown = sorted(set(args) - known)
        if unknown or "bundle" not in args:
            raise HarisError(f"application args: unknown {unknown} or no bundle; known: {', '.join(sorted(known))}")
        types = {item.name: str(item.type).split("|")[0].strip() for item in fields(cls)}
        values = {name: _typed(value, types[name]) for name, value in args.items()}
        if isinstance(values.get("limits"), dict):
            values["limits"] = RequestLimits(**values["limits"])
        return cls(**values)

    @property
    def replica_device(self) -> str | None:
        return ray_worker_device(self.device, self.num_gpus)

    @property
    def replica_threads(self) -> int:
        return ray_worker_threads(self.threads, self.num_cpus)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def _typed(value: Any, kind: str) -> Any:
    """A builder arg as its field's type: `serve run MODULE:build_app replicas=2` passes strings."""
    if not isinstance(value, str) or kind not in ("int", "float", "bool"):
        return value
    if kind == "bool":
        return value.strip().lower() in ("1", "true", "yes")
    try:
        return int(value) if kind == "int" else float(value)
    except ValueError:
        raise HarisError(f"application arg {value!r}: expected {kind}") from None


def _check_bundle(bundle: str, backend: str, precision: str | None, device: str | None) -> None:
    """Refuse here, with the fix, what each replica would otherwise fail on inside Ray (Bundle.open
    refuses a folder without a manifest). `auto` is resolved by each replica on its own node."""
    opened = Bundle.open(bundle, verify_all=False)
    graphs = opened.manifest.graphs
    if precision in (None, AUTO):
        return
    runs = [backend_entry(backend)] if backend != AUTO else [entry for entry in BACKENDS.values() if precision in entry.precisions]
    needed = next((entry.graph_precision(precision) for entry in runs if entry.runs == "bundle"), precision)
    if needed not in graphs:
        raise HarisError(
            f"{bundle} has no {needed} graphs (it has {', '.join(graphs)}); "
            f"`haris export CHECKPOINT --out {bundle} --precision {needed} --add` adds them"
        )
    if device in (None, "cpu"):  # replicas on this machine's CPU: what they would refuse, refused here
        choose_engine(opened, backend, precision, device)
