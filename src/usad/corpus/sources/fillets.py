"""Fish Fillets NG game data: acted dialogue in cs/nl/en (``sound/<level>/<lang>/<prefix>-<char>-<line>.ogg``)
plus sound effects (``-x-`` lines and ``sound/share/sp-*``), and the subtitles of every line
(``script/<level>/dialogs_<lang>.lua``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Line:
    path: Path
    language: str   # cs | nl | en
    level: str
    character: str  # m = small fish, v = big fish, others minor
    line_id: str    # "<level>/<stem>": the same id across languages


_NAME = re.compile(r"^[^-]+-([a-z]+)-(.+)\.ogg$")
_LUA_STR = r'"((?:[^"\\]|\\.)*)"'
_DIALOG = re.compile(r"dialogId\(\s*" + _LUA_STR + r"\s*,\s*" + _LUA_STR + r"\s*,\s*" + _LUA_STR + r"\s*\)"
                     r"(?:\s*dialogStr\(\s*" + _LUA_STR + r"\s*\))?")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\"}


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


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), s)


def parse_dialogs(text: str) -> dict[str, tuple[str, str | None]]:
    """``dialogs_<lang>.lua`` text -> {dialog id: (English text, translation or None)}.

    The files are a list of ``dialogId("<id>", "<font>", "<English>")``, each followed in the non-English files
    by ``dialogStr("<translation>")``; Lua string escapes are undone."""
    return {m.group(1): (_unescape(m.group(3)), None if m.group(4) is None else _unescape(m.group(4)))
            for m in _DIALOG.finditer(text)}


def script_root(sound_root: Path) -> Path:
    """``.../fillets-ng/script`` next to the ``sound`` folder."""
    return sound_root.parent / "script"


@lru_cache(maxsize=None)
def _dialogs(path: Path) -> dict[str, tuple[str, str | None]]:
    return parse_dialogs(path.read_text(encoding="utf-8")) if path.exists() else {}


def subtitle(sound_root: Path, line: Line) -> str | None:
    """The subtitle of ``line`` in its own language (the translation for cs/nl, the English text for en), or None
    when the level has no subtitle for it. Whitespace is collapsed."""
    dialogs = _dialogs(script_root(sound_root) / line.level / f"dialogs_{line.language}.lua")
    entry = dialogs.get(Path(line.line_id).name)
    if entry is None:
        return None
    text = entry[0] if line.language == "en" else entry[1]
    if not text or not text.strip():
        return None
    return " ".join(text.split())


def list_effects(root: Path) -> list[Path]:
    """Sound effects: ``share/sp-*.ogg`` and per-level ``-x-`` files, sorted."""
    effects = list(root.glob("share/sp-*.ogg"))
    effects += [p for p in root.glob("*/*/*.ogg") if re.match(r"^[^-]+-x-", p.name)]
    return sorted(set(effects))


def list_music(root: Path) -> list[Path]:
    """Background music tracks (``../music/*.ogg``)."""
    return sorted((root.parent / "music").glob("*.ogg"))
