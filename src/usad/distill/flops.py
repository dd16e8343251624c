"""FLOP estimates for MFU: transformer-style 6 * params * frames plus the attention score terms.

Per training step (forward + backward = 3 x forward): 6 * N * sum_b T_b + 12 * L * D * sum_b T_b^2, with N the
trainable parameters (student + heads; the conv front end is counted by its parameters, an underestimate) and
T_b the student frames of clip b. An estimate, like nanoGPT's; teachers' FLOPs are not counted. The peak it is
divided by comes from :func:`usad.peak.peak_flops`.
"""
from __future__ import annotations

import torch


def train_flops(num_params: int, num_layers: int, dim: int, frames: torch.Tensor) -> float:
    """frames: (B,) student frames per clip -> estimated FLOPs of one forward+backward."""
    f = frames.double()
    return float(6.0 * num_params * f.sum() + 12.0 * num_layers * dim * (f * f).sum())
