"""Fixtures for teacher tests: real notes rendered with fluidsynth, real prompts and sound files from Debian."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from tests.conftest import require

SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def _midi_bytes(note: int, seconds: float, program: int) -> bytes:
    """A one-note type-0 MIDI file at 120 bpm, 480 ticks per quarter (1 s = 960 ticks)."""
    ticks = int(seconds * 960)

    def vlq(n: int) -> bytes:
        out = [n & 0x7F]
        while n > 127:
            n >>= 7
            out.append((n & 0x7F) | 0x80)
        return bytes(reversed(out))

    events = (b"\x00\xc0" + bytes([program]) + b"\x00\x90" + bytes([note, 100])
              + vlq(ticks) + b"\x80" + bytes([note, 0]) + b"\x00\xff\x2f\x00")
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(events)) + events)


@pytest.fixture(scope="session")
def render_note(tmp_path_factory):
    """render_note(midi_note, seconds=1.0, program=0) -> 16 kHz mono float32 array rendered by fluidsynth."""
    require(shutil.which("fluidsynth") is not None and os.path.isfile(SOUNDFONT),
            "apt-get install fluidsynth timgm6mb-soundfont")
    from usad.audio import load_audio

    root = tmp_path_factory.mktemp("midi")

    def render(note: int, seconds: float = 1.0, program: int = 0) -> np.ndarray:
        mid, wav = root / f"n{note}_{program}.mid", root / f"n{note}_{program}.wav"
        mid.write_bytes(_midi_bytes(note, seconds, program))
        subprocess.run(["fluidsynth", "-ni", "-g", "1.0", "-r", "16000", "-F", str(wav), SOUNDFONT, str(mid)],
                       check=True, capture_output=True)
        x = load_audio(str(wav)).numpy()
        return x[: int(seconds * 16000)]

    return render
