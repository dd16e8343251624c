"""Sound-event classification on real game and UI sound effects, 5-fold cross-validated by sound group.

Procedural (synthetic) events are not part of the probe suite: a task scored on our own generators would reward
learning their artefacts, and the suite's audio budget is better spent on real clips; they stay in the training
corpus (``synthetic_event``), marked synthetic.
"""
from __future__ import annotations

from ..clip import Clip, rng_for
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sources.synth_sounds import GENERATORS
from ..splits import kfold_within_classes, take_balanced
from .sound_sources import labelled_effects
from .speech_sources import _reader

MIN_REAL_GROUPS = 3   # a class needs this many sound groups to reach the training folds of every rotation
NFOLDS = 5
MAX_CLIP_S = 5.0      # the few long UI jingles (13 s log-in sounds) are cut here


def synthetic_event(seed: int, label: str, k: int, purpose: str) -> Clip:
    rng = rng_for(seed, purpose, label, k)
    seconds = float(rng.uniform(1.0, 4.0))

    def render():
        return GENERATORS[label](rng_for(seed, purpose, label, k, "audio"), seconds)
    return Clip(f"syn-{label}-{purpose}-{k:04d}", render, "procedural", True, f"synthetic:{purpose}/{label}/{k}",
                group=f"syn-{label}-{k}", domain="sound", labels={"class": label})


def sound_event(ctx: BuildContext) -> ProbeTaskPlan | None:
    real = labelled_effects(ctx, "sound_event", MIN_REAL_GROUPS)
    real = take_balanced(real, lambda e: e.label, ctx.size.sound_real_max, ctx.seed)
    groups: dict[str, set[str]] = {}
    for e in real:
        groups.setdefault(e.label, set()).add(e.clip.group)
    real = [e for e in real if len(groups[e.label]) >= MIN_REAL_GROUPS]   # a cap can thin a class out
    if len({e.label for e in real}) < 2:
        return None
    folds = kfold_within_classes([(e.label, e.clip.group) for e in real], ctx.seed, NFOLDS)
    entries = []
    for e in real:
        clip = e.clip
        clip = Clip(clip.id, _reader(clip.path, MAX_CLIP_S), clip.source, False, clip.key, group=clip.group,
                    domain="sound", path=clip.path, labels=clip.labels)
        entries.append(ProbeEntry(clip, folds[e.clip.group], [e.label]))
    return ProbeTaskPlan(
        "sound_event", "sound", "Sound-effect class of a real hedgewars / Fish Fillets / desktop UI sound "
        f"(byte-identical copies merged; clips cut at {MAX_CLIP_S:g} s), {NFOLDS}-fold cross-validation.",
        f"{NFOLDS} folds by sound group (numbered and -in/-out/-long variants together), stratified by class; "
        f"classes with >= {MIN_REAL_GROUPS} groups; rotation i: fold i test, fold i+1 valid, the rest train",
        sample_duration=MAX_CLIP_S, entries=entries, nfolds=NFOLDS)
