"""How every adapter finds its encoder: a saved student folder, or ``preset:NAME[,k=v]`` (random weights)."""
from __future__ import annotations

import os

import torch


def load_encoder(model: str | os.PathLike | torch.nn.Module, device: str | torch.device = "cpu",
                 seed: int = 0) -> torch.nn.Module:
    """``model``: an ``Encoder``, a folder written by ``Encoder.save_pretrained``, or ``preset:NAME[,k=v,...]``
    (randomly initialised with ``seed``; for checks and baselines only). Returns the encoder frozen, in eval mode."""
    from usad import Encoder
    from usad.eval.sources import parse_overrides

    if isinstance(model, torch.nn.Module):
        enc = model
    else:
        spec = str(model)
        if not spec:
            raise ValueError("no model given: pass the folder of a trained student (Encoder.save_pretrained), "
                             "or 'preset:small' for randomly initialised weights")
        if spec.startswith("preset:"):
            name, _, rest = spec[len("preset:"):].partition(",")
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                enc = Encoder.from_preset(name, **parse_overrides(rest))
        else:
            enc = Encoder.from_pretrained(spec)
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
        raise ValueError(f"layer {layer} out of range 0..{len(hs) - 1}")
    return hs[i]


def mask_from_attention(audio: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, S) audio + optional (B, S) sample mask (1/True = valid) -> (B,) valid lengths."""
    if attention_mask is None:
        return torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long, device=audio.device)
    if attention_mask.shape != audio.shape:
        raise ValueError(f"audio_attention_mask shape {tuple(attention_mask.shape)} must equal audio shape "
                         f"{tuple(audio.shape)}")
    return attention_mask.to(torch.long).sum(-1)
