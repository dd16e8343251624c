"""Speech probe tasks: spoken language ID, speaker ID, spoken digits and spoken letters."""
from __future__ import annotations

from collections import Counter

from ..clip import Clip, safe_id
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTask
from ..sources.tts import speak
from ..splits import split_groups, split_within_classes, take_balanced
from .speech_sources import MAX_SECONDS, Utterance, asterisk_utterances, fillets_utterances, hedgewars_utterances

TTS_DIGIT_LANGS = ["en", "es", "fr", "it", "ru", "de", "pt", "nl", "pl", "cs"]
TTS_LETTER_LANGS = ["en", "es", "fr", "it", "de", "pt", "nl", "pl", "cs"]
MIN_LINES_PER_SPEAKER = 12


def _caps(per_class: int | None) -> dict[str, int | None]:
    if per_class is None:
        return {"train": None, "valid": None, "test": None}
    return {"train": per_class, "valid": max(2, per_class // 4), "test": max(2, per_class // 4)}


def _capped(entries: list[ProbeEntry], per_class: int | None, seed: int) -> list[ProbeEntry]:
    caps = _caps(per_class)
    out = []
    for split in ("train", "valid", "test"):
        part = [e for e in entries if e.split == split]
        out += take_balanced(part, lambda e: e.labels[0], caps[split], seed)
    return out


def spoken_language(ctx: BuildContext) -> ProbeTask | None:
    """Asterisk (en, es, fr, it, ru) and Fish Fillets (cs, nl, en) in one 7-way task, split by content id."""
    utts = asterisk_utterances(ctx, "spoken_language") + fillets_utterances(ctx, "spoken_language")
    if not utts:
        return None
    splits = split_groups([u.content for u in utts], ctx.seed)
    entries = [ProbeEntry(u.clip, splits[u.content], [u.language]) for u in utts]
    return ProbeTask(
        "spoken_language", "speech", "Spoken language of a real recorded utterance (7 languages).",
        "by prompt/line id: parallel recordings of one prompt (all languages) fall in one split",
        sample_duration=MAX_SECONDS, entries=_capped(entries, ctx.size.language_per_class, ctx.seed))


def speaker_id(ctx: BuildContext) -> ProbeTask | None:
    """Fish Fillets characters per language, asterisk voices and hedgewars voice packs; closed-set speaker ID."""
    utts = (asterisk_utterances(ctx, "speaker_id") + fillets_utterances(ctx, "speaker_id")
            + hedgewars_utterances(ctx, "speaker_id"))
    counts = Counter(u.speaker for u in utts)
    utts = [u for u in utts if counts[u.speaker] >= MIN_LINES_PER_SPEAKER]
    if not utts:
        return None
    splits = split_within_classes([(u.speaker, u.content) for u in utts], ctx.seed)
    entries = [ProbeEntry(u.clip, splits[(u.speaker, u.content)], [u.speaker]) for u in utts]
    return ProbeTask(
        "speaker_id", "speech", f"Closed-set speaker identity (speakers with >= {MIN_LINES_PER_SPEAKER} lines).",
        "per speaker, by utterance content: every speaker is in every split, no line is in two splits",
        sample_duration=MAX_SECONDS, entries=_capped(entries, ctx.size.speaker_per_class, ctx.seed))


def _tts_clip(task: str, text: str, label: str, lang: str, variant: str) -> Clip:
    def render():
        return speak(text, lang, variant)
    return Clip(safe_id(f"tts-{task}-{lang}-{variant}-{label}"), render, "espeak-ng", True,
                f"tts:{task}/{lang}/{variant}/{label}", group=f"tts-{variant}", domain="speech",
                labels={"language": lang, "speaker": f"espeak-{variant}"})


def _symbol_task(ctx: BuildContext, name: str, category: str, symbols: list[str], tts_langs: list[str]):
    from ..sources.tts import VARIANTS

    real = [u for u in asterisk_utterances(ctx, name) if u.category == category
            and u.content.split("/")[-1] in symbols]
    voices = sorted({u.speaker for u in real})
    order = split_groups(voices, ctx.seed, valid=0.25, test=0.5)  # 4 voices -> 2 test, 1 valid, 1 train
    entries = [ProbeEntry(u.clip, order[u.speaker], [u.content.split("/")[-1]]) for u in real]
    if ctx.root("espeak", name) is not None:
        variants = VARIANTS[: ctx.size.tts_variants + 1]
        langs = tts_langs[: ctx.size.tts_languages]
        for i, variant in enumerate(variants):
            split = "valid" if i == len(variants) - 1 else "train"   # one held-out synthetic voice for valid
            for lang in langs:
                for s in symbols:
                    entries.append(ProbeEntry(_tts_clip(name, s, s, lang, variant), split, [s]))
    return entries


def spoken_digits(ctx: BuildContext) -> ProbeTask | None:
    digits = [str(d) for d in range(10)]
    entries = _symbol_task(ctx, "spoken_digits", "digits", digits, TTS_DIGIT_LANGS)
    if not any(e.split == "test" for e in entries):
        return None
    return ProbeTask("spoken_digits", "speech", "Spoken digit 0-9 in any of 5 real / 10 synthetic languages.",
                     "by voice: test = real asterisk voices never seen in train; train adds espeak-ng voices, "
                     "valid holds out one espeak-ng variant", sample_duration=MAX_SECONDS, entries=entries)


def spoken_letters(ctx: BuildContext) -> ProbeTask | None:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    entries = _symbol_task(ctx, "spoken_letters", "letters", letters, TTS_LETTER_LANGS)
    if not any(e.split == "test" for e in entries):
        return None
    return ProbeTask("spoken_letters", "speech", "Spoken letter name a-z (language-specific pronunciation).",
                     "by voice: test = real asterisk voices never seen in train; train adds espeak-ng voices, "
                     "valid holds out one espeak-ng variant", sample_duration=MAX_SECONDS, entries=entries)
