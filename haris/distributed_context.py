"""One process of a (possibly) distributed run: rank, device, and the few collectives we need."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @classmethod
    def from_environment(cls, device: str | None = None) -> DistributedContext:
        """Read torchrun's variables (one plain process without them); gloo on CPU, nccl on GPU."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(chosen)
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        return cls(rank, world_size, local_rank, chosen)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def gather_objects(self, value: Any) -> list[Any]:
        """Every process's `value`, in rank order, on every process."""
        if not self.distributed:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def any_process(self, *flags: bool) -> tuple[bool, ...]:
        """Per flag, whether it is set on any process: one small all-reduce, cheap enough for every
        step (pickling objects through all_gather_object is not)."""
        if not self.distributed:
            return tuple(flags)
        values = torch.tensor([int(flag) for flag in flags], device=self.device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return tuple(bool(value) for value in values.tolist())

    def average_buffers(self, module: torch.nn.Module) -> None:
        """Average floating-point buffers (batch-norm running statistics) over the processes.

        Each process updates its own statistics from its own batches; evaluation and the saved
        checkpoint need one set. (SyncBatchNorm would do this during training, but only on GPUs.)
        """
        if not self.distributed:
            return
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
                buffer.div_(self.world_size)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()
