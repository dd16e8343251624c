"""torchrun-native process setup: RANK / WORLD_SIZE / LOCAL_RANK env vars, gloo on CPU, nccl on GPU."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistEnv:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistEnv:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1); pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("train.device=cuda but no CUDA device is visible; use train.device=cpu")
    dev = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistEnv(rank, world, local, dev)


def ensure_group(env: DistEnv) -> None:
    """FSDP2 needs a process group even in one process: there, a one-rank group over an in-memory store."""
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if env.device.type == "cuda" else "gloo", store=dist.HashStore(),
                                rank=0, world_size=1)


def wrap_model(model: torch.nn.Module, fsdp: bool, env: DistEnv, bf16: bool) -> torch.nn.Module:
    """The student + heads as the ranks train it: FSDP2-sharded per student block (``fsdp``; bf16 parameters
    with float32 gradient reduction when ``bf16``), DDP across ranks, or as it is in one process."""
    if fsdp:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else None
        kw = {"mp_policy": mp} if mp is not None else {}
        ensure_group(env)
        for block in model.student.blocks:
            fully_shard(block, **kw)
        fully_shard(model, **kw)
        return model
    if env.distributed:
        ids = [env.device.index] if env.device.type == "cuda" else None
        unused = model.depth < model.student.config.num_layers   # blocks above the deepest head get no grad
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)
    return model


def teardown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_gather_objects(obj, env: DistEnv) -> list:
    if not env.distributed:
        return [obj]
    out = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def max_over_ranks(value: float, env: DistEnv) -> float:
    """The largest ``value`` over all ranks (e.g. elapsed time, so every rank stops and decays the LR together)."""
    if not env.distributed:
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=env.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())
