"""The one reader of JSONL clip manifests (docs/interfaces.md), shared by the corpus, teacher cache, training and
``usad extract``: one clip per line, ``path`` absolute or relative to the manifest's folder."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLIP_FIELDS = ("id", "path", "duration")


def read_manifest(path: str | Path, require: tuple[str, ...] = ("id", "path")) -> list[dict[str, Any]]:
    """Records with ``path`` made absolute and ``offset`` defaulting to 0. Raises ValueError naming the file and
    line for invalid JSON or a missing field, and for duplicate ids or an empty manifest."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"manifest {path}: cannot read it ({exc})") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"manifest {path} line {n}: not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ValueError(f"manifest {path} line {n}: expected a JSON object, got {type(row).__name__}")
        missing = [k for k in require if k not in row]
        if missing:
            raise ValueError(f"manifest {path} line {n}: missing field {missing[0]!r} (docs/interfaces.md)")
        p = Path(row["path"])
        row["path"] = str(p if p.is_absolute() else path.parent / p)
        row.setdefault("offset", 0.0)
        rows.append(row)
    if not rows:
        raise ValueError(f"manifest {path} is empty")
    ids = [r["id"] for r in rows if "id" in r]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"manifest {path}: clip ids must be unique; duplicated: {dup}")
    return rows
