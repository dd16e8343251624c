"""Frame downsampling and the Linear projector from encoder features to the LLM's embedding space."""
from __future__ import annotations

import torch
from torch import nn


def downsample(x: torch.Tensor, mask: torch.Tensor, factor: int, mode: str = "stack"
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (B, T, D), mask: (B, T) bool -> (B, ceil(T/k), D*k) for "stack" or (B, ceil(T/k), D) for "pool";
    the new mask is True where a group holds at least one valid frame. Invalid frames are zeroed first."""
    if factor < 1:
        raise ValueError(f"downsampling factor must be >= 1, got {factor}")
    if mode not in ("stack", "pool"):
        raise ValueError(f"downsampling mode must be 'stack' or 'pool', got {mode!r}")
    B, T, D = x.shape
    x = x * mask.unsqueeze(-1).to(x.dtype)
    if factor == 1:
        return x, mask
    pad = (-T) % factor
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
        mask = torch.nn.functional.pad(mask, (0, pad), value=False)
    groups = x.view(B, -1, factor, D)
    gmask = mask.view(B, -1, factor)
    new_mask = gmask.any(-1)
    if mode == "stack":
        return groups.reshape(B, -1, factor * D), new_mask
    count = gmask.sum(-1, keepdim=True).clamp_min(1).to(x.dtype)
    return groups.sum(2) / count, new_mask


class AudioProjector(nn.Module):
    """(B, T, D) encoder features -> (B, T', llm_dim) audio embeddings, T' = ceil(T / factor)."""

    def __init__(self, encoder_dim: int, llm_dim: int, factor: int = 4, mode: str = "stack") -> None:
        super().__init__()
        self.factor, self.mode = factor, mode
        self.proj = nn.Linear(encoder_dim * (factor if mode == "stack" else 1), llm_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, m = downsample(x, mask, self.factor, self.mode)
        return self.proj(y), m
