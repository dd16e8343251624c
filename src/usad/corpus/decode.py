"""Decoding source files to 16 kHz mono float32 (through ``usad.audio``, the project's one resampler)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from usad.audio import load_audio, resample

from .clip import SAMPLE_RATE


def read_file(path: str | Path) -> np.ndarray:
    """The whole file as wav: (S,) float32 mono at 16 kHz."""
    return load_audio(str(path), SAMPLE_RATE, min_samples=1).numpy().astype(np.float32, copy=False)


def read_segment(path: str | Path, start_s: float, duration_s: float) -> np.ndarray:
    """``duration_s`` seconds from ``start_s`` as wav: (S,) float32 mono at 16 kHz (reads only that part)."""
    info = sf.info(str(path))
    start = int(round(start_s * info.samplerate))
    stop = min(info.frames, start + int(round(duration_s * info.samplerate)))
    data, sr = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if sr != SAMPLE_RATE:
        mono = resample(mono, sr, SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


def duration_of(path: str | Path) -> float:
    """Duration in seconds from the file header (no decoding)."""
    info = sf.info(str(path))
    return info.frames / float(info.samplerate)


def trim_silence(wav: np.ndarray, threshold_db: float = -40.0, frame: int = 320) -> tuple[int, int]:
    """(start, end) sample indices of the part louder than ``threshold_db`` below the clip's peak frame energy.

    wav: (S,). Returns (0, 0) for an all-silent clip.
    """
    n = len(wav) // frame
    if n == 0:
        return 0, len(wav)
    energy = (wav[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    peak = float(energy.max())
    if peak <= 0.0:
        return 0, 0
    loud = np.nonzero(energy >= peak * 10 ** (threshold_db / 10))[0]
    return int(loud[0] * frame), int(min(len(wav), (loud[-1] + 1) * frame))
