"""Speech probe tasks on real recordings: spoken language ID and speaker ID (clips cropped to CROP_S)."""
from __future__ import annotations

from collections import Counter

from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sizes import Split3
from ..splits import SPLITS, split_groups, split_within_classes, take_balanced
from .speech_sources import asterisk_utterances, cropped, fillets_utterances, hedgewars_utterances

CROP_S = 4.0                 # speaker and language are clear within 4 s; longer lines cost probe time only
MIN_LINES_PER_SPEAKER = 20   # enough lines for every split of a speaker (train, valid and ~9 test)


def _capped(entries: list[ProbeEntry], per_class: Split3 | None, seed: int) -> list[ProbeEntry]:
    out = []
    for i, split in enumerate(SPLITS):
        part = [e for e in entries if e.split == split]
        out += take_balanced(part, lambda e: e.labels[0], None if per_class is None else per_class[i], seed)
    return out


def spoken_language(ctx: BuildContext) -> ProbeTaskPlan | None:
    """Asterisk (en, es, fr, it, ru) and Fish Fillets (cs, nl, en) in one 7-way task, split by content id."""
    utts = asterisk_utterances(ctx, "spoken_language") + fillets_utterances(ctx, "spoken_language")
    if not utts:
        return None
    splits = split_groups([u.content for u in utts], ctx.seed)
    entries = [ProbeEntry(cropped(u, CROP_S).clip, splits[u.content], [u.language]) for u in utts]
    return ProbeTaskPlan(
        "spoken_language", "speech", f"Spoken language of a real recorded utterance (7 languages; the first "
        f"{CROP_S:g} s from the first loud frame).",
        "by prompt/line id: parallel recordings of one prompt (all languages) fall in one split",
        sample_duration=CROP_S, entries=_capped(entries, ctx.size.language_per_class, ctx.seed))


def speaker_id(ctx: BuildContext) -> ProbeTaskPlan | None:
    """Fish Fillets characters per language, asterisk voices and hedgewars voice packs; closed-set speaker ID."""
    utts = (asterisk_utterances(ctx, "speaker_id") + fillets_utterances(ctx, "speaker_id")
            + hedgewars_utterances(ctx, "speaker_id"))
    counts = Counter(u.speaker for u in utts)
    utts = [u for u in utts if counts[u.speaker] >= MIN_LINES_PER_SPEAKER]
    if not utts:
        return None
    splits = split_within_classes([(u.speaker, u.content) for u in utts], ctx.seed, valid=0.15, test=0.3)
    entries = [ProbeEntry(cropped(u, CROP_S).clip, splits[(u.speaker, u.content)], [u.speaker]) for u in utts]
    return ProbeTaskPlan(
        "speaker_id", "speech", f"Closed-set speaker identity (speakers with >= {MIN_LINES_PER_SPEAKER} lines; "
        f"the first {CROP_S:g} s of each line from its first loud frame).",
        "per speaker, by utterance content: every speaker is in every split, no line is in two splits",
        sample_duration=CROP_S, entries=_capped(entries, ctx.size.speaker_per_class, ctx.seed))
