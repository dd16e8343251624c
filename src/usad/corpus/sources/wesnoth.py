"""Battle for Wesnoth music (Debian wesnoth-1.16-music): orchestral/folk tracks, 44.1 kHz stereo OGG."""
from __future__ import annotations

from pathlib import Path


def list_tracks(root: Path) -> list[Path]:
    return sorted(root.glob("*.ogg"))
