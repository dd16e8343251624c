"""Kaldi-compatible log-mel filterbank front end, batched, in torch (CPU or GPU).

This reproduces what the released USAD code gets from torchaudio's Kaldi-compatible ``fbank`` (docs/method.md,
section 1), written with plain torch ops so it runs on the model's device:

- waveform in [-1, 1] float (the scale ``soundfile``/``torchaudio.load`` give; NOT int16 scale), 16 kHz;
- subtract each clip's waveform mean (over its valid samples only);
- frames of 25 ms (400 samples) every 10 ms (160 samples), ``snip_edges`` (only whole frames);
- per frame: remove the DC offset, pre-emphasis 0.97 (first sample against itself), Kaldi "hanning" window
  ``0.5 - 0.5 cos(2 pi n / (N - 1))``, zero-pad to 512, power spectrum;
- triangular mel filters (Kaldi mel scale ``1127 ln(1 + f / 700)``) from 20 Hz to Nyquist; no energy term
  (so ``htk_compat`` changes nothing); dither 0; ``log(max(x, float32 eps))``;
- normalise ``(fbank + 4.268) / (2 * 4.569)``.

With 128 bins at 16 kHz, the lowest filters contain no FFT bin and are constant ``log(eps)`` (then normalised).
Padded frames (beyond each clip's length) are set to zero and never influence valid frames.
"""
from __future__ import annotations

import math

import torch
from torch import nn

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # samples (25 ms)
FRAME_SHIFT = 160  # samples (10 ms)
FFT_SIZE = 512
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
FBANK_MEAN = -4.268
FBANK_STD = 4.569
LOG_FLOOR = torch.finfo(torch.float32).eps


def num_fbank_frames(num_samples: int | torch.Tensor) -> int | torch.Tensor:
    """Frames with snip_edges: ``0 if S < 400 else 1 + (S - 400) // 160``. Works on ints and long tensors."""
    if isinstance(num_samples, torch.Tensor):
        return torch.where(num_samples >= FRAME_LENGTH, 1 + (num_samples - FRAME_LENGTH) // FRAME_SHIFT, 0)
    return 0 if num_samples < FRAME_LENGTH else 1 + (num_samples - FRAME_LENGTH) // FRAME_SHIFT


def _mel(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(freq / 700.0)


def kaldi_mel_banks(num_bins: int, sample_rate: int = SAMPLE_RATE, fft_size: int = FFT_SIZE,
                    low_freq: float = LOW_FREQ, high_freq: float = 0.0) -> torch.Tensor:
    """Kaldi triangular mel filters as a matrix ``(fft_size // 2 + 1, num_bins)`` (Nyquist row is zero).

    ``high_freq <= 0`` means Nyquist plus ``high_freq`` (Kaldi's convention).
    """
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq = nyquist + high_freq
    if not 0.0 <= low_freq < high_freq <= nyquist:
        raise ValueError(f"mel filters need 0 <= low_freq < high_freq <= Nyquist; got {low_freq}, {high_freq}")
    n_fft_bins = fft_size // 2
    mel_low, mel_high = _mel(torch.tensor(low_freq, dtype=torch.float64)), _mel(torch.tensor(high_freq,
                                                                                              dtype=torch.float64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    idx = torch.arange(num_bins, dtype=torch.float64)
    left = (mel_low + idx * delta)[None, :]
    center = (mel_low + (idx + 1) * delta)[None, :]
    right = (mel_low + (idx + 2) * delta)[None, :]
    mel = _mel(torch.arange(n_fft_bins, dtype=torch.float64) * (sample_rate / fft_size))[:, None]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    banks = torch.cat([banks, torch.zeros(1, num_bins, dtype=torch.float64)], dim=0)
    return banks.to(torch.float32)


def kaldi_hanning(n: int = FRAME_LENGTH) -> torch.Tensor:
    """Kaldi's "hanning" window: ``0.5 - 0.5 cos(2 pi i / (n - 1))`` (symmetric)."""
    i = torch.arange(n, dtype=torch.float64)
    return (0.5 - 0.5 * torch.cos(2 * math.pi * i / (n - 1))).to(torch.float32)


class KaldiFbank(nn.Module):
    """``wav: (B, S)`` float in [-1, 1] at 16 kHz, ``lengths: (B,)`` -> ``(feats: (B, F, num_bins), frames: (B,))``.

    ``normalize=False`` returns the raw log-mel values (for comparison with other Kaldi implementations).
    Always computes in float32, also under autocast.
    """

    def __init__(self, num_bins: int = 128, normalize: bool = True) -> None:
        super().__init__()
        self.num_bins = num_bins
        self.normalize = normalize
        self.register_buffer("mel_banks", kaldi_mel_banks(num_bins), persistent=False)
        self.register_buffer("window", kaldi_hanning(), persistent=False)

    def reset_buffers(self) -> None:
        """Recompute the (non-persistent) filter matrix and window, e.g. after ``to_empty()``."""
        device = self.mel_banks.device
        self.mel_banks = kaldi_mel_banks(self.num_bins).to(device)
        self.window = kaldi_hanning().to(device)

    def _apply(self, fn, recurse: bool = True):
        """Keep the filter matrix and window in float32 when the model is cast to bf16/fp16."""
        super()._apply(fn, recurse)
        self.mel_banks = self.mel_banks.float()
        self.window = self.window.float()
        return self

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if wav.dim() != 2:
            raise ValueError(f"fbank expects wav of shape (B, S); got {tuple(wav.shape)}")
        batch, total = wav.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long, device=wav.device)
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        if total < FRAME_LENGTH:
            raise ValueError(f"fbank needs at least {FRAME_LENGTH} samples (25 ms at 16 kHz); got {total}")
        with torch.autocast(device_type=wav.device.type, enabled=False):
            x = wav.float()
            valid = torch.arange(total, device=wav.device)[None, :] < lengths[:, None]
            x = x * valid
            mean = x.sum(dim=1, keepdim=True) / lengths.clamp(min=1)[:, None].to(x.dtype)
            x = (x - mean) * valid
            frames = x.unfold(1, FRAME_LENGTH, FRAME_SHIFT)  # (B, F, 400)
            frames = frames - frames.mean(dim=-1, keepdim=True)
            prev = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
            frames = (frames - PREEMPHASIS * prev) * self.window
            spec = torch.fft.rfft(frames, n=FFT_SIZE)
            power = spec.real.square() + spec.imag.square()  # (B, F, 257)
            feats = torch.matmul(power, self.mel_banks).clamp_min(LOG_FLOOR).log()
            if self.normalize:
                feats = (feats - FBANK_MEAN) / (2.0 * FBANK_STD)
            n_frames = num_fbank_frames(lengths)
            fmask = torch.arange(feats.shape[1], device=wav.device)[None, :] < n_frames[:, None]
            feats = feats * fmask[..., None]
        return feats, n_frames
