"""What every task builder receives: the seed, the size, where each source is installed, a scratch folder."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .locate import missing_message
from .sizes import SizeConfig


@dataclass
class BuildContext:
    seed: int
    size: SizeConfig
    roots: dict[str, Path | None]
    work_dir: Path
    messages: list[str] = field(default_factory=list)
    progress: bool = True

    def root(self, source: str, needed_by: str) -> Path | None:
        """Installed root of ``source``, or None after printing which package to install (once per pair)."""
        r = self.roots.get(source)
        if r is None:
            msg = missing_message(source, needed_by)
            if msg not in self.messages:
                self.messages.append(msg)
                print(msg, file=sys.stderr)
        return r
