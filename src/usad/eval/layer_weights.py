"""A learned softmax-weighted sum of an encoder's layers (SUPERB-style), trained jointly with a probe."""
from __future__ import annotations

import torch
from torch import nn


class LayerWeightedSum(nn.Module):
    """x: (N, L, D) -> (N, D) = sum_l softmax(w)_l * x[:, l]. Weights start uniform."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError("LayerWeightedSum needs at least one layer")
        self.logits = nn.Parameter(torch.zeros(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.logits.numel():
            raise ValueError(f"expected (N, {self.logits.numel()}, D) features, got {tuple(x.shape)}")
        w = torch.softmax(self.logits, dim=0)
        return torch.einsum("nld,l->nd", x, w)

    def weights(self) -> list[float]:
        """The normalised layer weights (sum to 1), for reports."""
        return torch.softmax(self.logits.detach(), dim=0).cpu().tolist()
