"""Hedgewars data (Debian hedgewars-data): sound effects, character voice packs and music themes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# sound-effect class from the file stem (first matching rule wins); unmatched files go to training only
SFX_CLASSES: list[tuple[str, str]] = [
    (r"explosion|grenadeimpact|mineimpact|airmine_impact|melonimpact|mortar|molotov|egg$", "explosion"),
    (r"baseballbat|firepunch_hit|hammer|bump|knife_impact|frozen_hog_impact|graveimpact|whipcrack|pickhammer",
     "impact"),
    (r"^gun$|shotgunfire|minigun|sinegun|landgun|portalshot|drillgun|ropeshot", "gunshot"),
    (r"splash|droplet|beewater|planewater|rubberduck_water", "water"),
    (r"^plane$|rcplane|jetpackboost|ufo|flamethrower|blowtorch", "engine"),
    (r"^hell_|^kiss$|^yoohoo$|^hellish$|rubberduck_die", "vocalization"),
    (r"^[1-9][a-g]$|^whistle$", "musical_note"),
    (r"^beep$|minetick|^countdown", "beep"),
    (r"shotgunreload|sniperreload|shutterclick", "click"),
]


@dataclass(frozen=True)
class VoiceLine:
    path: Path
    pack: str    # voice pack = one speaker ("British", "Pirate", ...)
    word: str


def sfx_class(stem: str) -> str | None:
    low = stem.lower()
    for pattern, label in SFX_CLASSES:
        if re.search(pattern, low):
            return label
    return None


def list_effects(root: Path) -> list[Path]:
    return sorted((root / "Sounds").glob("*.ogg"))


def list_voices(root: Path) -> list[VoiceLine]:
    return [VoiceLine(p, p.parent.name, p.stem) for p in sorted((root / "Sounds" / "voices").glob("*/*.ogg"))]


def list_music(root: Path) -> list[Path]:
    return sorted((root / "Music").glob("*.ogg"))
