"""Data-parallel training under ``torchrun`` with PyTorch's own DDP (gloo on the CPU, NCCL on GPUs).

``torchrun --nproc-per-node N -m acgpn.cli.main train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; each process trains on its shard of every epoch (a ``DistributedSampler``), DDP
averages the gradients, and only rank 0 writes checkpoints, logs and images. Without those
variables everything runs in one process and nothing here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from acgpn.errors import InputError


@dataclass(frozen=True)
class DistInfo:
    """Rank and world size of this process (``world_size == 1``: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: str | None) -> int:
    """Integer environment variable ``name`` (``default`` if unset); :class:`InputError` otherwise."""
    value = os.environ.get(name, default)
    if value is None:
        raise InputError(f"environment variable {name} must be set under torchrun (WORLD_SIZE > 1)")
    try:
        return int(value)
    except ValueError:
        raise InputError(f"environment variable {name} must be an integer, got {value!r}") from None


def launched_rank() -> int:
    """This process's rank as ``torchrun`` set it in the environment (0 outside torchrun)."""
    return _env_int("RANK", None) if _env_int("WORLD_SIZE", "1") > 1 else 0


def init(device_type: str) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment (if any)."""
    world = _env_int("WORLD_SIZE", "1")
    if world <= 1:
        return DistInfo()
    info = DistInfo(launched_rank(), world, _env_int("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return info


def device_for(info: DistInfo, device: torch.device) -> torch.device:
    """One GPU per process: ``cuda:LOCAL_RANK`` under torchrun; other devices unchanged."""
    if info.enabled and device.type == "cuda":
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return device


def wrap(module: nn.Module, info: DistInfo) -> nn.Module:
    """DDP around ``module`` when distributed (gradients averaged across processes)."""
    if not info.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    return nn.parallel.DistributedDataParallel(module, broadcast_buffers=False, find_unused_parameters=True)


def any_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every process if ``flag`` is true on any (used to stop all ranks together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
