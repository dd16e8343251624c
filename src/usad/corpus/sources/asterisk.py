"""Asterisk IVR prompts (Debian asterisk-core-sounds-*-wav): 5 languages, parallel prompt ids, one voice each.

The transcripts ship in the matching non-``-wav`` packages (``asterisk-core-sounds-<lang>``) as
``/usr/share/doc/asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz``: one ``<prompt id>: <text>`` line each.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "es", "fr", "it", "ru")
TRANSCRIPT_DIR = Path("/usr/share/doc")


@dataclass(frozen=True)
class Prompt:
    path: Path
    language: str    # ISO 639-1: en, es, fr, it, ru
    voice: str       # e.g. "Allison" (en and es share this voice)
    prompt_id: str   # relative path without extension, shared across languages: "digits/1", "vm-intro"
    category: str    # sub-folder ("digits", "letters", "phonetic", ...) or "main"


def list_prompts(root: Path) -> list[Prompt]:
    """Every prompt under ``root`` (``<lang>_<REGION>_<sex>_<Voice>/[category/]name.wav``), sorted.

    Short alias folders (``en``, ``en_US``: links the transcript packages install) are not listed twice."""
    out = []
    for vdir in sorted(p for p in root.iterdir() if p.is_dir()):
        parts = vdir.name.split("_")
        if len(parts) < 4:
            continue
        language, voice = parts[0], "_".join(parts[3:])
        for wav in sorted(vdir.rglob("*.wav")):
            rel = wav.relative_to(vdir).with_suffix("")
            category = rel.parts[0] if len(rel.parts) > 1 else "main"
            if category == "silence":
                continue
            out.append(Prompt(wav, language, voice, rel.as_posix(), category))
    return out


def transcript_path(language: str, doc_dir: Path = TRANSCRIPT_DIR) -> Path:
    return doc_dir / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz"


def parse_transcript(text: str) -> dict[str, str]:
    """``core-sounds-<lang>.txt`` text -> {prompt id: text}. Comment lines (``;``) are skipped, a repeated id keeps
    its first text, and a trailing ``[symbol]`` note (``at [@]``) is dropped."""
    out: dict[str, str] = {}
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or ":" not in line:
            continue
        pid, said = line.split(":", 1)
        said = re.sub(r"\s*\[[^\]]*\]\s*$", "", said).strip()
        if pid.strip() and said:
            out.setdefault(pid.strip(), " ".join(said.split()))
    return out


@lru_cache(maxsize=None)
def transcripts(language: str, doc_dir: Path = TRANSCRIPT_DIR) -> dict[str, str]:
    """The transcripts of one language ({} when its package is not installed)."""
    path = transcript_path(language, doc_dir)
    if not path.exists():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as fp:
        return parse_transcript(fp.read())
