"""Frame-rate alignment: the one function that maps frames between a teacher's rate and a student's rate.

Frame j at rate r is taken to be centred at time (j + 0.5) / r. With ratio q = src_rate / dst_rate:
- q an integer k > 1 (e.g. 100 -> 50, 100 -> 25, 50 -> 25): mean-pool k source frames per target frame;
- 1 / q an integer k > 1 (e.g. 25 -> 50): repeat each source frame k times;
- q == 1: identity;
- otherwise (86.13 -> 50, 62.5 -> 25, 31.25 -> 50...): linear interpolation at source position
  (j + 0.5) * q - 0.5, which is also the centre of the window that integer pooling averages.
Masked (padding) frames never contribute: pools and interpolation weights use valid frames only, and a target
frame with no valid source is masked. The result is then cropped or padded (mask False, zeros) to ``dst_len``.
"""
from __future__ import annotations

import math

import torch

_TOL = 1e-6


def _integer_ratio(a: float, b: float) -> int | None:
    q = a / b
    k = round(q)
    return int(k) if k >= 1 and abs(q - k) < _TOL * max(1.0, q) else None


def num_frames_at(num_frames: int, src_rate: float, dst_rate: float) -> int:
    """Frames that ``num_frames`` frames at ``src_rate`` cover at ``dst_rate`` (ceil of the duration)."""
    return int(math.ceil(num_frames * dst_rate / src_rate - _TOL))


def _pool(x: torch.Tensor, m: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    B, T, D = x.shape
    n = -(-T // k)
    pad = n * k - T
    w = m.to(x.dtype)
    xs = torch.nn.functional.pad(x * w[..., None], (0, 0, 0, pad)).view(B, n, k, D).sum(2)
    ws = torch.nn.functional.pad(w, (0, pad)).view(B, n, k).sum(2)
    y = xs / ws.clamp_min(1e-12)[..., None]
    return y, ws > 0


def _interp(x: torch.Tensor, m: torch.Tensor, q: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    B, T, D = x.shape
    raw = (torch.arange(n, dtype=torch.float64, device=x.device) + 0.5) * q - 0.5
    pos = raw.clamp(0, T - 1)
    i0 = pos.floor().long().clamp(0, T - 1)
    i1 = (i0 + 1).clamp(max=T - 1)
    f = (pos - i0.to(pos.dtype)).to(x.dtype)
    w = m.to(x.dtype)
    w0 = (1 - f)[None, :] * w[:, i0]
    w1 = f[None, :] * w[:, i1]
    num = w0[..., None] * x[:, i0] + w1[..., None] * x[:, i1]
    den = w0 + w1
    y = num / den.clamp_min(1e-12)[..., None]
    nearest = raw.round().long()
    inside = nearest <= T - 1  # the target frame's centre falls inside the source frames
    valid = m[:, nearest.clamp(0, T - 1)] & inside[None, :] & (den > 0)
    return y, valid


def align_frames(x: torch.Tensor, mask: torch.Tensor | None, src_rate: float, dst_rate: float,
                 dst_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (B, Tx, D), mask: (B, Tx) bool (None = all valid) -> (y: (B, dst_len, D), mask: (B, dst_len) bool).

    Padded positions of ``y`` are zero and their mask is False.
    """
    if x.dim() != 3:
        raise ValueError(f"align_frames: x must be (B, T, D), got shape {tuple(x.shape)}")
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"align_frames: frame rates must be positive, got {src_rate} -> {dst_rate}")
    B, T, D = x.shape
    if mask is None:
        mask = torch.ones(B, T, dtype=torch.bool, device=x.device)
    if mask.shape != (B, T):
        raise ValueError(f"align_frames: mask shape {tuple(mask.shape)} does not match x {tuple(x.shape)}")
    mask = mask.bool()
    if T == 0:
        return x.new_zeros(B, dst_len, D), torch.zeros(B, dst_len, dtype=torch.bool, device=x.device)
    work = x if x.dtype in (torch.float32, torch.float64) else x.float()
    down = _integer_ratio(src_rate, dst_rate)
    up = _integer_ratio(dst_rate, src_rate)
    if down == 1:
        y, m = work * mask[..., None].to(work.dtype), mask
    elif down is not None:
        y, m = _pool(work, mask, down)
    elif up is not None:
        idx = torch.arange(T * up, device=x.device) // up
        y, m = work[:, idx], mask[:, idx]
    else:
        y, m = _interp(work, mask, src_rate / dst_rate, max(dst_len, num_frames_at(T, src_rate, dst_rate)))
    # off-by-one (or more) frame counts: crop extra frames, pad missing ones as invalid
    if y.shape[1] >= dst_len:
        y, m = y[:, :dst_len], m[:, :dst_len]
    else:
        pad = dst_len - y.shape[1]
        y = torch.nn.functional.pad(y, (0, 0, 0, pad))
        m = torch.nn.functional.pad(m, (0, pad), value=False)
    y = y * m[..., None].to(y.dtype)
    return y.to(x.dtype), m
