"""Music probe tasks from exact MIDI renders: instrument family, note pitch, composer/style, note events."""
from __future__ import annotations

import math

import numpy as np

from ..clip import Clip, rng_for, stable_hash
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sources.midi_render import PITCH_NAMES, BatchRenderer, Note, family_of
from ..splits import SPLITS, split_counts, split_within_classes

INSTRUMENT_FAMILIES = 12                   # piano .. synth_pad (GM programs 0-95)
MELODIC = [p for p in range(96) if not 32 <= p < 40]   # no basses: they cannot play the upper pitches well
PITCHES = list(range(48, 85))             # C3..C6, 37 classes
FAMILY_RANGE = {"bass": (28, 55), "pipe": (60, 88), "piano": (40, 84)}
PHRASE_S = 2.0                            # instrument_family clip length
EVENT_FILE_S = 3.0                        # note_events file length
EVENT_FILES_PER_PROGRAM = 4


def _renderer_clip(cid: str, renderer: BatchRenderer, index: int, key: str, group: str, labels: dict) -> Clip:
    return Clip(cid, lambda: renderer.get(index), "fluidsynth-timgm6mb", True, key, group=group, domain="music",
                labels=labels)


def _have_fluidsynth(ctx: BuildContext, name: str) -> bool:
    return ctx.root("fluidsynth", name) is not None


def _phrase(rng: np.random.Generator, lo: int, hi: int, seconds: float) -> list[Note]:
    notes, t = [], 0.0
    while t < seconds - 0.3:
        d = float(rng.uniform(0.2, 0.7))
        notes.append(Note(int(rng.integers(lo, hi + 1)), t, min(seconds, t + d * 0.9), int(rng.integers(70, 111))))
        t += d
    return notes


def instrument_family(ctx: BuildContext) -> ProbeTaskPlan | None:
    if not _have_fluidsynth(ctx, "instrument_family"):
        return None
    programs = list(range(INSTRUMENT_FAMILIES * 8))
    # 8 programs per family: 5 train, 1 valid, 2 test
    splits = split_within_classes([(family_of(p), str(p)) for p in programs], ctx.seed, valid=0.125, test=0.25)
    per_program = dict(zip(SPLITS, ctx.size.instrument_per_program))
    entries = []
    for p in programs:
        fam = family_of(p)
        split = splits[(fam, str(p))]
        lo, hi = FAMILY_RANGE.get(fam, (48, 84))
        r = BatchRenderer(p)
        for k in range(per_program[split]):
            rng = rng_for(ctx.seed, "instrument_family", p, k)
            idx = r.add(_phrase(rng, lo, hi, PHRASE_S), PHRASE_S)
            cid = f"gm{p:03d}-{k:02d}"
            entries.append(ProbeEntry(_renderer_clip(cid, r, idx, f"midi:instrument_family/{cid}", str(p),
                                                     {"program": p, "family": fam}), split, [fam]))
    return ProbeTaskPlan("instrument_family", "music", f"General-MIDI instrument family of a {PHRASE_S:g} s rendered "
                     "phrase (12 families, TimGM6mb soundfont).",
                     "by GM program: test programs (instruments) are never heard in train (5 / 1 / 2 programs "
                     "per family)", sample_duration=PHRASE_S, entries=entries)


def note_pitch(ctx: BuildContext) -> ProbeTaskPlan | None:
    if not _have_fluidsynth(ctx, "note_pitch"):
        return None
    n_train, n_valid, n_test = ctx.size.pitch_programs
    programs = sorted(MELODIC, key=lambda p: stable_hash(ctx.seed, "pitch_program", p))[: n_train + n_valid + n_test]
    splits = split_counts([str(p) for p in programs], ctx.seed, n_valid, n_test)
    entries = []
    for p in programs:
        r = BatchRenderer(p)
        for pitch in PITCHES:
            vel = int(rng_for(ctx.seed, "note_pitch", p, pitch).integers(60, 121))
            idx = r.add([Note(pitch, 0.0, 0.75, vel)], 1.0)
            cid = f"gm{p:03d}-n{pitch:03d}"
            entries.append(ProbeEntry(_renderer_clip(cid, r, idx, f"midi:note_pitch/{cid}", str(p),
                                                     {"program": p, "pitch": pitch}), splits[str(p)], [str(pitch)]))
    return ProbeTaskPlan("note_pitch", "music", "MIDI pitch (48-84) of a single rendered note, NSynth-style.",
                     "by GM program: test instruments are never heard in train", sample_duration=1.0,
                     entries=entries)


def note_events(ctx: BuildContext) -> ProbeTaskPlan | None:
    """Frame-level: which pitch classes sound when (HEAR event task, onsets/offsets exact from the MIDI)."""
    if not _have_fluidsynth(ctx, "note_events"):
        return None
    files = dict(zip(SPLITS, ctx.size.event_files))
    n_prog = {s: max(1, math.ceil(files[s] / EVENT_FILES_PER_PROGRAM)) for s in SPLITS}
    programs = sorted(MELODIC, key=lambda p: stable_hash(ctx.seed, "event_program", p))[: sum(n_prog.values())]
    splits = split_counts([str(p) for p in programs], ctx.seed, n_prog["valid"], n_prog["test"])
    seconds = EVENT_FILE_S
    entries = []
    for p in programs:
        r = BatchRenderer(p)
        for k in range(EVENT_FILES_PER_PROGRAM):
            rng = rng_for(ctx.seed, "note_events", p, k)
            notes, t = [], float(rng.uniform(0.0, 0.8))
            while t < seconds - 0.5:
                d = float(rng.uniform(0.15, 0.9))
                chord = int(rng.integers(1, 3))
                for pitch in rng.choice(PITCHES, size=chord, replace=False):
                    notes.append(Note(int(pitch), t, min(seconds - 0.2, t + d), int(rng.integers(70, 111))))
                t += d + float(rng.uniform(0.0, 0.6))
            idx = r.add(notes, seconds)
            cid = f"gm{p:03d}-ev{k:02d}"
            labels = [{"label": PITCH_NAMES[n.pitch % 12], "start": round(n.start * 1000, 1),
                       "end": round(n.end * 1000, 1)} for n in notes]
            entries.append(ProbeEntry(_renderer_clip(cid, r, idx, f"midi:note_events/{cid}", str(p),
                                                     {"program": p}), splits[str(p)], labels))
    kept = []
    for s in SPLITS:   # exactly the requested number of files per split (whole programs first)
        kept += sorted((e for e in entries if e.split == s), key=lambda e: e.clip.id)[: files[s]]
    return ProbeTaskPlan("note_events", "music", "Frame-level pitch-class activity (12 classes, polyphony <= 2) in "
                     f"{seconds:g} s rendered melodies; start/end in ms from the MIDI note on/off.",
                     "by GM program: test instruments are never heard in train", embedding_type="event",
                     prediction_type="multilabel", sample_duration=seconds, entries=kept)
