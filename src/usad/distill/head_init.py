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
(the loss's weighting). The ridge strength (times the inputs' mean variance; centred, so the bias is not
penalised) is chosen per head from ``RIDGES`` by the error on every fourth batch, held out, then the map is refitted
on all batches: a head with few frames (a teacher at one frame per 3 s) and many inputs gets a strong penalty
instead of an over-fitted map whose errors would swamp the first steps. Every rank reads
the same seeded batches, so every rank fits the same heads.
"""
from __future__ import annotations

from typing import Iterable

import torch

from usad.distill.heads import HeadSet, head_key
from usad.distill.objective import align_pair

RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)   # ridge strengths tried, times the inputs' mean variance


class _Normal:
    """Weighted sums of one head's inputs ``x`` and targets ``z`` (float64, CPU): enough to fit a ridge map and to
    score any map by its weighted squared error, without keeping the frames."""

    def __init__(self) -> None:
        self.xx = self.xz = self.zz = None
        self.frames = 0

    def add(self, x: torch.Tensor, z: torch.Tensor, w: torch.Tensor) -> None:
        """x: (N, D_in), z: (N, D_out), w: (N,) frame weights."""
        x1 = torch.cat([x, torch.ones_like(x[:, :1])], dim=1).double().cpu()
        z, w = z.double().cpu(), w.double().cpu()[:, None]
        parts = (x1.T @ (x1 * w), x1.T @ (z * w), (z * z * w).sum())
        if self.xx is None:
            self.xx, self.xz, self.zz = parts
        else:
            self.xx, self.xz, self.zz = self.xx + parts[0], self.xz + parts[1], self.zz + parts[2]
        self.frames += x.shape[0]

    def __add__(self, other: "_Normal") -> "_Normal":
        out = _Normal()
        out.xx, out.xz, out.zz = self.xx + other.xx, self.xz + other.xz, self.zz + other.zz
        out.frames = self.frames + other.frames
        return out

    def solve(self, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight (D_in, D_out), bias (D_out,)): ridge on the centred sums, so the bias is not penalised and the
        penalty does not depend on the features' mean."""
        d = self.xx.shape[0] - 1
        sw, sx, sz = self.xx[d, d], self.xx[:d, d], self.xz[d]
        cxx = self.xx[:d, :d] - torch.outer(sx, sx) / sw
        cxz = self.xz[:d] - torch.outer(sx, sz) / sw
        cxx = cxx + torch.eye(d, dtype=cxx.dtype) * ridge * float(cxx.diagonal().mean())
        weight = torch.linalg.solve(cxx, cxz)
        return weight, (sz - sx @ weight) / sw

    def error(self, weight: torch.Tensor, bias: torch.Tensor) -> float:
        """Weighted squared error of ``z ~ x weight + bias`` over the frames summed here."""
        wb = torch.cat([weight, bias[None]], dim=0)                     # (D_in + 1, D_out)
        return float(self.zz - 2 * (wb * self.xz).sum() + (wb * (self.xx @ wb)).sum())


def _fit(fit: _Normal, held: _Normal) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The ridge strength with the lowest error on the held-out frames (the strongest when none were held out),
    then the map refitted on all frames."""
    ridge = RIDGES[-1]
    if held.frames:
        ridge = min(RIDGES, key=lambda r: held.error(*fit.solve(r)))
        fit = fit + held
    weight, bias = fit.solve(ridge)
    return weight.T.float(), bias.float(), ridge


def _head_inputs(head: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """What the head's output layer reads: the student features (linear head) or the hidden ReLU features."""
    for layer in list(head)[:-1]:
        x = layer(x)
    return x


@torch.no_grad()
def fit_heads(student: torch.nn.Module, heads: HeadSet, batches: Iterable, targets_of, weights_of,
              device: torch.device) -> dict[str, tuple[int, float]]:
    """Set every head's output layer to its ridge fit over ``batches``; returns per head the frames fitted and
    the ridge strength chosen.

    ``targets_of(batch, wav, lengths) -> {teacher: TeacherOutput}`` (targets as the loss sees them);
    ``weights_of(batch) -> (B, M)`` domain weights in ``heads.plan`` order."""
    was_training = student.training
    student.eval()
    order = list(heads.plan)
    normals: dict[str, list[_Normal]] = {}   # per head: [fit, held out]; every 4th batch is held out
    for i, batch in enumerate(batches):
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
                if mask.any():
                    normals.setdefault(key, [_Normal(), _Normal()])[int(i % 4 == 3)].add(x[mask], z[mask], w[mask])
    fitted = {}
    for key, (fit, held) in normals.items():
        last = heads.heads[key][-1]
        weight, bias, ridge = _fit(fit, held)
        last.weight.copy_(weight.to(last.weight))
        last.bias.copy_(bias.to(last.bias))
        fitted[key] = (fit.frames + held.frames, ridge)
    student.train(was_training)
    return fitted
