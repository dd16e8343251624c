"""Source files as 16 kHz mono float32 arrays (read by ``usad.audio``, the project's one reader and resampler)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from usad.audio import load_audio

from .clip import SAMPLE_RATE


def read_file(path: str | Path, start_s: float = 0.0, duration_s: float | None = None) -> np.ndarray:
    """The file, or ``duration_s`` seconds of it from ``start_s`` (only that part is read), as wav: (S,) float32
    mono at 16 kHz: :func:`usad.audio.load_audio` as a numpy array, any length of at least one sample."""
    return load_audio(str(path), SAMPLE_RATE, min_samples=1, offset=start_s, duration=duration_s).numpy()


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
