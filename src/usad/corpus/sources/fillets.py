"""Fish Fillets NG game data: acted dialogue in cs/nl/en (``sound/<level>/<lang>/<prefix>-<char>-<line>.ogg``)
plus sound effects (``-x-`` lines and ``sound/share/sp-*``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Line:
    path: Path
    language: str   # cs | nl | en
    level: str
    character: str  # m = small fish, v = big fish, others minor
    line_id: str    # "<level>/<stem>": the same id across languages


_NAME = re.compile(r"^[^-]+-([a-z]+)-(.+)\.ogg$")


def list_lines(root: Path) -> list[Line]:
    """Speech lines (not the ``x`` effects), sorted by path."""
    out = []
    for p in sorted(root.glob("*/*/*.ogg")):
        language, level = p.parent.name, p.parent.parent.name
        if language not in ("cs", "nl", "en") or level == "share":
            continue
        m = _NAME.match(p.name)
        if not m or m.group(1) == "x":
            continue
        out.append(Line(p, language, level, m.group(1), f"{level}/{p.stem}"))
    return out


def list_effects(root: Path) -> list[Path]:
    """Sound effects: ``share/sp-*.ogg`` and per-level ``-x-`` files, sorted."""
    effects = list(root.glob("share/sp-*.ogg"))
    effects += [p for p in root.glob("*/*/*.ogg") if re.match(r"^[^-]+-x-", p.name)]
    return sorted(set(effects))


def list_music(root: Path) -> list[Path]:
    """Background music tracks (``../music/*.ogg``)."""
    return sorted((root.parent / "music").glob("*.ogg"))
