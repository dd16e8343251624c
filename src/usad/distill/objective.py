"""The multi-teacher objective: heads' predictions vs aligned teacher targets, L1-cos, domain-weighted.

Frame alignment: both sides are brought to the SLOWER of the two frame rates with
``usad.teachers.align_frames``. For a teacher slower than the student (25 Hz vs 50 Hz) the student's head
predictions are mean-pooled (the paper's choice; gradients flow through the pooling); for a faster teacher
(CREPE at 100 Hz, Basic Pitch at 86 Hz) the teacher's targets are pooled / interpolated down to the student rate.
A frame counts only where both sides are valid.

Total loss = sum over teachers m of sum_{b,t} w_m(domain_b) * l_{m,b,t} / N_valid, averaged over the teacher's
layer pairs and scaled by the teacher's ``weight`` (default 1); with uniform weights this is the mean over teachers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from usad.distill.loss import l1_cos_sums
from usad.distill.mapping import LayerPair
from usad.teachers import TeacherOutput, align_frames


@dataclass
class ObjectiveResult:
    loss: torch.Tensor                       # scalar, differentiable
    per_teacher: dict[str, float]            # unweighted mean L1-cos per teacher (for logs)
    valid_frames: dict[str, int]


def align_pair(pred: torch.Tensor, pred_mask: torch.Tensor, student_rate: float, target: torch.Tensor,
               target_mask: torch.Tensor, teacher_rate: float):
    """pred: (B, Ts, D), target: (B, Tt, D) -> (pred, target, mask) on the slower rate's frame grid."""
    if teacher_rate < student_rate:
        pred, pmask = align_frames(pred, pred_mask, student_rate, teacher_rate, target.shape[1])
        return pred, target, pmask & target_mask.bool()
    target, tmask = align_frames(target, target_mask, teacher_rate, student_rate, pred.shape[1])
    return pred, target, tmask & pred_mask.bool()


def multi_teacher_loss(predictions: dict[str, dict[LayerPair, torch.Tensor]], student_mask: torch.Tensor,
                       student_rate: float, targets: dict[str, TeacherOutput], weights: torch.Tensor,
                       order: list[str], scales: dict[str, float] | None = None) -> ObjectiveResult:
    """predictions[t][pair]: (B, Ts, D_t); targets[t].features[layer]: (B, Tt, D_t); weights: (B, M) in ``order``;
    scales[t]: a teacher's loss scale (``teachers[].weight``, default 1)."""
    total = None
    per_teacher, frames = {}, {}
    for m, name in enumerate(order):
        out = targets[name]
        weighted_sum, plain_sum, count = 0.0, 0.0, 0
        pairs = predictions[name]
        for pair, pred in pairs.items():
            if pair.teacher not in out.features:
                raise KeyError(f"teacher {name!r} returned no layer {pair.teacher}")
            p, z, mask = align_pair(pred, student_mask, student_rate, out.features[pair.teacher], out.mask,
                                    out.frame_rate)
            w_sum, u_sum, n = l1_cos_sums(p, z, mask, weights[:, m])
            n = int(n)
            if n == 0:
                raise ValueError(f"teacher {name!r} layer {pair.teacher}: no frame valid for both student and "
                                 f"teacher in this batch; are the clips shorter than one teacher frame?")
            weighted_sum = weighted_sum + w_sum / n
            plain_sum += float(u_sum) / n
            count += n
        term = weighted_sum / len(pairs) * (scales or {}).get(name, 1.0)
        total = term if total is None else total + term
        per_teacher[name] = plain_sum / len(pairs)
        frames[name] = count
    return ObjectiveResult(loss=total, per_teacher=per_teacher, valid_frames=frames)
