"""Frame-level sound event detection: 4 s scenes with 1-3 real effects at random onsets over quiet noise.

The effects are the labelled real clips of ``sound_event`` (same classes); their sound groups are split per class
into train / valid / test, so a group never appears in two splits, and a split's scenes draw only on its own
groups. Labels are exact: each effect is trimmed to its loud part (-40 dB of its peak frame energy, at most
``MAX_EVENT_S``) and placed at a known onset. The mixture and the background noise are synthetic; the events are
real recordings.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from ..clip import SAMPLE_RATE, Clip, rng_for
from ..context import BuildContext
from ..decode import read_file, trim_silence
from ..probe import ProbeEntry, ProbeTaskPlan
from ..splits import SPLITS, split_within_classes
from .sound import MIN_REAL_GROUPS
from .sound_sources import Effect, labelled_effects

SCENE_S = 4.0
MAX_EVENT_S = 2.5
MIN_EVENT_S = 0.05
MAX_EVENTS = 3
NOISE_DBFS = (-55.0, -40.0)     # background RMS
PEAK_DBFS = (-12.0, -1.0)       # event peak


def _active(e: Effect) -> tuple[int, int] | None:
    """(start, end) samples of the loud part of an effect, at most MAX_EVENT_S long; None if too short/silent."""
    try:
        wav = read_file(e.clip.path)
    except (ValueError, RuntimeError, OSError):
        return None
    a, b = trim_silence(wav)
    b = min(b, a + int(MAX_EVENT_S * SAMPLE_RATE))
    return (a, b) if b - a >= MIN_EVENT_S * SAMPLE_RATE else None


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    alpha = float(rng.uniform(0.0, 0.98))              # white .. brown-ish
    x = lfilter([1 - alpha], [1, -alpha], rng.standard_normal(n))
    rms = float(np.sqrt(np.mean(x ** 2))) or 1.0
    return (x / rms * 10 ** (rng.uniform(*NOISE_DBFS) / 20)).astype(np.float32)


def _scene_render(seed: int, sid: str, placed: list[tuple[Effect, tuple[int, int], int, float]]):
    def render() -> np.ndarray:
        n = int(SCENE_S * SAMPLE_RATE)
        out = _noise(rng_for(seed, "sound_detection", sid, "noise"), n)
        for eff, (a, b), onset, peak_db in placed:
            wav = read_file(eff.clip.path)[a:b]
            wav = wav / (float(np.abs(wav).max()) or 1.0) * 10 ** (peak_db / 20)
            out[onset: onset + len(wav)] += wav[: n - onset]
        return out
    return render


def sound_detection(ctx: BuildContext) -> ProbeTaskPlan | None:
    pool = [e for e in labelled_effects(ctx, "sound_detection", MIN_REAL_GROUPS)]
    bounds = {e.clip.id: _active(e) for e in pool}
    pool = [e for e in pool if bounds[e.clip.id] is not None]
    split_of = split_within_classes([(e.label, e.clip.group) for e in pool], ctx.seed, valid=0.2, test=0.35)
    by_split: dict[str, dict[str, list[Effect]]] = {s: {} for s in SPLITS}
    for e in pool:
        by_split[split_of[(e.label, e.clip.group)]].setdefault(e.label, []).append(e)
    classes = sorted(set.intersection(*(set(by_split[s]) for s in SPLITS))) if pool else []
    if len(classes) < 2:
        return None
    entries, distinct = [], {}
    for i, split in enumerate(SPLITS):
        used = set()
        for k in range(ctx.size.detection_scenes[i]):
            sid = f"scene-{split}-{k:04d}"
            rng = rng_for(ctx.seed, "sound_detection", sid)
            placed, labels = [], []
            for _ in range(int(rng.integers(1, MAX_EVENTS + 1))):
                cls = classes[int(rng.integers(len(classes)))]
                eff = by_split[split][cls][int(rng.integers(len(by_split[split][cls])))]
                a, b = bounds[eff.clip.id]
                onset = int(rng.integers(0, int(SCENE_S * SAMPLE_RATE) - (b - a) + 1))
                placed.append((eff, (a, b), onset, float(rng.uniform(*PEAK_DBFS))))
                labels.append({"label": cls, "start": round(onset / SAMPLE_RATE * 1000, 1),
                               "end": round((onset + b - a) / SAMPLE_RATE * 1000, 1)})
                used.add(eff.clip.key)
            labels.sort(key=lambda ev: (ev["start"], ev["label"], ev["end"]))
            clip = Clip(sid, _scene_render(ctx.seed, sid, placed), "mixture-of-real-effects", True,
                        f"scene:sound_detection/{sid}", group=sid, domain="sound",
                        parts=tuple(sorted({p[0].clip.key for p in placed})),
                        labels={"effects": [p[0].clip.id for p in placed]})
            entries.append(ProbeEntry(clip, split, labels))
        distinct[split] = len(used)
    return ProbeTaskPlan(
        "sound_detection", "sound", f"Which real sound effects sound when: {SCENE_S:g} s scenes of 1-{MAX_EVENTS} "
        f"real effects (classes of sound_event) at random onsets over quiet synthetic noise; start/end in ms.",
        "by sound group, per class: a group's clips feed the scenes of one split only",
        embedding_type="event", prediction_type="multilabel", sample_duration=SCENE_S, entries=entries,
        extra_metadata={"distinct_real_clips": distinct, "events_are": "real recordings",
                        "background": "synthetic coloured noise"})
