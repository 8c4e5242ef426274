"""Training on several GPUs of one computer at once, its processes started by torchrun: each GPU keeps a whole copy
of the model (data parallel), or a share of it (FSDP2, engine/sharding.py) when the model does not fit one.

The job process (`python -m engine job RUN_ID`) decides how many processes the run gets (`plan`). When more
than one, it starts torchrun, which starts that many copies of the same job (ranks), one per GPU; on a
computer without a GPU, one per share of the CPU with the gloo backend, which is how the tests run it. The job
process waits, and marks the run interrupted if the ranks ended without saying how the run ended. Which way the
ranks share the model is the `sharding` setting, decided by the planner (engine/planner.py) from the memory
forecast: whole copies when the model, its gradients and optimizer state leave room to compute on one GPU
(faster: only gradients are exchanged), divided otherwise.

Each step's examples are split between the ranks (`World.shard`). Every rank computes the gradients of its
share, normalised by the whole step's count of examples (or tokens: `World.total`), and the gradients are
summed over the ranks, so every rank applies the update one process would have made with the whole batch.
Whole copies: `World.reduce_gradients` sums them, here, once per step, instead of DistributedDataParallel's
wrapper: the chat recipe's loss calls the decoder and the output head separately (to skip the logits it does
not need), which the wrapper cannot see, and a step's micro-batches are accumulated before any exchange anyway.
A divided model: FSDP sums each block's gradients as its backward pass ends, and every rank holds only its
share of them; its forward and backward passes are exchanges all ranks take part in (engine/sharding.py says
what that asks of the training loop).

Rank 0 alone writes rows and files (the ranks of a divided model all take part in gathering what it writes).
The other ranks write into a throwaway copy of the run's row (`scratch`), so recipes need not know which rank
they are. What must be decided the same everywhere (pause, cancel, when to save, evaluation results, a
roll-back) is rank 0's decision, sent to the others (`World.agree`). If a rank dies, the others find its
connection gone at the next exchange (`PeerLost`, also from inside torch's own exchanges: `watching_peers`)
and torchrun ends the rest; the run shows as interrupted and resumes from its last checkpoint, on any number
of processes, divided or not (a checkpoint holds the whole model and optimizer, gathered from the ranks when
divided, and the data order does not depend on the ranks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from sqlite_utils import Database

from engine import jobs, store
from engine.config import JobConfig
from engine.protocol import LIVE, Status
from engine.sharding import is_sharded

# How long a rank waits at an exchange for the others. A dead rank is noticed at once (its connection
# closes, and torchrun ends the rest); this bounds a rank that hangs without dying, and leaves room for
# rank 0 writing a large checkpoint while the others wait.
EXCHANGE_TIMEOUT = timedelta(minutes=15)
BUCKET_ELEMENTS = 25_000_000  # gradients summed in pieces of at most this many numbers (100 MB in fp32)


class PeerLost(RuntimeError):
    """Another rank of this run is gone (killed, crashed, or ended by torchrun)."""


# How gloo and NCCL word a rank that is gone, in the errors of the exchanges torch makes by itself (those of a
# divided model, engine/sharding.py), which `_exchange` does not see.
PEER_GONE = (
    "Connection closed by peer", "Connection reset by peer", "Broken pipe", "remote process exited", "communicator was aborted",
)


@contextmanager
def watching_peers() -> Iterator[None]:
    """Raise PeerLost for an error that says another rank is gone, wherever in torch it came from."""
    try:
        yield
    except (RuntimeError, ConnectionError) as error:
        if _world.size > 1 and not isinstance(error, PeerLost) and any(words in str(error) for words in PEER_GONE):
            raise PeerLost(str(error)) from error
        raise


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of its run. One process alone is a world of one, in which every
    exchange returns at once."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, indices: list[int]) -> list[int]:
        """This rank's examples of a step: every size-th, so a step grouped by length stays balanced."""
        return indices[self.rank :: self.size]

    def total(self, count: int, device: torch.device) -> int:
        """The step's count (examples or trained tokens) over all ranks."""
        if self.size == 1:
            return count
        value = torch.tensor([count], dtype=torch.int64, device=device)
        _exchange(dist.all_reduce, value)
        return int(value.item())

    def reduce_gradients(self, model: torch.nn.Module, loss_total: torch.Tensor) -> torch.Tensor:
        """Sum the trained parameters' gradients (each rank's already divided by the step's whole count) and
        the loss over the ranks; returns the step's loss. A divided model's gradients were summed already, in
        its backward passes."""
        if self.size == 1:
            return loss_total
        if not is_sharded(model):
            self._sum_gradients(model)
        loss = loss_total.detach().clone()
        _exchange(dist.all_reduce, loss)
        return loss

    def _sum_gradients(self, model: torch.nn.Module) -> None:
        trained = [p for p in model.parameters() if p.requires_grad]
        for p in trained:
            if p.grad is None:  # a rank with no examples this step (a last, short step)
                p.grad = torch.zeros_like(p)
        for bucket in _buckets(trained):
            flat = torch.cat([p.grad.reshape(-1) for p in bucket])
            _exchange(dist.all_reduce, flat)
            offset = 0
            for p in bucket:
                p.grad.copy_(flat[offset : offset + p.numel()].view_as(p.grad))
                offset += p.numel()

    def anyone(self, flag: bool, device: torch.device) -> bool:
        """Whether `flag` holds on any rank, on every rank (a rank out of memory stops them all)."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)], dtype=torch.int64, device=device)
        _exchange(dist.all_reduce, value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def agree(self, value: Any) -> Any:
        """Rank 0's value, on every rank."""
        if self.size == 1:
            return value
        box = [value]
        _exchange(dist.broadcast_object_list, box, src=0)
        return box[0]

    def same_start(self, model: torch.nn.Module) -> None:
        """Wait until every rank has read the checkpoint (rank 0 may overwrite it next), then give every rank
        rank 0's weights, as DistributedDataParallel does."""
        if self.size == 1:
            return
        _exchange(dist.barrier)
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                _exchange(dist.broadcast, tensor.data, src=0)

    def peak_memory(self, device: torch.device) -> dict[str, float]:
        """Each GPU's peak memory, for rank 0's metric rows: `gpu_peak_rank1`... (rank 0's own is `gpu_peak`)."""
        if self.size == 1 or device.type != "cuda":
            return {}
        peak = torch.tensor([float(torch.cuda.max_memory_allocated(device))], device=device)
        peaks = [torch.zeros_like(peak) for _ in range(self.size)]
        _exchange(dist.all_gather, peaks, peak)
        return {f"gpu_peak_rank{rank}": float(value.item()) for rank, value in enumerate(peaks) if rank}


def _exchange(operation, *args: Any, **kwargs: Any) -> None:
    try:
        operation(*args, **kwargs)
    except (RuntimeError, ConnectionError) as error:  # gloo and NCCL report a vanished peer as these
        raise PeerLost(str(error)) from error


def _buckets(parameters: list[torch.nn.Parameter]) -> list[list[torch.nn.Parameter]]:
    """Groups of one dtype, each at most BUCKET_ELEMENTS (a larger single tensor is a group of its own)."""
    groups: list[list[torch.nn.Parameter]] = []
    size = 0
    for p in parameters:
        if not groups or groups[-1][0].dtype != p.dtype or size + p.numel() > BUCKET_ELEMENTS:
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += p.numel()
    return groups


_world = World()


def current() -> World:
    return _world


def from_environment() -> World:
    """The world torchrun described in this process's environment (a world of one outside torchrun)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    return World(rank=int(os.environ["RANK"]), size=size, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def join(world: World, device: torch.device) -> torch.device:
    """Join the run's other ranks; returns this rank's device (its own GPU)."""
    global _world
    _world = world
    if world.size == 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, rank=world.rank, world_size=world.size, timeout=EXCHANGE_TIMEOUT)
    return device


def leave() -> None:
    global _world
    if dist.is_initialized():
        dist.destroy_process_group()
    _world = World()


def scratch(db: Database, run_id: int) -> Database:
    """An in-memory database holding a copy of the run's row: what a rank other than 0 writes, and forgets."""
    copy = store.open_db(":memory:")
    # No parent row, no holder; the run's folder as a full path (the real row's is relative to the data folder).
    row = db["runs"].get(run_id) | {"parent_id": None, "pid": None, "run_dir": store.get_run(db, run_id)["run_dir"]}
    copy["runs"].insert(row)
    return copy


# ---------------------------------------------------------------- how many processes, and starting them


def plan(config: JobConfig, gpu_count: int, proven: bool = False) -> tuple[int, str, dict[str, Any]]:
    """How many processes train the run, with the event code and values that say why (code "" when one
    process is the only possibility and there is nothing to explain). Several GPUs only when the self-test
    proved the multi-GPU path on this computer (`proven`)."""
    asked = config.gpus
    if gpu_count == 0:
        if asked > 1:  # no GPU: several CPU processes, for checking the multi-GPU path; not faster
            return asked, "plan.processes_cpu", {"count": asked}
        return 1, "", {}
    if gpu_count == 1:
        return 1, "", {}
    if asked == 1:
        return 1, "plan.gpus_one", {"available": gpu_count}
    if not proven:
        return 1, "plan.gpus_unproven", {"available": gpu_count}
    wanted = min(asked or gpu_count, gpu_count)
    count = min(wanted, config.batch_size)
    if count < wanted:
        return count, "plan.gpus_batch", {"count": count, "available": gpu_count, "batch_size": config.batch_size}
    if count < gpu_count:
        return count, "plan.gpus_some", {"count": count, "available": gpu_count}
    return count, "plan.gpus_all", {"count": count, "batch_size": config.batch_size}


def torchrun_command(run_id: int, processes: int) -> list[str]:
    """torchrun, starting `processes` copies of the job process on this computer. It ends them all when one
    fails, and gives up at once instead of restarting (a resume is the user's choice)."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
        "--max-restarts=0", "--monitor-interval=0.5", "--no-python", *jobs.engine_command(run_id),
    ]


def run_ranks(db: Database, run_id: int, home: Path, processes: int) -> Status:
    """Run the job as `processes` ranks under torchrun and wait for them. Rank 0 records how the run ended;
    when the ranks are gone without that (one was killed), the run is interrupted. By then the run may have
    been resumed by a new process, whose row this leaves alone."""
    subprocess.run(torchrun_command(run_id, processes), env=jobs.engine_env(home), stdin=subprocess.DEVNULL, check=False)
    run = store.get_run(db, run_id)
    if run["status"] in LIVE and run["pid"] == os.getpid():  # no rank got as far as taking the run over
        interrupted(db, run_id)
    else:
        jobs.reconcile(db)
    return Status(store.get_run(db, run_id)["status"])


def interrupted(db: Database, run_id: int) -> None:
    run = store.get_run(db, run_id)
    store.update_run(db, run_id, status=Status.INTERRUPTED, pid=None, request=None)
    store.add_event(db, run_id, "run.interrupted", step=run["checkpoint_step"] or 0)
