"""Asterisk IVR prompts (Debian asterisk-core-sounds-*-wav): 5 languages, parallel prompt ids, one voice each."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Prompt:
    path: Path
    language: str    # ISO 639-1: en, es, fr, it, ru
    voice: str       # e.g. "Allison" (en and es share this voice)
    prompt_id: str   # relative path without extension, shared across languages: "digits/1", "vm-intro"
    category: str    # sub-folder ("digits", "letters", "phonetic", ...) or "main"


def list_prompts(root: Path) -> list[Prompt]:
    """Every prompt under ``root`` (``<lang>_<REGION>_<sex>_<Voice>/[category/]name.wav``), sorted."""
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
