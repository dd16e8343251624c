"""Composer / style probe task from music21 corpus scores rendered with fluidsynth, split by score."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ..clip import Clip, safe_id, stable_hash
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sources import music21_scores as m21
from ..splits import SPLITS

SEGMENT_S = 3.0


class _ScoreAudio:
    """Renders one score once and cuts segments from it (entries of a score are written one after another)."""

    def __init__(self, midi_path, offsets: list[float]):
        self.midi_path, self.offsets = midi_path, offsets
        self._wav = None
        self._left = len(offsets)

    def segment(self, k: int) -> np.ndarray:
        from ..sources.midi_render import render_midi_file
        if self._wav is None:
            self._wav = render_midi_file(self.midi_path, max_seconds=max(self.offsets) + SEGMENT_S)
        a, n = int(round(self.offsets[k] * 16000)), int(SEGMENT_S * 16000)
        seg = self._wav[a:a + n]
        self._left -= 1
        if self._left == 0:
            self._wav = None   # free the full rendering once its last segment is cut
        return np.pad(seg, (0, n - len(seg))).astype(np.float32)


def segment_offsets(length: float, n: int) -> list[float]:
    """``n`` segment starts spread evenly over a piece of ``length`` seconds (centres at (k + 0.5) / n)."""
    n = max(1, min(n, int(length // SEGMENT_S)))
    return [round(max(0.0, min(length - SEGMENT_S, (k + 0.5) * length / n - SEGMENT_S / 2)), 3) for k in range(n)]


def composer_style(ctx: BuildContext) -> ProbeTaskPlan | None:
    if ctx.root("music21", "composer_style") is None or ctx.root("fluidsynth", "composer_style") is None:
        return None
    import mido
    from tqdm import tqdm

    by_style = defaultdict(list)
    for s in m21.list_scores():
        by_style[s.style].append(s)
    per_score = ctx.size.segments_per_score
    want = ctx.size.style_per_class
    entries = []
    for style in tqdm(sorted(by_style), desc="music21 scores -> MIDI", leave=False, disable=not ctx.progress):
        ranked = sorted(by_style[style], key=lambda s: stable_hash(ctx.seed, "score", s.score_id))
        # scores in seeded order fill test, then valid, then train, each up to its number of segments
        quota = {s: (None if want is None else want[i]) for i, s in enumerate(SPLITS)}
        order = ["test", "valid", "train"]
        if want is None:   # every score: by fractions of the scores, 15 % test, 15 % valid
            n = len(ranked)
            cut = {"test": math.ceil(0.15 * n), "valid": math.ceil(0.15 * n)}
        got = {s: 0 for s in SPLITS}
        split_i, n_scores = 0, {s: 0 for s in SPLITS}
        for score in ranked:
            while split_i < len(order) and _full(order[split_i], got, quota, n_scores, cut if want is None else None):
                split_i += 1
            if split_i == len(order):
                break
            split = order[split_i]
            program = m21.PROGRAMS[stable_hash(ctx.seed, "program", score.score_id) % len(m21.PROGRAMS)]
            try:
                midi = m21.score_midi(score, ctx.work_dir / "music21_midi", program)
                length = mido.MidiFile(str(midi)).length
            except Exception as e:  # a score music21 cannot convert: skip it, say which
                ctx.messages.append(f"composer_style: skipped {score.score_id}: {e}")
                continue
            if length < SEGMENT_S:
                continue
            n_seg = per_score if quota[split] is None else min(per_score, quota[split] - got[split])
            offsets = segment_offsets(length, n_seg)
            audio = _ScoreAudio(midi, offsets)
            for k, off in enumerate(offsets):
                cid = safe_id(f"{style}-{score.score_id.split('/')[-1].rsplit('.', 1)[0]}-s{k}")
                clip = Clip(cid, (lambda a=audio, k=k: a.segment(k)), "music21+fluidsynth", True,
                            f"music21:{score.score_id}", group=score.score_id, domain="music",
                            labels={"score": score.score_id, "program": program, "offset_s": off})
                entries.append(ProbeEntry(clip, split, [style]))
            got[split] += len(offsets)
            n_scores[split] += 1
    return ProbeTaskPlan("composer_style", "music", f"Composer/style of a {SEGMENT_S:g} s rendering of a music21 "
                     "corpus score (Bach chorale, Palestrina mass, Monteverdi madrigal, folk tune); segments "
                     "spread over the piece; the GM instrument is drawn independently of the style.",
                     "by score: no score has segments in two splits", sample_duration=SEGMENT_S, entries=entries)


def _full(split: str, got: dict, quota: dict, n_scores: dict, cut: dict | None) -> bool:
    if cut is not None:
        return split in cut and n_scores[split] >= cut[split]
    return got[split] >= quota[split]
