"""Composer / style probe task from music21 corpus scores rendered with fluidsynth, split by score."""
from __future__ import annotations

from collections import defaultdict

from ..clip import Clip, safe_id, stable_hash
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTask
from ..sources import music21_scores as m21
from ..splits import split_within_classes

SEGMENT_S = 10.0


class _ScoreAudio:
    """Renders one score once and cuts segments from it (entries of a score are written one after another)."""

    def __init__(self, midi_path, n_segments: int):
        self.midi_path, self.n_segments = midi_path, n_segments
        self._wav = None

    def segment(self, k: int):
        import numpy as np
        from ..sources.midi_render import render_midi_file
        if self._wav is None:
            self._wav = render_midi_file(self.midi_path, max_seconds=self.n_segments * SEGMENT_S)
        a, n = int(k * SEGMENT_S * 16000), int(SEGMENT_S * 16000)
        seg = self._wav[a:a + n]
        if k == self.n_segments - 1:
            self._wav = None   # free the full rendering once its last segment is cut
        return np.pad(seg, (0, n - len(seg))).astype(np.float32)


def composer_style(ctx: BuildContext, exclude_train_scores: bool = False) -> ProbeTask | None:
    if ctx.root("music21", "composer_style") is None or ctx.root("fluidsynth", "composer_style") is None:
        return None
    import mido

    by_style = defaultdict(list)
    for s in m21.list_scores():
        by_style[s.style].append(s)
    chosen = []
    for style in sorted(by_style):
        ranked = sorted(by_style[style], key=lambda s: stable_hash(ctx.seed, "score", s.score_id))
        chosen += ranked[: ctx.size.style_scores_per_class] if ctx.size.style_scores_per_class else ranked
    splits = split_within_classes([(s.style, s.score_id) for s in chosen], ctx.seed)
    entries = []
    from tqdm import tqdm
    for s in tqdm(chosen, desc="music21 scores -> MIDI", leave=False, disable=not ctx.progress):
        program = m21.PROGRAMS[stable_hash(ctx.seed, "program", s.score_id) % len(m21.PROGRAMS)]
        try:
            midi = m21.score_midi(s, ctx.work_dir / "music21_midi", program)
            length = mido.MidiFile(str(midi)).length
        except Exception as e:  # a score music21 cannot convert: skip it, say which
            ctx.messages.append(f"composer_style: skipped {s.score_id}: {e}")
            continue
        n_seg = max(1, min(ctx.size.segments_per_score, int(length // SEGMENT_S)))
        audio = _ScoreAudio(midi, n_seg)
        for k in range(n_seg):
            cid = safe_id(f"{s.style}-{s.score_id.split('/')[-1].rsplit('.', 1)[0]}-s{k}")
            clip = Clip(cid, (lambda a=audio, k=k: a.segment(k)), "music21+fluidsynth", True,
                        f"music21:{s.score_id}", group=s.score_id, domain="music",
                        labels={"score": s.score_id, "program": program})
            entries.append(ProbeEntry(clip, splits[(s.style, s.score_id)], [s.style]))
    return ProbeTask("composer_style", "music", "Composer/style of a 10 s rendering of a music21 corpus score "
                     "(Bach chorale, Palestrina mass, Monteverdi madrigal, folk tune); the GM instrument is drawn "
                     "independently of the style.", "by score: no score has segments in two splits",
                     sample_duration=SEGMENT_S, entries=entries)
