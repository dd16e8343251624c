"""Batch helpers shared by teachers: per-clip resampling of padded batches and frame masks."""
from __future__ import annotations

import math

import numpy as np
import torch


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """lengths: (B,) -> mask (B, max_len) bool, True for index < length."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def resampled_length(num_samples: int, orig_sr: int, new_sr: int) -> int:
    return int(math.ceil(num_samples * new_sr / orig_sr)) if orig_sr != new_sr else int(num_samples)


def resample_batch(wav: torch.Tensor, lengths: torch.Tensor, orig_sr: int,
                   new_sr: int) -> tuple[torch.Tensor, torch.Tensor]:
    """wav: (B, S) padded at orig_sr -> (wav (B, S'), lengths (B,)) at new_sr, zero-padded.

    Each clip is resampled on its valid samples only, so padding never bleeds into the signal and a clip gives the
    same samples alone or inside a padded batch. Uses ``usad.audio.resample`` (soxr), the project's one resampler.
    """
    if orig_sr == new_sr:
        return wav, lengths
    from usad.audio import pad_batch, resample

    rows = []
    for b in range(wav.shape[0]):
        n = int(lengths[b])
        x = wav[b, :n].detach().float().cpu().numpy()
        y = np.asarray(resample(x, orig_sr, new_sr), dtype=np.float32) if n > 0 else np.zeros(0, np.float32)
        rows.append(torch.from_numpy(np.ascontiguousarray(y)))
    out, new_lengths = pad_batch(rows)
    return out.to(device=wav.device, dtype=wav.dtype), new_lengths.to(wav.device)
