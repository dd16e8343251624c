"""Whisper's 30 s windows: every clip of a batch cut into windows run together, and the encoder frames of each
clip's windows put back end to end. Written once for every Whisper encoder (``whisper-base``, ``hf:`` Whisper)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..batching import lengths_to_mask
from .mel import CHUNK_SAMPLES, encoder_frames


@dataclass
class Windows:
    """segs: (W, CHUNK_SAMPLES) zero-padded windows; lengths: (W,) valid samples; owners[w]: the clip of window w
    (in order, so a clip's windows follow each other); batch: B, the number of clips."""

    segs: torch.Tensor
    lengths: torch.Tensor
    owners: list[int]
    batch: int

    @property
    def frames(self) -> list[int]:
        """Valid encoder frames (50 Hz) of each window."""
        return [encoder_frames(n) for n in self.lengths.tolist()]

    def clip_frames(self) -> list[int]:
        """Valid encoder frames of each clip: the sum over its windows."""
        per_clip = [0] * self.batch
        for b, c in zip(self.owners, self.frames):
            per_clip[b] += c
        return per_clip

    def stitch(self, per_window: torch.Tensor) -> torch.Tensor:
        """per_window: (W, T_w, D) -> (B, T, D): each clip's valid window frames end to end, zero-padded."""
        counts, per_clip = self.frames, self.clip_frames()
        out = per_window.new_zeros(self.batch, max(per_clip), per_window.shape[-1])
        pos = [0] * self.batch
        for i, (b, c) in enumerate(zip(self.owners, counts)):
            out[b, pos[b]: pos[b] + c] = per_window[i, :c]
            pos[b] += c
        return out

    def mask(self) -> torch.Tensor:
        """(B, T) bool: True for each clip's valid frames of :meth:`stitch`'s output."""
        per_clip = self.clip_frames()
        return lengths_to_mask(torch.tensor(per_clip, device=self.segs.device), max(per_clip))


def split_windows(wav: torch.Tensor, lengths: torch.Tensor) -> Windows:
    """wav: (B, S) 16 kHz, lengths: (B,) -> every clip cut into 30 s windows (a silent clip still gets one)."""
    spans = [(b, s, min(n, s + CHUNK_SAMPLES) - s) for b, n in enumerate(int(x) for x in lengths.tolist())
             for s in range(0, max(n, 1), CHUNK_SAMPLES)]
    segs = torch.zeros(len(spans), CHUNK_SAMPLES, device=wav.device)
    for i, (b, s, n) in enumerate(spans):
        segs[i, :n] = wav[b, s: s + n].float()
    return Windows(segs, torch.tensor([n for _, _, n in spans], device=wav.device), [b for b, _, _ in spans],
                   wav.shape[0])
