"""Training checkpoints: atomic writes, exact resume.

A checkpoint ``<out_dir>/checkpoints/step_<N>.pt`` holds everything a resumed run needs to continue as if never
stopped: student + heads weights, optimiser and scheduler state, the step, every rank's data position
(epoch, batches consumed) and RNG states (python, numpy, torch CPU/CUDA). It is written to a temporary file, then
renamed, so a kill at any moment leaves either the old or the new file, never half of one. Files hold only
tensors and plain containers and are read with ``torch.load(weights_only=True)`` (no arbitrary unpickling).
FSDP runs write a folder ``step_<N>/`` instead, sharded over the ranks (:mod:`usad.distill.sharded_checkpoint`);
listing, pruning and loading here handle both.
"""
from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions

from usad.errors import UsadError
from usad.io import atomic_open

_NAME = re.compile(r"^step_(\d+)(\.pt)?$")
STATE_FILE = "train_state.pt"   # inside a sharded checkpoint folder, beside DCP's .metadata and shards
FULL_ON_CPU = StateDictOptions(full_state_dict=True, cpu_offload=True)   # whole tensors, gathered to the CPU


def is_complete(folder: Path) -> bool:
    """A sharded checkpoint folder that every rank finished writing."""
    return (folder / ".metadata").is_file() and (folder / STATE_FILE).is_file()


class TrainingCheckpointError(UsadError, RuntimeError):
    """A training checkpoint that cannot be read; the message names the file and what to do."""


def rng_state() -> dict:
    """Python, numpy (legacy global) and torch RNG states as plain containers and tensors."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def checkpoint_dir(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / "checkpoints"


def save_training_checkpoint(out_dir: str | os.PathLike, step: int, state: dict, keep: int = 2) -> Path:
    """Atomically write ``state`` as ``step_<step>.pt``; keep the newest ``keep`` checkpoints."""
    folder = checkpoint_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"step_{step:09d}.pt"
    with atomic_open(target, "wb", fsync=True) as fh:
        torch.save(state, fh)
    prune_checkpoints(out_dir, keep)
    return target


def save_full_checkpoint(out_dir: str | os.PathLike, step: int, wrapped, optimizer, state: dict, env,
                         keep: int = 2) -> Path | None:
    """The whole model and optimiser gathered on rank 0 and written with ``state`` as ``step_<step>.pt``."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    model_sd = get_model_state_dict(wrapped, options=FULL_ON_CPU)
    optim_sd = get_optimizer_state_dict(wrapped, optimizer, options=FULL_ON_CPU)
    target = None
    if env.is_main:
        target = save_training_checkpoint(out_dir, step, {**state, "model": model_sd, "optimizer": optim_sd}, keep)
    if env.distributed:
        torch.distributed.barrier()
    return target


def save_sharded_checkpoint(out_dir: str | os.PathLike, step: int, wrapped, optimizer, state: dict | None, env,
                            keep: int = 2) -> Path:
    """Every rank writes its shards of ``step_<step>/`` (``state``: rank 0's step, positions, RNG states ...)."""
    from usad.distill.sharded_checkpoint import save_sharded

    folder = checkpoint_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = save_sharded(folder, f"step_{step:09d}", wrapped, optimizer, state, env)
    if env.is_main:
        prune_checkpoints(out_dir, keep)
    return target


def prune_checkpoints(out_dir: str | os.PathLike, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints (files or sharded folders); keep=0 keeps all."""
    for old in list_checkpoints(out_dir)[:-keep] if keep > 0 else []:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def list_checkpoints(out_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints, oldest first."""
    folder = checkpoint_dir(out_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))
             and (p.is_file() if m.group(2) else p.is_dir() and is_complete(p))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def resume_checkpoint(resume: str, out_dir: str | os.PathLike) -> Path | None:
    """The checkpoint ``train.resume`` names: "never" none, "auto" the newest in ``out_dir``, else that file."""
    if resume == "never":
        return None
    if resume == "auto":
        return latest_checkpoint(out_dir)
    if not Path(resume).is_file():
        raise FileNotFoundError(f"train.resume={resume!r}: no such checkpoint file")
    return Path(resume)


def load_training_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_training_checkpoint` (tensors and plain containers only); of a
    sharded folder, its train state and the model's shapes (the weights load with ``restore_weights``)."""
    try:
        if Path(path).is_dir():
            from usad.distill.sharded_checkpoint import read_state

            return read_state(Path(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated / corrupt zip, or not a torch file at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrainingCheckpointError(f"training checkpoint {path} is unreadable ({first}); delete it to resume "
                                      f"from the previous one, or start a fresh run with another "
                                      f"train.out_dir") from exc
