"""The training corpus: speech, sound and music clips with domain labels, minus any probe-test material.

``exclude`` holds the source keys of every probe test item (``build``): test splits, every clip of a k-fold task
(each is tested in some fold) and the real effects mixed into test scenes; sound effects are keyed by content, so
a byte-identical copy under another name is excluded too.

Selection is by a seeded hash order until the size's per-domain budget is met, so it is deterministic and a
larger size is a superset-like sample of the same pool. Durations come from file headers (no decoding).
"""
from __future__ import annotations

from pathlib import Path

from usad.audio import audio_duration

from .clip import Clip, rng_for, safe_id, stable_hash
from .context import BuildContext
from .decode import read_file
from .sources import fillets, hedgewars, wesnoth
from .sources.midi_render import BatchRenderer
from .sources.synth_sounds import GENERATORS
from .tasks.music import MELODIC, _phrase
from .tasks.sound import synthetic_event
from .tasks.sound_sources import real_effects
from .tasks.speech_sources import MAX_SECONDS, asterisk_utterances, fillets_utterances, hedgewars_utterances

SEGMENT_S = 10.0       # non-speech clips are cut to <= 10 s (USAD recipe)
MIN_TAIL_S = 2.0       # a last segment shorter than this is dropped
REAL_MUSIC_SHARE = 0.75
FULL_SYNTH_SOUND_S = 3600.0
FULL_MIDI_MUSIC_S = 3600.0
MIN_SECONDS = 0.5          # shortest training clip (a 2-sample hedgewars effect exists; it teaches nothing)


def _ordered(clips: list[Clip], seed: int) -> list[Clip]:
    return sorted(clips, key=lambda c: (stable_hash(seed, "train-order", c.id), c.id))


def _take(clips: list[Clip], dur, budget: float | None, seed: int, durations: dict[str, float]) -> float:
    """Append to ``durations`` clips in seeded order until ``budget`` seconds; returns the seconds taken.
    Clips shorter than MIN_SECONDS are passed over: training drops them anyway (distill's data.min_seconds)."""
    total = 0.0
    for c in _ordered(clips, seed):
        if budget is not None and total >= budget:
            break
        d = dur(c)
        if d < MIN_SECONDS:
            continue
        durations[c.id] = d
        total += d
    return total


def _file_clips(clips: list[Clip], exclude: set[str], budget, seed) -> tuple[list[Clip], dict[str, float]]:
    durations: dict[str, float] = {}
    pool = [c for c in clips if c.key not in exclude]
    _take(pool, lambda c: min(MAX_SECONDS, audio_duration(c.path)), budget, seed, durations)
    return [c for c in pool if c.id in durations], durations


def plan_speech(ctx: BuildContext, exclude: set[str]) -> tuple[list[Clip], dict[str, float]]:
    why = "training corpus (speech)"
    utts = asterisk_utterances(ctx, why) + fillets_utterances(ctx, why) + hedgewars_utterances(ctx, why)
    return _file_clips([u.clip for u in utts], exclude, ctx.size.train_seconds_per_domain, ctx.seed)


def plan_sound(ctx: BuildContext, exclude: set[str]) -> tuple[list[Clip], dict[str, float]]:
    budget = ctx.size.train_seconds_per_domain
    real, durations = _file_clips([e.clip for e in real_effects(ctx, "training corpus (sound)")], exclude,
                                  budget, ctx.seed)
    left = FULL_SYNTH_SOUND_S if budget is None else budget - sum(durations.values())
    synth, k = [], 0
    while left > 0:
        for label in sorted(GENERATORS):
            c = synthetic_event(ctx.seed, label, k, "train")
            seconds = float(rng_for(ctx.seed, "train", label, k).uniform(1.0, 4.0))
            durations[c.id] = round(seconds * 16000) / 16000
            synth.append(c)
            left -= seconds
        k += 1
    return real + synth, durations


def _segments(ctx: BuildContext, exclude: set[str]) -> list[tuple[Clip, float]]:
    tracks: list[tuple[str, Path]] = []
    root = ctx.root("wesnoth", "training corpus (music)")
    if root is not None:
        tracks += [("wesnoth", p) for p in wesnoth.list_tracks(root)]
    root = ctx.root("hedgewars", "training corpus (music)")
    if root is not None:
        tracks += [("hedgewars", p) for p in hedgewars.list_music(root)]
    root = ctx.root("fillets", "training corpus (music)")
    if root is not None:
        tracks += [("fillets", p) for p in fillets.list_music(root)]
    out = []
    for source, path in tracks:
        key = f"{source}:music/{path.name}"
        if key in exclude:
            continue
        total = audio_duration(path)
        k = 0
        while k * SEGMENT_S + MIN_TAIL_S <= total:
            d = min(SEGMENT_S, total - k * SEGMENT_S)
            cid = safe_id(f"{source}-{path.stem}-{k:03d}")
            render = (lambda p=path, a=k * SEGMENT_S, d=d: read_file(p, a, d))
            out.append((Clip(cid, render, source, False, key, group=key, domain="music",
                             labels={"track": path.stem}), round(d * 16000) / 16000))
            k += 1
    return out


def plan_music(ctx: BuildContext, exclude: set[str]) -> tuple[list[Clip], dict[str, float]]:
    budget = ctx.size.train_seconds_per_domain
    segs = _segments(ctx, exclude)
    seg_dur = {c.id: d for c, d in segs}
    durations: dict[str, float] = {}
    real_budget = None if budget is None else budget * REAL_MUSIC_SHARE
    taken = _take([c for c, _ in segs], lambda c: seg_dur[c.id], real_budget, ctx.seed, durations)
    clips = [c for c, _ in segs if c.id in durations]
    left = FULL_MIDI_MUSIC_S if budget is None else budget - taken
    if ctx.roots.get("fluidsynth") is None:
        return clips, durations
    renderers: dict[int, BatchRenderer] = {}
    k = 0
    while left > 0:
        rng = rng_for(ctx.seed, "train-midi", k)
        program = MELODIC[int(rng.integers(len(MELODIC)))]
        r = renderers.setdefault(program, BatchRenderer(program))
        idx = r.add(_phrase(rng, 40, 84, SEGMENT_S), SEGMENT_S)
        cid = f"midi-train-{k:05d}"
        clips.append(Clip(cid, (lambda r=r, i=idx: r.get(i)), "fluidsynth-timgm6mb", True, f"midi:train/{cid}",
                          group=cid, domain="music", labels={"program": program}))
        durations[cid] = SEGMENT_S
        left -= SEGMENT_S
        k += 1
    return clips, durations
