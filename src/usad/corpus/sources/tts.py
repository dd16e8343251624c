"""Synthetic speech with espeak-ng: exact text, language and voice labels (all marked synthetic)."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from usad.audio import resample

from ..clip import SAMPLE_RATE

VARIANTS = ["m1", "m3", "f1", "f3", "klatt", "m5", "f5", "croak", "whisper", "m7", "f2", "m2"]
# espeak-ng voice of a language code: the accents closest to the asterisk recordings (US English, Latin American
# Spanish); other codes are used as they are
VOICES = {"en": "en-us", "es": "es-419", "fr": "fr-fr"}


def speak(text: str, language: str, variant: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng voice ``language+variant``: wav (S,) float32 mono at 16 kHz."""
    voice = VOICES.get(language, language)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tts.wav"
        cmd = ["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch), "-w", str(out), text]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"espeak-ng failed for voice {voice}+{variant}: {res.stderr.strip()[-300:]}; "
                               "install it with: apt-get install -y espeak-ng")
        data, sr = sf.read(str(out), dtype="float32", always_2d=True)
    return np.ascontiguousarray(resample(data.mean(axis=1), sr, SAMPLE_RATE), dtype=np.float32)
