"""Building blocks of the student: conv subsampler, conv positional encoder, Transformer block.

Every layer that mixes neighbouring frames zeroes padded frames before it runs, so a clip inside a padded batch
gives the same valid frames as the clip alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from usad.model.attention import RelPosSelfAttention, SelfAttention


def stride2_length(t: torch.Tensor) -> torch.Tensor:
    """Output length of a kernel-3, padding-1, stride-2 conv: ``ceil(T / 2)``."""
    return (t + 1) // 2


def time_mask(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """(B,) lengths -> (B, total) bool, True = valid."""
    return torch.arange(total, device=lengths.device)[None, :] < lengths[:, None]


class ConvSubsampler(nn.Module):
    """fbank ``(B, F, n_mels)`` at 100 Hz -> ``(B, T, dim)`` at 50 Hz (time_stride 2) or 25 Hz (4).

    Two 3x3 Conv2d (``channels``) + GELU; frequency stride 2 in both, time stride 2 in the first (and second for
    25 Hz); flatten channels x freq -> Linear -> LayerNorm.
    """

    def __init__(self, n_mels: int, channels: int, dim: int, time_stride: int, eps: float = 1e-5) -> None:
        super().__init__()
        if time_stride not in (2, 4):
            raise ValueError(f"time_stride must be 2 or 4, got {time_stride}")
        self.time_strides = (2, 2 if time_stride == 4 else 1)
        self.conv1 = nn.Conv2d(1, channels, 3, stride=(self.time_strides[0], 2), padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(self.time_strides[1], 2), padding=1)
        freq = (((n_mels + 1) // 2) + 1) // 2
        self.proj = nn.Linear(channels * freq, dim)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        for s in self.time_strides:
            lengths = stride2_length(lengths) if s == 2 else lengths
        return lengths

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = feats.unsqueeze(1)  # (B, 1, F, M)
        for conv, s in ((self.conv1, self.time_strides[0]), (self.conv2, self.time_strides[1])):
            x = x * time_mask(lengths, x.shape[2])[:, None, :, None].to(x.dtype)
            x = F.gelu(conv(x))
            lengths = stride2_length(lengths) if s == 2 else lengths
        b, c, t, f = x.shape
        x = x.permute(0, 2, 1, 3).reshape(b, t, c * f)
        return self.norm(self.proj(x)), lengths


class ConvPositionalEncoder(nn.Module):
    """data2vec-style: ``depth`` x (grouped Conv1d(kernel) -> LayerNorm (no affine) -> GELU); returns x + pos(x).

    ``x: (B, T, D)``, ``mask: (B, T)`` bool or None.
    """

    def __init__(self, dim: int, depth: int, kernel: int, groups: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
                                   for _ in range(depth))
        self.eps = eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if not len(self.convs):
            return x
        m = None if mask is None else mask[:, :, None].to(x.dtype)
        y = x
        for conv in self.convs:
            if m is not None:
                y = y * m
            y = conv(y.transpose(1, 2)).transpose(1, 2)
            y = F.gelu(F.layer_norm(y, y.shape[-1:], eps=self.eps))
        return x + y


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class TransformerBlock(nn.Module):
    """Pre-LN block: ``x = x + attn(LN(x)); f = FFN(LN(x)); x = x + f``. Returns ``(x, f)``, both (B, T, D)."""

    def __init__(self, dim: int, num_heads: int, ffn_mult: int, dropout: float, attention_dropout: float,
                 attention: str, eps: float = 1e-5) -> None:
        super().__init__()
        attn_cls = RelPosSelfAttention if attention == "relpos" else SelfAttention
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = attn_cls(dim, num_heads, attention_dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.ffn = FeedForward(dim, ffn_mult * dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None,
                pos: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.dropout(self.attn(self.norm1(x), key_mask, pos))
        f = self.dropout(self.ffn(self.norm2(x)))
        return x + f, f
