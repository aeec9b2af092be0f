"""Everything `haris label` is configured with: what to label, with which model, on what resources, where to."""

from __future__ import annotations

from dataclasses import dataclass

from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO
from haris.runtime.predictor_factory import ray_worker_device, ray_worker_threads


@dataclass(frozen=True)
class LabelSettings:
    bundle: str  # on every node of a cluster, at this path
    images: str  # a folder (recursive), a glob, or a .txt / .parquet list of paths
    expressions: str  # .txt / .json list for every image, or .jsonl / .parquet / .json object per image
    out: str
    address: str | None = None  # an existing Ray cluster ("auto", "10.0.0.1:6379"); None starts Ray here
    backend: str = AUTO  # chosen by each actor for its node when "auto"
    precision: str = AUTO
    device: str | None = None  # None: cuda:0 when actors get GPUs, else the backend's default
    actors: tuple[int, int] | None = None  # (min, max) actors; None: as many as the cluster's CPUs (or GPUs) hold
    num_cpus: float = 1.0  # Ray resources per actor
    num_gpus: float = 0.0
    threads: int | None = None  # onnxruntime and host threads per actor (None: num_cpus, at least 1)
    shard_size: int = 256  # images per output shard, and per Ray Data block (one actor task)
    batch_size: int = 8  # images per Predictor.predict_batch call inside an actor
    merge: bool = True  # write annotations.json from the shards once all are done
    memory_gib: float = 0.0  # Ray memory reserved per actor; 0: none (Ray then packs actors by CPUs or GPUs alone)

    def __post_init__(self) -> None:
        if self.shard_size < 1 or self.batch_size < 1:
            raise HarisError(f"--shard-size and --batch-size must be at least 1, got {self.shard_size} and {self.batch_size}")
        for option, value in (("--num-cpus", self.num_cpus), ("--num-gpus", self.num_gpus), ("--memory", self.memory_gib)):
            if value < 0:
                raise HarisError(f"{option} must not be negative, got {value:g}")
        if self.actors is not None and not 1 <= self.actors[0] <= self.actors[1]:
            raise HarisError(f"--actors needs 1 <= MIN <= MAX, got {self.actors[0]},{self.actors[1]}")

    @property
    def actor_device(self) -> str | None:
        return ray_worker_device(self.device, self.num_gpus)

    @property
    def actor_threads(self) -> int:
        return ray_worker_threads(self.threads, self.num_cpus)

    @property
    def actor_memory_bytes(self) -> int | None:
        """Ray's `memory` resource per actor, or None when none is reserved."""
        return int(self.memory_gib * 2**30) if self.memory_gib > 0 else None

    def result_fields(self) -> dict[str, object]:
        """The settings that decide what the output holds (a resumed run must repeat them); resources,
        batching and the cluster do not."""
        return {"backend": self.backend, "precision": self.precision, "device": self.actor_device, "shard_size": self.shard_size}


def parse_actors(text: str) -> tuple[int, int]:
    """--actors N (a fixed pool) or MIN,MAX (Ray Data scales the pool between them)."""
    try:
        parts = [int(part) for part in text.split(",")]
    except ValueError:
        raise HarisError(f"--actors takes N or MIN,MAX (whole numbers), got {text!r}") from None
    if len(parts) not in (1, 2):
        raise HarisError(f"--actors takes N or MIN,MAX, got {text!r}")
    return (parts[0], parts[-1])
