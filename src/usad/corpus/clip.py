"""The one unit of work of a corpus build: a clip that can be rendered on demand.

A build first *plans* every clip (ids, labels, where it comes from) without touching audio, then writes only the
clips whose files are missing. ``render`` is therefore a zero-argument callable, called at most once per build.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

SAMPLE_RATE = 16000
Render = Callable[[], np.ndarray]  # -> wav: (S,) float32 mono at 16 kHz


@dataclass
class Clip:
    """One planned clip.

    id: unique, file-name safe; key: identity of the underlying source material (a file, track or score) used
    to keep probe-test material out of the training corpus; group: the unit a split must not cut through
    (speaker, prompt, track, score); labels: task labels or extra manifest fields; parts: keys of the source
    material mixed into the clip (the real effects of a scene), kept out of the training corpus with ``key``.
    """

    id: str
    render: Render
    source: str
    synthetic: bool
    key: str
    group: str = ""
    domain: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None          # the source file, when the clip is (the start of) one whole file
    parts: tuple[str, ...] = ()

    @property
    def material_keys(self) -> tuple[str, ...]:
        """Every source key this clip is made of (its own ``key`` and the ``parts``)."""
        return (self.key, *self.parts)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that is the same on every machine and Python run (unlike ``hash``)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big")


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """A numpy generator seeded from the build seed and a name, so every clip is reproducible on its own."""
    return np.random.default_rng(stable_hash(seed, *parts))


def safe_id(text: str) -> str:
    """File-name safe id: letters, digits, '-', '_' and '.'; everything else becomes '_'."""
    return "".join(c if (c.isalnum() and c.isascii()) or c in "-_." else "_" for c in text)
