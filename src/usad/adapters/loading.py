"""How every adapter finds its encoder: a student spec (:mod:`usad.encoders`): a saved student folder, a hub id
``org/name``, ``student:DIR``, ``preset:NAME[,k=v]`` or ``random:DIR`` (random weights). With no model given, ``USAD_MODEL`` (and ``USAD_LAYER``, ``USAD_DEVICE``) in the environment
name it: the route for runners that build the encoder class with no arguments (``python -m xares.run``).

Precision: every adapter takes ``dtype`` ("auto" | "float32" | "bfloat16" | "float16"); None reads
``USAD_DTYPE``, then "auto" (bfloat16 autocast on a CPU with native bf16, else float32; see usad.precision).
``dtype="float32"`` or ``USAD_DTYPE=float32`` forces full precision. Outputs are float32 either way."""
from __future__ import annotations

import os

import torch

from usad.errors import ConfigError
from usad.precision import autocast, resolve_dtype

ENV_MODEL, ENV_LAYER, ENV_DEVICE = "USAD_MODEL", "USAD_LAYER", "USAD_DEVICE"


def model_from_env(model: str | os.PathLike | torch.nn.Module | None) -> str | os.PathLike | torch.nn.Module:
    """``model`` if given, else ``$USAD_MODEL``; ConfigError saying both routes when neither is set."""
    if isinstance(model, torch.nn.Module) or (model is not None and str(model)):
        return model
    spec = os.environ.get(ENV_MODEL, "").strip()
    if not spec:
        raise ConfigError("no model given: pass the folder of a trained student (Encoder.save_pretrained) or a hub "
                          "id org/name, or 'preset:small' for randomly initialised weights. Runners that build "
                          f"the encoder with no arguments read ${ENV_MODEL} (e.g. {ENV_MODEL}=runs/demo/stage2/"
                          "student), or use a file written by `usad adapter --model ... --out encoder.py`.")
    return spec


def layer_from_env(layer: int | str | None) -> int | str:
    """``layer`` if given, else ``$USAD_LAYER`` (a block index, "last" or "mean"), else "last"."""
    if layer is not None:
        return layer
    value = os.environ.get(ENV_LAYER, "").strip() or "last"
    return int(value) if value.lstrip("-").isdigit() else value


def device_from_env(device: str | torch.device | None) -> str | torch.device:
    return device if device is not None else (os.environ.get(ENV_DEVICE, "").strip() or "cpu")


def load_encoder(model: str | os.PathLike | torch.nn.Module | None = None, device: str | torch.device = "cpu",
                 seed: int = 0) -> torch.nn.Module:
    """``model``: an ``Encoder``, or a student spec (a folder written by ``Encoder.save_pretrained``, a hub id
    ``org/name``, ``preset:NAME[,k=v,...]`` or ``random:DIR``, randomly initialised with ``seed``: for checks and
    baselines only); None or "" reads ``$USAD_MODEL``. Returns the encoder frozen, in eval mode."""
    from usad.encoders import parse_spec, student_encoder

    model = model_from_env(model)
    enc = model if isinstance(model, torch.nn.Module) else student_encoder(parse_spec(str(model)), seed)
    enc = enc.to(device).eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc


def pick_layer(out, layer: int | str | None) -> torch.Tensor:
    """One (B, T, D) view of an EncoderOutput: a block index (0..L), None/"last", or "mean" over all layers."""
    hs = out.hidden_states
    if layer is None or layer == "last":
        return hs[-1]
    if layer == "mean":
        return torch.stack(hs).mean(0)
    i = int(layer)
    if not 0 <= i < len(hs):
        raise ConfigError(f"layer {layer} out of range 0..{len(hs) - 1}")
    return hs[i]


def mask_from_attention(audio: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, S) audio + optional (B, S) sample mask (1/True = valid) -> (B,) valid lengths."""
    if attention_mask is None:
        return torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long, device=audio.device)
    if attention_mask.shape != audio.shape:
        raise ValueError(f"audio_attention_mask shape {tuple(attention_mask.shape)} must equal audio shape "
                         f"{tuple(audio.shape)}")
    return attention_mask.to(torch.long).sum(-1)


class Precision:
    """The adapters' precision: ``with precision:`` runs the encoder in the resolved dtype (autocast for bf16/fp16,
    float32 weights kept); ``precision.dtype`` says which."""

    def __init__(self, dtype: str | torch.dtype | None, device: str | torch.device) -> None:
        self.device = torch.device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self._ctx = None

    def __enter__(self):
        self._ctx = autocast(self.device, self.dtype)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
