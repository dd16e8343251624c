"""The L1-cos distillation loss (DistilHuBERT's, without a lambda), over valid frames only.

Per head and frame t: l_t = mean_d |z_hat_t - z_t| - log sigmoid(cos(z_hat_t, z_t)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> None:
    if pred.shape != target.shape or (mask is not None and tuple(mask.shape) != tuple(pred.shape[:2])):
        raise ValueError(f"prediction {tuple(pred.shape)}, target {tuple(target.shape)} and mask "
                         f"{None if mask is None else tuple(mask.shape)} do not match; align frames first "
                         "(usad.teachers.align.align_frames)")


def l1_cos_frames(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """pred, target: (B, T, D) -> per-frame loss (B, T), computed in float32."""
    _check(pred, target)
    pred, target = pred.float(), target.float()
    l1 = (pred - target).abs().mean(dim=-1)
    cos = F.cosine_similarity(pred, target, dim=-1, eps=1e-8)
    return l1 - F.logsigmoid(cos)


def l1_cos_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                frame_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean L1-cos over valid frames: sum_{b,t} w_b * mask * l / sum_{b,t} mask.

    pred, target: (B, T, D); mask: (B, T) bool (True = valid); frame_weight: (B,) per-sample weight or None.
    Padded frames never contribute (their values are replaced before the loss, so NaN/Inf there cannot leak).
    Raises ValueError when no frame is valid.
    """
    _check(pred, target, mask)
    valid = mask.bool()
    n = valid.sum()
    if int(n) == 0:
        raise ValueError("L1-cos loss: the batch has no valid frame (all masks False); check clip lengths")
    keep = valid.unsqueeze(-1)
    per_frame = l1_cos_frames(torch.where(keep, pred, torch.ones_like(pred)),
                              torch.where(keep, target, torch.ones_like(target)))
    per_frame = per_frame * valid
    if frame_weight is not None:
        per_frame = per_frame * frame_weight.to(per_frame).unsqueeze(-1)
    return per_frame.sum() / n


def l1_cos_sums(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                frame_weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(weighted sum, unweighted sum, valid-frame count) of the per-frame loss, for logging both at once.

    ``weighted / count`` equals ``l1_cos_loss(pred, target, mask, frame_weight)``.
    """
    _check(pred, target, mask)
    valid = mask.bool()
    keep = valid.unsqueeze(-1)
    per_frame = l1_cos_frames(torch.where(keep, pred, torch.ones_like(pred)),
                              torch.where(keep, target, torch.ones_like(target))) * valid
    weighted = (per_frame * frame_weight.to(per_frame).unsqueeze(-1)).sum()
    return weighted, per_frame.detach().sum(), valid.sum()
