"""Writing clips once: a file that exists is never rendered again (resumable builds), writes are atomic."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from usad.io import atomic_path

from .clip import SAMPLE_RATE, Clip


class ClipRenderError(RuntimeError):
    """A source could not be turned into a clip (unreadable or empty file); the build skips it and says so."""


def ensure_clip(clip: Clip, path: Path) -> tuple[float, bool]:
    """Write ``clip`` to ``path`` (16 kHz mono, 16-bit; FLAC or WAV by suffix) unless it exists.

    Returns (duration in seconds, whether audio was rendered).
    """
    if path.exists():
        info = sf.info(str(path))
        return info.frames / float(info.samplerate), False
    try:
        wav = np.asarray(clip.render(), dtype=np.float32)
    except (ValueError, RuntimeError, OSError) as e:   # e.g. usad.audio.AudioError on an empty source file
        raise ClipRenderError(f"clip {clip.id} from {clip.source} skipped: {e}") from e
    if wav.ndim != 1 or len(wav) == 0 or not np.all(np.isfinite(wav)):
        raise ClipRenderError(f"clip {clip.id} from {clip.source}: rendered audio is empty, not mono or not finite")
    wav = np.clip(wav, -1.0, 1.0)
    fmt = "FLAC" if path.suffix == ".flac" else "WAV"
    with atomic_path(path) as tmp:
        sf.write(str(tmp), wav, SAMPLE_RATE, subtype="PCM_16", format=fmt)
    return len(wav) / float(SAMPLE_RATE), True
