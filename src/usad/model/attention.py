"""Multi-head self-attention, both through ``F.scaled_dot_product_attention``.

- :class:`SelfAttention` ("sdpa"): plain MHSA with a boolean key-padding mask (``None`` when nothing is padded,
  which lets fused kernels run).
- :class:`RelPosSelfAttention` ("relpos"): Transformer-XL / Conformer relative-position MHSA. Scores are
  ``(q + u) k^T + (q + v) (W_pos R_{i-j})^T`` over ``sqrt(d_head)``, with ``R`` sinusoidal embeddings of the
  offset ``i - j``, ``W_pos`` a per-layer d x d projection and ``u, v`` per-head biases. The positional term is
  computed explicitly and passed to SDPA as a float additive mask (with the key padding as ``-inf``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def relative_sinusoids(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal embeddings of offsets ``length-1, ..., 0, ..., -(length-1)``: ``(2 * length - 1, dim)``."""
    offsets = torch.arange(length - 1, -length, -1, device=device, dtype=torch.float32)
    inv = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    angles = offsets[:, None] * inv[None, :]
    emb = torch.zeros(2 * length - 1, dim, device=device, dtype=torch.float32)
    emb[:, 0::2] = torch.sin(angles)
    emb[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return emb.to(dtype)


class SelfAttention(nn.Module):
    """``x: (B, T, D)``, ``key_mask: (B, T)`` bool (True = valid) or None -> ``(B, T, D)``."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v  # each (B, H, T, Dh)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None,
                pos: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self._qkv(x)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self._merge(y)


class RelPosSelfAttention(SelfAttention):
    """Relative-position MHSA. ``pos: (2T - 1, D)`` from :func:`relative_sinusoids` (shared by all layers)."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__(dim, num_heads, dropout)
        self.linear_pos = nn.Linear(dim, dim, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(num_heads, self.head_dim))
        self.pos_bias_v = nn.Parameter(torch.zeros(num_heads, self.head_dim))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None,
                pos: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        if pos is None or pos.shape[0] != 2 * t - 1:
            raise ValueError(f"relpos attention needs pos of shape (2T-1, D) = ({2 * t - 1}, D)")
        q, k, v = self._qkv(x)
        p = self.linear_pos(pos.to(x.dtype)).view(2 * t - 1, self.num_heads, self.head_dim)
        q_u = q + self.pos_bias_u[None, :, None, :].to(q.dtype)
        q_v = q + self.pos_bias_v[None, :, None, :].to(q.dtype)
        bd = torch.einsum("bhtd,rhd->bhtr", q_v, p)  # (B, H, T, 2T-1); column r <-> offset T-1-r
        ar = torch.arange(t, device=x.device)
        index = (t - 1) - ar[:, None] + ar[None, :]  # offset i - j -> column (T-1) - (i-j)
        bias = bd.gather(-1, index.expand(b, self.num_heads, t, t)) * (self.head_dim ** -0.5)
        if key_mask is not None:
            bias = bias.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        y = F.scaled_dot_product_attention(q_u, k, v, attn_mask=bias.to(q.dtype),
                                           dropout_p=self.dropout if self.training else 0.0)
        return self._merge(y)
