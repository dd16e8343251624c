"""FLOP estimates for MFU: transformer-style 6 * params * frames plus the attention score terms.

Forward: 2 * N * sum_b T_b + 4 * L * D * sum_b T_b^2, with N the parameters (student + heads; the conv front end
is counted by its parameters, an underestimate) and T_b the student frames of clip b. Backward: twice the forward
for the trainable share of the parameters, so a fully trained model costs 3 x forward (6 * N * T + ...) and frozen
parameters (``optim.freeze``) add only their forward. An estimate, like nanoGPT's; teachers' FLOPs are not
counted. The peak it is divided by comes from :func:`usad.peak.peak_flops`.
"""
from __future__ import annotations

import torch


def train_flops(num_params: int, num_layers: int, dim: int, frames: torch.Tensor,
                trainable_params: int | None = None) -> float:
    """frames: (B,) student frames per clip -> estimated FLOPs of one forward+backward.

    ``trainable_params`` (default: all of ``num_params``) scales the backward pass: frozen weights need no
    gradient, so counting them would report more work than was done (an MFU above 100%)."""
    f = frames.double()
    forward = 2.0 * num_params * f.sum() + 4.0 * num_layers * dim * (f * f).sum()
    share = 1.0 if trainable_params is None else trainable_params / max(num_params, 1)
    return float(forward * (1.0 + 2.0 * share))
