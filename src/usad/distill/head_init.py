"""Fitted head initialisation (``heads.init: ridge``): each head's output layer starts as the ridge-regression
solution from the student's initial features to its targets, instead of at random.

Why: with random heads, the first hundreds of steps go into the heads finding the map that already exists (a
student warm-started from a teacher holds that teacher's layers exactly, yet a random head predicts them at the
loss of a constant), and meanwhile their errors flow back into the student and disturb what it has. A fitted
head starts at the best linear read-out of the student as it is, so from the first step the student's gradient
points at what its features lack (e.g. the pitch a speech encoder does not carry), and a budget of a few hundred
steps is spent on that. For a 2-layer MLP head the first layer stays random and the output layer is fitted on its
ReLU features (a random-features regression); a linear head (``heads.hidden: 0``) is fitted whole.

The fit is a weighted least squares over valid frames, aligned to the slower frame rate exactly as the loss aligns
them (pooling commutes with the output layer), each frame weighted by its clip's domain weight for that teacher
(the loss's weighting), with a ridge term of ``RIDGE`` times the mean variance of the inputs (centred, so the bias is not penalised). Every rank reads
the same seeded batches, so every rank fits the same heads.
"""
from __future__ import annotations

from typing import Iterable

import torch

from usad.distill.heads import HeadSet, head_key
from usad.distill.objective import align_pair

RIDGE = 1e-3


class _Normal:
    """Running sums of ``[x, 1]^T W [x, 1]`` and ``[x, 1]^T W z`` for one head (float64, CPU)."""

    def __init__(self) -> None:
        self.xx = None
        self.xz = None
        self.frames = 0

    def add(self, x: torch.Tensor, z: torch.Tensor, w: torch.Tensor) -> None:
        """x: (N, D_in), z: (N, D_out), w: (N,) frame weights."""
        x1 = torch.cat([x, torch.ones_like(x[:, :1])], dim=1).double().cpu()
        z, w = z.double().cpu(), w.double().cpu()[:, None]
        xx, xz = x1.T @ (x1 * w), x1.T @ (z * w)
        self.xx = xx if self.xx is None else self.xx + xx
        self.xz = xz if self.xz is None else self.xz + xz
        self.frames += x.shape[0]

    def solve(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight (D_out, D_in), bias (D_out,)): ridge on the centred sums, so the bias is not penalised and the
        penalty does not depend on the features' mean."""
        d = self.xx.shape[0] - 1
        sw, sx, sz = self.xx[d, d], self.xx[:d, d], self.xz[d]
        cxx = self.xx[:d, :d] - torch.outer(sx, sx) / sw
        cxz = self.xz[:d] - torch.outer(sx, sz) / sw
        cxx = cxx + torch.eye(d, dtype=cxx.dtype) * RIDGE * float(cxx.diagonal().mean())
        weight = torch.linalg.solve(cxx, cxz)                              # (D_in, D_out)
        bias = (sz - sx @ weight) / sw
        return weight.T.float(), bias.float()


def _head_inputs(head: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """What the head's output layer reads: the student features (linear head) or the hidden ReLU features."""
    for layer in list(head)[:-1]:
        x = layer(x)
    return x


@torch.no_grad()
def fit_heads(student: torch.nn.Module, heads: HeadSet, batches: Iterable, targets_of, weights_of,
              device: torch.device) -> dict[str, int]:
    """Set every head's output layer to its ridge fit over ``batches``; returns the frames fitted per head.

    ``targets_of(batch, wav, lengths) -> {teacher: TeacherOutput}`` (targets as the loss sees them);
    ``weights_of(batch) -> (B, M)`` domain weights in ``heads.plan`` order."""
    was_training = student.training
    student.eval()
    order = list(heads.plan)
    normals: dict[str, _Normal] = {}
    for batch in batches:
        wav, lengths = batch.wav.to(device), batch.lengths.to(device)
        out = student(wav, lengths, target_layer=max(heads.student_layers()))
        targets = targets_of(batch, wav, lengths)
        weights = weights_of(batch).to(device)
        for m, name in enumerate(order):
            t = targets[name]
            for pair in heads.plan[name]:
                key = head_key(name, pair)
                x = _head_inputs(heads.heads[key], out.hidden_states[pair.student].float())
                x, z, mask = align_pair(x, out.mask, student.frame_rate, t.features[pair.teacher], t.mask,
                                        t.frame_rate)
                w = weights[:, m][:, None].expand_as(mask)
                normals.setdefault(key, _Normal()).add(x[mask], z[mask], w[mask])
    frames = {}
    for key, normal in normals.items():
        last = heads.heads[key][-1]
        weight, bias = normal.solve()
        last.weight.copy_(weight.to(last.weight))
        last.bias.copy_(bias.to(last.bias))
        frames[key] = normal.frames
    student.train(was_training)
    return frames
