"""JSONL manifests (see docs/interfaces.md, "Manifests"): deterministic bytes, atomic writes, and a reader."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from .hear import atomic_write_text
from usad.manifest import read_manifest as _read_manifest

REQUIRED = ("id", "path", "duration", "domain", "source", "synthetic")


def jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)


def write_manifest(path: Path, records: list[dict[str, Any]]) -> str:
    """Write records sorted by id; returns the sha256 of the bytes written."""
    text = jsonl(sorted(records, key=lambda r: r["id"]))
    atomic_write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """A corpus manifest: every record carries the fields the builder writes (``REQUIRED``)."""
    return _read_manifest(path, require=REQUIRED)
