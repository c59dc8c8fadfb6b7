"""Sharded batch inference under ``torchrun``: the pair list split across processes, devices and machines.

    torchrun --nproc_per_node 4 -m acgpn infer --data DATA --checkpoint CKPT --out OUT
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 -m acgpn infer ...

Without torchrun's environment (``WORLD_SIZE`` unset or 1) nothing here does anything and
:func:`join` returns ``None``. Under it, every process (rank) joins the process group (gloo on the
CPU, NCCL with CUDA; :mod:`acgpn.train.distributed`), runs on ``cuda:LOCAL_RANK`` when the device is
CUDA, and :func:`acgpn.inference.run_inference` then

1. plans on rank 0 (which outputs are missing) and gives rank ``r`` the pending pairs
   ``r, r + N, r + 2N, ...`` (:meth:`Shard.select`), so a resumed run re-balances what is left,
   whatever N it runs with;
2. checks each rank's inputs, then stops *every* rank with the same one-line error if any rank
   found bad input (:func:`together`), before anything is written;
3. lets rank 0 hold the output folder's lock and delete stale temporaries, then all ranks write
   their own pairs into the one folder, each file atomically (:func:`writer_section`);
4. merges the per-rank reports: rank 0 writes ``summary.json`` (:data:`SUMMARY_FILE`) and prints
   one line (:meth:`Shard.finish`).

Each pair's noise comes from its own generator (seed and names), so the union of the ranks'
outputs is the single-process run's output. The output folder must be one shared folder for all
ranks (on several machines: a shared filesystem).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import torch
import torch.distributed as dist

from acgpn.errors import InputError
from acgpn.fileio import folder_lock, remove_stale_temps, save_text
from acgpn.train.distributed import DistInfo, device_for, init, shutdown

if TYPE_CHECKING:
    from acgpn.inference import InferenceReport

#: The merged report of a sharded run, written by rank 0 into the output folder.
SUMMARY_FILE: Final = "summary.json"
T = TypeVar("T")


@dataclass
class Shard:
    """This process's place in a torchrun job (``info``) and the device it runs on."""

    info: DistInfo
    device: torch.device
    started: float = field(default_factory=time.perf_counter)

    @property
    def is_main(self) -> bool:
        return self.info.is_main

    def select(self, pending: Sequence[T]) -> list[T]:
        """Rank 0's list of pending jobs, every N-th item from this rank's index."""
        shared = [list(pending)]
        dist.broadcast_object_list(shared, src=0)
        return shared[0][self.info.rank :: self.info.world_size]

    def finish(self, report: InferenceReport, out_dir: str | Path) -> InferenceReport:
        """Gather every rank's report, rank 0 writes :data:`SUMMARY_FILE`, and leave the process
        group. Returns the merged report (on every rank)."""
        from acgpn.inference import InferenceReport

        mine = {"rank": self.info.rank, "device": str(self.device), "written": report.written,
                "seconds": round(time.perf_counter() - self.started, 3)}  # fmt: skip
        ranks: list[dict] = [{} for _ in range(self.info.world_size)]
        dist.all_gather_object(ranks, mine)
        written = sum(r["written"] for r in ranks)
        merged = InferenceReport(total=report.total, skipped=report.total - written, written=written)
        if self.is_main:
            summary = {**asdict(merged), "world_size": self.info.world_size, "ranks": ranks}
            save_text(Path(out_dir) / SUMMARY_FILE, json.dumps(summary, indent=1) + "\n")
        shutdown(self.info)
        return merged


def join(device: torch.device) -> Shard | None:
    """Join the torchrun job described by the environment, or ``None`` when there is none."""
    info = init(device.type)
    if not info.enabled:
        return None
    return Shard(info, device_for(info, device))


@contextmanager
def together(shard: Shard | None) -> Iterator[None]:
    """Run a block on every rank, then fail on every rank if it failed on any.

    The rank whose block raised re-raises its own exception; the others raise an
    :class:`InputError` naming that rank and its message (so no rank waits forever for a peer
    that stopped). Without a shard the block runs as it is.
    """
    if shard is None:
        yield
        return
    error: BaseException | None = None
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every failure has to reach the other ranks
        error = exc
    found: list[tuple[int, str] | None] = [None] * shard.info.world_size
    dist.all_gather_object(found, None if error is None else (shard.info.rank, str(error)))
    if error is not None:
        raise error
    failed = next((f for f in found if f is not None), None)
    if failed is not None:
        raise InputError(f"stopped because rank {failed[0]} failed: {failed[1]}")


@contextmanager
def writer_section(out_dir: Path, shard: Shard | None, command: str = "acgpn infer") -> Iterator[None]:
    """Make this run the only writer of ``out_dir`` and remove stale temporaries, then write.

    One process: :func:`acgpn.fileio.folder_lock` and :func:`acgpn.fileio.remove_stale_temps`.
    Under torchrun, rank 0 holds the lock for the whole job and removes the temporaries before any
    rank writes; every rank then writes, and a failure on any rank stops all of them.
    """
    if shard is None:
        with folder_lock(out_dir, command):
            remove_stale_temps(out_dir)
            yield
        return
    with ExitStack() as held:
        with together(shard):  # a rank-0 failure to lock stops every rank
            if shard.is_main:
                held.enter_context(folder_lock(out_dir, command))
                remove_stale_temps(out_dir)
        with together(shard):
            yield
