"""Desktop UI sounds (Debian sound-theme-freedesktop, oxygen-sounds), grouped into classes from their names."""
from __future__ import annotations

import re
from pathlib import Path

UI_CLASSES: list[tuple[str, str]] = [
    (r"error|warning|negative|denied|critical|connection-lost|cant-connect|network-problems", "error_warning"),
    (r"alarm|phone|ring|calling|busy", "ring_alarm"),
    (r"message|sms|mail|bell|complete|attention|question|information|highlight|nudge|contact|positive|"
     r"success|login|logout|log-in|log-out|device-added|device-removed|irc-event|special|finish", "notification"),
    (r"audio-test-signal", "beep"),
    (r"camera-shutter|screen-capture", "click"),
]


def list_sounds(root: Path) -> list[Path]:
    """freedesktop ``*.oga`` and oxygen ``Oxygen-*.ogg`` under /usr/share/sounds, sorted."""
    base = root if root.name == "sounds" else Path("/usr/share/sounds")
    found = list((base / "freedesktop" / "stereo").glob("*.oga")) + list(base.glob("Oxygen-*.ogg"))
    return sorted(found)


def ui_class(stem: str) -> str | None:
    """Class of a UI sound, or None (``audio-channel-*`` are spoken words, not sound effects)."""
    low = stem.lower()
    if low.startswith("audio-channel"):
        return None
    for pattern, label in UI_CLASSES:
        if re.search(pattern, low):
            return label
    return None
