"""Shared test helpers. See docs/interfaces.md."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def require(condition: bool, why: str) -> None:
    """Skip when a registry asset is missing; fail instead when USAD_REQUIRE_ASSETS=1 (CI installs them all)."""
    if condition:
        return
    if os.environ.get("USAD_REQUIRE_ASSETS") == "1":
        pytest.fail(f"required asset missing (USAD_REQUIRE_ASSETS=1): {why}")
    pytest.skip(why)


@pytest.fixture
def speech_wav_path() -> str:
    """A real English IVR prompt from Debian's asterisk-core-sounds-en-wav (8 kHz WAV)."""
    hits = sorted(glob.glob("/usr/share/asterisk/sounds/en*/*.wav"))
    require(bool(hits), "apt-get install asterisk-core-sounds-en-wav")
    preferred = [h for h in hits if os.path.basename(h).startswith("vm-")]
    return (preferred or hits)[0]


@pytest.fixture
def tone():
    def make(freq: float = 440.0, seconds: float = 1.0, sr: int = 16000) -> np.ndarray:
        t = np.arange(int(seconds * sr)) / sr
        return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)

    return make
