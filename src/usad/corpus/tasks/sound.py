"""Sound-event classification: real game and UI sound effects, extended with procedural (synthetic) events."""
from __future__ import annotations

from collections import defaultdict

from ..clip import Clip, rng_for, stable_hash
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTask
from ..sources.synth_sounds import GENERATORS
from ..splits import split_groups, split_within_classes, take_balanced
from .sound_sources import real_effects

MIN_REAL_GROUPS = 3   # a class needs this many real groups for its test split to be real


def synthetic_event(seed: int, label: str, k: int, purpose: str) -> Clip:
    rng = rng_for(seed, purpose, label, k)
    seconds = float(rng.uniform(1.0, 4.0))

    def render():
        return GENERATORS[label](rng_for(seed, purpose, label, k, "audio"), seconds)
    return Clip(f"syn-{label}-{purpose}-{k:04d}", render, "procedural", True, f"synthetic:{purpose}/{label}/{k}",
                group=f"syn-{label}-{k}", domain="sound", labels={"class": label})


def sound_event(ctx: BuildContext) -> ProbeTask:
    real = [e for e in real_effects(ctx, "sound_event") if e.label is not None]
    real = take_balanced(real, lambda e: e.label, ctx.size.sound_real_max, ctx.seed)
    groups_per_class = defaultdict(set)
    for e in real:
        groups_per_class[e.label].add(e.clip.group)
    real_test_classes = {c for c, g in groups_per_class.items() if len(g) >= MIN_REAL_GROUPS}
    entries = []
    split_real = split_within_classes([(e.label, e.clip.group) for e in real if e.label in real_test_classes],
                                      ctx.seed)
    for e in real:
        split = split_real[(e.label, e.clip.group)] if e.label in real_test_classes else "train"
        entries.append(ProbeEntry(e.clip, split, [e.label]))
    for label in sorted(GENERATORS):
        clips = [synthetic_event(ctx.seed, label, k, "probe") for k in range(ctx.size.sound_synth_per_class)]
        if label in real_test_classes:   # test stays real: synthetic clips go to train (and some to valid)
            for c in clips:
                split = "valid" if stable_hash(ctx.seed, c.id) % 7 == 0 else "train"
                entries.append(ProbeEntry(c, split, [label]))
        else:
            splits = split_groups([c.group for c in clips], ctx.seed)
            entries += [ProbeEntry(c, splits[c.group], [label]) for c in clips]
    # a class must reach train and test to be probed; drop classes that do not
    by_split = defaultdict(set)
    for e in entries:
        by_split[e.split].add(e.labels[0])
    keep = by_split["train"] & by_split["test"]
    entries = [e for e in entries if e.labels[0] in keep]
    return ProbeTask("sound_event", "sound", "Sound-effect class: real hedgewars / Fish Fillets / desktop UI "
                     "sounds grouped by file name, extended with procedural events (synthetic: true).",
                     f"real clips by sound group (numbered variants together); classes with >= {MIN_REAL_GROUPS} "
                     "real groups have a real-only test split and synthetic clips only in train/valid",
                     sample_duration=10.0, entries=entries)
