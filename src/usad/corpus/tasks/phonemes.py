"""Phoneme recognition on real acted speech (SUPERB PR style): Fish Fillets dialogue in Czech and Dutch with
its subtitles, phonemised by espeak-ng, split by speaker so that no test voice is heard in training.

Speakers: the small fish ``m`` (a woman in both dubs) and the big fish ``v`` (a man) are different actors in each
language, so train = Czech ``m`` + Dutch ``v`` and test = Czech ``v`` + Dutch ``m`` (every test voice unseen,
both sexes on both sides); valid = the minor characters (other voices again, mostly Czech).
"""
from __future__ import annotations

from usad.audio import audio_duration

from ..clip import Clip, safe_id, stable_hash
from ..context import BuildContext
from ..decode import read_file
from ..probe import ProbeEntry, ProbeTaskPlan
from ..sources import fillets
from ..sources.phonemes import Phonemizer, espeak_version
from .speech_sources import fillets_key

LANGUAGES = ("cs", "nl")
TRAIN_VOICES = {("cs", "m"), ("nl", "v")}
TEST_VOICES = {("cs", "v"), ("nl", "m")}
MIN_S, MAX_S = 1.0, 4.0            # line length
MIN_TOKENS = 4
RATE = (4.0, 16.0)                 # phones per second; outside it the subtitle does not match the recording
TOKENISATION = ("one token per espeak-ng phone (espeak-ng -q --ipa --sep=_ -v <lang>); stress marks dropped; "
                "length mark kept in its phone (aː != a); tie bars removed; no word-boundary token")


def _role(line: fillets.Line) -> str:
    voice = (line.language, line.character)
    return "train" if voice in TRAIN_VOICES else ("test" if voice in TEST_VOICES else "valid")


def _quota(n: int | None, languages: tuple[str, ...]) -> dict[str, int | None]:
    """Split ``n`` utterances over languages (first languages get the remainder)."""
    if n is None:
        return {lang: None for lang in languages}
    base, extra = divmod(n, len(languages))
    return {lang: base + (i < extra) for i, lang in enumerate(languages)}


def phonemes(ctx: BuildContext) -> ProbeTaskPlan | None:
    root = ctx.root("fillets", "phonemes")
    if root is None or ctx.root("espeak", "phonemes") is None:
        return None
    phonemizers = {lang: Phonemizer(lang, ctx.work_dir / "phonemes") for lang in LANGUAGES}
    lines = [ln for ln in fillets.list_lines(root) if ln.language in LANGUAGES]
    sizes = ctx.size.phonemes
    entries: list[ProbeEntry] = []
    for i, split in enumerate(("train", "valid", "test")):
        n = None if sizes is None else sizes[i]
        pools = {"all": [ln for ln in lines if _role(ln) == split]} if split == "valid" else \
            {lang: [ln for ln in lines if _role(ln) == split and ln.language == lang] for lang in LANGUAGES}
        quota = {"all": n} if split == "valid" else _quota(n, LANGUAGES)
        for pool_name, pool in pools.items():
            entries += _take(pool, quota[pool_name], split, root, phonemizers, ctx.seed)
    for p in phonemizers.values():
        p.save()
    if not any(e.split == "test" for e in entries):
        return None
    return ProbeTaskPlan(
        "phonemes", "speech", f"Phone sequence of a real acted line (Fish Fillets NG dialogue, Czech and Dutch, "
        f"{MIN_S:g}-{MAX_S:g} s) from its subtitle phonemised by espeak-ng; scored by phone error rate (PER).",
        "by speaker: train = Czech small fish + Dutch big fish, valid = minor characters, test = Czech big fish + "
        "Dutch small fish (four different actors; no test voice in train)",
        embedding_type="sequence", prediction_type="multiclass", sample_duration=MAX_S, entries=entries,
        extra_metadata={"tokenisation": TOKENISATION, "phonemizer": f"espeak-ng {espeak_version()}",
                        "languages": list(LANGUAGES)})


def _take(pool: list[fillets.Line], n: int | None, split: str, root, phonemizers, seed: int) -> list[ProbeEntry]:
    """Up to ``n`` usable lines of ``pool`` in seeded order (phonemising only what is looked at)."""
    out: list[ProbeEntry] = []
    for ln in sorted(pool, key=lambda ln: (stable_hash(seed, "phonemes", ln.language, ln.line_id), ln.line_id)):
        if n is not None and len(out) >= n:
            break
        try:
            seconds = audio_duration(ln.path)
        except RuntimeError:        # unreadable file: soundfile raises a RuntimeError subclass
            continue
        if not MIN_S <= seconds <= MAX_S:
            continue
        text = fillets.subtitle(root, ln)
        if text is None or "%" in text:   # no subtitle, or a placeholder such as "%1"
            continue
        tokens = phonemizers[ln.language](text)
        if tokens is None or len(tokens) < MIN_TOKENS or not RATE[0] <= len(tokens) / seconds <= RATE[1]:
            continue
        speaker = f"fillets-{ln.language}-{ln.character}"
        clip = Clip(safe_id(f"pho-{ln.language}-{ln.line_id.replace('/', '-')}"),
                    (lambda p=ln.path: read_file(p)), "fillets", False, fillets_key(ln), group=speaker,
                    domain="speech", path=ln.path,
                    labels={"language": ln.language, "speaker": speaker, "text": text})
        out.append(ProbeEntry(clip, split, tokens))
    return out
