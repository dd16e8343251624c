"""Where each registry source lives once installed, and the exact command that installs it when it does not."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceInfo:
    """A source of audio: where to look for it and what to install when it is missing."""

    name: str
    paths: tuple[str, ...]        # first existing one wins
    apt: tuple[str, ...] = ()     # Debian packages
    pip: tuple[str, ...] = ()     # PyPI packages (installed into the running Python)
    binary: str | None = None     # a program that must be on PATH

    def install_command(self) -> str:
        cmds = []
        if self.apt:
            cmds.append("apt-get install -y " + " ".join(self.apt))
        if self.pip:
            cmds.append(f"{sys.executable} -m pip install " + " ".join(self.pip))
        return " && ".join(cmds)


SOURCES: dict[str, SourceInfo] = {s.name: s for s in [
    SourceInfo("asterisk", ("/usr/share/asterisk/sounds",),
               apt=tuple(f"asterisk-core-sounds-{lang}-wav" for lang in ("en", "es", "fr", "it", "ru"))),
    SourceInfo("asterisk_text", ("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",),
               apt=tuple(f"asterisk-core-sounds-{lang}" for lang in ("en", "es", "fr", "it", "ru"))),
    SourceInfo("fillets", ("/usr/share/games/fillets-ng/sound",),
               apt=("fillets-ng-data", "fillets-ng-data-cs", "fillets-ng-data-nl")),
    SourceInfo("wesnoth", ("/usr/share/games/wesnoth/1.16/data/core/music", "/usr/share/games/wesnoth/data/core/music"),
               apt=("wesnoth-1.16-music",)),
    SourceInfo("hedgewars", ("/usr/share/games/hedgewars/Data",), apt=("hedgewars-data",)),
    SourceInfo("ui_sounds", ("/usr/share/sounds/freedesktop/stereo", "/usr/share/sounds"),
               apt=("sound-theme-freedesktop", "oxygen-sounds")),
    SourceInfo("fluidsynth", ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/default-GM.sf2"),
               apt=("fluidsynth", "timgm6mb-soundfont"), pip=("mido",), binary="fluidsynth"),
    SourceInfo("music21", (), pip=("music21", "mido")),
    SourceInfo("espeak", (), apt=("espeak-ng",), binary="espeak-ng"),
]}


def _python_module_ok(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def locate(name: str) -> Path | None:
    """The installed root of source ``name``, or None when something it needs is missing."""
    info = SOURCES[name]
    if info.binary and shutil.which(info.binary) is None:
        return None
    for pkg in info.pip:
        if not _python_module_ok(pkg):
            return None
    if not info.paths:
        return Path("/")
    for p in info.paths:
        if Path(p).exists():
            return Path(p)
    return None


def missing_message(name: str, needed_by: str) -> str:
    """What the user reads when ``name`` is missing: which part cannot be built and the command to fix it."""
    return (f"usad corpus: source '{name}' not found (needed by {needed_by}); skipping it. "
            f"Install it with: {SOURCES[name].install_command()}")


def install(names: list[str]) -> list[str]:
    """Install the missing sources (apt-get only as root, pip into this Python). Returns the commands run."""
    ran = []
    apt = sorted({p for n in names for p in SOURCES[n].apt})
    pip = sorted({p for n in names for p in SOURCES[n].pip if not _python_module_ok(p)})
    if apt:
        if os.geteuid() != 0:
            print("usad corpus: --install needs root for apt-get; run: apt-get install -y " + " ".join(apt),
                  file=sys.stderr)
        else:
            cmd = ["apt-get", "install", "-y", *apt]
            subprocess.run(cmd, check=False)
            ran.append(" ".join(cmd))
    if pip:
        cmd = [sys.executable, "-m", "pip", "install", *pip]
        subprocess.run(cmd, check=False)
        ran.append(" ".join(cmd))
    return ran
