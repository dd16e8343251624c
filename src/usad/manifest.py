"""The one reader of JSONL clip manifests (docs/interfaces.md), shared by the corpus, teacher cache, training and
``usad extract``: one clip per line, ``path`` absolute or relative to the manifest's folder.

Every line is checked (valid JSON object, required fields present, ``path`` a non-empty string, ``offset`` a
number >= 0, ``duration`` a number > 0, ``id`` unique). :func:`read_manifest_lines` returns the good records and
the problems of the bad lines (line numbers); :func:`read_manifest` refuses the whole file when any line is bad,
listing every bad line, so a training run never silently loses clips.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usad.errors import UsadError

CLIP_FIELDS = ("id", "path", "duration")                                 # what training needs of a clip
CORPUS_FIELDS = CLIP_FIELDS + ("domain", "source", "synthetic")        # what `usad corpus build` writes
SHOWN = 10  # bad lines listed in one message


class ManifestError(UsadError):
    """A manifest that cannot be read or holds bad lines; the message names the file and the line numbers."""


@dataclass
class LineProblem:
    line: int       # 1-based line number in the file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _number(row: dict, key: str, minimum: float, strict: bool) -> str | None:
    """None if ``row[key]`` is absent/null or a finite number above ``minimum``; else what is wrong."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{key!r} must be a number of seconds, got {value!r}"
    if value < minimum or (strict and value == minimum):
        return f"{key!r} must be {'>' if strict else '>='} {minimum:g} s, got {value!r}"
    return None


def _check(row: Any, require: tuple[str, ...]) -> str | None:
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    missing = [k for k in require if k not in row]
    if missing:
        return f"missing field {missing[0]!r} (docs/interfaces.md)"
    if "path" in row and (not isinstance(row["path"], str) or not row["path"].strip()):
        return f"'path' must be a non-empty string, got {row['path']!r}"
    if "id" in row and (isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)) or row["id"] == ""):
        return f"'id' must be a non-empty string, got {row['id']!r}"
    return _number(row, "offset", 0.0, strict=False) or _number(row, "duration", 0.0, strict=True)


def read_manifest_lines(path: str | Path, require: tuple[str, ...] = ("id", "path")
                        ) -> tuple[list[dict[str, Any]], list[LineProblem]]:
    """(good records, problems of bad lines). Records get ``path`` made absolute and ``offset`` defaulting to 0.
    A repeated id is a problem of every line after the first that carries it.
    Raises ManifestError only when the file itself cannot be read."""
    path = Path(path)
    if path.is_dir():
        raise ManifestError(f"manifest {path}: is a folder; pass the .jsonl file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest {path}: cannot read it ({exc})") from None
    rows: list[dict[str, Any]] = []
    problems: list[LineProblem] = []
    first_line: dict[Any, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(LineProblem(n, f"not valid JSON ({exc})"))
            continue
        why = _check(row, require)
        if why is None and "id" in row:
            if row["id"] in first_line:
                why = f"clip id {row['id']!r} repeats line {first_line[row['id']]}; ids must be unique"
            else:
                first_line[row["id"]] = n
        if why is not None:
            problems.append(LineProblem(n, why))
            continue
        p = Path(row["path"])
        row["path"] = str(p if p.is_absolute() else path.parent / p)
        row["offset"] = float(row.get("offset") or 0.0)
        rows.append(row)
    return rows, problems


def describe(path: str | Path, problems: list[LineProblem]) -> str:
    shown = "; ".join(map(str, problems[:SHOWN]))
    more = f"; ... and {len(problems) - SHOWN} more bad line(s)" if len(problems) > SHOWN else ""
    return f"manifest {path}: {len(problems)} bad line(s): {shown}{more}"


def read_manifest(path: str | Path, require: tuple[str, ...] = ("id", "path")) -> list[dict[str, Any]]:
    """Every record of ``path`` (see :func:`read_manifest_lines`), or ManifestError listing every bad line (the
    file is refused whole), and for an empty manifest. ``require``: the fields every line must have (training
    passes ``CLIP_FIELDS``; a teacher cache needs only the default id and path)."""
    rows, problems = read_manifest_lines(path, require)
    if problems:
        raise ManifestError(describe(path, problems) + ". Fix or remove these lines.")
    if not rows:
        raise ManifestError(f"manifest {path} is empty")
    return rows

