"""Whisper's log-mel front end (80 or 128 bins), 30 s padding convention.

Pad (or cut) to 30 s, STFT n_fft 400 / hop 160 with a periodic Hann window (centred, reflect padding), drop the last
frame (3000 frames), power spectrum, Slaney mel filters, log10 clamped at 1e-10, floored at (max - 8) per clip,
then (x + 4) / 4.
"""
from __future__ import annotations

import torch

from usad.model.whisper_stem import slaney_mel_filters

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
CHUNK_SECONDS = 30
CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE
MEL_FRAMES = CHUNK_SAMPLES // HOP  # 3000


def log_mel(wav: torch.Tensor, lengths: torch.Tensor | None = None, n_mels: int = 80,
            pad_to: int = CHUNK_SAMPLES) -> torch.Tensor:
    """wav: (B, S) 16 kHz float, S <= pad_to -> (B, n_mels, pad_to / 160) normalised log-mel, each clip
    zero-padded to ``pad_to`` samples (Whisper's convention: 30 s, 3000 frames; a multiple of 320 otherwise).

    Samples at or beyond ``lengths[b]`` are zeroed first, so padding in the batch is the same as Whisper's padding.
    """
    if wav.dim() == 1:
        wav = wav[None]
    B, S = wav.shape
    if S > pad_to or pad_to > CHUNK_SAMPLES or pad_to % (2 * HOP):
        raise ValueError(f"log_mel: input has {S} samples for a window of {pad_to} (at most 30 s, a multiple of "
                         f"{2 * HOP}); split it first")
    x = torch.zeros(B, pad_to, dtype=torch.float32, device=wav.device)
    x[:, :S] = wav.float()
    if lengths is not None:
        x[torch.arange(pad_to, device=wav.device)[None, :] >= lengths[:, None]] = 0.0
    window = torch.hann_window(N_FFT, device=wav.device)
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = spec[..., :-1].abs() ** 2  # (B, 201, pad_to / 160)
    mel = slaney_mel_filters(n_mels).to(wav.device) @ power
    logm = torch.clamp(mel, min=1e-10).log10()
    logm = torch.maximum(logm, logm.amax(dim=(1, 2), keepdim=True) - 8.0)
    return (logm + 4.0) / 4.0


def encoder_frames(num_samples: int) -> int:
    """Valid encoder frames (50 Hz) for a clip of ``num_samples`` at 16 kHz inside one 30 s window."""
    return min(MEL_FRAMES // 2, -(-int(num_samples) // (2 * HOP)))
