"""Write General-MIDI note lists with ``mido`` and render them with the fluidsynth program and a GM soundfont.

Labels are exact because we choose every note. Rendering many short clips is done as one long MIDI file per
instrument (clips placed back to back with a gap for the release tail), then cut: one fluidsynth start per batch.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ..clip import SAMPLE_RATE

GM_FAMILIES = ["piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed",
               "pipe", "synth_lead", "synth_pad", "synth_effects", "ethnic", "percussive", "sound_effects"]
PITCH_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
TICKS = 480  # per beat; at 120 bpm one beat is 0.5 s, so a tick is 1/960 s


@dataclass(frozen=True)
class Note:
    pitch: int       # MIDI note number
    start: float     # seconds
    end: float       # seconds
    velocity: int = 96


def family_of(program: int) -> str:
    """GM family of a 0-based program number."""
    return GM_FAMILIES[program // 8]


def find_soundfont() -> Path | None:
    for p in ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/sounds/sf2/FluidR3_GM.sf2"):
        if Path(p).exists():
            return Path(p)
    return None


def write_midi(notes: list[Note], program: int, path: Path) -> None:
    """One-track MIDI at 120 bpm on channel 0 (channel 9 would be drums) with the given GM ``program``."""
    import mido

    events = []
    for n in notes:
        events.append((n.start, 1, mido.Message("note_on", note=n.pitch, velocity=n.velocity, channel=0)))
        events.append((n.end, 0, mido.Message("note_off", note=n.pitch, velocity=0, channel=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    now = 0
    for t, _, msg in events:
        tick = int(round(t * 2 * TICKS))
        track.append(msg.copy(time=max(0, tick - now)))
        now = max(now, tick)
    mid = mido.MidiFile(ticks_per_beat=TICKS)
    mid.tracks.append(track)
    mid.save(str(path))


def render_midi_file(midi_path: Path, max_seconds: float | None = None, soundfont: Path | None = None) -> np.ndarray:
    """Render a MIDI file to wav: (S,) float32 mono at 16 kHz (reverb and chorus off, so labels stay sharp).

    fluidsynth's file renderer can run forever on some files (hanging notes), so rendering stops at
    ``max_seconds`` (default: the MIDI length + 2 s).
    """
    import mido

    sf2 = soundfont or find_soundfont()
    if sf2 is None or shutil.which("fluidsynth") is None:
        raise RuntimeError("fluidsynth or a GM soundfont is missing; install with: "
                           "apt-get install -y fluidsynth timgm6mb-soundfont")
    if max_seconds is None:
        max_seconds = mido.MidiFile(str(midi_path)).length + 2.0
    limit = int(max_seconds * SAMPLE_RATE) * 4   # stereo s16
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.raw"
        cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(SAMPLE_RATE),
               "-T", "raw", "-O", "s16", "-E", "little", "-F", str(out), str(sf2), str(midi_path)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None:
            if out.exists() and out.stat().st_size >= limit:
                proc.kill()
                break
            time.sleep(0.01)
        err = proc.communicate()[1].decode(errors="replace")
        if not out.exists():
            raise RuntimeError(f"fluidsynth failed on {midi_path}: {err.strip()[-500:]}")
        raw = np.fromfile(out, dtype="<i2")
    n = min(len(raw) // 2, limit // 4)
    return (raw[: 2 * n].reshape(n, 2).astype(np.float32).mean(axis=1) / 32768.0).astype(np.float32)


def render_notes(notes: list[Note], program: int, total_s: float) -> np.ndarray:
    """Render ``notes`` with GM ``program``; wav: (round(total_s * 16000),) float32, zero-padded or cut."""
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "in.mid"
        write_midi(notes, program, mid)
        wav = render_midi_file(mid, max_seconds=total_s)
    n = int(round(total_s * SAMPLE_RATE))
    return np.pad(wav, (0, max(0, n - len(wav))))[:n].astype(np.float32)


class BatchRenderer:
    """Renders many note lists for one program in a single fluidsynth call, lazily and at most once.

    ``add(notes, duration)`` returns an index; ``get(index)`` renders the whole batch on first use and returns the
    clip's wav: (duration * 16000,) float32. Clips are separated by ``gap`` seconds of silence for release tails.
    """

    def __init__(self, program: int, gap: float = 1.0):
        self.program, self.gap = program, gap
        self._items: list[tuple[float, float]] = []   # (offset, duration)
        self._notes: list[Note] = []
        self._end = 0.0
        self._wav: np.ndarray | None = None

    def add(self, notes: list[Note], duration: float) -> int:
        off = self._end
        self._notes += [Note(n.pitch, n.start + off, n.end + off, n.velocity) for n in notes]
        self._items.append((off, duration))
        self._end = off + duration + self.gap
        return len(self._items) - 1

    def get(self, index: int) -> np.ndarray:
        if self._wav is None:
            self._wav = render_notes(self._notes, self.program, self._end)
        off, dur = self._items[index]
        a, b = int(round(off * SAMPLE_RATE)), int(round((off + dur) * SAMPLE_RATE))
        return self._wav[a:b].copy()
