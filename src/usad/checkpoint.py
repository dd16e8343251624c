"""Checkpoint files: ``model.safetensors`` + ``config.json``, written atomically, validated on load.

``config.json`` holds ``model_type`` ("usad-student"), ``format_version`` and the encoder config fields.
Weights are read with safetensors only (no unpickling); their names and shapes can be read from the file header
alone (:func:`read_weight_shapes`), so a checkpoint is checked against its config before anything is built.
Any problem raises :class:`CheckpointError` naming the directory, what was wrong and what to do.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from usad.errors import UsadError
from usad.io import atomic_dir, atomic_write_text, save_safetensors

MODEL_TYPE = "usad-student"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class CheckpointError(UsadError, RuntimeError):
    """A checkpoint directory that cannot be written or loaded as a usad student (also a RuntimeError, as it
    was before the common base class)."""


def save_checkpoint(directory: str | os.PathLike, state_dict: dict[str, torch.Tensor], config: dict) -> Path:
    """Write ``state_dict`` (safetensors) and ``config`` (json, with model_type/format_version) to ``directory``.

    Files are written into a temporary folder next to ``directory``; a new ``directory`` is then created by one
    rename, an existing one gets each file by ``os.replace`` (weights first, config last), so a reader never sees
    a half-written file.
    """
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise CheckpointError(f"{target}: exists and is not a directory; choose another output path")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    meta = {"model_type": MODEL_TYPE, "format_version": FORMAT_VERSION, **config}
    with atomic_dir(target, files=(WEIGHTS_NAME, CONFIG_NAME)) as tmp:
        save_safetensors(tmp / WEIGHTS_NAME, tensors, metadata={"format": "pt", "model_type": MODEL_TYPE})
        atomic_write_text(tmp / CONFIG_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return target


def read_config(directory: str | os.PathLike) -> dict:
    """Return the config fields of a checkpoint (without model_type / format_version), validated."""
    path = Path(directory) / CONFIG_NAME
    if not Path(directory).is_dir():
        raise CheckpointError(f"{directory}: not a directory; pass the folder written by save_pretrained()")
    if not path.is_file():
        raise CheckpointError(f"{directory}: missing {CONFIG_NAME}; is this a usad checkpoint folder?")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable or invalid JSON ({exc}); re-save the checkpoint") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    model_type = data.pop("model_type", None)
    if model_type != MODEL_TYPE:
        raise CheckpointError(f"{path}: model_type is {model_type!r}, expected {MODEL_TYPE!r}; this loader reads "
                              f"checkpoints written by usad's save_pretrained()")
    version = data.pop("format_version", None)
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version!r} is not supported (this usad reads "
                              f"{FORMAT_VERSION}); upgrade usad or re-save the checkpoint")
    return data


def load_weights(directory: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` from ``directory`` onto ``device``."""
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory}: missing {WEIGHTS_NAME}; the checkpoint is incomplete, re-save it")
    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors raises SafetensorError / OSError for truncated or corrupt files
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({exc}); re-save or re-download "
                              f"the checkpoint") from exc


def read_weight_shapes(directory: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of ``model.safetensors`` from its header only (no tensor data is read)."""
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory}: missing {WEIGHTS_NAME}; the checkpoint is incomplete, re-save it")
    try:
        with safe_open(str(path), framework="pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except Exception as exc:  # SafetensorError for a bad header, OSError for unreadable files
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({exc}); re-save or re-download "
                              f"the checkpoint") from exc


def check_weights(directory: str | os.PathLike, weights: dict, expected: dict) -> None:
    """Raise CheckpointError when ``weights`` lack keys, have extra keys or wrong shapes versus ``expected``.

    Both map names to tensors or to shapes (tuples), e.g. :func:`read_weight_shapes` of the file."""
    def shape(v) -> tuple[int, ...]:
        return tuple(v.shape) if hasattr(v, "shape") else tuple(v)

    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = [f"{k}: file {shape(weights[k])} vs model {shape(expected[k])}"
             for k in sorted(set(expected) & set(weights)) if shape(weights[k]) != shape(expected[k])]
    if missing or unexpected or wrong:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
            if items:
                parts.append(f"{label} ({len(items)}): {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}")
        raise CheckpointError(f"{directory}: weights do not match config.json: " + "; ".join(parts)
                              + ". The config and weights come from different models; re-save the checkpoint.")
