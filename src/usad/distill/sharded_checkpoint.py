"""Sharded training checkpoints for FSDP2 runs, with ``torch.distributed.checkpoint`` (DCP).

``<out_dir>/checkpoints/step_<N>/`` holds DCP's files (every rank writes its own shards of the student, heads
and AdamW moments, plus ``.metadata``) and ``train_state.pt`` (step, scheduler, optimiser hyper-parameters,
every rank's data position and RNG states; tensors and plain containers, read with ``weights_only=True``). Only
tensors go through DCP, so loading never unpickles anything. The folder is filled under a temporary name and
renamed into place once every rank has written, so a kill leaves the previous checkpoint as the newest.

DCP stores each tensor with its global shape and reads whatever slices the loading run needs, so a checkpoint
written by N ranks loads into any number of FSDP ranks, into DDP or into a single process; a single-file
checkpoint (``step_<N>.pt``, what non-FSDP runs write) loads into FSDP runs too (:func:`restore_weights`).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)

from usad.distill.checkpointing import STATE_FILE
from usad.io import atomic_open, make_temp_dir, publish_dir

FULL = StateDictOptions(full_state_dict=True)


def _tensors(wrapped, optimizer) -> tuple[dict, dict]:
    """(DCP state dict: model and optimiser tensors of this rank, the optimiser's param_groups)."""
    optim = get_optimizer_state_dict(wrapped, optimizer)   # also creates AdamW's state on a fresh optimiser
    return {"model": get_model_state_dict(wrapped), "optim": optim["state"]}, optim["param_groups"]


def save_sharded(folder: Path, name: str, wrapped, optimizer, train_state: dict | None, env) -> Path:
    """Every rank writes its shards of ``checkpoints/<name>``; rank 0 adds ``train_state`` and publishes it."""
    tmp = [str(make_temp_dir(folder, prefix=f".{name}.")) if env.is_main else None]
    if env.distributed:
        dist.broadcast_object_list(tmp, src=0)
    tensors, groups = _tensors(wrapped, optimizer)
    dcp.save(tensors, checkpoint_id=tmp[0])
    target = folder / name
    if env.is_main:
        with atomic_open(Path(tmp[0]) / STATE_FILE, "wb", fsync=True) as fh:
            torch.save({**train_state, "param_groups": groups}, fh)
        publish_dir(tmp[0], target)   # the same step saved again (a resumed run ending there) is replaced
    if env.distributed:
        dist.barrier()
    return target


def read_state(folder: Path) -> dict:
    """``train_state.pt`` plus ``"model"``: the saved model tensors as shape-only (meta) tensors, so a resume can
    compare them with the new model before loading anything."""
    state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    meta = dcp.FileSystemReader(str(folder)).read_metadata().state_dict_metadata
    state["model"] = {k[len("model."):]: torch.empty(tuple(v.size), device="meta")
                      for k, v in meta.items() if k.startswith("model.") and hasattr(v, "size")}
    return state


def restore_weights(path: Path, state: dict, wrapped, optimizer) -> None:
    """Load student, heads and optimiser state from either checkpoint format into this run's layout."""
    if Path(path).is_dir():
        tensors, _ = _tensors(wrapped, optimizer)
        dcp.load(tensors, checkpoint_id=str(path))
        set_model_state_dict(wrapped, tensors["model"])
        set_optimizer_state_dict(wrapped, optimizer, {"state": tensors["optim"],
                                                      "param_groups": state["param_groups"]})
    else:
        set_model_state_dict(wrapped, state["model"], options=FULL)
        set_optimizer_state_dict(wrapped, optimizer, state["optimizer"], options=FULL)
