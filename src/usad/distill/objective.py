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

import contextlib
from dataclasses import dataclass

import torch

from usad.distill.loss import l1_cos_sums
from usad.distill.mapping import LayerPair
from usad.errors import NonFiniteError
from usad.teachers import TeacherOutput, align_frames


@dataclass
class ObjectiveResult:
    loss: torch.Tensor                       # scalar, differentiable
    per_teacher: dict[str, float]            # unweighted mean L1-cos per teacher (for logs)
    valid_frames: dict[str, int]
    student_frames: torch.Tensor | None = None   # (B,) valid student frames, on the device (loss_step; FLOPs)


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


def _student(model: torch.nn.Module) -> torch.nn.Module:
    """The student inside a DistillModel that DDP (``.module``) or torch.compile (``._orig_mod``) may wrap."""
    while not hasattr(model, "student"):
        model = getattr(model, "module", None) or model._orig_mod
    return model.student


def loss_step(model: torch.nn.Module, wav: torch.Tensor, lengths: torch.Tensor, targets: dict[str, TeacherOutput],
              weights: torch.Tensor, order: list[str], scales: dict[str, float] | None = None, *,
              bf16: bool = False, clip_ids: list | None = None) -> ObjectiveResult:
    """One training step's loss: student + heads (``model``: a DistillModel, or a DDP / FSDP / compiled wrap of
    one) on wav: (B, S), lengths: (B,), against ``targets`` with weights: (B, M) in ``order`` (see
    :func:`multi_teacher_loss`). ``bf16``: the forward under bfloat16 autocast. Not back-propagated here; a
    NaN/Inf loss raises NonFiniteError (naming ``clip_ids`` when given)."""
    amp = torch.autocast(wav.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with amp:
        predictions, mask = model(wav, lengths)
    res = multi_teacher_loss(predictions, mask, _student(model).frame_rate, targets, weights, order, scales)
    if not torch.isfinite(res.loss):
        where = f" on clips {clip_ids[:4]}..." if clip_ids else ""
        raise NonFiniteError(f"non-finite loss ({float(res.loss)}){where}: lower optim.lr, check the audio, or use "
                             f"train.precision=fp32")
    res.student_frames = mask.sum(dim=1)
    return res
