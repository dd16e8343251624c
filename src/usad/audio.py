"""Audio input: read files or arrays, downmix to mono, resample to 16 kHz with soxr, validate.

Every waveform entering the project goes through :func:`load_audio`; every sample-rate change goes through
:func:`resample`. Errors are :class:`AudioError` (a ``ValueError``) and name the input and what to do.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import soundfile as sf
import soxr
import torch

from usad.errors import UsadError
from usad.frontend import FRAME_LENGTH

SAMPLE_RATE = 16000
MIN_SAMPLES = FRAME_LENGTH  # 25 ms at 16 kHz: one fbank frame, which gives one encoder frame
MAX_CHANNELS = 64

AudioSource = Union[str, os.PathLike, np.ndarray, torch.Tensor]


class AudioError(UsadError):
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


def pad_batch(wavs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips ``(S_i,)`` -> (wav: (B, S) zero-padded to the longest, on the clips' device and dtype; lengths: (B,)
    long, on the CPU): how every batch of variable-length clips is formed."""
    lengths = torch.tensor([w.shape[-1] for w in wavs], dtype=torch.long)
    like = wavs[0] if len(wavs) else torch.zeros(0)
    out = like.new_zeros(len(wavs), int(lengths.max()) if len(wavs) else 0)
    for i, w in enumerate(wavs):
        out[i, : w.shape[-1]] = w
    return out, lengths


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


BLOCK_FRAMES = 1 << 16  # frames decoded per read: peak memory is the mono 16 kHz output plus one block


def open_audio(path: str | os.PathLike, name: str | None = None) -> sf.SoundFile:
    """Open ``path`` with libsndfile; AudioError naming the file when it is missing, a folder or undecodable."""
    path, name = Path(path), name or str(path)
    if not path.exists():
        raise AudioError(f"{name}: file not found; check the path")
    if path.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    try:
        return sf.SoundFile(str(path))
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError / TypeError by format
        raise AudioError(f"{name}: cannot decode audio ({type(exc).__name__}: {exc}). Use a format libsndfile "
                         f"reads (wav, flac, ogg, mp3) or convert it, e.g. `ffmpeg -i IN -ar 16000 -ac 1 "
                         f"OUT.flac`.") from exc


def audio_duration(path: str | os.PathLike, name: str | None = None) -> float:
    """Length of an audio file in seconds, from its header (AudioError as :func:`open_audio`)."""
    with open_audio(path, name) as fh:
        return fh.frames / fh.samplerate if fh.samplerate > 0 else 0.0


def _span(offset: float, duration: float | None, rate: int, total: int, name: str) -> tuple[int, int]:
    """[start, stop) samples of a crop given in seconds, checked against the ``total`` samples available."""
    if offset < 0 or not np.isfinite(offset):
        raise AudioError(f"{name}: offset {offset!r} s is invalid; it must be a number >= 0")
    if duration is not None and (not np.isfinite(duration) or duration <= 0):
        raise AudioError(f"{name}: duration {duration!r} s is invalid; it must be a number > 0")
    start = int(round(offset * rate))
    if offset > 0 and start >= total:
        raise AudioError(f"{name}: offset {offset:g} s is past the end of the audio ({total / rate:.3f} s)")
    stop = total if duration is None else min(total, start + int(round(duration * rate)))
    return start, stop


def _read_file(path: Path, name: str, sample_rate: int, offset: float, duration: float | None
               ) -> tuple[np.ndarray, int]:
    """Decode, downmix and resample block by block: (mono float32 at ``sample_rate``, count of NaN/Inf samples).

    Memory stays near the size of the output (one ``BLOCK_FRAMES`` block of the source at a time, soxr's
    streaming resampler), not the decoded multichannel file.
    """
    with open_audio(path, name) as fh:
        rate = int(fh.samplerate)
        if rate <= 0:
            raise AudioError(f"{name}: invalid sample rate {rate}")
        start, stop = _span(offset, duration, rate, fh.frames, name)
        if start:
            fh.seek(start)
        count = max(0, stop - start)
        ratio = sample_rate / rate
        out = np.empty(int(np.ceil(count * ratio)) + 1, dtype=np.float32)
        stream = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ") if rate != sample_rate \
            else None
        filled = done = bad = 0
        while done < count:
            try:
                block = fh.read(min(BLOCK_FRAMES, count - done), dtype="float32", always_2d=True)  # (n, C)
            except Exception as exc:
                raise AudioError(f"{name}: cannot decode audio after {done / rate:.1f} s ({type(exc).__name__}: "
                                 f"{exc}); the file may be truncated. Re-export it, e.g. `ffmpeg -i IN -ar 16000 "
                                 f"-ac 1 OUT.flac`.") from exc
            if block.shape[0] == 0:  # the header promised more frames than the file holds
                break
            done += block.shape[0]
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float64).astype(np.float32)
            finite = np.isfinite(mono)
            if not finite.all():  # count them, and keep NaN out of the resampler's state
                bad += int((~finite).sum())
                mono = np.where(finite, mono, 0.0).astype(np.float32)
            piece = mono if stream is None else stream.resample_chunk(mono, last=done >= count)
            if filled + piece.shape[0] > out.shape[0]:
                out = np.concatenate([out[:filled], np.empty(piece.shape[0], np.float32)])
            out[filled: filled + piece.shape[0]] = piece
            filled += piece.shape[0]
        if stream is not None and done < count:  # truncated file: flush what the resampler still holds
            tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
            out = np.concatenate([out[:filled], tail])
            filled = out.shape[0]
    return out[:filled], bad


def load_audio(src: AudioSource, sample_rate: int = SAMPLE_RATE, name: str | None = None, *,
               source_rate: int | None = None, min_samples: int = MIN_SAMPLES, offset: float = 0.0,
               duration: float | None = None) -> torch.Tensor:
    """Load ``src`` as a validated mono float32 waveform ``(S,)`` at ``sample_rate``.

    ``src``: a path (anything libsndfile reads: wav, flac, ogg, mp3, ...) or a numpy array / tensor shaped
    ``(S,)`` or ``(C, S)`` (``(S, C)`` is accepted when unambiguous); arrays need ``source_rate``. Integer PCM
    is scaled to [-1, 1]. ``offset``/``duration`` (seconds) read only that part. Files are decoded, downmixed and
    resampled in blocks, so memory stays near the size of the result. Raises :class:`AudioError` when the input
    is missing, unreadable, empty, contains NaN/Inf, is shorter than ``min_samples`` at ``sample_rate`` (one
    encoder frame by default), or the crop is invalid. Silence is valid.
    """
    if isinstance(src, (str, os.PathLike)):
        name = name or str(src)
        mono, bad = _read_file(Path(src), name, sample_rate, float(offset), duration)
        if bad:
            raise AudioError(f"{name}: contains {bad} NaN/Inf samples; re-export or clean the audio")
        if mono.size == 0:
            raise AudioError(f"{name}: contains no audio samples; remove it from the input list")
    elif isinstance(src, (np.ndarray, torch.Tensor)):
        name = name or f"<{type(src).__name__} of shape {tuple(src.shape)}>"
        if source_rate is None:
            raise AudioError(f"{name}: in-memory audio needs its sample rate; pass source_rate=")
        arr = src.detach().cpu().numpy() if isinstance(src, torch.Tensor) else src
        arr, sr = _to_float(np.asarray(arr), name), int(source_rate)
        if sr <= 0:
            raise AudioError(f"{name}: invalid sample rate {sr}")
        if arr.size == 0:
            raise AudioError(f"{name}: contains no audio samples; remove it from the input list")
        mono = _to_mono(arr, name)
        if offset or duration is not None:
            start, stop = _span(float(offset), duration, sr, mono.shape[0], name)
            mono = mono[start:stop]
        bad = int((~np.isfinite(mono)).sum())
        if bad:
            raise AudioError(f"{name}: contains {bad} NaN/Inf samples; re-export or clean the audio")
        if sr != sample_rate:
            mono = resample(mono, sr, sample_rate)
    else:
        raise AudioError(f"{name or repr(src)}: expected a path, numpy array or torch tensor; "
                         f"got {type(src).__name__}")
    if mono.shape[0] < min_samples:
        raise AudioError(f"{name}: only {mono.shape[0]} samples ({1000 * mono.shape[0] / sample_rate:.1f} ms) "
                         f"at {sample_rate} Hz; the encoder needs at least {min_samples} samples "
                         f"({1000 * min_samples / sample_rate:.0f} ms). Pad it with silence or drop it.")
    return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))
