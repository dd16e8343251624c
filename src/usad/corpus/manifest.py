"""Writing JSONL manifests (see docs/interfaces.md, "Manifests"): deterministic bytes, atomic writes. They are read
by :func:`usad.manifest.read_manifest`; every record carries ``usad.manifest.CORPUS_FIELDS``."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from usad.io import atomic_write_text


def jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)


def write_manifest(path: Path, records: list[dict[str, Any]]) -> str:
    """Write records sorted by id; returns the sha256 of the bytes written."""
    text = jsonl(sorted(records, key=lambda r: r["id"]))
    atomic_write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
