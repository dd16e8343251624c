"""Audio input: read files or arrays, downmix to mono, resample to 16 kHz with soxr, validate.

Every waveform entering the project goes through :func:`load_audio`; every sample-rate change goes through
:func:`resample`. Errors are :class:`AudioError` (a ``ValueError``) and name the input and what to do.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import soxr
import torch

from usad.frontend import FRAME_LENGTH

SAMPLE_RATE = 16000
MIN_SAMPLES = FRAME_LENGTH  # 25 ms at 16 kHz: one fbank frame, which gives one encoder frame
MAX_CHANNELS = 64

AudioSource = Union[str, os.PathLike, np.ndarray, torch.Tensor]


class AudioError(ValueError):
    """Audio that cannot be used; the message names the input, says what was wrong and what to do."""


def resample(wav, orig_sr: int, new_sr: int):
    """Resample with soxr (HQ) along the last axis. ``wav``: numpy array or tensor ``(S,)`` or ``(C, S)``.

    Returns the same type (tensors keep their device and floating dtype). The project's single resampler.
    """
    if int(orig_sr) <= 0 or int(new_sr) <= 0:
        raise ValueError(f"sample rates must be positive; got {orig_sr} -> {new_sr}")
    if int(orig_sr) == int(new_sr):
        return wav
    is_tensor = isinstance(wav, torch.Tensor)
    arr = wav.detach().to("cpu", torch.float32).numpy() if is_tensor else np.asarray(wav, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise ValueError(f"resample expects (S,) or (C, S); got shape {arr.shape}")
    out = soxr.resample(np.ascontiguousarray(arr.T), int(orig_sr), int(new_sr), quality="HQ").T
    out = np.ascontiguousarray(out, dtype=np.float32)
    if is_tensor:
        dtype = wav.dtype if wav.is_floating_point() else torch.float32
        return torch.from_numpy(out).to(device=wav.device, dtype=dtype)
    return out


def _to_float(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False)
    if arr.dtype.kind == "i":
        return (arr.astype(np.float64) / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(np.float32)
    if arr.dtype.kind == "u":
        half = float(2 ** (8 * arr.dtype.itemsize - 1))
        return ((arr.astype(np.float64) - half) / half).astype(np.float32)
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    raise AudioError(f"{name}: unsupported sample type {arr.dtype}; pass float or integer PCM samples")


def _to_mono(arr: np.ndarray, name: str) -> np.ndarray:
    """(S,) stays; (C, S) or (S, C) with the smaller axis <= MAX_CHANNELS is averaged over channels."""
    if arr.ndim == 1:
        return arr
    if arr.ndim != 2:
        raise AudioError(f"{name}: expected a waveform of shape (samples,) or (channels, samples); "
                         f"got shape {arr.shape}. Pass one clip at a time.")
    ch_axis = 0 if arr.shape[0] <= arr.shape[1] else 1
    if arr.shape[ch_axis] > MAX_CHANNELS:
        raise AudioError(f"{name}: shape {arr.shape} does not look like (channels, samples) with at most "
                         f"{MAX_CHANNELS} channels; pass one clip at a time as (samples,) or (channels, samples)")
    return arr.mean(axis=ch_axis, dtype=np.float64).astype(np.float32)


def _read_file(path: Path, name: str) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise AudioError(f"{name}: file not found; check the path")
    if path.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (S, C)
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError / TypeError by format
        raise AudioError(f"{name}: cannot decode audio ({type(exc).__name__}: {exc}). Use a format libsndfile "
                         f"reads (wav, flac, ogg, mp3) or convert it, e.g. `ffmpeg -i IN -ar 16000 -ac 1 "
                         f"OUT.flac`.") from exc
    return data.T, int(sr)


def load_audio(src: AudioSource, sample_rate: int = SAMPLE_RATE, name: str | None = None, *,
               source_rate: int | None = None, min_samples: int = MIN_SAMPLES) -> torch.Tensor:
    """Load ``src`` as a validated mono float32 waveform ``(S,)`` at ``sample_rate``.

    ``src``: a path (anything libsndfile reads: wav, flac, ogg, mp3, ...) or a numpy array / tensor shaped
    ``(S,)`` or ``(C, S)`` (``(S, C)`` is accepted when unambiguous); arrays need ``source_rate``. Integer PCM
    is scaled to [-1, 1]. Raises :class:`AudioError` when the input is unreadable, empty, contains NaN/Inf, or
    is shorter than ``min_samples`` at ``sample_rate`` (one encoder frame by default). Silence is valid.
    """
    if isinstance(src, (str, os.PathLike)):
        name = name or str(src)
        arr, sr = _read_file(Path(src), name)
    elif isinstance(src, (np.ndarray, torch.Tensor)):
        name = name or f"<{type(src).__name__} of shape {tuple(src.shape)}>"
        if source_rate is None:
            raise AudioError(f"{name}: in-memory audio needs its sample rate; pass source_rate=")
        arr = src.detach().cpu().numpy() if isinstance(src, torch.Tensor) else src
        arr, sr = _to_float(np.asarray(arr), name), int(source_rate)
    else:
        raise AudioError(f"{name or repr(src)}: expected a path, numpy array or torch tensor; "
                         f"got {type(src).__name__}")
    if sr <= 0:
        raise AudioError(f"{name}: invalid sample rate {sr}")
    if arr.size == 0:
        raise AudioError(f"{name}: contains no audio samples; remove it from the input list")
    mono = _to_mono(arr, name)
    bad = int((~np.isfinite(mono)).sum())
    if bad:
        raise AudioError(f"{name}: contains {bad} NaN/Inf samples; re-export or clean the audio")
    if sr != sample_rate:
        mono = resample(mono, sr, sample_rate)
    if mono.shape[0] < min_samples:
        raise AudioError(f"{name}: only {mono.shape[0]} samples ({1000 * mono.shape[0] / sample_rate:.1f} ms) "
                         f"at {sample_rate} Hz; the encoder needs at least {min_samples} samples "
                         f"({1000 * min_samples / sample_rate:.0f} ms). Pad it with silence or drop it.")
    return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))
