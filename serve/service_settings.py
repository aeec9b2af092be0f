"""Everything `haris serve` is configured with: the model, the replicas and their resources, HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BACKENDS, backend_entry
from haris.runtime.bundle import Bundle
from haris.runtime.engine_choice import choose_engine
from haris.serve.request_limits import RequestLimits

APP_NAME = "haris"


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

    def __post_init__(self) -> None:
        if self.address is None:  # on a cluster, the bundle is where the replicas run, maybe not here
            _check_bundle(self.bundle, self.backend, self.precision, self.replica_device)
        if self.replicas < 1:
            raise HarisError(f"--replicas must be at least 1, got {self.replicas}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise HarisError("--num-cpus and --num-gpus must not be negative")
        if self.max_batch_requests < 1 or self.batch_wait_s < 0:
            raise HarisError("the batch size must be at least 1 and the batch wait not negative")

    @property
    def replica_device(self) -> str | None:
        return self.device or ("cuda:0" if self.num_gpus > 0 else None)  # Ray sets CUDA_VISIBLE_DEVICES per replica

    @property
    def replica_threads(self) -> int:
        return self.threads or max(1, round(self.num_cpus))

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


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
