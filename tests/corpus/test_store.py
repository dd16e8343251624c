"""Clips are written once (atomic, 16 kHz) and an unreadable source becomes a named, skippable error."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from usad.corpus.clip import Clip
from usad.corpus.store import ClipRenderError, ensure_clip


def _clip(render) -> Clip:
    return Clip("c1", render, "test", True, "test:c1")


def test_clip_is_written_once_then_skipped(tmp_path):
    calls = []

    def render():
        calls.append(1)
        return np.full(1600, 0.1, np.float32)

    path = tmp_path / "a" / "c1.flac"
    assert ensure_clip(_clip(render), path) == (0.1, True)
    assert sf.info(str(path)).samplerate == 16000
    assert ensure_clip(_clip(render), path) == (0.1, False)
    assert len(calls) == 1


def test_unreadable_source_raises_a_named_error(tmp_path):
    def render():
        raise ValueError("x.wav: contains no audio samples")

    with pytest.raises(ClipRenderError, match="c1.*no audio samples"):
        ensure_clip(_clip(render), tmp_path / "c1.wav")
    assert not (tmp_path / "c1.wav").exists()
