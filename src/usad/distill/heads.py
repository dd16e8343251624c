"""Prediction heads: one per (teacher, layer pair): a 2-layer MLP, Linear -> ReLU -> Linear (the method's), or with
``hidden = 0`` one Linear map, so that the student's own features must carry the targets linearly."""
from __future__ import annotations

import torch
from torch import nn

from usad.distill.mapping import LayerPair


class PredictionHead(nn.Sequential):
    """Maps student features ``(B, T, D_s)`` to a teacher layer's features ``(B, T, D_t)``; ``hidden = 0``: linear."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int) -> None:
        if hidden:
            super().__init__(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))
        else:
            super().__init__(nn.Linear(in_dim, out_dim))

    @property
    def sizes(self) -> tuple[int, int]:
        """(D_s, D_t)."""
        return self[0].in_features, self[-1].out_features


def head_key(teacher: str, pair: LayerPair) -> str:
    """State-dict-safe key for one head, e.g. ``whisper-base.s3_t6`` -> ``whisper-base__s3_t6``."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in teacher)
    return f"{safe}__s{pair.student}_t{pair.teacher}"


class HeadSet(nn.Module):
    """All heads of a run. ``plan[teacher] = [LayerPair, ...]``; ``teacher_dims[teacher][layer] = D_t``."""

    def __init__(self, student_dim: int, plan: dict[str, list[LayerPair]],
                 teacher_dims: dict[str, dict[int, int]], hidden: int) -> None:
        super().__init__()
        self.plan = {t: list(p) for t, p in plan.items()}
        self.heads = nn.ModuleDict()
        for teacher, pairs in self.plan.items():
            for pair in pairs:
                if pair.teacher not in teacher_dims[teacher]:
                    raise ValueError(f"teacher {teacher!r} has no layer {pair.teacher}; "
                                     f"available: {sorted(teacher_dims[teacher])}")
                out_dim = teacher_dims[teacher][pair.teacher]
                self.heads[head_key(teacher, pair)] = PredictionHead(student_dim, out_dim, hidden)

    def student_layers(self) -> list[int]:
        """Every student block some head reads, sorted."""
        return sorted({p.student for pairs in self.plan.values() for p in pairs})

    def forward(self, hidden_states: list[torch.Tensor]) -> dict[str, dict[LayerPair, torch.Tensor]]:
        """``hidden_states[l]``: (B, T, D_s) output of block l -> predictions[teacher][pair]: (B, T, D_t)."""
        return {t: {p: self.heads[head_key(t, p)](hidden_states[p.student]) for p in pairs}
                for t, pairs in self.plan.items()}
