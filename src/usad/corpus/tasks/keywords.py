"""Spoken keywords over unseen voices: digits 0-9, letter names a-z and NATO spelling words alfa-zulu.

Train = espeak-ng voices only, speaking each language's own text from the asterisk transcripts. Valid = the real
asterisk recordings of the French voice; test = every other real asterisk recording of a keyword (en, es, it, ru:
three voices, en and es are one woman). So the probe hears no test or valid voice in training, and the layer and
learning rate are chosen on real speech, as the test is scored (a synthetic valid split picked layers that did not
transfer to real voices). The training corpus leaves out the recordings of both real splits (the voices' other
prompts stay in it, for valid and test alike). Without the French prompts, valid falls back to two held-out
espeak-ng variants. A label is the keyword whatever the language ("7" for "seven", "sept" and "семь").
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..clip import Clip, rng_for, safe_id, stable_hash
from ..context import BuildContext
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sources import asterisk
from ..sources.tts import speak
from ..splits import take_balanced
from .speech_sources import asterisk_utterances

DIGITS = [str(d) for d in range(10)]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
NATO = ["alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo", "lima",
        "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
        "xray", "yankee", "zulu"]
_RU_NATO = ["альфа", "браво", "чарли", "дэльта", "эхо", "фокстрот", "гольф", "отель", "индия", "джульетта", "кило",
            "лима", "майк", "ноябрь", "оскар", "папа", "квебек", "ромео", "съерра", "танго", "униформа", "виктор",
            "виски", "рентген", "янки", "зулу"]
# what a transcript of a NATO prompt may say (letters only, lower case); the Spanish prompts use their own
# words for 9 letters (Carlos, Francia, ...) and the Italian ones the Italian city alphabet: those are left out
SPELLINGS = {w: {w, ru} for w, ru in zip(NATO, _RU_NATO)}
SPELLINGS["alfa"].add("alpha")
SPELLINGS["juliett"].add("juliet")
SPELLINGS["whiskey"].add("whisky")
SPELLINGS["echo"].add("eco")      # the Spanish spelling, as "Alfa" for alpha
LANGUAGES = asterisk.LANGUAGES
TRAIN_VARIANTS = ["m1", "f1", "m3", "f3", "klatt", "m2", "f2", "croak"]
VALID_VARIANTS = ["m5", "f5"]      # only when the valid voice's recordings are not installed: then
FALLBACK_VALID_PER_KEYWORD = 2      # this many clips of them per keyword
VALID_LANGUAGE = "fr"               # its asterisk voice (June) is heard nowhere else


def _letters_only(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


def keyword_of(prompt_id: str, transcript: str | None) -> tuple[str, str] | None:
    """(label, kind) of an asterisk prompt id, or None when it is not a keyword we use.

    ``digits/7`` -> ("7", "digit"); ``letters/b`` -> ("b", "letter"); ``phonetic/b_p`` -> ("bravo", "nato") when
    the transcript says a NATO word for that letter (Spanish "Carlos" for c does not)."""
    m = re.fullmatch(r"digits/([0-9])", prompt_id)
    if m:
        return m.group(1), "digit"
    m = re.fullmatch(r"letters/([a-z])", prompt_id)
    if m:
        return m.group(1), "letter"
    m = re.fullmatch(r"phonetic/([a-z])_p", prompt_id)
    if m and transcript is not None:
        word = NATO[ord(m.group(1)) - ord("a")]
        if _letters_only(transcript) in SPELLINGS[word]:
            return word, "nato"
    return None


def _prompt_id(label: str, kind: str) -> str:
    if kind == "nato":
        return f"phonetic/{chr(ord('a') + NATO.index(label))}_p"
    return f"digits/{label}" if kind == "digit" else f"letters/{label}"


def tts_text(label: str, kind: str, language: str) -> str:
    """What espeak-ng says for a keyword in ``language``: the asterisk transcript of that prompt when there is one
    (for NATO words only if it is a NATO word), else the digit, the letter or the NATO word itself."""
    said = asterisk.transcripts(language).get(_prompt_id(label, kind))
    if said and (kind != "nato" or _letters_only(said) in SPELLINGS[label]):
        return said
    return label


def _tts_clip(seed: int, label: str, kind: str, lang: str, variant: str) -> Clip:
    text = tts_text(label, kind, lang)
    rng = rng_for(seed, "keywords-tts", label, lang, variant)
    speed, pitch = int(rng.integers(130, 191)), int(rng.integers(30, 71))

    def render():
        return speak(text, lang, variant, speed=speed, pitch=pitch)
    return Clip(safe_id(f"tts-kw-{lang}-{variant}-{label}"), render, "espeak-ng", True,
                f"tts:keywords/{lang}/{variant}/{label}", group=f"espeak-{variant}", domain="speech",
                labels={"language": lang, "speaker": f"espeak-{lang}-{variant}", "text": text, "keyword_type": kind})


def _pick(seed: int, label: str, variants: list[str], n: int) -> list[tuple[str, str]]:
    pool = [(lang, v) for lang in LANGUAGES for v in variants]
    return sorted(pool, key=lambda lv: stable_hash(seed, "keywords-pick", label, *lv))[:n]


def spoken_keywords(ctx: BuildContext) -> ProbeTaskPlan | None:
    real = asterisk_utterances(ctx, "spoken_keywords")
    if not real or ctx.root("asterisk_text", "spoken_keywords (NATO words, TTS text)") is None \
            or ctx.root("espeak", "spoken_keywords (training voices)") is None:
        return None
    entries: list[ProbeEntry] = []
    for u in real:
        said = asterisk.transcripts(u.language).get(u.content)
        kw = keyword_of(u.content, said)
        if kw is None:
            continue
        label, kind = kw
        clip = replace(u.clip, labels={**u.clip.labels, "text": said or label, "keyword_type": kind})
        entries.append(ProbeEntry(clip, "valid" if u.language == VALID_LANGUAGE else "test", [label]))
    n_train, n_valid, n_test = ctx.size.keywords
    label_of = lambda e: e.labels[0]  # noqa: E731
    valid = take_balanced([e for e in entries if e.split == "valid"], label_of, n_valid, ctx.seed)
    entries = valid + take_balanced([e for e in entries if e.split == "test"], label_of, n_test, ctx.seed)
    splits = [("train", TRAIN_VARIANTS, n_train)]
    if not valid:
        splits.append(("valid", VALID_VARIANTS, FALLBACK_VALID_PER_KEYWORD))
    for kind, labels in (("digit", DIGITS), ("letter", LETTERS), ("nato", NATO)):
        for label in labels:
            for split, variants, n in splits:
                for lang, variant in _pick(ctx.seed, label, variants, n):
                    entries.append(ProbeEntry(_tts_clip(ctx.seed, label, kind, lang, variant), split, [label]))
    valid_text = (f"valid = every real asterisk recording of the {VALID_LANGUAGE} voice" if valid else
                  f"valid = two held-out espeak-ng variants (the {VALID_LANGUAGE} recordings are not installed)")
    return ProbeTaskPlan(
        "spoken_keywords", "speech", "Spoken keyword: digit 0-9, letter name a-z or NATO spelling word alfa-zulu "
        "(62 classes; the label is the keyword whatever the language: en, es, fr, it, ru).",
        f"by voice: train = espeak-ng voices; {valid_text}; test = the other real asterisk recordings of a keyword "
        "(the voices of en/es, it and ru)", sample_duration=2.0, entries=entries, also_unheard=("valid",))
