"""Scores from the music21 corpus (PyPI music21), converted to MIDI once and rendered with fluidsynth.

Styles are chosen where the corpus has many scores of one kind, so that a split by score is possible.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from usad.io import atomic_path

from ..clip import SAMPLE_RATE
from .midi_render import render_midi_file

# style label -> (music21 composer name, file extension kept)
STYLES: dict[str, tuple[str, str]] = {
    "bach_chorale": ("bach", ".mxl"),
    "palestrina_mass": ("palestrina", ".krn"),
    "monteverdi_madrigal": ("monteverdi", ".mxl"),
    "folk_tune": ("ryansMammoth", ".abc"),
}
# General-MIDI programs a score may be rendered with, drawn independently of its style
PROGRAMS = [0, 19, 48, 52, 73, 24]


@dataclass(frozen=True)
class Score:
    style: str
    path: str       # absolute path inside the installed music21 corpus
    score_id: str   # "<composer>/<file>"


def list_scores() -> list[Score]:
    from music21 import corpus

    out = []
    for style, (composer, ext) in STYLES.items():
        for p in sorted(str(x) for x in corpus.getComposer(composer)):
            if p.endswith(ext):
                out.append(Score(style, p, f"{composer}/{os.path.basename(p)}"))
    return out


def score_midi(score: Score, cache_dir: Path, program: int) -> Path:
    """The score as a MIDI file with every part on ``program`` (cached: music21 parsing is slow)."""
    import mido
    from music21 import converter
    from music21.midi import translate

    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / (score.score_id.replace("/", "__") + f".p{program}.mid")
    if out.exists():
        return out
    parsed = converter.parse(score.path)
    if hasattr(parsed, "scores"):  # an abc Opus: take its first tune
        parsed = parsed.scores[0]
    data = translate.music21ObjectToMidiFile(parsed).writestr()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.mid"
        raw.write_bytes(data)
        mid = mido.MidiFile(str(raw))
        for track in mid.tracks:
            for i, msg in enumerate(track):
                if msg.type == "program_change":
                    track[i] = msg.copy(program=program)
                elif hasattr(msg, "channel") and msg.channel == 9:
                    track[i] = msg.copy(channel=0)
        # tracks without a program change default to 0; add one at the start of each
        for track in mid.tracks:
            for ch in sorted({m.channel for m in track if hasattr(m, "channel")}):
                track.insert(0, mido.Message("program_change", program=program, channel=ch, time=0))
        with atomic_path(out) as tmp_out:
            mid.save(str(tmp_out))
    return out
