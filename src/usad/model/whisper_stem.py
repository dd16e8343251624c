"""A Whisper-style front end for the student (``EncoderConfig.frontend = "whisper"``).

With this front end a student has the input layout of a Whisper encoder, so a Whisper checkpoint can seed all of
it (conv stem and blocks; see ``student.warm_start``), as DistilHuBERT seeds its student from its teacher:

- log-mel: periodic Hann window of 400 samples every 160 (10 ms), power spectrum, Slaney-scale mel filters with
  Slaney normalisation (librosa's defaults, which Whisper uses), ``log10`` clamped at 1e-10, floored at the clip's
  maximum minus 8, then ``(x + 4) / 4``;
- each clip is zero-padded to a multiple of 20 ms (Whisper's "clip window" convention, not its 30 s window), and
  the signal is zero-padded by half a window at both ends (Whisper reflects it; zero padding is what makes a clip
  give the same frames alone and inside a padded batch);
- stem: Conv1d(n_mels, dim, 3) + GELU, Conv1d(dim, dim, 3, stride 2) + GELU, then fixed sinusoidal positions
  (Whisper's formula, computed for any length): 50 Hz, ``ceil(S / 320)`` frames.

``spectral_branch`` adds the method's own path beside it (:class:`SpectralBranch`: 128-bin Kaldi fbank -> 2-D conv
subsampler) through a per-channel gate (LayerScale style). At its default start of zero the student still starts as the
Whisper encoder and training can let in the finer spectral detail (pitch) that Whisper's 80-bin, 25 ms mel lacks;
a small non-zero start lets the branch's random features in from the first step.
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from usad.frontend import KaldiFbank
from usad.model.layers import ConvSubsampler, time_mask

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
ENCODER_HOP = 2 * HOP


def whisper_frames(num_samples: int | torch.Tensor) -> int | torch.Tensor:
    """Encoder frames (50 Hz) for a clip of ``num_samples``: ``ceil(S / 320)``; ints or long tensors."""
    return -(-num_samples // ENCODER_HOP)


def _hz_to_slaney(f: torch.Tensor) -> torch.Tensor:
    """Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    lin = 3.0 * f / 200.0
    log = 15.0 + torch.log(f.clamp_min(1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return torch.where(f >= 1000.0, log, lin)


def _slaney_to_hz(m: torch.Tensor) -> torch.Tensor:
    lin = 200.0 * m / 3.0
    log = 1000.0 * torch.exp((math.log(6.4) / 27.0) * (m - 15.0))
    return torch.where(m >= 15.0, log, lin)


@functools.lru_cache(maxsize=4)
def slaney_mel_filters(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> torch.Tensor:
    """``(n_mels, n_fft // 2 + 1)`` triangular filters from 0 Hz to Nyquist on the Slaney mel scale, each scaled
    by ``2 / bandwidth`` (librosa's ``filters.mel`` defaults)."""
    cpu = {"dtype": torch.float64, "device": "cpu"}   # real numbers also when a model is built on "meta"
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, **cpu)
    top = float(_hz_to_slaney(torch.tensor(sample_rate / 2.0, **cpu)))
    edges = _slaney_to_hz(torch.linspace(0.0, top, n_mels + 2, **cpu))
    widths = edges[1:] - edges[:-1]
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0.0)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.to(torch.float32)


def sinusoid_positions(length: int, dim: int, device=None) -> torch.Tensor:
    """Whisper's fixed positions ``(length, dim)``: ``[sin(t w_i), cos(t w_i)]``, ``w_i = 10000^(-i / (dim/2 - 1))``."""
    inc = math.log(10000.0) / (dim // 2 - 1)
    inv = torch.exp(-inc * torch.arange(dim // 2, dtype=torch.float64, device=device))
    t = torch.arange(length, dtype=torch.float64, device=device)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1).float()


class WhisperLogMel(nn.Module):
    """``wav: (B, S)``, ``lengths: (B,)`` -> ``(mel: (B, 2T, n_mels), mel_lengths: (B,))``, frames beyond each
    clip's ``2 * ceil(n / 320)`` zeroed. Always computed in float32, also under autocast."""

    def __init__(self, n_mels: int = 80) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.register_buffer("filters", slaney_mel_filters(n_mels), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)

    def reset_buffers(self) -> None:
        """Recompute the (non-persistent) filters and window, e.g. after ``to_empty()``."""
        device = self.filters.device
        self.filters = slaney_mel_filters(self.n_mels).to(device)
        self.window = torch.hann_window(N_FFT, periodic=True, device=device)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        self.filters = self.filters.float()
        self.window = self.window.float()
        return self

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, total = wav.shape
        frames = whisper_frames(lengths)
        padded = int(frames.max()) * ENCODER_HOP
        with torch.autocast(device_type=wav.device.type, enabled=False):
            x = wav.float()[:, :padded]
            x = x * (torch.arange(x.shape[1], device=wav.device)[None, :] < lengths[:, None])
            x = F.pad(x, (N_FFT // 2, N_FFT // 2 + padded - x.shape[1]))
            win = x.unfold(1, N_FFT, HOP)[:, : padded // HOP] * self.window      # (B, 2T, 400)
            spec = torch.fft.rfft(win, n=N_FFT)
            power = spec.real.square() + spec.imag.square()                     # (B, 2T, 201)
            logm = torch.matmul(power, self.filters.T).clamp_min(1e-10).log10()
            mel_lengths = 2 * frames
            valid = torch.arange(logm.shape[1], device=wav.device)[None, :] < mel_lengths[:, None]
            peak = logm.masked_fill(~valid[..., None], -math.inf).amax(dim=(1, 2), keepdim=True)
            logm = (torch.maximum(logm, peak - 8.0) + 4.0) / 4.0
            logm = logm * valid[..., None]
        return logm, mel_lengths


class WhisperStem(nn.Module):
    """``mel: (B, 2T, n_mels)`` -> ``(B, T, dim)`` at 50 Hz: two Conv1d + GELU (the second with stride 2), plus
    sinusoidal positions. Frames beyond each clip's length are zeroed before each conv."""

    def __init__(self, n_mels: int, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)

    def forward(self, mel: torch.Tensor, mel_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        valid = (torch.arange(mel.shape[1], device=mel.device)[None, :] < mel_lengths[:, None])[:, None, :]
        x = F.gelu(self.conv1(mel.transpose(1, 2)))
        x = F.gelu(self.conv2(x * valid.to(x.dtype))).transpose(1, 2)
        lengths = mel_lengths // 2
        return x + sinusoid_positions(x.shape[1], x.shape[2], x.device).to(x.dtype), lengths


class SpectralBranch(nn.Module):
    """``wav: (B, S)``, ``lengths: (B,)`` -> ``gate * subsampler(fbank(wav))``: ``(B, T, dim)`` on the Whisper stem's
    frame grid (the fbank path gives ``ceil(F / 2)`` frames, one or two fewer than ``ceil(S / 320)``; the missing
    last frames are zero). Every channel of the gate starts at ``gate_init``."""

    def __init__(self, dim: int, n_mels: int = 128, channels: int = 64, eps: float = 1e-5,
                 gate_init: float = 0.0) -> None:
        super().__init__()
        self.fbank = KaldiFbank(n_mels)
        self.subsampler = ConvSubsampler(n_mels, channels, dim, 2, eps)
        self.gate = nn.Parameter(torch.full((dim,), float(gate_init)))

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor, frames: int) -> torch.Tensor:
        feats, fbank_lengths = self.fbank(wav, lengths)
        y, y_lengths = self.subsampler(feats.to(self.subsampler.conv1.weight.dtype), fbank_lengths)
        y = y * time_mask(y_lengths, y.shape[1])[..., None].to(y.dtype)
        y = F.pad(y, (0, 0, 0, max(0, frames - y.shape[1])))[:, :frames]
        return y * self.gate.to(y.dtype)
