"""Domain-aware teacher weights (docs/method.md, section 2).

Raw weight a_m = omega if teacher m is the expert of the sample's domain, else 1; weights are a_m / sum(a).
With one teacher per domain this is exactly the paper's rule: omega / (omega + M - 1) in-domain, 1 / (omega + M - 1)
otherwise. A sample with unknown domain (None) or with no expert among the teachers weighs all teachers 1/M.

Teachers of domain "any" (multi-domain experts such as AF-Whisper): by default ``any_policy="neutral"`` gives them
a constant raw weight 1 on every domain (the paper's "weighted equally on all domains"); ``"expert"`` treats them
as in-domain for every sample instead (raw weight omega everywhere).
"""
from __future__ import annotations

from typing import Sequence

import torch

ANY_POLICIES = ("neutral", "expert")


def domain_weights(teacher_domains: Sequence[str], sample_domains: Sequence[str | None], omega: float = 10.0,
                   any_policy: str = "neutral") -> torch.Tensor:
    """Returns weights (B, M), each row summing to 1. ``omega=1`` switches weighting off (uniform)."""
    if omega <= 0:
        raise ValueError(f"domain weight omega must be > 0, got {omega}")
    if any_policy not in ANY_POLICIES:
        raise ValueError(f"any_policy must be one of {ANY_POLICIES}, got {any_policy!r}")
    m = len(teacher_domains)
    if m == 0:
        raise ValueError("domain_weights: no teachers")
    rows = []
    for d in sample_domains:
        raw = []
        for td in teacher_domains:
            expert = d is not None and (td == d or (td == "any" and any_policy == "expert"))
            raw.append(omega if expert else 1.0)
        rows.append(raw)
    w = torch.tensor(rows, dtype=torch.float32).reshape(len(sample_domains), m)
    return w / w.sum(dim=1, keepdim=True)
