"""Long audio in chunks with context, stitched into one EncoderOutput (bounded memory).

The signal is cut into cores of ``chunk_seconds`` (rounded to a multiple of the encoder hop, so every chunk's
frame grid lines up with the global one) and each core runs with ``context_seconds`` of audio on both sides
(at least two hops). Only the core's frames are kept from each run and moved to ``output_device``, so peak
memory is one chunk's activations plus the stitched output. The frame count equals ``encoder.num_frames(S)``;
away from seams the result matches the unchunked run closely (attention sees a window of chunk + 2 x context).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from usad.model.config import num_frames as count_frames
from usad.model.output import EncoderOutput

if TYPE_CHECKING:
    from usad.model.encoder import Encoder


@dataclass(frozen=True)
class Chunk:
    """Samples ``[start, end)`` are run; global frames ``[frame_start, frame_end)`` are kept."""

    start: int
    end: int
    frame_start: int
    frame_end: int


def chunk_plan(num_samples: int, frame_rate: float, chunk_seconds: float = 30.0,
               context_seconds: float = 5.0, sample_rate: int = 16000, frontend: str = "fbank") -> list[Chunk]:
    """The chunks :func:`extract_long` runs for a signal of ``num_samples``."""
    hop = int(round(sample_rate / frame_rate))
    if not chunk_seconds * sample_rate >= hop or not context_seconds >= 0:
        raise ValueError(f"chunk_seconds must be at least one encoder hop ({1000 * hop / sample_rate:g} ms) and "
                         f"context_seconds >= 0; got {chunk_seconds!r} and {context_seconds!r}")
    chunk = max(hop, int(round(chunk_seconds * sample_rate)) // hop * hop)
    context = max(2 * hop, -(-int(round(context_seconds * sample_rate)) // hop) * hop)
    total_frames = count_frames(num_samples, frame_rate, frontend)
    plan = []
    for core in range(0, num_samples, chunk):
        g0, g1 = core // hop, min(total_frames, (core + chunk) // hop)
        if g1 <= g0:
            break
        plan.append(Chunk(max(0, core - context), min(num_samples, core + chunk + context), g0, g1))
    return plan


@torch.no_grad()
def extract_long(encoder: "Encoder", wav: torch.Tensor, chunk_seconds: float = 30.0, context_seconds: float = 5.0,
                 target_layer: int | None = None, include_ffn: bool = True,
                 output_device: str | torch.device | None = "cpu") -> EncoderOutput:
    """``wav: (S,)`` or ``(1, S)`` at 16 kHz -> EncoderOutput of batch 1 with ``encoder.num_frames(S)`` frames.

    ``include_ffn=False`` leaves ``ffn`` empty (halves the output memory); ``output_device=None`` keeps outputs on
    the model's device.
    """
    if wav.dim() == 2 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.dim() != 1:
        raise ValueError(f"extract_long takes one clip (S,) or (1, S); got shape {tuple(wav.shape)}")
    cfg = encoder.config
    hop = cfg.hop_samples
    device = next(encoder.parameters()).device
    out_dev = torch.device(output_device) if output_device is not None else device
    hidden: list[list[torch.Tensor]] = []
    ffn: list[list[torch.Tensor]] = []
    for c in chunk_plan(wav.shape[0], cfg.frame_rate, chunk_seconds, context_seconds, frontend=cfg.frontend):
        out = encoder(wav[c.start:c.end].to(device)[None], target_layer=target_layer)
        j0 = c.frame_start - c.start // hop
        j1 = j0 + c.frame_end - c.frame_start
        if out.mask.shape[1] < j1:  # cannot happen with context >= 2 hops; guard the invariant loudly
            raise RuntimeError(f"chunk {c} produced {out.mask.shape[1]} frames, needed {j1}")
        if not hidden:
            hidden, ffn = [[] for _ in out.hidden_states], [[] for _ in out.ffn]
        for store, h in zip(hidden, out.hidden_states):
            store.append(h[:, j0:j1].to(out_dev))
        if include_ffn:
            for store, f in zip(ffn, out.ffn):
                store.append(f[:, j0:j1].to(out_dev))
        del out
    hs = [torch.cat(parts, dim=1) for parts in hidden]
    fs = [torch.cat(parts, dim=1) for parts in ffn] if include_ffn else []
    mask = torch.ones(1, hs[0].shape[1], dtype=torch.bool, device=out_dev)
    return EncoderOutput(hidden_states=hs, ffn=fs, mask=mask, frame_rate=cfg.frame_rate)
