"""Text -> phone tokens with espeak-ng, one deterministic tokenisation for the ``phonemes`` probe task.

``espeak-ng -q --ipa --sep=_ -v <lang>`` writes IPA with ``_`` between the phones of a word and spaces between
words. Tokens:

* one token per espeak-ng phone (what ``--sep`` delimits): diphthongs (``ɛɪ``) and affricates (``ts``, ``tʃ``)
  are one token, as are phones with diacritics (``r̝̊``, syllabic ``r̩``);
* stress marks (``ˈ``, ``ˌ``) are dropped; the length mark ``ː`` stays part of its phone (``aː`` and ``a`` are
  different tokens: vowel length is phonemic in Czech and Dutch); tie bars (U+0361, U+035C) and zero-width
  joiners are removed inside a token;
* word boundaries and pauses produce no token; repeats are kept in order.

When espeak-ng switches language for a foreign word it writes ``(en)...(cs)``; such text returns None (the
utterance is left out: its phones would come from another language's inventory, and the recording most likely
does not follow espeak-ng's guess). Results are cached per espeak-ng version, since another version may
phonemise differently.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

STRESS = {"\u02c8", "\u02cc"}                      # ˈ ˌ
REMOVED = STRESS | {"\u0361", "\u035c", "\u200d", "\u200c"}


def tokens_from_ipa(ipa: str) -> list[str]:
    """espeak-ng ``--ipa --sep=_`` output -> phone tokens (see the module docstring)."""
    out = []
    for word in ipa.split():
        for phone in word.split("_"):
            tok = "".join(ch for ch in phone if ch not in REMOVED)
            if tok:
                out.append(tok)
    return out


@lru_cache(maxsize=None)
def espeak_version() -> str:
    """``espeak-ng --version``'s version number (e.g. "1.51"), or "" when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        return ""
    res = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True)
    words = res.stdout.split()
    return next((w for w in words if w[:1].isdigit()), "unknown")


def _espeak_ipa(text: str, voice: str) -> str:
    res = subprocess.run(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", voice], input=text, capture_output=True,
                         text=True)
    if res.returncode != 0:
        raise RuntimeError(f"espeak-ng -v {voice} failed: {res.stderr.strip()[-300:]}; "
                           "install it with: apt-get install -y espeak-ng")
    return " ".join(res.stdout.split())


class Phonemizer:
    """Phonemises texts of one language, caching results in ``cache_dir/espeak-<version>-<voice>.json``."""

    def __init__(self, voice: str, cache_dir: Path | None = None):
        self.voice = voice
        self.path = None if cache_dir is None else Path(cache_dir) / f"espeak-{espeak_version()}-{voice}.json"
        self._cache: dict[str, list[str] | None] = {}
        if self.path is not None and self.path.exists():
            self._cache = json.loads(self.path.read_text(encoding="utf-8"))
        self._dirty = False

    def __call__(self, text: str) -> list[str] | None:
        """Tokens of ``text``, or None when espeak-ng switched language inside it."""
        if text not in self._cache:
            ipa = _espeak_ipa(text, self.voice)
            self._cache[text] = None if "(" in ipa else tokens_from_ipa(ipa)
            self._dirty = True
        hit = self._cache[text]
        return None if hit is None else list(hit)

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        from usad.io import atomic_write_text

        atomic_write_text(self.path, json.dumps(self._cache, ensure_ascii=False, sort_keys=True))
        self._dirty = False
