"""JSONL manifests (see docs/interfaces.md, "Manifests"): deterministic bytes, atomic writes, and a reader."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from .hear import atomic_write_text

REQUIRED = ("id", "path", "duration", "domain", "source", "synthetic")


def jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)


def write_manifest(path: Path, records: list[dict[str, Any]]) -> str:
    """Write records sorted by id; returns the sha256 of the bytes written."""
    text = jsonl(sorted(records, key=lambda r: r["id"]))
    atomic_write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Records of a manifest with ``path`` made absolute; raises ValueError naming the file and line if a record
    lacks a required field."""
    path = Path(path)
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise ValueError(f"{path}:{i}: manifest record lacks {missing}")
        p = Path(rec["path"])
        rec["path"] = str(p if p.is_absolute() else (path.parent / p))
        rec.setdefault("offset", 0.0)
        out.append(rec)
    return out
